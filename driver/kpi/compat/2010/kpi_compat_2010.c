/*
 * kpi_compat_2010.c - the kernel interfaces of 2009-2017 that changed
 * later, for a driver compiled with compat/2010/kpi_era.h (which maps the
 * old names onto these).  Kernel half: compiled like the kpi, with today's
 * headers; see driver/kpi/README.md for the DragonFly commits modelled.
 */
#include "kpi_kern.h"
#include <sys/filedesc.h>
#include <sys/serialize.h>
#include <net/if.h>
#include <net/if_var.h>
#include <net/ifq_var.h>
#include "../kpi_compat.h"

/* fgetown(struct sigio *): the owner of the sigio the pointer names */
pid_t
kpi_compat_fgetown(struct sigio *sigio)
{
	struct sigio *cur = sigio;

	return (fgetown(&cur));
}

/*
 * funsetown(struct sigio *): free it and clear the driver's pointer to it,
 * which the sigio records (sio_myref) since fsetown().
 */
void
kpi_compat_funsetown(struct sigio *sigio)
{
	if (sigio == NULL)
		return;
	funsetown(sigio->sio_myref);
}

/* the one-argument if_start the driver set, called as today's */
static void
kpi_compat_if_start(struct ifnet *ifp, struct ifaltq_subque *ifsq __unused)
{
	ifp->if_kpi_start1(ifp);
}

void
kpi_compat_if_attach(struct ifnet *ifp, struct lwkt_serialize *slz)
{
	if (ifp->if_kpi_start1 != NULL)
		ifp->if_start = kpi_compat_if_start;
	if_attach(ifp, slz);
}

/* ifq_set_maxlen(): exactly that many packets */
void
kpi_compat_ifq_set_maxlen(struct ifaltq *ifq, int len)
{
	ifq->altq_maxlen = len;
}

/*
 * ifq_handoff(): a full queue refuses the packet (ENOBUFS, the packet
 * freed, nothing counted: the driver counts), else it is queued, its bytes
 * counted and if_start called, as the classic queue of the time did.
 */
int
kpi_compat_ifq_handoff(struct ifnet *ifp, struct mbuf *m,
    struct altq_pktattr *pa)
{
	struct ifaltq_subque *ifsq = ifq_get_subq_default(&ifp->if_snd);
	int len = m->m_pkthdr.len, mcast = (m->m_flags & M_MCAST) != 0;
	int error;

	ASSERT_ALTQ_SQ_SERIALIZED_HW(ifsq);
	ALTQ_SQ_LOCK(ifsq);
	if (ifsq->ifsq_len >= ifsq->ifsq_maxlen) {
		ALTQ_SQ_UNLOCK(ifsq);
		m_freem(m);
		return (ENOBUFS);
	}
	error = ifsq_enqueue_locked(ifsq, m, pa);
	ALTQ_SQ_UNLOCK(ifsq);
	if (error)
		return (error);
	IFNET_STAT_INC(ifp, obytes, len);
	if (mcast)
		IFNET_STAT_INC(ifp, omcasts, 1);
	if (!ifsq_is_oactive(ifsq))
		(*ifp->if_start)(ifp, ifsq);
	return (0);
}

/* ifq_dequeue(ifq, mpolled): mpolled, if given, is what comes out */
struct mbuf *
kpi_compat_ifq_dequeue(struct ifaltq *ifq, struct mbuf *mpolled)
{
	struct mbuf *m;

	m = ifq_dequeue(ifq);
	KASSERT(mpolled == NULL || m == mpolled,
	    ("ifq_dequeue: polled %p, dequeued %p", mpolled, m));
	return (m);
}

struct mbuf *
kpi_compat_ifq_poll(struct ifaltq *ifq)
{
	return (ifsq_poll(ifq_get_subq_default(ifq)));
}

/* IF_DROP(&ifp->if_snd): the queue's drop count, today's oqdrops */
void
kpi_compat_ifq_drop(struct ifaltq *ifq)
{
	if (ifq->altq_ifp != NULL)
		IFNET_STAT_INC(ifq->altq_ifp, oqdrops, 1);
}

/* ifnet_serialize_tx(ifp): the serializer of the one transmit queue */
void
kpi_compat_ifnet_serialize_tx(struct ifnet *ifp)
{
	ifsq_serialize_hw(ifq_get_subq_default(&ifp->if_snd));
}

void
kpi_compat_ifnet_deserialize_tx(struct ifnet *ifp)
{
	ifsq_deserialize_hw(ifq_get_subq_default(&ifp->if_snd));
}
