/*
 * bench_ref.c - the reference loops (`bench loop=ref`, `tunlab bench --overhead`): the
 * least a program can do to move the packets of each bench kind, so that the figure of
 * the tunlab loops (bench_loops.c) can be compared with something that is not itself.
 *
 * Deliberately simple, and independent of bench_loops.c and packet.c: its own header
 * and checksum code, no predicates, no latency figures, no listener. Per packet it does
 * the system calls of the kind and the least checking that proves the packet was the
 * one expected; the clock is read once before the loop, once every REF_CHUNK packets
 * (the deadline) and once after. It uses the backend only for the system calls
 * (be_write, be_read, be_wait_readable, the UDP socket) and the device's framing.
 *
 * Reads: the device is made non-blocking for the loop and each read is tried first;
 * only when it finds nothing does the loop wait (be_wait_readable, at most REF_WAIT_MS)
 * and read again. On Linux the kernel queues the reply before write(2) returns, so no
 * wait happens there; every wait is still bounded, and a read that found nothing ends the
 * chunk, so that the deadline is looked at at once: a loop whose packets never come back
 * ends at most one wait past its ms, not REF_CHUNK waits.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "bench.h"

#define REF_CHUNK	256		/* packets between two clock reads */
#define REF_WAIT_MS	1000		/* longest wait for one packet */
#define REF_IDENT	0x5246		/* ICMP echo ident: "RF" */
#define REF_DPORT	9		/* UDP discard */
#define REF_BURST	16		/* kind=read: datagrams sent before reading them */
#define REF_HLEN	20		/* IPv4 header, no options */
#define REF_OTHERS	100		/* other packets read while waiting for one, at most */

static uint8_t ref_tx[64 + 65535];
static uint8_t ref_rx[65539 + 64];

