/*
 * backend_bsd.c - the DragonFly tun backend: /dev/tun and /dev/tunN, TUNSIFHEAD for the
 * 4-byte family header, interface configuration with socket ioctls (SIOCAIFADDR,
 * SIOCAIFADDR_IN6, SIOCSIFFLAGS, SIOCIFCREATE2, ...), kqueue-backed poll(2), bpf.
 *
 * Written once against bsd_sys.h: on DragonFly that is libc; built with -DTUNLAB_KPI it
 * is the driver/kpi emulation, where this very code drives the unmodified
 * driver/if_tun.c inside the agent process (be_name() "kpi").  The few places where the
 * two differ (booting the kpi, interface counters, the bpf listener, power) are marked.
 */
#include "bsd_sys.h"	/* first: on DragonFly it defines _KERNEL_STRUCTURES (struct mbstat) */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "backend.h"
#include "threads.h"

#define TUN_AUTOCLONE	"/dev/tun"
#define MAX_DEV_FDS	1024

/* The effective uid the backend runs as now (0, but for the moment of an open uid=). */
static unsigned long cur_uid;

#if !BSD_SYS_KPI
/* SIGIO signals the agent process received (FIOASYNC + FIOSETOWN on a device). */
static volatile sig_atomic_t sigio_count;

static void
on_sigio(int sig)
{
	(void)sig;
	sigio_count++;
}

/* The signal be_thread_interrupt() sends: caught, without SA_RESTART, so a blocking
 * read(2) of that thread fails with EINTR. */
static void
on_interrupt(int sig)
{
	(void)sig;
}
#endif

/* What the backend knows about each open device. */
static struct {
	uint8_t open;
	uint8_t lmode;		/* TUNSLMODE set through be_ioctl */
	uint8_t created;	/* made by SIOCIFCREATE2 for this open: destroy at close */
	char ifname[BE_IFNAMSIZ];
} devs[MAX_DEV_FDS];

static int
dev_ok(int fd)
{
	return fd >= 0 && fd < MAX_DEV_FDS;
}

const char *
be_name(void)
{
	return BSD_SYS_KPI ? "kpi" : "bsd";
}

int
be_init(void)
{
#if BSD_SYS_KPI
	if (kpi_boot(NULL) < 0) {
		agent_errmsg("kpi_boot");
		return errno;
	}
	if (kpi_kldload("if_tun") < 0) {
		agent_errmsg("kldload if_tun");
		return errno;
	}
	agent_log("kpi: DragonFly kernel interfaces emulated in-process, if_tun loaded");
#else
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_sigio;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGIO, &sa, NULL) < 0) {
		agent_errmsg("sigaction SIGIO");
		return errno;
	}
	sa.sa_handler = on_interrupt;
	sa.sa_flags = 0;
	if (sigaction(BE_INTERRUPT_SIGNAL, &sa, NULL) < 0) {
		agent_errmsg("sigaction for thread interrupts");
		return errno;
	}
#endif
	return 0;
}

int
be_poweroff(void)
{
#if BSD_SYS_KPI
	return EOPNOTSUPP;	/* no machine to stop */
#else
	/* Straight to the kernel, as halt -p does: shutdown(8) would run rc.shutdown and
	 * could outlast the harness's power-off bound.  ACPI powers off for RB_POWEROFF;
	 * RB_HALT keeps a machine without ACPI from rebooting instead. */
	sync();
	reboot(RB_HALT | RB_POWEROFF);
	return errno;
#endif
}

int
be_panic(void)
{
#if BSD_SYS_KPI
	abort();	/* a kpi panic stops the process, as a real one stops the machine */
#else
	int one = 1;

	/* DragonFly has no kdb(4): ddb's debug.panic (sys/ddb/db_sysctl.c, options DDB as in
	 * X86_64_GENERIC) panics on a write of 1.  FreeBSD's name is debug.kdb.panic. */
	sync();
	if (sysctlbyname("debug.panic", NULL, NULL, &one, sizeof(one)) < 0) {
		agent_errmsg("sysctl debug.panic");
		return errno;
	}
	return EIO;
#endif
}

/* ---- sockets for interface ioctls ---- */

static int
sock_ioctl(int family, unsigned long req, void *arg, const char *what)
{
	int s = kpi_socket(family, KPI_SOCK_DGRAM, 0), err = 0;

	if (s < 0) {
		agent_errmsg("socket for %s", what);
		return errno;
	}
	if (kpi_ioctl(s, req, arg) < 0) {
		err = errno;
		agent_errmsg("%s", what);
	}
	kpi_close(s);
	return err;
}

static void
set_ifr_name(struct kpi_ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	if (name)
		snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
}

/* ---- the device ---- */

/* Takes on (to=1) or gives up (to=0) the credentials of an open uid=. */
static int
as_user(int to, unsigned uid, unsigned gid)
{
#if BSD_SYS_KPI
	if (kpi_setuid(to ? uid : 0, to ? gid : 0) < 0)
		return errno;
#else
	if (to) {
		if (setegid((gid_t)gid) < 0)
			return errno;
		if (seteuid((uid_t)uid) < 0) {
			int err = errno;

			(void)setegid(0);
			return err;
		}
	} else {
		if (seteuid(0) < 0 || setegid(0) < 0)
			return errno;
	}
#endif
	cur_uid = to ? uid : 0;
	return 0;
}

static int open_dev(const struct be_open_opts *o, int *fd, char ifname[BE_IFNAMSIZ]);

int
be_open(const struct be_open_opts *o, int *fd, char ifname[BE_IFNAMSIZ])
{
	int err, err2;

	if (!o->as_user)
		return open_dev(o, fd, ifname);
	if ((err = as_user(1, o->uid, o->gid))) {
		agent_errmsg("uid=%u gid=%u: could not take them on", o->uid, o->gid);
		return err;
	}
	err = open_dev(o, fd, ifname);
	if ((err2 = as_user(0, 0, 0))) {
		agent_log("open uid=%u: could not return to root: errno %d", o->uid, err2);
		if (!err) {
			be_close(*fd);
			agent_errmsg("could not return to root after the open");
			err = err2;
		}
	}
	return err;
}

/* How many /dev/tunN a driver without /dev/tun offers (MAKEDEV's tun0..tun3) at least. */
#define STATIC_UNITS	4

/*
 * A driver without the /dev/tun autoclone (TUN-SPEC's 2008 column): open /dev/tun0, tun1, ...
 * in turn as programs of the time did, skipping units already open (EBUSY), up to the first
 * node that does not exist.
 */
