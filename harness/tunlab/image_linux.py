"""Builds the offline Linux guest (guest-image/linux): Debian's kernel, its tun module,
busybox-static and the agent, packed as an uncompressed initramfs.

The kernel is booted as the uncompressed vmlinux (PVH entry) rather than vmlinuz: under TCG
that saves the ~3 s the guest spends decompressing itself. The kernel, its tun module and
busybox are the files pinned in guest-image/linux/pins.json (package, version and SHA-256;
tunlab.pins fetches and verifies them, `make deps`), so they are the same bytes on any machine
and date; the agent is built here from source by the host's compiler against its static libc
(the same binary on the same Debian release), and its hash is one of the inputs. Outputs are cached under <cache>/images/linux/<hash of every input>/ (tunlab.paths.CACHE,
outside build/, kept by `make clean`) and rebuilt only when an input changes.

The cache verifies what it serves: manifest.json records each file's size and SHA-256, and
a file that is missing, truncated or changed makes build() say so and rebuild the image (a
given --image directory that fails the check is an error). A build is made in a .tmp-<pid>-*
directory and renamed into place; one interrupted (Ctrl-C, an error) removes it, and one
killed outright is removed by the next build once its pid is gone.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tunlab.cachedir import discard as _discard, sweep_tmp
from tunlab.cpio import CpioWriter
from tunlab.boundedlog import raise_if_disk_full
from tunlab.errors import SetupError
from tunlab.machine import GuestSpec
from tunlab import pins
from tunlab.paths import AGENT_DIR, BUILD, CACHE, GUEST_IMAGE_DIR

RECIPE = GUEST_IMAGE_DIR / "linux"
IMAGES = CACHE / "images" / "linux"
BUSYBOX_APPLETS = ["sh", "mount", "insmod", "ifconfig", "poweroff", "echo", "cat", "ls", "ip", "sleep"]
BUILDER_VERSION = "1"
APPEND = ("console=ttyS0,115200 panic=-1 oops=panic loglevel=4 8250.nr_uarts=2 "
          "i8042.noaux i8042.nokbd i8042.nopnp mitigations=off rdinit=/init")
AGENT = BUILD / "agent" / "tunlab-agent"


def guest_inputs() -> tuple[str, Path, Path, Path, dict[str, str]]:
    """(kernel release, vmlinuz, tun.ko, busybox, {role: package=version}): the pinned files,
    checked against their pins (a missing or changed one is a SetupError saying to run
    `make deps`)."""
    loaded = pins.load()
    release, files = pins.guest_files(loaded)
    return (release, files["vmlinuz"], files["tun"], files["busybox"],
            {p.role: p.spec for p in loaded.values()})


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
    res = subprocess.run(["make", "-s", "-C", str(AGENT_DIR), "BACKEND=linux", f"BUILD={AGENT.parent}"],
                         capture_output=True, text=True)
    if res.returncode != 0 or not AGENT.exists():
        raise SetupError(f"building the agent failed:\n{res.stdout}{res.stderr}")
    return AGENT


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


IMAGE_FILES = ("vmlinux", "initramfs.cpio")  # what the manifest vouches for


_sha_file = pins.sha256_file


def file_records(directory: Path) -> dict[str, dict[str, int | str]]:
    """Size and SHA-256 of each image file, as the manifest records them."""
    return {name: {"size": (directory / name).stat().st_size, "sha256": _sha_file(directory / name)}
            for name in IMAGE_FILES}


def verify(directory: Path) -> str:
    """Why the image in `directory` cannot be used as it is ("" when every file matches its
    manifest record)."""
    try:
        records = json.loads((directory / "manifest.json").read_text()).get("files")
    except (OSError, ValueError, AttributeError) as e:
        return f"manifest.json unreadable: {e}"
    if not isinstance(records, dict) or set(records) != set(IMAGE_FILES):
        return "manifest.json records no file sizes and hashes (an older build)"
    for name, want in records.items():
        path = directory / name
        try:
            size = path.stat().st_size
        except OSError:
            return f"{name} is missing"
        if size != want.get("size"):
            return f"{name} is {size} bytes, the manifest says {want.get('size')}"
        if _sha_file(path) != want.get("sha256"):
            return f"{name} does not match its SHA-256 in the manifest"
    return ""


def build(progress: bool = False) -> GuestSpec:
    """Build (or find in the cache) the Linux guest and return how to boot it."""
    version, vmlinuz, tun, busybox, packages = guest_inputs()
    agent = build_agent()
    init = (RECIPE / "init").read_bytes()
    inputs = {
        "builder": BUILDER_VERSION + _sha(Path(__file__).read_bytes()),
        "vmlinuz": _sha(vmlinuz.read_bytes()),
        "tun": _sha(tun.read_bytes()),
        "busybox": _sha(busybox.read_bytes()),
        "agent": _sha(agent.read_bytes()),
        "init": _sha(init),
    }
    key = _sha(json.dumps(inputs, sort_keys=True).encode())[:16]
    out = IMAGES / key
    manifest = out / "manifest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    sweep_tmp(out.parent)
    if manifest.exists():
        why = verify(out)
        if why:
            print(f"tunlab: the cached Linux guest image {out} is damaged ({why}): rebuilding it",
                  file=sys.stderr, flush=True)
            _discard(out)
    if not manifest.exists():
        if progress:
            print(f"tunlab: building the Linux guest image (kernel {version}) in {out}", flush=True)
        try:
            _build_into(out, version, vmlinuz, tun, busybox, init, agent, inputs, packages)
        except OSError as e:
            raise_if_disk_full(e, out.parent, "building the image in")
            raise
    elif progress:
        print(f"tunlab: Linux guest image is up to date ({out})", flush=True)
    return from_dir(out, check=False)


def _build_into(out: Path, version: str, vmlinuz: Path, tun: Path, busybox: Path, init: bytes,
                agent: Path, inputs: dict[str, str], packages: dict[str, str]) -> None:
    """Build the image in a temporary directory and rename it to `out`; nothing is left
    behind when the build fails or is interrupted."""
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".tmp-{os.getpid()}-"))
    try:
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
            cpio.file("bin/busybox", busybox.read_bytes(), 0o755)
            for applet in BUSYBOX_APPLETS:
                cpio.symlink(f"bin/{applet}", "busybox")
            cpio.file("lib/modules/tun.ko", tun_ko)
            cpio.file("sbin/tunlab-agent", agent.read_bytes(), 0o755)
            cpio.finish()
        (tmp / "manifest.json").write_text(json.dumps(
            {"kernel_version": version, "append": APPEND, "inputs": inputs,
             "packages": packages,
             "files": file_records(tmp)}, indent=2) + "\n")
        try:
            os.rename(tmp, out)
        except OSError:
            if not (out / "manifest.json").exists():
                raise
            # a concurrent build got there first: ours is removed below
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def from_dir(directory: Path, check: bool = True) -> GuestSpec:
    """A prebuilt Linux guest image directory (vmlinux, initramfs.cpio, manifest.json); with
    `check`, its files must match the manifest's sizes and hashes."""
    manifest = directory / "manifest.json"
    if not manifest.exists():
        raise SetupError(f"{directory} is not a tunlab Linux image (no manifest.json); "
                         f"build one with `make image`")
    why = verify(directory) if check else ""
    if why:
        raise SetupError(f"the Linux guest image {directory} is damaged ({why}); "
                         f"rebuild it with `make image`")
    meta = json.loads(manifest.read_text())
    return GuestSpec(target="linux", name=f"tunlab-linux-{directory.name}", kernel=directory / "vmlinux",
                     initrd=directory / "initramfs.cpio", append=meta["append"])
