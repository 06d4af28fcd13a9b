"""TUN-SPEC.md, Lifecycle: L1-L8 (cloning, permissions, unit numbers, ifconfig create and
destroy, rename, module unload, races)."""

import pytest

from tunlab.bsd_instruments import DIALER, DRIVER_OBJECTS, UUCP, env_int, expect_error

pytestmark = pytest.mark.tun_api("bsd")


def unit(name: str) -> int:
    assert name.startswith("tun") and name[3:].isdigit(), f"{name!r} is not a tunN name"
    return int(name[3:])


@pytest.mark.row("L1")
def test_L1_dev_tun_clones_the_lowest_free_unit_node_and_interface(k):
    assert k.stat("/dev/tun") == (UUCP, DIALER, 0o600), "/dev/tun: want uucp:dialer 0600"
    a = k.open()
    b = k.open()
    assert unit(a.ifname) < unit(b.ifname)
    assert k.stat(f"/dev/{a.ifname}") == (UUCP, DIALER, 0o600)
    for dev in (a, b):
        info = k.ifinfo(dev.ifname)
        assert "tun" in info.fields.get("groups", "").split(","), \
            f"{dev.ifname} is not in the tun interface group: {info.line}"
    # the lowest free unit: none below a's was free (a unit that exists is not)
    assert all(k.exists(f"tun{n}") for n in range(unit(a.ifname))), \
        f"{a.ifname} was made while a lower unit was free"


@pytest.mark.row("L2")
def test_L2_open_as_non_root_is_eperm_and_leaves_no_unit(k):
    # Open as the node's owner, so that only the driver's root check can refuse the open
    # (/dev/tun is uucp's; before devfs, the static /dev/tunN were root's: no user but
    # root gets past the node to the driver).
    uid, gid, _ = k.stat("/dev/tun" if k.has("autoclone") else "/dev/tun0")
    if uid == 0:
        pytest.skip("n/a: the node is root's, so the driver's own root check cannot be "
                    "reached by another user (a node access check refuses first: EACCES)")
    before = k.kstat()
    expect_error("EPERM", k.open, uid=uid, gid=gid)
    assert k.proc().int("uid") == 0, "the agent did not return to root"
    after = k.kstat()
    assert after["ifnets"] == before["ifnets"], "the refused open left an interface"
    # (malloc_inuse is left out: the kpi's setuid gives the process a credential of its own)
    k.assert_no_growth(before, after, keys=DRIVER_OBJECTS, what="refused open")


@pytest.mark.row("L2", stock="same")
def test_L2_second_open_of_an_open_unit_is_ebusy(k):
    a = k.open()
    expect_error("EBUSY", k.open, name=a.ifname)
    assert a.ioctl("TUNGIFHEAD").int("value") == 0, "the first open no longer works"


@pytest.mark.row("L3")
def test_L3_close_frees_the_unit_1000_opens_give_the_same_unit(k):
    names = set()
    first = None
    for i in range(1000):
        dev = k.open()
        names.add(dev.ifname)
        dev.close()
        if i == 0:
            first = k.kstat()
    assert len(names) == 1, \
        f"1000 open/close cycles used {len(names)} units: {', '.join(sorted(names, key=unit)[:5])}, ..."
    k.assert_no_growth(first, k.kstat(), what="1000 open/close cycles")
    name = names.pop()
    assert not k.exists(name), f"{name} outlived its last close"
    # the unit is free for ifconfig too (the if_clone bit was released)
    assert k.create(name) == name
    k.destroy(name)


@pytest.mark.row("L4")
def test_L4_ifconfig_create_persists_across_open_close_until_destroy(k):
    name = k.create()
    for _ in range(2):
        dev = k.open(name=name)
        dev.close()
        assert k.exists(name), f"{name} (ifconfig create) went away at close"
    k.destroy(name)
    assert not k.exists(name)


