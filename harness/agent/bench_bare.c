/*
 * bench_bare.c - tunlab-bench-bare: the bench loops of bench_loops.c with nothing around
 * them (no control protocol, no serial line). Its kpi build is what the callgrind gate
 * measures (tunlab.bench_gate); it prints its results on stdout.
 * (`tunlab bench --overhead` compares the loops with the reference loop of bench_ref.c
 * instead: these are the same loops, which cannot show what they cost themselves.)
 *
 *	tunlab-bench-bare <kind>,<size>,<ms>[,reps=<n>][,warmup=<ms>][,mtu=<n>][,count=<n>][,pi][,bpf]
 *
 * count=<n> ends each loop after n packets instead of after ms (the work is then fixed:
 * the kpi build of this program is what the callgrind gate measures, tunlab.bench_gate),
 * or at its first error (errors=1: the gate refuses the figure).
 * The kpi build also prints, after each loop, the mbufs and clusters it allocated:
 *	TUNLAB-BARE kpi rep=<n> mbuf_allocs=<n> cluster_allocs=<n>
 *
 * It opens a tun device (pi: with packet information / header mode), gives it
 * BARE_LOCAL/32 with peer BARE_PEER and the MTU (default: the larger of 1500 and size),
 * runs one warm-up loop of warmup ms (default 300; 0: none) and reps loops (default 1) of
 * ms each, and prints one line per loop and a closing line, on stdout:
 *
 *	TUNLAB-BARE kind=rtt size=64 mode=plain bpf=0 rep=1 warmup=0 packets=... bytes=...
 *	    ns=... pps=... mbps=... errors=...          (one line; rep=0 warmup=1 first)
 *	TUNLAB-BARE done reps=<n>
 *	TUNLAB-BARE error step=<what> errno=<NAME> msg=<text>     (instead, on failure)
 *
 * Exit status 0, or 1 after an error line, or 2 for a bad argument.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "bench.h"
#include "errnames.h"
#include "packet.h"
#ifdef TUNLAB_KPI
#include "kpi_sys.h"
#endif

#define BARE_LOCAL	"10.79.0.1"	/* also in harness/tunlab/bench.py */
#define BARE_PEER	"10.79.0.2"

static char errmsg[256];

/* ---- what the backend needs from its host (backend.h) ---- */

