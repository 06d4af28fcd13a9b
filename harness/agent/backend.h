/*
 * backend.h - the tun backend interface of the tunlab guest agent.
 *
 * The agent core (protocol, verbs, bench) is the same on every target; everything that
 * touches the tun driver or the guest's network configuration goes through the operations
 * below. Exactly one backend is linked into a binary, chosen at build time:
 *
 *	make BACKEND=linux	backend_linux.c: Linux /dev/net/tun (the default)
 *	make BACKEND=bsd	backend_bsd.c: DragonFly /dev/tun, over a small system-call
 *				shim (libc on DragonFly, the driver/kpi emulation on the host)
 *
 * Adding a backend:
 *  1. Write backend_<name>.c implementing every function declared here (stubs that return
 *     EOPNOTSUPP are fine for what the target cannot do), and nothing else with external
 *     linkage.
 *  2. Add BACKEND_SRCS_<name> (and BACKEND_CFLAGS_<name>/BACKEND_LDLIBS_<name> if needed) to
 *     harness/agent/Makefile; `make BACKEND=<name>` then builds it. BACKEND_CFLAGS_<name> may
 *     define TUNLAB_DRIVER_ID, the driver hello reports (agent.h) when --driver-id is not
 *     given.
 *  3. Give be_name() a value the host knows (`hello` reports it as backend=).
 *  4. On the host side, a target that uses it: a module in harness/tunlab/targets/
 *     (docs/architecture.md).
 * One source may serve two targets: driver/Makefile.host builds backend_bsd.c again for
 * the kpi target with -DTUNLAB_KPI, where bsd_sys.h maps its system calls onto driver/kpi
 * instead of libc, and be_name() answers "kpi".
 *
 * Conventions:
 *  - No operating-system types cross this interface: descriptors are ints, addresses are
 *    byte arrays in network order, sizes are size_t.
 *  - Every operation returning int returns 0 on success or a positive errno value, in the
 *    numbering of the <errno.h> the agent is compiled with (the agent names it, e.g.
 *    EAGAIN). A backend whose lower layer uses another numbering (the kpi emulation of the
 *    DragonFly kernel) translates at its own boundary.
 *  - An operation may call agent_errmsg() before failing to say which step failed
 *    ("SIOCSIFADDR"); the agent puts it in the error reply's msg=. It may call agent_log()
 *    to send a log frame to the host.
 *  - Descriptors (device and socket) are the backend's own: the agent only passes them back.
 *  - The agent calls one operation at a time, except in the roundtrip and race verbs,
 *    whose threads (be_thread_enter) make operations concurrently; agent_errmsg() is
 *    per thread.
 */
#ifndef TUNLAB_BACKEND_H
#define TUNLAB_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Interface names, NUL included (IFNAMSIZ on Linux and DragonFly alike). */
#define BE_IFNAMSIZ	16

/* An IPv4 or IPv6 address, network byte order. */
struct be_in4 {
	uint8_t b[4];
};
struct be_in6 {
	uint8_t b[16];
};

/* ---- services the agent core provides to the backend ---- */

