/*
 * backend_linux.c - the Linux tun backend: /dev/net/tun with TUNSETIFF, interface
 * configuration with socket ioctls (no shell commands), counters from sysfs (or
 * /proc/net/dev when sysfs shows another network namespace), reboot(2) to power off.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backend.h"
#include "threads.h"

#define TUN_PATH	"/dev/net/tun"
#define ETHERTYPE_IP4	0x0800
#define ETHERTYPE_IP6	0x86dd

/* The kernel's struct in6_ifreq (linux/ipv6.h, which clashes with netinet/in.h). */
struct in6_ifreq_k {
	struct in6_addr ifr6_addr;
	uint32_t ifr6_prefixlen;
	int ifr6_ifindex;
};

/* What each open device was opened as. TUNGETIFF cannot tell: it sets the read-only
 * IFF_NOFILTER (0x1000, "no socket filter attached"), which has IFF_NO_PI's value, so
 * every device looks like IFF_NO_PI. The mode cannot change after TUNSETIFF, so the
 * backend keeps its own record. */
#define MAX_DEV_FDS	1024
static struct {
	uint8_t open, pi, tap;
} devs[MAX_DEV_FDS];

const char *
be_name(void)
{
	return "linux";
}

int
be_init(void)
{
	struct stat st;

	/* a bare initramfs may lack the node: make it (misc device 10:200) */
	if (stat(TUN_PATH, &st) < 0 && errno == ENOENT) {
		(void)mkdir("/dev/net", 0755);
		if (mknod(TUN_PATH, S_IFCHR | 0666, makedev(10, 200)) < 0) {
			agent_errmsg("mknod %s", TUN_PATH);
			return errno;
		}
		agent_log("created %s", TUN_PATH);
	}
	return 0;
}

int
be_poweroff(void)
{
	sync();
	reboot(RB_POWER_OFF);
	return errno;
}

int
be_panic(void)
{
	int fd = open("/proc/sysrq-trigger", O_WRONLY);

	if (fd < 0) {
		agent_errmsg("open /proc/sysrq-trigger");
		return errno;
	}
	sync();
	if (write(fd, "c", 1) < 0) {
		int err = errno;

		close(fd);
		agent_errmsg("write /proc/sysrq-trigger");
		return err;
	}
	close(fd);
	return EIO;	/* still alive */
}

/* ---- the device ---- */

static void
set_ifr_name(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	if (name)
		snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
}

int
be_open(const struct be_open_opts *o, int *fd, char ifname[BE_IFNAMSIZ])
{
	struct ifreq ifr;
	int d, err;

	if (o->as_user) {
		/* open(2) as that user, then back to root (TUNSETIFF below runs as root) */
		if (setegid((gid_t)o->gid) < 0 || seteuid((uid_t)o->uid) < 0) {
			err = errno;
			(void)setegid(0);
			agent_errmsg("uid=%u gid=%u: could not take them on", o->uid, o->gid);
			return err;
		}
		d = open(TUN_PATH, O_RDWR | O_CLOEXEC | (o->nonblock ? O_NONBLOCK : 0));
		err = errno;
		if (seteuid(0) < 0 || setegid(0) < 0)
			agent_log("open uid=%u: could not return to root", o->uid);
		errno = err;
	} else {
		d = open(TUN_PATH, O_RDWR | O_CLOEXEC | (o->nonblock ? O_NONBLOCK : 0));
	}
	if (d < 0) {
		agent_errmsg("open %s", TUN_PATH);
		return errno;
	}
	set_ifr_name(&ifr, o->name);
	ifr.ifr_flags = (short)((o->tap ? IFF_TAP : IFF_TUN) | (o->pi ? 0 : IFF_NO_PI));
	if (ioctl(d, TUNSETIFF, &ifr) < 0) {
		err = errno;
		close(d);
		agent_errmsg("TUNSETIFF");
		return err;
	}
	snprintf(ifname, BE_IFNAMSIZ, "%s", ifr.ifr_name);
	if (d < MAX_DEV_FDS) {
		devs[d].open = 1;
		devs[d].pi = (uint8_t)(o->pi != 0);
		devs[d].tap = (uint8_t)(o->tap != 0);
	}
	*fd = d;
	return 0;
}