@pytest.mark.row("L4", stock="same")  # if_clone's part of the row, not the driver's
def test_L4_duplicate_create_is_eexist_and_wildcard_creates_still_work(k):
    n0 = k.create()
    expect_error("EEXIST", k.create, n0)
    n1 = k.create()
    n2 = k.create()
    assert len({n0, n1, n2}) == 3, f"wildcard creates gave {n0}, {n1}, {n2}"
    # /dev/tun skips every unit ifconfig holds, and ifconfig cannot take its unit
    dev = k.open()
    assert dev.ifname not in (n0, n1, n2)
    expect_error("EEXIST", k.create, dev.ifname)
    dev.close()
    for n in (n2, n1, n0):
        k.destroy(n)
    # the bitmap is intact: the first unit is free again
    assert k.create(n0) == n0
    k.destroy(n0)


@pytest.mark.row("L5")
def test_L5_destroy_while_open_is_ebusy(k):
    a = k.open()
    expect_error("EBUSY", k.destroy, a.ifname)
    a.close()
    name = k.create()
    dev = k.open(name=name)
    expect_error("EBUSY", k.destroy, name)
    dev.close()  # (whether the unit outlives its close is L4's row; cleanup destroys it)
    expect_error("ENXIO", k.destroy, "tun31999")


@pytest.mark.row("L5")
def test_L5_destroy_of_a_unit_not_made_by_cloning_is_einval(k):
    pytest.skip("our driver makes every unit through if_clone (an open of /dev/tun too), so "
                "a unit not made by cloning cannot exist (driver/KPI-NOTES.md 4); the EBUSY "
                "case of L5 is tested")


@pytest.mark.row("L6")
def test_L6_rename_follows_in_tungifname_and_close_destroys_the_renamed_unit(k):
    a = k.open()
    old = a.ifname
    k.rename(old, "tlren0")
    assert a.ioctl("TUNGIFNAME").text("name") == "tlren0"
    assert k.exists("tlren0") and not k.exists(old)
    a.close()
    assert not k.exists("tlren0"), "the renamed autocloned unit outlived its close"
    # the unit number is free under both bitmaps
    b = k.open()
    assert b.ifname == old
    b.close()
    assert k.create(old) == old
    k.destroy(old)


@pytest.mark.row("L7")
def test_L7_unload_is_ebusy_while_open_else_destroys_every_unit(k):
    a = k.open()
    made = k.create()
    try:
        k.unload()
        pytest.fail("kldunload with an open unit succeeded")
    except Exception as e:  # AgentError
        name = getattr(e, "name", "")
        if name in ("ENOENT", "EOPNOTSUPP"):
            pytest.skip(f"if_tun is not a loadable module here: {e}")
        assert name == "EBUSY", f"unload with an open unit: want EBUSY, got {e}"
    assert k.exists(a.ifname)
    a.close()
    k.unload()
    assert not k.exists(made), "unload left an ifconfig-created unit"
    k.created.remove(made)
    expect_error("ENOENT", k.open)
    k.load()
    b = k.open()
    assert b.ioctl("TUNGIFINFO").int("mtu") == 1500


def _race(k, kind: str) -> None:
    # TUN-SPEC: two threads for 10 s; the kpi run takes TUNLAB_RACE_SECONDS (default 2)
    seconds = env_int("TUNLAB_RACE_SECONDS", 2 if k.emulated else 10)
    before = k.kstat()
    r = k.agent.request("race", kind=kind, ms=seconds * 1000,
                        timeout=k.agent.default_timeout + seconds + 30)
    assert r.int("creates") > 0 and r.int("destroys") > 0, f"the race did not race: {r.line}"
    assert r.int("left") == 0, f"units left after the race: {r.line}"
    k.agent.request("nop")
    k.assert_no_growth(before, k.kstat(), what=f"{kind} race")


@pytest.mark.row("L8")
@pytest.mark.vcpus(2)  # a race: two vCPUs on a VM (conftest.py)
def test_L8_create_destroy_race_ends_without_panic_or_leak(k):
    _race(k, "create_destroy")


@pytest.mark.row("L8")
@pytest.mark.vcpus(2)  # a race: two vCPUs on a VM (conftest.py)
def test_L8_up_destroy_race_ends_without_panic_or_leak(k):
    _race(k, "up_destroy")
