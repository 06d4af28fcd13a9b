/*
 * tlib.c - the test runner and helpers (see tlib.h).
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tlib.h"

#define TL_MAX	256
#define TL_SKIP_STATUS	77

static struct tl_test tl_tests[TL_MAX];
static int tl_ntests;
int tl_failed;
static int tl_verbose;

void
tl_register(const char *name, tl_fn fn, int timeout_s)
{
	if (tl_ntests < TL_MAX) {
		tl_tests[tl_ntests].name = name;
		tl_tests[tl_ntests].fn = fn;
		tl_tests[tl_ntests].timeout_s = timeout_s;
		tl_ntests++;
	}
}

void
tl_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tl_failed++;
	fprintf(stderr, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
tl_note(const char *fmt, ...)
{
	va_list ap;

	if (!tl_verbose)
		return;
	fprintf(stderr, "    note: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
tl_abort(void)
{
	fflush(stderr);
	_exit(1);
}

void
tl_skip(const char *why)
{
	fprintf(stderr, "    skipped: %s\n", why);
	fflush(stderr);
	_exit(TL_SKIP_STATUS);
}

void
tl_stats(struct kpi_stats *s)
{
	kpi_stats(s);
}

static int
tl_leakcheck(const struct kpi_stats *b)
{
	struct kpi_stats a;
	int bad = 0;

	kpi_sync();
	kpi_stats(&a);
#define LEAK(f) do {							\
	if (a.f != b->f) {						\
		fprintf(stderr, "    leak: %s %ld -> %ld\n", #f, b->f, a.f); \
		bad = 1;						\
	}								\
} while (0)
	LEAK(mbufs);
	LEAK(clusters);
	LEAK(mbuf_bytes);
	if (a.cdevs != b->cdevs)
		fprintf(stderr, "    (a leaked cdev is a reference_dev() never "
		    "released: destroy_dev() drops only devfs's link and the "
		    "two ad-hoc references)\n");
	LEAK(cdevs);
	LEAK(ifnets);
	LEAK(files);
	LEAK(knotes);
	LEAK(sigios);
#undef LEAK
	if (kpi_malloc_inuse("tun") > 0) {
		fprintf(stderr, "    leak: %ld allocation(s) of malloc type "
		    "tun\n", kpi_malloc_inuse("tun"));
		bad = 1;
	}
	return bad;
}

static void
tl_run_child(const struct tl_test *t)
{
	struct kpi_stats base;

	if (kpi_boot(NULL) != 0) {
		fprintf(stderr, "    kpi_boot failed\n");
		_exit(1);
	}
	kpi_stats(&base);
	if (kpi_kldload("if_tun") != 0) {
		fprintf(stderr, "    kldload if_tun: %s\n",
		    kpi_strerror(kpi_errno()));
		_exit(1);
	}
	t->fn();
	/* a test leaves no fd behind it didn't mean to; close the rest */
	kpi_sync();
	if (kpi_kldunload("if_tun") != 0 && kpi_errno() != KPI_ENOENT) {
		fprintf(stderr, "    kldunload if_tun at the end: %s\n",
		    kpi_strerror(kpi_errno()));
		tl_failed++;
	} else if (tl_leakcheck(&base)) {
		tl_failed++;
	}
	kpi_halt();
	fflush(stderr);
	_exit(tl_failed ? 1 : 0);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
