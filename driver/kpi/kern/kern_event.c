/*
 * kern_event.c - knotes, kqueues, kevent() and poll() for the kpi.
 *
 * As on DragonFly, a knote becomes a candidate for delivery only when it
 * is registered or when the object it watches calls knote() (KNOTE) and
 * its filter agrees; kevent() then re-runs the filter and drops it if the
 * condition has gone.  A driver that forgets a KNOTE therefore leaves a
 * waiter asleep here as it would on DragonFly.  poll() is built on the
 * same machinery, as DragonFly's is.
 */
#include "kpi_kern.h"
#include <sys/event.h>
#include <sys/poll.h>
#include "../compat/kpi_compat.h"
#include <sys/file.h>

MALLOC_DEFINE(M_KQUEUE, "kqueue", "memory for kqueue system");

#define KN_REPROCESS_ACT	0x1000	/* kpi: knote() ran during a scan's filter */

struct kqueue {
	TAILQ_HEAD(, knote) kq_knlist;
	int		kq_closing;
};

struct kpik_kevent;
struct kpik_pollfd;

static int	kqueue_register(struct kqueue *kq, struct kevent *kev);

/* ---- knote lists (objects call these) ---- */

void
knote_insert(struct klist *list, struct knote *kn)
{
	lwkt_getpooltoken(list);
	SLIST_INSERT_HEAD(list, kn, kn_next);
	lwkt_relpooltoken(list);
}

void
knote_remove(struct klist *list, struct knote *kn)
{
	lwkt_getpooltoken(list);
	SLIST_REMOVE(list, kn, knote, kn_next);
	lwkt_relpooltoken(list);
}

void
knote_assume_knotes(struct kqinfo *src, struct kqinfo *dst,
    struct filterops *ops, void *hook)
{
	struct knote *kn;

	while ((kn = SLIST_FIRST(&src->ki_note)) != NULL) {
		knote_remove(&src->ki_note, kn);
		kn->kn_fop = ops;
		kn->kn_hook = hook;
		knote_insert(&dst->ki_note, kn);
	}
}

static void
knote_activate(struct knote *kn)
{
	struct kqueue *kq;

	kpi_sched_lock();
	kq = kn->kn_kq;
	if ((kn->kn_status & (KN_DISABLED | KN_DELETING)) == 0) {
		kn->kn_status |= KN_ACTIVE;
		/* a scan running the filter now must not drop this activation */
		if (kn->kn_status & KN_PROCESSING)
			kn->kn_status |= KN_REPROCESS_ACT;
	}
	kpi_sched_unlock();
	if (kq != NULL)
		wakeup(kq);
}

void
knote(struct klist *list, long hint)
{
	struct knote *kn;

	/*
	 * No listener costs nothing (a kqueue_register() after this test runs
	 * the filter itself, so no event is lost).  Otherwise, as DragonFly's
	 * knote(): the list's pool token keeps a knote from being removed (and
	 * freed) under the walk, whatever the caller holds.
	 */
	if (list == NULL || SLIST_EMPTY(list))
		return;
	lwkt_getpooltoken(list);
	SLIST_FOREACH(kn, list, kn_next) {
		if (kn->kn_fop->f_event(kn, hint))
			knote_activate(kn);
	}
	lwkt_relpooltoken(list);
}

int
filt_seltrue(struct knote *kn __unused, long hint __unused)
{
	return 1;
}

/* ---- knote lifetime ---- */

/* sched lock held on entry and exit: wait until no scan is using kn */
static void
knote_wait_idle_locked(struct knote *kn)
{
	while (kn->kn_status & KN_PROCESSING)
		kpi_sched_wait(0);
}

static void
knote_drop(struct knote *kn)
{
	struct kqueue *kq = kn->kn_kq;
	struct file *fp = kn->kn_fp;

	kpi_sched_lock();
	kn->kn_status |= KN_DELETING;
	knote_wait_idle_locked(kn);
	TAILQ_REMOVE(&kq->kq_knlist, kn, kn_kqlink);
	if (fp != NULL)
		SLIST_REMOVE(&fp->f_kpi_knotes, kn, knote, kn_link);
	kpi_sched_unlock();
	if ((kn->kn_status & KN_DETACHED) == 0 && kn->kn_fop != NULL &&
	    kn->kn_fop->f_detach != NULL)
		kn->kn_fop->f_detach(kn);
	kn->kn_status |= KN_DETACHED;
	KPI_STAT_ADD(KS_KNOTES, -1);
	kfree(kn, M_KQUEUE);
}