/* Sends a log frame (TL1 0 log msg=...) to the host; printf-style. */
void agent_log(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* Records what failed, for the msg= of the error reply to the current request. */
void agent_errmsg(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* 1 when the driver under test has the tun feature `name` (agent.h, "features"). */
int agent_feature(const char *name);

/* Whether `name` is in the comma-separated feature `list` ("all": every feature). */
static inline int
feature_listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	if (list == NULL || strcmp(list, "all") == 0)
		return 1;
	while (p != NULL) {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p = strchr(p, ',');
		if (p != NULL)
			p++;
	}
	return 0;
}

/* ---- identity and life cycle ---- */

/* The backend's name as `hello` reports it: "linux", "bsd" or "kpi". */
const char *be_name(void);

/* Called once at start-up, before any other operation (kpi: boots the emulated kernel). */
int be_init(void);

/* Powers the machine off after syncing; returns only on failure (with the errno). Only
 * called when the agent serves a real guest port (--port). */
int be_poweroff(void);

/* Crashes the kernel on purpose (debug op=panic). Returns only on failure. Only called
 * with --port or --allow-panic. */
int be_panic(void);

/* ---- the tun device ---- */

struct be_open_opts {
	const char *name;	/* requested unit/interface name, or NULL for the next free */
	int pi;			/* 1: packets carry a 4-byte header (Linux PI, BSD TUNSIFHEAD) */
	int tap;		/* 1: layer-2 device (Linux IFF_TAP, BSD /dev/tap) */
	int nonblock;		/* 1: open non-blocking */
	int as_user;		/* 1: open(2) with effective uid/gid below, then back to root
				 * (open uid=); a refused open is reported as is */
	unsigned uid, gid;
};

/* Opens (and if needed creates) a device; gives its descriptor and interface name. */
int be_open(const struct be_open_opts *o, int *fd, char ifname[BE_IFNAMSIZ]);

/* Closes a device descriptor. */
int be_close(int fd);

/* One read(2) of at most len bytes into buf; *n is what it returned. */
int be_read(int fd, void *buf, size_t len, size_t *n);

/* One write(2) of len bytes; *n is what it returned. */
int be_write(int fd, const void *buf, size_t len, size_t *n);

/* Waits until fd is readable (or has an error/EOF to report) for at most timeout_ms
 * (0: just look). Returns 0 when readable, ETIMEDOUT when the time ran out. */
int be_wait_readable(int fd, int timeout_ms);
/* poll(2) for POLLIN and POLLOUT on fd, waiting up to timeout_ms (0: not at all); *in and
 * *out say which are ready (both 0 when the wait ran out). */
int be_poll(int fd, int timeout_ms, int *in, int *out);

/* Sets (on=1) or clears (on=0) non-blocking mode; reads back the current mode. */
int be_set_nonblock(int fd, int on);
int be_get_nonblock(int fd, int *on);

/* ---- packet framing, for the bench loops ---- */

/* How IP packets are framed on one device, as found by be_framing_get(). */
struct be_framing {
	uint8_t out_hdr[32];	/* bytes to put before an IP packet written to the device */
	size_t out_len;
	int mode;		/* backend-private: how to find the IP packet in a read */
};

/* Finds the framing of device fd for IP version ipver (4 or 6). EOPNOTSUPP when the
 * device does not carry bare IP (a tap device). */
int be_framing_get(int fd, int ipver, struct be_framing *f);

/* Offset of the IP header in n bytes read from the device, or -1 if the framing
 * prefix is malformed or longer than n. */
long be_frame_in(const struct be_framing *f, const uint8_t *pkt, size_t n);

/* ---- interface configuration (by interface name) ---- */

/* What `ifconfig` asks for; the backend applies the parts that are set, in the order its
 * system needs (mtu, address with peer, IPv6 address, then up/down). */
struct be_ifconfig {
	const char *ifname;
	int has_addr;		/* addr/prefixlen */
	struct be_in4 addr;
	int prefixlen;
	int has_peer;		/* point-to-point destination */
	struct be_in4 peer;
	int has_addr6;		/* addr6/prefixlen6 */
	struct be_in6 addr6;
	int prefixlen6;
	int mtu;		/* -1: leave */
	int up;			/* -1: leave, 0: down, 1: up */
};
int be_ifconfig(const struct be_ifconfig *c);

struct be_ifinfo {
	int mtu;
	unsigned long flags;	/* the system's interface flags (IFF_UP, ...) */
	int index;
	char groups[128];	/* interface groups, comma-separated ("" where the system
				 * has none: then ifinfo leaves groups= out) */
};
int be_ifinfo(const char *ifname, struct be_ifinfo *info);

/* Adds (add=1) or deletes (add=0) the IPv4 route dst/prefixlen through interface ifname. */
int be_route(int add, const struct be_in4 *dst, int prefixlen, const char *ifname);

struct be_ifstats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t rx_dropped, tx_dropped, rx_errors, tx_errors;
};
int be_ifstats(const char *ifname, struct be_ifstats *st);

/* ---- a datagram socket, so bench kind=read can send through the stack ---- */

/* Opens a UDP socket bound to src and an ephemeral port, reported in *port. */
int be_udp_open(const struct be_in4 *src, int *sock, unsigned *port);
/* Sends one datagram of len bytes to dst:port. */
int be_udp_send(int sock, const struct be_in4 *dst, unsigned port, const void *buf,
    size_t len);
