/*
 * threads.h - the agent's registry of its worker threads (the roundtrip and race verbs),
 * so that one can be named by a small id and interrupted with a signal. Shared by the
 * backends whose threads are host pthreads (Linux, DragonFly's libc); each backend picks
 * the signal.
 */
#ifndef TUNLAB_THREADS_H
#define TUNLAB_THREADS_H

/* Registers the calling thread: 0, or EAGAIN when every slot is taken. */
int thr_register(void);
/* Unregisters the calling thread (if it was registered). */
void thr_unregister(void);
/* The calling thread's id (1..), 0 when not registered. */
long thr_self_id(void);
/* Sends sig to registered thread tid: 0, ESRCH for no such thread, or pthread_kill's error. */
int thr_signal(long tid, int sig);

#endif /* TUNLAB_THREADS_H */
