/*
 * fuzz_tun.c - libFuzzer target: random sequences of open / ioctl / write
 * / read / close on /dev/tun units, interface ioctls, stack output, bpf
 * and kqueue, over driver/if_tun.c on the kpi.
 *
 * The kpi boots once with if_tun loaded.  Each input is a program: one
 * byte picks an operation, the next bytes its arguments.  The program's
 * own fds are non-blocking; blocking reads run in reader threads (at most
 * READERS), which the program can interrupt, leave asleep while it closes
 * their fd, or find asleep when it tries to unload the module.  A sender
 * thread puts packets on a unit's queue while the program goes on.  The
 * module can be unloaded and loaded again, an mbuf allocation of the write
 * path can be made to fail (kpi_mbuf_fail_any), and SIGIO owners range over
 * every int.  At the end of each input every reader is interrupted and
 * joined, all fds are closed, the module is loaded again if it was not,
 * the units ifconfig made are destroyed, netisr is drained, and
 * the live mbuf, cluster, interface, file and knote counts and tun's
 * allocations must be back to what they were before the input; otherwise
 * the target aborts, which libFuzzer reports as a crash.  A kpi panic
 * (KASSERT) aborts too.  TUNLAB_FUZZ_CDEVS=1 also checks cdevs (see
 * KPI-NOTES.md finding 1).
 */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "tlib.h"

#define MAXFD	8

static struct kpi_stats base;
static int check_cdevs;
static int trace;
static long base_tun_inuse;

struct in {
	const uint8_t	*p;
	size_t		n;
};

static int
u8(struct in *in)
{
	if (in->n == 0)
		return -1;
	in->n--;
	return *in->p++;
}

static unsigned
u16(struct in *in)
{
	int a = u8(in), b = u8(in);

	return (unsigned)((a < 0 ? 0 : a) << 8 | (b < 0 ? 0 : b));
}

#define READERS	2

/* a thread in a blocking read(2) */
struct reader {
	pthread_t	th;
	int		fd;
	size_t		len;
	int		running;
	atomic_int	tid;
	atomic_int	done;
	uint8_t		buf[2048];
};

/* a thread putting packets on a unit's send queue */
struct sender {
	pthread_t	th;
	int		running;
	char		name[KPI_IFNAMSIZ];
	int		count;
	size_t		len;
};

static struct reader readers[READERS];
static struct sender sender;
static int unloaded;		/* the program unloaded if_tun */
static int fds[MAXFD];
static int nfds;
static int creates;		/* SIOCIFCREATE2 calls in this input */
static uint8_t buf[70000];
static uint8_t payload[2048];

static int
pick_fd(struct in *in)
{
	int b = u8(in);

	if (nfds == 0)
		return 999;		/* EBADF path */
	return fds[(b < 0 ? 0 : b) % nfds];
}

static void
add_fd(int fd)
{
	if (fd < 0)
		return;
	if (nfds == MAXFD) {
		kpi_close(fd);
		return;
	}
	(void)kpi_fcntl(fd, KPI_F_SETFL, KPI_O_NONBLOCK);
	fds[nfds++] = fd;
}

static void
del_fd(int i)
{
	kpi_close(fds[i]);
	fds[i] = fds[--nfds];
}

static const char *names[] = { "tun", "tun0", "tun1", "tun2", "tun7",
    "foo", "bar", "tun32767", "tun32768", "tun01", "tunx" };
#define NNAMES	(int)(sizeof(names) / sizeof(names[0]))

static const unsigned long devioctls[] = {
	KPI_TUNGDEBUG, KPI_TUNSDEBUG, KPI_TUNSIFINFO, KPI_TUNGIFINFO,
	KPI_TUNSLMODE, KPI_TUNSIFMODE, KPI_TUNSIFPID, KPI_TUNSIFHEAD,
	KPI_TUNGIFHEAD, KPI_TUNGIFNAME, KPI_FIONREAD, KPI_FIOASYNC,
	KPI_FIOSETOWN, KPI_FIOGETOWN, KPI_TIOCSPGRP, KPI_TIOCGPGRP,
	KPI_IOWR('t', 120, int), KPI_IO('t', 1), KPI_SIOCGIFMTU,
	KPI_FIONBIO,
};

