"""The Linux guest image: reproducible, cached by content, rebuilt when an input changes."""

import shutil

import pytest

from tunlab import image_linux
from tunlab.errors import SetupError


@pytest.fixture
def inputs_present():
    """The image's inputs (`make deps` fetches them): missing ones are an error of the run."""
    image_linux.find_kernel()
    if not image_linux.BUSYBOX.exists():
        raise SetupError(f"{image_linux.BUSYBOX} missing: run `make deps`")


def test_second_build_is_a_cache_hit(inputs_present):
    first = image_linux.build()
    mtime = first.initrd.stat().st_mtime_ns
    second = image_linux.build()
    assert second == first
    assert second.initrd.stat().st_mtime_ns == mtime  # not rebuilt


def test_same_inputs_give_the_same_bytes(inputs_present, tmp_path, monkeypatch):
    first = image_linux.build()
    monkeypatch.setattr(image_linux, "BUILD", tmp_path)
    again = image_linux.build()
    assert again.initrd != first.initrd
    assert again.initrd.read_bytes() == first.initrd.read_bytes()


def test_changed_init_gives_a_new_image(inputs_present, tmp_path, monkeypatch):
    first = image_linux.build()
    recipe = tmp_path / "recipe"
    recipe.mkdir()
    (recipe / "init").write_bytes((image_linux.RECIPE / "init").read_bytes() + b"# changed\n")
    monkeypatch.setattr(image_linux, "RECIPE", recipe)
    changed = image_linux.build()
    assert changed.initrd.parent != first.initrd.parent
    assert b"# changed" in changed.initrd.read_bytes()
    shutil.rmtree(changed.initrd.parent)


def test_kernel_payload_is_an_elf_with_pvh_entry(inputs_present):
    spec = image_linux.build()
    elf = spec.kernel.read_bytes()
    assert elf[:4] == b"\x7fELF"
    assert b"Xen\x00" in elf  # the PVH entry is announced in a Xen ELF note


def test_damaged_cache_is_rebuilt_and_said_so(inputs_present, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(image_linux, "BUILD", tmp_path)
    spec = image_linux.build()
    good = spec.initrd.read_bytes()
    spec.initrd.write_bytes(good[:len(good) // 2])  # truncated, manifest untouched
    assert "initramfs.cpio is" in image_linux.verify(spec.initrd.parent)
    with pytest.raises(SetupError, match="damaged"):
        image_linux.from_dir(spec.initrd.parent)
    again = image_linux.build()
    assert "is damaged (initramfs.cpio is" in capsys.readouterr().err
    assert again.initrd.read_bytes() == good
    spec.kernel.write_bytes(b"\0" * spec.kernel.stat().st_size)  # same size, other bytes
    assert "SHA-256" in image_linux.verify(spec.kernel.parent)
    image_linux.build()
    assert image_linux.verify(spec.kernel.parent) == ""


def test_interrupted_builds_leave_nothing_that_stays(inputs_present, tmp_path, monkeypatch):
    monkeypatch.setattr(image_linux, "BUILD", tmp_path)
    parent = tmp_path / "images" / "linux"
    parent.mkdir(parents=True)
    stale = parent / ".tmp-99999999-abc"   # a build killed outright (its pid is gone)
    stale.mkdir()
    (stale / "vmlinux").write_bytes(b"half")
    old_style = parent / ".tmp-xyz"        # from before build dirs carried a pid
    old_style.mkdir()

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt
    monkeypatch.setattr(image_linux, "extract_vmlinux", interrupted)
    with pytest.raises(KeyboardInterrupt):
        image_linux.build()
    assert not list(parent.glob(".tmp-*"))  # the stale ones swept, the interrupted one removed
