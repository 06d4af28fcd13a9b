/*
 * kpi_compat_2008.c - the device model before devfs, for a driver compiled
 * with compat/2008/kpi_era.h: dev_ops_add() with the /dev nodes MAKEDEV
 * made, make_dev() on a (major, minor) that exists, d_poll with
 * selrecord/selwakeup, netisr_dispatch().  Kernel half, today's headers;
 * see driver/kpi/README.md for the DragonFly commits modelled.
 */
#include "kpi_kern.h"
#include <sys/conf.h>
#include <sys/devfs.h>
#include <sys/file.h>
#include <sys/poll.h>
#include <sys/mplock2.h>
#include <net/netisr.h>
#include "../kpi_compat.h"

/* what d_poll is called with (compat/2008/kpi_era.h has the same layout) */
struct dev_poll_args {
	struct dev_generic_args a_head;
	int		a_events;
};

/* selwakeup() generations: a poller sleeps only while none has passed */
static int kpi_selgen;

static int kpi_compat_dpoll(struct pollfd *, unsigned int, int, int *);

/*
 * dev_ops_add(): the major is registered, and its nodes /dev/<name>0..3
 * appear as MAKEDEV "all" had made them on disk (root:wheel 0600); opening
 * one reaches the driver's d_open with a cdev it has never seen.
 */
int
kpi_compat_dev_ops_add(struct dev_ops *ops, u_int mask __unused,
    u_int match __unused)
{
	int i;

	compile_dev_ops(ops);
	for (i = 0; i < KPI_COMPAT_2008_NODES; ++i) {
		if (devfs_find_device_by_name("%s%d", ops->head.name, i) == NULL)
			make_dev(ops, i, UID_ROOT, GID_WHEEL, 0600, "%s%d",
			    ops->head.name, i);
	}
	if (ops->d_poll != NULL)
		kpi_dpoll_hook = kpi_compat_dpoll;
	return (0);
}

/*
 * make_dev() of the time: the cdev of (major, minor), made if there is
 * none yet, named as asked; owner and mode were the on-disk node's.
 */
cdev_t
kpi_compat_make_dev(struct dev_ops *ops, int minor, uid_t uid, gid_t gid,
    int perms, const char *fmt, ...)
{
	char name[SPECNAMELEN + 1];
	__va_list ap;
	cdev_t dev;

	__va_start(ap, fmt);
	kvsnprintf(name, sizeof(name), fmt, ap);
	__va_end(ap);
	dev = devfs_find_device_by_name("%s", name);
	if (dev != NULL && dev->si_ops == ops && dev->si_uminor == minor)
		return (dev);
	return (make_dev(ops, minor, uid, gid, perms, "%s", name));
}

void
kpi_compat_selrecord(struct thread *td __unused, struct selinfo *sip)
{
	sip->si_pid = curproc != NULL ? curproc->p_pid : 0;
}

void
kpi_compat_selwakeup(struct selinfo *sip)
{
	sip->si_pid = 0;
	__atomic_fetch_add(&kpi_selgen, 1, __ATOMIC_SEQ_CST);
	wakeup(&kpi_selgen);
}

int
kpi_compat_netisr_dispatch(int num, struct mbuf *m)
{
	return (netisr_queue(num, m));
}

static int
dev_dpoll(cdev_t dev, int events)
{
	struct dev_poll_args ap;
	int needmplock = (dev->si_ops->head.flags & D_MPSAFE) == 0;

	memset(&ap, 0, sizeof(ap));
	ap.a_head.a_dev = dev;
	ap.a_events = events;
	if (needmplock)
		get_mplock();
	dev->si_ops->d_poll(&ap);
	if (needmplock)
		rel_mplock();
	return (ap.a_events);
}

/*
 * poll(2) over devices with a d_poll: ask each; if none is ready, sleep
 * until a selwakeup() (or the timeout) and ask again.  A set with any
 * other descriptor goes to the kqueue-based poll (-1).
 */
#define KPI_DPOLL_MAX	64

static int
kpi_compat_dpoll(struct pollfd *fds, unsigned int nfds, int timeout_ms,
    int *resp)
{
	struct file *fps[KPI_DPOLL_MAX];
	unsigned int i, n;
	int error = 0, nready, gen, timo;
	int64_t left_ms = timeout_ms;

	if (nfds == 0 || nfds > KPI_DPOLL_MAX)
		return (-1);
	for (n = 0; n < nfds; ++n) {
		if (kpi_fget(fds[n].fd, &fps[n]) != 0)
			break;
		if (fps[n]->f_type != DTYPE_VNODE || fps[n]->f_kpi_dev == NULL ||
		    fps[n]->f_kpi_dev->si_ops->d_poll == NULL) {
			kpi_fdrop(fps[n]);
			break;
		}
	}
	if (n < nfds) {
		for (i = 0; i < n; ++i)
			kpi_fdrop(fps[i]);
		return (-1);
	}
	for (;;) {
		gen = __atomic_load_n(&kpi_selgen, __ATOMIC_SEQ_CST);
		nready = 0;
		for (i = 0; i < nfds; ++i) {
			fds[i].revents = (short)dev_dpoll(fps[i]->f_kpi_dev,
			    fds[i].events);
			if (fds[i].revents)
				nready++;
		}
		if (nready || timeout_ms == 0 || (timeout_ms > 0 && left_ms <= 0))
			break;
		tsleep_interlock(&kpi_selgen, PCATCH);
		if (gen != __atomic_load_n(&kpi_selgen, __ATOMIC_SEQ_CST))
			continue;
		timo = 0;
		if (timeout_ms > 0) {
			timo = (int)((left_ms * hz + 999) / 1000);
			if (timo < 1)
				timo = 1;
		}
		error = tsleep(&kpi_selgen, PCATCH | PINTERLOCKED, "select",
		    timo);
		if (error == EWOULDBLOCK) {
			error = 0;
			left_ms -= (int64_t)timo * 1000 / hz;
			continue;
		}
		if (error)
			break;
	}
	for (i = 0; i < nfds; ++i)
		kpi_fdrop(fps[i]);
	*resp = error ? 0 : nready;
	return (error);
}
