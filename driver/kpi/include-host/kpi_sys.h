/*
 * kpi_sys.h - the user-facing system-call interface of the kpi emulation.
 *
 * Host C code (the unit tests, the fuzzer, the agent's BSD backend on the
 * kpi target) drives the emulated DragonFly kernel through these calls.
 * They have the names and argument shapes of the BSD system calls with a
 * kpi_ prefix, return -1 with errno set on failure (errno holds the *host*
 * value of the same name, e.g. EAGAIN; kpi_errno() gives DragonFly's
 * number), and take DragonFly's ioctl numbers and structure layouts
 * (struct kpi_ifreq is DragonFly's 32-byte struct ifreq, sockaddrs carry
 * sa_len, AF_INET6 is 28, ...).
 *
 * Do not include glibc's <net/if.h>, <sys/socket.h>, <sys/ioctl.h> or
 * <fcntl.h> in the same file: the BSD member names (ifr_name, sin_len...)
 * are defined here with DragonFly's layouts.
 *
 * A backend written against this header runs unchanged on DragonFly by
 * including kpi_native.h instead, which maps every kpi_ name onto libc.
 */
#ifndef _KPI_SYS_H_
#define _KPI_SYS_H_

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef _NET_IF_H
#error "kpi_sys.h: do not mix with glibc <net/if.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- ioctl encoding and numbers (DragonFly's values) ---- */
#define KPI_IOC_VOID	0x20000000UL
#define KPI_IOC_OUT	0x40000000UL
#define KPI_IOC_IN	0x80000000UL
#define KPI_IOC_INOUT	(KPI_IOC_IN | KPI_IOC_OUT)
#define KPI_IOC(inout, g, n, len) ((unsigned long) \
	((inout) | ((((unsigned long)(len)) & 0x1fff) << 16) | ((g) << 8) | (n)))
#define KPI_IO(g, n)		KPI_IOC(KPI_IOC_VOID, (g), (n), 0)
#define KPI_IOR(g, n, t)	KPI_IOC(KPI_IOC_OUT, (g), (n), sizeof(t))
#define KPI_IOW(g, n, t)	KPI_IOC(KPI_IOC_IN, (g), (n), sizeof(t))
#define KPI_IOWR(g, n, t)	KPI_IOC(KPI_IOC_INOUT, (g), (n), sizeof(t))

/* ---- types with DragonFly's layouts ---- */
#define KPI_IFNAMSIZ	16

struct kpi_sockaddr {
	uint8_t		sa_len;
	uint8_t		sa_family;
	char		sa_data[14];
};

struct kpi_in_addr {
	uint32_t	s_addr;		/* network order */
};

struct kpi_sockaddr_in {
	uint8_t		sin_len;	/* sizeof(struct kpi_sockaddr_in) */
	uint8_t		sin_family;	/* KPI_AF_INET */
	uint16_t	sin_port;
	struct kpi_in_addr sin_addr;
	char		sin_zero[8];
};

struct kpi_in6_addr {
	uint8_t		s6_addr[16];
};

struct kpi_sockaddr_in6 {
	uint8_t		sin6_len;
	uint8_t		sin6_family;	/* KPI_AF_INET6 */
	uint16_t	sin6_port;
	uint32_t	sin6_flowinfo;
	struct kpi_in6_addr sin6_addr;
	uint32_t	sin6_scope_id;
};

struct kpi_ifreq {
	char	ifr_name[KPI_IFNAMSIZ];
	union {
		struct kpi_sockaddr ifru_addr;
		struct kpi_sockaddr ifru_dstaddr;
		struct kpi_sockaddr ifru_broadaddr;
		short	ifru_flags[2];
		short	ifru_index;
		int	ifru_metric;
		int	ifru_mtu;
		int	ifru_phys;
		int	ifru_media;
		void	*ifru_data;
		int	ifru_cap[2];
		int	ifru_pollcpu;
		int	ifru_tsolen;
	} ifr_ifru;
};
#ifndef KPI_NO_BSD_FIELD_MACROS
#define ifr_addr	ifr_ifru.ifru_addr
#define ifr_dstaddr	ifr_ifru.ifru_dstaddr
#define ifr_broadaddr	ifr_ifru.ifru_broadaddr
#define ifr_flags	ifr_ifru.ifru_flags[0]
#define ifr_flagshigh	ifr_ifru.ifru_flags[1]
#define ifr_metric	ifr_ifru.ifru_metric
#define ifr_mtu		ifr_ifru.ifru_mtu
#define ifr_data	ifr_ifru.ifru_data
#define ifr_index	ifr_ifru.ifru_index
#endif

