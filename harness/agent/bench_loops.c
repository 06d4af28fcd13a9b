/*
 * bench_loops.c - the timed traffic loops (bench.h), inside the guest:
 *   write: ICMP echo replies peer -> local written to the device (program -> stack)
 *   read:  UDP datagrams local -> peer sent through the stack, read from the device
 *   rtt:   ICMP echo requests peer -> local written, the kernel's replies read back
 * With a packet listener (bpf), the loops drain it without blocking after every round
 * trip, every burst of reads, and every BPF_EVERY writes.
 * No protocol here: the agent's verb (bench.c) and the bare program (bench_bare.c) share it.
 *
 * The loops must cost next to nothing beside the system calls they measure (bench loop=ref,
 * bench_ref.c, is the yardstick): a clock read can be an emulated device access under
 * TCG, so the clock is read once every CLOCK_EVERY packets for the deadline, and kind=rtt
 * times one round trip in BENCH_RTT_EVERY. The device is non-blocking for the loop and a
 * read is tried before any wait: on Linux the reply is queued before write(2) returns, so
 * the loop never polls there; where it is not (a netisr thread on DragonFly), the wait is
 * bounded by REPLY_WAIT_MS, and after a wait that found nothing the deadline is looked at
 * at once: a loop whose packets never come back ends at most one wait past its ms.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "bench.h"
#include "packet.h"

#define BENCH_IDENT	0x544c		/* ICMP echo ident: "TL" */
#define BENCH_DPORT	9		/* UDP discard */
#define READ_BURST	16		/* datagrams in flight in kind=read */
#define REPLY_WAIT_MS	1000		/* longest wait for one expected packet */
#define BPF_EVERY	16		/* kind=write: drain the listener every so many writes */
#define CLOCK_EVERY	64		/* packets (loop turns) between two deadline checks */

struct bench {
	int fd;
	struct be_framing fr;
	struct be_in4 local, peer;
	size_t size;			/* IP packet length */
	uint64_t deadline;		/* monotonic ns */
	uint64_t count;			/* 0, or the packets to move instead of a deadline */
	unsigned turns;			/* loop turns left before the next deadline check */
	int bpf_fd;			/* the listener, or -1 */
	struct bench_result *r;
};

static uint8_t txbuf[sizeof(((struct be_framing *)0)->out_hdr) + PKT_IP_MAX];
static uint8_t rxbuf[65539 + 64];

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
count_error(struct bench *b, int err)
{
	b->r->errors++;
	if (!b->r->first_err)
		b->r->first_err = err;
}

static void
bpf_drain(struct bench *b)
{
	int err;

	if (b->bpf_fd >= 0 && (err = be_bpf_drain(b->bpf_fd, &b->r->bpf_read)) != 0)
		count_error(b, err);
}

/* Builds the framing prefix in txbuf; returns where the IP packet starts. */
static uint8_t *
tx_packet(struct bench *b)
{
	memcpy(txbuf, b->fr.out_hdr, b->fr.out_len);
	return txbuf + b->fr.out_len;
}

/* Discards what the (non-blocking) device holds before a loop starts (router
 * solicitations, ...). */
static void
drain(struct bench *b)
{
	size_t n;

	for (int i = 0; i < 1000; i++)
		if (be_read(b->fd, rxbuf, sizeof(rxbuf), &n) != 0)
			break;
}

/* Whether the loop goes on: until count packets have moved, or until the deadline, which
 * is looked at every CLOCK_EVERY turns (the run's ns are measured, so the overshoot of a
 * few packets costs nothing in the figure) and after every failed wait (await_packet).
 * A counted loop ends at its first error: it has no fixed-work figure any more, and a
 * driver that stopped answering would otherwise be waited for, a second a turn, for ever. */
static int
more(struct bench *b)
{
	if (b->count)
		return (b->r->errors == 0 && b->r->packets < b->count);
	if (b->turns-- > 0)
		return 1;
	b->turns = CLOCK_EVERY - 1;
	return (now_ns() < b->deadline);
}