/* any int, the extremes often */
static int
pick_owner(const uint8_t *arg)
{
	static const int extremes[] = { INT_MIN, INT_MIN + 1, -1, 0, 1,
	    INT_MAX, 100, -100 };
	uint32_t u;

	switch (arg[0] & 3) {
	case 0:
		return (int)arg[1] - 128;	/* around the pids that exist */
	case 1:
		return (arg[0] & 4) ? 100 : -100;
	case 2:
		return extremes[arg[1] & 7];
	default:
		u = (uint32_t)arg[1] << 24 | (uint32_t)arg[2] << 16 |
		    (uint32_t)arg[3] << 8 | arg[4];
		return (int)u;
	}
}

static void
op_devioctl(struct in *in)
{
	uint8_t arg[128];
	unsigned long cmd;
	int fd = pick_fd(in), i, b, on = 1;

	b = u8(in);
	cmd = devioctls[(b < 0 ? 0 : b) % (sizeof(devioctls) /
	    sizeof(devioctls[0]))];
	memset(arg, 0, sizeof(arg));
	for (i = 0; i < 16; ++i) {
		b = u8(in);
		arg[i] = (uint8_t)(b < 0 ? 0 : b);
	}
	if (cmd == KPI_FIOSETOWN || cmd == KPI_TIOCSPGRP) {
		int pid = pick_owner(arg);

		memcpy(arg, &pid, sizeof(pid));
	} else if (cmd == KPI_TUNSIFINFO && (arg[15] & 1)) {
		arg[6] = KPI_IFT_PPP;		/* the only type it takes */
	} else if (cmd == KPI_TUNSIFMODE && (arg[15] & 1)) {
		int mode = ((arg[0] & 1) ? KPI_IFF_POINTOPOINT :
		    KPI_IFF_BROADCAST) | ((arg[0] & 2) ? KPI_IFF_MULTICAST : 0);

		memcpy(arg, &mode, sizeof(mode));
	} else if (arg[15] & 2) {
		int v = arg[0] & 1;		/* the on/off ioctls: 0 or 1 */

		memcpy(arg, &v, sizeof(v));
	}
	(void)kpi_ioctl(fd, cmd, arg);
	/* non-blocking again; F_SETFL would also clear FASYNC */
	(void)kpi_ioctl(fd, KPI_FIONBIO, &on);
}

