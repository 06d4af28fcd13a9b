/* kpi: DragonFly-named <sys/event.h> */
#ifndef _SYS_EVENT_H_
#define _SYS_EVENT_H_
#include <sys/types.h>
#include <sys/queue.h>

#define EVFILT_READ	(-1)
#define EVFILT_WRITE	(-2)
#define EVFILT_AIO	(-3)
#define EVFILT_VNODE	(-4)
#define EVFILT_PROC	(-5)
#define EVFILT_SIGNAL	(-6)
#define EVFILT_TIMER	(-7)
#define EVFILT_EXCEPT	(-8)
#define EVFILT_USER	(-9)
#define EVFILT_FS	(-10)
#define EVFILT_MARKER	0xF
#define EVFILT_SYSCOUNT	10

#define EV_SET(kevp_, a, b, c, d, e, f) do {	\
	struct kevent *kevp = (kevp_);		\
	(kevp)->ident = (a);			\
	(kevp)->filter = (b);			\
	(kevp)->flags = (c);			\
	(kevp)->fflags = (d);			\
	(kevp)->data = (e);			\
	(kevp)->udata = (f);			\
} while (0)

struct kevent {
	uintptr_t	ident;
	short		filter;
	u_short		flags;
	u_int		fflags;
	intptr_t	data;
	void		*udata;
};

#define EV_ADD		0x0001
#define EV_DELETE	0x0002
#define EV_ENABLE	0x0004
#define EV_DISABLE	0x0008
#define EV_ONESHOT	0x0010
#define EV_CLEAR	0x0020
#define EV_RECEIPT	0x0040
#define EV_DISPATCH	0x0080
#define EV_SYSFLAGS	0xF800
#define EV_FLAG1	0x2000
#define EV_HUP		0x0800
#define EV_EOF		0x8000
#define EV_ERROR	0x4000
#define EV_NODATA	0x1000
#define NOTE_LOWAT	0x0001
#define NOTE_OOB	0x0002

struct knote;
SLIST_HEAD(klist, knote);

struct kqinfo {
	struct klist	ki_note;
};

#define FILTEROP_ISFD	0x0001
#define FILTEROP_MPSAFE	0x0002

struct filterops {
	u_short	f_flags;
	int	(*f_attach)(struct knote *kn);
	void	(*f_detach)(struct knote *kn);
	int	(*f_event)(struct knote *kn, long hint);
};

struct kqueue;
struct file;
struct proc;

struct knote {
	SLIST_ENTRY(knote)	kn_link;	/* kpi: per-file list */
	TAILQ_ENTRY(knote)	kn_kqlink;	/* kpi: per-kqueue list */
	SLIST_ENTRY(knote)	kn_next;	/* for struct kqinfo */
	TAILQ_ENTRY(knote)	kn_tqe;
	struct kqueue		*kn_kq;
	struct kevent		kn_kevent;
	int			kn_status;
	int			kn_sfflags;
	intptr_t		kn_sdata;
	union {
		struct file	*p_fp;
		struct proc	*p_proc;
		int		hookid;
	} kn_ptr;
	struct filterops	*kn_fop;
	caddr_t			kn_hook;
};

#define KN_ACTIVE	0x0001
#define KN_QUEUED	0x0002
#define KN_DISABLED	0x0004
#define KN_DETACHED	0x0008
#define KN_REPROCESS	0x0010
#define KN_DELETING	0x0020
#define KN_PROCESSING	0x0040
#define KN_WAITING	0x0080
#define KN_DELETED	0x0100	/* kpi: detached because the file closed */

#define kn_id		kn_kevent.ident
#define kn_filter	kn_kevent.filter
#define kn_flags	kn_kevent.flags
#define kn_fflags	kn_kevent.fflags
#define kn_data		kn_kevent.data
#define kn_fp		kn_ptr.p_fp

#define KNOTE(list, hint)	knote(list, hint)

void	knote(struct klist *, long);
void	knote_insert(struct klist *, struct knote *);
void	knote_remove(struct klist *, struct knote *);
void	knote_assume_knotes(struct kqinfo *, struct kqinfo *,
	    struct filterops *, void *);
int	filt_seltrue(struct knote *, long);
#endif
