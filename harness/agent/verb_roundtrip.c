/*
 * verb_roundtrip.c - the two conformance instruments that need threads of their own
 * inside the agent (docs/protocol.md):
 *
 *  roundtrip: TUN-SPEC O6's lost-wakeup check. A reader thread sits in a blocking read(2)
 *	on the device while the agent's main thread writes one ICMP echo request at a time
 *	and waits for the reader to get the kernel's reply, count times. The main thread is
 *	also the watchdog: a reader that stays inside read(2) while FIONREAD says a packet
 *	is queued, for lost_ms, was not woken (a lost wakeup); no progress at all for
 *	stall_ms is a stall. Either ends the run, the reader interrupted (EINTR) so the agent
 *	never hangs. 10^5 round trips cost about a second here, where 10^5 requests over the
 *	protocol would take minutes.
 *
 *  race: TUN-SPEC L8. Two threads for ms milliseconds: one creates units (tun<base> and
 *	wildcard creates) or toggles IFF_UP on them, the other destroys them; then whatever
 *	the race left is destroyed and counted.
 *
 * The threads use backend operations concurrently with each other (backend.h: threads).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "args.h"
#include "backend.h"
#include "errnames.h"
#include "packet.h"

#define RT_IDENT	0x4f36		/* ICMP ident of the round trips: "O6" */
#define RT_SIZE		36		/* IP bytes of each echo request */
#define RT_CHECK_NS	1000000ull	/* watchdog look every 1 ms */
#define RT_UNSTICK_MS	3000		/* after the run: how long the reader may take to go */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- roundtrip ---- */

struct rt {
	int fd;
	long n;
	struct be_framing fr;
	atomic_long received;	/* round trips whose reply the reader has */
	atomic_long bad;	/* our echo replies with the wrong sequence number */
	atomic_long other;	/* packets that were no echo reply of ours (skipped) */
	atomic_int stop;
	atomic_int in_read;	/* the reader is inside read(2) */
	atomic_int read_err;
	atomic_int started, finished;
	atomic_long tid;
};

static void *
rt_reader(void *p)
{
	static uint8_t buf[65539 + 64];
	struct rt *rt = p;
	struct pkt_info info;
	size_t len;
	long off;
	int err;

	if ((err = be_thread_enter()) != 0) {
		atomic_store(&rt->read_err, err);
		atomic_store(&rt->stop, 1);
		atomic_store(&rt->started, 1);
		atomic_store(&rt->finished, 1);
		return NULL;
	}
	atomic_store(&rt->tid, be_thread_id());
	atomic_store(&rt->started, 1);
	for (long i = 0; i < rt->n && !atomic_load(&rt->stop);) {
		atomic_store(&rt->in_read, 1);
		err = be_read(rt->fd, buf, sizeof(buf), &len);
		atomic_store(&rt->in_read, 0);
		if (err) {
			atomic_store(&rt->read_err, err);
			break;
		}
		/* what the system sends by itself (IPv6 solicitations, ...) is no round trip */
		off = be_frame_in(&rt->fr, buf, len);
		if (off < 0 || pkt_parse(buf + off, len - (size_t)off, &info) < 0 ||
		    info.proto != PKT_PROTO_ICMP || info.icmp_type != PKT_ICMP_ECHOREPLY ||
		    info.ident != RT_IDENT) {
			atomic_fetch_add(&rt->other, 1);
			continue;
		}
		if (info.seq != (uint16_t)i)
			atomic_fetch_add(&rt->bad, 1);
		atomic_store(&rt->received, ++i);
	}
	atomic_store(&rt->stop, 1);
	be_thread_leave();
	atomic_store(&rt->finished, 1);
	return NULL;
}

/* FIONREAD on the device, or -1. */
static long
queued(const struct be_ioctl_desc *fionread, int fd)
{
	struct be_ioctl_args a;
	long ret;

	memset(&a, 0, sizeof(a));
	if (fionread == NULL || be_ioctl(fionread, fd, NULL, &a, &ret) != 0)
		return -1;
	return (long)a.value;
}

