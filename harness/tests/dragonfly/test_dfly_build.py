"""The DragonFly build path without DragonFly (issue 17), offline:

- the first `make` of a module in a fresh directory on an installed system, through a
  stand-in for DragonFly's bsd.kmod.mk run by the real bmake (kmod_standin/): our driver's
  Makefile, the session script's driver build and phase 3's module check;
- the agent's DragonFly half where only DragonFly's headers would tell: AF_INET without
  glibc's <arpa/inet.h>, _KERNEL_STRUCTURES before any system header, the panic sysctl;
- the compile checks' own behaviour (scripts/check-agent-dfly.sh, check-kmod-dfly.sh,
  dfly-include-tree.sh): skipped without a tree, failures with a bad one.

The checks against a real DragonFly tree run in `make check` with TUNLAB_DFLY_SRC set."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from session_standin import run_phase_steps, run_session_script, write_stubs
from tunlab.dragonfly_console import explain_session_failure
from tunlab.image_dragonfly import RECIPE

REPO = Path(__file__).resolve().parents[3]
AGENT = REPO / "harness" / "agent"
DRIVER = REPO / "driver"
SCRIPTS = REPO / "scripts"
STANDIN = Path(__file__).resolve().parent / "kmod_standin"
DRIVER_FILES = ("Makefile", "if_tun.c", "if_tun.h", "if_tunvar.h")

needs_bmake = pytest.mark.skipif(not shutil.which("bmake"),
                                 reason="bmake not installed: apt-get install bmake (make deps installs it)")
needs_gcc = pytest.mark.skipif(not shutil.which("gcc"), reason="gcc not installed")


# -- an installed system's module build, stood in -------------------------------------------
def installed(tmp: Path, full_src: bool = False) -> tuple[Path, Path]:
    """(SYSDIR, DESTDIR) laid out as on the installed image: /usr/src holds only sys/ (the
    extracted src-sys), /usr/include exists. `full_src`: /usr/src/include exists too."""
    sysdir = tmp / "usr" / "src" / "sys"
    (sysdir / "kern").mkdir(parents=True)
    (tmp / "usr" / "include").mkdir(parents=True)
    if full_src:
        (tmp / "usr" / "src" / "include").mkdir()
    return sysdir, tmp


def driver_copy(dest: Path, makefile: str | None = None) -> Path:
    """driver/ as a session CD carries it, in a fresh directory."""
    dest.mkdir(parents=True)
    for name in DRIVER_FILES:
        shutil.copy2(DRIVER / name, dest / name)
    if makefile is not None:
        (dest / "Makefile").write_text(makefile)
    return dest


def without_fix(text: str) -> str:
    """A module Makefile that ends at `.include <bsd.kmod.mk>`, as DragonFly's own do: what
    driver/Makefile was before its first-make fix."""
    head, sep, _ = text.partition(".include <bsd.kmod.mk>\n")
    assert sep, "driver/Makefile no longer includes <bsd.kmod.mk>"
    return head + sep


def standin_env(tmp: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp),
            "MAKESYSPATH": str(STANDIN), "STANDIN_CC_LOG": str(tmp / "cc.log")}


def bsd_make(cwd: Path, sysdir: Path, destdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bmake", f"SYSDIR={sysdir}", f"DESTDIR={destdir}"], cwd=cwd,
                          env=standin_env(destdir), capture_output=True, text=True, timeout=60)


def compiles(tmp: Path) -> list[str]:
    log = tmp / "cc.log"
    return [ln for ln in log.read_text().splitlines() if " -c " in ln] if log.exists() else []


@needs_bmake
@needs_gcc
def test_first_make_of_the_driver_in_a_fresh_directory_builds_the_module(tmp_path):
    sysdir, dest = installed(tmp_path)
    d = driver_copy(tmp_path / "session" / "driver")
    res = bsd_make(d, sysdir, dest)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (d / "if_tun.ko").is_file()
    [cc] = compiles(tmp_path)
    assert "if_tun.c" in cc and "-Werror" in cc and "-Wmissing-include-dirs" in cc
    assert "@/../include" not in cc and f"-I{dest}/usr/include" in cc


@needs_bmake
@needs_gcc
def test_the_standin_fails_a_makefile_without_the_fix_on_the_first_make_only(tmp_path):
    """The stand-in reproduces the problem: a Makefile ending at the include fails the first
    make (-I@/../include missing, -Wmissing-include-dirs, -Werror), and a second succeeds,
    which is what hid it by hand."""
    sysdir, dest = installed(tmp_path)
    d = driver_copy(tmp_path / "driver", without_fix((DRIVER / "Makefile").read_text()))
    first = bsd_make(d, sysdir, dest)
    assert first.returncode != 0
    assert "@/../include: No such file or directory" in first.stderr + first.stdout
    assert "missing-include-dirs" in first.stderr + first.stdout
    assert not (d / "if_tun.ko").exists()
    second = bsd_make(d, sysdir, dest)
    assert second.returncode == 0 and (d / "if_tun.ko").is_file(), second.stdout + second.stderr


@needs_bmake
@needs_gcc
def test_with_a_full_source_tree_the_first_make_keeps_its_include_directory(tmp_path):
    sysdir, dest = installed(tmp_path, full_src=True)
    d = driver_copy(tmp_path / "driver")
    res = bsd_make(d, sysdir, dest)
    assert res.returncode == 0 and (d / "if_tun.ko").is_file(), res.stdout + res.stderr
    [cc] = compiles(tmp_path)
    assert "-I@/../include" in cc


# -- the session script's driver build, with bmake and the stand-in --------------------------
SESSION_MAKE = """#!/bin/sh
# make -C DIR VAR=value...: the agent's build faked, the driver's through bmake and the stand-in
dir=$2
case $dir in
*/agent)
	for a in "$@"; do case $a in BUILD=*) out=${a#BUILD=};; esac; done
	mkdir -p "$out" && printf '#!/bin/sh\\n' >"$out/tunlab-agent" && chmod +x "$out/tunlab-agent" ;;
*)
	exec bmake "$@" DESTDIR="$STANDIN_DESTDIR" ;;
