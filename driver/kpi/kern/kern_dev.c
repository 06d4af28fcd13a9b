/*
 * kern_dev.c - cdevs, the devfs namespace and its clone handlers, devfs
 * clone bitmaps, dev_ops dispatch, the file table and the file system
 * calls (open, close, read, write, ioctl, fcntl) for the kpi.
 *
 * cdev reference counts follow DragonFly's arithmetic: a new cdev holds 2,
 * make_dev() adds the devfs link reference, make_only_dev() adds one that
 * devfs later takes over as the link reference when it links a cloned
 * node, an open file holds one (the vnode association), and destroy_dev()
 * drops the link reference (if linked) and two more.  A cdev is freed when
 * the count reaches 0; kpi_stats().cdevs counts the live ones, so an
 * unbalanced reference shows up as a leaked cdev.
 */
#include "kpi_kern.h"
#include <sys/conf.h>
#include <sys/devfs.h>
#include <sys/event.h>
#include <sys/uio.h>
#include <sys/vnode.h>
#include <sys/filio.h>
#include <sys/lock.h>
#include <sys/ioccom.h>
#include <sys/mplock2.h>

MALLOC_DEFINE(M_DEVFS, "devfs", "device file system");
MALLOC_DEFINE(M_KPIFILE, "file", "open files");

static TAILQ_HEAD(, cdev) kpi_cdevs = TAILQ_HEAD_INITIALIZER(kpi_cdevs);
static struct lock devfs_lock;
static int devfs_lock_inited;

struct devfs_clone_handler {
	TAILQ_ENTRY(devfs_clone_handler) link;
	char		name[SPECNAMELEN + 1];
	d_clone_t	*nhandler;
};
static TAILQ_HEAD(, devfs_clone_handler) kpi_chandlers =
    TAILQ_HEAD_INITIALIZER(kpi_chandlers);

static d_open_t noopen;
static d_close_t noclose;
struct dev_ops default_dev_ops = {
	.head = { "null", 0, 0, NULL, 0, 0 },
	.d_open = noopen,
	.d_close = noclose,
};
struct dev_ops dead_dev_ops = {
	.head = { "dead", 0, 0, NULL, 0, 0 },
};

static int
noopen(struct dev_open_args *ap __unused)
{
	return ENODEV;
}

static int
noclose(struct dev_close_args *ap __unused)
{
	return ENODEV;
}

int
nullopen(struct dev_open_args *ap __unused)
{
	return 0;
}

int
nullclose(struct dev_close_args *ap __unused)
{
	return 0;
}

static void
devfs_xlock(void)
{
	lockmgr(&devfs_lock, LK_EXCLUSIVE);
}

static void
devfs_xunlock(void)
{
	lockmgr(&devfs_lock, LK_RELEASE);
}

void
kpi_dev_init(void)
{
	if (!devfs_lock_inited) {
		lockinit(&devfs_lock, "devfs", 0, LK_CANRECURSE);
		devfs_lock_inited = 1;
	}
}

void
kpi_dev_fini(void)
{
	struct devfs_clone_handler *ch;
	cdev_t dev;
	long n = 0;

	while ((ch = TAILQ_FIRST(&kpi_chandlers)) != NULL) {
		TAILQ_REMOVE(&kpi_chandlers, ch, link);
		kfree(ch, M_DEVFS);
	}
	while ((dev = TAILQ_FIRST(&kpi_cdevs)) != NULL) {
		kprintf("kpi: leaked cdev %s (refs %d%s)\n", dev->si_name,
		    dev->si_kpi_refs,
		    (dev->si_flags & SI_DEVFS_LINKED) ? ", linked" : "");
		TAILQ_REMOVE(&kpi_cdevs, dev, link);
		kfree(dev, M_DEVFS);
		n++;
	}
	KPI_STAT_ADD(KS_CDEVS, -n);
}

/* ---- cdevs ---- */

static cdev_t
devfs_new_cdev(struct dev_ops *ops, int minor, struct dev_ops *bops)
{
	cdev_t dev = kmalloc(sizeof(*dev), M_DEVFS, M_WAITOK | M_ZERO);

	dev->si_ops = ops;
	dev->si_bops = bops;
	dev->si_uminor = minor;
	dev->si_umajor = ops->head.maj;
	dev->si_kpi_refs = 2;	/* sysref_activate + reference_dev */
	dev->si_iosize_max = 64 * 1024;
	SLIST_INIT(&dev->si_kqinfo.ki_note);
	devfs_xlock();
	TAILQ_INSERT_TAIL(&kpi_cdevs, dev, link);
	devfs_xunlock();
	KPI_STAT_ADD(KS_CDEVS, 1);
	return dev;
}