struct kpi_in_aliasreq {
	char	ifra_name[KPI_IFNAMSIZ];
	struct kpi_sockaddr_in ifra_addr;
	struct kpi_sockaddr_in ifra_broadaddr;	/* dstaddr on p2p links */
	struct kpi_sockaddr_in ifra_mask;
};

struct kpi_in6_addrlifetime {
	int64_t		ia6t_expire;
	int64_t		ia6t_preferred;
	uint32_t	ia6t_vltime;
	uint32_t	ia6t_pltime;
};

struct kpi_in6_aliasreq {
	char	ifra_name[KPI_IFNAMSIZ];
	struct kpi_sockaddr_in6 ifra_addr;
	struct kpi_sockaddr_in6 ifra_dstaddr;
	struct kpi_sockaddr_in6 ifra_prefixmask;
	int	ifra_flags;
	struct kpi_in6_addrlifetime ifra_lifetime;
};

#define KPI_IFSTATMAX	800
struct kpi_ifstat {
	char	ifs_name[KPI_IFNAMSIZ];
	char	ascii[KPI_IFSTATMAX + 1];
};

struct kpi_ifgroupreq {
	char	ifgr_name[KPI_IFNAMSIZ];
	unsigned int ifgr_len;
	union {
		char	ifgru_group[KPI_IFNAMSIZ];
		struct kpi_ifg_req *ifgru_groups;
	} ifgr_ifgru;
};
struct kpi_ifg_req {
	char	ifgrq_group[KPI_IFNAMSIZ];
};

struct kpi_tuninfo {
	int		baudrate;
	unsigned short	mtu;
	unsigned char	type;
	unsigned char	dummy;
};

struct kpi_kevent {		/* DragonFly's struct kevent */
	uintptr_t	ident;
	short		filter;
	unsigned short	flags;
	unsigned int	fflags;
	intptr_t	data;
	void		*udata;
};

struct kpi_pollfd {		/* DragonFly's struct pollfd */
	int	fd;
	short	events;
	short	revents;
};

struct kpi_timespec {
	int64_t	tv_sec;
	long	tv_nsec;
};

/* ---- constants (DragonFly's values) ---- */
#define KPI_AF_UNSPEC	0
#define KPI_AF_INET	2
#define KPI_AF_LINK	18
#define KPI_AF_INET6	28
#define KPI_AF_ROUTE	17
#define KPI_SOCK_DGRAM	2
#define KPI_SOCK_RAW	3

#define KPI_O_RDONLY	0x0000
#define KPI_O_WRONLY	0x0001
#define KPI_O_RDWR	0x0002
#define KPI_O_NONBLOCK	0x0004
#define KPI_O_ASYNC	0x0040
#define KPI_F_GETFL	3
#define KPI_F_SETFL	4

#define KPI_IFF_UP		0x1
#define KPI_IFF_BROADCAST	0x2
#define KPI_IFF_POINTOPOINT	0x10
#define KPI_IFF_RUNNING		0x40
#define KPI_IFF_MULTICAST	0x8000
#define KPI_IFT_PPP		0x17
#define KPI_DLT_NULL		0

#define KPI_EVFILT_READ		(-1)
#define KPI_EVFILT_WRITE	(-2)
#define KPI_EVFILT_TIMER	(-7)
#define KPI_EV_ADD		0x0001
#define KPI_EV_DELETE		0x0002
#define KPI_EV_ENABLE		0x0004
#define KPI_EV_DISABLE		0x0008
#define KPI_EV_ONESHOT		0x0010
#define KPI_EV_CLEAR		0x0020
#define KPI_EV_RECEIPT		0x0040
#define KPI_EV_ERROR		0x4000
#define KPI_EV_EOF		0x8000
#define KPI_EV_NODATA		0x1000