esac
"""


def run_session(tmp: Path, driver: str, makefile: str | None = None) -> tuple[subprocess.CompletedProcess[str], str]:
    sysdir, dest = installed(tmp)
    stubs = write_stubs(tmp / "stubs", {
        "make": SESSION_MAKE, "gmake": SESSION_MAKE, "kldstat": "#!/bin/sh\n",
        "kldload": '#!/bin/sh\necho "kldload $*" >>"$STUBLOG"\n',
        "nohup": '#!/bin/sh\necho "nohup $*" >>"$STUBLOG"\n'})
    cd = tmp / "cd"
    (cd / "agent").mkdir(parents=True)
    (cd / "agent" / "Makefile").write_text("# stand-in\n")
    if driver == "ours":
        driver_copy(cd / "driver", makefile)
    else:
        (cd / "driver").mkdir()  # build_session_iso leaves it empty for the stock module
    (cd / "tunlab-session.conf").write_text(f"driver={driver}\nsources_hash=abc123\n")
    env = {**standin_env(dest), "PATH": f"{stubs}:{os.environ.get('PATH', '/usr/bin:/bin')}",
           "STUBLOG": str(tmp / "stub.log"), "STANDIN_DESTDIR": str(dest),
           "TUNLAB_STATE": str(tmp / "state"), "TUNLAB_NO_POWEROFF": "1",
           "TUNLAB_SESSION_DIR": str(cd), "TUNLAB_CDS": "", "TUNLAB_SYSDIR": str(sysdir),
           "TUNLAB_AGENT": "/nonexistent", "TUNLAB_PORT": "/dev/cuaa1"}
    return run_session_script(env, timeout=120)


@needs_bmake
@needs_gcc
def test_session_builds_our_driver_on_its_first_boot(tmp_path):
    res, log = run_session(tmp_path, "ours")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "TUNLAB-SESSION-READY driver=ours" in res.stdout
    assert f"kldload {tmp_path}/state/build/driver/if_tun.ko" in log
    assert len(compiles(tmp_path)) == 1


@needs_bmake
@needs_gcc
def test_session_reports_the_first_build_problem_if_it_comes_back(tmp_path):
    res, log = run_session(tmp_path, "ours", without_fix((DRIVER / "Makefile").read_text()))
    assert res.returncode == 1 and "kldload" not in log
    assert res.stdout.strip().splitlines()[-1].startswith("TUNLAB-SESSION-FAILED step=driver-build")
    why = explain_session_failure(res.stdout)
    assert why is not None and "missing-include-dirs" in why


@needs_bmake
def test_session_with_the_stock_driver_builds_no_driver(tmp_path):
    res, log = run_session(tmp_path, "stock")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "kldload if_tun" in log and "TUNLAB-SESSION-READY driver=stock" in res.stdout


# -- phase 3's module check (DragonFly's own sys/net/tun, fresh directory, one make) -----------
def phase3_module_check() -> str:
    text = (RECIPE / "phase3-configure.sh").read_text()
    begin, end = "# -- module check (begin) --\n", "# -- module check (end) --\n"
    assert begin in text and end in text
    return text[text.index(begin):text.index(end)]


def run_phase3_module_check(tmp: Path, block: str) -> subprocess.CompletedProcess[str]:
    sysdir, dest = installed(tmp)
    tun = sysdir / "net" / "tun"
    tun.mkdir(parents=True)
    # A module Makefile as DragonFly writes them (ours, not a copy): it ends at the include.
    (tun / "Makefile").write_text("KMOD=\tif_tun\nSRCS=\tif_tun.c opt_inet.h\n\n.include <bsd.kmod.mk>\n")
    (tun / "if_tun.c").write_text("/* stand-in */\n")
    stubs = write_stubs(tmp / "stubs", {"make": '#!/bin/sh\nexec bmake "$@" DESTDIR="$STANDIN_DESTDIR"\n'})
    env = {**standin_env(dest), "STANDIN_DESTDIR": str(dest), "TUNLAB_SYSDIR": str(sysdir),
           "TUNLAB_KMODCHECK_DIR": str(tmp / "kmodcheck")}
    return run_phase_steps(tmp, block + "echo MODULE-CHECK-PASSED\n", env=env, stubs=stubs, timeout=120)


@needs_bmake
@needs_gcc
def test_phase3_module_check_builds_on_the_first_make(tmp_path):
    res = run_phase3_module_check(tmp_path, phase3_module_check())
    assert "MODULE-CHECK-PASSED" in res.stdout, res.stdout + res.stderr
    assert "tunlab-test: step kmod-check ok" in res.stdout and "PHASE-FAILED" not in res.stdout
    assert len(compiles(tmp_path)) == 1


@needs_bmake
@needs_gcc
def test_phase3_module_check_needs_its_link_step(tmp_path):
    block = phase3_module_check()
    link = [ln for ln in block.splitlines() if ln.startswith("step kmod-link ")]
    assert len(link) == 1
    res = run_phase3_module_check(tmp_path, block.replace(link[0] + "\n", ""))
    assert "TUNLAB-PHASE-FAILED test step=kmod-check" in res.stdout
    assert "missing-include-dirs" in res.stdout


def test_phase2_builds_and_installs_only_the_tun_module():
    text = (RECIPE / "phase2-kernel.sh").read_text()
    assert re.search(r'^modules="MODULES_OVERRIDE=net/tun"$', text, re.M)
    for target in ("nativekernel", "installkernel"):
        [line] = [ln for ln in text.splitlines() if ln.startswith(f"step {target} ")]
        assert "$modules" in line, line


# -- the agent's DragonFly half ---------------------------------------------------------------
def system_includes(*files: Path) -> set[str]:
    out: set[str] = set()
    for f in files:
        out |= set(re.findall(r'^\s*#\s*include\s*<([^>]+)>', f.read_text(), re.M))
    return out


def stub_tree(root: Path, names: set[str], body: str) -> Path:
    for n in names:
        p = root / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(body.replace("NAME", n))
    return root


NEEDS_KS = '#ifndef _KERNEL_STRUCTURES\n#error "<NAME> reached before _KERNEL_STRUCTURES"\n#endif\n'
OWN_HEADERS = [AGENT / "bsd_sys.h", AGENT / "backend_bsd.c", AGENT / "backend.h", AGENT / "threads.h"]


def preprocess(src: Path, stubs: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["gcc", "-E", "-nostdinc", "-I", str(stubs), "-I", str(AGENT), "-o", os.devnull,
                           str(src)], capture_output=True, text=True, timeout=60)


@needs_gcc
def test_backend_bsd_defines_kernel_structures_before_any_system_header(tmp_path):
    """Every system header backend_bsd.c reaches is stood in by one that fails unless
    _KERNEL_STRUCTURES is already defined (what struct mbstat needs on DragonFly)."""
    stubs = stub_tree(tmp_path / "inc", system_includes(*OWN_HEADERS), NEEDS_KS)
    res = preprocess(AGENT / "backend_bsd.c", stubs)
    assert res.returncode == 0, res.stderr


@needs_gcc
def test_the_include_order_stub_catches_a_header_before_bsd_sys_h(tmp_path):
    stubs = stub_tree(tmp_path / "inc", system_includes(*OWN_HEADERS) | {"stdio.h"}, NEEDS_KS)
    src = tmp_path / "late.c"
    src.write_text('#include <stdio.h>\n#include "bsd_sys.h"\n')
    res = preprocess(src, stubs)
    assert res.returncode != 0 and "<stdio.h> reached before _KERNEL_STRUCTURES" in res.stderr


@needs_gcc
def test_bsd_sys_h_refuses_to_come_after_sys_types_h(tmp_path):
    """Its own guard: a translation unit that has DragonFly's <sys/types.h> (or <sys/mbuf.h>)
    already without _KERNEL_STRUCTURES fails to compile, naming the rule."""
    stubs = stub_tree(tmp_path / "inc", system_includes(AGENT / "bsd_sys.h"), "")
    for guard, header in (("_SYS_TYPES_H_", "sys/types.h"), ("_SYS_MBUF_H_", "sys/mbuf.h")):
        (stubs / header).write_text(f"#ifndef {guard}\n#define {guard}\n#endif\n")
        src = tmp_path / f"early-{guard}.c"
        src.write_text(f'#include <{header}>\n#include "bsd_sys.h"\n')
        res = preprocess(src, stubs)
        assert res.returncode != 0 and "bsd_sys.h must be included before any system header" in res.stderr


ARPA_INET = """/* Like DragonFly's <arpa/inet.h>: the functions, no AF_* constants. */
#include <stdint.h>
int inet_pton(int, const char *, void *);
"""


def compile_args_c(tmp: Path, text: str) -> subprocess.CompletedProcess[str]:
    (tmp / "inc" / "arpa").mkdir(parents=True, exist_ok=True)
    (tmp / "inc" / "arpa" / "inet.h").write_text(ARPA_INET)
    src = tmp / "args.c"
    src.write_text(text)
    return subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-D_DEFAULT_SOURCE", "-fsyntax-only",
                           "-I", str(tmp / "inc"), "-I", str(AGENT), str(src)],
                          capture_output=True, text=True, timeout=60)


@needs_gcc
def test_args_c_does_not_take_af_inet_from_arpa_inet_h(tmp_path):
    text = (AGENT / "args.c").read_text()
    res = compile_args_c(tmp_path, text)
    assert res.returncode == 0, res.stderr
    # The control: without its own <sys/socket.h> it fails as it did on DragonFly.
    res = compile_args_c(tmp_path, re.sub(r"^#include <sys/socket.h>.*\n", "", text, flags=re.M))
    assert res.returncode != 0 and "AF_INET" in res.stderr


def test_panic_uses_dragonflys_sysctl():
    text = (AGENT / "backend_bsd.c").read_text()
    body = text[text.index("\nbe_panic(void)\n"):]
    body = body[:body.index("\n}\n")]
    dfly = body[body.index("#else"):body.index("#endif")]
    assert re.findall(r'sysctlbyname\("([^"]+)"', dfly) == ["debug.panic"]
    assert "kdb" not in re.sub(r"/\*.*?\*/", "", dfly, flags=re.S)


# -- the checks themselves --------------------------------------------------------------------
def run_script(name: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "TUNLAB_DFLY_SRC"}
    full.update(env)
    return subprocess.run(["sh", str(SCRIPTS / name), *args], capture_output=True, text=True, env=full,
                          timeout=300)


@pytest.mark.parametrize("script", ["check-agent-dfly.sh", "check-kmod-dfly.sh"])
def test_checks_skip_without_a_tree_and_fail_with_a_bad_one(tmp_path, script):
    res = run_script(script)
    assert res.returncode == 0 and "SKIP" in res.stdout and "TUNLAB_DFLY_SRC" in res.stdout
    res = run_script(script, TUNLAB_DFLY_SRC=str(tmp_path / "nonexistent"))
    assert res.returncode == 1 and "FAIL" in res.stdout and "SKIP" not in res.stdout
    (tmp_path / "empty").mkdir()
    res = run_script(script, TUNLAB_DFLY_SRC=str(tmp_path / "empty"))
    assert res.returncode == 1 and "FAIL" in res.stdout


def fake_sysctls(tmp: Path, names: list[str]) -> Path:
    src = tmp / "src"
    (src / "sys" / "kern").mkdir(parents=True)
    lines = []
    for n in names:
        parent, leaf = n.rsplit(".", 1)
        lines.append(f"SYSCTL_INT(_{parent.replace('.', '_')}, OID_AUTO, {leaf}, CTLFLAG_RW, &x, 0, \"\");")
    (src / "sys" / "kern" / "fake_sysctl.c").write_text("\n".join(lines) + "\n")
    return src


USED = ["debug.panic", "debug.debugger_on_panic", "kern.ipc.mbstat", "kern.ipc.mbtypes",
        "net.inet.udp.sosend_async"]


def test_sysctl_check_accepts_declared_names_and_names_a_missing_one(tmp_path):
    res = run_script("check-agent-dfly.sh", "--sysctl-only", str(fake_sysctls(tmp_path / "a", USED)))
    assert res.returncode == 0, res.stdout
    assert "debug.panic" in res.stdout and "debug.debugger_on_panic" in res.stdout
    res = run_script("check-agent-dfly.sh", "--sysctl-only",
                     str(fake_sysctls(tmp_path / "b", [n for n in USED if n != "debug.panic"])))
    assert res.returncode == 1 and re.search(r"FAIL: sysctl names not declared .*: debug\.panic$", res.stdout, re.M)


def fake_tree(root: Path, libm: bool = True) -> Path:
    """A miniature DragonFly source tree, written here, with the shapes include/Makefile and
    lib/libm/Makefile have."""
    files = {
        "include/Makefile": textwrap.dedent("""\
            SUBDIR= arpa
            INCS=\tstdio.h \\
            \tstring.h
            .if defined(WANT_HESIOD)
            INCS+=\thesiod.h
            .endif
            LHDRS=\terrno.h
            LDIRS=\tnet sys
            LSUBDIRS= net/tun
            INCS+=\tosreldate.h
            """),
        "include/stdio.h": "/* stdio */\n", "include/string.h": "/* string */\n",
        "include/arpa/inet.h": "/* inet */\n",
        "sys/sys/param.h": "#define __DragonFly_version 500705\t/* 5.7 */\n",
        "sys/sys/errno.h": "/* errno */\n", "sys/net/if.h": "/* if */\n",
        "sys/net/tun/if_tun.h": "/* tun */\n",
        "sys/cpu/x86_64/include/types.h": "/* cpu types */\n",
        "sys/cpu/x86_64/include/only_cpu.h": "/* cpu */\n",
        "sys/platform/pc64/include/types.h": "/* platform types */\n",
    }
    if libm:
        files["lib/libm/Makefile"] = "INCS=\t\tglobal/math.h\n.if (${MACHINE_ARCH} == \"x86_64\")\nMACHINCS= amd64/ieee.h\n.endif\n"
        files["contrib/openbsd_libm/include/global/math.h"] = "/* math */\n"
        files["contrib/openbsd_libm/include/amd64/ieee.h"] = "/* ieee */\n"
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def test_include_tree_is_laid_out_as_include_makefile_installs_it(tmp_path):
    src = fake_tree(tmp_path / "src")
    res = subprocess.run(["sh", str(SCRIPTS / "dfly-include-tree.sh"), str(src), str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    inc = tmp_path / "out" / "usr" / "include"
    assert (inc / "stdio.h").is_file() and (inc / "string.h").is_file() and (inc / "arpa" / "inet.h").is_file()
    assert not (inc / "hesiod.h").exists()  # only inside .if WANT_HESIOD
    assert os.readlink(inc / "errno.h") == "sys/errno.h" and (inc / "errno.h").is_file()
    assert (inc / "net" / "tun" / "if_tun.h").is_file() and (inc / "net" / "if.h").is_file()
    assert (inc / "machine" / "types.h").read_text() == "/* platform types */\n"  # platform over cpu
    assert (inc / "machine" / "only_cpu.h").is_file()
    assert (inc / "cpu" / "types.h").read_text() == "/* cpu types */\n"
    assert "#define __DragonFly_version 500705" in (inc / "osreldate.h").read_text()
    assert (inc / "math.h").is_file() and (inc / "machine" / "ieee.h").is_file()


def test_include_tree_refuses_a_tree_without_math_headers(tmp_path):
    src = fake_tree(tmp_path / "src", libm=False)
    res = subprocess.run(["sh", str(SCRIPTS / "dfly-include-tree.sh"), str(src), str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and "contrib/openbsd_libm/include" in res.stderr
