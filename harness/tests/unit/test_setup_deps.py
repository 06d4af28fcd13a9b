"""scripts/setup-deps.sh installs in tiers: `make check` gets only the kpi tier (no QEMU, no
libvirt daemon, no guest download); the tools the fast tier's tests use are all
in that tier. apt-get, dpkg-query and id are played by stubs on PATH."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tunlab.paths import REPO

SCRIPT = REPO / "scripts" / "setup-deps.sh"
# command -> the kpi-tier package that provides it (what make check's tests and scripts run)
KPI_TOOLS = {"gcc": "gcc", "clang": "clang", "llvm-profdata": "llvm", "valgrind": "valgrind",
             "bmake": "bmake", "genisoimage": "genisoimage", "isoinfo": "genisoimage",
             "qemu-img": "qemu-utils", "shellcheck": "shellcheck", "xmllint": "libxml2-utils",
             "virt-xml-validate": "libvirt-clients", "tcpdump": "tcpdump", "dpkg-deb": "dpkg"}
# python module -> the kpi-tier package that provides it
KPI_MODULES = {"pytest": "python3-pytest", "yaml": "python3-yaml", "jinja2": "python3-jinja2",
               "matplotlib": "python3-matplotlib"}  # (the bench tests draw the plot)
VM_ONLY = {"qemu-system-x86", "libvirt-daemon", "libvirt-daemon-driver-qemu", "python3-libvirt"}


def tier(name: str) -> set[str]:
    """The packages a tier's variable names in the script."""
    text = SCRIPT.read_text()
    start = text.index(f'{name}_PACKAGES="') + len(f'{name}_PACKAGES="')
    return set(text[start:text.index('"', start)].split())


def run_tier(tmp_path: Path, what: str, **env):
    bin_ = tmp_path / "bin"
    bin_.mkdir(exist_ok=True)
    log = tmp_path / "apt.log"
    stubs = {"apt-get": f'echo "$*" >> {log}', "dpkg-query": "exit 1", "id": "echo 0"}
    for name, body in stubs.items():
        (bin_ / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_ / name).chmod(0o755)
    work = tmp_path / "repo"
    (work / "scripts").mkdir(parents=True, exist_ok=True)
    shutil.copy(SCRIPT, work / "scripts")
    res = subprocess.run(["sh", str(work / "scripts" / "setup-deps.sh"), what], capture_output=True,
                         text=True, env=dict(os.environ, PATH=f"{bin_}:{os.environ['PATH']}", **env),
                         timeout=60)
    installs = [ln.split() for ln in (log.read_text().splitlines() if log.exists() else [])
                if " install " in f" {ln} "]
    return res, {p for ln in installs for p in ln if not p.startswith("-") and p != "install"}


def test_kpi_tier_installs_only_the_fast_tiers_packages(tmp_path):
    res, installed = run_tier(tmp_path, "kpi")
    assert res.returncode == 0, res.stderr
    assert installed == tier("KPI"), installed ^ tier("KPI")
    assert not installed & VM_ONLY
    assert "installing (kpi):" in res.stdout


def test_vm_tier_installs_qemu_and_libvirt(tmp_path):
    res, installed = run_tier(tmp_path, "vm")
    assert res.returncode == 0, res.stderr
    assert installed == tier("VM") and VM_ONLY <= installed


def test_skip_deps_installs_nothing(tmp_path):
    res, installed = run_tier(tmp_path, "all", TUNLAB_SKIP_DEPS="1")
    assert res.returncode == 0 and installed == set() and "skipped" in res.stdout


def test_a_bad_tier_is_a_usage_error(tmp_path):
    res, _ = run_tier(tmp_path, "everything")
    assert res.returncode == 2 and "usage" in res.stderr


def test_tiers_follow_debians_default_clang_and_keep_vm_packages_out_of_kpi():
    kpi, vm = tier("KPI"), tier("VM")
    assert "libclang-rt-dev" in kpi and not any(p.startswith("libclang-rt-1") for p in kpi | vm)
    assert not kpi & vm and not kpi & VM_ONLY
    assert set(KPI_TOOLS.values()) - {"dpkg"} <= kpi and set(KPI_MODULES.values()) <= kpi


@pytest.mark.skipif(not shutil.which("apt-cache"), reason="not a Debian machine")
def test_every_package_named_exists_in_this_debian():
    names = sorted(tier("KPI") | tier("VM"))
    res = subprocess.run(["apt-cache", "show", "--no-all-versions", *names], capture_output=True, text=True)
    shown = {ln.split(":", 1)[1].strip() for ln in res.stdout.splitlines() if ln.startswith("Package:")}
    assert set(names) <= shown, f"unknown to apt: {sorted(set(names) - shown)}"


@pytest.mark.parametrize("tool", sorted(KPI_TOOLS))
def test_the_fast_tiers_tools_are_installed(tool):
    """`make check` ran `make deps-kpi` first: a tool missing here is a set-up error."""
    assert shutil.which(tool), f"{tool} is missing: `make deps-kpi` installs it ({KPI_TOOLS[tool]})"


@pytest.mark.parametrize("module", sorted(KPI_MODULES))
def test_the_fast_tiers_python_modules_import(module):
    res = subprocess.run(["/usr/bin/python3", "-c", f"import {module}"], capture_output=True, text=True)
    assert res.returncode == 0, f"{module}: `make deps-kpi` installs it ({KPI_MODULES[module]}): {res.stderr}"


def test_make_check_installs_the_kpi_tier_and_the_vm_targets_everything():
    rules = {}
    for line in (REPO / "Makefile").read_text().splitlines():
        m = re.match(r"^([\w.-]+):(?!=)(.*)$", line)
        if m:
            rules[m.group(1)] = m.group(2).split()
    assert "deps-kpi" in rules["check"] and "deps" not in rules["check"]
    assert "deps-kpi" in rules["agent"]
    assert "deps" in rules["test"] and "deps" in rules["image"]
    assert "clean" in rules["distclean"]


def test_readme_documents_the_set_up():
    """Every setting the set-up, the cache and the image builders read is in the README, with
    the tiers, the pin update command and what clean and distclean remove."""
    readme = (REPO / "README.md").read_text()
    sources = [REPO / "scripts" / "setup-deps.sh", REPO / "harness/tunlab/paths.py",
               REPO / "harness/tunlab/pins.py", REPO / "harness/tunlab/image_dragonfly.py",
               REPO / "harness/tunlab/dragonfly_media.py", REPO / "harness/tunlab/image_linux.py"]
    read = set()
    for src in sources:
        text = src.read_text()  # os.environ reads, _env_flag("X"), and the shell's ${X}
        read |= set(re.findall(r"(?:environ(?:\.get\(|\[)|_env_flag\()\s*\"((?:TUNLAB_|XDG_)\w+)", text))
        read |= set(re.findall(r"\$\{?((?:TUNLAB_|XDG_)\w+)", text))
    assert {"TUNLAB_CACHE", "XDG_CACHE_HOME", "TUNLAB_BUILD", "TUNLAB_SKIP_DEPS"} <= read
    assert [v for v in sorted(read) if f"`{v}" not in readme and f"${v}" not in readme] == []
    for claim in ("scripts/update-pins.sh", "guest-image/linux/pins.json", "make distclean", "make deps-kpi",
                  "libclang-rt-dev", "`make clean` removes `build/`", "~/.cache/tunlab"):
        assert claim in readme, claim
    for tier_name in ("kpi", "vm", "guest", "all"):
        assert f"| `{tier_name}` |" in readme