static int
wait_finished(struct rt *rt, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;

	while (!atomic_load(&rt->finished) && now_ns() < end)
		nanosleep(&(struct timespec){ 0, 1000000L }, NULL);
	return atomic_load(&rt->finished);
}

/* Set when a reader could not be got out of read(2): its state must not be reused. */
static int reader_stuck;

int
verb_roundtrip(const struct request *rq)
{
	static uint8_t tx[sizeof(((struct be_framing *)0)->out_hdr) + RT_SIZE];
	static struct rt rt;
	const struct be_ioctl_desc *fionread = ioctl_find("FIONREAD");
	struct be_in4 local, peer;
	struct handle *h;
	long long count, lost_ms, stall_ms, preempt_us;
	uint64_t t0, progress_at, asleep_since = 0, next_check = 0, now;
	long last = 0, i = 0;
	int lost = 0, stalled = 0, write_err = 0, err, nonblock, preempt_set = 0;
	int preempt_given = request_get(rq, "preempt_us") != NULL;
	size_t n, len;
	pthread_t th;

	if (arg_handle(rq, &h) < 0 ||
	    arg_int(rq, "count", 1, 100000000, &count) < 0 ||
	    arg_in4(rq, "local", &local) < 0 || arg_in4(rq, "peer", &peer) < 0 ||
	    arg_int_opt(rq, "lost_ms", 10, 600000, 1000, &lost_ms) < 0 ||
	    arg_int_opt(rq, "stall_ms", 100, 600000, 10000, &stall_ms) < 0 ||
	    arg_int_opt(rq, "preempt_us", 0, 100000, 50, &preempt_us) < 0)
		return -1;
	if (reader_stuck)
		return reply_err(rq->id, "EBUSY", EBUSY,
		    "roundtrip: an earlier run's reader is still stuck in read(2)");
	if ((err = be_get_nonblock(h->fd, &nonblock)))
		return fail_errno(rq, err, "roundtrip: get non-blocking mode");
	if (nonblock)
		return reply_err(rq->id, "EINVAL", EINVAL,
		    "roundtrip: the device must be blocking (the reader sleeps in read)");
	memset(&rt, 0, sizeof(rt));
	rt.fd = h->fd;
	rt.n = (long)count;
	if ((err = be_framing_get(h->fd, 4, &rt.fr)))
		return fail_errno(rq, err, "roundtrip: framing");
	memcpy(tx, rt.fr.out_hdr, rt.fr.out_len);
	if (pkt_icmp_echo(tx + rt.fr.out_len, RT_SIZE, PKT_ICMP_ECHO, peer.b, local.b,
	    RT_IDENT, 0) == 0)
		return reply_err(rq->id, "EINVAL", EINVAL, "roundtrip: echo request");
	len = rt.fr.out_len + RT_SIZE;

	/* kpi: widen a missing interlock's window (a real kernel has no such knob) */
	err = be_fault_preempt_sleep((long)preempt_us);
	if (err == 0)
		preempt_set = preempt_us > 0;
	else if (preempt_given && preempt_us > 0)
		return fail_errno(rq, err, "roundtrip: preempt_us");

	if ((err = pthread_create(&th, NULL, rt_reader, &rt))) {
		if (preempt_set)
			(void)be_fault_preempt_sleep(0);
		return fail_errno(rq, err, "roundtrip: reader thread");
	}
	while (!atomic_load(&rt.started))
		sched_yield();

	t0 = progress_at = now_ns();
	for (i = 0; i < rt.n && !atomic_load(&rt.stop); i++) {
		pkt_icmp_set_seq(tx + rt.fr.out_len, (uint16_t)i);
		err = be_write(rt.fd, tx, len, &n);
		if (err || n != len) {
			write_err = err ? err : EIO;
			break;
		}
		/* one packet in flight: wait until the reader has its reply */
		while (atomic_load(&rt.received) < i + 1 && !atomic_load(&rt.stop)) {
			sched_yield();
			now = now_ns();
			if (now < next_check)
				continue;
			next_check = now + RT_CHECK_NS;
			if (atomic_load(&rt.received) != last) {
				last = atomic_load(&rt.received);
				progress_at = now;
			}
			if (atomic_load(&rt.in_read) && queued(fionread, rt.fd) > 0) {
				if (asleep_since == 0)
					asleep_since = now;
				else if (now - asleep_since > (uint64_t)lost_ms * 1000000u) {
					lost = 1;
					break;
				}
			} else {
				asleep_since = 0;
			}
			if (now - progress_at > (uint64_t)stall_ms * 1000000u) {
				stalled = 1;
				break;
			}
		}
		if (lost || stalled)
			break;
	}
	t0 = now_ns() - t0;
	atomic_store(&rt.stop, 1);
	if (preempt_set)
		(void)be_fault_preempt_sleep(0);
	/* the reader: done, or asleep in read(2) -> a caught signal gets it out */
	if (!wait_finished(&rt, 100)) {
		(void)be_thread_interrupt(atomic_load(&rt.tid));
		if (!wait_finished(&rt, RT_UNSTICK_MS)) {
			/* no interrupt on this system: a new packet's wakeup does it */
			pkt_icmp_set_seq(tx + rt.fr.out_len, 0xffff);
			(void)be_write(rt.fd, tx, len, &n);
			(void)wait_finished(&rt, RT_UNSTICK_MS);
		}
	}
	if (!atomic_load(&rt.finished)) {
		pthread_detach(th);
		reader_stuck = 1;
		return reply_err(rq->id, "EDEADLK", EDEADLK, "roundtrip: the reader thread "
		    "is stuck in read(2) after %ld round trips (lost=%d); the device is unusable",
		    atomic_load(&rt.received), lost);
	}
	pthread_join(th, NULL);
	reply_int("done", atomic_load(&rt.received));
	reply_int("lost", lost);
	reply_int("stalled", stalled);
	reply_int("bad", atomic_load(&rt.bad));
	reply_int("other", atomic_load(&rt.other));
	reply_uint("ns", t0);
	reply_int("preempt_us", preempt_set ? preempt_us : 0);
	if (write_err)
		reply_word("write_error", errno_name(write_err));
	err = atomic_load(&rt.read_err);
	/* the reader's EINTR after lost/stalled is the watchdog's own doing */
	if (err && !((lost || stalled) && err == EINTR))
		reply_word("read_error", errno_name(err));
	return 0;
}