#define KPI_POLLIN	0x0001
#define KPI_POLLPRI	0x0002
#define KPI_POLLOUT	0x0004
#define KPI_POLLERR	0x0008
#define KPI_POLLHUP	0x0010
#define KPI_POLLNVAL	0x0020
#define KPI_POLLRDNORM	0x0040

#define KPI_SIGIO	23

#define KPI_FIONREAD	KPI_IOR('f', 127, int)
#define KPI_FIONBIO	KPI_IOW('f', 126, int)
#define KPI_FIOASYNC	KPI_IOW('f', 125, int)
#define KPI_FIOSETOWN	KPI_IOW('f', 124, int)
#define KPI_FIOGETOWN	KPI_IOR('f', 123, int)
#define KPI_TIOCGPGRP	KPI_IOR('t', 119, int)
#define KPI_TIOCSPGRP	KPI_IOW('t', 118, int)

#define KPI_SIOCSIFADDR		KPI_IOW('i', 12, struct kpi_ifreq)
#define KPI_SIOCGIFADDR		KPI_IOWR('i', 33, struct kpi_ifreq)
#define KPI_SIOCSIFDSTADDR	KPI_IOW('i', 14, struct kpi_ifreq)
#define KPI_SIOCGIFDSTADDR	KPI_IOWR('i', 34, struct kpi_ifreq)
#define KPI_SIOCSIFFLAGS	KPI_IOW('i', 16, struct kpi_ifreq)
#define KPI_SIOCGIFFLAGS	KPI_IOWR('i', 17, struct kpi_ifreq)
#define KPI_SIOCSIFNETMASK	KPI_IOW('i', 22, struct kpi_ifreq)
#define KPI_SIOCDIFADDR		KPI_IOW('i', 25, struct kpi_ifreq)
#define KPI_SIOCAIFADDR		KPI_IOW('i', 26, struct kpi_in_aliasreq)
#define KPI_SIOCGIFINDEX	KPI_IOWR('i', 32, struct kpi_ifreq)
#define KPI_SIOCGIFDATA		KPI_IOWR('i', 38, struct kpi_ifreq)
#define KPI_SIOCSIFNAME		KPI_IOW('i', 40, struct kpi_ifreq)
#define KPI_SIOCGIFMTU		KPI_IOWR('i', 51, struct kpi_ifreq)
#define KPI_SIOCSIFMTU		KPI_IOW('i', 52, struct kpi_ifreq)
#define KPI_SIOCGIFSTATUS	KPI_IOWR('i', 59, struct kpi_ifstat)
#define KPI_SIOCIFDESTROY	KPI_IOW('i', 121, struct kpi_ifreq)
#define KPI_SIOCIFCREATE	KPI_IOWR('i', 122, struct kpi_ifreq)
#define KPI_SIOCIFCREATE2	KPI_IOWR('i', 124, struct kpi_ifreq)
#define KPI_SIOCGIFGROUP	KPI_IOWR('i', 136, struct kpi_ifgroupreq)
#define KPI_SIOCAIFADDR_IN6	KPI_IOW('i', 26, struct kpi_in6_aliasreq)

#define KPI_TUNGDEBUG	KPI_IOR('t', 89, int)
#define KPI_TUNSDEBUG	KPI_IOW('t', 90, int)
#define KPI_TUNSIFINFO	KPI_IOW('t', 91, struct kpi_tuninfo)
#define KPI_TUNGIFINFO	KPI_IOR('t', 92, struct kpi_tuninfo)
#define KPI_TUNSLMODE	KPI_IOW('t', 93, int)
#define KPI_TUNSIFMODE	KPI_IOW('t', 94, int)
#define KPI_TUNSIFPID	KPI_IO('t', 95)
#define KPI_TUNSIFHEAD	KPI_IOW('t', 96, int)
#define KPI_TUNGIFHEAD	KPI_IOR('t', 97, int)
#define KPI_TUNGIFNAME	KPI_IOR('t', 98, struct kpi_ifreq)

