"""The DragonFly serial dialogue of the image builder against a stand-in console (no QEMU):
loader menu, `9`, `OK `, `set console=comconsole`, `boot`, kernel lines, PFI, DONE, power-off;
and every way a phase can go wrong."""

import time

import pytest

from dfly_standin import (FakeMachine, Side, countdown_until_typed, factory_for, kernel_boot,
                          live_cd_to_kernel, loader_menu, panic_lines, pfi_phase)
from tunlab.dragonfly_console import PhaseFailed, explain_session_failure, output_block
from tunlab.image_dragonfly import PHASES, phase_spec, run_phase

INSTALL, KERNEL, CONFIGURE = PHASES
FAST = 0.01  # timeout scale: every wait in seconds, not minutes


def _run(tmp_path, phase, script, timing=FAST):
    spec = phase_spec(phase, tmp_path / "disk.qcow2", tmp_path / "phase.iso", tmp_path / "dfly.iso", "tcg")
    return run_phase(phase, spec, tmp_path / "run", "tcg", factory=factory_for({phase.name: script}),
                     timing=timing)


def test_install_phase_full_dialogue(tmp_path):
    typed = []

    def guest(side: Side) -> int:
        failed = live_cd_to_kernel(side)
        if failed is not None:
            return failed
        typed.append("ok")
        pfi_phase(side, "install")
        return 0

    took = _run(tmp_path, INSTALL, guest)
    assert typed == ["ok"] and took < 30
    log = (tmp_path / "run" / "console.log").read_bytes()
    assert b"\x1b[31m" in log and b"TUNLAB-PHASE-DONE install" in log  # the raw log keeps everything


def test_harness_types_9_during_the_countdown_not_before_the_menu(tmp_path):
    seen = {}

    def guest(side: Side) -> int:
        side.lines("BTX loader 1.00")
        seen["early"] = side.expect(b"9", timeout=0.5)  # nothing may be typed before the menu
        loader_menu(side)
        seen["in_time"] = countdown_until_typed(side, b"9")
        side.send("\nOK ")
        side.expect(b"set console=comconsole\r")
        side.send("\nOK ")
        side.expect(b"boot\r")
        kernel_boot(side)
        pfi_phase(side, "install")
        return 0

    _run(tmp_path, INSTALL, guest)
    assert seen == {"early": False, "in_time": True}


def test_later_phases_boot_without_typing(tmp_path):
    def guest(side: Side) -> int:
        loader_menu(side, alt=True)
        side.send("\rBooting in 1 second... ")
        kernel_boot(side, "TUNLAB_NOTUN")
        pfi_phase(side, "kernel", steps=("nativekernel", "installkernel"))
        return 0 if side.received == b"" else 3  # the harness typed nothing

    _run(tmp_path, KERNEL, guest)


def test_panic_mid_phase_is_reported_as_a_panic(tmp_path):
    def guest(side: Side) -> int:
        kernel_boot(side)
        side.lines("tunlab-kernel: step nativekernel: make ...")
        panic_lines(side)
        return 0  # -no-reboot: the panic's reboot ends QEMU with status 0

    with pytest.raises(PhaseFailed) as e:
        _run(tmp_path, KERNEL, guest)
    assert e.value.kind == "panic"
    msg = str(e.value)
    assert "panic: vm_fault: fault on nofault entry" in msg
    assert "console.log" in msg and "Trace beginning" in msg


def test_fatal_trap_and_ddb_prompt_are_a_crash(tmp_path):
    def guest(side: Side) -> int:
        kernel_boot(side)
        side.lines("Fatal trap 12: page fault while in kernel mode", "cpuid = 1")
        side.send("Stopped at      Debugger+0x7c\ndb> ")
        time.sleep(5)  # sits in ddb
        return 0

    with pytest.raises(PhaseFailed) as e:
        _run(tmp_path, KERNEL, guest)
    assert e.value.kind == "panic" and "Fatal trap 12" in str(e.value)


