/*
 * era_check.h - the era fixtures' tests: one process, one kpi boot, checks
 * in order, a closing "N passed, N failed" line.  (The fixtures are
 * pseudo-devices that cannot unload, so the kpi is not halted: the process
 * ends as a machine with such a driver would be switched off.)
 */
#ifndef ERA_CHECK_H
#define ERA_CHECK_H
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kpi_sys.h"

static int era_passed, era_failed;

#define ERA_CHECK(cond, ...) do {					\
	if (cond) {							\
		era_passed++;						\
	} else {							\
		era_failed++;						\
		printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);	\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

static inline int
era_done(const char *what)
{
	printf("%s: %d passed, %d failed\n", what, era_passed, era_failed);
	return era_failed ? 1 : 0;
}

static inline void
era_boot(void)
{
	if (kpi_boot(NULL) < 0 || kpi_kldload("if_tun") < 0) {
		printf("FAIL: kpi_boot / kldload if_tun: %s\n", strerror(errno));
		exit(1);
	}
}

static inline long
era_cdevs(void)
{
	struct kpi_stats st;

	kpi_stats(&st);
	return st.cdevs;
}

static inline long
era_sigios(void)
{
	struct kpi_stats st;

	kpi_stats(&st);
	return st.sigios;
}
#endif