/* close(fd): the knotes watching this file go away with it */
void
kpi_knote_fdclose(struct file *fp)
{
	struct knote *kn;

	for (;;) {
		kpi_sched_lock();
		kn = SLIST_FIRST(&fp->f_kpi_knotes);
		kpi_sched_unlock();
		if (kn == NULL)
			break;
		knote_drop(kn);
	}
}

/* ---- kqueue files ---- */

static int
kqueue_close(struct file *fp)
{
	struct kqueue *kq = fp->f_data;
	struct knote *kn;

	for (;;) {
		kpi_sched_lock();
		kq->kq_closing = 1;
		kn = TAILQ_FIRST(&kq->kq_knlist);
		kpi_sched_unlock();
		if (kn == NULL)
			break;
		knote_drop(kn);
	}
	kfree(kq, M_KQUEUE);
	return 0;
}

static const struct fileops_kpi kqueue_ops = {
	NULL, NULL, NULL, NULL, kqueue_close
};

int
kpik_kqueue(int *fdp)
{
	struct kqueue *kq;
	int error;

	kq = kmalloc(sizeof(*kq), M_KQUEUE, M_WAITOK | M_ZERO);
	TAILQ_INIT(&kq->kq_knlist);
	error = kpi_falloc(DTYPE_KQUEUE, kq, &kqueue_ops, FREAD | FWRITE,
	    fdp, NULL);
	if (error)
		kfree(kq, M_KQUEUE);
	return error;
}

static struct knote *
kqueue_find(struct kqueue *kq, uintptr_t ident, short filter)
{
	struct knote *kn;

	TAILQ_FOREACH(kn, &kq->kq_knlist, kn_kqlink) {
		if (kn->kn_id == ident && kn->kn_filter == filter)
			return kn;
	}
	return NULL;
}

static int
kqueue_register(struct kqueue *kq, struct kevent *kev)
{
	struct knote *kn;
	struct file *fp;
	int error;

	kpi_sched_lock();
	kn = kqueue_find(kq, kev->ident, kev->filter);
	kpi_sched_unlock();

	if (kev->flags & EV_DELETE) {
		if (kn == NULL)
			return ENOENT;
		knote_drop(kn);
		return 0;
	}
	if (kn == NULL) {
		if ((kev->flags & EV_ADD) == 0)
			return ENOENT;
		if (kev->filter != EVFILT_READ && kev->filter != EVFILT_WRITE &&
		    kev->filter != EVFILT_EXCEPT)
			return EINVAL;
		error = kpi_fget((int)kev->ident, &fp);
		if (error)
			return error;
		if (fp->f_kpi_ops->fo_kqfilter == NULL) {
			kpi_fdrop(fp);
			return EOPNOTSUPP;
		}
		kn = kmalloc(sizeof(*kn), M_KQUEUE, M_WAITOK | M_ZERO);
		kn->kn_kevent = *kev;
		kn->kn_kevent.flags &= ~(EV_ADD | EV_ENABLE);
		kn->kn_sfflags = kev->fflags;
		kn->kn_sdata = kev->data;
		kn->kn_kevent.data = 0;
		kn->kn_kevent.fflags = 0;
		kn->kn_kq = kq;
		kn->kn_fp = fp;
		KPI_STAT_ADD(KS_KNOTES, 1);
		error = fp->f_kpi_ops->fo_kqfilter(fp, kn);
		if (error) {
			kpi_fdrop(fp);
			KPI_STAT_ADD(KS_KNOTES, -1);
			kfree(kn, M_KQUEUE);
			return error;
		}
		kpi_sched_lock();
		TAILQ_INSERT_TAIL(&kq->kq_knlist, kn, kn_kqlink);
		SLIST_INSERT_HEAD(&fp->f_kpi_knotes, kn, kn_link);
		kn->kn_status |= KN_ACTIVE;	/* checked at the next scan */
		if (kev->flags & EV_DISABLE)
			kn->kn_status |= KN_DISABLED;
		kpi_sched_unlock();
		/* the knote does not keep the file open: close() detaches it */
		kpi_fdrop(fp);
		return 0;
	}
	kpi_sched_lock();
	kn->kn_sfflags = kev->fflags;
	kn->kn_sdata = kev->data;
	kn->kn_kevent.udata = kev->udata;
	kn->kn_kevent.flags = (kn->kn_kevent.flags & (EV_EOF | EV_NODATA)) |
	    (kev->flags & (EV_ONESHOT | EV_CLEAR | EV_DISPATCH));
	if (kev->flags & EV_DISABLE)
		kn->kn_status |= KN_DISABLED;
	if (kev->flags & EV_ENABLE) {
		kn->kn_status &= ~KN_DISABLED;
		kn->kn_status |= KN_ACTIVE;
	}
	kpi_sched_unlock();
	return 0;
}