static void
op_sockioctl(struct in *in, int s, int s6)
{
	struct kpi_in_aliasreq ifra;
	struct kpi_in6_aliasreq ifra6;
	struct kpi_ifstat ifs;
	struct kpi_ifreq ifr;
	static char newname[KPI_IFNAMSIZ];
	int b = u8(in), which = u8(in), v = (int)u16(in);
	const char *name = names[(which < 0 ? 0 : which) % NNAMES];

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	switch ((b < 0 ? 0 : b) % 12) {
	case 0:
		++creates;
		(void)kpi_ioctl(s, KPI_SIOCIFCREATE2, &ifr);
		break;
	case 1:
		(void)kpi_ioctl(s, KPI_SIOCIFDESTROY, &ifr);
		break;
	case 2:
		ifr.ifr_flags = (short)v;
		ifr.ifr_flagshigh = 0;
		(void)kpi_ioctl(s, KPI_SIOCSIFFLAGS, &ifr);
		break;
	case 3:
		ifr.ifr_mtu = v * 2 - 200;
		(void)kpi_ioctl(s, KPI_SIOCSIFMTU, &ifr);
		break;
	case 4:
		memset(&ifra, 0, sizeof(ifra));
		snprintf(ifra.ifra_name, sizeof(ifra.ifra_name), "%s", name);
		ifra.ifra_addr.sin_len = sizeof(ifra.ifra_addr);
		ifra.ifra_addr.sin_family = KPI_AF_INET;
		ifra.ifra_addr.sin_addr.s_addr = htonl_kpi(0x0a000001u +
		    (v & 0xff));
		ifra.ifra_broadaddr.sin_len = sizeof(ifra.ifra_addr);
		ifra.ifra_broadaddr.sin_family = KPI_AF_INET;
		ifra.ifra_broadaddr.sin_addr.s_addr = htonl_kpi(0x0a000002u +
		    ((v >> 8) & 1));
		(void)kpi_ioctl(s, KPI_SIOCAIFADDR, &ifra);
		break;
	case 5:
		ifr.ifr_addr.sa_len = 16;
		ifr.ifr_addr.sa_family = (v & 1) ? KPI_AF_INET : (uint8_t)v;
		ifr.ifr_addr.sa_data[2] = 10;
		ifr.ifr_addr.sa_data[5] = (char)(v >> 8);
		(void)kpi_ioctl(s, (v & 2) ? KPI_SIOCSIFADDR :
		    KPI_SIOCSIFDSTADDR, &ifr);
		break;
	case 6:
		snprintf(newname, sizeof(newname), "%s",
		    names[(v & 0xff) % NNAMES]);
		ifr.ifr_data = newname;
		(void)kpi_ioctl(s, KPI_SIOCSIFNAME, &ifr);
		break;
	case 7:
		memset(&ifs, 0, sizeof(ifs));
		snprintf(ifs.ifs_name, sizeof(ifs.ifs_name), "%s", name);
		(void)kpi_ioctl(s, KPI_SIOCGIFSTATUS, &ifs);
		break;
	case 8:
		memset(&ifra6, 0, sizeof(ifra6));
		snprintf(ifra6.ifra_name, sizeof(ifra6.ifra_name), "%s", name);
		ifra6.ifra_addr.sin6_len = sizeof(ifra6.ifra_addr);
		ifra6.ifra_addr.sin6_family = KPI_AF_INET6;
		ifra6.ifra_addr.sin6_addr.s6_addr[0] = 0xfd;
		ifra6.ifra_addr.sin6_addr.s6_addr[15] = (uint8_t)(v & 3);
		ifra6.ifra_prefixmask.sin6_len = sizeof(ifra6.ifra_addr);
		memset(ifra6.ifra_prefixmask.sin6_addr.s6_addr, 0xff, 8);
		(void)kpi_ioctl(s6, KPI_SIOCAIFADDR_IN6, &ifra6);
		break;
	case 9:
		/* SIOCADDMULTI, SIOCDELMULTI, or one no layer knows */
		ifr.ifr_addr.sa_len = 16;
		ifr.ifr_addr.sa_family = KPI_AF_INET;
		(void)kpi_ioctl(s, (v & 3) == 0 ? KPI_IOW('i', 49,
		    struct kpi_ifreq) : (v & 3) == 1 ? KPI_IOW('i', 50,
		    struct kpi_ifreq) : KPI_IOWR('i', 250, struct kpi_ifreq), &ifr);
		break;
	default:
		(void)kpi_ioctl(s, KPI_SIOCGIFMTU, &ifr);
		break;
	}
}

static size_t
fill_packet(struct in *in, int kind, size_t len)
{
	uint8_t src6[16] = { 0xfd, [15] = 2 }, dst6[16] = { 0xfd, [15] = 1 };
	size_t i, n;
	int b;

	switch (kind % 4) {
	case 0:		/* raw bytes from the input */
		for (i = 0; i < len; ++i) {
			b = u8(in);
			buf[i] = (uint8_t)(b < 0 ? i : b);
		}
		return len;
	case 1:		/* an IPv4 echo request to us */
		return tl_icmp_echo4(buf, htonl_kpi(0x0a000002),
		    htonl_kpi(0x0a000001), 1, (uint16_t)len, len % 1400);
	case 2:		/* IPv6 echo */
		return tl_icmp_echo6(buf, src6, dst6, 1, (uint16_t)len,
		    len % 1400);
	default:	/* UDP echo */
		n = len % 1400;
		memset(payload, 'x', n);
		return tl_udp4(buf, htonl_kpi(0x0a000002),
		    htonl_kpi(0x0a000001), 999, 7, payload, n);
	}
}

