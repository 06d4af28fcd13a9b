/* kpi: DragonFly-named <sys/conf.h> */
#ifndef _SYS_CONF_H_
#define _SYS_CONF_H_
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/event.h>
#include <sys/module.h>

struct dev_ops;
struct file;

struct cdev {
	u_int		si_flags;
	uint64_t	si_inode;
	uid_t		si_uid;
	gid_t		si_gid;
	int		si_perms;
	TAILQ_ENTRY(cdev) link;		/* kpi: all live cdevs */
	int		si_uminor;
	int		si_umajor;
	struct cdev	*si_parent;
	char		si_name[SPECNAMELEN + 1];
	void		*si_drv1;
	void		*si_drv2;
	struct dev_ops	*si_ops;
	struct dev_ops	*si_bops;
	int		si_iosize_max;
	time_t		si_lastread;
	time_t		si_lastwrite;
	struct kqinfo	si_kqinfo;
	int		si_kpi_refs;	/* sysref count */
	int		si_kpi_opens;	/* open files on this cdev */
	int		si_kpi_destroyed;
};

#define SI_UNUSED01	0x0001
#define SI_HASHED	0x0002
#define SI_OVERRIDE	0x0004
#define SI_INTERCEPTED	0x0008
#define SI_DEVFS_LINKED	0x0010
#define SI_REPROBE_TEST	0x0020
#define SI_CANFREE	0x0040

#define UID_ROOT	0
#define UID_BIN		3
#define UID_UUCP	66
#define GID_WHEEL	0
#define GID_KMEM	2
#define GID_TTY		4
#define GID_OPERATOR	5
#define GID_BIN		7
#define GID_GAMES	13
#define GID_DIALER	68

struct devsw_module_data {
	int	(*chainevh)(struct module *, int, void *);
	void	*chainarg;
};

#define DEV_MODULE(name, evh, arg)					\
static moduledata_t name##_mod = {					\
    #name,								\
    evh,								\
    arg,								\
    NULL								\
};									\
DECLARE_MODULE(name, name##_mod, SI_SUB_DRIVERS, SI_ORDER_MIDDLE)

#define dev2unit(x)	((minor(x) & 0xff) | (minor(x) >> 8))

int	count_dev(cdev_t dev);
void	destroy_dev(cdev_t dev);
void	release_dev(cdev_t dev);
cdev_t	reference_dev(cdev_t dev);
const char *devtoname(cdev_t dev);
int	iszerodev(cdev_t dev);
int	dev_is_good(cdev_t dev);

#include <sys/device.h>
#endif
