/*
 * net_bpf.c - bpf taps and listeners for the kpi.
 *
 * bpfattach() records the interface's link type; a listener opened with
 * kpi_bpf_open() sets ifp->if_bpf (as DragonFly does while any listener
 * is attached) and records a copy of every packet a tap delivers, link
 * header included.  Writing to a listener is a bpf write: the packet goes
 * to if_output() with an AF_UNSPEC destination, as bpfwrite() on a
 * DLT_NULL interface sends it.
 */
#include "kpi_kern.h"
#include <sys/mbuf.h>
#include <sys/uio.h>
#include <sys/vnode.h>
#include <sys/event.h>
#include <sys/spinlock2.h>
#include <sys/socket.h>
#include <net/if.h>
#include <net/if_var.h>
#include <net/bpf.h>

MALLOC_DEFINE(M_BPF, "BPF", "BPF data");

#define BPF_MAXQUEUE	4096	/* packets kept per listener */

struct bpf_pkt {
	TAILQ_ENTRY(bpf_pkt) link;
	int		len;
	u_char		data[];
};

struct bpf_d;

struct bpf_if {
	LIST_ENTRY(bpf_if) bif_next;
	struct ifnet	*bif_ifp;
	struct bpf_if	**bif_driverp;
	u_int		bif_dlt;
	u_int		bif_hdrlen;
	LIST_HEAD(, bpf_d) bif_dlist;
};

struct bpf_d {
	LIST_ENTRY(bpf_d) bd_next;
	struct bpf_if	*bd_bif;	/* NULL once the interface left */
	TAILQ_HEAD(, bpf_pkt) bd_queue;
	int		bd_qlen;
	long		bd_drops;
	struct kqinfo	bd_kq;
};

static LIST_HEAD(, bpf_if) bpf_iflist = LIST_HEAD_INITIALIZER(bpf_iflist);
static struct lwkt_token bpf_token = LWKT_TOKEN_INITIALIZER(bpf_token);
static struct spinlock bpf_qspin = SPINLOCK_INITIALIZER(bpf_qspin, "bpfq");

void
bpf_gettoken(void)
{
	lwkt_gettoken(&bpf_token);
}

void
bpf_reltoken(void)
{
	lwkt_reltoken(&bpf_token);
}

void
bpfattach_dlt(struct ifnet *ifp, u_int dlt, u_int hdrlen,
    struct bpf_if **driverp)
{
	struct bpf_if *bp;

	bp = kmalloc(sizeof(*bp), M_BPF, M_WAITOK | M_ZERO);
	bp->bif_ifp = ifp;
	bp->bif_dlt = dlt;
	bp->bif_hdrlen = hdrlen;
	bp->bif_driverp = driverp;
	LIST_INIT(&bp->bif_dlist);
	*driverp = NULL;
	lwkt_gettoken(&bpf_token);
	LIST_INSERT_HEAD(&bpf_iflist, bp, bif_next);
	lwkt_reltoken(&bpf_token);
}

void
bpfattach(struct ifnet *ifp, u_int dlt, u_int hdrlen)
{
	bpfattach_dlt(ifp, dlt, hdrlen, &ifp->if_bpf);
}

static void
bpf_detachd(struct bpf_d *d)
{
	struct bpf_if *bp = d->bd_bif;

	LIST_REMOVE(d, bd_next);
	d->bd_bif = NULL;
	if (LIST_EMPTY(&bp->bif_dlist))
		*bp->bif_driverp = NULL;
	KNOTE(&d->bd_kq.ki_note, 0);
	wakeup(d);
}

void
bpfdetach(struct ifnet *ifp)
{
	struct bpf_if *bp, *nbp;
	struct bpf_d *d;

	lwkt_gettoken(&bpf_token);
	LIST_FOREACH_MUTABLE(bp, &bpf_iflist, bif_next, nbp) {
		if (bp->bif_ifp != ifp)
			continue;
		while ((d = LIST_FIRST(&bp->bif_dlist)) != NULL)
			bpf_detachd(d);
		LIST_REMOVE(bp, bif_next);
		kfree(bp, M_BPF);
	}
	lwkt_reltoken(&bpf_token);
}

/* if_detach() without bpfdetach(): drop the listeners, keep no pointers */
void
kpi_bpf_ifdetach(struct ifnet *ifp)
{
	struct bpf_if *bp;

	lwkt_gettoken(&bpf_token);
	LIST_FOREACH(bp, &bpf_iflist, bif_next) {
		if (bp->bif_ifp == ifp) {
			kprintf("kpi: %s detached with bpf still attached "
			    "(missing bpfdetach)\n", ifp->if_xname);
			break;
		}
	}
	lwkt_reltoken(&bpf_token);
}

int
kpi_bpf_listeners(struct ifnet *ifp)
{
	struct bpf_if *bp;
	struct bpf_d *d;
	int n = 0;

	LIST_FOREACH(bp, &bpf_iflist, bif_next) {
		if (bp->bif_ifp != ifp)
			continue;
		LIST_FOREACH(d, &bp->bif_dlist, bd_next)
			n++;
	}
	return n;
}

