/*
 * verb_cov.c - cov: the driver's edge coverage, for `tunlab fuzz` on the kpi target.
 *
 * Only the driver object is compiled with -fsanitize-coverage=inline-8bit-counters (the
 * kpi agent's -san build, driver/Makefile.host), so the one counters array the compiler
 * registers here is the driver's: edge i was hit since the last reset when counter i is
 * non-zero.  Every other agent (Linux, DragonFly, the plain kpi build) registers none and
 * answers ENOTSUP.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent.h"
#include "args.h"

/* Bounds the reply: 65536 edges are an 8 KiB bitmap, 16 KiB of hex. */
#define COV_MAX_EDGES	65536

static uint8_t *cov_lo, *cov_hi;

void __sanitizer_cov_8bit_counters_init(uint8_t *start, uint8_t *stop);

/* Called by each instrumented module's constructor; the driver is the only one. */
void
__sanitizer_cov_8bit_counters_init(uint8_t *start, uint8_t *stop)
{
	if (cov_lo == NULL && start < stop) {
		cov_lo = start;
		cov_hi = stop;
	}
}

/* cov [op=get|reset]: get replies total= hit= map=; reset zeroes the counters. */
int
verb_cov(const struct request *rq)
{
	static uint8_t map[COV_MAX_EDGES / 8];
	const char *op = NULL;
	size_t total, n, hit = 0;

	if (arg_word_opt(rq, "op", &op) < 0)
		return -1;
	if (op == NULL)
		op = "get";
	if (strcmp(op, "get") != 0 && strcmp(op, "reset") != 0)
		return reply_err(rq->id, "EARG", 0, "op: get or reset");
	if (cov_lo == NULL)
		return reply_err(rq->id, "ENOTSUP", 0,
		    "no coverage: this agent's driver is not built with coverage counters");
	total = (size_t)(cov_hi - cov_lo);
	if (strcmp(op, "reset") == 0) {
		memset(cov_lo, 0, total);
		reply_uint("total", total);
		return 0;
	}
	/* Edges past the cap are counted in hit= but left out of map=. */
	n = total < COV_MAX_EDGES ? total : COV_MAX_EDGES;
	memset(map, 0, sizeof(map));
	for (size_t i = 0; i < total; i++) {
		if (cov_lo[i] == 0)
			continue;
		hit++;
		if (i < n)
			map[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	reply_uint("total", total);
	reply_uint("hit", hit);
	reply_blob("map", map, (n + 7) / 8);
	if (n < total)
		reply_uint("mapped", n);
	return 0;
}
