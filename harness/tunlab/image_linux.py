"""Builds the offline Linux guest (guest-image/linux): Debian's kernel, its tun module,
busybox-static and the agent, packed as an uncompressed initramfs.

The kernel is booted as the uncompressed vmlinux (PVH entry) rather than vmlinuz: under TCG
that saves the ~3 s the guest spends decompressing itself. Outputs are cached under
build/images/linux/<hash of every input>/ and rebuilt only when an input changes.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import re
import subprocess
import tempfile
from pathlib import Path

from tunlab.cpio import CpioWriter
from tunlab.errors import SetupError
from tunlab.machine import GuestSpec
from tunlab.paths import AGENT_DIR, BUILD, GUEST_IMAGE_DIR

RECIPE = GUEST_IMAGE_DIR / "linux"
GUEST_ROOT = BUILD / "guest-debs" / "root"  # unpacked by scripts/setup-deps.sh
BUSYBOX = GUEST_ROOT / "bin" / "busybox"
BUSYBOX_APPLETS = ["sh", "mount", "insmod", "ifconfig", "poweroff", "echo", "cat", "ls", "ip", "sleep"]
BUILDER_VERSION = "1"
APPEND = ("console=ttyS0,115200 panic=-1 oops=panic loglevel=4 8250.nr_uarts=2 "
          "i8042.noaux i8042.nokbd i8042.nopnp mitigations=off rdinit=/init")
AGENT = BUILD / "agent" / "tunlab-agent"
# The bench loops without the agent; /init runs it when the command line has tunlab.bare=
# (`tunlab bench --overhead`). Built by the same make as the agent.
BARE = BUILD / "agent" / "tunlab-bench-bare"


def _version_key(v: str) -> list[int | str]:
    return [int(p) if p.isdigit() else p for p in re.split(r"[.-]", v)]


def find_kernel() -> tuple[str, Path, Path]:
    """(version, vmlinuz, tun.ko) of the newest installed Debian kernel that has tun.ko."""
    found = []
    for vmlinuz in (GUEST_ROOT / "boot").glob("vmlinuz-*"):
        version = vmlinuz.name[len("vmlinuz-"):]
        tun = GUEST_ROOT / "lib" / "modules" / version / "kernel/drivers/net/tun.ko"
        if tun.exists():
            found.append((version, vmlinuz, tun))
        elif tun.with_suffix(".ko.xz").exists():
            found.append((version, vmlinuz, tun.with_suffix(".ko.xz")))
    if not found:
        raise SetupError(f"no Debian kernel with a tun module under {GUEST_ROOT}: "
                         "run `make deps` (downloads linux-image-amd64)")
    return max(found, key=lambda f: _version_key(f[0]))


def extract_vmlinux(vmlinuz: bytes) -> bytes:
    """The ELF kernel inside a bzImage whose payload is xz-compressed (Debian's)."""
    off = vmlinuz.find(b"\xfd7zXZ\x00")
    if off < 0:
        raise SetupError("kernel image has no xz payload (expected Debian's CONFIG_KERNEL_XZ)")
    elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(vmlinuz[off:])
    if elf[:4] != b"\x7fELF":
        raise SetupError("decompressed kernel payload is not an ELF file")
    return elf


def build_agent() -> Path:
    """Build the agent (make is incremental) and return its path."""
    res = subprocess.run(["make", "-s", "-C", str(AGENT_DIR), "BACKEND=linux"],
                         capture_output=True, text=True)
    if res.returncode != 0 or not AGENT.exists() or not BARE.exists():
        raise SetupError(f"building the agent failed:\n{res.stdout}{res.stderr}")
    return AGENT


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build(progress: bool = False) -> GuestSpec:
    """Build (or find in the cache) the Linux guest and return how to boot it."""
    version, vmlinuz, tun = find_kernel()
    if not BUSYBOX.exists():
        raise SetupError(f"{BUSYBOX} missing: run `make deps` (downloads busybox-static)")
    agent = build_agent()
    init = (RECIPE / "init").read_bytes()
    inputs = {
        "builder": BUILDER_VERSION + _sha(Path(__file__).read_bytes()),
        "vmlinuz": _sha(vmlinuz.read_bytes()),
        "tun": _sha(tun.read_bytes()),
        "busybox": _sha(BUSYBOX.read_bytes()),
        "agent": _sha(agent.read_bytes()),
        "bare": _sha(BARE.read_bytes()),
        "init": _sha(init),
    }
    key = _sha(json.dumps(inputs, sort_keys=True).encode())[:16]
    out = BUILD / "images" / "linux" / key
    manifest = out / "manifest.json"
    if not manifest.exists():
        if progress:
            print(f"tunlab: building the Linux guest image (kernel {version}) in {out}", flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=".tmp-"))
        (tmp / "vmlinux").write_bytes(extract_vmlinux(vmlinuz.read_bytes()))
        tun_ko = tun.read_bytes()
        if tun.suffix == ".xz":
            tun_ko = lzma.decompress(tun_ko)
        with open(tmp / "initramfs.cpio", "wb") as f:
            cpio = CpioWriter(f)
            for d in ["bin", "sbin", "dev", "proc", "sys", "tmp", "lib", "lib/modules"]:
                cpio.directory(d)
            cpio.char_device("dev/console", 5, 1)
            cpio.file("init", init, 0o755)
            cpio.file("bin/busybox", BUSYBOX.read_bytes(), 0o755)
            for applet in BUSYBOX_APPLETS:
                cpio.symlink(f"bin/{applet}", "busybox")
            cpio.file("lib/modules/tun.ko", tun_ko)
            cpio.file("sbin/tunlab-agent", agent.read_bytes(), 0o755)
            cpio.file("sbin/tunlab-bench-bare", BARE.read_bytes(), 0o755)
            cpio.finish()
        (tmp / "manifest.json").write_text(json.dumps(
            {"kernel_version": version, "append": APPEND, "inputs": inputs}, indent=2) + "\n")
        if out.exists():  # a concurrent build got there first
            subprocess.run(["rm", "-rf", str(tmp)], check=False)
        else:
            os.rename(tmp, out)
    elif progress:
        print(f"tunlab: Linux guest image is up to date ({out})", flush=True)
    return from_dir(out)


def from_dir(directory: Path) -> GuestSpec:
    """A prebuilt Linux guest image directory (vmlinux, initramfs.cpio, manifest.json)."""
    manifest = directory / "manifest.json"
    if not manifest.exists():
        raise SetupError(f"{directory} is not a tunlab Linux image (no manifest.json); "
                         f"build one with `make image`")
    meta = json.loads(manifest.read_text())
    return GuestSpec(os="linux", name=f"tunlab-linux-{directory.name}", kernel=directory / "vmlinux",
                     initrd=directory / "initramfs.cpio", append=meta["append"])