cdev_t
reference_dev(cdev_t dev)
{
	if (dev != NULL)
		__atomic_fetch_add(&dev->si_kpi_refs, 1, __ATOMIC_RELAXED);
	return dev;
}

void
release_dev(cdev_t dev)
{
	int n;

	if (dev == NULL)
		return;
	n = __atomic_sub_fetch(&dev->si_kpi_refs, 1, __ATOMIC_ACQ_REL);
	if (n < 0)
		panic("release_dev: %s released too often", dev->si_name);
	if (n > 0)
		return;
	KKASSERT((dev->si_flags & SI_DEVFS_LINKED) == 0);
	devfs_xlock();
	TAILQ_REMOVE(&kpi_cdevs, dev, link);
	devfs_xunlock();
	KPI_STAT_ADD(KS_CDEVS, -1);
	kfree(dev, M_DEVFS);
}

int
count_dev(cdev_t dev)
{
	return dev->si_kpi_opens;
}

int
dev_drefs(cdev_t dev)
{
	return dev->si_kpi_refs;
}

const char *
devtoname(cdev_t dev)
{
	return dev == NULL ? "#nodev" : dev->si_name;
}

int
iszerodev(cdev_t dev)
{
	return dev == NULL;
}

int
dev_is_good(cdev_t dev)
{
	return dev != NULL && dev->si_ops != &dead_dev_ops;
}

int
minor(cdev_t dev)
{
	return dev == NULL ? -1 : dev->si_uminor;
}

int
lminor(cdev_t dev)
{
	return minor(dev);
}

int
major(cdev_t dev)
{
	return dev == NULL ? -1 : dev->si_umajor;
}

dev_t
makeudev(int x, int y)
{
	return ((dev_t)x << 8) | (dev_t)y;
}

int
uminor(dev_t dev)
{
	return dev & 0xffff00ff;
}

int
umajor(dev_t dev)
{
	return (dev & 0xff00) >> 8;
}

const char *
dev_dname(cdev_t dev)
{
	return dev->si_ops->head.name;
}

int
dev_dmaj(cdev_t dev)
{
	return dev->si_ops->head.maj;
}

int
dev_dflags(cdev_t dev)
{
	return dev->si_ops->head.flags;
}

void
compile_dev_ops(struct dev_ops *ops __unused)
{
}

static void
devfs_link_locked(cdev_t dev)
{
	KKASSERT((dev->si_flags & SI_DEVFS_LINKED) == 0);
	dev->si_flags |= SI_DEVFS_LINKED;
}

static cdev_t
devfs_lookup_locked(const char *name)
{
	cdev_t dev;

	TAILQ_FOREACH(dev, &kpi_cdevs, link) {
		if ((dev->si_flags & SI_DEVFS_LINKED) &&
		    strcmp(dev->si_name, name) == 0)
			return dev;
	}
	return NULL;
}

static cdev_t
make_dev_va(struct dev_ops *ops, struct dev_ops *bops, int minor, uid_t uid,
    gid_t gid, int perms, int link, const char *fmt, __va_list ap)
{
	cdev_t dev = devfs_new_cdev(ops, minor, bops);

	kvsnprintf(dev->si_name, sizeof(dev->si_name), fmt, ap);
	dev->si_uid = uid;
	dev->si_gid = gid;
	dev->si_perms = perms;
	reference_dev(dev);	/* link ref, or make_only_dev's ref */
	if (link) {
		devfs_xlock();
		if (devfs_lookup_locked(dev->si_name) != NULL)
			kprintf("kpi: devfs: duplicate node %s\n", dev->si_name);
		devfs_link_locked(dev);
		devfs_xunlock();
	}
	return dev;
}

cdev_t
make_dev(struct dev_ops *ops, int minor, uid_t uid, gid_t gid, int perms,
    const char *fmt, ...)
{
	__va_list ap;
	cdev_t dev;

	__va_start(ap, fmt);
	dev = make_dev_va(ops, NULL, minor, uid, gid, perms, 1, fmt, ap);
	__va_end(ap);
	return dev;
}

cdev_t
make_dev_covering(struct dev_ops *ops, struct dev_ops *bops, int minor,
    uid_t uid, gid_t gid, int perms, const char *fmt, ...)
{
	__va_list ap;
	cdev_t dev;

	__va_start(ap, fmt);
	dev = make_dev_va(ops, bops, minor, uid, gid, perms, 1, fmt, ap);
	__va_end(ap);
	return dev;
}

cdev_t
make_only_devfs_dev(struct dev_ops *ops, int minor, uid_t uid, gid_t gid,
    int perms, const char *fmt, ...)
{
	__va_list ap;
	cdev_t dev;

	__va_start(ap, fmt);
	dev = make_dev_va(ops, NULL, minor, uid, gid, perms, 1, fmt, ap);
	__va_end(ap);
	return dev;
}