int be_udp_close(int sock);

/* ---- a packet listener on an interface, so `bench bpf=1` can measure its cost ---- */

/*
 * A passive listener that gets a copy of every packet crossing interface ifname, in both
 * directions, as tcpdump's would: on BSD a /dev/bpf descriptor attached with BIOCSETIF
 * (BIOCIMMEDIATE on, a default buffer), on Linux an AF_PACKET socket bound to the
 * interface (the Linux counterpart of a bpf listener). The descriptor is non-blocking; the
 * bench loops call be_bpf_drain() between packets, so what the listener costs lands in the
 * measured figures, as a listener process would on a one-CPU guest.
 */
int be_bpf_open(const char *ifname, int *fd);
/* Reads and discards everything the listener holds, never blocking; adds the number of
 * packets read to *packets (a BSD read returns a buffer of several records: each counts). */
int be_bpf_drain(int fd, uint64_t *packets);
/* Packets the kernel dropped for this listener (its buffer full) since it was opened;
 * 0 where the system does not say. Call once, before be_bpf_close. */
int be_bpf_drops(int fd, uint64_t *drops);
int be_bpf_close(int fd);

/* ---- typed ioctls (the `ioctl` verb) ---- */

/* The argument type of an ioctl, which decides the verb's argument and result keys. */
enum be_ioc_arg {
	BE_IOC_NONE,		/* no argument (BSD _IO): -                            */
	BE_IOC_VALUE,		/* value= passed as the argument itself (by value)     */
	BE_IOC_INT,		/* pointer to an int: value=                           */
	BE_IOC_IFREQ_FLAGS,	/* device ioctl on a struct ifreq: name= flags=        */
	BE_IOC_IFREQ_NAME,	/* device ioctl filling an ifreq's name: name=         */
	BE_IOC_TUNINFO,		/* BSD struct tuninfo: mtu= type= baudrate=            */
	BE_IOC_SOCK_INT,	/* socket ioctl on ifname=, an int in its ifreq: value= */
	BE_IOC_SOCK_NAME,	/* socket ioctl on ifname=, a name in its ifreq: name=
				 * (SIOCSIFNAME's new name; SIOCIFCREATE's result) */
	BE_IOC_SOCK_TEXT,	/* socket ioctl on ifname= returning text: text=
				 * (BSD SIOCGIFSTATUS, what ifconfig prints) */
	BE_IOC_RAW		/* req= given as a number, not from the table: a device
				 * ioctl on a zeroed buffer of BE_IOC_RAW_MAX bytes whose
				 * first int is value= (default 0); reports value= */
};
#define BE_IOC_RAW_MAX	8192	/* the largest argument an ioctl number can describe */
/* Direction bits: IN keys are required arguments, OUT keys are reported. */
#define BE_IOC_IN	1
#define BE_IOC_OUT	2

struct be_ioctl_desc {
	const char *name;	/* as in req=, e.g. "TUNSETIFF" */
	unsigned long req;	/* the request number */
	enum be_ioc_arg arg;
	int dir;		/* BE_IOC_IN | BE_IOC_OUT */
	int aux;		/* backend-private (e.g. which ifreq field) */
};

struct be_ioctl_args {
	long long value;		/* VALUE, INT, SOCK_INT, RAW */
	char name[BE_IFNAMSIZ];		/* IFREQ_FLAGS, IFREQ_NAME, SOCK_NAME */
	unsigned long flags;		/* IFREQ_FLAGS */
	int mtu, type, baudrate;	/* TUNINFO */
	char text[1024];		/* SOCK_TEXT */
};

/* The backend's table of ioctls; *n gets its length. */
const struct be_ioctl_desc *be_ioctl_table(size_t *n);

/* Runs ioctl d on device fd (or, for BE_IOC_SOCK_*, on a socket for interface ifname),
 * with a's IN fields; fills a's OUT fields and *ret with ioctl's return value. */
int be_ioctl(const struct be_ioctl_desc *d, int fd, const char *ifname,
    struct be_ioctl_args *a, long *ret);

