/*
 * tlib.h - a small test harness for the driver's host tests.
 *
 * Each test runs in a forked child on a freshly booted kpi with if_tun
 * loaded; after the test the child unloads the module and checks that
 * nothing leaked (mbufs, clusters, tun's malloc type, cdevs, interfaces,
 * files, knotes, sigio records).  The parent prints one line per test and
 * a closing "N passed, N failed[, N skipped]" line.
 */
#ifndef TLIB_H
#define TLIB_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kpi_sys.h"

typedef void (*tl_fn)(void);

struct tl_test {
	const char	*name;
	tl_fn		fn;
	int		timeout_s;
};

void	tl_register(const char *name, tl_fn fn, int timeout_s);
int	tl_main(int argc, char **argv);

#define TEST_T(name, timeout)						\
	static void name(void);						\
	__attribute__((constructor)) static void name##_reg(void)	\
	{ tl_register(#name, name, timeout); }				\
	static void name(void)
#define TEST(name)	TEST_T(name, 30)

extern int tl_failed;
void	tl_fail(const char *file, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
__attribute__((noreturn)) void tl_abort(void);
__attribute__((noreturn)) void tl_skip(const char *why);
void	tl_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond) do {						\
	if (!(cond))							\
		tl_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);	\
} while (0)
#define REQUIRE(cond) do {						\
	if (!(cond)) {							\
		tl_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);	\
		tl_abort();						\
	}								\
} while (0)
#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b)							\
		tl_fail(__FILE__, __LINE__, "%s == %s: got %lld, want %lld", \
		    #a, #b, _a, _b);					\
} while (0)
#define REQUIRE_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		tl_fail(__FILE__, __LINE__, "%s == %s: got %lld, want %lld", \
		    #a, #b, _a, _b);					\
		tl_abort();						\
	}								\
} while (0)
/* a kpi call that must succeed (returns >= 0) */
#define OK(call) ({							\
	long _r = (long)(call);						\
	if (_r < 0) {							\
		tl_fail(__FILE__, __LINE__, "%s failed: %s", #call,	\
		    kpi_strerror(kpi_errno()));				\
		tl_abort();						\
	}								\
	_r;								\
})
/* a kpi call that must fail with DragonFly errno e (by name) */
#define FAILS(call, e) do {						\
	long _r = (long)(call);						\
	if (_r >= 0)							\
		tl_fail(__FILE__, __LINE__, "%s: succeeded (%ld), want %s", \
		    #call, _r, kpi_strerror(KPI_##e));			\
	else if (kpi_errno() != KPI_##e)				\
		tl_fail(__FILE__, __LINE__, "%s: got %s, want %s",	\
		    #call, kpi_strerror(kpi_errno()),			\
		    kpi_strerror(KPI_##e));				\
} while (0)

/* ---- helpers over the kpi system calls ---- */
struct tl_tun {
	int	fd;
	char	name[KPI_IFNAMSIZ];
};
int	tl_open_tun(struct tl_tun *t);		/* /dev/tun, fails the test */
int	tl_sock(void);				/* an AF_INET DGRAM socket */
int	tl_sock6(void);
int	tl_ifcreate(const char *name, char *out);	/* errno or 0 */
int	tl_ifdestroy(const char *name);
int	tl_ifflags(const char *name);
void	tl_ifup(const char *name, int up);
/* "ifconfig name local peer": IPv4 point-to-point addresses */
void	tl_ifaddr4(const char *name, const char *local, const char *peer);
void	tl_ifaddr6(const char *name, const char *local, int plen);
uint32_t tl_ip4(const char *dotted);		/* network order */
void	tl_ip6(const char *text, uint8_t out[16]);
/* wait until fd is readable; 1 ready, 0 timeout */
int	tl_wait_readable(int fd, int timeout_ms);
/* packets */
size_t	tl_icmp_echo4(uint8_t *buf, uint32_t src, uint32_t dst, uint16_t id,
	    uint16_t seq, size_t payload);
size_t	tl_icmp_echo6(uint8_t *buf, const uint8_t src[16],
	    const uint8_t dst[16], uint16_t id, uint16_t seq, size_t payload);
size_t	tl_udp4(uint8_t *buf, uint32_t src, uint32_t dst, uint16_t sport,
	    uint16_t dport, const void *data, size_t len);
uint16_t tl_cksum(const void *buf, size_t len);
static inline uint32_t htonl_kpi(uint32_t x) { return __builtin_bswap32(x); }
static inline uint16_t htons_kpi(uint16_t x) { return __builtin_bswap16(x); }
/* leak baseline */
void	tl_stats(struct kpi_stats *s);
#endif
