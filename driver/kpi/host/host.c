/*
 * host.c - the host half of the kpi: everything the kernel half needs from
 * the host (memory, pthreads, clock, console), behind hostif.h.  This file
 * is ordinary libc code and never sees a DragonFly header.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostif.h"

void *
hostif_malloc(hostif_size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		hostif_panic("hostif_malloc: out of memory");
	return p;
}

void *
hostif_realloc(void *p, hostif_size_t size)
{
	void *q = realloc(p, size ? size : 1);

	if (q == NULL)
		hostif_panic("hostif_realloc: out of memory");
	return q;
}

void
hostif_free(void *p)
{
	free(p);
}

struct hostif_mtx {
	pthread_mutex_t m;
};

struct hostif_cv {
	pthread_cond_t c;
};

struct hostif_mtx *
hostif_mtx_create(void)
{
	struct hostif_mtx *m = hostif_malloc(sizeof(*m));

	pthread_mutex_init(&m->m, NULL);
	return m;
}

void
hostif_mtx_destroy(struct hostif_mtx *m)
{
	pthread_mutex_destroy(&m->m);
	free(m);
}

void
hostif_mtx_lock(struct hostif_mtx *m)
{
	pthread_mutex_lock(&m->m);
}

void
hostif_mtx_unlock(struct hostif_mtx *m)
{
	pthread_mutex_unlock(&m->m);
}

struct hostif_cv *
hostif_cv_create(void)
{
	struct hostif_cv *c = hostif_malloc(sizeof(*c));
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&c->c, &a);
	pthread_condattr_destroy(&a);
	return c;
}

void
hostif_cv_destroy(struct hostif_cv *c)
{
	pthread_cond_destroy(&c->c);
	free(c);
}

void
hostif_cv_wait(struct hostif_cv *c, struct hostif_mtx *m)
{
	pthread_cond_wait(&c->c, &m->m);
}

int
hostif_cv_timedwait(struct hostif_cv *c, struct hostif_mtx *m,
    long long deadline_ns)
{
	struct timespec ts;

	ts.tv_sec = deadline_ns / 1000000000LL;
	ts.tv_nsec = deadline_ns % 1000000000LL;
	return pthread_cond_timedwait(&c->c, &m->m, &ts) == ETIMEDOUT;
}

void
hostif_cv_signal(struct hostif_cv *c)
{
	pthread_cond_signal(&c->c);
}

void
hostif_cv_broadcast(struct hostif_cv *c)
{
	pthread_cond_broadcast(&c->c);
}

struct hostif_thread {
	pthread_t t;
	void (*fn)(void *);
	void *arg;
};

static void *
hostif_thread_main(void *arg)
{
	struct hostif_thread *ht = arg;

	ht->fn(ht->arg);
	return NULL;
}

int
hostif_thread_create(struct hostif_thread **htp, void (*fn)(void *),
    void *arg, const char *name)
{
	struct hostif_thread *ht = hostif_malloc(sizeof(*ht));
	int error;

	ht->fn = fn;
	ht->arg = arg;
	error = pthread_create(&ht->t, NULL, hostif_thread_main, ht);
	if (error) {
		free(ht);
		return error;
	}
	if (name != NULL) {
		char buf[16];

		snprintf(buf, sizeof(buf), "%s", name);
		pthread_setname_np(ht->t, buf);
	}
	*htp = ht;
	return 0;
}

void
hostif_thread_join(struct hostif_thread *ht)
{
	pthread_join(ht->t, NULL);
	free(ht);
}

void
hostif_yield(void)
{
	sched_yield();
}

void
hostif_nanosleep(long long ns)
{
	struct timespec ts;

	ts.tv_sec = ns / 1000000000LL;
	ts.tv_nsec = ns % 1000000000LL;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * The kpi keeps curthread in a __thread variable of its own (kern_sync.c); the
 * pthread key here only makes its destructor run when a host thread exits.
 */
static pthread_key_t hostif_key;
static pthread_once_t hostif_key_once = PTHREAD_ONCE_INIT;
static void (*hostif_tls_dtor)(void *);

static void
hostif_tls_dtor_tramp(void *p)
{
	if (hostif_tls_dtor != NULL && p != NULL)
		hostif_tls_dtor(p);
}

static void
hostif_key_init(void)
{
	pthread_key_create(&hostif_key, hostif_tls_dtor_tramp);
}

void
hostif_tls_setup(void (*dtor)(void *))
{
	pthread_once(&hostif_key_once, hostif_key_init);
	hostif_tls_dtor = dtor;
}

void
hostif_tls_set(void *p)
{
	pthread_once(&hostif_key_once, hostif_key_init);
	pthread_setspecific(hostif_key, p);
}

long long
hostif_clock_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void
hostif_clock_realtime(long long *sec, long *nsec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = ts.tv_sec;
	*nsec = ts.tv_nsec;
}

int
hostif_vsnprintf(char *buf, hostif_size_t len, const char *fmt,
    __builtin_va_list ap)
{
	return vsnprintf(buf, len, fmt, ap);
}

static void (*hostif_log_hook)(const char *);
static void (*hostif_panic_hook)(const char *);

void
hostif_set_log_hook(void (*hook)(const char *))
{
	hostif_log_hook = hook;
}

void
hostif_log(const char *msg)
{
	if (hostif_log_hook != NULL) {
		hostif_log_hook(msg);
		return;
	}
	if (getenv("KPI_VERBOSE") != NULL)
		fputs(msg, stderr);
}

void
hostif_set_panic_hook(void (*hook)(const char *))
{
	hostif_panic_hook = hook;
}

void
hostif_panic(const char *msg)
{
	if (hostif_panic_hook != NULL)
		hostif_panic_hook(msg);
	/* DragonFly's wording, which the harness's crash patterns look for */
	fprintf(stderr, "panic: %s\n", msg);
	fflush(stderr);
	abort();
}

const char *
hostif_getenv(const char *name)
{
	return getenv(name);
}
