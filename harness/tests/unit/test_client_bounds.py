"""The control client against a hostile agent: bad error names, escapes in messages, noise
without end, a capped agent log."""

import pytest
from test_client import client  # noqa: F401  (the fixture: a client and a fake agent)

from tunlab import client as client_mod
from tunlab.errors import AgentError, ProtocolError
from tunlab.protocol import decode_frame


def _rid(line: str) -> str:
    return line.split()[1]


@pytest.mark.parametrize("name", ["\x1b]0;x\x07", "einval", "EINVAL\x1b", "E", "X1", "E" + "A" * 40, "E%1B"])
def test_err_name_must_be_an_error_name(name):
    with pytest.raises(ProtocolError, match="not an error name|malformed|without an error name"):
        decode_frame(f"TL1 3 err {name} msg=x")


@pytest.mark.parametrize("name", ["EINVAL", "E2BIG", "ENOHANDLE", "E135", "E-5", "EWOULDBLOCK"])
def test_good_err_names(name):
    assert decode_frame(f"TL1 3 err {name} errno=5").error == name


def test_err_message_with_escapes_is_shown_escaped(client):
    c = client(lambda line: f"TL1 {_rid(line)} err EINVAL msg=%1B]0;pwned%07%1Bc%0D%0AFAKE%20PASS\n")
    with pytest.raises(AgentError) as e:
        c.request("nop")
    text = str(e.value)
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text and "\n" not in text
    assert "\\x1b]0;pwned\\x07\\x1bc\\r\\nFAKE PASS" in text


def test_endless_noise_is_a_protocol_error_and_the_log_is_capped(client, monkeypatch, tmp_path):
    monkeypatch.setenv("TUNLAB_AGENT_LOG_MB", "0.05")
    noise = "garbage \x1b[2J line\n" * 20000  # 400 KB a request
    c = client(lambda line: noise * 3)
    with pytest.raises(ProtocolError, match="lines that are not frames"):
        c.request("nop")
    c.close()
    log = (tmp_path / "agent.log").read_bytes()
    assert len(log) < 0.05 * 2**20 + 70000
    assert b"[tunlab: log capped at" in log
    assert b"\x1b" not in log  # noise is escaped in the transcript


def test_noise_between_frames_is_tolerated(client):
    c = client(lambda line: "boot noise\n" * 10 + f"TL1 {_rid(line)} ok\n")
    for _ in range(3):
        assert c.request("nop").ok
    assert client_mod.NOISE_MAX > 1000