static void
run_write(struct bench *b)
{
	size_t len = b->fr.out_len + b->size, n;
	unsigned since_drain = 0;
	int err;

	pkt_icmp_echo(tx_packet(b), b->size, PKT_ICMP_ECHOREPLY, b->peer.b, b->local.b,
	    BENCH_IDENT, 1);
	while (more(b)) {
		err = be_write(b->fd, txbuf, len, &n);
		if (err) {
			count_error(b, err);
		} else if (n != len) {
			count_error(b, EIO);
		} else {
			b->r->packets++;
			b->r->bytes += b->size;
		}
		if (++since_drain == BPF_EVERY) {
			since_drain = 0;
			bpf_drain(b);
		}
	}
}

/* Reads packets until pred accepts one; 1 when it did, 0 otherwise (counted as an error,
 * and the next more() reads the clock). A read is tried first; the clock is read only when
 * one finds nothing, to bound the waits. */
static int
await_packet(struct bench *b, int (*pred)(const struct bench *, const struct pkt_info *,
    const void *), const void *ctx)
{
	uint64_t give_up = 0, t;
	struct pkt_info info;
	size_t n;
	long off;
	int err;

	for (;;) {
		err = be_read(b->fd, rxbuf, sizeof(rxbuf), &n);
		if (err == EAGAIN) {
			t = now_ns();
			if (give_up == 0)
				give_up = t + (uint64_t)REPLY_WAIT_MS * 1000000u;
			if (t >= give_up)
				err = ETIMEDOUT;
			else if ((err = be_wait_readable(b->fd,
			    (int)((give_up - t) / 1000000u) + 1)) == 0)
				continue;
		}
		if (err)
			goto fail;
		off = be_frame_in(&b->fr, rxbuf, n);
		if (off >= 0 && pkt_parse(rxbuf + off, n - (size_t)off, &info) == 0 &&
		    pred(b, &info, ctx))
			return 1;
		b->r->unexpected++;
		/* a stream of other packets is bounded by the same wait (a rare path) */
		t = now_ns();
		if (give_up == 0)
			give_up = t + (uint64_t)REPLY_WAIT_MS * 1000000u;
		else if (t >= give_up) {
			err = ETIMEDOUT;
			goto fail;
		}
	}
fail:
	count_error(b, err);
	/* the deadline is looked at next: waits that find nothing must not add up to
	 * CLOCK_EVERY * REPLY_WAIT_MS past it */
	b->turns = 0;
	return 0;
}

static int
is_our_datagram(const struct bench *b, const struct pkt_info *i, const void *ctx)
{
	const unsigned *sport = ctx;

	return i->proto == PKT_PROTO_UDP && i->sport == *sport &&
	    i->dport == BENCH_DPORT && memcmp(i->src, b->local.b, 4) == 0 &&
	    memcmp(i->dst, b->peer.b, 4) == 0;
}

static int
run_read(struct bench *b)
{
	size_t payload = b->size - PKT_IP_HLEN - PKT_UDP_HLEN;
	unsigned sport;
	int sock, err;

	memset(txbuf, 'u', payload);
	err = be_udp_open(&b->local, &sock, &sport);
	if (err)
		return err;
	drain(b);
	while (more(b)) {
		int sent = 0;

		for (int i = 0; i < READ_BURST; i++) {
			err = be_udp_send(sock, &b->peer, BENCH_DPORT, txbuf, payload);
			if (err)
				count_error(b, err);
			else
				sent++;
		}
		for (; sent > 0; sent--) {
			if (!await_packet(b, is_our_datagram, &sport))
				break;
			b->r->packets++;
			b->r->bytes += b->size;
		}
		bpf_drain(b);
	}
	be_udp_close(sock);
	return 0;
}

