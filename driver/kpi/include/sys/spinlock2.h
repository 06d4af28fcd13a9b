/* kpi: DragonFly-named <sys/spinlock2.h> */
#ifndef _SYS_SPINLOCK2_H_
#define _SYS_SPINLOCK2_H_
#include <sys/spinlock.h>
void	spin_init(struct spinlock *, const char *);
void	spin_uninit(struct spinlock *);
void	spin_lock(struct spinlock *);
void	spin_unlock(struct spinlock *);
int	spin_trylock(struct spinlock *);
#define spin_lock_shared(s)	spin_lock(s)
#define spin_unlock_shared(s)	spin_unlock(s)
#endif