/* ---- instruments for the conformance suite (docs/protocol.md: kq, bpf, proc, send,
 * module, sysctl, stat, kstat, roundtrip, race). A backend whose system has no
 * counterpart returns EOPNOTSUPP (the Linux backend, for most of them). ---- */

/* kqueue(2): open a queue, register a filter on a device, collect what is active. */
#define BE_KQ_READ	1	/* EVFILT_READ */
#define BE_KQ_WRITE	2	/* EVFILT_WRITE */
#define BE_KQ_RAW	0	/* the system's own filter number, in raw */
struct be_kevent {
	int kind;		/* BE_KQ_READ, BE_KQ_WRITE, or BE_KQ_RAW */
	int filter;		/* the system's filter number */
	unsigned flags;		/* the system's EV_* flags as returned */
	int eof;		/* EV_EOF was set */
	long long data;		/* kn_data */
};
int be_kq_open(int *kq);
int be_kq_add(int kq, int fd, int kind, int raw);
/* Waits up to timeout_ms (0: just look) and returns at most nev events in ev[], *n of them. */
int be_kq_poll(int kq, int timeout_ms, struct be_kevent *ev, int nev, int *n);
int be_kq_close(int kq);

/* A packet listener (be_bpf_open) read one packet at a time: *n bytes of the tapped packet
 * with its link header (DLT_NULL: a 4-byte host-order family), EAGAIN when none is held. */
int be_bpf_read(int fd, void *buf, size_t cap, size_t *n);
/* A write to the listener (bpf write: out through the interface's if_output). */
int be_bpf_write(int fd, const void *buf, size_t len, size_t *n);

/* The agent's process as the kernel sees it, and the SIGIO signals it has received. */
struct be_proc {
	long pid, pgrp;
	unsigned long uid;
	unsigned long long sigio;
};
int be_proc_info(struct be_proc *p);

/* The stack sends count UDP datagrams of len payload bytes to dst:port (ipver 4 or 6),
 * from an unbound socket, as a program would: they leave through the route to dst. Each
 * send's error is the one if_output gave (a backend whose system sends asynchronously
 * makes it synchronous for the call). *sent counts successes, *failed failures, *first_err
 * is the first failure's errno (0 if none). Returns 0 unless the socket could not be made. */
int be_stack_send(int ipver, const uint8_t dst[16], unsigned port, const void *payload,
    size_t len, long count, long *sent, long *failed, int *first_err);

/* Unloads (load=0) or loads (load=1) a kernel module by name ("if_tun"); file[] gets the
 * file that was unloaded or loaded (a path, or a name the module path resolves). */
int be_module(int load, const char *name, char *file, size_t filecap);

/* Reads an integer sysctl by name into *old (if old) after setting it to *new (if new). */
int be_sysctl_int(const char *name, const long long *new, long long *old);

/* Owner, group and permission bits of a file (a device node). */
int be_stat(const char *path, unsigned long *uid, unsigned long *gid, unsigned *mode);

/* Kernel resource counters for leak checks: up to cap (name, value) pairs; *n of them.
 * Names (as far as the system can count them): mbufs, clusters, mbuf_bytes, mbuf_allocs,
 * cluster_allocs, uiomove_calls, cdevs, ifnets, files, knotes, sigios, malloc_inuse,
 * malloc_tun, tsleep_blocks, bpf_taps, echo_replies. */
struct be_kstat {
	const char *name;
	long long value;
};
int be_kstats(struct be_kstat *out, size_t cap, size_t *n);

/* Threads the agent starts (roundtrip, race) call be_thread_enter() first and
 * be_thread_leave() last; be_thread_id() names the caller for be_thread_interrupt(),
 * which makes a blocking call of that thread fail with EINTR, as a caught signal does.
 * The operations a thread makes (be_read, be_write, be_ioctl) may run concurrently with
 * the main thread's. */
int be_thread_enter(void);
void be_thread_leave(void);
long be_thread_id(void);
int be_thread_interrupt(long tid);

/* kpi only: preempt every non-interlocked tsleep() for us microseconds (0: off), which
 * widens the window a sleep without tsleep_interlock() leaves for a lost wakeup;
 * EOPNOTSUPP on a real kernel. */
int be_fault_preempt_sleep(long us);

#endif /* TUNLAB_BACKEND_H */