static int
is_our_reply(const struct bench *b, const struct pkt_info *i, const void *ctx)
{
	const uint16_t *seq = ctx;

	return i->proto == PKT_PROTO_ICMP && i->icmp_type == PKT_ICMP_ECHOREPLY &&
	    i->ident == BENCH_IDENT && i->seq == *seq &&
	    memcmp(i->src, b->local.b, 4) == 0 && memcmp(i->dst, b->peer.b, 4) == 0;
}

static void
run_rtt(struct bench *b)
{
	size_t len = b->fr.out_len + b->size, n;
	uint8_t *ip = tx_packet(b);
	uint16_t seq = 0;
	struct bench_result *r = b->r;
	int err;

	pkt_icmp_echo(ip, b->size, PKT_ICMP_ECHO, b->peer.b, b->local.b, BENCH_IDENT, seq);
	drain(b);
	while (more(b)) {
		uint64_t t0 = 0, dt;
		int timed;

		pkt_icmp_set_seq(ip, ++seq);
		timed = seq % BENCH_RTT_EVERY == 1;
		if (timed)
			t0 = now_ns();
		err = be_write(b->fd, txbuf, len, &n);
		if (err || n != len) {
			count_error(b, err ? err : EIO);
			continue;
		}
		if (!await_packet(b, is_our_reply, &seq))
			continue;
		if (timed) {
			dt = now_ns() - t0;
			if (r->rtt_samples == 0 || dt < r->rtt_min)
				r->rtt_min = dt;
			if (dt > r->rtt_max)
				r->rtt_max = dt;
			r->rtt_sum += dt;
			r->rtt_samples++;
		}
		r->packets++;
		r->bytes += b->size;
		bpf_drain(b);
	}
}

int
bench_kind_parse(const char *s, enum bench_kind *k)
{
	if (strcmp(s, "write") == 0)
		*k = BENCH_WRITE;
	else if (strcmp(s, "read") == 0)
		*k = BENCH_READ;
	else if (strcmp(s, "rtt") == 0)
		*k = BENCH_RTT;
	else
		return -1;
	return 0;
}

const char *
bench_kind_name(enum bench_kind k)
{
	return k == BENCH_WRITE ? "write" : k == BENCH_READ ? "read" : "rtt";
}

int
bench_run(const struct bench_params *p, struct bench_result *r, const char **what)
{
	struct bench b;
	uint64_t start;
	int err, was_nonblock = 0;

	memset(r, 0, sizeof(*r));
	memset(&b, 0, sizeof(b));
	b.fd = p->fd;
	b.local = p->local;
	b.peer = p->peer;
	b.size = p->size;
	b.bpf_fd = -1;
	b.r = r;
	err = be_framing_get(b.fd, 4, &b.fr);
	if (err) {
		*what = "bench: packet framing (a tun device is needed)";
		return err;
	}
	if ((err = be_get_nonblock(b.fd, &was_nonblock)) != 0 ||
	    (err = be_set_nonblock(b.fd, 1)) != 0) {
		*what = "bench: non-blocking mode";
		return err;
	}
	if (p->bpf) {
		err = be_bpf_open(p->ifname, &b.bpf_fd);
		if (err) {
			(void)be_set_nonblock(b.fd, was_nonblock);
			*what = "bench: packet listener (bpf=1)";
			return err;
		}
	}

	start = now_ns();
	b.deadline = start + (uint64_t)p->ms * 1000000u;
	b.count = p->count;
	switch (p->kind) {
	case BENCH_WRITE:
		run_write(&b);
		break;
	case BENCH_READ:
		err = run_read(&b);
		break;
	case BENCH_RTT:
		run_rtt(&b);
		break;
	}
	r->ns = now_ns() - start;
	(void)be_set_nonblock(b.fd, was_nonblock);
	if (b.bpf_fd >= 0) {
		bpf_drain(&b);
		(void)be_bpf_drops(b.bpf_fd, &r->bpf_drops);
		be_bpf_close(b.bpf_fd);
	}
	if (err) {
		*what = "bench: udp socket";
		return err;
	}
	return 0;
}
