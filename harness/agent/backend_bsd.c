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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "bsd_sys.h"

#define TUN_AUTOCLONE	"/dev/tun"
#define MAX_DEV_FDS	1024

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
#endif
	return 0;
}

int
be_poweroff(void)
{
#if BSD_SYS_KPI
	return EOPNOTSUPP;	/* no machine to stop */
#else
	sync();
	if (kpi_open("/dev/null", KPI_O_RDWR) >= 0)	/* keep errno meaningful */
		;
	execl("/sbin/shutdown", "shutdown", "-p", "now", (char *)NULL);
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

	sync();
	if (sysctlbyname("debug.kdb.panic", NULL, NULL, &one, sizeof(one)) < 0) {
		agent_errmsg("sysctl debug.kdb.panic");
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

int
be_open(const struct be_open_opts *o, int *fd, char ifname[BE_IFNAMSIZ])
{
	struct kpi_ifreq ifr;
	char path[32];
	int d, err, created = 0, on;
	int flags = KPI_O_RDWR | (o->nonblock ? KPI_O_NONBLOCK : 0);

	if (o->tap) {
		agent_errmsg("tap: not provided by this backend");
		return EOPNOTSUPP;
	}
	if (o->name == NULL) {
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
		if (d < 0 && errno == ENOENT) {
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
	memset(&ifr, 0, sizeof(ifr));
	if (kpi_ioctl(d, KPI_TUNGIFNAME, &ifr) < 0) {
		err = errno;
		kpi_close(d);
		agent_errmsg("TUNGIFNAME");
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

/* ---- a bpf listener for bench bpf=1 ---- */

static uint8_t bpf_buf[65536 + 64];

int
be_bpf_open(const char *ifname, int *fd)
{
#if BSD_SYS_KPI
	int b = kpi_bpf_open(ifname);

	if (b < 0) {
		agent_errmsg("bpf on %s", ifname);
		return errno;
	}
	*fd = b;
	return 0;
#else
	struct ifreq ifr;
	u_int on = 1;
	int b, err;

	b = open("/dev/bpf", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (b < 0) {
		agent_errmsg("open /dev/bpf");
		return errno;
	}
	set_ifr_name(&ifr, ifname);
	if (ioctl(b, BIOCSETIF, &ifr) < 0 || ioctl(b, BIOCIMMEDIATE, &on) < 0) {
		err = errno;
		close(b);
		agent_errmsg("BIOCSETIF %s", ifname);
		return err;
	}
	*fd = b;
	return 0;
#endif
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
#if BSD_SYS_KPI
		(*packets)++;		/* one tapped packet per read */
#else
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct bpf_hdr) <= r; ) {
			const struct bpf_hdr *h = (const struct bpf_hdr *)(bpf_buf + off);

			(*packets)++;
			off += BPF_WORDALIGN(h->bh_hdrlen + h->bh_caplen);
		}
#endif
	}
	return 0;
}

int
be_bpf_drops(int fd, uint64_t *drops)
{
#if BSD_SYS_KPI
	(void)fd;
	*drops = 0;		/* the kpi listener keeps up to 4096 packets */
	return 0;
#else
	struct bpf_stat bs;

	if (ioctl(fd, BIOCGSTATS, &bs) < 0) {
		agent_errmsg("BIOCGSTATS");
		return errno;
	}
	*drops = bs.bs_drop;
	return 0;
#endif
}

int
be_bpf_close(int fd)
{
	return kpi_close(fd) < 0 ? errno : 0;
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
	struct kpi_tuninfo ti;
	struct kpi_ifreq ifr;
	char newname[BE_IFNAMSIZ];
	int v, r, err, flags;

	switch (d->arg) {
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
			flags = (ifr.ifr_flags & 0xffff) | ((ifr.ifr_flagshigh & 0xffff) << 16);
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