static void
op_write(struct in *in)
{
	int fd = pick_fd(in), kind = u8(in), hdr = u8(in), fail;
	size_t len = u16(in), off = 0, n;
	uint32_t af;

	if (kind < 0)
		kind = 0;
	if ((kind & 0x30) == 0x30)
		len = 65530 + (len & 15);	/* around TUNMRU */
	else
		len %= 3000;
	if (hdr >= 0 && (hdr & 1)) {
		af = htonl_kpi((hdr & 2) ? 2 : (hdr & 4) ? 28 : (uint32_t)hdr);
		memcpy(buf, &af, 4);
		off = 4;
	}
	if (len + off > sizeof(buf))
		len = sizeof(buf) - off;
	n = fill_packet(in, kind, len);
	if (off) {
		memmove(buf + 4, buf, n);
		af = htonl_kpi((hdr & 2) ? 2 : (hdr & 4) ? 28 : (uint32_t)hdr);
		memcpy(buf, &af, 4);
	}
	/* hdr bits 3-4: fail the 1st to 3rd mbuf allocation of this write */
	fail = hdr < 0 ? 0 : (hdr >> 3) & 3;
	if (fail)
		kpi_mbuf_fail_any(fail);
	(void)kpi_write(fd, buf, n + off);
	if (fail)
		kpi_mbuf_fail(0);
}

static void *
reader_main(void *p)
{
	struct reader *r = p;

	atomic_store(&r->tid, kpi_thread_id());
	(void)kpi_read(r->fd, r->buf, r->len);
	atomic_store(&r->done, 1);
	kpi_thread_exit();
	return NULL;
}

static void
reader_join(struct reader *r)
{
	int i;

	if (!r->running)
		return;
	/* a caught signal gets it out of any sleep; bounded */
	for (i = 0; !atomic_load(&r->done); ++i) {
		if (atomic_load(&r->tid) != 0)
			(void)kpi_thread_interrupt(atomic_load(&r->tid));
		if (i == 50000) {
			fprintf(stderr, "fuzz: a reader is stuck in read(2)\n");
			abort();
		}
		usleep(100);
	}
	pthread_join(r->th, NULL);
	r->running = 0;
}

/*
 * A blocking read in a thread: FIONBIO off for the fd, start the reader,
 * wait until it has returned or sleeps, FIONBIO on again.
 */
static void
op_reader(struct in *in)
{
	struct reader *r = &readers[(u8(in) & 0xff) % READERS];
	int fd = pick_fd(in), off = 0, on = 1, i, tid;

	reader_join(r);
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->len = u16(in) % sizeof(r->buf);
	(void)kpi_ioctl(fd, KPI_FIONBIO, &off);
	if (pthread_create(&r->th, NULL, reader_main, r) != 0)
		abort();
	r->running = 1;
	for (i = 0; i < 50000 && !atomic_load(&r->done); ++i) {
		tid = atomic_load(&r->tid);
		if (tid != 0 && kpi_thread_sleeping(tid, NULL))
			break;
		usleep(20);
	}
	(void)kpi_ioctl(fd, KPI_FIONBIO, &on);
}

static void *
sender_main(void *p)
{
	struct sender *sd = p;
	uint8_t pk[1500];
	size_t n;
	int i;

	for (i = 0; i < sd->count; ++i) {
		n = tl_icmp_echo4(pk, htonl_kpi(0x0a000001),
		    htonl_kpi(0x0a000002), 2, (uint16_t)i, sd->len);
		(void)kpi_stack_output(sd->name, KPI_AF_INET, pk, n);
	}
	kpi_thread_exit();
	return NULL;
}

static void
sender_join(void)
{
	if (sender.running)
		pthread_join(sender.th, NULL);
	sender.running = 0;
}

