"""The recipe's shell scripts (guest-image/dragonfly), which run in DragonFly's /bin/sh: syntax,
shellcheck as POSIX sh, and their logic run here with stand-ins for DragonFly's commands.
Nothing here may reach the host's real shutdown/halt: every script run defines them as
functions or sets TUNLAB_NO_POWEROFF."""

import os
import shutil
import subprocess
import textwrap

import pytest

from session_standin import run_phase_steps, run_session_script, write_stubs
from tunlab.dragonfly_console import explain_session_failure
from tunlab.image_dragonfly import RECIPE
from tunlab.paths import AGENT_DIR

SCRIPTS = sorted([*RECIPE.glob("*.sh"), RECIPE / "tunlab.rc"])


def test_every_script_is_there():
    names = {p.name for p in SCRIPTS}
    assert {"common.sh", "phase1-install.sh", "phase2-kernel.sh", "phase3-configure.sh",
            "mkkernconf.sh", "tunlab-session.sh", "tunlab.rc"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_posix_sh_syntax(script):
    res = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    first = script.read_text().splitlines()[0]
    assert not first.startswith("#!") or first == "#!/bin/sh"


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="shellcheck not installed: apt-get install shellcheck")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shellcheck_as_posix_sh(script):
    res = subprocess.run(["shellcheck", "-s", "sh", "-x", script.name], capture_output=True, text=True,
                         cwd=RECIPE)
    assert res.returncode == 0, res.stdout


GENERIC = textwrap.dedent("""\
    platform\tpc64
    machine\t\tx86_64
    ident\t\tX86_64_GENERIC
    options \tINET\t\t\t#InterNETworking
    options \tDDB
    pseudo-device\tloop\t\t# Network loopback
    pseudo-device\ttun\t\t# Packet tunnel.
    pseudo-device\ttap\t\t# Ethernet tunnel
    pseudo-device\tpty\t\t# Pseudo-ttys (telnet etc)
    """)


def _mkconf(tmp_path, text):
    src = tmp_path / "X86_64_GENERIC"
    src.write_text(text)
    out = tmp_path / "TUNLAB_NOTUN"
    res = subprocess.run(["sh", str(RECIPE / "mkkernconf.sh"), str(src), str(out), "TUNLAB_NOTUN"],
                         capture_output=True, text=True)
    return res, out


def test_kernel_config_drops_only_tun(tmp_path):
    res, out = _mkconf(tmp_path, GENERIC)
    assert res.returncode == 0, res.stderr
    lines = out.read_text().splitlines()
    assert not [ln for ln in lines if ln.split()[:2] == ["pseudo-device", "tun"]]
    assert any(ln.split()[:2] == ["pseudo-device", "tap"] for ln in lines)  # tap is not tun
    assert "ident\t\tTUNLAB_NOTUN" in lines and "X86_64_GENERIC" not in out.read_text()
    assert [ln.split() for ln in lines if "DDB_UNATTENDED" in ln] == [["options", "DDB_UNATTENDED"]]
    assert ["options", "PANIC_REBOOT_WAIT_TIME=0"] in [ln.split() for ln in lines]
    assert ["options", "DDB"] in [ln.split() for ln in lines]


@pytest.mark.parametrize("change", ["no tun", "two tun"])
def test_kernel_config_refuses_a_generic_it_does_not_understand(tmp_path, change):
    text = GENERIC.replace("pseudo-device\ttun\t\t# Packet tunnel.\n", "") if change == "no tun" \
        else GENERIC + "pseudo-device\ttun\n"
    res, out = _mkconf(tmp_path, text)
    assert res.returncode != 0 and "expected one tun line" in res.stderr
    assert not out.exists()


def _run_phase_steps(tmp_path, body):
    return run_phase_steps(tmp_path, body)


def test_failed_step_prints_its_output_then_the_failed_line_then_powers_off(tmp_path):
    res = _run_phase_steps(tmp_path, textwrap.dedent("""\
        step good echo fine
        step bad sh -c 'echo cc: error: boom; exit 3'
        echo NOT-REACHED
        """))
    out = res.stdout
    assert res.returncode == 1 and "NOT-REACHED" not in out
    assert "tunlab-test: step good ok" in out
    block = out[out.index("TUNLAB-OUTPUT-BEGIN bad"):out.index("TUNLAB-OUTPUT-END bad")]
    assert "cc: error: boom" in block
    assert "TUNLAB-PHASE-FAILED test step=bad rc=3" in out
    assert out.index("TUNLAB-PHASE-FAILED") < out.index("FAKE-SHUTDOWN -p now")


