/* kpi: DragonFly-named <sys/globaldata.h> */
#ifndef _SYS_GLOBALDATA_H_
#define _SYS_GLOBALDATA_H_
#include <sys/types.h>
struct thread;
struct globaldata {
	int		gd_cpuid;
	struct thread	*gd_curthread;	/* not maintained: use curthread */
	int		gd_intr_nesting_level;
	cpumask_t	gd_cpumask;
};
typedef struct globaldata *globaldata_t;
extern struct globaldata kpi_globaldata[];
#define mycpu		(curthread->td_gd)
#define mycpuid		(mycpu->gd_cpuid)
#define mdcpu		mycpu
globaldata_t globaldata_find(int cpu);
#endif