/*
 * Collect up to nevents ready events; the sched lock is not held while a
 * filter runs, the knote is marked KN_PROCESSING instead.
 */
static int
kqueue_scan(struct kqueue *kq, struct kevent *out, int nevents)
{
	struct knote *kn, *marker;
	int n = 0, ready;

	marker = kmalloc(sizeof(*marker), M_KQUEUE, M_WAITOK | M_ZERO);
	marker->kn_status = KN_PROCESSING | KN_DISABLED;
	marker->kn_filter = EVFILT_MARKER;
	kpi_sched_lock();
	TAILQ_INSERT_HEAD(&kq->kq_knlist, marker, kn_kqlink);
	while (n < nevents) {
		kn = TAILQ_NEXT(marker, kn_kqlink);
		if (kn == NULL)
			break;
		TAILQ_REMOVE(&kq->kq_knlist, marker, kn_kqlink);
		TAILQ_INSERT_AFTER(&kq->kq_knlist, kn, marker, kn_kqlink);
		if (kn->kn_filter == EVFILT_MARKER ||
		    (kn->kn_status & (KN_ACTIVE | KN_DISABLED | KN_DELETING |
		    KN_PROCESSING)) != KN_ACTIVE)
			continue;
		kn->kn_status |= KN_PROCESSING;
		kn->kn_status &= ~KN_REPROCESS_ACT;
		kpi_sched_unlock();
		ready = kn->kn_fop->f_event(kn, 0);
		kpi_sched_lock();
		kn->kn_status &= ~KN_PROCESSING;
		if (!ready && !(kn->kn_kevent.flags & EV_EOF)) {
			/* activated meanwhile: keep it for the next scan */
			if ((kn->kn_status & KN_REPROCESS_ACT) == 0)
				kn->kn_status &= ~KN_ACTIVE;
			kpi_sched_broadcast();
			continue;
		}
		out[n] = kn->kn_kevent;
		n++;
		if (kn->kn_kevent.flags & EV_ONESHOT) {
			kn->kn_status |= KN_DISABLED | KN_REPROCESS;
		} else if (kn->kn_kevent.flags & EV_CLEAR) {
			kn->kn_kevent.data = 0;
			kn->kn_kevent.fflags = 0;
			kn->kn_status &= ~KN_ACTIVE;
		} else if (kn->kn_kevent.flags & EV_DISPATCH) {
			kn->kn_status |= KN_DISABLED;
		}
		kpi_sched_broadcast();
	}
	TAILQ_REMOVE(&kq->kq_knlist, marker, kn_kqlink);
	kpi_sched_unlock();
	kfree(marker, M_KQUEUE);

	/* EV_ONESHOT knotes are deleted once delivered */
	for (;;) {
		kpi_sched_lock();
		TAILQ_FOREACH(kn, &kq->kq_knlist, kn_kqlink) {
			if (kn->kn_status & KN_REPROCESS)
				break;
		}
		kpi_sched_unlock();
		if (kn == NULL)
			break;
		knote_drop(kn);
	}
	return n;
}

static int
kern_kevent(struct kqueue *kq, const struct kevent *changes, int nchanges,
    struct kevent *events, int nevents, long long timeout_ns, int *resp)
{
	struct kevent kev;
	long long deadline = 0;
	int i, n = 0, error;

	for (i = 0; i < nchanges; ++i) {
		kev = changes[i];
		error = kqueue_register(kq, &kev);
		if (error || (kev.flags & EV_RECEIPT)) {
			if (nevents - n > 0) {
				kev.flags = EV_ERROR;
				kev.data = error;
				events[n++] = kev;
				continue;
			}
			if (error)
				return error;
		}
	}
	if (n > 0 || nevents == 0) {
		*resp = n;
		return 0;
	}
	if (timeout_ns > 0)
		deadline = kpi_now_ns() + timeout_ns;
	for (;;) {
		tsleep_interlock(kq, PCATCH);
		n = kqueue_scan(kq, events, nevents);
		if (n > 0 || timeout_ns == 0)
			break;
		if (timeout_ns > 0) {
			long long left = deadline - kpi_now_ns();
			int timo;

			if (left <= 0)
				break;
			timo = (int)((left + (1000000000LL / hz) - 1) /
			    (1000000000LL / hz));
			error = tsleep(kq, PCATCH | PINTERLOCKED, "kqread",
			    timo);
		} else {
			error = tsleep(kq, PCATCH | PINTERLOCKED, "kqread", 0);
		}
		if (error == EINTR || error == ERESTART) {
			tsleep_remove(curthread);
			return EINTR;
		}
	}
	tsleep_remove(curthread);
	*resp = n;
	return 0;
}