static int
open_static(int flags, int *fd, char name[KPI_IFNAMSIZ])
{
	char path[32];
	int d, unit, err = ENOENT;

	for (unit = 0; unit < 256; unit++) {
		snprintf(path, sizeof(path), "/dev/tun%d", unit);
		d = kpi_open(path, flags);
		if (d >= 0) {
			snprintf(name, KPI_IFNAMSIZ, "tun%d", unit);
			*fd = d;
			return 0;
		}
		if (errno == ENOENT && unit >= STATIC_UNITS)
			break;
		if (errno != ENOENT && errno != EBUSY) {
			err = errno;
			agent_errmsg("open %s", path);
			return err;
		}
		if (errno == EBUSY)
			err = EBUSY;
	}
	agent_errmsg("no free /dev/tunN (this driver has no /dev/tun)");
	return err;
}

/*
 * The interface name of the unit open on fd: TUNGIFNAME where the driver has it; else the
 * unit the open named, or (autoclone) the name of the device node the descriptor is on, as
 * fdevname(3) gives it.
 */
static int
unit_name(int fd, const char *opened, char *name, size_t cap)
{
	struct kpi_ifreq ifr;
	int err;

	if (agent_feature("tungifname")) {
		memset(&ifr, 0, sizeof(ifr));
		if (kpi_ioctl(fd, KPI_TUNGIFNAME, &ifr) < 0) {
			err = errno;
			agent_errmsg("TUNGIFNAME");
			return err;
		}
		snprintf(name, cap, "%s", ifr.ifr_name);
		return 0;
	}
	if (opened != NULL) {
		if (opened != name)
			snprintf(name, cap, "%s", opened);
		return 0;
	}
#if BSD_SYS_KPI
	if (kpi_fdevname(fd, name, cap) < 0) {
		err = errno;
		agent_errmsg("fdevname");
		return err;
	}
#else
	if ((err = fdevname_r(fd, name, cap)) != 0) {
		errno = err;
		agent_errmsg("fdevname_r");
		return err;
	}
#endif
	return 0;
}

static int
open_dev(const struct be_open_opts *o, int *fd, char ifname[BE_IFNAMSIZ])
{
	struct kpi_ifreq ifr;
	char path[32];
	const char *opened = o->name;	/* the unit the open named, if any */
	int d = -1, err, created = 0, on;
	int flags = KPI_O_RDWR | (o->nonblock ? KPI_O_NONBLOCK : 0);

	if (o->tap) {
		agent_errmsg("tap: not provided by this backend");
		return EOPNOTSUPP;
	}
	if (o->name == NULL && !agent_feature("autoclone")) {
		/* no /dev/tun (2008): the first of the static /dev/tunN that opens */
		if ((err = open_static(flags, &d, ifr.ifr_name)))
			return err;
		opened = ifr.ifr_name;
	} else if (o->name == NULL) {
		d = kpi_open(TUN_AUTOCLONE, flags);
		if (d < 0) {
			agent_errmsg("open %s", TUN_AUTOCLONE);
			return errno;
		}
	} else {
		if (strncmp(o->name, "tun", 3) != 0) {
			agent_errmsg("name: a tun unit name (tunN) is needed");
			return EINVAL;
		}
		snprintf(path, sizeof(path), "/dev/%s", o->name);
		d = kpi_open(path, flags);
		if (d < 0 && errno == ENOENT && agent_feature("if_clone")) {
			/* make the unit first, as "ifconfig tunN create" does */
			set_ifr_name(&ifr, o->name);
			if ((err = sock_ioctl(KPI_AF_INET, KPI_SIOCIFCREATE2, &ifr,
			    "SIOCIFCREATE2")))
				return err;
			created = 1;
			d = kpi_open(path, flags);
		}
		if (d < 0) {
			err = errno;
			agent_errmsg("open %s", path);
			if (created) {
				set_ifr_name(&ifr, o->name);
				(void)sock_ioctl(KPI_AF_INET, KPI_SIOCIFDESTROY, &ifr,
				    "SIOCIFDESTROY");
			}
			return err;
		}
	}
	if ((err = unit_name(d, opened, ifr.ifr_name, sizeof(ifr.ifr_name)))) {
		kpi_close(d);
		return err;
	}
	on = o->pi ? 1 : 0;
	if (kpi_ioctl(d, KPI_TUNSIFHEAD, &on) < 0) {
		err = errno;
		kpi_close(d);
		agent_errmsg("TUNSIFHEAD");
		return err;
	}
	snprintf(ifname, BE_IFNAMSIZ, "%s", ifr.ifr_name);
	if (dev_ok(d)) {
		devs[d].open = 1;
		devs[d].lmode = 0;
		devs[d].created = (uint8_t)created;
		snprintf(devs[d].ifname, sizeof(devs[d].ifname), "%s", ifr.ifr_name);
	}
	*fd = d;
	return 0;
}

int
be_close(int fd)
{
	struct kpi_ifreq ifr;
	int err = 0, created = 0;
	char name[BE_IFNAMSIZ] = "";

	if (dev_ok(fd) && devs[fd].open) {
		created = devs[fd].created;
		snprintf(name, sizeof(name), "%s", devs[fd].ifname);
		devs[fd].open = 0;
	}
	if (kpi_close(fd) < 0)
		return errno;
	if (created) {
		/* a unit this backend created for the open goes with it, as on Linux */
		set_ifr_name(&ifr, name);
		err = sock_ioctl(KPI_AF_INET, KPI_SIOCIFDESTROY, &ifr, "SIOCIFDESTROY");
	}
	return err;
}

int
be_read(int fd, void *buf, size_t len, size_t *n)
{
	ssize_t r = kpi_read(fd, buf, len);

	if (r < 0)
		return errno;
	*n = (size_t)r;
	return 0;
}

int
be_write(int fd, const void *buf, size_t len, size_t *n)
{
	ssize_t r = kpi_write(fd, buf, len);

	if (r < 0)
		return errno;
	*n = (size_t)r;
	return 0;
}

int
be_wait_readable(int fd, int timeout_ms)
{
	struct kpi_pollfd p;
	int r;

	p.fd = fd;
	p.events = KPI_POLLIN;
	p.revents = 0;
	do
		r = kpi_poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno;
	return r == 0 ? ETIMEDOUT : 0;
}

int
be_poll(int fd, int timeout_ms, int *in, int *out)
{
	struct kpi_pollfd p;
	int r;

	p.fd = fd;
	p.events = KPI_POLLIN | KPI_POLLOUT;
	p.revents = 0;
	do
		r = kpi_poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno;
	*in = (p.revents & KPI_POLLIN) != 0;
	*out = (p.revents & KPI_POLLOUT) != 0;
	return 0;
}

int
be_set_nonblock(int fd, int on)
{
	int fl = kpi_fcntl(fd, KPI_F_GETFL, 0);

	if (fl < 0)
		return errno;
	fl = on ? fl | KPI_O_NONBLOCK : fl & ~KPI_O_NONBLOCK;
	return kpi_fcntl(fd, KPI_F_SETFL, fl) < 0 ? errno : 0;
}

