/* kpi: DragonFly-named <sys/malloc.h>, with per-type accounting */
#ifndef _SYS_MALLOC_H_
#define _SYS_MALLOC_H_
#include <sys/types.h>
#include <sys/kernel.h>

#define M_RNOWAIT	0x0001
#define M_WAITOK	0x0002
#define M_ZERO		0x0100
#define M_USE_RESERVE	0x0200
#define M_NULLOK	0x0400
#define M_PASSIVE_ZERO	0x0800
#define M_USE_INTERRUPT_RESERVE 0x1000
#define M_POWEROF2	0x2000
#define M_CACHEALIGN	0x4000
#define M_INTNOWAIT	(M_RNOWAIT | M_NULLOK | M_USE_RESERVE | \
			 M_USE_INTERRUPT_RESERVE)
#define M_SYSNOWAIT	(M_RNOWAIT | M_NULLOK | M_USE_RESERVE)
#define M_NOWAIT	(M_RNOWAIT | M_NULLOK | M_USE_RESERVE)
#define M_SYSWAIT	(M_WAITOK)
#define M_MAGIC		877983977

struct malloc_type {
	struct malloc_type *ks_next;	/* registered types */
	long		ks_inuse;	/* live allocations */
	long		ks_memuse;	/* live bytes */
	long		ks_calls;	/* total allocations */
	long		ks_limit;
	long		ks_magic;
	const char	*ks_shortdesc;
	int		ks_registered;
};

#define MALLOC_DEFINE(type, shortdesc, longdesc)			\
	struct malloc_type type[1] = {					\
		{ NULL, 0, 0, 0, 0, M_MAGIC, shortdesc, 0 }		\
	};								\
	SYSINIT(type##_init, SI_BOOT1_KMALLOC, SI_ORDER_ANY,		\
	    malloc_init, type);						\
	SYSUNINIT(type##_uninit, SI_BOOT1_KMALLOC, SI_ORDER_ANY,	\
	    malloc_uninit, type)
#define MALLOC_DECLARE(type)	extern struct malloc_type type[1]

MALLOC_DECLARE(M_DEVBUF);
MALLOC_DECLARE(M_TEMP);
MALLOC_DECLARE(M_CACHE);
MALLOC_DECLARE(M_IFADDR);
MALLOC_DECLARE(M_IFNET);
MALLOC_DECLARE(M_LWKTMSG);

void	malloc_init(void *);
void	malloc_uninit(void *);
void	*kmalloc(unsigned long size, struct malloc_type *type, int flags)
	    __malloclike;
void	*krealloc(void *addr, unsigned long size, struct malloc_type *type,
	    int flags);
void	kfree(void *addr, struct malloc_type *type);
char	*kstrdup(const char *, struct malloc_type *);
char	*kstrndup(const char *, size_t, struct malloc_type *);
#define kmalloc_cachealign(s, t, f)	kmalloc((s), (t), (f) | M_CACHEALIGN)
#endif
