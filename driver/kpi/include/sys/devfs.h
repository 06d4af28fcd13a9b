/* kpi: DragonFly-named <sys/devfs.h> (clone bitmaps and lookups) */
#ifndef _SYS_DEVFS_H_
#define _SYS_DEVFS_H_
#include <sys/types.h>
#include <sys/conf.h>

#define DEVFS_BITMAP_INITIAL_SIZE	1
#define DEVFS_CLONE_BITMAP(name)	devfs_ ## name ## _clone_bitmap
#define DEVFS_DEFINE_CLONE_BITMAP(name) \
	struct devfs_bitmap DEVFS_CLONE_BITMAP(name)
#define DEVFS_DECLARE_CLONE_BITMAP(name) \
	extern struct devfs_bitmap DEVFS_CLONE_BITMAP(name)

/* as in DragonFly: a set bit means the unit is free */
struct devfs_bitmap {
	int		chunks;
	unsigned long	*bitmap;
};

void	devfs_clone_bitmap_init(struct devfs_bitmap *);
void	devfs_clone_bitmap_uninit(struct devfs_bitmap *);
int	devfs_clone_bitmap_set(struct devfs_bitmap *, int);
int	devfs_clone_bitmap_get(struct devfs_bitmap *, int);
int	devfs_clone_bitmap_chk(struct devfs_bitmap *, int);
void	devfs_clone_bitmap_put(struct devfs_bitmap *, int);

cdev_t	devfs_find_device_by_name(const char *, ...) __printflike(1, 2);
cdev_t	devfs_find_device_by_devid(dev_t);
int	devfs_clone_handler_add(const char *, d_clone_t *);
int	devfs_clone_handler_del(const char *);
void	devfs_assume_knotes(cdev_t dev, struct kqinfo *kqi);
int	devfs_destroy_related(cdev_t);
void	devfs_config(void);
#endif