int
kpik_kevent(int kqfd, const struct kpik_kevent *kchanges, int nchanges,
    struct kpik_kevent *kevents, int nevents, long long timeout_ns, int *resp)
{
	struct file *fp;
	int error;

	if (nchanges < 0 || nevents < 0)
		return EINVAL;
	error = kpi_fget(kqfd, &fp);
	if (error)
		return error;
	if (fp->f_type != DTYPE_KQUEUE) {
		kpi_fdrop(fp);
		return EBADF;
	}
	error = kern_kevent(fp->f_data, (const struct kevent *)kchanges,
	    nchanges, (struct kevent *)kevents, nevents, timeout_ns, resp);
	kpi_fdrop(fp);
	return error;
}

int (*kpi_dpoll_hook)(struct pollfd *, unsigned int, int, int *);

int
kpik_poll(struct kpik_pollfd *kfds, unsigned int nfds, int timeout_ms,
    int *resp)
{
	struct pollfd *fds = (struct pollfd *)kfds;
	struct kqueue *kq;
	struct kevent kev, *evs;
	struct knote *kn;
	unsigned int i;
	int n, j, error = 0, nready = 0;

	if (nfds > 1024)
		return EINVAL;
	/* devices with a d_poll (compat/2008) answer poll themselves */
	if (kpi_dpoll_hook != NULL &&
	    (error = kpi_dpoll_hook(fds, nfds, timeout_ms, resp)) != -1)
		return error;
	kq = kmalloc(sizeof(*kq), M_KQUEUE, M_WAITOK | M_ZERO);
	TAILQ_INIT(&kq->kq_knlist);
	evs = kmalloc(sizeof(*evs) * (2 * nfds + 1), M_TEMP, M_WAITOK | M_ZERO);
	for (i = 0; i < nfds; ++i) {
		fds[i].revents = 0;
		if (fds[i].fd < 0)
			continue;
		memset(&kev, 0, sizeof(kev));
		kev.ident = fds[i].fd;
		kev.flags = EV_ADD;
		kev.udata = (void *)(uintptr_t)i;
		if (fds[i].events & (POLLIN | POLLRDNORM)) {
			kev.filter = EVFILT_READ;
			error = kqueue_register(kq, &kev);
		}
		if (error == 0 && (fds[i].events & (POLLOUT | POLLWRNORM))) {
			kev.filter = EVFILT_WRITE;
			error = kqueue_register(kq, &kev);
		}
		if (error == EBADF)
			fds[i].revents = POLLNVAL;
		else if (error)
			fds[i].revents = POLLERR;
		error = 0;
	}
	for (i = 0; i < nfds; ++i) {
		if (fds[i].revents)
			nready++;
	}
	if (nready == 0) {
		error = kern_kevent(kq, NULL, 0, evs, 2 * nfds + 1,
		    timeout_ms < 0 ? -1 : (long long)timeout_ms * 1000000LL,
		    &n);
		if (error == 0) {
			for (j = 0; j < n; ++j) {
				i = (unsigned int)(uintptr_t)evs[j].udata;
				if (evs[j].filter == EVFILT_READ) {
					if (evs[j].flags & EV_EOF)
						fds[i].revents |= POLLHUP;
					if (evs[j].data > 0 ||
					    !(evs[j].flags & EV_EOF))
						fds[i].revents |= fds[i].events &
						    (POLLIN | POLLRDNORM);
				} else if (evs[j].filter == EVFILT_WRITE) {
					if (evs[j].flags & EV_EOF)
						fds[i].revents |= POLLHUP;
					else
						fds[i].revents |= fds[i].events &
						    (POLLOUT | POLLWRNORM);
				}
			}
			for (i = 0; i < nfds; ++i) {
				if (fds[i].revents)
					nready++;
			}
		}
	}
	for (;;) {
		kpi_sched_lock();
		kn = TAILQ_FIRST(&kq->kq_knlist);
		kpi_sched_unlock();
		if (kn == NULL)
			break;
		knote_drop(kn);
	}
	kfree(evs, M_TEMP);
	kfree(kq, M_KQUEUE);
	*resp = nready;
	return error;
}