cdev_t
make_only_dev(struct dev_ops *ops, int minor, uid_t uid, gid_t gid,
    int perms, const char *fmt, ...)
{
	__va_list ap;
	cdev_t dev;

	__va_start(ap, fmt);
	dev = make_dev_va(ops, NULL, minor, uid, gid, perms, 0, fmt, ap);
	__va_end(ap);
	return dev;
}

void
destroy_only_dev(cdev_t dev)
{
	release_dev(dev);
	release_dev(dev);
	release_dev(dev);
}

static void
destroy_dev_one(cdev_t dev)
{
	int linked;

	devfs_xlock();
	linked = (dev->si_flags & SI_DEVFS_LINKED) != 0;
	dev->si_flags &= ~SI_DEVFS_LINKED;
	dev->si_kpi_destroyed = 1;
	devfs_xunlock();
	if (linked)
		release_dev(dev);	/* link ref */
	release_dev(dev);
	release_dev(dev);
}

void
destroy_dev(cdev_t dev)
{
	if (dev != NULL)
		destroy_dev_one(dev);
}

int
make_dev_alias(cdev_t target __unused, const char *fmt __unused, ...)
{
	return 0;
}

int
destroy_dev_alias(cdev_t target __unused, const char *fmt __unused, ...)
{
	return 0;
}

int
dev_ops_remove_minor(struct dev_ops *ops, int minor)
{
	cdev_t dev;

again:
	devfs_xlock();
	TAILQ_FOREACH(dev, &kpi_cdevs, link) {
		if ((dev->si_flags & SI_DEVFS_LINKED) && dev->si_ops == ops &&
		    (minor < 0 || dev->si_uminor == minor)) {
			devfs_xunlock();
			destroy_dev_one(dev);
			goto again;
		}
	}
	devfs_xunlock();
	return 0;
}

int
dev_ops_remove_all(struct dev_ops *ops)
{
	return dev_ops_remove_minor(ops, -1);
}

cdev_t
devfs_find_device_by_name(const char *fmt, ...)
{
	char name[SPECNAMELEN + 1];
	__va_list ap;
	cdev_t dev;

	__va_start(ap, fmt);
	kvsnprintf(name, sizeof(name), fmt, ap);
	__va_end(ap);
	devfs_xlock();
	dev = devfs_lookup_locked(name);
	devfs_xunlock();
	return dev;
}

cdev_t
devfs_find_device_by_devid(dev_t udev __unused)
{
	return NULL;
}

int
devfs_clone_handler_add(const char *name, d_clone_t *nhandler)
{
	struct devfs_clone_handler *ch;

	ch = kmalloc(sizeof(*ch), M_DEVFS, M_WAITOK | M_ZERO);
	strlcpy(ch->name, name, sizeof(ch->name));
	ch->nhandler = nhandler;
	devfs_xlock();
	TAILQ_INSERT_TAIL(&kpi_chandlers, ch, link);
	devfs_xunlock();
	return 0;
}

int
devfs_clone_handler_del(const char *name)
{
	struct devfs_clone_handler *ch;

	devfs_xlock();
	TAILQ_FOREACH(ch, &kpi_chandlers, link) {
		if (strcmp(ch->name, name) == 0) {
			TAILQ_REMOVE(&kpi_chandlers, ch, link);
			devfs_xunlock();
			kfree(ch, M_DEVFS);
			return 0;
		}
	}
	devfs_xunlock();
	return 0;
}

cdev_t
make_autoclone_dev(struct dev_ops *ops, struct devfs_bitmap *bitmap,
    d_clone_t *nhandler, uid_t uid, gid_t gid, int perms, const char *fmt, ...)
{
	char name[SPECNAMELEN + 1];
	__va_list ap;

	__va_start(ap, fmt);
	kvsnprintf(name, sizeof(name), fmt, ap);
	__va_end(ap);
	if (bitmap != NULL)
		devfs_clone_bitmap_init(bitmap);
	devfs_clone_handler_add(name, nhandler);
	return make_dev_covering(&default_dev_ops, ops, 0xffff00ff, uid, gid,
	    perms, "%s", name);
}

void
destroy_autoclone_dev(cdev_t dev, struct devfs_bitmap *bitmap)
{
	if (dev == NULL)
		return;
	devfs_clone_handler_del(dev->si_name);
	if (bitmap != NULL)
		devfs_clone_bitmap_uninit(bitmap);
	destroy_dev(dev);
}

void
sync_devs(void)
{
}

void
devfs_config(void)
{
}

void
devfs_assume_knotes(cdev_t dev __unused, struct kqinfo *kqi __unused)
{
}

