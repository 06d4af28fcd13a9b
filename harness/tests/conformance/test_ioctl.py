"""TUN-SPEC.md, Device ioctls: I1-I11."""

import pytest

from tunlab.errors import AgentError

from tunlab.bsd_instruments import (IF_MAXMTU, IF_MINMTU, IFF_BROADCAST, IFF_MULTICAST, IFF_POINTOPOINT, IFF_UP,
                 IFT_PPP, IO_T_99, IOWR_T_120, SIOCGIFMTU, TUNMTU, UDP_OVERHEAD, drain,
                 expect_error, wait_for)

pytestmark = pytest.mark.tun_api("bsd")

MODES = IFF_POINTOPOINT | IFF_BROADCAST | IFF_MULTICAST


def tuninfo(dev) -> tuple[int, int, int]:
    r = dev.ioctl("TUNGIFINFO")
    return r.int("mtu"), r.int("type"), r.int("baudrate")


@pytest.mark.row("I1")
def test_I1_tungifinfo_of_a_new_unit(k):
    dev = k.open()
    assert tuninfo(dev) == (TUNMTU, IFT_PPP, 0)


@pytest.mark.row("I2")
def test_I2_tunsifinfo_type_change_eprototype_small_mtu_einval_else_sets(k):
    dev = k.open()
    expect_error("EPROTOTYPE", dev.ioctl, "TUNSIFINFO", mtu=1400, type=0x06, baudrate=0)
    expect_error("EINVAL", dev.ioctl, "TUNSIFINFO", mtu=IF_MINMTU - 1, type=IFT_PPP, baudrate=0)
    dev.ioctl("TUNSIFINFO", mtu=IF_MINMTU, type=IFT_PPP, baudrate=9600)
    assert tuninfo(dev) == (IF_MINMTU, IFT_PPP, 9600)
    assert k.ifinfo(dev.ifname).int("mtu") == IF_MINMTU, "SIOCGIFMTU does not show the new mtu"


@pytest.mark.row("I3")
def test_I3_siocsifmtu_outside_72_65535_is_einval(k):
    dev = k.open()
    for bad in (IF_MINMTU - 1, 0, -1, IF_MAXMTU + 1):
        expect_error("EINVAL", k.req, "ioctl", ifname=dev.ifname, req="SIOCSIFMTU", value=bad)
    for good in (IF_MINMTU, 9000, IF_MAXMTU):
        k.req("ioctl", ifname=dev.ifname, req="SIOCSIFMTU", value=good)
        assert k.req("ioctl", ifname=dev.ifname, req="SIOCGIFMTU").int("value") == good


@pytest.mark.row("I4")
def test_I4_tunsifmode_values_exact_flags_and_ebusy_while_up(k):
    dev = k.open()
    for bad in (0, IFF_MULTICAST, IFF_UP, IFF_POINTOPOINT | IFF_BROADCAST, IFF_POINTOPOINT | 0x1):
        expect_error("EINVAL", dev.ioctl, "TUNSIFMODE", value=bad)
    for good in (IFF_BROADCAST, IFF_POINTOPOINT, IFF_BROADCAST | IFF_MULTICAST,
                 IFF_POINTOPOINT | IFF_MULTICAST):
        dev.ioctl("TUNSIFMODE", value=good)
        got = k.flags(dev.ifname) & MODES
        assert got == good, f"TUNSIFMODE {good:#x}: interface has {got:#x} of the three flags"
    k.ifconfig(dev.ifname, up=1)
    expect_error("EBUSY", dev.ioctl, "TUNSIFMODE", value=IFF_POINTOPOINT)
    k.ifconfig(dev.ifname, up=0)
    dev.ioctl("TUNSIFMODE", value=IFF_POINTOPOINT)
    assert k.flags(dev.ifname) & MODES == IFF_POINTOPOINT


@pytest.mark.row("I5")
def test_I5_lmode_and_header_mode_exclude_each_other(k, dev):
    assert dev.ioctl("TUNGIFHEAD").int("value") == 0
    dev.ioctl("TUNSIFHEAD", value=1)
    assert dev.ioctl("TUNGIFHEAD").int("value") == 1
    dev.ioctl("TUNSLMODE", value=1)
    assert dev.ioctl("TUNGIFHEAD").int("value") == 0, "TUNSLMODE did not clear header mode"
    ip_len = UDP_OVERHEAD + 72
    k.send_ok(size=72)
    got = dev.read()
    assert len(got) == 16 + ip_len and got[0] == 16 and got[1] == 2, \
        f"link-layer mode: want a 16-byte sockaddr_in first, got {got[:20].hex()}"
    dev.ioctl("TUNSIFHEAD", value=1)
    assert dev.ioctl("TUNGIFHEAD").int("value") == 1
    k.send_ok(size=72)
    assert len(dev.read()) == 4 + ip_len, "TUNSIFHEAD did not clear link-layer mode"
    dev.ioctl("TUNSIFHEAD", value=0)
    k.send_ok(size=72)
    assert len(dev.read()) == ip_len