int
be_close(int fd)
{
	if (fd >= 0 && fd < MAX_DEV_FDS)
		devs[fd].open = 0;
	return close(fd) < 0 ? errno : 0;
}

int
be_read(int fd, void *buf, size_t len, size_t *n)
{
	ssize_t r = read(fd, buf, len);

	if (r < 0)
		return errno;
	*n = (size_t)r;
	return 0;
}

int
be_write(int fd, const void *buf, size_t len, size_t *n)
{
	ssize_t r = write(fd, buf, len);

	if (r < 0)
		return errno;
	*n = (size_t)r;
	return 0;
}

int
be_wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno;
	return r == 0 ? ETIMEDOUT : 0;
}

int
be_poll(int fd, int timeout_ms, int *in, int *out)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno;
	*in = (p.revents & POLLIN) != 0;
	*out = (p.revents & POLLOUT) != 0;
	return 0;
}

int
be_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) < 0 ? errno : 0;
}

int
be_get_nonblock(int fd, int *on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return errno;
	*on = (fl & O_NONBLOCK) != 0;
	return 0;
}

/* ---- framing: IFF_NO_PI gives bare IP; otherwise struct tun_pi (flags, proto) ---- */

int
be_framing_get(int fd, int ipver, struct be_framing *f)
{
	struct ifreq ifr;
	unsigned proto = ipver == 6 ? ETHERTYPE_IP6 : ETHERTYPE_IP4;

	int pi;

	memset(f, 0, sizeof(*f));
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		agent_errmsg("TUNGETIFF");
		return errno;
	}
	if (fd >= 0 && fd < MAX_DEV_FDS && devs[fd].open) {
		pi = devs[fd].pi;
		if (devs[fd].tap)
			ifr.ifr_flags |= IFF_TAP;
	} else {
		pi = !(ifr.ifr_flags & IFF_NO_PI);
	}
	if ((ifr.ifr_flags & IFF_TAP) || (ifr.ifr_flags & IFF_VNET_HDR)) {
		agent_errmsg("device is tap or has a vnet header");
		return EOPNOTSUPP;
	}
	if (pi) {
		f->out_hdr[0] = 0;		/* tun_pi.flags */
		f->out_hdr[1] = 0;
		f->out_hdr[2] = (uint8_t)(proto >> 8);	/* tun_pi.proto, big-endian */
		f->out_hdr[3] = (uint8_t)proto;
		f->out_len = 4;
	}
	f->mode = (int)f->out_len;	/* bytes before the IP header in a read */
	return 0;
}

long
be_frame_in(const struct be_framing *f, const uint8_t *pkt, size_t n)
{
	(void)pkt;
	return n < (size_t)f->mode ? -1 : f->mode;
}

/* ---- interface configuration ---- */

/* One ioctl on a fresh socket of the family; on failure names the request. */
static int
sock_ioctl(int family, unsigned long req, void *arg, const char *what)
{
	int s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0) {
		agent_errmsg("socket for %s", what);
		return errno;
	}
	if (ioctl(s, req, arg) < 0) {
		err = errno;
		agent_errmsg("%s", what);
	}
	close(s);
	return err;
}

static void
set_sin(struct sockaddr *sa, const uint8_t a[4])
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memcpy(&sin.sin_addr, a, 4);
	memcpy(sa, &sin, sizeof(sin));
}

static void
prefix_mask(int len, uint8_t m[4])
{
	uint32_t v = len == 0 ? 0 : 0xffffffffu << (32 - len);

	m[0] = (uint8_t)(v >> 24);
	m[1] = (uint8_t)(v >> 16);
	m[2] = (uint8_t)(v >> 8);
	m[3] = (uint8_t)v;
}

static int
if_index(const char *ifname, int *index)
{
	struct ifreq ifr;
	int err;

	set_ifr_name(&ifr, ifname);
	err = sock_ioctl(AF_INET, SIOCGIFINDEX, &ifr, "SIOCGIFINDEX");
	if (!err)
		*index = ifr.ifr_ifindex;
	return err;
}