int
devfs_destroy_related(cdev_t dev __unused)
{
	return 0;
}

int
kpik_devstat(const char *path, unsigned int *uid, unsigned int *gid,
    int *perms)
{
	cdev_t dev;

	if (path == NULL || strncmp(path, "/dev/", 5) != 0)
		return ENOENT;
	devfs_xlock();
	dev = devfs_lookup_locked(path + 5);
	if (dev != NULL) {
		*uid = dev->si_uid;
		*gid = dev->si_gid;
		*perms = dev->si_perms;
	}
	devfs_xunlock();
	return dev != NULL ? 0 : ENOENT;
}

/* ---- clone bitmaps: a set bit is a free unit, as in DragonFly ---- */

#define BITS_PER_CHUNK	((int)(sizeof(unsigned long) * 8))

void
devfs_clone_bitmap_init(struct devfs_bitmap *bitmap)
{
	bitmap->chunks = DEVFS_BITMAP_INITIAL_SIZE;
	bitmap->bitmap = kmalloc(bitmap->chunks * sizeof(u_long), M_DEVFS,
	    M_WAITOK);
	memset(bitmap->bitmap, -1, bitmap->chunks * sizeof(u_long));
}

void
devfs_clone_bitmap_uninit(struct devfs_bitmap *bitmap)
{
	kfree(bitmap->bitmap, M_DEVFS);
	bitmap->bitmap = NULL;
	bitmap->chunks = 0;
}

static void
devfs_clone_bitmap_extend(struct devfs_bitmap *bitmap, int newchunks)
{
	int oldchunks = bitmap->chunks;

	bitmap->chunks = newchunks + 2;
	bitmap->bitmap = krealloc(bitmap->bitmap,
	    sizeof(u_long) * bitmap->chunks, M_DEVFS, M_WAITOK);
	memset(bitmap->bitmap + oldchunks, -1,
	    sizeof(u_long) * (bitmap->chunks - oldchunks));
}

static int
devfs_clone_bitmap_fff(struct devfs_bitmap *bitmap)
{
	int i, chunks = bitmap->chunks;

	for (i = 0; i < chunks + 1; i++) {
		if (i == chunks)
			devfs_clone_bitmap_extend(bitmap, i);
		if (bitmap->bitmap[i] != 0)
			return __builtin_ctzl(bitmap->bitmap[i]) +
			    i * BITS_PER_CHUNK;
	}
	panic("devfs_clone_bitmap_fff");
}

int
devfs_clone_bitmap_chk(struct devfs_bitmap *bitmap, int unit)
{
	int chunk = unit / BITS_PER_CHUNK;
	int res;

	unit -= chunk * BITS_PER_CHUNK;
	devfs_xlock();
	if (chunk >= bitmap->chunks) {
		devfs_xunlock();
		return 0;
	}
	res = !(bitmap->bitmap[chunk] & (1UL << unit));
	devfs_xunlock();
	return res;
}

int
devfs_clone_bitmap_set(struct devfs_bitmap *bitmap, int unit)
{
	int chunk = unit / BITS_PER_CHUNK;
	int res;

	if (unit < 0)
		panic("devfs_clone_bitmap_set: negative unit %d", unit);
	unit -= chunk * BITS_PER_CHUNK;
	devfs_xlock();
	if (chunk >= bitmap->chunks)
		devfs_clone_bitmap_extend(bitmap, chunk);
	if (bitmap->bitmap[chunk] & (1UL << unit)) {
		bitmap->bitmap[chunk] &= ~(1UL << unit);
		res = 0;
	} else {
		res = -1;
	}
	devfs_xunlock();
	return res;
}

void
devfs_clone_bitmap_put(struct devfs_bitmap *bitmap, int unit)
{
	int chunk = unit / BITS_PER_CHUNK;

	unit -= chunk * BITS_PER_CHUNK;
	devfs_xlock();
	if (chunk < bitmap->chunks)
		bitmap->bitmap[chunk] |= (1UL << unit);
	devfs_xunlock();
}

int
devfs_clone_bitmap_get(struct devfs_bitmap *bitmap, int limit)
{
	int unit;

	devfs_xlock();
	unit = devfs_clone_bitmap_fff(bitmap);
	if (limit > 0 && unit > limit)
		unit = -1;
	else
		devfs_clone_bitmap_set(bitmap, unit);
	devfs_xunlock();
	return unit;
}

/* ---- dev_ops dispatch (D_MPSAFE decides about the MP lock) ---- */

static int
dev_needmplock(cdev_t dev)
{
	return (dev->si_ops->head.flags & D_MPSAFE) == 0;
}

