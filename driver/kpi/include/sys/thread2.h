#include <sys/thread.h>
#ifndef _SYS_THREAD2_H_KPI
#define _SYS_THREAD2_H_KPI
/* critical sections only defer preemption on DragonFly; kpi threads are
 * not preempted by interrupts, so they are no-ops here */
#define crit_enter()		((void)0)
#define crit_exit()		((void)0)
#define crit_enter_quick(td)	((void)0)
#define crit_exit_quick(td)	((void)0)
#define crit_enter_gd(gd)	((void)0)
#define crit_exit_gd(gd)	((void)0)
#define crit_enter_id(id)	((void)0)
#define crit_exit_id(id)	((void)0)
#endif