/* DragonFly errno numbers, for kpi_errno() */
#define KPI_EPERM	1
#define KPI_ENOENT	2
#define KPI_ESRCH	3
#define KPI_EINTR	4
#define KPI_EIO		5
#define KPI_ENXIO	6
#define KPI_EBADF	9
#define KPI_ENOMEM	12
#define KPI_EACCES	13
#define KPI_EFAULT	14
#define KPI_EBUSY	16
#define KPI_EEXIST	17
#define KPI_EINVAL	22
#define KPI_ENOTTY	25
#define KPI_ENOSPC	28
#define KPI_EAGAIN	35
#define KPI_EPROTOTYPE	41
#define KPI_EOPNOTSUPP	45
#define KPI_EAFNOSUPPORT 47
#define KPI_EADDRNOTAVAIL 49
#define KPI_ENOBUFS	55
#define KPI_EHOSTDOWN	64
#define KPI_EHOSTUNREACH 65

/* ---- the machine ---- */
struct kpi_config {
	int	ncpus;		/* emulated CPUs (default 1) */
	int	verbose;	/* echo kprintf to stderr (default: only if
				   KPI_VERBOSE is set in the environment) */
};
int	kpi_boot(const struct kpi_config *cfg);	/* run SYSINITs, netisr */
int	kpi_halt(void);		/* MOD_SHUTDOWN to modules, stop, free */
int	kpi_kldload(const char *module);	/* e.g. "if_tun" */
int	kpi_kldunload(const char *module);

/* the emulated process the calling host thread belongs to */
int	kpi_setproc(int pid);		/* created on demand, uid 0 */
int	kpi_getpid(void);
int	kpi_setuid(unsigned int uid, unsigned int gid);
unsigned long kpi_sigcount(int pid, int sig);	/* signals delivered */
int	kpi_thread_id(void);
int	kpi_thread_interrupt(int tid);	/* a caught signal: EINTR */
int	kpi_thread_sleeping(int tid, const char **wmesg);
void	kpi_thread_exit(void);	/* optional: free this thread's state */
int	kpi_errno(void);	/* DragonFly errno of the last failed call */
const char *kpi_strerror(int dfly_errno);

/* ---- system calls ---- */
int	kpi_open(const char *path, int flags);	/* "/dev/tun", "/dev/tun0" */
int	kpi_close(int fd);
ssize_t	kpi_read(int fd, void *buf, size_t n);
ssize_t	kpi_write(int fd, const void *buf, size_t n);
int	kpi_ioctl(int fd, unsigned long req, void *arg);
int	kpi_fcntl(int fd, int cmd, long arg);
int	kpi_socket(int domain, int type, int protocol);
int	kpi_bind(int s, const struct kpi_sockaddr *sa, unsigned int salen);
int	kpi_getsockname(int s, struct kpi_sockaddr *sa, unsigned int *salen);
ssize_t	kpi_sendto(int s, const void *buf, size_t n, int flags,
	    const struct kpi_sockaddr *to, unsigned int tolen);
ssize_t	kpi_recvfrom(int s, void *buf, size_t n, int flags,
	    struct kpi_sockaddr *from, unsigned int *fromlen);
int	kpi_kqueue(void);
int	kpi_kevent(int kq, const struct kpi_kevent *changes, int nchanges,
	    struct kpi_kevent *events, int nevents,
	    const struct kpi_timespec *timeout);
int	kpi_poll(struct kpi_pollfd *fds, unsigned int nfds, int timeout_ms);
int	kpi_sysctlbyname(const char *name, void *oldp, size_t *oldlenp,
	    const void *newp, size_t newlen);

/* ---- test instruments ---- */
/*
 * A bpf listener on an interface: kpi_read() returns the next packet a
 * tap delivered (link header included, no bpf_hdr), EAGAIN when none;
 * kpi_write() injects a packet the way a bpf write does (if_output with an
 * AF_UNSPEC destination); kpi_close() detaches it.
 */
int	kpi_bpf_open(const char *ifname);
/* owner and mode of a devfs node, as ls -l /dev/X would show them */
int	kpi_devstat(const char *path, unsigned int *uid, unsigned int *gid,
	    int *mode);
/* the device name behind fd ("tun4"), as DragonFly's fdevname_r(3) */
int	kpi_fdevname(int fd, char *buf, size_t len);
/* wait (at most 5 s) until netisr has processed everything queued so far */
int	kpi_sync(void);
/* the stack sends a packet to an interface (if_output); returns errno */
int	kpi_stack_output(const char *ifname, int af, const void *pkt,
	    size_t len);