int
be_get_nonblock(int fd, int *on)
{
	int fl = kpi_fcntl(fd, KPI_F_GETFL, 0);

	if (fl < 0)
		return errno;
	*on = (fl & KPI_O_NONBLOCK) != 0;
	return 0;
}

/* ---- framing: plain (IPv4 only), TUNSIFHEAD (4-byte family), TUNSLMODE (sockaddr) ---- */

#define FRAME_LMODE	(-1)

int
be_framing_get(int fd, int ipver, struct be_framing *f)
{
	uint32_t af = ipver == 6 ? KPI_AF_INET6 : KPI_AF_INET;
	int head = 0;

	memset(f, 0, sizeof(f[0]));
	if (kpi_ioctl(fd, KPI_TUNGIFHEAD, &head) < 0) {
		agent_errmsg("TUNGIFHEAD");
		return errno;
	}
	if (head) {
		f->out_hdr[0] = (uint8_t)(af >> 24);	/* network order */
		f->out_hdr[1] = (uint8_t)(af >> 16);
		f->out_hdr[2] = (uint8_t)(af >> 8);
		f->out_hdr[3] = (uint8_t)af;
		f->out_len = 4;
		f->mode = 4;
	} else if (dev_ok(fd) && devs[fd].open && devs[fd].lmode) {
		f->mode = FRAME_LMODE;	/* writes are bare IPv4, reads carry a sockaddr */
	} else {
		if (ipver == 6) {
			agent_errmsg("plain mode carries IPv4 only (TUNSIFHEAD 1 for IPv6)");
			return EAFNOSUPPORT;
		}
		f->mode = 0;
	}
	return 0;
}

long
be_frame_in(const struct be_framing *f, const uint8_t *pkt, size_t n)
{
	if (f->mode == FRAME_LMODE) {
		if (n < 1 || pkt[0] == 0 || pkt[0] > n)
			return -1;
		return pkt[0];		/* sa_len of the destination sockaddr */
	}
	return n < (size_t)f->mode ? -1 : f->mode;
}

/* ---- interface configuration ---- */

static void
set_sin(struct kpi_sockaddr_in *sin, const uint8_t a[4])
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_len = sizeof(*sin);
	sin->sin_family = KPI_AF_INET;
	memcpy(&sin->sin_addr, a, 4);
}

static void
prefix_mask4(int len, uint8_t m[4])
{
	uint32_t v = len <= 0 ? 0 : len >= 32 ? 0xffffffffu : 0xffffffffu << (32 - len);

	m[0] = (uint8_t)(v >> 24);
	m[1] = (uint8_t)(v >> 16);
	m[2] = (uint8_t)(v >> 8);
	m[3] = (uint8_t)v;
}

