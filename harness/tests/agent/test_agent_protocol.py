"""The agent's protocol layer (docs/protocol.md), over --stdio; needs no tun device."""
import random
import time

import pytest

from agent_proc import MAX_FRAME, ProtocolError, parse_frame


def test_startup_log_frame(agent):
    f = agent.read_frame(keep_logs=True)
    assert (f.id, f.word) == (0, "log")
    assert f.text("msg").startswith("tunlab-agent ready")


def test_hello_reply_keys(agent):
    f = agent.ok("hello")
    assert f["proto"] == "1"
    assert f["backend"] == "linux"
    assert f["max_frame"] == str(MAX_FRAME)
    assert f["agent"] and f["os"]
    assert {"hello", "nop", "open", "read", "write", "bench", "poweroff"} <= set(
        f["caps"].split(","))


def test_nop(agent):
    f = agent.ok("nop")
    assert f.kv == {}


def test_unknown_verb_is_enoverb(agent):
    f = agent.request("frobnicate")
    assert (f.word, f.name) == ("err", "ENOVERB")


@pytest.mark.parametrize("line", [
    b"TL1 x nop\n",           # bad id
    b"TL2 1 nop\n",           # bad version
    b"TLgarbage\n",
    b"TL1 1  nop\n",          # two spaces
    b"TL1 1 nop \n",          # trailing space
    b"TL1 1 nop key\n",       # token without '='
    b"TL1 1 nop K=1\n",       # bad key
    b"TL1 1 nop a=1 a=2\n",   # duplicate key
    b"TL1 1 nop a=\x01\n",    # control byte
    b"TL1 1 NOP\n",           # bad verb
])
def test_malformed_tl_line_is_eproto_and_agent_goes_on(agent, line):
    agent.send(line)
    f = agent.read_frame()
    assert (f.word, f.name) == ("err", "EPROTO"), f.raw
    assert agent.ok("nop")


def test_eproto_echoes_the_id_when_readable(agent):
    agent.send(b"TL1 42 nop bad\n")
    f = agent.read_frame()
    assert (f.id, f.name) == (42, "EPROTO")


def test_oversized_frame_is_e2big_and_agent_goes_on(agent):
    agent.send(b"TL1 77 write h=1 data=" + b"ab" * (100 * 1024) + b"\n")
    f = agent.read_frame()
    assert (f.id, f.word, f.name) == (77, "err", "E2BIG")
    assert agent.ok("nop")


def test_oversized_frame_without_id_is_e2big_with_id_0(agent):
    agent.send(b"TL" + b"x" * (200 * 1024) + b"\n")
    f = agent.read_frame()
    assert (f.id, f.name) == (0, "E2BIG")
    assert agent.ok("nop")


def test_frame_of_exactly_max_frame_bytes_is_accepted(agent):
    head = b"TL1 5 nop pad="
    line = head + b"p" * (MAX_FRAME - len(head) - 1) + b"\n"
    assert len(line) == MAX_FRAME
    agent.send(line)
    f = agent.read_frame()
    # parsed (so not E2BIG); pad= is not a key nop takes
    assert (f.id, f.name) == (5, "EARG")
    agent.send(line[:-1] + b"p\n")
    assert agent.read_frame().name == "E2BIG"


def test_oversized_noise_is_ignored(agent):
    agent.send(b"x" * (200 * 1024) + b"\n")
    f = agent.ok("nop")
    assert f.id == 1


def test_noise_lines_are_ignored(agent):
    agent.send(b"login: \n\nDebian GNU/Linux 12\r\n\x00\xff garbage\nnot TL1 1 nop\n")
    rid = agent.send_request("nop")
    f = agent.read_frame()
    assert (f.id, f.word) == (rid, "ok")


def test_crlf_line_end_is_accepted(agent):
    agent.send(b"TL1 9 nop\r\n")
    f = agent.read_frame()
    assert (f.id, f.word) == (9, "ok")


def test_replies_come_in_order_one_each(agent):
    ids = [agent.send_request("nop") for _ in range(20)]
    assert [agent.read_frame().id for _ in ids] == ids


def test_missing_argument_is_earg_naming_the_key(agent):
    f = agent.request("read")
    assert f.name == "EARG"
    assert f.text("msg").startswith("h:")


def test_bad_integer_is_earg_naming_the_key(agent):
    f = agent.request("debug", op="stall", ms="soon")
    assert f.name == "EARG"
    assert f.text("msg").startswith("ms:")


def test_unknown_key_is_earg(agent):
    f = agent.request("read", h=1, wait=5)
    assert f.name == "EARG"
    assert f.text("msg").startswith("wait:")


def test_read_on_unknown_handle_is_enohandle(agent):
    f = agent.request("read", h=12345, wait_ms=0)
    assert f.name == "ENOHANDLE"


def test_unknown_ioctl_name_is_earg(agent):
    f = agent.request("ioctl", h=1, req="TUNFROB")
    assert f.name == "EARG"
    assert f.text("msg").startswith("req:")


def test_garble_reply_is_rejected_by_a_strict_parser(agent):
    rid = agent.send_request("debug", op="garble")
    line = agent.read_line()
    while line.startswith(b"TL1 0 log "):
        line = agent.read_line()
    assert line.startswith(b"TL1 %d ok" % rid)
    with pytest.raises(ProtocolError):
        parse_frame(line)
    assert agent.ok("nop")


def test_stall_answers_after_the_delay(agent):
    agent.ok("nop")  # started
    t0 = time.monotonic()
    agent.ok("debug", op="stall", ms=300)
    assert time.monotonic() - t0 >= 0.3


def test_panic_is_refused_under_stdio(agent):
    f = agent.request("debug", op="panic")
    assert f.name == "EPERM"


def test_poweroff_under_stdio_prints_sentinel_and_exits(spawn, tmp_path):
    console = tmp_path / "console"
    a = spawn("--console", str(console))
    a.ok("poweroff")
    assert a.proc.wait(timeout=5) == 0
    assert console.read_bytes() == b"TUNLAB-POWEROFF\n"


def test_eof_on_stdin_ends_the_agent(agent):
    agent.ok("nop")
    agent.proc.stdin.close()
    assert agent.proc.wait(timeout=5) == 0


def test_errors_in_a_burst_lose_nothing(agent):
    agent.send(b"TL1 1 nop\nTL1 x\n" + b"TL1 2 " + b"a" * MAX_FRAME + b"\nTL1 3 nop\n")
    got = [(f.id, f.word, f.name) for f in (agent.read_frame() for _ in range(4))]
    assert got == [(1, "ok", None), (0, "err", "EPROTO"), (2, "err", "E2BIG"),
                   (3, "ok", None)]


def test_random_tl_lines_each_get_one_reply(agent):
    rng = random.Random(1234)
    alphabet = bytes(b for b in range(256) if b != 0x0A)
    tails = [b"1 ", b"1 nop ", b"1 read h=", b"12 ioctl req=", b""]
    lines = []
    for _ in range(300):
        body = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
        lines.append(b"TL" + rng.choice(tails) + body + b"\n")
    agent.send(b"".join(lines))
    for _ in lines:
        f = agent.read_frame()
        assert f.word in ("ok", "err")
    assert agent.ok("nop")