@pytest.mark.row("I6")
def test_I6_tunsdebug_tungdebug_and_the_sysctl(k):
    dev = k.open()
    try:
        dev.ioctl("TUNSDEBUG", value=3)
        assert dev.ioctl("TUNGDEBUG").int("value") == 3
        assert k.sysctl("net.link.tun.debug") == 3
        k.sysctl("net.link.tun.debug", 0)
        assert dev.ioctl("TUNGDEBUG").int("value") == 0
    finally:
        dev.ioctl("TUNSDEBUG", value=0)


@pytest.mark.row("I7")
def test_I7_open_records_the_pid_tunsifpid_names_the_caller_close_clears_it(k):
    name = k.unit()
    pid = k.proc().int("pid")
    dev = k.open(name=name)
    status = k.status(name)
    assert f"\tOpened by PID {pid}\n" in status, f"status after open: {status!r}"
    dev.ioctl("TUNSIFPID")
    status = k.status(name)
    assert f"\tOpened by PID {pid}\n" in status, f"status after TUNSIFPID: {status!r}"
    dev.close()
    if not k.exists(name):
        return  # the close destroyed the unit (L4's row), and the pid with it
    assert "Opened by PID" not in k.status(name), "the pid outlived the close"


@pytest.mark.row("I8")
def test_I8_fionread_is_the_next_reads_length_in_every_mode(k, dev):
    def fionread() -> int:
        return dev.ioctl("FIONREAD").int("value")

    assert fionread() == 0
    k.send_ok(size=300 - UDP_OVERHEAD)
    k.send_ok(size=100 - UDP_OVERHEAD)
    assert fionread() == 300
    assert len(dev.read()) == 300
    assert fionread() == 100
    assert len(dev.read()) == 100
    assert fionread() == 0
    dev.ioctl("TUNSIFHEAD", value=1)
    k.send_ok(size=200 - UDP_OVERHEAD)
    assert fionread() == 204
    assert len(dev.read()) == 204
    dev.ioctl("TUNSLMODE", value=1)
    k.send_ok(size=200 - UDP_OVERHEAD)
    assert fionread() == 216
    assert len(dev.read()) == 216


@pytest.mark.row("I9")
def test_I9_sigio_to_the_owner_per_packet_and_the_pgrp_forms(k, dev):
    proc = k.proc()
    pid, pgrp = proc.int("pid"), proc.int("pgrp")

    def sigio() -> int:
        return k.proc().int("sigio")

    def expect_sigio(n: int, what: str) -> None:
        # on a real kernel the signal arrives on the agent's way back to user mode
        wait_for(lambda: sigio() >= n, timeout=2.0)
        got = sigio()
        assert got == n, f"{what}: {got - base} SIGIO, want {n - base}"

    dev.ioctl("FIOASYNC", value=1)
    dev.ioctl("FIOSETOWN", value=pid)
    assert dev.ioctl("FIOGETOWN").int("value") == pid
    base = sigio()
    k.send_ok(count=2)
    expect_sigio(base + 2, "two packets queued, owner pid")
    # TIOCSPGRP/TIOCGPGRP are the negated forms
    dev.ioctl("TIOCSPGRP", value=pgrp)
    assert dev.ioctl("FIOGETOWN").int("value") == -pgrp
    assert dev.ioctl("TIOCGPGRP").int("value") == pgrp
    k.send_ok()
    expect_sigio(base + 3, "one packet queued, owner process group")
    expect_error("ESRCH", dev.ioctl, "FIOSETOWN", value=1 << 30)
    # INT_MIN has no negation: the driver must refuse or accept it without undefined
    # behaviour (a sanitizer build reports it as a crash, which fails the test)
    try:
        dev.ioctl("TIOCSPGRP", value=-2**31)
    except AgentError:
        pass
    dev.ioctl("FIOASYNC", value=0)
    k.send_ok()
    expect_sigio(base + 3, "FIOASYNC 0")
    drain(dev)


@pytest.mark.row("I10")
def test_I10_tungifname_copies_the_interface_name(k):
    a = k.open()
    b = k.open()
    assert a.ioctl("TUNGIFNAME").text("name") == a.ifname
    assert b.ioctl("TUNGIFNAME").text("name") == b.ifname
    assert a.ifname != b.ifname


@pytest.mark.row("I11")
def test_I11_other_ioctls_enotty_and_fionbio_makes_reads_nonblocking(k, dev):
    for req in (IOWR_T_120, IO_T_99, SIOCGIFMTU):
        expect_error("ENOTTY", k.ioctl, dev, req)
    dev.ioctl("FIONBIO", value=1)
    expect_error("EAGAIN", dev.read, wait_ms=None)
    dev.ioctl("FIONBIO", value=0)