int
be_ifconfig(const struct be_ifconfig *c)
{
	struct ifreq ifr;
	int err;

	if (c->mtu >= 0) {
		set_ifr_name(&ifr, c->ifname);
		ifr.ifr_mtu = c->mtu;
		if ((err = sock_ioctl(AF_INET, SIOCSIFMTU, &ifr, "SIOCSIFMTU")))
			return err;
	}
	if (c->has_addr) {
		uint8_t mask[4];

		set_ifr_name(&ifr, c->ifname);
		set_sin(&ifr.ifr_addr, c->addr.b);
		if ((err = sock_ioctl(AF_INET, SIOCSIFADDR, &ifr, "SIOCSIFADDR")))
			return err;
		prefix_mask(c->prefixlen, mask);
		set_ifr_name(&ifr, c->ifname);
		set_sin(&ifr.ifr_netmask, mask);
		if ((err = sock_ioctl(AF_INET, SIOCSIFNETMASK, &ifr, "SIOCSIFNETMASK")))
			return err;
	}
	if (c->has_peer) {
		set_ifr_name(&ifr, c->ifname);
		set_sin(&ifr.ifr_dstaddr, c->peer.b);
		if ((err = sock_ioctl(AF_INET, SIOCSIFDSTADDR, &ifr, "SIOCSIFDSTADDR")))
			return err;
	}
	if (c->has_addr6) {
		struct in6_ifreq_k r6;

		memset(&r6, 0, sizeof(r6));
		if ((err = if_index(c->ifname, &r6.ifr6_ifindex)))
			return err;
		memcpy(&r6.ifr6_addr, c->addr6.b, 16);
		r6.ifr6_prefixlen = (uint32_t)c->prefixlen6;
		if ((err = sock_ioctl(AF_INET6, SIOCSIFADDR, &r6, "SIOCSIFADDR (inet6)")))
			return err;
	}
	if (c->up >= 0) {
		set_ifr_name(&ifr, c->ifname);
		if ((err = sock_ioctl(AF_INET, SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS")))
			return err;
		if (c->up)
			ifr.ifr_flags |= IFF_UP;
		else
			ifr.ifr_flags &= ~IFF_UP;
		if ((err = sock_ioctl(AF_INET, SIOCSIFFLAGS, &ifr, "SIOCSIFFLAGS")))
			return err;
	}
	return 0;
}

int
be_ifinfo(const char *ifname, struct be_ifinfo *info)
{
	struct ifreq ifr;
	int err;

	set_ifr_name(&ifr, ifname);
	if ((err = sock_ioctl(AF_INET, SIOCGIFMTU, &ifr, "SIOCGIFMTU")))
		return err;
	info->mtu = ifr.ifr_mtu;
	set_ifr_name(&ifr, ifname);
	if ((err = sock_ioctl(AF_INET, SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS")))
		return err;
	info->flags = (unsigned short)ifr.ifr_flags;
	return if_index(ifname, &info->index);
}

int
be_route(int add, const struct be_in4 *dst, int prefixlen, const char *ifname)
{
	struct rtentry rt;
	char dev[BE_IFNAMSIZ];
	uint8_t mask[4];

	memset(&rt, 0, sizeof(rt));
	snprintf(dev, sizeof(dev), "%s", ifname);
	prefix_mask(prefixlen, mask);
	set_sin(&rt.rt_dst, dst->b);
	set_sin(&rt.rt_genmask, mask);
	rt.rt_flags = RTF_UP | (prefixlen == 32 ? RTF_HOST : 0);
	rt.rt_dev = dev;
	return sock_ioctl(AF_INET, add ? SIOCADDRT : SIOCDELRT, &rt,
	    add ? "SIOCADDRT" : "SIOCDELRT");
}

/* ---- counters ---- */

static int
read_u64(const char *path, uint64_t *v)
{
	FILE *f = fopen(path, "r");
	unsigned long long x;
	int ok;

	if (!f)
		return -1;
	ok = fscanf(f, "%llu", &x) == 1;
	fclose(f);
	if (!ok)
		return -1;
	*v = x;
	return 0;
}

/* sysfs describes the namespace it was mounted in: use it only if it shows our ifindex. */
static int
stats_sysfs(const char *ifname, struct be_ifstats *st)
{
	static const char *const names[] = { "rx_packets", "rx_bytes", "tx_packets",
		"tx_bytes", "rx_dropped", "tx_dropped", "rx_errors", "tx_errors" };
	uint64_t *fields[] = { &st->rx_packets, &st->rx_bytes, &st->tx_packets,
		&st->tx_bytes, &st->rx_dropped, &st->tx_dropped, &st->rx_errors,
		&st->tx_errors };
	char path[128];
	uint64_t sysidx;
	int idx;

	snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex", ifname);
	if (read_u64(path, &sysidx) < 0 || if_index(ifname, &idx) != 0 ||
	    sysidx != (uint64_t)idx)
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", ifname,
		    names[i]);
		if (read_u64(path, fields[i]) < 0)
			return -1;
	}
	return 0;
}

static int
stats_procfs(const char *ifname, struct be_ifstats *st)
{
	FILE *f = fopen("/proc/net/dev", "r");
	char line[512];
	int found = 0;

	if (!f) {
		agent_errmsg("open /proc/net/dev");
		return errno;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *name = line;
		unsigned long long v[16];

		if (!colon)
			continue;
		*colon = '\0';
		while (*name == ' ')
			name++;
		if (strcmp(name, ifname) != 0)
			continue;
		if (sscanf(colon + 1,
		    "%llu %llu %llu %llu %llu %llu %llu %llu "
		    "%llu %llu %llu %llu %llu %llu %llu %llu",
		    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
		    &v[10], &v[11], &v[12], &v[13], &v[14], &v[15]) != 16)
			break;
		st->rx_bytes = v[0];
		st->rx_packets = v[1];
		st->rx_errors = v[2];
		st->rx_dropped = v[3];
		st->tx_bytes = v[8];
		st->tx_packets = v[9];
		st->tx_errors = v[10];
		st->tx_dropped = v[11];
		found = 1;
	}
	fclose(f);
	if (!found) {
		agent_errmsg("%s not in /proc/net/dev", ifname);
		return ENODEV;
	}
	return 0;
}

int
be_ifstats(const char *ifname, struct be_ifstats *st)
{
	if (stats_sysfs(ifname, st) == 0)
		return 0;
	return stats_procfs(ifname, st);
}

/* ---- a UDP socket for bench kind=read ---- */

int
be_udp_open(const struct be_in4 *src, int *sock, unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int s, err;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return errno;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memcpy(&sin.sin_addr, src->b, 4);
	if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(s, (struct sockaddr *)&sin, &sl) < 0) {
		err = errno;
		close(s);
		agent_errmsg("bind");
		return err;
	}
	*sock = s;
	*port = ntohs(sin.sin_port);
	return 0;
}

int
be_udp_send(int sock, const struct be_in4 *dst, unsigned port, const void *buf, size_t len)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	memcpy(&sin.sin_addr, dst->b, 4);
	if (sendto(sock, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return errno;
	return 0;
}

int
be_udp_close(int sock)
{
	return close(sock) < 0 ? errno : 0;
}

/* ---- a packet listener for bench bpf=1: an AF_PACKET socket bound to the interface ---- */

static uint8_t bpf_buf[65536 + 64];

int
be_bpf_open(const char *ifname, int *fd)
{
	struct sockaddr_ll sll;
	int s, idx, err;

	if ((err = if_index(ifname, &idx)))
		return err;
	/* protocol 0 until bound, so no packet of another interface is queued meanwhile */
	s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		agent_errmsg("socket AF_PACKET");
		return errno;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = idx;
	if (bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		err = errno;
		close(s);
		agent_errmsg("bind AF_PACKET to %s", ifname);
		return err;
	}
	*fd = s;
	return 0;
}

int
be_bpf_drain(int fd, uint64_t *packets)
{
	/* bounded, so a flood cannot keep the loop here forever */
	for (int i = 0; i < 4096; i++) {
		ssize_t r = recv(fd, bpf_buf, sizeof(bpf_buf), MSG_DONTWAIT);

		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return errno;
		}
		(*packets)++;
	}
	return 0;
}

int
be_bpf_drops(int fd, uint64_t *drops)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) {
		agent_errmsg("PACKET_STATISTICS");
		return errno;
	}
	*drops = st.tp_drops;
	return 0;
}

int
be_bpf_close(int fd)
{
	return close(fd) < 0 ? errno : 0;
}

/* ---- typed ioctls ---- */

enum { AUX_MTU, AUX_FLAGS };

static const struct be_ioctl_desc ioctls[] = {
	{ "TUNSETPERSIST", TUNSETPERSIST, BE_IOC_VALUE, BE_IOC_IN, 0 },
	{ "TUNSETOFFLOAD", TUNSETOFFLOAD, BE_IOC_VALUE, BE_IOC_IN, 0 },
	{ "TUNSETTXFILTER", TUNSETTXFILTER, BE_IOC_INT, BE_IOC_IN, 0 },
	{ "FIONREAD", FIONREAD, BE_IOC_INT, BE_IOC_OUT, 0 },
	{ "TUNGETFEATURES", TUNGETFEATURES, BE_IOC_INT, BE_IOC_OUT, 0 },
	{ "TUNSETSNDBUF", TUNSETSNDBUF, BE_IOC_INT, BE_IOC_IN | BE_IOC_OUT, 0 },
	{ "TUNGETSNDBUF", TUNGETSNDBUF, BE_IOC_INT, BE_IOC_OUT, 0 },
	{ "FIONBIO", FIONBIO, BE_IOC_INT, BE_IOC_IN | BE_IOC_OUT, 0 },
	{ "TUNSETIFF", TUNSETIFF, BE_IOC_IFREQ_FLAGS, BE_IOC_IN | BE_IOC_OUT, 0 },
	{ "TUNGETIFF", TUNGETIFF, BE_IOC_IFREQ_FLAGS, BE_IOC_OUT, 0 },
	{ "SIOCGIFMTU", SIOCGIFMTU, BE_IOC_SOCK_INT, BE_IOC_OUT, AUX_MTU },
	{ "SIOCSIFMTU", SIOCSIFMTU, BE_IOC_SOCK_INT, BE_IOC_IN | BE_IOC_OUT, AUX_MTU },
	{ "SIOCGIFFLAGS", SIOCGIFFLAGS, BE_IOC_SOCK_INT, BE_IOC_OUT, AUX_FLAGS },
	{ "SIOCSIFFLAGS", SIOCSIFFLAGS, BE_IOC_SOCK_INT, BE_IOC_IN | BE_IOC_OUT, AUX_FLAGS },
	{ "SIOCSIFNAME", SIOCSIFNAME, BE_IOC_SOCK_NAME, BE_IOC_IN, 0 },
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
	struct ifreq ifr;
	int v, r, s, err;

	switch (d->arg) {
	case BE_IOC_VALUE:
		r = ioctl(fd, d->req, (unsigned long)a->value);
		break;
	case BE_IOC_INT:
		v = (int)a->value;
		r = ioctl(fd, d->req, &v);
		a->value = v;
		break;
	case BE_IOC_IFREQ_FLAGS:
		set_ifr_name(&ifr, a->name);
		ifr.ifr_flags = (short)a->flags;
		r = ioctl(fd, d->req, &ifr);
		snprintf(a->name, sizeof(a->name), "%s", ifr.ifr_name);
		a->flags = (unsigned short)ifr.ifr_flags;
		break;
	case BE_IOC_SOCK_INT:
		set_ifr_name(&ifr, ifname);
		if (d->aux == AUX_MTU)
			ifr.ifr_mtu = (int)a->value;
		else
			ifr.ifr_flags = (short)a->value;
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			return errno;
		r = ioctl(s, d->req, &ifr);
		err = errno;
		close(s);
		errno = err;
		a->value = d->aux == AUX_MTU ? ifr.ifr_mtu : (unsigned short)ifr.ifr_flags;
		break;
	case BE_IOC_SOCK_NAME:
		set_ifr_name(&ifr, ifname);
		snprintf(ifr.ifr_newname, sizeof(ifr.ifr_newname), "%s", a->name);
		if ((err = sock_ioctl(AF_INET, d->req, &ifr, d->name)))
			return err;
		r = 0;
		break;
	case BE_IOC_RAW: {
		static unsigned char raw[BE_IOC_RAW_MAX];

		memset(raw, 0, sizeof(raw));
		v = (int)a->value;
		memcpy(raw, &v, sizeof(v));
		r = ioctl(fd, d->req, raw);
		memcpy(&v, raw, sizeof(v));
		a->value = v;
		break;
	}
	default:
		return EOPNOTSUPP;	/* BSD-only argument types */
	}
	if (r < 0)
		return errno;
	*ret = r;
	return 0;
}

/* ---- instruments for the BSD conformance suite: what Linux has, else EOPNOTSUPP ---- */

int
be_kq_open(int *kq)
{
	(void)kq;
	agent_errmsg("kqueue: not on Linux");
	return EOPNOTSUPP;
}

int
be_kq_add(int kq, int fd, int kind, int raw)
{
	(void)kq;
	(void)fd;
	(void)kind;
	(void)raw;
	return EOPNOTSUPP;
}

int
be_kq_poll(int kq, int timeout_ms, struct be_kevent *ev, int nev, int *n)
{
	(void)kq;
	(void)timeout_ms;
	(void)ev;
	(void)nev;
	(void)n;
	return EOPNOTSUPP;
}

int
be_kq_close(int kq)
{
	(void)kq;
	return EOPNOTSUPP;
}

int
be_bpf_read(int fd, void *buf, size_t cap, size_t *n)
{
	(void)fd;
	(void)buf;
	(void)cap;
	(void)n;
	agent_errmsg("bpf read: the Linux listener has no DLT_NULL records");
	return EOPNOTSUPP;
}

int
be_bpf_write(int fd, const void *buf, size_t len, size_t *n)
{
	(void)fd;
	(void)buf;
	(void)len;
	(void)n;
	agent_errmsg("bpf write: not on Linux");
	return EOPNOTSUPP;
}

int
be_proc_info(struct be_proc *p)
{
	p->pid = (long)getpid();
	p->pgrp = (long)getpgrp();
	p->uid = (unsigned long)geteuid();
	p->sigio = 0;		/* SIGIO is not counted on Linux */
	return 0;
}

int
be_stack_send(int ipver, const uint8_t dst[16], unsigned port, const void *payload,
    size_t len, long count, long *sent, long *failed, int *first_err)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const struct sockaddr *sa;
	socklen_t salen;
	int s;

	*sent = *failed = 0;
	*first_err = 0;
	if (ipver == 6) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)port);
		memcpy(&sin6.sin6_addr, dst, 16);
		sa = (const struct sockaddr *)&sin6;
		salen = sizeof(sin6);
	} else {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		memcpy(&sin.sin_addr, dst, 4);
		sa = (const struct sockaddr *)&sin;
		salen = sizeof(sin);
	}
	s = socket(ipver == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		agent_errmsg("socket");
		return errno;
	}
	for (long i = 0; i < count; i++) {
		if (sendto(s, payload, len, 0, sa, salen) < 0) {
			if (*failed == 0)
				*first_err = errno;
			(*failed)++;
		} else {
			(*sent)++;
		}
	}
	close(s);
	return 0;
}