static void	bpf_deliver_locked(struct bpf_if *, const void *, u_int,
		    const struct mbuf *, const u_char *, u_int);

/*
 * Every tap takes the bpf token itself, as DragonFly's net/bpf.c
 * bpf_mtap() does (2010 and 2020 alike; bpf_ptap, bpf_mtap_hdr and
 * bpf_mtap_family go through it).  Tokens recurse, so a caller that took
 * it to look at if_bpf (2018 on) is fine; the 2008 and 2010 drivers call
 * the taps without it.
 */
static void
bpf_deliver(struct bpf_if *bp, const void *hdr, u_int hlen,
    const struct mbuf *m, const u_char *pkt, u_int plen)
{
	lwkt_gettoken(&bpf_token);
	bpf_deliver_locked(bp, hdr, hlen, m, pkt, plen);
	lwkt_reltoken(&bpf_token);
}

static void
bpf_deliver_locked(struct bpf_if *bp, const void *hdr, u_int hlen,
    const struct mbuf *m, const u_char *pkt, u_int plen)
{
	struct bpf_d *d;
	struct bpf_pkt *p;
	u_int len = hlen;
	const struct mbuf *n;

	if (bp == NULL)
		return;
	if (m != NULL) {
		for (n = m; n != NULL; n = n->m_next)
			len += n->m_len;
	} else {
		len += plen;
	}
	KPI_STAT_ADD(KS_BPF_TAPS, 1);
	LIST_FOREACH(d, &bp->bif_dlist, bd_next) {
		u_char *dst;

		p = kmalloc(sizeof(*p) + len, M_BPF, M_WAITOK);
		p->len = (int)len;
		dst = p->data;
		if (hlen) {
			memcpy(dst, hdr, hlen);
			dst += hlen;
		}
		if (m != NULL) {
			for (n = m; n != NULL; n = n->m_next) {
				if (n->m_len < 0)
					panic("bpf: mbuf with negative length "
					    "%d", n->m_len);
				memcpy(dst, mtod(n, const u_char *), n->m_len);
				dst += n->m_len;
			}
		} else if (plen) {
			memcpy(dst, pkt, plen);
		}
		spin_lock(&bpf_qspin);
		if (d->bd_qlen >= BPF_MAXQUEUE) {
			d->bd_drops++;
			spin_unlock(&bpf_qspin);
			kfree(p, M_BPF);
			continue;
		}
		TAILQ_INSERT_TAIL(&d->bd_queue, p, link);
		d->bd_qlen++;
		spin_unlock(&bpf_qspin);
		KNOTE(&d->bd_kq.ki_note, 0);
		wakeup(d);
	}
}

void
bpf_mtap(struct bpf_if *bp, struct mbuf *m)
{
	bpf_deliver(bp, NULL, 0, m, NULL, 0);
}

void
bpf_ptap(struct bpf_if *bp, struct mbuf *m, const void *data, u_int dlen)
{
	bpf_deliver(bp, data, dlen, m, NULL, 0);
}

void
bpf_mtap_hdr(struct bpf_if *bp, caddr_t data, u_int dlen, struct mbuf *m,
    u_int direction __unused)
{
	bpf_deliver(bp, data, dlen, m, NULL, 0);
}

void
bpf_mtap_family(struct bpf_if *bp, struct mbuf *m, uint8_t family)
{
	u_int af = family;

	bpf_deliver(bp, &af, sizeof(af), m, NULL, 0);
}

void
bpf_tap(struct bpf_if *bp, u_char *pkt, u_int pktlen)
{
	bpf_deliver(bp, NULL, 0, NULL, pkt, pktlen);
}

/* ---- listener files ---- */

static int
bpfile_read(struct file *fp, struct uio *uio, int ioflag)
{
	struct bpf_d *d = fp->f_data;
	struct bpf_pkt *p;
	int error;

	for (;;) {
		tsleep_interlock(d, PCATCH);
		spin_lock(&bpf_qspin);
		p = TAILQ_FIRST(&d->bd_queue);
		if (p != NULL) {
			TAILQ_REMOVE(&d->bd_queue, p, link);
			d->bd_qlen--;
		}
		spin_unlock(&bpf_qspin);
		if (p != NULL)
			break;
		if (d->bd_bif == NULL) {
			tsleep_remove(curthread);
			return ENXIO;
		}
		if (ioflag & IO_NDELAY) {
			tsleep_remove(curthread);
			return EWOULDBLOCK;
		}
		error = tsleep(d, PCATCH | PINTERLOCKED, "bpf", 0);
		if (error)
			return error;
	}
	tsleep_remove(curthread);
	error = uiomove((caddr_t)p->data, szmin((size_t)p->len,
	    uio->uio_resid), uio);
	kfree(p, M_BPF);
	return error;
}

