/*
 * kpi_sys.c - host side of the user-facing system-call interface.  Every
 * kpi_* call enters the kernel half (kpik_*), then turns the DragonFly
 * errno it returns into -1 and the host errno of the same name.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kpi_sys.h"
#include "kpi_kernsys.h"
#include "hostif.h"

_Static_assert(sizeof(struct kpi_ifreq) == 32, "ifreq is 32 bytes");
_Static_assert(sizeof(struct kpi_tuninfo) == 8, "tuninfo is 8 bytes");
_Static_assert(sizeof(struct kpi_kevent) == 32, "kevent layout");
_Static_assert(sizeof(struct kpi_sockaddr_in) == 16, "sockaddr_in");
_Static_assert(sizeof(struct kpi_sockaddr_in6) == 28, "sockaddr_in6");
_Static_assert(KPI_TUNGIFNAME == 0x40207462UL, "TUNGIFNAME");
_Static_assert(KPI_TUNSIFINFO == 0x8008745bUL, "TUNSIFINFO");
_Static_assert(KPI_TUNSIFPID == 0x2000745fUL, "TUNSIFPID");

_Static_assert(KPI_NSTATS == 29, "struct kpi_stats matches enum kpi_stat");
_Static_assert(KPI_NIFSTATS == 20, "struct kpi_ifstats matches kpik_ifstats");

static __thread int kpi_last_errno;

static const struct {
	int	dfly;
	int	host;
	const char *name;
} errmap[] = {
	{ 1, EPERM, "EPERM" }, { 2, ENOENT, "ENOENT" }, { 3, ESRCH, "ESRCH" },
	{ 4, EINTR, "EINTR" }, { 5, EIO, "EIO" }, { 6, ENXIO, "ENXIO" },
	{ 7, E2BIG, "E2BIG" }, { 8, ENOEXEC, "ENOEXEC" }, { 9, EBADF, "EBADF" },
	{ 10, ECHILD, "ECHILD" }, { 11, EDEADLK, "EDEADLK" },
	{ 12, ENOMEM, "ENOMEM" }, { 13, EACCES, "EACCES" },
	{ 14, EFAULT, "EFAULT" }, { 15, ENOTBLK, "ENOTBLK" },
	{ 16, EBUSY, "EBUSY" }, { 17, EEXIST, "EEXIST" }, { 18, EXDEV, "EXDEV" },
	{ 19, ENODEV, "ENODEV" }, { 20, ENOTDIR, "ENOTDIR" },
	{ 21, EISDIR, "EISDIR" }, { 22, EINVAL, "EINVAL" },
	{ 23, ENFILE, "ENFILE" }, { 24, EMFILE, "EMFILE" },
	{ 25, ENOTTY, "ENOTTY" }, { 26, ETXTBSY, "ETXTBSY" },
	{ 27, EFBIG, "EFBIG" }, { 28, ENOSPC, "ENOSPC" },
	{ 29, ESPIPE, "ESPIPE" }, { 30, EROFS, "EROFS" },
	{ 31, EMLINK, "EMLINK" }, { 32, EPIPE, "EPIPE" }, { 33, EDOM, "EDOM" },
	{ 34, ERANGE, "ERANGE" }, { 35, EAGAIN, "EAGAIN" },
	{ 36, EINPROGRESS, "EINPROGRESS" }, { 37, EALREADY, "EALREADY" },
	{ 38, ENOTSOCK, "ENOTSOCK" }, { 39, EDESTADDRREQ, "EDESTADDRREQ" },
	{ 40, EMSGSIZE, "EMSGSIZE" }, { 41, EPROTOTYPE, "EPROTOTYPE" },
	{ 42, ENOPROTOOPT, "ENOPROTOOPT" },
	{ 43, EPROTONOSUPPORT, "EPROTONOSUPPORT" },
	{ 44, ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT" },
	{ 45, EOPNOTSUPP, "EOPNOTSUPP" }, { 46, EPFNOSUPPORT, "EPFNOSUPPORT" },
	{ 47, EAFNOSUPPORT, "EAFNOSUPPORT" }, { 48, EADDRINUSE, "EADDRINUSE" },
	{ 49, EADDRNOTAVAIL, "EADDRNOTAVAIL" }, { 50, ENETDOWN, "ENETDOWN" },
	{ 51, ENETUNREACH, "ENETUNREACH" }, { 52, ENETRESET, "ENETRESET" },
	{ 53, ECONNABORTED, "ECONNABORTED" }, { 54, ECONNRESET, "ECONNRESET" },
	{ 55, ENOBUFS, "ENOBUFS" }, { 56, EISCONN, "EISCONN" },
	{ 57, ENOTCONN, "ENOTCONN" }, { 58, ESHUTDOWN, "ESHUTDOWN" },
	{ 59, ETOOMANYREFS, "ETOOMANYREFS" }, { 60, ETIMEDOUT, "ETIMEDOUT" },
	{ 61, ECONNREFUSED, "ECONNREFUSED" }, { 62, ELOOP, "ELOOP" },
	{ 63, ENAMETOOLONG, "ENAMETOOLONG" }, { 64, EHOSTDOWN, "EHOSTDOWN" },
	{ 65, EHOSTUNREACH, "EHOSTUNREACH" }, { 66, ENOTEMPTY, "ENOTEMPTY" },
	{ 69, EDQUOT, "EDQUOT" }, { 70, ESTALE, "ESTALE" },
	{ 77, ENOLCK, "ENOLCK" }, { 78, ENOSYS, "ENOSYS" },
	{ 84, EOVERFLOW, "EOVERFLOW" }, { 85, ECANCELED, "ECANCELED" },
	{ 86, EILSEQ, "EILSEQ" }, { 89, EBADMSG, "EBADMSG" },
	{ 90, EMULTIHOP, "EMULTIHOP" }, { 91, ENOLINK, "ENOLINK" },
	{ 92, EPROTO, "EPROTO" }, { 93, ENOMEDIUM, "ENOMEDIUM" },
};

static int
kpi_fail(int dfly)
{
	size_t i;

	kpi_last_errno = dfly;
	for (i = 0; i < sizeof(errmap) / sizeof(errmap[0]); ++i) {
		if (errmap[i].dfly == dfly) {
			errno = errmap[i].host;
			return -1;
		}
	}
	errno = EINVAL;
	return -1;
}

#define KPI_RET(expr) do {						\
	int _e = (expr);						\
	if (_e)								\
		return kpi_fail(_e);					\
	kpi_last_errno = 0;						\
} while (0)

int
kpi_errno(void)
{
	return kpi_last_errno;
}

const char *
kpi_strerror(int dfly)
{
	size_t i;

	if (dfly == 0)
		return "0";
	for (i = 0; i < sizeof(errmap) / sizeof(errmap[0]); ++i) {
		if (errmap[i].dfly == dfly)
			return errmap[i].name;
	}
	return "E?";
}

static int kpi_console_verbose = -1;
static void (*kpi_console_fn)(const char *);

static void
kpi_console(const char *line)
{
	if (kpi_console_fn != NULL)
		kpi_console_fn(line);
	else if (kpi_console_verbose > 0)
		fputs(line, stderr);
}

void
kpi_set_console(void (*fn)(const char *line))
{
	kpi_console_fn = fn;
}

int
kpi_boot(const struct kpi_config *cfg)
{
	int ncpu = 1, verbose = 0;

	if (cfg != NULL) {
		ncpu = cfg->ncpus;
		verbose = cfg->verbose;
	}
	if (getenv("KPI_VERBOSE") != NULL)
		verbose = atoi(getenv("KPI_VERBOSE")) ? atoi(
		    getenv("KPI_VERBOSE")) : 1;
	kpi_console_verbose = verbose;
	hostif_set_log_hook(kpi_console);
	KPI_RET(kpik_boot(ncpu, verbose));
	return 0;
}

int
kpi_halt(void)
{
	KPI_RET(kpik_halt());
	return 0;
}

int
kpi_kldload(const char *module)
{
	KPI_RET(kpik_kldload(module));
	return 0;
}

int
kpi_kldunload(const char *module)
{
	KPI_RET(kpik_kldunload(module));
	return 0;
}

int
kpi_setproc(int pid)
{
	KPI_RET(kpik_setproc(pid));
	return 0;
}

int
kpi_getpid(void)
{
	return kpik_getpid();
}

int
kpi_setuid(unsigned int uid, unsigned int gid)
{
	KPI_RET(kpik_setuid(uid, gid));
	return 0;
}

unsigned long
kpi_sigcount(int pid, int sig)
{
	return kpik_sigcount(pid, sig);
}

int
kpi_thread_id(void)
{
	return kpik_thread_id();
}

int
kpi_thread_interrupt(int tid)
{
	KPI_RET(kpik_thread_interrupt(tid));
	return 0;
}

int
kpi_thread_sleeping(int tid, const char **wmesg)
{
	return kpik_thread_sleeping(tid, wmesg);
}

void
kpi_thread_exit(void)
{
	kpik_thread_exit();
}

int
kpi_open(const char *path, int flags)
{
	int fd = -1;

	KPI_RET(kpik_open(path, flags, &fd));
	return fd;
}

int
kpi_close(int fd)
{
	KPI_RET(kpik_close(fd));
	return 0;
}

ssize_t
kpi_read(int fd, void *buf, size_t n)
{
	long res = 0;

	KPI_RET(kpik_read(fd, buf, n, &res));
	return res;
}

ssize_t
kpi_write(int fd, const void *buf, size_t n)
{
	long res = 0;

	KPI_RET(kpik_write(fd, buf, n, &res));
	return res;
}

int
kpi_ioctl(int fd, unsigned long req, void *arg)
{
	KPI_RET(kpik_ioctl(fd, req, arg));
	return 0;
}

int
kpi_fcntl(int fd, int cmd, long arg)
{
	int res = 0;

	KPI_RET(kpik_fcntl(fd, cmd, arg, &res));
	return res;
}

int
kpi_socket(int domain, int type, int protocol)
{
	int fd = -1;

	KPI_RET(kpik_socket(domain, type, protocol, &fd));
	return fd;
}

int
kpi_bind(int s, const struct kpi_sockaddr *sa, unsigned int salen)
{
	KPI_RET(kpik_bind(s, sa, salen));
	return 0;
}

int
kpi_getsockname(int s, struct kpi_sockaddr *sa, unsigned int *salen)
{
	KPI_RET(kpik_getsockname(s, sa, salen));
	return 0;
}

ssize_t
kpi_sendto(int s, const void *buf, size_t n, int flags,
    const struct kpi_sockaddr *to, unsigned int tolen)
{
	long res = 0;

	KPI_RET(kpik_sendto(s, buf, n, flags, to, tolen, &res));
	return res;
}

ssize_t
kpi_recvfrom(int s, void *buf, size_t n, int flags,
    struct kpi_sockaddr *from, unsigned int *fromlen)
{
	long res = 0;

	KPI_RET(kpik_recvfrom(s, buf, n, flags, from, fromlen, &res));
	return res;
}

int
kpi_kqueue(void)
{
	int fd = -1;

	KPI_RET(kpik_kqueue(&fd));
	return fd;
}

int
kpi_kevent(int kq, const struct kpi_kevent *changes, int nchanges,
    struct kpi_kevent *events, int nevents,
    const struct kpi_timespec *timeout)
{
	long long ns = -1;
	int res = 0;

	if (timeout != NULL) {
		if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
		    timeout->tv_nsec >= 1000000000L)
			return kpi_fail(KPI_EINVAL);
		ns = (long long)timeout->tv_sec * 1000000000LL +
		    timeout->tv_nsec;
	}
	KPI_RET(kpik_kevent(kq, (const struct kpik_kevent *)changes, nchanges,
	    (struct kpik_kevent *)events, nevents, ns, &res));
	return res;
}

int
kpi_poll(struct kpi_pollfd *fds, unsigned int nfds, int timeout_ms)
{
	int res = 0;

	KPI_RET(kpik_poll((struct kpik_pollfd *)fds, nfds, timeout_ms, &res));
	return res;
}

int
kpi_sysctlbyname(const char *name, void *oldp, size_t *oldlenp,
    const void *newp, size_t newlen)
{
	KPI_RET(kpik_sysctlbyname(name, oldp, oldlenp, newp, newlen));
	return 0;
}

int
kpi_bpf_open(const char *ifname)
{
	int fd = -1;

	KPI_RET(kpik_bpf_open(ifname, &fd));
	return fd;
}

int
kpi_devstat(const char *path, unsigned int *uid, unsigned int *gid, int *mode)
{
	KPI_RET(kpik_devstat(path, uid, gid, mode));
	return 0;
}

int
kpi_fdevname(int fd, char *buf, size_t len)
{
	KPI_RET(kpik_fdevname(fd, buf, len));
	return 0;
}

int
kpi_stack_output(const char *ifname, int af, const void *pkt, size_t len)
{
	return kpik_stack_output(ifname, af, pkt, len);
}

int
kpi_sync(void)
{
	KPI_RET(kpik_sync());
	return 0;
}

void
kpi_stats(struct kpi_stats *st)
{
	kpik_stats((long *)st, (int)KPI_NSTATS);
}

int
kpi_ifstats(const char *ifname, struct kpi_ifstats *st)
{
	memset(st, 0, sizeof(*st));
	KPI_RET(kpik_ifstats(ifname, (long *)st, (int)KPI_NIFSTATS));
	return 0;
}

long
kpi_malloc_inuse(const char *type)
{
	return kpik_malloc_inuse(type);
}

void
kpi_fault_drop_wakeups(long n, const char *wmesg)
{
	kpik_fault_drop_wakeups(n, wmesg);
}

void
kpi_fault_sleep_window(long max_us, const char *wmesg)
{
	kpik_fault_sleep_window(max_us, wmesg);
}

int
kpi_thread_at_sleep_door(int tid)
{
	return kpik_thread_at_sleep_door(tid);
}

void
kpi_fault_preempt_sleep(long us)
{
	kpik_fault_preempt_sleep(us);
}

void
kpi_mbuf_fail(long nth)
{
	kpik_mbuf_fail(nth);
}

void
kpi_mbuf_fail_any(long nth)
{
	kpik_mbuf_fail_any(nth);
}

int
kpi_panic_count(void)
{
	return kpik_panic_count();
}

const char *
kpi_last_panic(void)
{
	return kpik_last_panic();
}
