"""The Linux guest image: reproducible, cached by content, rebuilt when an input changes.

These run without the guest's packages: a fake guest (a bzImage-like file whose xz payload is
an ELF, a tun.ko, a busybox) stands in for the pinned files, and the image cache is a temporary
directory. harness/tests/linux/test_image_pinned.py builds the real pinned image (make test)."""

import lzma
import shutil

import pytest

from tunlab import image_linux
from tunlab.errors import SetupError

ELF = b"\x7fELF" + b"\x02\x01\x01" + b"\0" * 9 + b"Xen\x00 a fake PVH note " + bytes(range(256)) * 64


@pytest.fixture(autouse=True)
def fake_guest(tmp_path, monkeypatch):
    """The pinned guest files replaced by small fakes; images go to tmp_path/images."""
    g = tmp_path / "guest"
    g.mkdir()
    (g / "vmlinuz").write_bytes(b"MZ fake bzImage header " + lzma.compress(ELF, format=lzma.FORMAT_XZ))
    (g / "tun.ko").write_bytes(b"\x7fELF fake tun module")
    (g / "busybox").write_bytes(b"\x7fELF fake busybox")
    monkeypatch.setattr(image_linux, "guest_inputs", lambda: (
        "6.1.0-0-fake", g / "vmlinuz", g / "tun.ko", g / "busybox", {"kernel": "linux-image-fake=1"}))
    monkeypatch.setattr(image_linux, "IMAGES", tmp_path / "images" / "linux")
    return g


def test_second_build_is_a_cache_hit():
    first = image_linux.build()
    mtime = first.initrd.stat().st_mtime_ns
    second = image_linux.build()
    assert second == first
    assert second.initrd.stat().st_mtime_ns == mtime  # not rebuilt


def test_same_inputs_give_the_same_bytes(tmp_path, monkeypatch):
    first = image_linux.build()
    monkeypatch.setattr(image_linux, "IMAGES", tmp_path / "elsewhere")
    again = image_linux.build()
    assert again.initrd != first.initrd
    assert again.initrd.read_bytes() == first.initrd.read_bytes()


def test_changed_init_gives_a_new_image(tmp_path, monkeypatch):
    first = image_linux.build()
    recipe = tmp_path / "recipe"
    recipe.mkdir()
    (recipe / "init").write_bytes((image_linux.RECIPE / "init").read_bytes() + b"# changed\n")
    monkeypatch.setattr(image_linux, "RECIPE", recipe)
    changed = image_linux.build()
    assert changed.initrd.parent != first.initrd.parent
    assert b"# changed" in changed.initrd.read_bytes()
    shutil.rmtree(changed.initrd.parent)


def test_kernel_is_the_payload_of_vmlinuz_and_the_files_are_the_given_ones(fake_guest):
    spec = image_linux.build()
    assert spec.kernel.read_bytes() == ELF
    cpio = spec.initrd.read_bytes()
    for name in ("tun.ko", "busybox"):
        assert (fake_guest / name).read_bytes() in cpio
    manifest = (spec.kernel.parent / "manifest.json").read_text()
    assert '"kernel_version": "6.1.0-0-fake"' in manifest and "linux-image-fake=1" in manifest


def test_images_are_in_the_cache_not_in_build(monkeypatch):
    monkeypatch.undo()  # the module's own setting
    from tunlab.paths import BUILD, CACHE
    assert image_linux.IMAGES == CACHE / "images" / "linux"
    assert BUILD not in image_linux.IMAGES.parents


def test_a_changed_input_file_gives_a_new_image(fake_guest):
    first = image_linux.build()
    (fake_guest / "busybox").write_bytes(b"\x7fELF another busybox")
    second = image_linux.build()
    assert second.initrd.parent != first.initrd.parent
    assert b"another busybox" in second.initrd.read_bytes()


def test_a_vmlinuz_without_an_xz_payload_is_a_setup_error(fake_guest):
    (fake_guest / "vmlinuz").write_bytes(b"MZ gzip kernel \x1f\x8b")
    with pytest.raises(SetupError, match="no xz payload"):
        image_linux.build()


def test_damaged_cache_is_rebuilt_and_said_so(tmp_path, monkeypatch, capsys):
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


def test_interrupted_builds_leave_nothing_that_stays(tmp_path, monkeypatch):
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


def test_the_agent_is_built_where_the_builder_takes_it(tmp_path, monkeypatch):
    """TUNLAB_BUILD moves build/: the agent's make is told where, so the image finds it."""
    monkeypatch.setattr(image_linux, "AGENT", tmp_path / "agent" / "tunlab-agent")
    assert image_linux.build_agent() == tmp_path / "agent" / "tunlab-agent"
