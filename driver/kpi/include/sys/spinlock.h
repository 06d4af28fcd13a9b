/* kpi: DragonFly-named <sys/spinlock.h> */
#ifndef _SYS_SPINLOCK_H_
#define _SYS_SPINLOCK_H_
struct spinlock {
	volatile int	lock;
	const char	*descr;
};
#define SPINLOCK_INITIALIZER(head, d)	{ 0, d }
#endif
