/*
 * bench.c - the bench verb (docs/protocol.md): checks the request, runs one of the timed
 * loops of bench_loops.c inside the guest, and replies with the figures. Only the request
 * and the figures cross the control channel.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "agent.h"
#include "args.h"
#include "backend.h"
#include "bench.h"
#include "errnames.h"
#include "packet.h"

int
verb_bench(const struct request *rq)
{
	struct bench_params p;
	struct bench_result r;
	struct handle *h;
	struct be_ifinfo info;
	const char *kind, *what = "bench";
	long long size, ms;
	int err;

	memset(&p, 0, sizeof(p));
	if (arg_handle(rq, &h) < 0 || arg_word(rq, "kind", &kind) < 0 ||
	    arg_int(rq, "size", PKT_IP_HLEN + PKT_ICMP_HLEN, PKT_IP_MAX, &size) < 0 ||
	    arg_int(rq, "ms", 1, 600000, &ms) < 0 || arg_in4(rq, "local", &p.local) < 0 ||
	    arg_in4(rq, "peer", &p.peer) < 0 || arg_bool_opt(rq, "bpf", 0, &p.bpf) < 0)
		return -1;
	if (bench_kind_parse(kind, &p.kind) < 0)
		return reply_err(rq->id, "EARG", 0, "kind: want write, read or rtt");
	p.fd = h->fd;
	p.ifname = h->ifname;
	p.size = (size_t)size;
	p.ms = (unsigned)ms;
	/* a packet the stack sends must not be fragmented, or the loops cannot match it */
	if (p.kind != BENCH_WRITE && be_ifinfo(h->ifname, &info) == 0 && size > info.mtu)
		return reply_err(rq->id, "EARG", 0, "size: %lld exceeds %s's mtu %d", size,
		    h->ifname, info.mtu);

	err = bench_run(&p, &r, &what);
	if (err)
		return fail_errno(rq, err, what);

	reply_uint("packets", r.packets);
	reply_uint("bytes", r.bytes);
	reply_uint("ns", r.ns);
	reply_fixed3("pps", (double)r.packets * 1e9 / (double)r.ns);
	reply_fixed3("mbps", (double)r.bytes * 8e3 / (double)r.ns);
	reply_uint("errors", r.errors + r.unexpected);
	reply_uint("unexpected", r.unexpected);
	if (r.first_err)
		reply_word("first_error", errno_name(r.first_err));
	if (p.kind == BENCH_RTT && r.packets > 0) {
		reply_uint("rtt_min_ns", r.rtt_min);
		reply_uint("rtt_avg_ns", r.rtt_sum / r.packets);
		reply_uint("rtt_max_ns", r.rtt_max);
	}
	if (p.bpf) {
		reply_uint("bpf_read", r.bpf_read);
		reply_uint("bpf_drops", r.bpf_drops);
	}
	return 0;
}