int
dev_dopen(cdev_t dev, int oflags, int devtype, struct ucred *cred,
    struct file *fp, struct vnode *vp __unused)
{
	struct dev_open_args ap;
	int needmplock = dev_needmplock(dev);
	int error;

	if (dev->si_ops->d_open == NULL)
		return ENODEV;
	memset(&ap, 0, sizeof(ap));
	ap.a_head.a_dev = dev;
	ap.a_oflags = oflags;
	ap.a_devtype = devtype;
	ap.a_cred = cred;
	ap.a_fp = fp;
	if (needmplock)
		get_mplock();
	error = dev->si_ops->d_open(&ap);
	if (needmplock)
		rel_mplock();
	return error;
}

int
dev_dclose(cdev_t dev, int fflag, int devtype, struct file *fp)
{
	struct dev_close_args ap;
	int needmplock = dev_needmplock(dev);
	int error;

	if (dev->si_ops->d_close == NULL)
		return 0;
	memset(&ap, 0, sizeof(ap));
	ap.a_head.a_dev = dev;
	ap.a_fflag = fflag;
	ap.a_devtype = devtype;
	ap.a_fp = fp;
	if (needmplock)
		get_mplock();
	error = dev->si_ops->d_close(&ap);
	if (needmplock)
		rel_mplock();
	return error;
}

int
dev_dread(cdev_t dev, struct uio *uio, int ioflag, struct file *fp)
{
	struct dev_read_args ap;
	int needmplock = dev_needmplock(dev);
	int error;

	if (dev->si_ops->d_read == NULL)
		return ENODEV;
	memset(&ap, 0, sizeof(ap));
	ap.a_head.a_dev = dev;
	ap.a_uio = uio;
	ap.a_ioflag = ioflag;
	ap.a_fp = fp;
	if (needmplock)
		get_mplock();
	error = dev->si_ops->d_read(&ap);
	if (needmplock)
		rel_mplock();
	return error;
}

int
dev_dwrite(cdev_t dev, struct uio *uio, int ioflag, struct file *fp)
{
	struct dev_write_args ap;
	int needmplock = dev_needmplock(dev);
	int error;

	if (dev->si_ops->d_write == NULL)
		return ENODEV;
	memset(&ap, 0, sizeof(ap));
	ap.a_head.a_dev = dev;
	ap.a_uio = uio;
	ap.a_ioflag = ioflag;
	ap.a_fp = fp;
	if (needmplock)
		get_mplock();
	error = dev->si_ops->d_write(&ap);
	if (needmplock)
		rel_mplock();
	return error;
}

int
dev_dioctl(cdev_t dev, u_long cmd, caddr_t data, int fflag,
    struct ucred *cred, struct sysmsg *msg, struct file *fp)
{
	struct dev_ioctl_args ap;
	int needmplock = dev_needmplock(dev);
	int error;

	if (dev->si_ops->d_ioctl == NULL)
		return ENODEV;
	memset(&ap, 0, sizeof(ap));
	ap.a_head.a_dev = dev;
	ap.a_cmd = cmd;
	ap.a_data = data;
	ap.a_fflag = fflag;
	ap.a_cred = cred;
	ap.a_sysmsg = msg;
	ap.a_fp = fp;
	if (needmplock)
		get_mplock();
	error = dev->si_ops->d_ioctl(&ap);
	if (needmplock)
		rel_mplock();
	return error;
}

int
dev_dkqfilter(cdev_t dev, struct knote *kn, struct file *fp)
{
	struct dev_kqfilter_args ap;
	int needmplock = dev_needmplock(dev);
	int error;

	if (dev->si_ops->d_kqfilter == NULL)
		return EOPNOTSUPP;
	memset(&ap, 0, sizeof(ap));
	ap.a_head.a_dev = dev;
	ap.a_kn = kn;
	ap.a_fp = fp;
	if (needmplock)
		get_mplock();
	error = dev->si_ops->d_kqfilter(&ap);
	if (needmplock)
		rel_mplock();
	if (error == 0)
		error = ap.a_result;
	return error;
}

/* ---- the file table ---- */

#define KPI_FD_BASE	3
#define KPI_NFILES	1024

static struct file *kpi_ftable[KPI_NFILES];

