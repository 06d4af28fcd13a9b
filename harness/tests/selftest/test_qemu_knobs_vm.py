"""The QEMU knobs and the console on a real Linux guest: `tunlab console` reaches the guest's
own shell on COM1 and QEMU's monitor, --qemu-opts reach QEMU (direct and through libvirt),
--gdb's stub takes gdb and lets the guest go on, and an agent that does not answer gets a
hang report with every vCPU's registers."""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tunlab import libvirt_daemon, qemu
from tunlab.errors import AgentTimeout, TargetUnavailable
from tunlab.guest import Guest
from tunlab.paths import REPO

pytestmark = [pytest.mark.target("linux"), pytest.mark.vm]

ENV = {**os.environ, "PYTHONPATH": str(REPO / "harness")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_console_batch_reaches_the_guest_shell_qemu_opts_and_the_monitor():
    script = "\n".join([
        "hello",
        ":send echo $((6*7))",
        r":expect '(?m)^42\s*$' 60",
        ":send cat /sys/class/dmi/id/product_serial",
        r":expect '(?m)^tunlab42\s*$' 30",
        ":monitor info status",
        ":gdb",  # no --gdb: fails, and says how
    ]) + "\n"
    r = subprocess.run([sys.executable, "-m", "tunlab", "console", "--target", "linux",
                        "--qemu-opts=-smbios type=1,serial=tunlab42"], input=script, text=True,
                       capture_output=True, cwd=REPO, env=ENV, timeout=300)
    out = r.stdout
    assert "Traceback" not in out + r.stderr
    assert "expect: 42" in out and "expect: tunlab42" in out, out + r.stderr[-3000:]
    assert "VM status: running" in out
    assert "boot with --gdb" in out
    assert r.returncode == 1 and "7 line(s) run, 1 failed" in r.stderr  # the :gdb line
    run_dir = Path(re.search(r"logs in (\S+)", r.stderr).group(1))
    assert "-smbios type=1,serial=tunlab42" in (run_dir / "qemu.cmdline").read_text()
    assert "tunlab.shell=1" in (run_dir / "qemu.cmdline").read_text()
    assert "tunlab-init: shell on /dev/ttyS0" in (run_dir / "console.log").read_text()


def test_an_agent_that_does_not_answer_gets_a_hang_report(guest_pool, tmp_path):
    spec = dataclasses.replace(guest_pool.plan().spec, cpus=2)
    g = Guest.boot(spec, backend="qemu", accel=guest_pool.accel, run_dir=tmp_path / "g")
    try:
        g.begin_section(tmp_path / "test")
        with pytest.raises(AgentTimeout) as e:
            g.agent.request("debug", op="stall", ms=8000, timeout=1.0)
        msg = str(e.value)
        assert "hang report (QEMU state, vCPU registers)" in msg
        assert re.search(r"VM running; vCPU 0 RIP=[0-9a-f]{16}, vCPU 1 RIP=[0-9a-f]{16}", msg), msg
        for d in (tmp_path / "g", tmp_path / "test"):
            report = (d / "hang-report.txt").read_text()
            assert "(qemu) info registers -a" in report and report.count("RIP=") == 2
            assert "(qemu) info chardev" in report and "com2" in report
    finally:
        g.stop()


@pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb is not installed (apt install gdb)")
def test_gdb_attaches_to_the_stub_and_the_guest_goes_on(guest_pool, tmp_path):
    port = _free_port()
    spec = dataclasses.replace(guest_pool.plan().spec, gdb_port=port)
    with Guest.boot(spec, backend="qemu", accel=guest_pool.accel, run_dir=tmp_path) as g:
        line = qemu.gdb_command(g.spec)
        assert line == f"gdb {g.spec.kernel} -ex 'target remote 127.0.0.1:{port}'"
        _gdb_reads_rip(line)
        assert g.agent.request("nop").ok  # detached: the guest runs on


def _gdb_reads_rip(line: str) -> None:
    """Run the printed gdb command in batch mode: read RIP, then detach (the stub stops the
    guest while gdb is attached; detaching lets it go on)."""
    argv = shlex.split(line)
    r = subprocess.run(argv[:1] + ["-batch", "-nx"] + argv[1:] +
                       ["-ex", "info registers rip", "-ex", "detach"],
                       capture_output=True, text=True, timeout=120)
    assert re.search(r"^rip\s+0x[0-9a-f]+", r.stdout, re.M), r.stdout + r.stderr


def test_libvirt_domain_gets_qemu_opts_gdb_and_a_monitor(guest_pool, tmp_path):
    try:
        cm = libvirt_daemon.running()
        cm.__enter__()
    except TargetUnavailable as e:
        pytest.skip(str(e))
    try:
        port = _free_port()
        spec = dataclasses.replace(guest_pool.plan().spec, gdb_port=port,
                                   qemu_opts=("-smbios", "type=1,serial=tunlab43"))
        with Guest.boot(spec, backend="libvirt", accel=guest_pool.accel, run_dir=tmp_path) as g:
            xml = (tmp_path / "domain.xml").read_text()
            assert f"tcp:127.0.0.1:{port}" in xml and "type=1,serial=tunlab43" in xml
            assert "VM status: running" in g.machine.monitor("info status")
            if shutil.which("gdb"):
                _gdb_reads_rip(qemu.gdb_command(g.spec))
            assert g.agent.request("nop").ok
    finally:
        cm.__exit__(None, None, None)


def test_console_mode_types_on_the_guest_shell_until_ctrl_bracket():
    """`:console` in a terminal: keystrokes go to COM1's shell, its output comes back raw,
    Ctrl-] returns to the agent prompt, and the agent still answers."""
    import fcntl
    import select
    import termios
    import time
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "tunlab", "console", "--target", "linux"],
                            stdin=slave, stdout=slave, stderr=slave, cwd=REPO,
                            env={**ENV, "TERM": "dumb", "TUNLAB_CONSOLE_HISTORY": ""},
                            start_new_session=True,
                            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    out = b""

    def expect(pattern: bytes, timeout: float) -> None:
        nonlocal out
        deadline = time.monotonic() + timeout
        while not re.search(pattern, out):
            assert time.monotonic() < deadline, f"no {pattern!r}: {out[-2000:]!r}"
            if select.select([master], [], [], 0.2)[0]:
                out += os.read(master, 65536)

    try:
        expect(rb"agent> ", 180)
        os.write(master, b":console\r")
        expect(rb"Ctrl-\] returns", 10)
        expect(rb"/ # ", 30)
        os.write(master, b"echo $((5*5))\r")
        expect(rb"\n25\r?\n", 30)
        os.write(master, b"\x1d")
        expect(rb"\[console: left\]", 10)
        expect(rb"agent> ", 10)
        os.write(master, b"nop\r")
        expect(rb"\nok\r?\n", 30)
        os.write(master, b":quit\r")
        proc.wait(timeout=60)
        assert proc.returncode == 0 and b"Traceback" not in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