def test_script_failure_carries_the_commands_output(tmp_path):
    def guest(side: Side) -> int:
        kernel_boot(side)
        side.lines("tunlab-kernel: step nativekernel: sh -c cd /usr/src && make nativekernel",
                   "TUNLAB-OUTPUT-BEGIN nativekernel",
                   "/usr/src/sys/net/if.c:123:5: error: 'foo' undeclared",
                   "*** Error code 1",
                   "TUNLAB-OUTPUT-END nativekernel",
                   "TUNLAB-PHASE-FAILED kernel step=nativekernel rc=2")
        return 0

    with pytest.raises(PhaseFailed) as e:
        _run(tmp_path, KERNEL, guest)
    assert e.value.kind == "script"
    msg = str(e.value)
    assert "step nativekernel" in msg and "rc=2" in msg
    assert "error: 'foo' undeclared" in msg and "console.log" in msg


def test_exit_without_done_fails(tmp_path):
    def guest(side: Side) -> int:
        kernel_boot(side)
        side.lines("tunlab-configure: step agent-build: make ...")
        return 0

    with pytest.raises(PhaseFailed, match="ended while waiting for `TUNLAB-PHASE-DONE configure`") as e:
        _run(tmp_path, CONFIGURE, guest)
    assert e.value.kind == "timeout"


def test_done_then_nonzero_exit_fails(tmp_path):
    def guest(side: Side) -> int:
        kernel_boot(side)
        pfi_phase(side, "kernel")
        return 1

    with pytest.raises(PhaseFailed, match="exit status 1") as e:
        _run(tmp_path, KERNEL, guest)
    assert e.value.kind == "exit"


def test_done_then_reboot_instead_of_power_off_fails(tmp_path):
    def guest(side: Side) -> int:
        kernel_boot(side)
        pfi_phase(side, "kernel", after_done=("Automatic reboot in 15 seconds", "Rebooting..."))
        return 0

    with pytest.raises(PhaseFailed, match="did not power off cleanly") as e:
        _run(tmp_path, KERNEL, guest)
    assert e.value.kind == "exit"


def test_silent_guest_times_out_with_log_path_and_tail(tmp_path):
    def guest(side: Side) -> int:
        kernel_boot(side)
        side.lines("tunlab-kernel: last words")
        time.sleep(30)
        return 0

    t0 = time.monotonic()
    with pytest.raises(PhaseFailed) as e:
        _run(tmp_path, KERNEL, guest, timing=0.002)  # silence limit 1.2 s
    assert time.monotonic() - t0 < 15
    msg = str(e.value)
    assert e.value.kind == "timeout" and "silent" in msg
    assert "last words" in msg and str(tmp_path / "run" / "console.log") in msg


def test_loader_that_never_shows_the_menu_times_out(tmp_path):
    def guest(side: Side) -> int:
        side.lines("SeaBIOS (version 1.16.2-debian-1.16.2-1)", "Booting from DVD/CD...")
        time.sleep(30)
        return 0

    with pytest.raises(PhaseFailed, match="loader menu") as e:
        _run(tmp_path, INSTALL, guest, timing=0.005)
    assert "Booting from DVD/CD" in str(e.value)


def test_killed_vm_is_not_left_running(tmp_path):
    def guest(side: Side) -> int:
        kernel_boot(side)
        panic_lines(side, reboot=False)
        time.sleep(30)
        return 0

    FakeMachine.started.clear()
    with pytest.raises(PhaseFailed):
        _run(tmp_path, KERNEL, guest)
    assert FakeMachine.started and not FakeMachine.started[-1].alive()


def test_session_failure_is_explained_from_the_console():
    console = "\n".join([
        "tunlab-session: session CD on /dev/cd0",
        "tunlab-session: driver-build: make -C /var/tunlab/build/driver SYSDIR=/usr/src/sys",
        "TUNLAB-OUTPUT-BEGIN driver-build",
        "cc -O -pipe -c if_tun.c",
        "if_tun.c:88:2: error: unknown type name 'struct foo'",
        "*** Error code 1",
        "TUNLAB-OUTPUT-END driver-build",
        "tunlab-session: | if_tun.c:88:2: error: unknown type name 'struct foo'",
        "TUNLAB-SESSION-FAILED step=driver-build rc=1",
        "Syncing disks... done"])
    why = explain_session_failure(console)
    assert why is not None and why.startswith("in-guest driver-build failed (exit status 1)")
    assert "unknown type name 'struct foo'" in why
    assert explain_session_failure("TUNLAB-SESSION-READY driver=ours") is None
    assert output_block(console, "driver-build").splitlines()[0] == "cc -O -pipe -c if_tun.c"
