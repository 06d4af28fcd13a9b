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
	int		udp;		/* datagrams from sendto(2), not echoes */
	int		door;		/* echoes: every other read races its
					   reply to the door of its sleep */
	long		at_door;	/* sent while the reader was held */
	long		asleep;		/* sent while it slept */
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
		if (rt->door && (i & 1) == 0) {
			/*
			 * The request is out before this read: netisr's
			 * reply races the read, which the kpi holds at the
			 * door of its sleep until a wakeup comes.
			 */
			kpi_fault_sleep_window(20000, "tunread");
			while (atomic_load(&rt->sent) < i + 1 &&
			    !atomic_load(&rt->stop))
				sched_yield();
		} else if (rt->door) {
			/* a plain read: it sleeps, then the request goes */
			kpi_fault_sleep_window(0, NULL);
		}
		n = kpi_read(rt->t.fd, buf, sizeof(buf));
		if (n < 0) {
			atomic_store(&rt->read_errno, kpi_errno());
			break;
		}
		/* an echo reply, or a datagram, carrying our number */
		if (rt->udp ? (n != 28 + 2 || buf[9] != 17 ||
		    ((buf[28] << 8) | buf[29]) != (int)(i & 0xffff)) :
		    (n != 28 + 8 || buf[20] != 0 ||
		    ((buf[26] << 8) | buf[27]) != (int)(i & 0xffff)))
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

/*
 * A process sending datagrams to the peer, one at a time: each is sent
 * the moment the reader, back in read(2) for it, stands at the door of its
 * sleep (held there by kpi_fault_sleep_window) or sleeps.  sendto(2) runs
 * the stack and the driver's if_output in the sender's own thread, with no
 * lock of the reader's (not the MP lock either): on a real machine another
 * CPU.
 */
static void *
door_sender(void *p)
{
	struct rt *rt = p;
	struct kpi_sockaddr_in sin;
	uint8_t seq[2];
	long i;
	int s, tid;

	s = kpi_socket(KPI_AF_INET, KPI_SOCK_DGRAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_len = sizeof(sin);
	sin.sin_family = KPI_AF_INET;
	sin.sin_port = htons_kpi(5555);
	if (s < 0 || kpi_bind(s, (struct kpi_sockaddr *)&sin,
	    sizeof(sin)) != 0) {
		atomic_store(&rt->stop, 1);
		kpi_thread_exit();
		return NULL;
	}
	sin.sin_addr.s_addr = tl_ip4(PEER4);
	sin.sin_port = htons_kpi(4321);
	tid = atomic_load(&rt->reader_tid);
	for (i = 0; i < rt->n && !atomic_load(&rt->stop); ++i) {
		while (atomic_load(&rt->received) < i &&
		    !atomic_load(&rt->stop))
			sched_yield();
		while (!atomic_load(&rt->stop)) {
			if (kpi_thread_at_sleep_door(tid)) {
				rt->at_door++;
				break;
			}
			if (kpi_thread_sleeping(tid, NULL)) {
				rt->asleep++;
				break;
			}
			sched_yield();
		}
		seq[0] = (uint8_t)(i >> 8);
		seq[1] = (uint8_t)i;
		if (kpi_sendto(s, seq, 2, 0, (struct kpi_sockaddr *)&sin,
		    sizeof(sin)) != 2) {
			atomic_store(&rt->stop, 1);
			break;
		}
		atomic_store(&rt->sent, i + 1);
	}
	kpi_close(s);
	kpi_thread_exit();
	return NULL;
}

static void
run(struct rt *rt, long n, long drop_wakeups)
{
	pthread_t r, w, d;
	double t0;
	int udp = rt->udp, door = rt->door;	/* the caller's mode */

	memset(rt, 0, sizeof(*rt));
	rt->udp = udp;
	rt->door = door;
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
	pthread_create(&w, NULL, rt->udp ? door_sender : writer, rt);
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
	memset(&rt, 0, sizeof(rt));
	rt.door = 1;
	run(&rt, n, 0);
	kpi_fault_sleep_window(0, NULL);
	kpi_stats(&b);
	/*
	 * Most reads must really have slept or met their wakeup at the door
	 * of the sleep, or nothing was tested.
	 */
	printf("    %ld tsleep()s blocked; %ld reads held at the door, %ld "
	    "wakeups came there, %ld of them lost\n",
	    b.tsleep_blocks - a.tsleep_blocks, b.sleep_windows - a.sleep_windows,
	    b.window_wakeups - a.window_wakeups, b.window_lost - a.window_lost);
	CHECK(b.tsleep_blocks - a.tsleep_blocks +
	    b.window_wakeups - a.window_wakeups > n / 2);
	CHECK_EQ(b.window_lost - a.window_lost, 0);
	CHECK_EQ(atomic_load(&rt.lost), 0);
	CHECK_EQ(atomic_load(&rt.stalled), 0);
	CHECK_EQ(atomic_load(&rt.bad), 0);
	CHECK_EQ(atomic_load(&rt.read_errno), 0);
	CHECK_EQ(atomic_load(&rt.received), n);
}

TEST_T(test_O6_no_lost_wakeup_when_the_packet_comes_at_the_door_of_the_sleep,
    60)
{
	struct kpi_stats a, b;
	struct rt rt;
	long n = getenv("TUNLAB_ROUNDTRIPS") ?
	    atol(getenv("TUNLAB_ROUNDTRIPS")) / 10 : 10000;

	/*
	 * Every read that finds the queue empty is held between the
	 * driver's unlock and its sleep until a wakeup comes (or 200 ms),
	 * and the next packet is sent exactly then.  A read that sleeps
	 * with tsleep_interlock() is woken by it; a driver that drops its
	 * serializer and then calls tsleep() without it (the stock drivers)
	 * loses that wakeup on the first round trip, and the watchdog sees
	 * the reader asleep with the packet queued.
	 */
	memset(&rt, 0, sizeof(rt));
	rt.udp = 1;
	kpi_stats(&a);
	kpi_fault_sleep_window(200000, "tunread");
	run(&rt, n, 0);
	kpi_fault_sleep_window(0, NULL);
	kpi_stats(&b);
	printf("    %ld reads held at the door, %ld packets sent there "
	    "(%ld while asleep); %ld wakeups came meanwhile, %ld of them "
	    "lost\n", b.sleep_windows - a.sleep_windows, rt.at_door,
	    rt.asleep, b.window_wakeups - a.window_wakeups,
	    b.window_lost - a.window_lost);
	/* the window was really hit, or nothing was tested */
	CHECK(b.window_wakeups - a.window_wakeups > 0);
	CHECK(rt.at_door > n / 2 || atomic_load(&rt.lost));
	CHECK_EQ(b.window_lost - a.window_lost, 0);
	CHECK_EQ(atomic_load(&rt.lost), 0);
	CHECK_EQ(atomic_load(&rt.stalled), 0);
	CHECK_EQ(atomic_load(&rt.bad), 0);
	CHECK_EQ(atomic_load(&rt.read_errno), 0);
	CHECK_EQ(atomic_load(&rt.received), n);
}

TEST_T(test_O6_control_watchdog_catches_an_injected_lost_wakeup, 30)
{
	struct rt rt;

	/* drop one wakeup of a sleeping reader: the watchdog must see it */
	memset(&rt, 0, sizeof(rt));
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
