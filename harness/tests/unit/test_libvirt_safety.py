"""libvirt plumbing that must hold on any machine: socket paths whatever TMPDIR is, a stale
sweep that touches only this user's directories and the processes they recorded, and Ctrl-C
during a libvirt call."""

import os
import shutil
import signal
import threading
import subprocess
import sys

import pytest

from tunlab import libvirt_backend, libvirt_daemon, machine
from tunlab.libvirt_daemon import PREFIX, signals_deferred
from tunlab.machine import GuestSpec, pid_running

LONG = "/" + "/".join(["a-rather-long-temporary-directory"] * 4)


def test_socket_dirs_are_short_whatever_tmpdir_says(tmp_path, monkeypatch):
    long_tmp = tmp_path / LONG.lstrip("/")
    long_tmp.mkdir(parents=True)
    monkeypatch.setenv("TMPDIR", str(long_tmp))
    monkeypatch.setattr(machine.tempfile, "tempdir", None)  # re-read TMPDIR
    d = machine.socket_dir("tunlab-lv-")
    try:
        assert len(str(d / "runtime" / "libvirt" / "libvirt-sock")) < 60
    finally:
        shutil.rmtree(d)
    m = libvirt_backend.LibvirtMachine(GuestSpec(target="linux", name="x"), long_tmp / "run", "tcg")
    sock = m._socket_dir() / "control.sock"
    try:
        assert len(str(sock)) <= 107 and not str(sock).startswith(str(long_tmp))
    finally:
        m.kill()
    assert m._tmp_dir is None


def _sleeper(*argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *argv])


@pytest.fixture
def base(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "socket_base", lambda: tmp_path)  # where the sweep looks
    return tmp_path


def _stale(base, name, owner="99999999 1"):
    d = base / (PREFIX + name)
    d.mkdir(mode=0o700)
    (d / "owner").write_text(owner + "\n")
    return d


def test_sweep_stops_only_recorded_processes_by_pid_and_start_time(base):
    d = _stale(base, "dead")
    recorded, bystander, reused = _sleeper(), _sleeper(str(d)), _sleeper()
    try:
        libvirt_daemon.record_pid(d, recorded.pid)
        with open(d / "pids", "a") as f:  # a pid whose start time is not the recorded one
            f.write(f"{reused.pid} 1\n")
        assert bystander.pid in libvirt_daemon.users_of(d)  # names the directory: not a reason
        assert libvirt_daemon.sweep_stale_dirs() == [d]
        assert recorded.wait(10) == -signal.SIGKILL
        assert pid_running(bystander.pid) and pid_running(reused.pid)
        assert not d.exists()
    finally:
        for p in (recorded, bystander, reused):
            p.kill()
            p.wait()


def test_sweep_leaves_other_users_dirs_links_and_live_runs(base, tmp_path):
    live = _stale(base, "live", f"{os.getpid()} {machine.start_time(os.getpid())}")
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "owner").write_text("99999999 1\n")
    (base / (PREFIX + "link")).symlink_to(target)
    others = []
    if os.geteuid() == 0:
        other = _stale(base, "other")
        os.chown(other, 12345, 12345)
        planted = _stale(base, "planted")  # our directory, but someone else's owner file
        os.chown(planted / "owner", 12345, 12345)
        others = [other, planted]
    assert libvirt_daemon.sweep_stale_dirs() == []
    assert live.exists() and target.exists() and all(o.exists() for o in others)


def test_ctrl_c_in_a_libvirt_call_comes_after_it_as_keyboard_interrupt():
    # Python's own Ctrl-C handler, whatever this process inherited (a shell's background
    # job, as some CI runners start the tests, ignores SIGINT)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_in_a_libvirt_call()
    finally:
        signal.signal(signal.SIGINT, old)


def _ctrl_c_in_a_libvirt_call():
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with signals_deferred():
            # to this thread: a process-directed signal may go to any other thread of the
            # test process that does not block it (the harness's own threads all do)
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)
            reached.append("the call went on")
    assert reached == ["the call went on"]
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())


def test_system_error_from_an_interrupted_callback_is_an_interrupt():
    def libvirt_like():
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as e:
            raise SystemError("<built-in function virDomainCreateWithFlags> returned a result "
                              "with an exception set") from e
    with pytest.raises(KeyboardInterrupt):
        libvirt_daemon.lv_call(libvirt_like)
    with pytest.raises(SystemError):
        libvirt_daemon.lv_call(lambda: (_ for _ in ()).throw(SystemError("other")))


def test_a_socket_dir_left_by_a_killed_harness_is_removed_by_the_next_one(base):
    """QEMU's and libvirt's socket directories (machine.socket_dir) name their owner; one
    whose owner is gone (a SIGKILLed harness cleans up nothing) goes when the next is made,
    one whose owner still runs stays."""
    left = _stale(base, "x", owner="99999999 1").rename(base / "tunlab-q-left")
    (left / "qmp.sock").write_text("")
    mine = machine.socket_dir("tunlab-q-")
    assert not left.exists() and mine.exists() and mine.parent == base
    assert (mine / "owner").read_text().split() == [str(os.getpid()), machine.start_time(os.getpid())]
    again = machine.socket_dir("tunlab-q-")  # this process runs: its first directory stays
    assert mine.exists() and again.exists()