int
be_ifconfig(const struct be_ifconfig *c)
{
	struct kpi_ifreq ifr;
	int err;

	if (c->mtu >= 0) {
		set_ifr_name(&ifr, c->ifname);
		ifr.ifr_mtu = c->mtu;
		if ((err = sock_ioctl(KPI_AF_INET, KPI_SIOCSIFMTU, &ifr, "SIOCSIFMTU")))
			return err;
	}
	if (c->has_addr) {
		struct kpi_in_aliasreq ifra;
		uint8_t mask[4];

		memset(&ifra, 0, sizeof(ifra));
		snprintf(ifra.ifra_name, sizeof(ifra.ifra_name), "%s", c->ifname);
		set_sin(&ifra.ifra_addr, c->addr.b);
		prefix_mask4(c->prefixlen, mask);
		set_sin(&ifra.ifra_mask, mask);
		if (c->has_peer)
			set_sin(&ifra.ifra_broadaddr, c->peer.b);	/* ifra_dstaddr */
		if ((err = sock_ioctl(KPI_AF_INET, KPI_SIOCAIFADDR, &ifra, "SIOCAIFADDR")))
			return err;
	} else if (c->has_peer) {
		set_ifr_name(&ifr, c->ifname);
		set_sin((struct kpi_sockaddr_in *)&ifr.ifr_dstaddr, c->peer.b);
		if ((err = sock_ioctl(KPI_AF_INET, KPI_SIOCSIFDSTADDR, &ifr,
		    "SIOCSIFDSTADDR")))
			return err;
	}
	if (c->has_addr6) {
		struct kpi_in6_aliasreq ifra6;
		int i;

		memset(&ifra6, 0, sizeof(ifra6));
		snprintf(ifra6.ifra_name, sizeof(ifra6.ifra_name), "%s", c->ifname);
		ifra6.ifra_addr.sin6_len = sizeof(ifra6.ifra_addr);
		ifra6.ifra_addr.sin6_family = KPI_AF_INET6;
		memcpy(&ifra6.ifra_addr.sin6_addr, c->addr6.b, 16);
		ifra6.ifra_prefixmask.sin6_len = sizeof(ifra6.ifra_prefixmask);
		ifra6.ifra_prefixmask.sin6_family = KPI_AF_INET6;
		for (i = 0; i < c->prefixlen6 && i < 128; i++)
			((uint8_t *)&ifra6.ifra_prefixmask.sin6_addr)[i / 8] |=
			    (uint8_t)(0x80 >> (i % 8));
		ifra6.ifra_lifetime.ia6t_vltime = 0xffffffffu;
		ifra6.ifra_lifetime.ia6t_pltime = 0xffffffffu;
		if ((err = sock_ioctl(KPI_AF_INET6, KPI_SIOCAIFADDR_IN6, &ifra6,
		    "SIOCAIFADDR_IN6")))
			return err;
	}
	if (c->up >= 0) {
		int flags;

		set_ifr_name(&ifr, c->ifname);
		if ((err = sock_ioctl(KPI_AF_INET, KPI_SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS")))
			return err;
		flags = (ifr.ifr_flags & 0xffff) | (ifr.ifr_flagshigh << 16);
		flags = c->up ? flags | KPI_IFF_UP : flags & ~KPI_IFF_UP;
		ifr.ifr_flags = (short)flags;
		ifr.ifr_flagshigh = (short)(flags >> 16);
		if ((err = sock_ioctl(KPI_AF_INET, KPI_SIOCSIFFLAGS, &ifr, "SIOCSIFFLAGS")))
			return err;
	}
	return 0;
}

/* The interface's groups (SIOCGIFGROUP), comma-separated; "" if it cannot say. */
static void
get_groups(const char *ifname, char *out, size_t cap)
{
	struct kpi_ifgroupreq ifgr;
	struct kpi_ifg_req groups[16];
	size_t i, n, used = 0;

	out[0] = '\0';
	memset(&ifgr, 0, sizeof(ifgr));
	snprintf(ifgr.ifgr_name, sizeof(ifgr.ifgr_name), "%s", ifname);
	if (sock_ioctl(KPI_AF_INET, KPI_SIOCGIFGROUP, &ifgr, "SIOCGIFGROUP"))
		return;		/* the length */
	if (ifgr.ifgr_len > sizeof(groups))
		ifgr.ifgr_len = sizeof(groups);
	memset(groups, 0, sizeof(groups));
	ifgr.ifgr_ifgru.ifgru_groups = groups;
	if (sock_ioctl(KPI_AF_INET, KPI_SIOCGIFGROUP, &ifgr, "SIOCGIFGROUP"))
		return;
	n = ifgr.ifgr_len / sizeof(groups[0]);
	for (i = 0; i < n && i < sizeof(groups) / sizeof(groups[0]); i++) {
		int w = snprintf(out + used, cap - used, "%s%.*s", used ? "," : "",
		    (int)sizeof(groups[i].ifgrq_group), groups[i].ifgrq_group);

		if (w < 0 || (size_t)w >= cap - used)
			break;
		used += (size_t)w;
	}
}

int
be_ifinfo(const char *ifname, struct be_ifinfo *info)
{
	struct kpi_ifreq ifr;
	int err;

	set_ifr_name(&ifr, ifname);
	if ((err = sock_ioctl(KPI_AF_INET, KPI_SIOCGIFMTU, &ifr, "SIOCGIFMTU")))
		return err;
	info->mtu = ifr.ifr_mtu;
	set_ifr_name(&ifr, ifname);
	if ((err = sock_ioctl(KPI_AF_INET, KPI_SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS")))
		return err;
	info->flags = (unsigned long)((ifr.ifr_flags & 0xffff) |
	    ((ifr.ifr_flagshigh & 0xffff) << 16));
	set_ifr_name(&ifr, ifname);
	if ((err = sock_ioctl(KPI_AF_INET, KPI_SIOCGIFINDEX, &ifr, "SIOCGIFINDEX")))
		return err;
	info->index = ifr.ifr_index;
	get_groups(ifname, info->groups, sizeof(info->groups));
	return 0;
}

int
be_route(int add, const struct be_in4 *dst, int prefixlen, const char *ifname)
{
	(void)add;
	(void)dst;
	(void)prefixlen;
	(void)ifname;
	/* a PF_ROUTE message on DragonFly; the kpi has only connected routes */
	agent_errmsg("route: not provided by this backend");
	return EOPNOTSUPP;
}

int
be_ifstats(const char *ifname, struct be_ifstats *st)
{
#if BSD_SYS_KPI
	struct kpi_ifstats s;

	if (kpi_ifstats(ifname, &s) < 0) {
		agent_errmsg("%s: no such interface", ifname);
		return errno;
	}
	st->rx_packets = (uint64_t)s.ipackets;	/* written to the device: enters the stack */
	st->rx_bytes = (uint64_t)s.ibytes;
	st->tx_packets = (uint64_t)s.opackets;
	st->tx_bytes = (uint64_t)s.obytes;
	st->rx_dropped = (uint64_t)(s.iqdrops + s.noproto);
	st->tx_dropped = (uint64_t)s.oqdrops;
	st->rx_errors = (uint64_t)s.ierrors;
	st->tx_errors = (uint64_t)s.oerrors;
	return 0;
#else
	struct ifaddrs *ifa0, *ifa;
	int found = 0;

	if (getifaddrs(&ifa0) < 0) {
		agent_errmsg("getifaddrs");
		return errno;
	}
	for (ifa = ifa0; ifa; ifa = ifa->ifa_next) {
		const struct if_data *d = ifa->ifa_data;

		if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != AF_LINK ||
		    d == NULL || strcmp(ifa->ifa_name, ifname) != 0)
			continue;
		st->rx_packets = d->ifi_ipackets;
		st->rx_bytes = d->ifi_ibytes;
		st->tx_packets = d->ifi_opackets;
		st->tx_bytes = d->ifi_obytes;
		st->rx_dropped = d->ifi_iqdrops + d->ifi_noproto;
		st->tx_dropped = d->ifi_oqdrops;
		st->rx_errors = d->ifi_ierrors;
		st->tx_errors = d->ifi_oerrors;
		found = 1;
		break;
	}
	freeifaddrs(ifa0);
	if (!found) {
		agent_errmsg("%s not in getifaddrs", ifname);
		return ENODEV;
	}
	return 0;
#endif
}

/* ---- a UDP socket for bench kind=read ---- */

int
be_udp_open(const struct be_in4 *src, int *sock, unsigned *port)
{
	struct kpi_sockaddr_in sin;
	unsigned int sl = sizeof(sin);
	int s, err;

	s = kpi_socket(KPI_AF_INET, KPI_SOCK_DGRAM, 0);
	if (s < 0)
		return errno;
	set_sin(&sin, src->b);
	if (kpi_bind(s, (struct kpi_sockaddr *)&sin, sizeof(sin)) < 0 ||
	    kpi_getsockname(s, (struct kpi_sockaddr *)&sin, &sl) < 0) {
		err = errno;
		kpi_close(s);
		agent_errmsg("bind");
		return err;
	}
	*sock = s;
	*port = (unsigned)(((const uint8_t *)&sin.sin_port)[0] << 8 |
	    ((const uint8_t *)&sin.sin_port)[1]);
	return 0;
}

int
be_udp_send(int sock, const struct be_in4 *dst, unsigned port, const void *buf, size_t len)
{
	struct kpi_sockaddr_in sin;
	uint8_t *p = (uint8_t *)&sin.sin_port;

	set_sin(&sin, dst->b);
	p[0] = (uint8_t)(port >> 8);
	p[1] = (uint8_t)port;
	if (kpi_sendto(sock, buf, len, 0, (struct kpi_sockaddr *)&sin, sizeof(sin)) < 0)
		return errno;
	return 0;
}

int
be_udp_close(int sock)
{
	return kpi_close(sock) < 0 ? errno : 0;
}

/* ---- a bpf listener (bench bpf=1, and the bpf verb) ---- */

#if BSD_SYS_KPI
/*
 * The kpi listener is a descriptor whose read(2) returns one tapped packet, link header
 * included, EAGAIN when none is held (non-blocking), and whose write(2) is a bpf write.
 */
static uint8_t bpf_buf[65536 + 64];

int
be_bpf_open(const char *ifname, int *fd)
{
	int b = kpi_bpf_open(ifname);

	if (b < 0) {
		agent_errmsg("bpf on %s", ifname);
		return errno;
	}
	*fd = b;
	return 0;
}

int
be_bpf_read(int fd, void *buf, size_t cap, size_t *n)
{
	ssize_t r = kpi_read(fd, buf, cap);

	if (r < 0)
		return errno == EWOULDBLOCK ? EAGAIN : errno;
	*n = (size_t)r;
	return 0;
}

int
be_bpf_drain(int fd, uint64_t *packets)
{
	for (int i = 0; i < 4096; i++) {
		ssize_t r = kpi_read(fd, bpf_buf, sizeof(bpf_buf));

		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (r == 0)
			return 0;
		(*packets)++;		/* one tapped packet per read */
	}
	return 0;
}

int
be_bpf_drops(int fd, uint64_t *drops)
{
	(void)fd;
	*drops = 0;		/* the kpi listener keeps up to 4096 packets */
	return 0;
}

int
be_bpf_close(int fd)
{
	return kpi_close(fd) < 0 ? errno : 0;
}

#else	/* DragonFly: /dev/bpf */

/*
 * A bpf read(2) must ask for exactly the descriptor's buffer size (BIOCGBLEN) and returns
 * a buffer of records, each a struct bpf_hdr and the captured bytes, word-aligned. The
 * backend keeps each listener's buffer and hands out one record at a time.
 */
#define BPF_WANT_BUFSIZE	65536u
#define MAX_BPF			16

static struct bpfl {
	int used;
	int fd;
	uint8_t *buf;
	size_t size;		/* BIOCGBLEN */
	size_t len, off;	/* records held from the last read, and the next one */
} bpfls[MAX_BPF];

static struct bpfl *
bpfl_find(int fd)
{
	for (int i = 0; i < MAX_BPF; i++)
		if (bpfls[i].used && bpfls[i].fd == fd)
			return &bpfls[i];
	return NULL;
}

int
be_bpf_open(const char *ifname, int *fd)
{
	struct bpfl *l = NULL;
	struct ifreq ifr;
	u_int on = 1, size = BPF_WANT_BUFSIZE;
	int b, err;

	for (int i = 0; i < MAX_BPF && !l; i++)
		if (!bpfls[i].used)
			l = &bpfls[i];
	if (l == NULL) {
		agent_errmsg("bpf: %d listeners already open", MAX_BPF);
		return EMFILE;
	}
	/* read-write: the bpf verb writes through it (O8) */
	b = open("/dev/bpf", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (b < 0) {
		agent_errmsg("open /dev/bpf");
		return errno;
	}
	/* the buffer size must be set before the interface; the kernel clamps it */
	if (ioctl(b, BIOCSBLEN, &size) < 0) {
		err = errno;
		close(b);
		agent_errmsg("BIOCSBLEN");
		return err;
	}
	set_ifr_name(&ifr, ifname);
	if (ioctl(b, BIOCSETIF, &ifr) < 0 || ioctl(b, BIOCIMMEDIATE, &on) < 0 ||
	    ioctl(b, BIOCGBLEN, &size) < 0) {
		err = errno;
		close(b);
		agent_errmsg("BIOCSETIF %s", ifname);
		return err;
	}
	l->buf = malloc(size);
	if (l->buf == NULL) {
		close(b);
		agent_errmsg("bpf buffer of %u bytes", size);
		return ENOMEM;
	}
	l->used = 1;
	l->fd = b;
	l->size = size;
	l->len = l->off = 0;
	*fd = b;
	return 0;
}

/* The next record held, or NULL; moves past it. */
static const struct bpf_hdr *
bpfl_next(struct bpfl *l)
{
	const struct bpf_hdr *h;

	if (l->off + sizeof(struct bpf_hdr) > l->len)
		return NULL;
	h = (const struct bpf_hdr *)(l->buf + l->off);
	if (l->off + h->bh_hdrlen + h->bh_caplen > l->len) {
		l->off = l->len;	/* a torn record: drop the rest */
		return NULL;
	}
	l->off += BPF_WORDALIGN(h->bh_hdrlen + h->bh_caplen);
	return h;
}

/* Reads the next buffer of records; 0, EAGAIN when the kernel holds none, or an errno. */
static int
bpfl_fill(struct bpfl *l)
{
	ssize_t r;

	l->len = l->off = 0;
	do
		r = read(l->fd, l->buf, l->size);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? EAGAIN : errno;
	if (r == 0)
		return EAGAIN;
	l->len = (size_t)r;
	return 0;
}

int
be_bpf_read(int fd, void *buf, size_t cap, size_t *n)
{
	struct bpfl *l = bpfl_find(fd);
	const struct bpf_hdr *h;
	int err;

	if (l == NULL)
		return EBADF;
	while ((h = bpfl_next(l)) == NULL)
		if ((err = bpfl_fill(l)))
			return err;
	*n = h->bh_caplen < cap ? h->bh_caplen : cap;
	memcpy(buf, (const uint8_t *)h + h->bh_hdrlen, *n);
	return 0;
}

int
be_bpf_drain(int fd, uint64_t *packets)
{
	struct bpfl *l = bpfl_find(fd);
	int err;

	if (l == NULL)
		return EBADF;
	for (int i = 0; i < 4096; i++) {
		while (bpfl_next(l) != NULL)
			(*packets)++;
		if ((err = bpfl_fill(l)))
			return err == EAGAIN ? 0 : err;
	}
	return 0;
}

int
be_bpf_drops(int fd, uint64_t *drops)
{
	struct bpf_stat bs;

	if (ioctl(fd, BIOCGSTATS, &bs) < 0) {
		agent_errmsg("BIOCGSTATS");
		return errno;
	}
	*drops = bs.bs_drop;
	return 0;
}

int
be_bpf_close(int fd)
{
	struct bpfl *l = bpfl_find(fd);

	if (l != NULL) {
		free(l->buf);
		l->buf = NULL;
		l->used = 0;
	}
	return close(fd) < 0 ? errno : 0;
}
#endif	/* BSD_SYS_KPI */

int
be_bpf_write(int fd, const void *buf, size_t len, size_t *n)
{
	ssize_t r = kpi_write(fd, buf, len);

	if (r < 0)
		return errno;
	*n = (size_t)r;
	return 0;
}

/* ---- typed ioctls ---- */

enum { AUX_NONE, AUX_MTU, AUX_FLAGS, AUX_LMODE, AUX_DESTROY, AUX_CREATE };

static const struct be_ioctl_desc ioctls[] = {
	{ "TUNSDEBUG", KPI_TUNSDEBUG, BE_IOC_INT, BE_IOC_IN, AUX_NONE },
	{ "TUNGDEBUG", KPI_TUNGDEBUG, BE_IOC_INT, BE_IOC_OUT, AUX_NONE },
	{ "TUNSIFINFO", KPI_TUNSIFINFO, BE_IOC_TUNINFO, BE_IOC_IN, AUX_NONE },
	{ "TUNGIFINFO", KPI_TUNGIFINFO, BE_IOC_TUNINFO, BE_IOC_OUT, AUX_NONE },
	{ "TUNSLMODE", KPI_TUNSLMODE, BE_IOC_INT, BE_IOC_IN, AUX_LMODE },
	{ "TUNSIFMODE", KPI_TUNSIFMODE, BE_IOC_INT, BE_IOC_IN, AUX_NONE },
	{ "TUNSIFPID", KPI_TUNSIFPID, BE_IOC_NONE, 0, AUX_NONE },
	{ "TUNSIFHEAD", KPI_TUNSIFHEAD, BE_IOC_INT, BE_IOC_IN, AUX_NONE },
	{ "TUNGIFHEAD", KPI_TUNGIFHEAD, BE_IOC_INT, BE_IOC_OUT, AUX_NONE },
	{ "TUNGIFNAME", KPI_TUNGIFNAME, BE_IOC_IFREQ_NAME, BE_IOC_OUT, AUX_NONE },
	{ "FIONREAD", KPI_FIONREAD, BE_IOC_INT, BE_IOC_OUT, AUX_NONE },
	{ "FIONBIO", KPI_FIONBIO, BE_IOC_INT, BE_IOC_IN, AUX_NONE },
	{ "FIOASYNC", KPI_FIOASYNC, BE_IOC_INT, BE_IOC_IN, AUX_NONE },
	{ "FIOSETOWN", KPI_FIOSETOWN, BE_IOC_INT, BE_IOC_IN, AUX_NONE },
	{ "FIOGETOWN", KPI_FIOGETOWN, BE_IOC_INT, BE_IOC_OUT, AUX_NONE },
	{ "TIOCSPGRP", KPI_TIOCSPGRP, BE_IOC_INT, BE_IOC_IN, AUX_NONE },
	{ "TIOCGPGRP", KPI_TIOCGPGRP, BE_IOC_INT, BE_IOC_OUT, AUX_NONE },
	{ "SIOCGIFMTU", KPI_SIOCGIFMTU, BE_IOC_SOCK_INT, BE_IOC_OUT, AUX_MTU },
	{ "SIOCSIFMTU", KPI_SIOCSIFMTU, BE_IOC_SOCK_INT, BE_IOC_IN | BE_IOC_OUT, AUX_MTU },
	{ "SIOCGIFFLAGS", KPI_SIOCGIFFLAGS, BE_IOC_SOCK_INT, BE_IOC_OUT, AUX_FLAGS },
	{ "SIOCSIFFLAGS", KPI_SIOCSIFFLAGS, BE_IOC_SOCK_INT, BE_IOC_IN | BE_IOC_OUT,
	    AUX_FLAGS },
	{ "SIOCSIFNAME", KPI_SIOCSIFNAME, BE_IOC_SOCK_NAME, BE_IOC_IN, AUX_NONE },
	{ "SIOCIFCREATE2", KPI_SIOCIFCREATE2, BE_IOC_SOCK_NAME, BE_IOC_OUT, AUX_CREATE },
	{ "SIOCIFDESTROY", KPI_SIOCIFDESTROY, BE_IOC_SOCK_INT, 0, AUX_DESTROY },
	{ "SIOCGIFSTATUS", KPI_SIOCGIFSTATUS, BE_IOC_SOCK_TEXT, BE_IOC_OUT, AUX_NONE },
};

const struct be_ioctl_desc *
be_ioctl_table(size_t *n)
{
	*n = sizeof(ioctls) / sizeof(ioctls[0]);
	return ioctls;
}

int
be_ioctl(const struct be_ioctl_desc *d, int fd, const char *ifname,
    struct be_ioctl_args *a, long *ret)
{
	static uint8_t raw[BE_IOC_RAW_MAX];
	struct kpi_tuninfo ti;
	struct kpi_ifreq ifr;
	struct kpi_ifstat ifs;
	char newname[BE_IFNAMSIZ];
	int v, r, err, flags;

	switch (d->arg) {
	case BE_IOC_RAW:
		/* any number: a zeroed buffer as large as an ioctl can describe */
		memset(raw, 0, sizeof(raw));
		v = (int)a->value;
		memcpy(raw, &v, sizeof(v));
		r = kpi_ioctl(fd, d->req, raw);
		memcpy(&v, raw, sizeof(v));
		a->value = v;
		break;
	case BE_IOC_SOCK_TEXT:
		memset(&ifs, 0, sizeof(ifs));
		snprintf(ifs.ifs_name, sizeof(ifs.ifs_name), "%s", ifname);
		if ((err = sock_ioctl(KPI_AF_INET, d->req, &ifs, d->name)))
			return err;
		snprintf(a->text, sizeof(a->text), "%.*s", (int)sizeof(ifs.ascii),
		    ifs.ascii);
		r = 0;
		break;
	case BE_IOC_NONE:
		r = kpi_ioctl(fd, d->req, NULL);
		break;
	case BE_IOC_INT:
		v = (int)a->value;
		r = kpi_ioctl(fd, d->req, &v);
		if (r == 0 && d->aux == AUX_LMODE && dev_ok(fd))
			devs[fd].lmode = v != 0;
		a->value = v;
		break;
	case BE_IOC_IFREQ_NAME:
		set_ifr_name(&ifr, NULL);
		r = kpi_ioctl(fd, d->req, &ifr);
		snprintf(a->name, sizeof(a->name), "%s", ifr.ifr_name);
		break;
	case BE_IOC_TUNINFO:
		memset(&ti, 0, sizeof(ti));
		ti.mtu = (unsigned short)a->mtu;
		ti.type = (unsigned char)a->type;
		ti.baudrate = a->baudrate;
		r = kpi_ioctl(fd, d->req, &ti);
		a->mtu = ti.mtu;
		a->type = ti.type;
		a->baudrate = ti.baudrate;
		break;
	case BE_IOC_SOCK_INT:
		set_ifr_name(&ifr, ifname);
		if (d->aux == AUX_MTU) {
			ifr.ifr_mtu = (int)a->value;
		} else if (d->aux == AUX_FLAGS) {
			ifr.ifr_flags = (short)a->value;
			ifr.ifr_flagshigh = (short)(a->value >> 16);
		}
		if ((err = sock_ioctl(KPI_AF_INET, d->req, &ifr, d->name)))
			return err;
		r = 0;
		if (d->aux == AUX_MTU) {
			a->value = ifr.ifr_mtu;
		} else if (d->aux == AUX_FLAGS) {
			/* unsigned: a set top bit of flagshigh must not overflow int */
			flags = (int)((ifr.ifr_flags & 0xffffu) |
			    ((ifr.ifr_flagshigh & 0xffffu) << 16));
			a->value = flags;
		}
		break;
	case BE_IOC_SOCK_NAME:
		set_ifr_name(&ifr, ifname);
		if (d->aux != AUX_CREATE) {
			snprintf(newname, sizeof(newname), "%s", a->name);
			ifr.ifr_data = newname;
		}
		if ((err = sock_ioctl(KPI_AF_INET, d->req, &ifr, d->name)))
			return err;
		if (d->aux == AUX_CREATE)
			snprintf(a->name, sizeof(a->name), "%s", ifr.ifr_name);
		r = 0;
		break;
	default:
		return EOPNOTSUPP;	/* Linux-only argument types */
	}
	if (r < 0)
		return errno;
	*ret = r;
	return 0;
}

/* ---- instruments for the conformance suite ---- */

int
be_kq_open(int *kq)
{
	int q = kpi_kqueue();

	if (q < 0) {
		agent_errmsg("kqueue");
		return errno;
	}
	*kq = q;
	return 0;
}

int
be_kq_add(int kq, int fd, int kind, int raw)
{
	struct kpi_kevent kev;

	memset(&kev, 0, sizeof(kev));
	kev.ident = (uintptr_t)fd;
	kev.filter = (short)(kind == BE_KQ_READ ? KPI_EVFILT_READ :
	    kind == BE_KQ_WRITE ? KPI_EVFILT_WRITE : raw);
	kev.flags = KPI_EV_ADD;
	/* no room for events: a refused registration fails the call with its errno */
	if (kpi_kevent(kq, &kev, 1, NULL, 0, NULL) < 0) {
		agent_errmsg("kevent EV_ADD filter %d", kev.filter);
		return errno;
	}
	return 0;
}

int
be_kq_poll(int kq, int timeout_ms, struct be_kevent *ev, int nev, int *n)
{
	struct kpi_kevent kevs[16];
	struct kpi_timespec ts;
	int r;

	if (nev > 16)
		nev = 16;
	memset(&ts, 0, sizeof(ts));
	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
	do
		r = kpi_kevent(kq, NULL, 0, kevs, nev, &ts);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		agent_errmsg("kevent");
		return errno;
	}
	for (int i = 0; i < r; i++) {
		ev[i].filter = kevs[i].filter;
		ev[i].kind = kevs[i].filter == KPI_EVFILT_READ ? BE_KQ_READ :
		    kevs[i].filter == KPI_EVFILT_WRITE ? BE_KQ_WRITE : BE_KQ_RAW;
		ev[i].flags = kevs[i].flags;
		ev[i].eof = (kevs[i].flags & KPI_EV_EOF) != 0;
		ev[i].data = (long long)kevs[i].data;
	}
	*n = r;
	return 0;
}

int
be_kq_close(int kq)
{
	return kpi_close(kq) < 0 ? errno : 0;
}

int
be_proc_info(struct be_proc *p)
{
#if BSD_SYS_KPI
	p->pid = kpi_getpid();
	p->pgrp = p->pid;	/* each kpi process leads its own group */
	p->sigio = kpi_sigcount((int)p->pid, KPI_SIGIO);
#else
	p->pid = (long)getpid();
	p->pgrp = (long)getpgrp();
	p->sigio = (unsigned long long)sigio_count;
#endif
	p->uid = cur_uid;
	return 0;
}

int
be_stack_send(int ipver, const uint8_t dst[16], unsigned port, const void *payload,
    size_t len, long count, long *sent, long *failed, int *first_err)
{
	struct kpi_sockaddr_in sin;
	struct kpi_sockaddr_in6 sin6;
	const struct kpi_sockaddr *sa;
	unsigned int salen;
	int s;
#if !BSD_SYS_KPI
	/*
	 * DragonFly hands UDP sends to the protocol thread without waiting for the result
	 * (net.inet.udp.sosend_async=1): an error of if_output would never reach sendto.
	 * Sends made here wait for it; the setting is restored afterwards.
	 */
	int async = 0, off = 0;
	size_t alen = sizeof(async);
	int have_async = sysctlbyname("net.inet.udp.sosend_async", &async, &alen, NULL,
	    0) == 0 && alen == sizeof(async);

	if (have_async && async &&
	    sysctlbyname("net.inet.udp.sosend_async", NULL, NULL, &off, sizeof(off)) < 0)
		have_async = 0;
#endif

	*sent = *failed = 0;
	*first_err = 0;
	if (ipver == 6) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_len = sizeof(sin6);
		sin6.sin6_family = KPI_AF_INET6;
		((uint8_t *)&sin6.sin6_port)[0] = (uint8_t)(port >> 8);
		((uint8_t *)&sin6.sin6_port)[1] = (uint8_t)port;
		memcpy(&sin6.sin6_addr, dst, 16);
		sa = (const struct kpi_sockaddr *)&sin6;
		salen = sizeof(sin6);
	} else {
		set_sin(&sin, dst);
		((uint8_t *)&sin.sin_port)[0] = (uint8_t)(port >> 8);
		((uint8_t *)&sin.sin_port)[1] = (uint8_t)port;
		sa = (const struct kpi_sockaddr *)&sin;
		salen = sizeof(sin);
	}
	s = kpi_socket(ipver == 6 ? KPI_AF_INET6 : KPI_AF_INET, KPI_SOCK_DGRAM, 0);
	if (s < 0) {
		int err = errno;

		agent_errmsg("socket");
#if !BSD_SYS_KPI
		if (have_async && async)
			(void)sysctlbyname("net.inet.udp.sosend_async", NULL, NULL, &async,
			    sizeof(async));
#endif
		return err;
	}
	for (long i = 0; i < count; i++) {
		if (kpi_sendto(s, payload, len, 0, sa, salen) < 0) {
			if (*failed == 0)
				*first_err = errno;
			(*failed)++;
		} else {
			(*sent)++;
		}
	}
	kpi_close(s);
#if !BSD_SYS_KPI
	if (have_async && async)
		(void)sysctlbyname("net.inet.udp.sosend_async", NULL, NULL, &async,
		    sizeof(async));
#endif
	return 0;
}

#if !BSD_SYS_KPI
/* The file the last unload took away, for the next load (kld_file_stat has no path). */
static char unloaded_file[MAXPATHLEN];
#endif

int
be_module(int load, const char *name, char *file, size_t filecap)
{
#if BSD_SYS_KPI
	if ((load ? kpi_kldload(name) : kpi_kldunload(name)) < 0) {
		agent_errmsg("%s %s", load ? "kldload" : "kldunload", name);
		return errno;
	}
	snprintf(file, filecap, "%s", name);
	return 0;
#else
	struct kld_file_stat st;
	char koname[MAXPATHLEN];
	const char *ko;
	int id, err;

	if (load) {
		/*
		 * The session loaded our driver by path; the module path would find the
		 * stock one of the same name instead. TUNLAB_DRIVER_KO names the file
		 * (the session script's $ko); otherwise the file the last unload took away
		 * (found by name in the module path), else the name itself.
		 */
		ko = getenv("TUNLAB_DRIVER_KO");
		if (ko == NULL || ko[0] == '\0')
			ko = unloaded_file[0] ? unloaded_file : name;
		if (kldload(ko) < 0) {
			err = errno;
			agent_errmsg("kldload %s", ko);
			return err;
		}
		agent_log("module: kldload %s", ko);
		snprintf(file, filecap, "%s", ko);
		return 0;
	}
	id = kldfind(name);
	if (id < 0) {
		snprintf(koname, sizeof(koname), "%s.ko", name);
		id = kldfind(koname);
	}
	if (id < 0) {
		err = errno;
		agent_errmsg("kldfind %s: not a loaded module (built into the kernel?)", name);
		return err;
	}
	memset(&st, 0, sizeof(st));
	st.version = sizeof(st);
	if (kldstat(id, &st) == 0)
		snprintf(unloaded_file, sizeof(unloaded_file), "%s", st.name);
	if (kldunload(id) < 0) {
		err = errno;
		agent_errmsg("kldunload %s (file id %d)", name, id);
		return err;
	}
	snprintf(file, filecap, "%s", unloaded_file[0] ? unloaded_file : name);
	return 0;
#endif
}

int
be_sysctl_int(const char *name, const long long *new, long long *old)
{
	union {
		int i;
		long l;
		long long ll;
	} v;
	size_t len = sizeof(v);

	memset(&v, 0, sizeof(v));
	if (kpi_sysctlbyname(name, &v, &len, NULL, 0) < 0) {
		agent_errmsg("sysctl %s", name);
		return errno;
	}
	if (len != sizeof(int) && len != sizeof(long) && len != sizeof(long long)) {
		agent_errmsg("sysctl %s: not an integer (%zu bytes)", name, len);
		return EINVAL;
	}
	if (new != NULL) {
		if (len == sizeof(int))
			v.i = (int)*new;
		else if (len == sizeof(long))
			v.l = (long)*new;
		else
			v.ll = *new;
		if (kpi_sysctlbyname(name, NULL, NULL, &v, len) < 0) {
			agent_errmsg("sysctl %s=%lld", name, *new);
			return errno;
		}
		len = sizeof(v);
		memset(&v, 0, sizeof(v));
		if (kpi_sysctlbyname(name, &v, &len, NULL, 0) < 0) {
			agent_errmsg("sysctl %s", name);
			return errno;
		}
	}
	if (old != NULL)
		*old = len == sizeof(int) ? v.i : len == sizeof(long) ? v.l : v.ll;
	return 0;
}

int
be_stat(const char *path, unsigned long *uid, unsigned long *gid, unsigned *mode)
{
#if BSD_SYS_KPI
	unsigned int u, g;
	int m;

	if (kpi_devstat(path, &u, &g, &m) < 0) {
		agent_errmsg("stat %s", path);
		return errno;
	}
	*uid = u;
	*gid = g;
	*mode = (unsigned)m & 07777;
#else
	struct stat st;

	if (stat(path, &st) < 0) {
		agent_errmsg("stat %s", path);
		return errno;
	}
	*uid = (unsigned long)st.st_uid;
	*gid = (unsigned long)st.st_gid;
	*mode = (unsigned)st.st_mode & 07777;
#endif
	return 0;
}

int
be_kstats(struct be_kstat *out, size_t cap, size_t *n)
{
	size_t k = 0;
#if BSD_SYS_KPI
	struct kpi_stats st;

	kpi_stats(&st);
#define KSTAT(nm, v)	do { if (k < cap) { out[k].name = (nm); out[k].value = (v); k++; } } while (0)
	KSTAT("mbufs", st.mbufs);
	KSTAT("clusters", st.clusters);
	KSTAT("mbuf_bytes", st.mbuf_bytes);
	KSTAT("mbuf_allocs", st.mbuf_allocs);
	KSTAT("cluster_allocs", st.cluster_allocs);
	KSTAT("uiomove_calls", st.uiomove_calls);
	KSTAT("cdevs", st.cdevs);
	KSTAT("ifnets", st.ifnets);
	KSTAT("files", st.files);
	KSTAT("knotes", st.knotes);
	KSTAT("sigios", st.sigios);
	KSTAT("malloc_inuse", st.malloc_inuse);
	KSTAT("malloc_tun", kpi_malloc_inuse("tun"));
	KSTAT("tsleep_blocks", st.tsleep_blocks);
	KSTAT("bpf_taps", st.bpf_taps);
	KSTAT("echo_replies", st.echo_replies);
#else
	/*
	 * What DragonFly tells userland (netstat -m's sources): live mbufs by type
	 * (kern.ipc.mbtypes, summed), live clusters (kern.ipc.mbstat), and the interfaces.
	 * Kernel malloc counts and cdevs are not exported: those checks are kpi-only.
	 */
	u_long types[64];
	struct mbstat mb;
	struct if_nameindex *ifs, *p;
	size_t len = sizeof(types);
	long long v;

#define KSTAT(nm, val)	do { if (k < cap) { out[k].name = (nm); out[k].value = (val); k++; } } while (0)
	if (sysctlbyname("kern.ipc.mbtypes", types, &len, NULL, 0) == 0) {
		v = 0;
		for (size_t i = 0; i < len / sizeof(types[0]); i++)
			v += (long long)types[i];
		KSTAT("mbufs", v);
	}
	len = sizeof(mb);
	if (sysctlbyname("kern.ipc.mbstat", &mb, &len, NULL, 0) == 0 && len == sizeof(mb))
		KSTAT("clusters", (long long)mb.m_clusters + (long long)mb.m_jclusters);
	if ((ifs = if_nameindex()) != NULL) {
		v = 0;
		for (p = ifs; p->if_index != 0; p++)
			v++;
		if_freenameindex(ifs);
		KSTAT("ifnets", v);
	}
#endif
#undef KSTAT
	*n = k;
	return 0;
}

/* ---- threads ---- */

#if BSD_SYS_KPI
int
be_thread_enter(void)
{
	return 0;	/* a host thread becomes a kpi thread at its first call */
}

void
be_thread_leave(void)
{
	kpi_thread_exit();
}

long
be_thread_id(void)
{
	return kpi_thread_id();
}

int
be_thread_interrupt(long tid)
{
	return kpi_thread_interrupt((int)tid) < 0 ? errno : 0;
}

int
be_fault_preempt_sleep(long us)
{
	kpi_fault_preempt_sleep(us);
	return 0;
}
#else
/* Threads of the roundtrip and race verbs (threads.c), interrupted with
 * BE_INTERRUPT_SIGNAL, whose handler be_init() installed without SA_RESTART. */
int
be_thread_enter(void)
{
	return thr_register();
}

void
be_thread_leave(void)
{
	thr_unregister();
}

long
be_thread_id(void)
{
	return thr_self_id();
}

int
be_thread_interrupt(long tid)
{
	return thr_signal(tid, BE_INTERRUPT_SIGNAL);
}

int
be_fault_preempt_sleep(long us)
{
	(void)us;
	return EOPNOTSUPP;	/* a real kernel: no such knob */
}
#endif
