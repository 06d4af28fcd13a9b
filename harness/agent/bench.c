/*
 * bench.c - the bench verb: timed traffic loops inside the guest (docs/protocol.md).
 *   write: ICMP echo replies peer -> local written to the device (program -> stack)
 *   read:  UDP datagrams local -> peer sent through the stack, read from the device
 *   rtt:   ICMP echo requests peer -> local written, the kernel's replies read back
 * Only the figures go back over the control channel.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "args.h"
#include "backend.h"
#include "errnames.h"
#include "packet.h"

#define BENCH_IDENT	0x544c		/* ICMP echo ident: "TL" */
#define BENCH_DPORT	9		/* UDP discard */
#define READ_BURST	16		/* datagrams in flight in kind=read */
#define REPLY_WAIT_MS	1000		/* longest wait for one expected packet */

struct bench {
	int fd;
	struct be_framing fr;
	struct be_in4 local, peer;
	size_t size;			/* IP packet length */
	uint64_t deadline;		/* monotonic ns */
	/* results */
	uint64_t packets, bytes, ns, errors, unexpected;
	uint64_t rtt_min, rtt_max, rtt_sum;
	int first_err;			/* errno of the first failed call */
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
	b->errors++;
	if (!b->first_err)
		b->first_err = err;
}

/* Builds the framing prefix in txbuf; returns where the IP packet starts. */
static uint8_t *
tx_packet(struct bench *b)
{
	memcpy(txbuf, b->fr.out_hdr, b->fr.out_len);
	return txbuf + b->fr.out_len;
}

/* Reads one packet and parses its IPv4 header: 0, or -1 (error counted), or 1 if it is
 * not an IPv4 packet (counted as unexpected). */
static int
rx_packet(struct bench *b, struct pkt_info *info)
{
	size_t n;
	long off;
	int err;

	err = be_read(b->fd, rxbuf, sizeof(rxbuf), &n);
	if (err) {
		count_error(b, err);
		return -1;
	}
	off = be_frame_in(&b->fr, rxbuf, n);
	if (off < 0 || pkt_parse(rxbuf + off, n - (size_t)off, info) < 0) {
		b->unexpected++;
		return 1;
	}
	return 0;
}

/* Discards what the device holds before a loop starts (router solicitations, ...). */
static void
drain(struct bench *b)
{
	size_t n;

	for (int i = 0; i < 1000 && be_wait_readable(b->fd, 0) == 0; i++)
		if (be_read(b->fd, rxbuf, sizeof(rxbuf), &n) != 0)
			break;
}

static void
run_write(struct bench *b)
{
	size_t len = b->fr.out_len + b->size, n;
	int err;

	pkt_icmp_echo(tx_packet(b), b->size, PKT_ICMP_ECHOREPLY, b->peer.b, b->local.b,
	    BENCH_IDENT, 1);
	while (now_ns() < b->deadline) {
		err = be_write(b->fd, txbuf, len, &n);
		if (err) {
			count_error(b, err);
		} else if (n != len) {
			count_error(b, EIO);
		} else {
			b->packets++;
			b->bytes += b->size;
		}
	}
}

/* Waits for and reads packets until pred accepts one; 1 when it did, 0 otherwise. */
static int
await_packet(struct bench *b, int (*pred)(const struct bench *, const struct pkt_info *,
    const void *), const void *ctx)
{
	uint64_t give_up = now_ns() + (uint64_t)REPLY_WAIT_MS * 1000000u;
	struct pkt_info info;
	int err;

	for (;;) {
		uint64_t t = now_ns();

		if (t >= give_up) {
			count_error(b, ETIMEDOUT);
			return 0;
		}
		err = be_wait_readable(b->fd, (int)((give_up - t) / 1000000u) + 1);
		if (err) {
			count_error(b, err);
			return 0;
		}
		if (rx_packet(b, &info) != 0)
			continue;
		if (pred(b, &info, ctx))
			return 1;
		b->unexpected++;
	}
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
	while (now_ns() < b->deadline) {
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
			b->packets++;
			b->bytes += b->size;
		}
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
	int err;

	pkt_icmp_echo(ip, b->size, PKT_ICMP_ECHO, b->peer.b, b->local.b, BENCH_IDENT, seq);
	drain(b);
	while (now_ns() < b->deadline) {
		uint64_t t0, dt;

		pkt_icmp_set_seq(ip, ++seq);
		t0 = now_ns();
		err = be_write(b->fd, txbuf, len, &n);
		if (err || n != len) {
			count_error(b, err ? err : EIO);
			continue;
		}
		if (!await_packet(b, is_our_reply, &seq))
			continue;
		dt = now_ns() - t0;
		if (b->packets == 0 || dt < b->rtt_min)
			b->rtt_min = dt;
		if (dt > b->rtt_max)
			b->rtt_max = dt;
		b->rtt_sum += dt;
		b->packets++;
		b->bytes += b->size;
	}
}

int
verb_bench(const struct request *rq)
{
	struct bench b;
	struct handle *h;
	struct be_ifinfo info;
	const char *kind;
	long long size, ms;
	uint64_t start;
	int err;

	memset(&b, 0, sizeof(b));
	if (arg_handle(rq, &h) < 0 || arg_word(rq, "kind", &kind) < 0 ||
	    arg_int(rq, "size", PKT_IP_HLEN + PKT_ICMP_HLEN, PKT_IP_MAX, &size) < 0 ||
	    arg_int(rq, "ms", 1, 600000, &ms) < 0 || arg_in4(rq, "local", &b.local) < 0 ||
	    arg_in4(rq, "peer", &b.peer) < 0)
		return -1;
	if (strcmp(kind, "write") != 0 && strcmp(kind, "read") != 0 &&
	    strcmp(kind, "rtt") != 0)
		return reply_err(rq->id, "EARG", 0, "kind: want write, read or rtt");
	b.fd = h->fd;
	b.size = (size_t)size;
	err = be_framing_get(b.fd, 4, &b.fr);
	if (err)
		return fail_errno(rq, err, "bench: packet framing (a tun device is needed)");
	/* a packet the stack sends must not be fragmented, or the loops cannot match it */
	if (strcmp(kind, "write") != 0 && be_ifinfo(h->ifname, &info) == 0 &&
	    size > info.mtu)
		return reply_err(rq->id, "EARG", 0, "size: %lld exceeds %s's mtu %d", size,
		    h->ifname, info.mtu);

	start = now_ns();
	b.deadline = start + (uint64_t)ms * 1000000u;
	if (kind[0] == 'w') {
		run_write(&b);
	} else if (kind[0] == 'r' && kind[1] == 'e') {
		err = run_read(&b);
		if (err)
			return fail_errno(rq, err, "bench: udp socket");
	} else {
		run_rtt(&b);
	}
	b.ns = now_ns() - start;

	reply_uint("packets", b.packets);
	reply_uint("bytes", b.bytes);
	reply_uint("ns", b.ns);
	reply_fixed3("pps", (double)b.packets * 1e9 / (double)b.ns);
	reply_fixed3("mbps", (double)b.bytes * 8e3 / (double)b.ns);
	reply_uint("errors", b.errors + b.unexpected);
	reply_uint("unexpected", b.unexpected);
	if (b.first_err)
		reply_word("first_error", errno_name(b.first_err));
	if (kind[1] == 't' && b.packets > 0) {
		reply_uint("rtt_min_ns", b.rtt_min);
		reply_uint("rtt_avg_ns", b.rtt_sum / b.packets);
		reply_uint("rtt_max_ns", b.rtt_max);
	}
	return 0;
}
