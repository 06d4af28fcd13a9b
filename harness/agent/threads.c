/*
 * threads.c - the agent's registry of its worker threads (threads.h).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "threads.h"

#define MAX_THREADS	8

static pthread_mutex_t thr_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int used;
	pthread_t t;
} thr[MAX_THREADS];
static _Thread_local long thr_self;	/* 1 + slot, 0 when not registered */

int
thr_register(void)
{
	int err = EAGAIN;

	pthread_mutex_lock(&thr_mtx);
	for (int i = 0; i < MAX_THREADS; i++) {
		if (!thr[i].used) {
			thr[i].used = 1;
			thr[i].t = pthread_self();
			thr_self = i + 1;
			err = 0;
			break;
		}
	}
	pthread_mutex_unlock(&thr_mtx);
	return err;
}

void
thr_unregister(void)
{
	pthread_mutex_lock(&thr_mtx);
	if (thr_self > 0)
		thr[thr_self - 1].used = 0;
	thr_self = 0;
	pthread_mutex_unlock(&thr_mtx);
}

long
thr_self_id(void)
{
	return thr_self;
}

int
thr_signal(long tid, int sig)
{
	int err = ESRCH;

	pthread_mutex_lock(&thr_mtx);
	if (tid > 0 && tid <= MAX_THREADS && thr[tid - 1].used)
		err = pthread_kill(thr[tid - 1].t, sig);
	pthread_mutex_unlock(&thr_mtx);
	return err;
}