void
agent_log(const char *fmt, ...)
{
	va_list ap;

	fputs("tunlab-bench-bare: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
agent_errmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
}

/* The bare program opens units as the agent does, with the features its build names. */
int
agent_feature(const char *name)
{
#ifdef TUNLAB_DRIVER_FEATURES
	return feature_listed(TUNLAB_DRIVER_FEATURES, name);
#else
	return feature_listed("all", name);
#endif
}

static int
fail(const char *step, int err)
{
	/* no spaces in msg=, so the line stays key=value */
	for (char *c = errmsg; *c; c++)
		if (*c == ' ')
			*c = '_';
	printf("TUNLAB-BARE error step=%s errno=%s msg=%s\n", step, errno_name(err),
	    errmsg[0] ? errmsg : "-");
	fflush(stdout);
	return 1;
}

static int
usage(const char *why)
{
	fprintf(stderr, "tunlab-bench-bare: %s\n"
	    "usage: tunlab-bench-bare <write|read|rtt>,<size>,<ms>[,reps=<n>][,warmup=<ms>][,count=<n>]"
	    "[,mtu=<n>][,pi][,bpf]\n", why);
	return 2;
}

static int
in4(const char *s, struct be_in4 *a)
{
	unsigned v[4];
	char end;

	if (sscanf(s, "%u.%u.%u.%u%c", &v[0], &v[1], &v[2], &v[3], &end) != 4)
		return -1;
	for (int i = 0; i < 4; i++)
		a->b[i] = (uint8_t)v[i];
	return 0;
}

/* A decimal in lo..hi, or -1. */
static long
number(const char *s, long lo, long hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v >= lo && v <= hi ? v : -1;
}

static void
report(const struct bench_params *p, int pi, int rep, const struct bench_result *r)
{
	double ns = r->ns ? (double)r->ns : 1.0;

	printf("TUNLAB-BARE kind=%s size=%zu mode=%s bpf=%d rep=%d warmup=%d packets=%llu "
	    "bytes=%llu ns=%llu pps=%.3f mbps=%.3f errors=%llu\n", bench_kind_name(p->kind),
	    p->size, pi ? "header" : "plain", p->bpf, rep, rep == 0,
	    (unsigned long long)r->packets, (unsigned long long)r->bytes,
	    (unsigned long long)r->ns, (double)r->packets * 1e9 / ns,
	    (double)r->bytes * 8e3 / ns, (unsigned long long)(r->errors + r->unexpected));
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct bench_params p;
	struct bench_result r;
	struct be_open_opts o;
	struct be_ifconfig c;
	char spec[256], ifname[BE_IFNAMSIZ] = "", *tok, *save = NULL;
	long reps = 1, warmup = 300, mtu = -1, v;
	int fd, err, field = 0;
	const char *what = "bench";

	if (argc != 2 || strlen(argv[1]) >= sizeof(spec))
		return usage("one argument expected");
	snprintf(spec, sizeof(spec), "%s", argv[1]);
	memset(&p, 0, sizeof(p));
	memset(&o, 0, sizeof(o));
	for (tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save), field++) {
		if (field == 0) {
			if (bench_kind_parse(tok, &p.kind) < 0)
				return usage("kind: want write, read or rtt");
		} else if (field == 1) {
			if ((v = number(tok, PKT_IP_HLEN + PKT_ICMP_HLEN, PKT_IP_MAX)) < 0)
				return usage("size: want 28..65535");
			p.size = (size_t)v;
		} else if (field == 2) {
			if ((v = number(tok, 1, 600000)) < 0)
				return usage("ms: want 1..600000");
			p.ms = (unsigned)v;
		} else if (strncmp(tok, "reps=", 5) == 0) {
			if ((reps = number(tok + 5, 1, 1000)) < 0)
				return usage("reps: want 1..1000");
		} else if (strncmp(tok, "warmup=", 7) == 0) {
			if ((warmup = number(tok + 7, 0, 600000)) < 0)
				return usage("warmup: want 0..600000");
		} else if (strncmp(tok, "mtu=", 4) == 0) {
			if ((mtu = number(tok + 4, 68, 65535)) < 0)
				return usage("mtu: want 68..65535");
		} else if (strncmp(tok, "count=", 6) == 0) {
			if ((v = number(tok + 6, 1, 100000000)) < 0)
				return usage("count: want 1..100000000");
			p.count = (uint64_t)v;
		} else if (strcmp(tok, "pi") == 0) {
			o.pi = 1;
		} else if (strcmp(tok, "bpf") == 0) {
			p.bpf = 1;
		} else {
			return usage("unknown option");
		}
	}
	if (field < 3)
		return usage("kind, size and ms are required");
	if (mtu < 0)
		mtu = p.size > 1500 ? (long)p.size : 1500;

	if ((err = be_init()))
		return fail("init", err);
	if ((err = be_open(&o, &fd, ifname)))
		return fail("open", err);
	memset(&c, 0, sizeof(c));
	c.ifname = ifname;
	c.has_addr = c.has_peer = 1;
	(void)in4(BARE_LOCAL, &c.addr);
	(void)in4(BARE_PEER, &c.peer);
	c.prefixlen = 32;
	c.mtu = (int)mtu;
	c.up = 1;
	if ((err = be_ifconfig(&c)))
		return fail("ifconfig", err);
	p.fd = fd;
	p.ifname = ifname;
	p.local = c.addr;
	p.peer = c.peer;

	for (long rep = warmup > 0 ? 0 : 1; rep <= reps; rep++) {
		unsigned ms = p.ms;

		if (rep == 0)
			p.ms = (unsigned)warmup;
#ifdef TUNLAB_KPI
		/* The emulated kernel counts every mbuf: report what each loop allocated. */
		struct kpi_stats st0, st1;

		kpi_stats(&st0);
#endif
		err = bench_run(&p, &r, &what);
		p.ms = ms;
		if (err)
			return fail("bench", err);
		report(&p, o.pi, (int)rep, &r);
#ifdef TUNLAB_KPI
		kpi_stats(&st1);
		printf("TUNLAB-BARE kpi rep=%ld mbuf_allocs=%ld cluster_allocs=%ld\n", rep,
		    st1.mbuf_allocs - st0.mbuf_allocs, st1.cluster_allocs - st0.cluster_allocs);
		fflush(stdout);
#endif
	}
	be_close(fd);
	printf("TUNLAB-BARE done reps=%ld\n", reps);
	fflush(stdout);
	return 0;
}