/* ---- race ---- */

struct race {
	int kind;		/* 0: create/destroy, 1: up/destroy */
	int base;
	atomic_int stop;
	atomic_int minunit;	/* lowest unit number a create returned (a wildcard */
	atomic_int maxunit;	/* create may go below base); highest */
	atomic_long creates, destroys, toggles;
	const struct be_ioctl_desc *create, *destroy, *getfl, *setfl;
};

static int
unit_of(const char *name)
{
	int u = -1;

	if (strncmp(name, "tun", 3) == 0 && name[3] >= '0' && name[3] <= '9')
		sscanf(name + 3, "%d", &u);
	return u;
}

static int
race_create(struct race *r, const char *name)
{
	struct be_ioctl_args a;
	long ret;
	int u;

	memset(&a, 0, sizeof(a));
	if (be_ioctl(r->create, -1, name, &a, &ret) != 0)
		return -1;
	atomic_fetch_add(&r->creates, 1);
	u = unit_of(a.name);
	for (int m = atomic_load(&r->maxunit); u > m;)
		if (atomic_compare_exchange_weak(&r->maxunit, &m, u))
			break;
	for (int m = atomic_load(&r->minunit); u >= 0 && u < m;)
		if (atomic_compare_exchange_weak(&r->minunit, &m, u))
			break;
	return 0;
}

static int
race_destroy(struct race *r, const char *name)
{
	struct be_ioctl_args a;
	long ret;

	memset(&a, 0, sizeof(a));
	if (be_ioctl(r->destroy, -1, name, &a, &ret) != 0)
		return -1;
	atomic_fetch_add(&r->destroys, 1);
	return 0;
}

