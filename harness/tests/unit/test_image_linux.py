"""The Linux guest image: reproducible, cached by content, rebuilt when an input changes."""

import shutil

import pytest

from tunlab import image_linux
from tunlab.errors import SetupError


@pytest.fixture
def inputs_present():
    try:
        image_linux.find_kernel()
    except SetupError as e:
        pytest.skip(str(e))
    if not image_linux.BUSYBOX.exists():
        pytest.skip(f"{image_linux.BUSYBOX} missing: run `make deps`")


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
