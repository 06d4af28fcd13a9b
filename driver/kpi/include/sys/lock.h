/* kpi: DragonFly-named <sys/lock.h> (lockmgr) */
#ifndef _SYS_LOCK_H_
#define _SYS_LOCK_H_
#include <sys/types.h>
struct thread;
struct lock {
	int		lk_flags;
	int		lk_exclusivecount;
	int		lk_sharecount;
	int		lk_waiters;
	struct thread	*lk_lockholder;
	const char	*lk_wmesg;
	int		lk_timo;
};
#define LK_TYPE_MASK	0x0000000f
#define LK_SHARED	0x00000001
#define LK_EXCLUSIVE	0x00000002
#define LK_UPGRADE	0x00000003
#define LK_EXCLUPGRADE	0x00000004
#define LK_DOWNGRADE	0x00000005
#define LK_RELEASE	0x00000006
#define LK_NOWAIT	0x00000010
#define LK_SLEEPFAIL	0x00000020
#define LK_CANRECURSE	0x00000040
#define LK_NOCOLLSTATS	0x00000080
#define LK_PCATCH	0x04000000
#define LK_TIMELOCK	0x00000200
#define LK_RETRY	0x00020000
#define LK_HASTOKEN	0x00040000
#define LK_NOPROCHOLD	0x00080000
#define LK_EXCLOTHER	2
#define LOCK_INITIALIZER(wmesg, timo, flags) \
	{ (flags), 0, 0, 0, NULL, (wmesg), (timo) }
void	lockinit(struct lock *, const char *wmesg, int timo, int flags);
void	lockuninit(struct lock *);
int	lockmgr(struct lock *, unsigned int flags);
int	lockstatus(struct lock *, struct thread *);
int	lockowned(struct lock *);
int	lockcountnb(struct lock *);
#endif
