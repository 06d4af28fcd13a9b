/*
 * hostif.h - the narrow call interface between the kpi's kernel half and
 * its host half (cf. NetBSD's rumpuser).
 *
 * This header is included from both halves: from the kernel half, which is
 * compiled with -nostdinc against DragonFly-named headers, and from the host
 * half, which is ordinary libc/pthreads code.  It must therefore use only
 * builtin types and include nothing.
 */
#ifndef _KPI_HOSTIF_H_
#define _KPI_HOSTIF_H_

typedef __SIZE_TYPE__ hostif_size_t;

struct hostif_mtx;
struct hostif_cv;
struct hostif_thread;

/* memory */
void	*hostif_malloc(hostif_size_t size);	/* never returns NULL */
void	*hostif_realloc(void *p, hostif_size_t size);
void	 hostif_free(void *p);

/* locks and condition variables (pthread-backed) */
struct hostif_mtx *hostif_mtx_create(void);
void	hostif_mtx_destroy(struct hostif_mtx *);
void	hostif_mtx_lock(struct hostif_mtx *);
void	hostif_mtx_unlock(struct hostif_mtx *);
struct hostif_cv *hostif_cv_create(void);
void	hostif_cv_destroy(struct hostif_cv *);
void	hostif_cv_wait(struct hostif_cv *, struct hostif_mtx *);
/* returns 0 when signalled (or spuriously), 1 when the deadline passed */
int	hostif_cv_timedwait(struct hostif_cv *, struct hostif_mtx *,
	    long long deadline_ns);
void	hostif_cv_signal(struct hostif_cv *);
void	hostif_cv_broadcast(struct hostif_cv *);

/* threads */
int	hostif_thread_create(struct hostif_thread **, void (*fn)(void *),
	    void *arg, const char *name);
void	hostif_thread_join(struct hostif_thread *);
void	hostif_yield(void);
void	hostif_nanosleep(long long ns);

/*
 * Per-host-thread pointer to the kernel half's struct thread; the
 * destructor runs when a host thread exits with a non-NULL value.
 */
void	hostif_tls_setup(void (*dtor)(void *));
void	hostif_tls_set(void *);

/* clock */
long long hostif_clock_monotonic_ns(void);
void	hostif_clock_realtime(long long *sec, long *nsec);

/* console and formatting */
int	hostif_vsnprintf(char *buf, hostif_size_t len, const char *fmt,
	    __builtin_va_list ap);
void	hostif_log(const char *msg);		/* one message, verbatim */
void	hostif_set_log_hook(void (*hook)(const char *msg));
__attribute__((__noreturn__)) void hostif_panic(const char *msg);
/* a test may catch panics instead of aborting (longjmp out of the hook) */
void	hostif_set_panic_hook(void (*hook)(const char *msg));

/* environment: returns NULL when unset */
const char *hostif_getenv(const char *name);

#endif /* !_KPI_HOSTIF_H_ */
