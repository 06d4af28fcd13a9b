"""Integer values in requests (docs/protocol.md: decimal or 0x hex): a decimal outside the
range of a 64-bit signed integer is EARG, never a wrap, and the extremes themselves parse.

These are the inputs a protocol fuzzer under UBSan found: `read h=-9223372036854775808`
negated INT64_MIN in parse_int (undefined behaviour: the sanitized agent aborted) and a
19-digit number such as 9999999999999999999 wrapped silently into a negative handle. The
same requests go to the agent as built (behaviour) and to one built here with
-fsanitize=undefined -fno-sanitize-recover=all (no undefined behaviour on the way).
"""
import os
import shutil
import subprocess

import pytest

from agent_proc import ROOT, Agent

INT64_MIN = "-9223372036854775808"
INT64_MAX = "9223372036854775807"
OUT_OF_RANGE = [
    "9223372036854775808",     # INT64_MAX + 1: wrapped to INT64_MIN
    "-9223372036854775809",    # INT64_MIN - 1
    "9999999999999999999",     # 19 digits, wrapped to a negative number
    "-9999999999999999999",
    "18446744073709551616",    # 2^64, 20 digits
]


@pytest.fixture(scope="module")
def ubsan_agent_bin(tmp_path_factory):
    """The agent built with UBSan that aborts on the first finding. A build failure is an
    error of this test, not a skip."""
    cc = shutil.which("clang") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("no C compiler (clang or gcc) to build the UBSan agent")
    build = tmp_path_factory.mktemp("agent-ubsan")
    res = subprocess.run(
        ["make", "-s", "-C", os.path.join(ROOT, "harness", "agent"), "LINK_STATIC=",
         "BUILD=%s" % build, "CC=%s" % cc,
         "CFLAGS=-O1 -g -fsanitize=undefined -fno-sanitize-recover=all",
         "LDFLAGS=-fsanitize=undefined"],
        capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        raise RuntimeError("building the UBSan agent failed:\n" + res.stdout + res.stderr)
    return str(build / "tunlab-agent")


@pytest.fixture
def ubsan_agent(ubsan_agent_bin, tmp_path):
    a = Agent([ubsan_agent_bin, "--stdio"], tmp_path / "ubsan-stderr.txt")
    yield a
    a.close()
    text = (tmp_path / "ubsan-stderr.txt").read_text(errors="replace")
    assert "runtime error" not in text, text


def _check_integers(a):
    # the extremes are integers: a handle that names no device
    for v in (INT64_MIN, INT64_MAX):
        f = a.request("read", h=v)
        assert (f.word, f.name) == ("err", "ENOHANDLE"), (v, f.raw)
    # out of range: EARG naming the key, never a wrap into another number
    for v in OUT_OF_RANGE:
        f = a.request("read", h=v)
        assert (f.word, f.name) == ("err", "EARG"), (v, f.raw)
        assert f.text("msg").startswith("h:"), f.raw
        f = a.request("debug", op="stall", ms=v)
        assert (f.word, f.name) == ("err", "EARG"), (v, f.raw)
        assert f.text("msg").startswith("ms:"), f.raw
    # and the agent goes on serving
    assert a.ok("nop")


def test_integer_range_as_built(agent):
    _check_integers(agent)


def test_integer_range_under_ubsan(ubsan_agent):
    _check_integers(ubsan_agent)
