"""Guest text made safe to print, capped logs, and settings validated where they are read."""

import math

import pytest

from tunlab import boundedlog, safetext, timeouts
from tunlab.boundedlog import BoundedLog
from tunlab.errors import DiskFull, SettingError

EVIL = "ok\x1b]0;title\x07\x1bc\x1b[2J\r\x00\x7f\x9b\u202e\ud800 done"


def test_escape_shows_every_control_character():
    out = safetext.escape(EVIL + "\nnext\tline")
    assert out == "ok\\x1b]0;title\\x07\\x1bc\\x1b[2J\\r\\x00\\x7f\\x9b\\u202e\\ud800 done\nnext\tline"
    assert all(c.isprintable() or c in "\n\t" for c in out)


def test_one_line_escapes_newlines_and_caps():
    out = safetext.one_line("a\nb" + "x" * 1000, limit=10)
    assert out.startswith("a\\nbxxxxxxx") and out.endswith("...[993 more characters]")
    assert "\n" not in out


def test_quote_keeps_a_capped_tail_from_a_line_start():
    text = "".join(f"line {i}\n" for i in range(10000))
    out = safetext.quote(text, limit=1000)
    assert len(out) < 1100
    assert out.splitlines()[0].startswith("[... ") and out.splitlines()[1].startswith("line ")
    assert out.endswith("line 9999\n")
    assert safetext.quote(b"\x1b[31mx") == "\\x1b[31mx"


def test_bounded_log_caps_marks_and_keeps_the_end(tmp_path):
    log = BoundedLog(tmp_path / "a.log", 100, "TUNLAB_X")
    for i in range(100):
        log.write(f"{i:04d}\n".encode())
    log.write(b"the last words\n")
    log.close()
    log.write(b"after close is ignored")
    data = (tmp_path / "a.log").read_bytes()
    assert data.startswith(b"0000\n0001\n")
    assert b"[tunlab: log capped at 100 bytes (TUNLAB_X)" in data
    assert b"bytes over the cap were dropped" in data
    assert data.endswith(b"0099\nthe last words\n")
    assert len(data) < 100 + 400 + 600


def test_bounded_log_full_disk_names_the_file():
    log = BoundedLog(__import__("pathlib").Path("/dev/full"), 1000)
    with pytest.raises(DiskFull, match="/dev/full"):
        log.write(b"x")
    log.close()


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "0", "-1", "0.01", "101", "1e400", "two", "3x"])
def test_bad_timeout_scale_is_a_one_line_setting_error(monkeypatch, value):
    monkeypatch.setenv("TUNLAB_TIMEOUT_SCALE", value)
    with pytest.raises(SettingError) as e:
        timeouts.for_accel("tcg")
    assert "\n" not in str(e.value) and "TUNLAB_TIMEOUT_SCALE" in str(e.value)
    assert "0.1 to 100" in str(e.value)


@pytest.mark.parametrize("value,scale", [("", 1.0), ("3", 3.0), (" 0.5 ", 0.5), ("100", 100.0)])
def test_good_timeout_scale(monkeypatch, value, scale):
    monkeypatch.setenv("TUNLAB_TIMEOUT_SCALE", value)
    t = timeouts.for_accel("tcg")
    assert t.scale == scale and math.isfinite(t.request)
    assert timeouts.for_accel("kvm").scale == scale / 2


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "lots", "1e9"])
def test_bad_log_cap_is_a_one_line_setting_error(monkeypatch, value):
    monkeypatch.setenv("TUNLAB_CONSOLE_LOG_MB", value)
    with pytest.raises(SettingError) as e:
        boundedlog.console_log_max()
    assert "\n" not in str(e.value) and "TUNLAB_CONSOLE_LOG_MB" in str(e.value)


def test_log_cap_defaults_and_override(monkeypatch):
    monkeypatch.delenv("TUNLAB_CONSOLE_LOG_MB", raising=False)
    monkeypatch.setenv("TUNLAB_AGENT_LOG_MB", "2")
    assert boundedlog.console_log_max() == 32 * boundedlog.MB
    assert boundedlog.agent_log_max() == 2 * boundedlog.MB
