/*
 * bench.c - the bench verb (docs/protocol.md): checks the request, runs one of the timed
 * loops of bench_loops.c (loop=tunlab) or the reference loop of bench_ref.c (loop=ref)
 * inside the guest, and replies with the figures and the clock source the loop's clock
 * reads went to. Only the request and the figures cross the control channel. Also the
 * benchenv verb: what else in the guest can change a figure (clock sources, the kernel's
 * clock messages, the load).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#if defined(__linux__) && !defined(TUNLAB_KPI)
#define CLOCK_LOG	1		/* the kernel log is this kernel's, not the host's */
#include <sys/klog.h>
#endif
#ifdef __DragonFly__
#include <sys/types.h>
#include <sys/sysctl.h>
#endif

#include "agent.h"
#include "args.h"
#include "backend.h"
#include "bench.h"
#include "errnames.h"
#include "packet.h"

static int clocksource(char *buf, size_t len, const char *name);

int
verb_bench(const struct request *rq)
{
	struct bench_params p;
	struct bench_result r;
	struct handle *h;
	struct be_ifinfo info;
	const char *kind, *loop, *what = "bench";
	char clock[64];
	long long size, ms;
	int err, ref;

	memset(&p, 0, sizeof(p));
	if (arg_handle(rq, &h) < 0 || arg_word(rq, "kind", &kind) < 0 ||
	    arg_int(rq, "size", PKT_IP_HLEN + PKT_ICMP_HLEN, PKT_IP_MAX, &size) < 0 ||
	    arg_int(rq, "ms", 1, 600000, &ms) < 0 || arg_in4(rq, "local", &p.local) < 0 ||
	    arg_in4(rq, "peer", &p.peer) < 0 || arg_bool_opt(rq, "bpf", 0, &p.bpf) < 0 ||
	    arg_word_opt(rq, "loop", &loop) < 0)
		return -1;
	if (bench_kind_parse(kind, &p.kind) < 0)
		return reply_err(rq->id, "EARG", 0, "kind: want write, read or rtt");
	ref = loop != NULL && strcmp(loop, "ref") == 0;
	if (loop != NULL && !ref && strcmp(loop, "tunlab") != 0)
		return reply_err(rq->id, "EARG", 0, "loop: want tunlab or ref");
	if (ref && p.bpf)
		return reply_err(rq->id, "EARG", 0, "bpf: the reference loop has no listener");
	p.fd = h->fd;
	p.ifname = h->ifname;
	p.size = (size_t)size;
	p.ms = (unsigned)ms;
	/* a packet the stack sends must not be fragmented, or the loops cannot match it */
	if (p.kind != BENCH_WRITE && be_ifinfo(h->ifname, &info) == 0 && size > info.mtu)
		return reply_err(rq->id, "EARG", 0, "size: %lld exceeds %s's mtu %d", size,
		    h->ifname, info.mtu);

	err = ref ? bench_ref_run(&p, &r, &what) : bench_run(&p, &r, &what);
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
	if (p.kind == BENCH_RTT && r.rtt_samples > 0) {
		reply_uint("rtt_samples", r.rtt_samples);
		reply_uint("rtt_min_ns", r.rtt_min);
		reply_uint("rtt_avg_ns", r.rtt_sum / r.rtt_samples);
		reply_uint("rtt_max_ns", r.rtt_max);
	}
	if (p.bpf) {
		reply_uint("bpf_read", r.bpf_read);
		reply_uint("bpf_drops", r.bpf_drops);
	}
	/* read after the loop: a clock source the kernel gave up during it shows here */
	if (clocksource(clock, sizeof(clock), "current_clocksource") == 0)
		reply_word("clocksource", clock);
	return 0;
}

/* Reads one line of the Linux clocksource sysfs directory (DragonFly: the timecounter
 * sysctls) into buf, blanks as commas, so that it is a word. 0, or -1 if there is none:
 * always in the kpi agent, a host process, whose clock is the host's, not a guest's. */