int
kpi_falloc(int type, void *data, const struct fileops_kpi *ops, int flag,
    int *fdp, struct file **fpp)
{
	struct file *fp;
	int i;

	fp = kmalloc(sizeof(*fp), M_KPIFILE, M_WAITOK | M_ZERO);
	fp->f_type = type;
	fp->f_data = data;
	fp->f_flag = flag;
	fp->f_count = 1;
	fp->f_kpi_ops = ops;
	fp->f_cred = crhold(curthread->td_ucred);
	SLIST_INIT(&fp->f_kpi_knotes);
	kpi_sched_lock();
	for (i = 0; i < KPI_NFILES; ++i) {
		if (kpi_ftable[i] == NULL)
			break;
	}
	if (i == KPI_NFILES) {
		kpi_sched_unlock();
		crfree(fp->f_cred);
		kfree(fp, M_KPIFILE);
		return EMFILE;
	}
	kpi_ftable[i] = fp;
	fp->f_kpi_fd = i + KPI_FD_BASE;
	kpi_sched_unlock();
	KPI_STAT_ADD(KS_FILES, 1);
	*fdp = i + KPI_FD_BASE;
	if (fpp != NULL)
		*fpp = fp;
	return 0;
}

int
kpi_fget(int fd, struct file **fpp)
{
	struct file *fp;
	int i = fd - KPI_FD_BASE;

	if (i < 0 || i >= KPI_NFILES)
		return EBADF;
	kpi_sched_lock();
	fp = kpi_ftable[i];
	if (fp != NULL)
		fp->f_count++;
	kpi_sched_unlock();
	if (fp == NULL)
		return EBADF;
	*fpp = fp;
	return 0;
}

void
kpi_fdrop(struct file *fp)
{
	int last;

	kpi_sched_lock();
	last = (--fp->f_count == 0);
	kpi_sched_unlock();
	if (!last)
		return;
	if (fp->f_kpi_ops->fo_close != NULL)
		fp->f_kpi_ops->fo_close(fp);
	crfree(fp->f_cred);
	KPI_STAT_ADD(KS_FILES, -1);
	kfree(fp, M_KPIFILE);
}

/* remove fd from the table; the file goes when its last user drops it */
int
kpik_close(int fd)
{
	struct file *fp;
	int i = fd - KPI_FD_BASE;

	if (i < 0 || i >= KPI_NFILES)
		return EBADF;
	kpi_sched_lock();
	fp = kpi_ftable[i];
	kpi_ftable[i] = NULL;
	kpi_sched_unlock();
	if (fp == NULL)
		return EBADF;
	kpi_knote_fdclose(fp);
	kpi_fdrop(fp);
	return 0;
}

void
kpi_files_closeall(void)
{
	int i;

	for (i = 0; i < KPI_NFILES; ++i) {
		if (kpi_ftable[i] != NULL)
			kpik_close(i + KPI_FD_BASE);
	}
}

/* ---- device files (what devfs's spec vnode ops do) ---- */

static int
devfile_read(struct file *fp, struct uio *uio, int ioflag)
{
	return dev_dread(fp->f_kpi_dev, uio, ioflag, fp);
}

static int
devfile_write(struct file *fp, struct uio *uio, int ioflag)
{
	return dev_dwrite(fp->f_kpi_dev, uio, ioflag, fp);
}

static int
devfile_ioctl(struct file *fp, u_long cmd, caddr_t data, struct ucred *cred)
{
	return dev_dioctl(fp->f_kpi_dev, cmd, data, fp->f_flag, cred, NULL,
	    fp);
}

static int
devfile_kqfilter(struct file *fp, struct knote *kn)
{
	return dev_dkqfilter(fp->f_kpi_dev, kn, fp);
}

static int
devfile_close(struct file *fp)
{
	cdev_t dev = fp->f_kpi_dev;
	int last;

	kpi_sched_lock();
	last = (--dev->si_kpi_opens == 0);
	kpi_sched_unlock();
	/* d_close on the last close only, as devfs_spec_close() does */
	if (last || (dev_dflags(dev) & D_TRACKCLOSE))
		dev_dclose(dev, fp->f_flag, 0x2000 /* S_IFCHR */, fp);
	release_dev(dev);	/* the vnode association */
	return 0;
}

static const struct fileops_kpi devfile_ops = {
	devfile_read, devfile_write, devfile_ioctl, devfile_kqfilter,
	devfile_close
};

/*
 * Access to a node, as DragonFly's open(2) checks it before the device is
 * involved at all (vfs_vnops.c vn_open(): nlookup() with NLC_READ and
 * NLC_WRITE, naccess_va(); devfs_vop_access(): vop_helper_access() with the
 * node's uid, gid and mode, 2010 to 2020 alike).  Only then does VOP_OPEN
 * (devfs_spec_open()) run the clone handler and d_open, so a caller
 * without access gets EACCES and the driver never hears of it.
 */