static void
op_sender(struct in *in)
{
	int which = u8(in), v = u8(in);

	sender_join();
	snprintf(sender.name, sizeof(sender.name), "%s",
	    names[(which < 0 ? 0 : which) % NNAMES]);
	/* up to 301 packets: past the send queue's 250 */
	sender.count = 1 + (v < 0 ? 0 : (v & 15) * 20);
	sender.len = (size_t)(v < 0 ? 0 : (v >> 4) * 80);
	if (pthread_create(&sender.th, NULL, sender_main, &sender) != 0)
		abort();
	sender.running = 1;
}

/* the 15th op's extended forms (its argument's high nibble) */
static void
op_more(struct in *in, int i)
{
	int k;

	switch ((i >> 4) % 8) {
	case 1:
	case 2:
		op_reader(in);
		break;
	case 3:
		k = (u8(in) & 0xff) % READERS;
		if (readers[k].running && atomic_load(&readers[k].tid) != 0)
			(void)kpi_thread_interrupt(atomic_load(&readers[k].tid));
		break;
	case 4:
		op_sender(in);
		break;
	case 5:
		if (kpi_kldunload("if_tun") == 0)
			unloaded = 1;
		break;
	case 6:
		if (kpi_kldload("if_tun") == 0)
			unloaded = 0;
		break;
	default:
		/* join the sender: its packets are all queued now */
		sender_join();
		break;
	}
}

static void
op_stack(struct in *in)
{
	int which = u8(in), afb = u8(in), kind = u8(in);
	size_t len = u16(in) % 2000, n;
	int af = afb < 0 ? 2 : (afb & 3) == 0 ? 28 : (afb & 3) == 1 ? afb : 2;

	n = fill_packet(in, kind < 0 ? 1 : kind, len);
	if (n == 0)
		n = 1;
	(void)kpi_stack_output(names[(which < 0 ? 0 : which) % NNAMES], af,
	    buf, n);
}

static void
op_kq(struct in *in)
{
	struct kpi_kevent kev[4];
	struct kpi_timespec ts = { 0, 0 };
	int kq = pick_fd(in), fd = pick_fd(in), f = u8(in);

	memset(kev, 0, sizeof(kev));
	kev[0].ident = (uintptr_t)fd;
	kev[0].filter = (short)(f < 0 ? -1 : (f & 3) == 3 ? -8 :
	    -1 - (f & 1));
	kev[0].flags = (f & 4) ? KPI_EV_DELETE : KPI_EV_ADD;
	(void)kpi_kevent(kq, kev, 1, NULL, 0, NULL);
	(void)kpi_kevent(kq, NULL, 0, kev, 4, &ts);
}

static void
run(const uint8_t *data, size_t size, int s, int s6)
{
	struct in in = { data, size };
	struct kpi_pollfd pfd[MAXFD];
	int op, fd, i;
	size_t len;

	while ((op = u8(&in)) >= 0) {
		if (trace)
			fprintf(stderr, "op %d (%zu bytes left)\n", op % 16,
			    in.n);
		switch (op % 16) {
		case 0:
		case 1:
			add_fd(kpi_open("/dev/tun", KPI_O_RDWR | KPI_O_NONBLOCK));
			break;
		case 2:
			snprintf((char *)buf, 32, "/dev/tun%d", u8(&in) & 7);
			add_fd(kpi_open((char *)buf, KPI_O_RDWR |
			    KPI_O_NONBLOCK));
			break;
		case 3:
			if (nfds > 0)
				del_fd((u8(&in) & 0xff) % nfds);
			break;
		case 4:
		case 5:
			op_write(&in);
			break;
		case 6:
			fd = pick_fd(&in);
			len = u16(&in) % 70000;
			(void)kpi_read(fd, buf, len);
			break;
		case 7:
		case 8:
			op_devioctl(&in);
			break;
		case 9:
		case 10:
			op_sockioctl(&in, s, s6);
			break;
		case 11:
			op_stack(&in);
			break;
		case 12:
			add_fd(kpi_bpf_open(names[(u8(&in) & 0xff) % NNAMES]));
			break;
		case 13:
			add_fd(kpi_kqueue());
			op_kq(&in);
			break;
		case 14:
			for (i = 0; i < nfds; ++i) {
				pfd[i].fd = fds[i];
				pfd[i].events = KPI_POLLIN | KPI_POLLOUT;
			}
			(void)kpi_poll(pfd, (unsigned)nfds, 0);
			break;
		case 15:
			i = u8(&in);
			if (i < 0)
				break;
			if (i >> 4)
				op_more(&in, i);
			else if (i & 1)		/* root, nobody, /dev/tun's owner */
				(void)kpi_setuid((i & 2) ? 0 : (i & 8) ? 66 :
				    1000, (i & 8) ? 68 : 0);
			else
				kpi_mbuf_fail((i >> 1) & 7);
			break;
		}
	}
}

