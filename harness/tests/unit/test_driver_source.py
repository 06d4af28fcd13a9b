"""tunlab.driver_source: naming the driver under test, its era and features from its source."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from tunlab import driver_source as ds
from tunlab.errors import SetupError
from tunlab.paths import REPO

ERA_FIXTURES = REPO / "driver" / "tests" / "eras"

# Minimal sources with each era's markers (written for these tests).
SRC_2008 = """
static d_poll_t tunpoll;
static struct dev_ops tun_ops = { { "tun", 52, 0 }, .d_open = tunopen, .d_poll = tunpoll };
PSEUDO_SET(tunattach, if_tun);
static void tunattach(void *dummy) { dev_ops_add(&tun_ops, 0, 0); }
SYSCTL_INT(_debug, OID_AUTO, if_tun_debug, CTLFLAG_RW, &tundebug, 0, "");
"""
SRC_2010 = """
#include "use_tun.h"
PSEUDO_SET(tunattach, if_tun);
static struct dev_ops tun_ops = { { "tun", 0, 0 }, .d_kqfilter = tunkqfilter };
static void tunattach(void *dummy) {
	make_autoclone_dev(&tun_ops, &DEVFS_CLONE_BITMAP(tun), tunclone, 0, 0, 0600, "tun");
	make_dev(&tun_ops, 0, 0, 0, 0600, "tun%d", 0);
}
"""
SRC_2018 = """
/* d_poll was here once; dev_ops_add too (comments are not markers) */
static struct dev_ops tun_ops = { { "tun", 0, 0 }, .d_kqfilter = tunkqfilter };
static struct if_clone tun_cloner = IF_CLONE_INITIALIZER("tun", a, b, 0, IF_MAXUNIT);
static int tunioctl(void) { switch (cmd) { case TUNGIFNAME: break; } }
static int tunmodevent(module_t m, int type, void *d) { switch (type) { case MOD_UNLOAD: ; } }
SYSCTL_INT(_net_link_tun, OID_AUTO, debug, CTLFLAG_RW, &tundebug, 0, "");
"""


def make_driver(d: Path, src: str, mru: int = 16384) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "if_tun.c").write_text(src)
    (d / "if_tun.h").write_text(f"#define\tTUNMRU\t\t{mru}\n")
    (d / "if_tunvar.h").write_text("struct tun_softc { int tun_flags; };\n")
    return d


def test_ours_is_todays_driver_with_every_feature() -> None:
    d = ds.resolve("ours")
    assert d.is_ours and d.name == "ours"
    assert d.directory == REPO / "driver" and d.source == REPO / "driver" / "if_tun.c"
    assert d.era == 2018
    for f in ("autoclone", "if_clone", "ifgroup", "kqueue", "tungifname", "unload",
              "tunmru_65535"):
        assert d.has(f), f
    assert not d.has("poll") and not d.has("static_nodes")
    assert d.debug_sysctl == "net.link.tun.debug"
    blob = b"".join((REPO / "driver" / n).read_bytes() for n in ds.SOURCE_FILES)
    assert d.sha256 == hashlib.sha256(blob).hexdigest()
    assert d.short_hash == d.sha256[:12] and d.driver_id == f"ours:{d.short_hash}"
    assert "era 2018" in d.describe()


def test_the_id_is_the_one_the_kpi_build_compiles_in(tmp_path) -> None:
    # driver/Makefile.host writes the id it passes to the agent (-DTUNLAB_DRIVER_ID) when
    # it reads its rules; -q builds nothing
    subprocess.run(["make", "-q", "-s", "-C", str(REPO), "-f", "driver/Makefile.host",
                    f"BUILD={tmp_path}", "kpi"], capture_output=True)
    assert (tmp_path / "agent" / "driver-id").read_text().strip() == ds.resolve("ours").driver_id


@pytest.mark.parametrize("src,era,features,sysctl", [
    (SRC_2008, 2008, {"static_nodes", "poll"}, "debug.if_tun_debug"),
    (SRC_2010, 2010, {"autoclone", "premade_units", "kqueue"}, ""),
    (SRC_2018, 2018, {"if_clone", "ifgroup", "kqueue", "tungifname", "unload",
                      "tunmru_65535"}, "net.link.tun.debug"),
])
def test_era_and_features_come_from_the_source(tmp_path: Path, src: str, era: int,
                                               features: set[str], sysctl: str) -> None:
    d = ds.resolve(make_driver(tmp_path / "drv", src, 65535 if era == 2018 else 16384))
    assert d.era == era
    assert d.features == features
    assert d.debug_sysctl == sysctl


def test_a_file_its_directory_and_a_source_tree_name_the_same_driver(tmp_path: Path) -> None:
    tree = tmp_path / "dfly"
    drv = make_driver(tree / "sys" / "net" / "tun", SRC_2010)
    by_file = ds.resolve(drv / "if_tun.c")
    by_dir = ds.resolve(str(drv))
    by_tree = ds.resolve(tree)
    assert by_file.directory == by_dir.directory == by_tree.directory == drv.resolve()
    assert by_file.sha256 == by_dir.sha256 == by_tree.sha256
    assert by_tree.name == str(tree) and not by_tree.is_ours
    assert by_file.files == (drv.resolve() / "if_tun.c", drv.resolve() / "if_tun.h",
                             drv.resolve() / "if_tunvar.h")
    assert by_file.driver_id == f"src:{by_file.short_hash}"


def test_the_hash_follows_every_source_file(tmp_path: Path) -> None:
    drv = make_driver(tmp_path / "a", SRC_2010)
    before = ds.resolve(drv).sha256
    (drv / "if_tunvar.h").write_text("struct tun_softc { int tun_flags, x; };\n")
    assert ds.resolve(drv).sha256 != before


def test_a_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="no such file or directory"):
        ds.resolve(tmp_path / "nowhere")


def test_a_directory_without_if_tun_c(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SetupError, match="holds no if_tun.c"):
        ds.resolve(tmp_path / "empty")


def test_a_file_that_is_not_if_tun_c(tmp_path: Path) -> None:
    f = tmp_path / "if_tap.c"
    f.write_text("int x;\n")
    with pytest.raises(SetupError, match="must be an if_tun.c"):
        ds.resolve(f)


def test_headers_must_sit_next_to_the_driver(tmp_path: Path) -> None:
    drv = make_driver(tmp_path / "d", SRC_2010)
    (drv / "if_tunvar.h").unlink()
    with pytest.raises(SetupError, match="not if_tunvar.h"):
        ds.resolve(drv)


def test_stock_needs_a_path_on_kpi() -> None:
    with pytest.raises(SetupError, match="path of its if_tun.c"):
        ds.resolve("stock")


def test_a_feature_name_typo_is_an_error_not_an_absence() -> None:
    d = ds.resolve("ours")
    with pytest.raises(KeyError, match="unknown driver feature"):
        d.has("kqeue")
    assert d.missing(["kqueue", "poll"]) == ["poll"]


def test_build_directories_are_per_driver(tmp_path: Path) -> None:
    a = ds.resolve(make_driver(tmp_path / "a", SRC_2010))
    b = ds.resolve(make_driver(tmp_path / "b", SRC_2008))
    assert ds.build_dir(a, tmp_path) == tmp_path / f"driver-{a.short_hash}"
    assert ds.build_dir(a, tmp_path) != ds.build_dir(b, tmp_path)
    assert ds.build_dir(ds.resolve("ours"), tmp_path) == tmp_path / "driver"


def test_the_era_fixtures_are_recognised() -> None:
    assert ds.resolve(ERA_FIXTURES / "2008").era == 2008
    assert ds.resolve(ERA_FIXTURES / "2008").features >= {"static_nodes", "poll"}
    assert ds.resolve(ERA_FIXTURES / "2010").era == 2010
    assert ds.resolve(ERA_FIXTURES / "2010").features >= {"autoclone", "premade_units",
                                                          "kqueue"}


def test_era_headers_are_generated_only_when_missing(tmp_path: Path) -> None:
    drv = make_driver(tmp_path / "d", SRC_2010 + '#include "opt_ipx.h"\n#include "opt_inet.h"\n')
    gen = tmp_path / "gen"
    import subprocess
    subprocess.run(["sh", str(ds.ERA_SCRIPT), "--gen", str(gen), str(drv / "if_tun.c")],
                   check=True, capture_output=True)
    assert (gen / "use_tun.h").read_text().strip().endswith("#define NTUN 1")
    assert (gen / "opt_ipx.h").is_file()
    assert not (gen / "opt_inet.h").exists()   # the kpi has its own
    shutil.rmtree(gen)
