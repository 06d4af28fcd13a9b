/* kpi: DragonFly-named <sys/mutex.h> (recursive exclusive sleep mutex) */
#ifndef _SYS_MUTEX_H_
#define _SYS_MUTEX_H_
#include <sys/lock.h>
typedef struct mtx {
	struct lock	mtx_lk;
	const char	*mtx_ident;
} *mtx_t;
#define MTX_INITIALIZER(ident) \
	{ LOCK_INITIALIZER(ident, 0, LK_CANRECURSE), ident }
#endif