def test_done_line_comes_before_power_off(tmp_path):
    res = _run_phase_steps(tmp_path, "done_phase\n")
    assert res.stdout.splitlines()[:2] == ["TUNLAB-PHASE-DONE test", "FAKE-SHUTDOWN -p now"]


def test_check_failure_is_reported(tmp_path):
    res = _run_phase_steps(tmp_path, "check kernel-installed test -f /nonexistent/kernel\n")
    assert "TUNLAB-PHASE-FAILED test step=kernel-installed rc=1" in res.stdout
    assert "check failed: test -f /nonexistent/kernel" in res.stdout


# -- the per-session script (tunlab-session.sh) -------------------------------------------------
STUB_MAKE = """#!/bin/sh
# stand-in for make/gmake: -C DIR [VAR=value ...]
echo "make $*" >>"$STUBLOG"
dir=$2
case $dir in
*/agent)
	[ -n "$FAIL_AGENT" ] && { echo "protocol.c:10:1: error: agent broken"; exit 2; }
	for a in "$@"; do case $a in BUILD=*) out=${a#BUILD=};; esac; done
	mkdir -p "$out" && printf '#!/bin/sh\\n' >"$out/tunlab-agent" && chmod +x "$out/tunlab-agent" ;;
*/driver)
	[ -n "$FAIL_DRIVER" ] && { echo "cc -O2 -c if_tun.c"; echo "if_tun.c:88:2: error: unknown type name 'struct foo'"; echo "*** Error code 1"; exit 1; }
	: >"$dir/if_tun.ko" ;;
esac
"""
STUB_KLDLOAD = """#!/bin/sh
echo "kldload $*" >>"$STUBLOG"
[ -n "$FAIL_KLDLOAD" ] && { echo "kldload: can't load $1: File exists"; exit 1; }
exit 0
"""
STUB_NOHUP = """#!/bin/sh
echo "nohup $*" >>"$STUBLOG"
"""


def _session(tmp_path, with_cd=True, **env):
    stubs = write_stubs(tmp_path / "stubs", {
        "make": STUB_MAKE, "gmake": STUB_MAKE, "kldload": STUB_KLDLOAD, "nohup": STUB_NOHUP,
        "kldstat": "#!/bin/sh\necho ' 5    1 0xffffffff8230a000 5b48     if_tun.ko'\n"})
    cd = tmp_path / "cd"
    if with_cd:
        for d in ("agent", "driver"):
            (cd / d).mkdir(parents=True, exist_ok=True)
            (cd / d / "Makefile").write_text("# stand-in\n")
        (cd / "tunlab-session.conf").write_text(f"driver={env.pop('driver', 'ours')}\nsources_hash=abc123\n")
    image_agent = tmp_path / "image-agent"
    image_agent.write_text("#!/bin/sh\n")
    image_agent.chmod(0o755)
    full_env = {"PATH": f"{stubs}:/usr/bin:/bin", "STUBLOG": str(tmp_path / "stub.log"),
                "TUNLAB_STATE": str(tmp_path / "state"), "TUNLAB_NO_POWEROFF": "1",
                "TUNLAB_SESSION_DIR": str(cd) if with_cd else "", "TUNLAB_CDS": "",
                "TUNLAB_AGENT": str(image_agent), "TUNLAB_PORT": "/dev/cuaa1", **env}
    return run_session_script(full_env)