static uint64_t
ref_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint16_t
ref_cksum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (; n > 1; p += 2, n -= 2)
		s += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		s += (uint32_t)(p[0] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* IPv4 ICMP echo (request: type 8, reply: type 0) of len bytes, src -> dst, with a payload
 * of zeros. */
static void
ref_icmp(uint8_t *ip, size_t len, int type, const uint8_t *src, const uint8_t *dst)
{
	memset(ip, 0, len);
	ip[0] = 0x45;
	put16(ip + 2, (unsigned)len);
	ip[8] = 64;
	ip[9] = 1;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	put16(ip + 10, ref_cksum(ip, REF_HLEN));
	ip[REF_HLEN] = (uint8_t)type;
	put16(ip + REF_HLEN + 4, REF_IDENT);
}

/* Sets the echo's sequence number and computes its ICMP checksum afresh: over the 8-byte
 * ICMP header only, as the payload is zeros, which add nothing to the sum. */
static void
ref_seq(uint8_t *ip, unsigned seq)
{
	uint8_t *icmp = ip + REF_HLEN;

	put16(icmp + 6, seq);
	put16(icmp + 2, 0);
	put16(icmp + 2, ref_cksum(icmp, 8));
}

static void
ref_error(struct bench_result *r, int err)
{
	r->errors++;
	if (!r->first_err)
		r->first_err = err;
}

/* One packet from the device, waiting at most REF_WAIT_MS: 0 with *ip at its IP header,
 * -1 after a failed read or wait, 1 for a packet too short to be ours (both counted). */
static int
ref_read(int fd, const struct be_framing *fr, struct bench_result *r, const uint8_t **ip)
{
	size_t n;
	long off;
	int err;

	err = be_read(fd, ref_rx, sizeof(ref_rx), &n);
	if (err == EAGAIN && (err = be_wait_readable(fd, REF_WAIT_MS)) == 0)
		err = be_read(fd, ref_rx, sizeof(ref_rx), &n);
	if (err) {
		ref_error(r, err);
		return -1;
	}
	off = be_frame_in(fr, ref_rx, n);
	if (off < 0 || n - (size_t)off < REF_HLEN + 8 || ref_rx[off] >> 4 != 4) {
		r->unexpected++;
		return 1;
	}
	*ip = ref_rx + off;
	return 0;
}

/* rtt: an echo request written, its reply read; the sequence number and so the ICMP
 * checksum change every packet. The reply must carry the request's sequence number. */
static void
ref_rtt(const struct bench_params *p, const struct be_framing *fr, struct bench_result *r,
    uint64_t deadline)
{
	uint8_t *ip = ref_tx + fr->out_len;
	size_t len = fr->out_len + p->size, n;
	unsigned seq = 0;
	const uint8_t *in;
	int err, got;

	ref_icmp(ip, p->size, 8, p->peer.b, p->local.b);
	do {
		got = 0;
		for (int i = 0; i < REF_CHUNK && got >= 0; i++) {
			seq = (seq + 1) & 0xffff;
			ref_seq(ip, seq);
			if ((err = be_write(p->fd, ref_tx, len, &n)) != 0 || n != len) {
				ref_error(r, err ? err : EIO);
				continue;
			}
			/* the reply, after anything else the device held */
			for (int others = 0; others < REF_OTHERS &&
			    (got = ref_read(p->fd, fr, r, &in)) >= 0; others++) {
				if (got == 0 && in[9] == 1 && in[REF_HLEN] == 0 &&
				    ((unsigned)in[REF_HLEN + 6] << 8 | in[REF_HLEN + 7]) == seq) {
					r->packets++;
					r->bytes += p->size;
					break;
				}
				if (got == 0)
					r->unexpected++;
			}
		}
	} while (ref_now() < deadline);
}

/* write: the same echo reply written again and again. */
static void
ref_write(const struct bench_params *p, const struct be_framing *fr,
    struct bench_result *r, uint64_t deadline)
{
	size_t len = fr->out_len + p->size, n;
	int err;

	ref_icmp(ref_tx + fr->out_len, p->size, 0, p->peer.b, p->local.b);
	ref_seq(ref_tx + fr->out_len, 1);
	do {
		for (int i = 0; i < REF_CHUNK; i++) {
			if ((err = be_write(p->fd, ref_tx, len, &n)) != 0 || n != len) {
				ref_error(r, err ? err : EIO);
				continue;
			}
			r->packets++;
			r->bytes += p->size;
		}
	} while (ref_now() < deadline);
}

/* read: REF_BURST datagrams sent to the peer, then each read back from the device. */
static int
ref_read_kind(const struct bench_params *p, const struct be_framing *fr,
    struct bench_result *r, uint64_t deadline)
{
	size_t payload = p->size - REF_HLEN - 8;
	const uint8_t *in;
	unsigned sport;
	int sock, err, sent, got;

	memset(ref_tx, 'r', payload);
	if ((err = be_udp_open(&p->local, &sock, &sport)) != 0)
		return err;
	do {
		got = 0;
		for (int i = 0; i < REF_CHUNK && got >= 0; i += REF_BURST) {
			sent = 0;
			for (int j = 0; j < REF_BURST; j++) {
				if ((err = be_udp_send(sock, &p->peer, REF_DPORT, ref_tx,
				    payload)) != 0)
					ref_error(r, err);
				else
					sent++;
			}
			for (int others = 0; sent > 0 && others < REF_OTHERS;) {
				if ((got = ref_read(p->fd, fr, r, &in)) < 0)
					break;	/* the rest of the burst is lost */
				if (got > 0) {
					others++;
					continue;
				}
				if (in[9] != 17 || ((unsigned)in[REF_HLEN + 2] << 8 |
				    in[REF_HLEN + 3]) != REF_DPORT) {
					r->unexpected++;
					others++;
					continue;
				}
				sent--;
				r->packets++;
				r->bytes += p->size;
			}
		}
	} while (ref_now() < deadline);
	be_udp_close(sock);
	return 0;
}

/* Empties the device before a loop (router solicitations and the like). */
static void
ref_drain(int fd)
{
	size_t n;

	for (int i = 0; i < 1000; i++)
		if (be_read(fd, ref_rx, sizeof(ref_rx), &n) != 0)
			break;
}

int
bench_ref_run(const struct bench_params *p, struct bench_result *r, const char **what)
{
	struct be_framing fr;
	uint64_t start;
	int err, was_nonblock = 0;

	memset(r, 0, sizeof(*r));
	if ((err = be_framing_get(p->fd, 4, &fr)) != 0) {
		*what = "bench: packet framing (a tun device is needed)";
		return err;
	}
	memcpy(ref_tx, fr.out_hdr, fr.out_len);
	if ((err = be_get_nonblock(p->fd, &was_nonblock)) != 0 ||
	    (err = be_set_nonblock(p->fd, 1)) != 0) {
		*what = "bench: non-blocking mode";
		return err;
	}
	ref_drain(p->fd);
	start = ref_now();
	switch (p->kind) {
	case BENCH_RTT:
		ref_rtt(p, &fr, r, start + (uint64_t)p->ms * 1000000u);
		break;
	case BENCH_WRITE:
		ref_write(p, &fr, r, start + (uint64_t)p->ms * 1000000u);
		break;
	case BENCH_READ:
		err = ref_read_kind(p, &fr, r, start + (uint64_t)p->ms * 1000000u);
		break;
	}
	r->ns = ref_now() - start;
	(void)be_set_nonblock(p->fd, was_nonblock);
	if (err) {
		*what = "bench: udp socket";
		return err;
	}
	return 0;
}