static int
devfs_node_access(cdev_t dev, int fflags, struct ucred *cred)
{
	int i, mask = 0, shift;

	if (cred->cr_uid == 0)
		return 0;
	if (cred->cr_uid == dev->si_uid) {
		shift = 6;
	} else {
		shift = 0;
		for (i = 0; i < cred->cr_ngroups; ++i) {
			if (cred->cr_groups[i] == dev->si_gid) {
				shift = 3;
				break;
			}
		}
	}
	if (fflags & FREAD)
		mask |= 04 << shift;
	if (fflags & FWRITE)
		mask |= 02 << shift;
	return ((dev->si_perms & mask) == mask ? 0 : EACCES);
}

int
kpik_open(const char *path, int flags, int *fdp)
{
	struct devfs_clone_handler *ch;
	struct dev_clone_args cap;
	struct file *fp;
	d_clone_t *handler = NULL;
	const char *name;
	cdev_t dev, ndev;
	int fflags, error, fd;

	if (path == NULL)
		return EFAULT;
	if (strncmp(path, "/dev/", 5) != 0)
		return ENOENT;
	name = path + 5;
	fflags = FFLAGS(flags) & (FREAD | FWRITE | FNONBLOCK | FASYNC);

	devfs_xlock();
	dev = devfs_lookup_locked(name);
	if (dev == NULL) {
		devfs_xunlock();
		return ENOENT;
	}
	error = devfs_node_access(dev, fflags, curthread->td_ucred);
	if (error) {
		devfs_xunlock();
		return error;
	}
	TAILQ_FOREACH(ch, &kpi_chandlers, link) {
		if (strcmp(ch->name, name) == 0) {
			handler = ch->nhandler;
			break;
		}
	}
	reference_dev(dev);
	devfs_xunlock();

	if (handler != NULL) {
		/* devfs_clone(): the handler runs without the devfs lock */
		memset(&cap, 0, sizeof(cap));
		cap.a_head.a_dev = dev;
		cap.a_dev = NULL;
		cap.a_name = name;
		cap.a_namelen = strlen(name);
		cap.a_mode = fflags;
		cap.a_cred = curthread->td_ucred;
		error = handler(&cap);
		ndev = (error == 0) ? cap.a_dev : NULL;
		if (ndev != NULL) {
			devfs_xlock();
			if ((ndev->si_flags & SI_DEVFS_LINKED) == 0)
				devfs_link_locked(ndev);
			devfs_xunlock();
			reference_dev(ndev);
			release_dev(dev);
			dev = ndev;
		}
		/* else the autoclone node itself is opened: ENODEV */
	}

	error = kpi_falloc(DTYPE_VNODE, dev, &devfile_ops, fflags, &fd, &fp);
	if (error) {
		release_dev(dev);
		return error;
	}
	fp->f_kpi_dev = dev;
	kpi_sched_lock();
	dev->si_kpi_opens++;
	kpi_sched_unlock();
	error = dev_dopen(dev, fflags, 0x2000, curthread->td_ucred, fp, NULL);
	if (error) {
		/* a failed open is never closed: take the file back quietly */
		int i = fd - KPI_FD_BASE;

		kpi_sched_lock();
		dev->si_kpi_opens--;
		kpi_ftable[i] = NULL;
		kpi_sched_unlock();
		release_dev(dev);
		crfree(fp->f_cred);
		KPI_STAT_ADD(KS_FILES, -1);
		kfree(fp, M_KPIFILE);
		return error;
	}
	*fdp = fd;
	return 0;
}

static int
kpi_rw(int fd, void *buf, size_t n, enum uio_rw rw, long *resp)
{
	struct file *fp;
	struct iovec iov;
	struct uio uio;
	int error, ioflag = 0;

	error = kpi_fget(fd, &fp);
	if (error)
		return error;
	if ((rw == UIO_READ && !(fp->f_flag & FREAD)) ||
	    (rw == UIO_WRITE && !(fp->f_flag & FWRITE))) {
		kpi_fdrop(fp);
		return EBADF;
	}
	if (n > SSIZE_MAX) {
		kpi_fdrop(fp);
		return EINVAL;
	}
	iov.iov_base = buf;
	iov.iov_len = n;
	uio.uio_iov = &iov;
	uio.uio_iovcnt = 1;
	uio.uio_offset = 0;
	uio.uio_resid = n;
	uio.uio_segflg = UIO_USERSPACE;
	uio.uio_rw = rw;
	uio.uio_td = curthread;
	if (fp->f_flag & FNONBLOCK)
		ioflag |= IO_NDELAY;
	if (rw == UIO_READ) {
		error = fp->f_kpi_ops->fo_read == NULL ? EOPNOTSUPP :
		    fp->f_kpi_ops->fo_read(fp, &uio, ioflag);
	} else {
		error = fp->f_kpi_ops->fo_write == NULL ? EOPNOTSUPP :
		    fp->f_kpi_ops->fo_write(fp, &uio, ioflag);
	}
	/* as dofileread/dofilewrite: a partial transfer is a success */
	if (error && uio.uio_resid != n &&
	    (error == ERESTART || error == EINTR || error == EWOULDBLOCK))
		error = 0;
	if (error == ERESTART)
		error = EINTR;
	*resp = (long)(n - uio.uio_resid);
	kpi_fdrop(fp);
	return error;
}

