"""The CI performance gate on the real thing: instructions per packet of our driver over
driver/kpi, against the baseline in the repository. The unchanged driver passes; a copy of
the driver that touches every written byte once more is caught on the write path and
passes on the read path, which it does not change."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
GATE = REPO / "scripts" / "bench-gate.sh"
SLOWDOWN = (
    "static volatile int tunlab_sink;\n\n"
    "static void\n"
    "tunlab_slow_down(const char *p, int len)\n"
    "{\n"
    "\tfor (int i = 0; i < len; i++)\n"
    "\t\ttunlab_sink += p[i];\n"
    "}\n\n"
    "static int\n"
    "tun_uiotombuf(struct uio *uio, int len, struct mbuf **mp)\n")


def _gate(env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if not shutil.which("valgrind"):
        pytest.skip("valgrind not installed: run `make deps`")
    return subprocess.run(["sh", str(GATE)], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, **env_extra), timeout=900)


def test_unchanged_driver_is_within_the_baseline():
    res = _gate({})
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count(": ok") == 4


def test_slowed_write_path_is_caught(tmp_path):
    src = (REPO / "driver" / "if_tun.c").read_text()
    head = "static int\ntun_uiotombuf(struct uio *uio, int len, struct mbuf **mp)\n"
    # both ways into an mbuf: the one-mbuf fast path (64 B) and the loop (1400 B)
    calls = {"\t\ttop->m_len = len;\n": "\t\ttunlab_slow_down(mtod(top, caddr_t), len);\n",
             "\t\tm->m_len = mlen;\n": "\t\ttunlab_slow_down(mtod(m, caddr_t), mlen);\n"}
    assert src.count(head) == 1 and all(src.count(c) == 1 for c in calls), \
        "driver changed: update this test's patch"
    slow = src.replace(head, SLOWDOWN)
    for call, slowed in calls.items():
        slow = slow.replace(call, slowed + call)
    copy = tmp_path / "if_tun.c"
    copy.write_text(slow)
    for h in ("if_tun.h", "if_tunvar.h"):
        shutil.copy(REPO / "driver" / h, tmp_path / h)
    build = tmp_path / "build"
    res = subprocess.run(["make", "-s", "-f", "driver/Makefile.host", f"DRIVER_SRC={copy}",
                          f"BUILD={build}", f"{build}/agent/tunlab-bench-bare-kpi"],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    res = _gate({"BENCH_BARE": str(build / "agent" / "tunlab-bench-bare-kpi")})
    lines = {line.split(":")[0].split()[-1]: line for line in res.stdout.splitlines()
             if line.startswith("bench-gate ")}
    assert res.returncode == 1, res.stdout + res.stderr
    assert "REGRESSION" in lines["write-64"] and "REGRESSION" in lines["write-1400"]
    assert lines["read-64"].endswith(": ok") and lines["read-1400"].endswith(": ok")