int
be_module(int load, const char *name, char *file, size_t filecap)
{
	(void)load;
	(void)name;
	(void)file;
	(void)filecap;
	agent_errmsg("module: not provided by this backend");
	return EOPNOTSUPP;
}

int
be_sysctl_int(const char *name, const long long *new, long long *old)
{
	(void)name;
	(void)new;
	(void)old;
	agent_errmsg("sysctl: not provided by this backend");
	return EOPNOTSUPP;
}

int
be_stat(const char *path, unsigned long *uid, unsigned long *gid, unsigned *mode)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		agent_errmsg("stat %s", path);
		return errno;
	}
	*uid = (unsigned long)st.st_uid;
	*gid = (unsigned long)st.st_gid;
	*mode = (unsigned)st.st_mode & 07777;
	return 0;
}

int
be_kstats(struct be_kstat *out, size_t cap, size_t *n)
{
	struct if_nameindex *ifs, *p;
	long long v = 0;

	*n = 0;
	if ((ifs = if_nameindex()) != NULL && cap > 0) {
		for (p = ifs; p->if_index != 0; p++)
			v++;
		if_freenameindex(ifs);
		out[0].name = "ifnets";
		out[0].value = v;
		*n = 1;
	}
	return 0;
}

/* Threads of the roundtrip and race verbs (threads.c): interrupted with a caught SIGUSR2
 * (no SA_RESTART), so a blocked read(2) fails with EINTR. */
static void
on_interrupt(int sig)
{
	(void)sig;
}

int
be_thread_enter(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_interrupt;
	if (sigaction(SIGUSR2, &sa, NULL) < 0)
		return errno;
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
	return thr_signal(tid, SIGUSR2);
}

int
be_fault_preempt_sleep(long us)
{
	(void)us;
	return EOPNOTSUPP;
}