static void *
race_maker(void *p)
{
	struct race *r = p;
	struct be_ioctl_args a;
	char name[BE_IFNAMSIZ];
	long ret;

	(void)be_thread_enter();
	while (!atomic_load(&r->stop)) {
		if (r->kind == 0) {
			snprintf(name, sizeof(name), "tun%d", r->base);
			(void)race_create(r, name);
			(void)race_create(r, "tun");
			continue;
		}
		for (int i = 0; i < 3; i++) {
			snprintf(name, sizeof(name), "tun%d", r->base + i);
			memset(&a, 0, sizeof(a));
			if (be_ioctl(r->getfl, -1, name, &a, &ret) == 0) {
				a.value ^= 0x1;		/* IFF_UP */
				if (be_ioctl(r->setfl, -1, name, &a, &ret) == 0)
					atomic_fetch_add(&r->toggles, 1);
			}
		}
		if (race_create(r, "tun") != 0)
			nanosleep(&(struct timespec){ 0, 10000L }, NULL);
	}
	be_thread_leave();
	return NULL;
}

static void *
race_breaker(void *p)
{
	struct race *r = p;
	char name[BE_IFNAMSIZ];

	(void)be_thread_enter();
	while (!atomic_load(&r->stop)) {
		for (int i = 0; i < 3; i++) {
			snprintf(name, sizeof(name), "tun%d", r->base + i);
			(void)race_destroy(r, name);
		}
	}
	be_thread_leave();
	return NULL;
}

int
verb_race(const struct request *rq)
{
	static struct race r;
	struct be_ioctl_args a;
	const char *kind;
	char name[BE_IFNAMSIZ];
	long long ms, base;
	long ret, left = 0;
	pthread_t t1, t2;
	int err, minunit, maxunit;

	if (arg_word(rq, "kind", &kind) < 0 ||
	    arg_int(rq, "ms", 1, 600000, &ms) < 0 ||
	    arg_int_opt(rq, "base", 0, 30000, 0, &base) < 0)
		return -1;
	memset(&r, 0, sizeof(r));
	if (strcmp(kind, "create_destroy") == 0)
		r.kind = 0;
	else if (strcmp(kind, "up_destroy") == 0)
		r.kind = 1;
	else
		return reply_err(rq->id, "EARG", 0, "kind: want create_destroy or up_destroy");
	r.base = (int)base;
	r.create = ioctl_find("SIOCIFCREATE2");
	r.destroy = ioctl_find("SIOCIFDESTROY");
	r.getfl = ioctl_find("SIOCGIFFLAGS");
	r.setfl = ioctl_find("SIOCSIFFLAGS");
	if (!r.create || !r.destroy || !r.getfl || !r.setfl)
		return reply_err(rq->id, "EOPNOTSUPP", EOPNOTSUPP,
		    "race: the %s backend cannot create and destroy interfaces", be_name());
	atomic_store(&r.minunit, r.base);
	atomic_store(&r.maxunit, r.base + 2);
	if ((err = pthread_create(&t1, NULL, race_maker, &r)))
		return fail_errno(rq, err, "race: thread");
	if ((err = pthread_create(&t2, NULL, race_breaker, &r))) {
		atomic_store(&r.stop, 1);
		pthread_join(t1, NULL);
		return fail_errno(rq, err, "race: thread");
	}
	nanosleep(&(struct timespec){ (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L },
	    NULL);
	atomic_store(&r.stop, 1);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);

	/* what the race left: destroy it; anything that stays is reported */
	minunit = atomic_load(&r.minunit);
	maxunit = atomic_load(&r.maxunit);
	for (int u = minunit; u <= maxunit; u++) {
		snprintf(name, sizeof(name), "tun%d", u);
		(void)race_destroy(&r, name);
	}
	for (int u = minunit; u <= maxunit; u++) {
		snprintf(name, sizeof(name), "tun%d", u);
		memset(&a, 0, sizeof(a));
		if (be_ioctl(r.getfl, -1, name, &a, &ret) == 0)
			left++;
	}
	reply_int("creates", atomic_load(&r.creates));
	reply_int("destroys", atomic_load(&r.destroys));
	reply_int("toggles", atomic_load(&r.toggles));
	reply_int("maxunit", maxunit);
	reply_int("left", left);
	return 0;
}
