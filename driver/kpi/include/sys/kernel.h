/*
 * kpi: DragonFly-named <sys/kernel.h>.  SYSINIT/SYSUNINIT entries go into
 * linker sets (ELF sections) that kpi_boot() and kpi_halt() walk in order.
 */
#ifndef _SYS_KERNEL_H_
#define _SYS_KERNEL_H_
#include <sys/types.h>
#include <sys/linker_set.h>

extern int hz;
extern int stathz;
extern int profhz;
extern int ustick;
extern int nstick;
extern volatile int ticks;

enum sysinit_sub_id {
	SI_SPECIAL_DUMMY	= 0x0000000,
	SI_BOOT1_TUNABLES	= 0x0700000,
	SI_BOOT1_KMALLOC	= 0x0800000,
	SI_BOOT2_MACHDEP	= 0x1000000,
	SI_SUB_CONFIGURE	= 0x3800000,
	SI_SUB_DRIVERS		= 0x3100000,
	SI_SUB_PSEUDO		= 0x7000000,
	SI_SUB_PROTO_IF		= 0x8400000,
	SI_SUB_PROTO_DOMAIN	= 0x8800000,
	SI_SUB_EXEC		= 0xc000000,
	SI_SUB_RUN_SCHEDULER	= 0xfffffff
};

enum sysinit_elem_order {
	SI_ORDER_FIRST		= 0x0000000,
	SI_ORDER_SECOND		= 0x0000001,
	SI_ORDER_THIRD		= 0x0000002,
	SI_ORDER_MIDDLE		= 0x1000000,
	SI_ORDER_KLD		= 0x1800000,
	SI_ORDER_ANY		= 0xfffffff
};

typedef void (*sysinit_nfunc_t)(void *);
typedef void (*sysinit_cfunc_t)(const void *);

struct sysinit {
	unsigned int	subsystem;
	unsigned int	order;
	sysinit_cfunc_t	func;
	const void	*udata;
	const char	*name;
};

#define SYSINIT(uniquifier, subsystem, order, func, ident)		\
	static struct sysinit uniquifier ## _sys_init = {		\
		subsystem, order, (sysinit_cfunc_t)(sysinit_nfunc_t)func, \
		(const void *)(ident), #uniquifier			\
	};								\
	DATA_SET(kpi_sysinit_set, uniquifier ## _sys_init)
#define SYSUNINIT(uniquifier, subsystem, order, func, ident)		\
	static struct sysinit uniquifier ## _sys_uninit = {		\
		subsystem, order, (sysinit_cfunc_t)(sysinit_nfunc_t)func, \
		(const void *)(ident), #uniquifier			\
	};								\
	DATA_SET(kpi_sysuninit_set, uniquifier ## _sys_uninit)

#define TUNABLE_INT(path, var)		struct __hack
#define TUNABLE_LONG(path, var)		struct __hack
#define TUNABLE_ULONG(path, var)	struct __hack
#define TUNABLE_STR(path, var, size)	struct __hack
#define TUNABLE_INT_FETCH(path, var)	((void)0)
#define TUNABLE_ULONG_FETCH(path, var)	((void)0)

#endif /* !_SYS_KERNEL_H_ */