tl_main(int argc, char **argv)
{
	int i, passed = 0, failed = 0, skipped = 0, nofork = 0;
	const char *filter = NULL;
	double t0 = now_s();

	for (i = 1; i < argc; ++i) {
		if (strcmp(argv[i], "-v") == 0)
			tl_verbose = 1;
		else if (strcmp(argv[i], "-n") == 0)
			nofork = 1;
		else
			filter = argv[i];
	}
	if (getenv("TLIB_VERBOSE") != NULL)
		tl_verbose = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < tl_ntests; ++i) {
		const struct tl_test *t = &tl_tests[i];
		double start = now_s(), elapsed;
		int status = 0, timedout = 0;
		pid_t pid;

		if (filter != NULL && strstr(t->name, filter) == NULL)
			continue;
		if (nofork) {
			tl_run_child(t);	/* does not return */
		}
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		if (pid == 0) {
			alarm(t->timeout_s + 5);
			tl_run_child(t);
		}
		for (;;) {
			pid_t r = waitpid(pid, &status, WNOHANG);

			if (r == pid)
				break;
			if (now_s() - start > t->timeout_s) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				timedout = 1;
				break;
			}
			usleep(2000);
		}
		elapsed = now_s() - start;
		if (timedout) {
			printf("FAIL %s (timeout after %ds)\n", t->name,
			    t->timeout_s);
			failed++;
		} else if (WIFEXITED(status) &&
		    WEXITSTATUS(status) == TL_SKIP_STATUS) {
			printf("skip %s\n", t->name);
			skipped++;
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("ok   %s (%.0f ms)\n", t->name, elapsed * 1000);
			passed++;
		} else {
			if (WIFSIGNALED(status))
				printf("FAIL %s (signal %d)\n", t->name,
				    WTERMSIG(status));
			else
				printf("FAIL %s (exit %d)\n", t->name,
				    WEXITSTATUS(status));
			failed++;
		}
	}
	printf("# %.1f s\n", now_s() - t0);
	if (skipped)
		printf("%d passed, %d failed, %d skipped\n", passed, failed,
		    skipped);
	else
		printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

/* ---- helpers ---- */

int
tl_open_tun(struct tl_tun *t)
{
	struct kpi_ifreq ifr;

	t->fd = kpi_open("/dev/tun", KPI_O_RDWR);
	if (t->fd < 0) {
		tl_fail(__FILE__, __LINE__, "open /dev/tun: %s",
		    kpi_strerror(kpi_errno()));
		tl_abort();
	}
	memset(&ifr, 0, sizeof(ifr));
	if (kpi_ioctl(t->fd, KPI_TUNGIFNAME, &ifr) != 0) {
		tl_fail(__FILE__, __LINE__, "TUNGIFNAME: %s",
		    kpi_strerror(kpi_errno()));
		tl_abort();
	}
	snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
	return t->fd;
}

int
tl_sock(void)
{
	return OK(kpi_socket(KPI_AF_INET, KPI_SOCK_DGRAM, 0));
}

int
tl_sock6(void)
{
	return OK(kpi_socket(KPI_AF_INET6, KPI_SOCK_DGRAM, 0));
}

int
tl_ifcreate(const char *name, char *out)
{
	struct kpi_ifreq ifr;
	int s = tl_sock(), r;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	r = kpi_ioctl(s, KPI_SIOCIFCREATE2, &ifr);
	r = r < 0 ? kpi_errno() : 0;
	if (r == 0 && out != NULL)
		snprintf(out, KPI_IFNAMSIZ, "%s", ifr.ifr_name);
	kpi_close(s);
	return r;
}

int
tl_ifdestroy(const char *name)
{
	struct kpi_ifreq ifr;
	int s = tl_sock(), r;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	r = kpi_ioctl(s, KPI_SIOCIFDESTROY, &ifr);
	r = r < 0 ? kpi_errno() : 0;
	kpi_close(s);
	return r;
}

int
tl_ifflags(const char *name)
{
	struct kpi_ifreq ifr;
	int s = tl_sock(), r;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	r = kpi_ioctl(s, KPI_SIOCGIFFLAGS, &ifr);
	kpi_close(s);
	if (r < 0)
		return -1;
	/* unsigned: a negative ifr_flagshigh must not shift into UB */
	return (int)(((unsigned)ifr.ifr_flags & 0xffff) |
	    ((unsigned)(unsigned short)ifr.ifr_flagshigh << 16));
}

