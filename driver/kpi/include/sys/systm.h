/* kpi: DragonFly-named <sys/systm.h> */
#ifndef _SYS_SYSTM_H_
#define _SYS_SYSTM_H_

#include <sys/cdefs.h>
#include <sys/types.h>
#include <sys/stdarg.h>
#include <sys/libkern.h>
#include <sys/callout.h>

struct thread;
struct proc;
struct ucred;
struct uio;
struct globaldata;
struct lwkt_serialize;
struct spinlock;
struct lock;
struct mtx;

extern int hz;			/* ticks per second (100) */
extern volatile int ticks;
extern int ncpus;
extern int bootverbose;
extern int cold;
extern int securelevel;
extern int tsleep_now_works;

/* diagnostics: INVARIANTS is on, as in X86_64_GENERIC */
#define INVARIANTS	1
void	panic(const char *, ...) __dead2 __printflike(1, 2);
#define KASSERT(exp, msg) do {						\
	if (__predict_false(!(exp)))					\
		panic msg;						\
} while (0)
#define KKASSERT(exp) do {						\
	if (__predict_false(!(exp)))					\
		panic("assertion \"%s\" failed in %s at %s:%u",		\
		    #exp, __func__, __FILE__, __LINE__);		\
} while (0)
#define CTASSERT(x)	_Static_assert(x, "compile-time assertion failed")

int	kprintf(const char *, ...) __printflike(1, 2);
int	kvprintf(const char *, __va_list) __printflike(1, 0);
int	ksprintf(char *buf, const char *, ...) __printflike(2, 3);
int	ksnprintf(char *, size_t, const char *, ...) __printflike(3, 4);
int	kvsnprintf(char *, size_t, const char *, __va_list) __printflike(3, 0);
int	kvsprintf(char *, const char *, __va_list) __printflike(2, 0);
int	kvasnprintf(char **, size_t, const char *, __va_list) __printflike(3, 0);
void	kvasfree(char **);
#define log	kpi_log		/* libm's log() is in the same process */
void	log(int, const char *, ...) __printflike(2, 3);
int	kuprintf(const char *, ...) __printflike(1, 2);
#define printf	kprintf

/*
 * The memory and string functions keep their libc names and semantics;
 * the few kernel-only ones are mapped onto kpi implementations so that no
 * kpi symbol clashes with libc's.
 */
void	*memcpy(void *, const void *, size_t);
void	*memmove(void *, const void *, size_t);
void	*memset(void *, int, size_t);
int	 memcmp(const void *, const void *, size_t);
#define bcopy(src, dst, len)	((void)memmove((dst), (src), (len)))
#define ovbcopy(src, dst, len)	((void)memmove((dst), (src), (len)))
#define bzero(buf, len)		((void)memset((buf), 0, (len)))
#define bcmp(a, b, len)		memcmp((a), (b), (len))

int	copyin(const void *udaddr, void *kaddr, size_t len);
int	copyout(const void *kaddr, void *udaddr, size_t len);
int	copyinstr(const void *udaddr, void *kaddr, size_t len, size_t *done);
int	copystr(const void *kfaddr, void *kdaddr, size_t len, size_t *done);

int	tsleep(const volatile void *, int, const char *, int);
int	ssleep(const volatile void *, struct spinlock *, int, const char *, int);
int	lksleep(const volatile void *, struct lock *, int, const char *, int);
int	mtxsleep(const volatile void *, struct mtx *, int, const char *, int);
int	zsleep(const volatile void *, struct lwkt_serialize *, int,
	    const char *, int);
void	tsleep_interlock(const volatile void *, int);
void	tsleep_remove(struct thread *);
void	wakeup(const volatile void *chan);
void	wakeup_one(const volatile void *chan);
void	wakeup_mycpu(const volatile void *chan);
void	wakeup_mycpu_one(const volatile void *chan);
void	wakeup_domain(const volatile void *chan, int domain);
void	wakeup_domain_one(const volatile void *chan, int domain);
void	DELAY(int usec);

int	minor(cdev_t x);
int	lminor(cdev_t x);
int	major(cdev_t x);
dev_t	makeudev(int x, int y);
int	uminor(dev_t dev);
int	umajor(dev_t dev);

#include <sys/time.h>

#endif /* !_SYS_SYSTM_H_ */
