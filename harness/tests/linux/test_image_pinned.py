"""The real Linux guest image from the pinned packages (make test; `make deps` fetched them):
its kernel and files are exactly the pinned ones, so it is the same on any machine and date."""

import hashlib
import json

from tunlab import image_linux, pins


def test_the_image_is_built_from_exactly_the_pinned_files():
    pinned = pins.load()
    spec = image_linux.build()
    manifest = json.loads((spec.kernel.parent / "manifest.json").read_text())
    assert manifest["packages"] == {p.role: p.spec for p in pinned.values()}
    assert manifest["kernel_version"] == pinned["kernel"].release
    k, b = pinned["kernel"].files, pinned["busybox"].files
    assert manifest["inputs"]["vmlinuz"] == k["vmlinuz"]["sha256"]
    assert manifest["inputs"]["tun"] == k["tun"]["sha256"]
    assert manifest["inputs"]["busybox"] == b["busybox"]["sha256"]
    _, files = pins.guest_files(pinned)
    cpio = spec.initrd.read_bytes()
    for name in ("tun", "busybox"):
        data = files[name].read_bytes()
        assert hashlib.sha256(data).hexdigest() in (k.get(name, {}).get("sha256"), b.get(name, {}).get("sha256"))
        assert data in cpio
    elf = spec.kernel.read_bytes()
    assert elf == image_linux.extract_vmlinux(files["vmlinuz"].read_bytes())
    assert elf[:4] == b"\x7fELF" and b"Xen\x00" in elf  # the PVH entry is announced in a Xen ELF note
