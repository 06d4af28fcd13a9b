/*
 * test_lostwakeup.c - TUN-SPEC O6: a blocking read is never left asleep
 * with a packet queued.
 *
 * A writer thread sends ICMP echo requests through /dev/tunN; the kpi's
 * netisr thread answers them through tunN's if_output; a reader thread
 * blocked in read(2) must be woken for every reply.  10^5 single-packet
 * round trips (TUNLAB_ROUNDTRIPS to change).  A watchdog thread looks at
 * the reader every millisecond: if it sleeps in tsleep while the send
 * queue holds a packet for longer than LOST_MS, that is a lost wakeup; the
 * watchdog reports it and interrupts the reader, so the test fails instead
 * of hanging.  A control test injects one lost wakeup and requires the
 * watchdog to see it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tlib.h"

#define LOCAL4		"10.0.0.1"
#define PEER4		"10.0.0.2"
#define LOST_MS		500	/* asleep with a packet queued this long */
#define STALL_MS	10000	/* no progress at all: fail, don't hang */

struct rt {
	struct tl_tun	t;
	long		n;		/* round trips to make */
	atomic_long	sent;
	atomic_long	received;
	atomic_int	reader_tid;
	atomic_int	stop;
	atomic_int	lost;		/* watchdog saw a lost wakeup */
	atomic_int	stalled;
	atomic_int	bad;		/* wrong reply */
	atomic_int	read_errno;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *
reader(void *p)
{
	struct rt *rt = p;
	uint8_t buf[256];
	long i;
	ssize_t n;

	atomic_store(&rt->reader_tid, kpi_thread_id());
	for (i = 0; i < rt->n && !atomic_load(&rt->stop); ++i) {
		n = kpi_read(rt->t.fd, buf, sizeof(buf));
		if (n < 0) {
			atomic_store(&rt->read_errno, kpi_errno());
			break;
		}
		/* an echo reply carrying our sequence number */
		if (n != 28 + 8 || buf[20] != 0 ||
		    ((buf[26] << 8) | buf[27]) != (int)(i & 0xffff))
			atomic_fetch_add(&rt->bad, 1);
		atomic_store(&rt->received, i + 1);
	}
	atomic_store(&rt->stop, 1);
	kpi_thread_exit();
	return NULL;
}

static void *
writer(void *p)
{
	struct rt *rt = p;
	uint8_t pkt[64];
	size_t len;
	long i;

	for (i = 0; i < rt->n && !atomic_load(&rt->stop); ++i) {
		len = tl_icmp_echo4(pkt, tl_ip4(PEER4), tl_ip4(LOCAL4), 0x4242,
		    (uint16_t)i, 8);
		if (kpi_write(rt->t.fd, pkt, len) != (ssize_t)len) {
			atomic_store(&rt->stop, 1);
			break;
		}
		atomic_store(&rt->sent, i + 1);
		/* single packet in flight: wait for its reply to be read */
		while (atomic_load(&rt->received) < i + 1 &&
		    !atomic_load(&rt->stop))
			sched_yield();
	}
	kpi_thread_exit();
	return NULL;
}

static void *
watchdog(void *p)
{
	struct rt *rt = p;
	struct kpi_ifstats st;
	double asleep_since = 0, progress_at = now_ms();
	long last = -1;
	const char *wmesg;
	int tid;

	while (!atomic_load(&rt->stop)) {
		usleep(1000);
		tid = atomic_load(&rt->reader_tid);
		if (tid == 0)
			continue;
		if (atomic_load(&rt->received) != last) {
			last = atomic_load(&rt->received);
			progress_at = now_ms();
		}
		wmesg = NULL;
		if (kpi_thread_sleeping(tid, &wmesg) &&
		    kpi_ifstats(rt->t.name, &st) == 0 && st.snd_len > 0) {
			if (asleep_since == 0)
				asleep_since = now_ms();
			if (now_ms() - asleep_since > LOST_MS) {
				fprintf(stderr, "    watchdog: reader asleep in "
				    "\"%s\" for %d ms with %ld packet(s) "
				    "queued (round trip %ld): lost wakeup\n",
				    wmesg ? wmesg : "?", LOST_MS, st.snd_len,
				    atomic_load(&rt->received));
				atomic_store(&rt->lost, 1);
				break;
			}
		} else {
			asleep_since = 0;
		}
		if (now_ms() - progress_at > STALL_MS) {
			fprintf(stderr, "    watchdog: no progress for %d ms "
			    "at round trip %ld\n", STALL_MS,
			    atomic_load(&rt->received));
			atomic_store(&rt->stalled, 1);
			break;
		}
	}
	atomic_store(&rt->stop, 1);
	/* never hang: a caught signal gets the reader out of tsleep */
	if ((tid = atomic_load(&rt->reader_tid)) != 0)
		(void)kpi_thread_interrupt(tid);
	kpi_thread_exit();
	return NULL;
}

static void
run(struct rt *rt, long n, long drop_wakeups)
{
	pthread_t r, w, d;
	double t0;

	memset(rt, 0, sizeof(*rt));
	rt->n = n;
	tl_open_tun(&rt->t);
	tl_ifaddr4(rt->t.name, LOCAL4, PEER4);
	pthread_create(&r, NULL, reader, rt);
	while (atomic_load(&rt->reader_tid) == 0)
		usleep(100);
	pthread_create(&d, NULL, watchdog, rt);
	if (drop_wakeups)
		kpi_fault_drop_wakeups(drop_wakeups, "tunread");
	t0 = now_ms();
	pthread_create(&w, NULL, writer, rt);
	pthread_join(w, NULL);
	pthread_join(r, NULL);
	atomic_store(&rt->stop, 1);
	pthread_join(d, NULL);
	kpi_fault_drop_wakeups(0, NULL);
	tl_note("%ld round trips in %.0f ms (%.1f us each)",
	    atomic_load(&rt->received), now_ms() - t0,
	    (now_ms() - t0) * 1e3 / (atomic_load(&rt->received) + 1));
	printf("    %ld round trips in %.2f s\n", atomic_load(&rt->received),
	    (now_ms() - t0) / 1e3);
	kpi_sync();
	OK(kpi_close(rt->t.fd));
}

TEST_T(test_O6_no_lost_wakeup_100000_round_trips_with_watchdog, 110)
{
	struct kpi_stats a, b;
	struct rt rt;
	long n = getenv("TUNLAB_ROUNDTRIPS") ?
	    atol(getenv("TUNLAB_ROUNDTRIPS")) : 100000;

	kpi_stats(&a);
	run(&rt, n, 0);
	kpi_stats(&b);
	/* most reads must really have slept, or nothing was tested */
	printf("    %ld tsleep()s blocked\n", b.tsleep_blocks - a.tsleep_blocks);
	CHECK(b.tsleep_blocks - a.tsleep_blocks > n / 2);
	CHECK_EQ(atomic_load(&rt.lost), 0);
	CHECK_EQ(atomic_load(&rt.stalled), 0);
	CHECK_EQ(atomic_load(&rt.bad), 0);
	CHECK_EQ(atomic_load(&rt.read_errno), 0);
	CHECK_EQ(atomic_load(&rt.received), n);
}

TEST_T(test_O6_no_lost_wakeup_with_preempted_sleeps, 60)
{
	struct rt rt;
	long n = getenv("TUNLAB_ROUNDTRIPS") ?
	    atol(getenv("TUNLAB_ROUNDTRIPS")) / 10 : 10000;

	/*
	 * Preempting every non-interlocked tsleep() makes a missing
	 * tsleep_interlock() lose a wakeup within a few round trips (the
	 * conformance suite's O6 mutation shows it); the driver's read
	 * sleeps interlocked, so nothing may change for it.
	 */
	kpi_fault_preempt_sleep(50);
	run(&rt, n, 0);
	kpi_fault_preempt_sleep(0);
	CHECK_EQ(atomic_load(&rt.lost), 0);
	CHECK_EQ(atomic_load(&rt.stalled), 0);
	CHECK_EQ(atomic_load(&rt.bad), 0);
	CHECK_EQ(atomic_load(&rt.received), n);
}

TEST_T(test_O6_control_watchdog_catches_an_injected_lost_wakeup, 30)
{
	struct rt rt;

	/* drop one wakeup of a sleeping reader: the watchdog must see it */
	run(&rt, 1000, 1);
	CHECK_EQ(atomic_load(&rt.lost), 1);
	CHECK(atomic_load(&rt.received) < 1000);
	CHECK_EQ(atomic_load(&rt.read_errno), KPI_EINTR);
}

/*
 * The same single-packet round trips, the reader waiting in kevent(2)
 * (as the agent's bench does) instead of sleeping in read(2): every
 * reply must activate the knote (K1) even while a scan runs the filter.
 */
struct kqrt {
	struct tl_tun	t;
	long		n;
	atomic_long	received;
	atomic_int	stop;
	atomic_int	timeouts;
};

static void *
kq_writer(void *p)
{
	struct kqrt *rt = p;
	uint8_t pkt[64];
	size_t len;
	long i;

	for (i = 0; i < rt->n && !atomic_load(&rt->stop); ++i) {
		len = tl_icmp_echo4(pkt, tl_ip4(PEER4), tl_ip4(LOCAL4), 0x4343,
		    (uint16_t)i, 8);
		if (kpi_write(rt->t.fd, pkt, len) != (ssize_t)len)
			break;
		while (atomic_load(&rt->received) < i + 1 &&
		    !atomic_load(&rt->stop))
			sched_yield();
	}
	kpi_thread_exit();
	return NULL;
}

TEST_T(test_K1_kevent_waiter_never_misses_a_reply_50000_round_trips, 110)
{
	struct kpi_timespec ts = { 2, 0 };
	struct kpi_kevent kev, ev;
	struct kqrt rt;
	uint8_t buf[256];
	pthread_t w;
	long i;
	int kq, n;

	memset(&rt, 0, sizeof(rt));
	rt.n = getenv("TUNLAB_KQ_ROUNDTRIPS") ?
	    atol(getenv("TUNLAB_KQ_ROUNDTRIPS")) : 50000;
	tl_open_tun(&rt.t);
	tl_ifaddr4(rt.t.name, LOCAL4, PEER4);
	OK(kpi_fcntl(rt.t.fd, KPI_F_SETFL, KPI_O_NONBLOCK));
	kq = OK(kpi_kqueue());
	memset(&kev, 0, sizeof(kev));
	kev.ident = (uintptr_t)rt.t.fd;
	kev.filter = KPI_EVFILT_READ;
	kev.flags = KPI_EV_ADD;
	OK(kpi_kevent(kq, &kev, 1, NULL, 0, NULL));
	pthread_create(&w, NULL, kq_writer, &rt);
	for (i = 0; i < rt.n; ++i) {
		for (;;) {
			if (kpi_read(rt.t.fd, buf, sizeof(buf)) > 0)
				break;
			n = kpi_kevent(kq, NULL, 0, &ev, 1, &ts);
			if (n == 0) {
				fprintf(stderr, "    kevent: no EVFILT_READ for 2 s "
				    "at round trip %ld (FIONREAD %d)\n", i, ({
				    int q = 0; kpi_ioctl(rt.t.fd, KPI_FIONREAD, &q);
				    q; }));
				atomic_fetch_add(&rt.timeouts, 1);
				break;
			}
		}
		if (atomic_load(&rt.timeouts))
			break;
		atomic_store(&rt.received, i + 1);
	}
	atomic_store(&rt.stop, 1);
	pthread_join(w, NULL);
	CHECK_EQ(atomic_load(&rt.timeouts), 0);
	CHECK_EQ(atomic_load(&rt.received), rt.n);
	kpi_sync();
	OK(kpi_close(kq));
	OK(kpi_close(rt.t.fd));
}
