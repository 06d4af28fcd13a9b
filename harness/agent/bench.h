/*
 * bench.h - the timed traffic loops (bench_loops.c), shared by the agent's `bench` verb
 * (bench.c) and the bare benchmark program (bench_bare.c), which runs the very same loops
 * with no protocol and no serial line; and the reference loops (bench_ref.c), the
 * yardstick the loops' own cost is measured against (`bench loop=ref`).
 */
#ifndef TUNLAB_BENCH_H
#define TUNLAB_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

enum bench_kind {
	BENCH_WRITE,	/* ICMP echo replies peer -> local written to the device */
	BENCH_READ,	/* UDP datagrams local -> peer sent through the stack, read back */
	BENCH_RTT	/* ICMP echo requests written, the kernel's replies read back */
};

struct bench_params {
	enum bench_kind kind;
	int fd;			/* the tun device: up, local as its address, peer as its peer */
	const char *ifname;	/* its interface (for the bpf listener) */
	struct be_in4 local, peer;
	size_t size;		/* IP packet length, 28..65535 (read, rtt: at most the MTU) */
	unsigned ms;		/* how long to run */
	uint64_t count;		/* if not 0: stop after this many packets instead (a fixed
				   amount of work, for instruction counts under callgrind) */
	int bpf;		/* attach a packet listener (be_bpf_open) for the run */
};

struct bench_result {
	uint64_t packets, bytes, ns;	/* bytes: IP bytes, each packet once */
	uint64_t errors;		/* failed calls and lost packets */
	uint64_t unexpected;		/* packets read that were not the expected ones */
	uint64_t rtt_samples;		/* rtt: round trips timed (one in BENCH_RTT_EVERY) */
	uint64_t rtt_min, rtt_max, rtt_sum;	/* over those */
	int first_err;			/* errno of the first failed call, or 0 */
	uint64_t bpf_read, bpf_drops;	/* what the listener read and lost (bpf=1) */
};

/* kind=rtt times one round trip in this many (bench_loops.c): two clock reads per round
 * trip would cost more than some clock sources' round trip under emulation. */
#define BENCH_RTT_EVERY	64

/* "write", "read", "rtt" -> the kind; -1 for anything else. */
int bench_kind_parse(const char *s, enum bench_kind *k);
const char *bench_kind_name(enum bench_kind k);

/* Runs one timed loop. Returns 0 with *r filled in, or an errno when the loop could not
 * start (the device's framing, the UDP socket, the listener); agent_errmsg() then names
 * the step and *what is set to a short description of it. */
int bench_run(const struct bench_params *p, struct bench_result *r, const char **what);

/* The same figures from the reference loop of the kind (bench_ref.c): the least a
 * program can do to move those packets, written apart from bench_loops.c. */
int bench_ref_run(const struct bench_params *p, struct bench_result *r, const char **what);

#endif /* TUNLAB_BENCH_H */
