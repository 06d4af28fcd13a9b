"""The DragonFly image builder without the ISO: QEMU command lines, phase CDs, the qcow2 layer
chain and its cache (phases played by the stand-in console), session guests, and the front
door `make image GUEST=dragonfly` failing fast with its message."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dfly_standin import Side, factory_for, kernel_boot, live_cd_to_kernel, pfi_phase
from tunlab import image_dragonfly as img
from tunlab.dragonfly_console import PhaseFailed
from tunlab import targets
from tunlab.paths import REPO
from tunlab.runconfig import RunConfig
from tunlab.qemu import qemu_command

needs_tools = pytest.mark.skipif(not (shutil.which("qemu-img") and shutil.which("genisoimage")),
                                 reason="needs qemu-img and genisoimage: run `make deps`")


def _drives(cmd):
    return [cmd[i + 1] for i, a in enumerate(cmd) if a == "-drive"]


def test_install_phase_command_line_attaches_cds_in_a_fixed_order():
    spec = img.phase_spec(img.PHASES[0], Path("/l/disk.qcow2"), Path("/l/install.iso"), Path("/c/dfly.iso"), "tcg")
    cmd = qemu_command(spec, "tcg", Path("/r/console.sock"), Path("/r/control.sock"))
    assert "-cdrom" not in cmd and "-boot" not in cmd
    assert cmd[cmd.index("-machine") + 1] == "q35,accel=tcg"
    d = _drives(cmd)
    assert len(d) == 4
    assert d[0].startswith("file=/l/disk.qcow2,format=qcow2,media=disk,if=ide,index=0")
    assert d[1].startswith("file=/c/dfly.iso,format=raw,media=cdrom,if=ide,index=1") and "readonly=on" in d[1]
    assert d[2].startswith("file=/l/install.iso,format=raw,media=cdrom,if=ide,index=2")
    assert d[3].startswith("file=/c/dfly.iso,format=raw,media=cdrom,if=ide,index=3")  # cd2: clean copy
    assert cmd.count("-serial") == 2 and "-no-reboot" in cmd


def test_later_phases_boot_the_disk_with_their_cd_as_cd0():
    for phase in img.PHASES[1:]:
        spec = img.phase_spec(phase, Path("/l/d.qcow2"), Path(f"/l/{phase.name}.iso"), Path("/c/dfly.iso"), "tcg")
        d = _drives(qemu_command(spec, "tcg", Path("/c"), Path("/d")))
        assert len(d) == 2 and "media=disk" in d[0] and f"/l/{phase.name}.iso" in d[1] and "media=cdrom" in d[1]


def test_kvm_pins_a_named_cpu_model():
    spec = img.phase_spec(img.PHASES[1], Path("/d"), Path("/p"), Path("/i"), "kvm")
    cmd = qemu_command(spec, "kvm", Path("/c"), Path("/d"))
    assert [cmd[i + 1] for i, a in enumerate(cmd) if a == "-cpu"] == ["Nehalem,pmu=off"]
    tcg = img.phase_spec(img.PHASES[1], Path("/d"), Path("/p"), Path("/i"), "tcg")
    assert (tcg.cpu_model, tcg.cpu_features) == ("", ())  # the accelerator's default


def test_layer_keys_chain_and_react_to_their_inputs(monkeypatch):
    k1 = img.layer_key("iso:aa", img.PHASES[0])
    assert k1 == img.layer_key("iso:aa", img.PHASES[0])
    assert k1 != img.layer_key("iso:bb", img.PHASES[0])  # another ISO
    assert img.layer_key(k1, img.PHASES[1]) != img.layer_key("x", img.PHASES[1])  # another base
    other_hw = img.Hardware(disk="vbd0")
    assert img.layer_key("iso:aa", img.PHASES[0], other_hw) != k1


@needs_tools
def test_phase_iso_holds_pfi_conf_script_and_settings(tmp_path):
    iso = img.build_phase_iso(img.PHASES[2], tmp_path)
    listing = subprocess.run(["isoinfo", "-R", "-f", "-i", str(iso)], capture_output=True, text=True).stdout
    names = set(listing.split())
    assert {"/pfi.conf", "/phase3-configure.sh", "/phase.conf", "/common.sh", "/tunlab.rc",
            "/tunlab-session.sh", "/agent/agent.c"} <= names
    pfi = subprocess.run(["isoinfo", "-R", "-i", str(iso), "-x", "/pfi.conf"], capture_output=True, text=True).stdout
    assert 'pfi_script="phase3-configure.sh"' in pfi
    conf = subprocess.run(["isoinfo", "-R", "-i", str(iso), "-x", "/phase.conf"], capture_output=True, text=True).stdout
    assert 'PHASE="configure"' in conf and 'TUNLAB_DISK="da0"' in conf and "@" not in conf


def _scripts(fail_phase=None, calls=None):
    def phase(name):
        def play(side: Side) -> int:
            if calls is not None:
                calls.append(name)
            if name == "install":
                status = live_cd_to_kernel(side)
                if status is not None:
                    return status
            else:
                kernel_boot(side)
            if name == fail_phase:
                side.lines("TUNLAB-OUTPUT-BEGIN nativekernel", "cc: error: oops", "TUNLAB-OUTPUT-END nativekernel",
                           f"TUNLAB-PHASE-FAILED {name} step=nativekernel rc=1")
                return 0
            pfi_phase(side, name)
            return 0
        return play
    return {p.name: phase(p.name) for p in img.PHASES}


@pytest.fixture
def layers(tmp_path, monkeypatch):
    monkeypatch.setattr(img, "LAYERS", tmp_path / "layers")
    monkeypatch.setattr(img, "IMAGES", tmp_path / "images")
    # Fast timeouts for the stand-in.
    monkeypatch.setattr(img, "scale", lambda accel: 0.01)
    dfly = tmp_path / "dfly.iso"
    dfly.write_bytes(b"\0" * 4096)
    return dfly


@needs_tools
def test_layers_are_built_once_and_chained(layers):
    calls = []
    chain = img.build_layers(layers, "ab" * 32, "tcg", factory=factory_for(_scripts(calls=calls)), log=lambda m: None)
    assert calls == ["install", "kernel", "configure"]
    assert [c["phase"] for c in chain] == ["install", "kernel", "configure"]
    final = Path(chain[-1]["dir"]) / "disk.qcow2"
    info = json.loads(subprocess.run(["qemu-img", "info", "--backing-chain", "--output=json", str(final)],
                                     capture_output=True, text=True, check=True).stdout)
    assert [Path(i["filename"]).parent.name.split("-")[0] for i in info] == ["configure", "kernel", "install"]
    assert all(i["format"] == "qcow2" for i in info)
    for c in chain:
        meta = json.loads((Path(c["dir"]) / "phase.json").read_text())
        assert meta["key"] == c["key"] and (Path(c["dir"]) / "run" / "console.log").exists()
    # Everything cached: no VM is started again.
    calls.clear()
    again = img.build_layers(layers, "ab" * 32, "tcg", factory=factory_for(_scripts(calls=calls)), log=lambda m: None)
    assert calls == [] and again == chain


@needs_tools
def test_a_failed_phase_reruns_alone(layers):
    calls = []
    with pytest.raises(PhaseFailed) as e:
        img.build_layers(layers, "cd" * 32, "tcg", factory=factory_for(_scripts("kernel", calls)), log=lambda m: None)
    assert calls == ["install", "kernel"] and e.value.kind == "script"
    assert "cc: error: oops" in str(e.value) and "kept for inspection" in str(e.value)
    assert not list(img.LAYERS.glob(".tmp-*"))  # the failed attempt is kept under failed-*, not as a layer
    assert list(img.LAYERS.glob("failed-kernel-*/run/console.log"))
    calls.clear()
    img.build_layers(layers, "cd" * 32, "tcg", factory=factory_for(_scripts(calls=calls)), log=lambda m: None)
    assert calls == ["kernel", "configure"]  # install came from the cache


@needs_tools
def test_a_hung_phase_is_retried_once(layers, monkeypatch):
    monkeypatch.setattr(img, "scale", lambda accel: 0.002)
    calls = []

    def hang(side: Side) -> int:
        calls.append("install")
        time.sleep(30)
        return 0
    with pytest.raises(PhaseFailed) as e:
        img.build_layers(layers, "ef" * 32, "tcg", factory=factory_for({"install": hang}), log=lambda m: None)
    assert calls == ["install", "install"] and e.value.kind == "timeout"
    assert "loader menu" in str(e.value)
    assert not list(img.LAYERS.glob(".tmp-*"))
    assert len(list(img.LAYERS.glob("failed-install-*/run/console.log"))) == 2  # both attempts' logs


def _fake_image(tmp_path: Path) -> tuple[Path, Path]:
    """An image directory as the builder makes it (manifest + a disk layer): (image, layer)."""
    image = tmp_path / "images" / "6.4.2-0123"
    layer = tmp_path / "images" / "layers" / "configure-0123"
    layer.mkdir(parents=True)
    image.mkdir(parents=True)
    img.qemu_img_create(layer / "disk.qcow2", None, "1G")
    (image / "manifest.json").write_text(json.dumps({
        "release": "6.4.2", "disk": os.path.relpath(layer / "disk.qcow2", image),
        "hardware": json.loads(json.dumps(img.asdict(img.HW))), "recipe": img.recipe_hash()}))
    return image, layer


@needs_tools
def test_session_guest_is_an_overlay_plus_the_sources_cd(tmp_path, monkeypatch):
    image, layer = _fake_image(tmp_path)
    monkeypatch.setattr(img, "IMAGES", tmp_path / "images")
    assert img.find_image("6.4.2") == image
    assert img.find_image("6.4.0") is None
    spec = img.session_spec(image, tmp_path / "session", "tcg", REPO / "driver", "ours:0123456789ab")
    assert spec.target == "dragonfly" and spec.machine == "q35"
    disk, cd = spec.drives
    assert disk.fmt == "qcow2" and disk.media == "disk" and cd.media == "cdrom" and cd.readonly
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(disk.path)],
                                     capture_output=True, text=True, check=True).stdout)
    assert Path(info["full-backing-filename"]).resolve() == (layer / "disk.qcow2").resolve()
    listing = subprocess.run(["isoinfo", "-R", "-f", "-i", str(cd.path)], capture_output=True, text=True).stdout.split()
    assert "/tunlab-session.conf" in listing and "/agent/agent.c" in listing
    assert not [n for n in listing if n.startswith("/driver/kpi") or n.startswith("/driver/tests")]
    conf = subprocess.run(["isoinfo", "-R", "-i", str(cd.path), "-x", "/tunlab-session.conf"],
                          capture_output=True, text=True).stdout
    assert "driver=ours" in conf and "driver_id=ours:0123456789ab" in conf and "sources_hash=" in conf
    cmd = qemu_command(spec, "tcg", Path("/c"), Path("/d"))
    assert "-cdrom" not in cmd and len(_drives(cmd)) == 2


def test_no_image_means_a_reason_with_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(img, "IMAGES", tmp_path / "none")
    why = img.unavailable_reason()
    assert "make image GUEST=dragonfly" in why and "ISO=/path/to/dfly-x86_64-6.4.2_REL.iso" in why


def _env(tmp_path):
    s = __import__("socket").socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    # TUNLAB_SKIP_DEPS: `make image` would install the VM tier, which make check does not use
    env = dict(os.environ, TUNLAB_BUILD=str(tmp_path / "build"), TUNLAB_CACHE=str(tmp_path / "cache"),
               TUNLAB_SKIP_DEPS="1", PYTHONPATH=str(REPO / "harness"),
               TUNLAB_DRAGONFLY_MIRROR=f"http://127.0.0.1:{port}/iso-images/")
    for k in ("ISO", "RELEASE", "TRUST_FIRST_USE", "TUNLAB_TRUST_FIRST_USE", "TUNLAB_DRAGONFLY_ISO"):
        env.pop(k, None)
    return env


def test_cli_image_dragonfly_fails_fast_with_the_message(tmp_path):
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "tunlab", "image", "--target", "dragonfly"], capture_output=True,
                         text=True, env=_env(tmp_path), timeout=60, cwd=REPO)
    assert time.monotonic() - t0 < 15
    assert res.returncode == 1
    assert "the DragonFly 6.4.2 ISO is needed" in res.stderr
    assert "ISO=/path/to/dfly-x86_64-6.4.2_REL.iso" in res.stderr and "failed after" in res.stderr


def test_cli_refuses_an_unverifiable_iso(tmp_path):
    fake = tmp_path / "dfly-x86_64-6.4.2_REL.iso"
    fake.write_bytes(b"not really DragonFly")
    res = subprocess.run([sys.executable, "-m", "tunlab", "image", "--target", "dragonfly", "--iso", str(fake)],
                         capture_output=True, text=True, env=_env(tmp_path), timeout=60, cwd=REPO)
    assert res.returncode == 1 and "cannot be verified" in res.stderr and "TRUST_FIRST_USE=1" in res.stderr


@pytest.mark.skipif(not shutil.which("make"), reason="needs make")
def test_make_image_guest_dragonfly_fails_within_seconds(tmp_path):
    t0 = time.monotonic()
    res = subprocess.run(["make", "-s", "image", "GUEST=dragonfly"], capture_output=True, text=True,
                         env=_env(tmp_path), timeout=120, cwd=REPO)
    took = time.monotonic() - t0
    assert res.returncode != 0
    assert "the DragonFly 6.4.2 ISO is needed" in res.stderr, res.stdout + res.stderr
    assert took < 60


def test_ci_pipeline_builds_once_and_caches_by_inputs():
    text = (REPO / "ci" / "github-actions-dragonfly.yml").read_text()
    import yaml  # python3-yaml: make deps-kpi installs it
    doc = yaml.safe_load(text)
    steps = doc["jobs"]["dragonfly"]["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "make image GUEST=dragonfly" in runs and "--target dragonfly" in runs
    image_cache = next(s for s in steps if s.get("id") == "image")
    assert "guest-image/dragonfly/**" in image_cache["with"]["key"]
    build = next(s for s in steps if "make image" in s.get("run", ""))
    assert build["if"] == "steps.image.outputs.cache-hit != 'true'"


# -- the run configuration reaches the session (targets/dragonfly.py) -------------------------
def _iso_file(iso: Path, name: str) -> str:
    return subprocess.run(["isoinfo", "-R", "-i", str(iso), "-x", name], capture_output=True,
                          text=True, check=True).stdout


def _iso_listing(iso: Path) -> list[str]:
    return subprocess.run(["isoinfo", "-R", "-f", "-i", str(iso)], capture_output=True, text=True,
                          check=True).stdout.split()


@needs_tools
def test_driver_stock_and_accel_tcg_reach_the_dragonfly_session(tmp_path, monkeypatch):
    monkeypatch.setattr("tunlab.targets.dragonfly.BUILD", tmp_path / "build")
    image, _ = _fake_image(tmp_path)
    plan = targets.plan(RunConfig(target="dragonfly", driver="stock", accel="tcg", image=image))
    assert plan.accel == "tcg" and plan.backend == "qemu" and plan.column == "dragonfly/stock"
    assert (plan.spec.cpu_model, plan.spec.cpu_features) == ("", ())  # TCG: the accelerator's default
    assert plan.spec.driver == "stock:"
    cd = plan.spec.drives[1].path
    conf = _iso_file(cd, "/tunlab-session.conf")
    assert "driver=stock\n" in conf and "driver_id=stock:\n" in conf
    assert not [n for n in _iso_listing(cd) if n.startswith("/driver/")]  # nothing to build


@needs_tools
def test_driver_ours_and_kvm_give_our_sources_and_the_kvm_cpu(tmp_path, monkeypatch):
    monkeypatch.setattr("tunlab.targets.dragonfly.BUILD", tmp_path / "build")
    image, _ = _fake_image(tmp_path)
    cfg = RunConfig(target="dragonfly", driver="ours", accel="kvm", image=image)
    target = targets.get("dragonfly")
    spec = target.guest_spec(cfg, "kvm")  # plan() would refuse kvm where /dev/kvm is unusable
    assert ",".join((spec.cpu_model,) + spec.cpu_features) == img.HW.kvm_cpu
    cd = spec.drives[1].path
    want = target.expected_driver(cfg)
    assert want.startswith("ours:") and len(want) == len("ours:") + 12
    assert f"driver=ours\ndriver_id={want}\n" in _iso_file(cd, "/tunlab-session.conf")
    assert _iso_file(cd, "/driver/if_tun.c") == (REPO / "driver" / "if_tun.c").read_text()
    assert "/driver/Makefile" in _iso_listing(cd)
