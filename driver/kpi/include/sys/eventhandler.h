/* kpi: DragonFly-named <sys/eventhandler.h> (events are recorded, no listeners) */
#ifndef _SYS_EVENTHANDLER_H_
#define _SYS_EVENTHANDLER_H_
#include <sys/types.h>
struct eventhandler_list;
typedef struct eventhandler_entry *eventhandler_tag;
#define EVENTHANDLER_PRI_FIRST	0
#define EVENTHANDLER_PRI_ANY	10000
#define EVENTHANDLER_PRI_LAST	20000
#define EVENTHANDLER_DECLARE(name, type)	struct eventhandler_list
void	kpi_eventhandler_invoke(const char *name, void *arg);
#define EVENTHANDLER_INVOKE(name, ...)					\
	kpi_eventhandler_invoke(#name, (void *)0)
#define EVENTHANDLER_REGISTER(name, func, arg, pri)	((eventhandler_tag)0)
#define EVENTHANDLER_DEREGISTER(name, tag)	((void)0)
struct eventhandler_list *eventhandler_find_list(const char *name);
#endif