int
kpik_read(int fd, void *buf, kpik_size_t n, long *resp)
{
	return kpi_rw(fd, buf, n, UIO_READ, resp);
}

int
kpik_write(int fd, const void *buf, kpik_size_t n, long *resp)
{
	return kpi_rw(fd, __DECONST(void *, buf), n, UIO_WRITE, resp);
}

/* mapped_ioctl(): copy in, handle FIONBIO/FIOASYNC, call down, copy out */
int
kpik_ioctl(int fd, unsigned long cmd, void *arg)
{
	struct file *fp;
	union {
		char	buf[128];
		long	align;
	} ubuf;
	caddr_t data;
	u_int size;
	int error, tmp;

	size = IOCPARM_LEN(cmd);
	if (size > IOCPARM_MAX)
		return ENOTTY;
	error = kpi_fget(fd, &fp);
	if (error)
		return error;
	if ((fp->f_flag & (FREAD | FWRITE)) == 0) {
		kpi_fdrop(fp);
		return EBADF;
	}
	if (cmd == FIOCLEX || cmd == FIONCLEX) {
		kpi_fdrop(fp);
		return 0;
	}
	data = size > sizeof(ubuf.buf) ?
	    kmalloc(size, M_TEMP, M_WAITOK | M_ZERO) : ubuf.buf;
	memset(data, 0, size > sizeof(ubuf.buf) ? size : sizeof(ubuf.buf));
	if (size > 0) {
		if (cmd & IOC_IN) {
			error = copyin(arg, data, size);
		} else if ((cmd & IOC_VOID) && size == sizeof(int)) {
			*(int *)data = (int)(intptr_t)arg;
		}
	} else if (cmd & IOC_VOID) {
		*(void **)data = arg;
	}
	if (error == 0) {
		switch (cmd) {
		case FIONBIO:
			if ((tmp = *(int *)data))
				__atomic_fetch_or(&fp->f_flag, FNONBLOCK,
				    __ATOMIC_RELAXED);
			else
				__atomic_fetch_and(&fp->f_flag, ~FNONBLOCK,
				    __ATOMIC_RELAXED);
			error = 0;
			break;
		case FIOASYNC:
			if ((tmp = *(int *)data))
				__atomic_fetch_or(&fp->f_flag, FASYNC,
				    __ATOMIC_RELAXED);
			else
				__atomic_fetch_and(&fp->f_flag, ~FASYNC,
				    __ATOMIC_RELAXED);
			error = fp->f_kpi_ops->fo_ioctl == NULL ? ENOTTY :
			    fp->f_kpi_ops->fo_ioctl(fp, FIOASYNC,
			    (caddr_t)&tmp, curthread->td_ucred);
			break;
		default:
			error = fp->f_kpi_ops->fo_ioctl == NULL ? ENOTTY :
			    fp->f_kpi_ops->fo_ioctl(fp, cmd, data,
			    curthread->td_ucred);
			break;
		}
	}
	if (error == 0 && (cmd & IOC_OUT) && size > 0)
		error = copyout(data, arg, size);
	if (data != ubuf.buf)
		kfree(data, M_TEMP);
	kpi_fdrop(fp);
	return error;
}

#define KPI_F_GETFL	3
#define KPI_F_SETFL	4

int
kpik_fcntl(int fd, int cmd, long arg, int *resp)
{
	struct file *fp;
	int error, nflag, tmp;

	error = kpi_fget(fd, &fp);
	if (error)
		return error;
	switch (cmd) {
	case KPI_F_GETFL:
		*resp = OFLAGS(fp->f_flag);
		break;
	case KPI_F_SETFL:
		nflag = FFLAGS((int)arg) & (FNONBLOCK | FASYNC);
		tmp = (nflag & FASYNC) != 0;
		if (((fp->f_flag ^ nflag) & FASYNC) &&
		    fp->f_kpi_ops->fo_ioctl != NULL)
			error = fp->f_kpi_ops->fo_ioctl(fp, FIOASYNC,
			    (caddr_t)&tmp, curthread->td_ucred);
		if (error == 0) {
			kpi_sched_lock();
			fp->f_flag = (fp->f_flag & ~(FNONBLOCK | FASYNC)) |
			    nflag;
			kpi_sched_unlock();
		}
		*resp = 0;
		break;
	default:
		error = EINVAL;
		break;
	}
	kpi_fdrop(fp);
	return error;
}