static int
bpfile_write(struct file *fp, struct uio *uio, int ioflag __unused)
{
	struct bpf_d *d = fp->f_data;
	struct ifnet *ifp;
	struct sockaddr dst;
	struct mbuf *m;
	size_t len;
	int error;

	lwkt_gettoken(&bpf_token);
	if (d->bd_bif == NULL) {
		lwkt_reltoken(&bpf_token);
		return ENXIO;
	}
	ifp = d->bd_bif->bif_ifp;
	len = uio->uio_resid;
	if (len == 0) {
		lwkt_reltoken(&bpf_token);
		return 0;
	}
	/* bpf_movein() for DLT_NULL: no link header is stripped */
	if (len > MCLBYTES) {
		lwkt_reltoken(&bpf_token);
		return EIO;
	}
	m = m_getl((int)len, M_WAITOK, MT_DATA, M_PKTHDR, NULL);
	if (m == NULL) {		/* as bpf_movein(): M_WAITOK can fail */
		lwkt_reltoken(&bpf_token);
		return ENOBUFS;
	}
	m->m_pkthdr.len = m->m_len = (int)len;
	m->m_pkthdr.rcvif = NULL;
	error = uiomove(mtod(m, caddr_t), len, uio);
	if (error) {
		m_freem(m);
		lwkt_reltoken(&bpf_token);
		return error;
	}
	if (len > ifp->if_mtu) {
		m_freem(m);
		lwkt_reltoken(&bpf_token);
		return EMSGSIZE;
	}
	memset(&dst, 0, sizeof(dst));
	dst.sa_len = sizeof(dst);
	dst.sa_family = AF_UNSPEC;
	error = ifp->if_output(ifp, m, &dst, NULL);
	lwkt_reltoken(&bpf_token);
	return error;
}

static void
bpf_filter_detach(struct knote *kn)
{
	struct bpf_d *d = (struct bpf_d *)kn->kn_hook;

	lwkt_gettoken(&bpf_token);
	knote_remove(&d->bd_kq.ki_note, kn);
	lwkt_reltoken(&bpf_token);
}

static int
bpf_filter_read(struct knote *kn, long hint __unused)
{
	struct bpf_d *d = (struct bpf_d *)kn->kn_hook;

	if (d->bd_bif == NULL) {
		kn->kn_flags |= EV_EOF;
		return 1;
	}
	kn->kn_data = d->bd_qlen;
	return d->bd_qlen > 0;
}

static struct filterops bpf_read_filtops = {
	FILTEROP_ISFD, NULL, bpf_filter_detach, bpf_filter_read
};

static int
bpfile_kqfilter(struct file *fp, struct knote *kn)
{
	struct bpf_d *d = fp->f_data;

	if (kn->kn_filter != EVFILT_READ)
		return EOPNOTSUPP;
	kn->kn_fop = &bpf_read_filtops;
	kn->kn_hook = (caddr_t)d;
	lwkt_gettoken(&bpf_token);
	knote_insert(&d->bd_kq.ki_note, kn);
	lwkt_reltoken(&bpf_token);
	return 0;
}

static int
bpfile_close(struct file *fp)
{
	struct bpf_d *d = fp->f_data;
	struct bpf_pkt *p;

	lwkt_gettoken(&bpf_token);
	if (d->bd_bif != NULL)
		bpf_detachd(d);
	lwkt_reltoken(&bpf_token);
	while ((p = TAILQ_FIRST(&d->bd_queue)) != NULL) {
		TAILQ_REMOVE(&d->bd_queue, p, link);
		kfree(p, M_BPF);
	}
	kfree(d, M_BPF);
	return 0;
}

static const struct fileops_kpi bpfile_ops = {
	bpfile_read, bpfile_write, NULL, bpfile_kqfilter, bpfile_close
};

int
kpik_bpf_open(const char *ifname, int *fdp)
{
	struct bpf_if *bp;
	struct bpf_d *d;
	int error;

	d = kmalloc(sizeof(*d), M_BPF, M_WAITOK | M_ZERO);
	TAILQ_INIT(&d->bd_queue);
	SLIST_INIT(&d->bd_kq.ki_note);
	lwkt_gettoken(&bpf_token);
	LIST_FOREACH(bp, &bpf_iflist, bif_next) {
		if (strcmp(bp->bif_ifp->if_xname, ifname) == 0)
			break;
	}
	if (bp == NULL) {
		lwkt_reltoken(&bpf_token);
		kfree(d, M_BPF);
		return ENXIO;
	}
	d->bd_bif = bp;
	LIST_INSERT_HEAD(&bp->bif_dlist, d, bd_next);
	*bp->bif_driverp = bp;
	lwkt_reltoken(&bpf_token);
	error = kpi_falloc(DTYPE_KPI_BPF, d, &bpfile_ops,
	    FREAD | FWRITE | FNONBLOCK, fdp, NULL);
	if (error) {
		lwkt_gettoken(&bpf_token);
		bpf_detachd(d);
		lwkt_reltoken(&bpf_token);
		kfree(d, M_BPF);
	}
	return error;
}