static int
clocksource(char *buf, size_t len, const char *name)
{
	int ok = 0;
#if defined(TUNLAB_KPI)
	(void)buf;
	(void)len;
	(void)name;
	return -1;
#elif defined(__linux__)
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/clocksource/clocksource0/%s", name);
	if ((f = fopen(path, "r")) != NULL) {
		ok = fgets(buf, (int)len, f) != NULL;
		fclose(f);
	}
#elif defined(__DragonFly__)
	size_t n = len - 1;

	ok = sysctlbyname(strcmp(name, "current_clocksource") == 0 ?
	    "kern.timecounter.hardware" : "kern.timecounter.choice", buf, &n, NULL, 0) == 0;
	if (ok)
		buf[n < len ? n : len - 1] = '\0';
#else
	(void)name;
#endif
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	for (char *c = buf; *c; c++)
		if (*c == ' ')
			*c = ',';
	while (len > 1 && buf[0] && buf[strlen(buf) - 1] == ',')
		buf[strlen(buf) - 1] = '\0';
	return buf[0] && is_word(buf) ? 0 : -1;
}

#ifdef CLOCK_LOG
#define KLOG_MAX	(1 << 17)
#define KLOG_KEEP	2048

/* The kernel's messages about clocks (tsc calibration, clock source changes): the lines of
 * the kernel log that name them, at most KLOG_KEEP bytes, in buf. */
static size_t
clock_messages(char *buf, size_t len)
{
	static char log[KLOG_MAX];
	static const char *const words[] = { "tsc", "TSC", "clocksource", "hpet", "HPET",
	    "timekeeping", "Calibrat", NULL };
	size_t used = 0;
	int n = klogctl(3, log, sizeof(log) - 1);	/* SYSLOG_ACTION_READ_ALL */

	if (n <= 0)
		return 0;
	log[n] = '\0';
	for (char *line = log, *end; *line; line = end) {
		size_t ll;

		end = line + strcspn(line, "\n");
		ll = (size_t)(end - line);
		if (*end)
			*end++ = '\0';		/* the line, alone, for strstr */
		for (int i = 0; words[i]; i++) {
			if (strstr(line, words[i]) && used + ll + 1 < len) {
				memcpy(buf + used, line, ll);
				used += ll;
				buf[used++] = '\n';
				break;
			}
		}
	}
	buf[used] = '\0';
	return used;
}
#endif

/* benchenv: clocksource=, clocksources= (those available), and on Linux clock_log= (the
 * kernel's clock messages), cpu= (the model the CPU says it is) and loadavg=. Keys the
 * guest cannot tell are left out; the kpi agent, a host process, has no clock of its own to
 * tell of (no clock keys; its cpu= and loadavg= are the host's, which it runs on). */
int
verb_benchenv(const struct request *rq)
{
	char word[256];

	(void)rq;
	if (clocksource(word, sizeof(word), "current_clocksource") == 0)
		reply_word("clocksource", word);
	if (clocksource(word, sizeof(word), "available_clocksource") == 0)
		reply_word("clocksources", word);
#ifdef __linux__
	{
		FILE *f;
#ifdef CLOCK_LOG
		static char msgs[KLOG_KEEP];

		if (clock_messages(msgs, sizeof(msgs)) > 0)
			reply_text("clock_log", msgs);
#endif

		if ((f = fopen("/proc/cpuinfo", "r")) != NULL) {
			while (fgets(word, sizeof(word), f) != NULL)
				if (strncmp(word, "model name", 10) == 0 && strchr(word, ':')) {
					char *m = strchr(word, ':') + 1;

					m[strcspn(m, "\n")] = '\0';
					reply_text("cpu", m + strspn(m, " \t"));
					break;
				}
			fclose(f);
		}
		if ((f = fopen("/proc/loadavg", "r")) != NULL) {
			if (fgets(word, sizeof(word), f) != NULL) {
				word[strcspn(word, "\n")] = '\0';
				reply_text("loadavg", word);
			}
			fclose(f);
		}
	}
#endif
	return 0;
}