void
tl_ifup(const char *name, int up)
{
	struct kpi_ifreq ifr;
	int s = tl_sock(), flags = tl_ifflags(name);

	REQUIRE(flags >= 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	flags = up ? (flags | KPI_IFF_UP) : (flags & ~KPI_IFF_UP);
	ifr.ifr_flags = (short)flags;
	ifr.ifr_flagshigh = (short)(flags >> 16);
	OK(kpi_ioctl(s, KPI_SIOCSIFFLAGS, &ifr));
	kpi_close(s);
}

uint32_t
tl_ip4(const char *dotted)
{
	unsigned a, b, c, d;

	if (sscanf(dotted, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
		abort();
	return htonl_kpi((a << 24) | (b << 16) | (c << 8) | d);
}

void
tl_ip6(const char *text, uint8_t out[16])
{
	/* only the forms the tests use: "fd00::N" */
	unsigned n;

	memset(out, 0, 16);
	if (sscanf(text, "fd00::%x", &n) != 1)
		abort();
	out[0] = 0xfd;
	out[14] = (uint8_t)(n >> 8);
	out[15] = (uint8_t)n;
}

void
tl_ifaddr4(const char *name, const char *local, const char *peer)
{
	struct kpi_in_aliasreq ifra;
	int s = tl_sock();

	memset(&ifra, 0, sizeof(ifra));
	snprintf(ifra.ifra_name, sizeof(ifra.ifra_name), "%s", name);
	ifra.ifra_addr.sin_len = sizeof(ifra.ifra_addr);
	ifra.ifra_addr.sin_family = KPI_AF_INET;
	ifra.ifra_addr.sin_addr.s_addr = tl_ip4(local);
	ifra.ifra_broadaddr.sin_len = sizeof(ifra.ifra_broadaddr);
	ifra.ifra_broadaddr.sin_family = KPI_AF_INET;
	ifra.ifra_broadaddr.sin_addr.s_addr = tl_ip4(peer);
	ifra.ifra_mask.sin_len = sizeof(ifra.ifra_mask);
	ifra.ifra_mask.sin_family = KPI_AF_INET;
	ifra.ifra_mask.sin_addr.s_addr = 0xffffffffu;
	OK(kpi_ioctl(s, KPI_SIOCAIFADDR, &ifra));
	kpi_close(s);
}

void
tl_ifaddr6(const char *name, const char *local, int plen)
{
	struct kpi_in6_aliasreq ifra;
	int s = tl_sock6(), i;

	memset(&ifra, 0, sizeof(ifra));
	snprintf(ifra.ifra_name, sizeof(ifra.ifra_name), "%s", name);
	ifra.ifra_addr.sin6_len = sizeof(ifra.ifra_addr);
	ifra.ifra_addr.sin6_family = KPI_AF_INET6;
	tl_ip6(local, ifra.ifra_addr.sin6_addr.s6_addr);
	ifra.ifra_prefixmask.sin6_len = sizeof(ifra.ifra_prefixmask);
	ifra.ifra_prefixmask.sin6_family = KPI_AF_INET6;
	for (i = 0; i < plen; ++i)
		ifra.ifra_prefixmask.sin6_addr.s6_addr[i / 8] |=
		    (uint8_t)(0x80 >> (i % 8));
	ifra.ifra_lifetime.ia6t_vltime = 0xffffffffu;
	ifra.ifra_lifetime.ia6t_pltime = 0xffffffffu;
	OK(kpi_ioctl(s, KPI_SIOCAIFADDR_IN6, &ifra));
	kpi_close(s);
}

int
tl_wait_readable(int fd, int timeout_ms)
{
	struct kpi_pollfd p;
	int n;

	p.fd = fd;
	p.events = KPI_POLLIN;
	p.revents = 0;
	n = kpi_poll(&p, 1, timeout_ms);
	return n > 0 && (p.revents & KPI_POLLIN);
}

uint16_t
tl_cksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t sum = 0;

	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	return (uint16_t)((sum >> 8) | (sum << 8));	/* network order */
}

static void
ip4_hdr(uint8_t *b, size_t total, uint8_t proto, uint32_t src, uint32_t dst)
{
	uint16_t c;

	memset(b, 0, 20);
	b[0] = 0x45;
	b[2] = (uint8_t)(total >> 8);
	b[3] = (uint8_t)total;
	b[4] = 0x12;
	b[5] = 0x34;
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, &src, 4);
	memcpy(b + 16, &dst, 4);
	c = tl_cksum(b, 20);
	memcpy(b + 10, &c, 2);
}

size_t
tl_icmp_echo4(uint8_t *buf, uint32_t src, uint32_t dst, uint16_t id,
    uint16_t seq, size_t payload)
{
	uint8_t *icmp = buf + 20;
	size_t i, len = 8 + payload;
	uint16_t c;

	ip4_hdr(buf, 20 + len, 1, src, dst);
	icmp[0] = 8;
	icmp[1] = 0;
	icmp[2] = icmp[3] = 0;
	icmp[4] = (uint8_t)(id >> 8);
	icmp[5] = (uint8_t)id;
	icmp[6] = (uint8_t)(seq >> 8);
	icmp[7] = (uint8_t)seq;
	for (i = 0; i < payload; ++i)
		icmp[8 + i] = (uint8_t)(i * 7 + seq);
	c = tl_cksum(icmp, len);
	memcpy(icmp + 2, &c, 2);
	return 20 + len;
}

size_t
tl_icmp_echo6(uint8_t *buf, const uint8_t src[16], const uint8_t dst[16],
    uint16_t id, uint16_t seq, size_t payload)
{
	uint8_t *icmp = buf + 40, ph[40];
	size_t i, len = 8 + payload;
	uint32_t sum = 0;
	uint16_t c;

	memset(buf, 0, 40);
	buf[0] = 0x60;
	buf[4] = (uint8_t)(len >> 8);
	buf[5] = (uint8_t)len;
	buf[6] = 58;
	buf[7] = 64;
	memcpy(buf + 8, src, 16);
	memcpy(buf + 24, dst, 16);
	icmp[0] = 128;
	icmp[1] = 0;
	icmp[2] = icmp[3] = 0;
	icmp[4] = (uint8_t)(id >> 8);
	icmp[5] = (uint8_t)id;
	icmp[6] = (uint8_t)(seq >> 8);
	icmp[7] = (uint8_t)seq;
	for (i = 0; i < payload; ++i)
		icmp[8 + i] = (uint8_t)(i + seq);
	/* pseudo-header sum, then the message */
	memset(ph, 0, sizeof(ph));
	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	ph[34] = (uint8_t)(len >> 8);
	ph[35] = (uint8_t)len;
	ph[39] = 58;
	for (i = 0; i < 40; i += 2)
		sum += (uint32_t)ph[i] << 8 | ph[i + 1];
	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)icmp[i] << 8 | icmp[i + 1];
	if (len & 1)
		sum += (uint32_t)icmp[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	c = (uint16_t)((sum >> 8) | (sum << 8));
	memcpy(icmp + 2, &c, 2);
	return 40 + len;
}

size_t
tl_udp4(uint8_t *buf, uint32_t src, uint32_t dst, uint16_t sport,
    uint16_t dport, const void *data, size_t len)
{
	uint8_t *uh = buf + 20;
	size_t ulen = 8 + len;

	ip4_hdr(buf, 20 + ulen, 17, src, dst);
	uh[0] = (uint8_t)(sport >> 8);
	uh[1] = (uint8_t)sport;
	uh[2] = (uint8_t)(dport >> 8);
	uh[3] = (uint8_t)dport;
	uh[4] = (uint8_t)(ulen >> 8);
	uh[5] = (uint8_t)ulen;
	uh[6] = uh[7] = 0;		/* no checksum (IPv4 allows it) */
	memmove(uh + 8, data, len);
	return 20 + ulen;
}