def test_session_builds_loads_our_driver_and_starts_the_agent(tmp_path):
    res, log = _session(tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "make -C" in log and "BACKEND=bsd" in log and "SYSDIR=/usr/src/sys" in log
    assert f"kldload {tmp_path}/state/build/driver/if_tun.ko" in log
    assert "nohup" in log and "--port /dev/cuaa1 --console /dev/console" in log
    assert "TUNLAB-SESSION-READY driver=ours" in res.stdout
    # A second boot with the same sources reuses the build.
    res, log2 = _session(tmp_path)
    assert "reusing the last build" in res.stdout and log2.count("BACKEND=bsd") == 1


@pytest.mark.parametrize("fail,step,text", [
    ("FAIL_DRIVER", "driver-build", "unknown type name 'struct foo'"),
    ("FAIL_AGENT", "agent-build", "agent broken"),
    ("FAIL_KLDLOAD", "kldload", "File exists"),
])
def test_session_failure_prints_output_and_fails(tmp_path, fail, step, text):
    res, log = _session(tmp_path, **{fail: "1"})
    assert res.returncode == 1
    lines = res.stdout.strip().splitlines()
    assert lines[-1].startswith(f"TUNLAB-SESSION-FAILED step={step} rc=")
    assert "TUNLAB-SESSION-READY" not in res.stdout and "nohup" not in log
    why = explain_session_failure(res.stdout)
    assert why is not None and text in why and why.startswith(f"in-guest {step} failed")


def test_session_without_cd_uses_the_images_agent_and_stock_module(tmp_path):
    res, log = _session(tmp_path, with_cd=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "kldload if_tun" in log and f"nohup {tmp_path}/image-agent --port /dev/cuaa1" in log
    assert "make" not in log


def test_session_with_stock_driver(tmp_path):
    res, log = _session(tmp_path, driver="stock")
    assert res.returncode == 0 and "kldload if_tun" in log and "TUNLAB-SESSION-READY driver=stock" in res.stdout


def test_installed_pfi_is_patched_to_forget_its_config(tmp_path):
    """phase1's awk edit of /etc/rc.d/pfi, applied to a stand-in with the same header."""
    pfi = tmp_path / "pfi"
    pfi.write_text("#!/bin/sh\n#\n# PROVIDE: pfi\n# REQUIRE: mountcritremote\n# BEFORE: LOGIN\n\n. /etc/rc.subr\n")
    text = (RECIPE / "phase1-install.sh").read_text()
    prog = text[text.index("awk '") + 5:text.index("' \"$pfi\"")]
    res = subprocess.run(["awk", prog, str(pfi)], capture_output=True, text=True)
    lines = res.stdout.splitlines()
    assert lines[lines.index("# REQUIRE: mountcritremote") + 1] == "rm -f /etc/pfi.conf"
    assert lines.count("rm -f /etc/pfi.conf") == 1


def test_phase_scripts_never_trace_their_markers():
    # `set -x` would echo `echo TUNLAB-PHASE-DONE ...` before it happens: the harness would
    # accept a phase too early.
    for p in SCRIPTS:
        assert "set -x" not in p.read_text() and "set -o xtrace" not in p.read_text(), p.name


def test_no_bash_only_constructs():
    for p in SCRIPTS:
        text = p.read_text()
        for bashism in ("[[", "function ", "$'\\", "<<<", "pipefail", "local ", "${!"):
            assert bashism not in text, f"{p.name}: {bashism}"
    assert os.access(RECIPE / "phase1-install.sh", os.X_OK)


def test_session_agent_build_keeps_the_agents_optimisation_under_dragonflys_sys_mk(tmp_path):
    """DragonFly's sys.mk predefines CFLAGS (-O -pipe) and the agent's Makefile puts CFLAGS
    last, so the make line the session really runs must set CFLAGS itself, or -O beats -O2."""
    if not shutil.which("bmake"):
        pytest.fail("bmake is not installed: `make deps-kpi` installs it")
    res, log = _session(tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    line = next(ln for ln in log.splitlines() if ln.startswith("make -C") and "BACKEND=bsd" in ln)
    assigns = [w for w in line.split()[3:] if "=" in w and not w.startswith(("BUILD=", "CC="))]
    sysmk = tmp_path / "mk"
    sysmk.mkdir()
    (sysmk / "sys.mk").write_text("CFLAGS ?= -O -pipe\n")  # what DragonFly's share/mk/sys.mk has
    cc = tmp_path / "cc"
    cc.write_text('#!/bin/sh\necho "$@" >>"${0%/*}/cc.log"\nwhile [ $# -gt 1 ]; do\n'
                  '  [ "$1" = -o ] && : >"$2"\n  shift\ndone\n')
    cc.chmod(0o755)
    agent = tmp_path / "agent"
    shutil.copytree(AGENT_DIR, agent)
    run = subprocess.run(["bmake", "-C", str(agent), f"CC={cc}", f"BUILD={tmp_path / 'out'}", *assigns],
                         env={"PATH": "/usr/bin:/bin", "MAKESYSPATH": str(sysmk)},
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    compiles = (tmp_path / "cc.log").read_text().splitlines()
    assert compiles and all([w for w in c.split() if w.startswith("-O")][-1] == "-O2" for c in compiles)