static void
cleanup(int s, int s6)
{
	struct kpi_ifreq ifr;
	struct kpi_stats now;
	int i, bad = 0;

	sender_join();
	for (i = 0; i < READERS; ++i)
		reader_join(&readers[i]);
	while (nfds > 0)
		del_fd(nfds - 1);
	if (unloaded) {
		if (kpi_kldload("if_tun") != 0) {
			fprintf(stderr, "fuzz: if_tun does not load again\n");
			abort();
		}
		unloaded = 0;
	}
	(void)kpi_setuid(0, 0);
	kpi_mbuf_fail(0);
	for (i = 0; i < NNAMES; ++i) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", names[i]);
		(void)kpi_ioctl(s, KPI_SIOCIFDESTROY, &ifr);
	}
	/* wildcard creates: one unit per create at most */
	for (i = 0; i < 64 + creates; ++i) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "tun%d", i);
		(void)kpi_ioctl(s, KPI_SIOCIFDESTROY, &ifr);
	}
	creates = 0;
	kpi_close(s);
	kpi_close(s6);
	if (kpi_sync() != 0) {
		fprintf(stderr, "fuzz: netisr did not drain\n");
		abort();
	}
	kpi_stats(&now);
#define SAME(f) do {							\
	if (now.f != base.f) {						\
		fprintf(stderr, "fuzz: %s %ld -> %ld after the input\n",	\
		    #f, base.f, now.f);					\
		bad = 1;						\
	}								\
} while (0)
	SAME(mbufs);
	SAME(clusters);
	SAME(mbuf_bytes);
	SAME(ifnets);
	SAME(files);
	SAME(knotes);
	SAME(sigios);
	if (check_cdevs)
		SAME(cdevs);
#undef SAME
	if (kpi_malloc_inuse("tun") != base_tun_inuse) {
		fprintf(stderr, "fuzz: tun allocations %ld -> %ld\n",
		    base_tun_inuse, kpi_malloc_inuse("tun"));
		bad = 1;
	}
	if (bad) {
		struct kpi_ifstats st;
		char n[KPI_IFNAMSIZ];

		for (i = 0; i < NNAMES + 80; ++i) {
			if (i < NNAMES)
				snprintf(n, sizeof(n), "%s", names[i]);
			else
				snprintf(n, sizeof(n), "tun%d", i - NNAMES);
			if (kpi_ifstats(n, &st) == 0)
				fprintf(stderr, "fuzz: %s is left (flags %#lx, "
				    "unit %ld)\n", n, st.flags, st.dunit);
		}
		abort();
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (kpi_boot(NULL) != 0 || kpi_kldload("if_tun") != 0)
		abort();
	(void)kpi_setproc(100);
	check_cdevs = getenv("TUNLAB_FUZZ_CDEVS") != NULL;
	trace = getenv("TUNLAB_FUZZ_TRACE") != NULL;
	if (trace) {
		int one = 1;

		(void)kpi_sysctlbyname("net.link.tun.debug", NULL, NULL, &one,
		    sizeof(one));
	}
	kpi_stats(&base);
	base_tun_inuse = kpi_malloc_inuse("tun");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int s, s6;

	s = kpi_socket(KPI_AF_INET, KPI_SOCK_DGRAM, 0);
	s6 = kpi_socket(KPI_AF_INET6, KPI_SOCK_DGRAM, 0);
	run(data, size, s, s6);
	cleanup(s, s6);
	return 0;
}