struct kpi_stats {
	long	mbufs;		/* live mbufs */
	long	clusters;	/* live clusters */
	long	mbuf_bytes;	/* bytes held by live mbufs and clusters */
	long	mbuf_allocs;
	long	mbuf_frees;
	long	mbuf_nowait_fail; /* injected M_NOWAIT failures */
	long	malloc_inuse;	/* live kmalloc allocations, all types */
	long	malloc_bytes;
	long	cdevs;		/* live cdevs */
	long	ifnets;		/* attached interfaces */
	long	files;		/* open kpi files */
	long	knotes;
	long	sigios;
	long	uiomove_calls;
	long	netisr_packets;	/* netisr_queue calls */
	long	ip4_in;		/* IPv4 packets the stack accepted */
	long	ip6_in;
	long	stack_drops;	/* malformed or not for us */
	long	echo_replies;	/* ICMP/ICMPv6 echo replies sent */
	long	udp_echoes;	/* UDP echo (port 7) replies sent */
	long	udp_delivered;	/* UDP datagrams queued to sockets */
	long	reply_errors;	/* if_output errors for replies */
	long	bpf_taps;
	long	panics;
	long	cluster_allocs;	/* clusters ever allocated */
	long	tsleep_blocks;	/* tsleep()s that really waited */
	long	sleep_windows;	/* tsleep()s held by kpi_fault_sleep_window */
	long	window_wakeups;	/* wakeup()s that came while one was held */
	long	window_lost;	/* ... of them found no interlock: lost */
};
#define KPI_NSTATS	(sizeof(struct kpi_stats) / sizeof(long))
void	kpi_stats(struct kpi_stats *);

struct kpi_ifstats {
	long	exists;
	long	flags;
	long	mtu;
	long	type;
	long	baudrate;
	long	ipackets;
	long	ierrors;
	long	opackets;
	long	oerrors;
	long	ibytes;
	long	obytes;
	long	collisions;
	long	oqdrops;
	long	iqdrops;
	long	noproto;
	long	snd_len;	/* packets on the send queue */
	long	snd_maxlen;	/* its real limit */
	long	index;
	long	dunit;
	long	bpf_listeners;
};
#define KPI_NIFSTATS	(sizeof(struct kpi_ifstats) / sizeof(long))
int	kpi_ifstats(const char *ifname, struct kpi_ifstats *);

long	kpi_malloc_inuse(const char *malloc_type);	/* e.g. "tun" */
/*
 * Drop the next n wakeup()s that would wake a thread sleeping with wait
 * message wmesg (any, if NULL): a control for lost-wakeup tests.
 */
void	kpi_fault_drop_wakeups(long n, const char *wmesg);
/*
 * Preempt every tsleep() that is not PINTERLOCKED for us microseconds
 * before it takes its place on the sleep queue (0: off), as an interrupt
 * or another CPU may on a real machine: it widens the lost-wakeup window a
 * sleep without tsleep_interlock() leaves, so a driver that has one loses
 * wakeups within a few round trips.  Interlocked sleeps are not affected.
 */
void	kpi_fault_preempt_sleep(long us);
/*
 * Hold every tsleep() with wait message wmesg (any, if NULL) at the door
 * of the sleep queue -- after its caller dropped its locks, before the
 * thread can be woken there -- until a wakeup() for its channel arrives
 * or max_us pass (0: off).  This is the window an interrupt or another
 * CPU can hit on a real machine, made wide on purpose: a sleep that took
 * tsleep_interlock() first is woken by such a wakeup(); one that did not
 * loses it (counted in kpi_stats window_lost) and sleeps on with the
 * event pending.  kpi_thread_at_sleep_door() tells a test when to strike.
 */
void	kpi_fault_sleep_window(long max_us, const char *wmesg);
int	kpi_thread_at_sleep_door(int tid);
void	kpi_mbuf_fail(long nth);	/* fail the nth next M_NOWAIT mbuf
					   allocation; 0 disables */
void	kpi_mbuf_fail_any(long nth);	/* the nth next of any kind, M_WAITOK
					   too (DragonFly's can fail) */
int	kpi_panic_count(void);
const char *kpi_last_panic(void);
/* route kernel printf output (default: stderr only when verbose) */
void	kpi_set_console(void (*fn)(const char *line));

#ifdef __cplusplus
}
#endif
#endif /* !_KPI_SYS_H_ */
