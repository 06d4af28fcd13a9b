/* kpi: DragonFly-named <sys/module.h> */
#ifndef _SYS_MODULE_H_
#define _SYS_MODULE_H_
#include <sys/types.h>
#include <sys/kernel.h>
#include <sys/linker_set.h>

typedef enum modeventtype {
	MOD_LOAD,
	MOD_UNLOAD,
	MOD_SHUTDOWN
} modeventtype_t;

typedef struct module *module_t;
typedef int (*modeventhand_t)(module_t, int, void *);

typedef struct moduledata {
	const char	*name;
	modeventhand_t	evhand;
	void		*priv;
	void		*_file;
} moduledata_t;

/*
 * A module declared in a driver compiled over the kpi is registered at
 * kpi_boot() and loaded/unloaded on request (kpi_kldload/kpi_kldunload),
 * the way kldload(8) would load the .ko.
 */
#define DECLARE_MODULE(name, data, sub, order)				\
	DATA_SET(kpi_module_set, data)
#define MODULE_VERSION(module, version)	struct __hack
#define MODULE_DEPEND(module, mdepend, vmin, vpref, vmax) struct __hack

const char *module_getname(module_t);
int	module_getid(module_t);
#endif
