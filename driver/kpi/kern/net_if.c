/*
 * net_if.c - the generic interface layer of the kpi: ifnet attach/detach,
 * the classic send queue, interface groups, interface cloning, interface
 * addresses, and the socket ioctls that configure interfaces (ifioctl,
 * in_control, in6_control).
 *
 * Behaviour follows DragonFly where a driver can see it: the queue limit
 * ifq_set_maxlen() really sets (len + ncpus * 16), ifq_handoff() and the
 * classic queue drop and count as DragonFly's do, if_clone's unit bitmap
 * and its EEXIST/ENXIO/ENOSPC answers are those of DragonFly 6.x, ioctls
 * reach if_ioctl with the ifnet serializer held and the ifnet lock taken,
 * and the SIOCSIFADDR/SIOCSIFDSTADDR the driver sees carry an in_ifaddr,
 * not an ifreq, as in_ifinit() passes them.
 */
#include "kpi_kern.h"
#include <sys/socket.h>
#include <sys/sockio.h>
#include <sys/mutex2.h>
#include <sys/lock.h>
#include <sys/spinlock2.h>
#include <sys/priv.h>
#include <sys/mbuf.h>
#include <net/if.h>
#include <net/if_var.h>
#include <net/if_dl.h>
#include <net/if_clone.h>
#include <net/ifq_var.h>
#include <net/route.h>
#include <netinet/in.h>
#include <netinet/in_var.h>
#include <netinet6/in6_var.h>

#define IFQ_MAXLEN		250
#define IFSQ_STAGE_CNTMAX	16	/* DragonFly's ifsq_stage_cntmax */
#define IFG_ALL			"all"

MALLOC_DEFINE(M_CLONE, "clone", "interface cloning framework");

int ifqmaxlen = IFQ_MAXLEN;
int if_index;
int netisr_ncpus = 1;

static TAILQ_HEAD(, ifnet) ifnetlist = TAILQ_HEAD_INITIALIZER(ifnetlist);
static struct mtx ifnet_mtx;
static struct lock ifgroup_lock;
static TAILQ_HEAD(, ifg_group) ifg_head = TAILQ_HEAD_INITIALIZER(ifg_head);
static LIST_HEAD(, if_clone) if_cloners = LIST_HEAD_INITIALIZER(if_cloners);
static int if_cloners_count;
static TAILQ_HEAD(, in_ifaddr) in_ifaddrs = TAILQ_HEAD_INITIALIZER(in_ifaddrs);
static TAILQ_HEAD(, in6_ifaddr) in6_ifaddrs =
    TAILQ_HEAD_INITIALIZER(in6_ifaddrs);
static int kpi_net_inited;
static struct spinlock kpi_inaddr_spin = SPINLOCK_INITIALIZER(kpi_inaddr_spin,
    "inaddr");

/* the address lists: changed with the ifnet lock and this spinlock held */
void
kpi_inaddr_lock(void)
{
	spin_lock(&kpi_inaddr_spin);
}

void
kpi_inaddr_unlock(void)
{
	spin_unlock(&kpi_inaddr_spin);
}

void
kpi_net_init(void)
{
	if (!kpi_net_inited) {
		mtx_init(&ifnet_mtx, "ifnet");
		lockinit(&ifgroup_lock, "ifgroup", 0, 0);
		kpi_net_inited = 1;
	}
	netisr_ncpus = ncpus;
}

void
kpi_net_fini(void)
{
	struct ifnet *ifp;

	TAILQ_FOREACH(ifp, &ifnetlist, if_link)
		kprintf("kpi: interface %s still attached at halt\n",
		    ifp->if_xname);
	if (if_cloners_count != 0)
		kprintf("kpi: %d interface cloner(s) still attached at halt\n",
		    if_cloners_count);
}

void
ifnet_lock(void)
{
	mtx_lock(&ifnet_mtx);
}

void
ifnet_unlock(void)
{
	mtx_unlock(&ifnet_mtx);
}

struct ifnet *
ifunit(const char *name)
{
	struct ifnet *ifp;

	KASSERT(mtx_owned(&ifnet_mtx), ("ifnet is not locked"));
	TAILQ_FOREACH(ifp, &ifnetlist, if_link) {
		if (strncmp(ifp->if_xname, name, IFNAMSIZ) == 0)
			break;
	}
	return ifp;
}

struct ifnet *
ifunit_netisr(const char *name)
{
	struct ifnet *ifp;

	ifnet_lock();
	ifp = ifunit(name);
	ifnet_unlock();
	return ifp;
}

long
kpi_ifnet_count(void)
{
	return KPI_STAT_GET(KS_IFNETS);
}

/* ---- default serializer ---- */

static void
if_default_serialize(struct ifnet *ifp, enum ifnet_serialize slz __unused)
{
	lwkt_serialize_enter(ifp->if_serializer);
}

static void
if_default_deserialize(struct ifnet *ifp, enum ifnet_serialize slz __unused)
{
	lwkt_serialize_exit(ifp->if_serializer);
}

static int
if_default_tryserialize(struct ifnet *ifp, enum ifnet_serialize slz __unused)
{
	return lwkt_serialize_try(ifp->if_serializer);
}

static void
if_default_serialize_assert(struct ifnet *ifp,
    enum ifnet_serialize slz __unused, boolean_t serialized)
{
	if (serialized)
		ASSERT_SERIALIZED(ifp->if_serializer);
	else
		ASSERT_NOT_SERIALIZED(ifp->if_serializer);
}

/* ---- the classic send queue ---- */

static void
ifsq_norm_enqueue(struct ifaltq_subque *ifsq, struct mbuf *m)
{
	m->m_nextpkt = NULL;
	if (ifsq->ifsq_norm.clq_tail == NULL)
		ifsq->ifsq_norm.clq_head = m;
	else
		ifsq->ifsq_norm.clq_tail->m_nextpkt = m;
	ifsq->ifsq_norm.clq_tail = m;
	ALTQ_SQ_CNTR_INC(ifsq, m->m_pkthdr.len);
}

static void
ifsq_prio_enqueue(struct ifaltq_subque *ifsq, struct mbuf *m)
{
	m->m_nextpkt = NULL;
	if (ifsq->ifsq_prio.clq_tail == NULL)
		ifsq->ifsq_prio.clq_head = m;
	else
		ifsq->ifsq_prio.clq_tail->m_nextpkt = m;
	ifsq->ifsq_prio.clq_tail = m;
	ALTQ_SQ_CNTR_INC(ifsq, m->m_pkthdr.len);
	ifsq->ifsq_prio_len++;
	ifsq->ifsq_prio_bcnt += m->m_pkthdr.len;
}

static struct mbuf *
ifsq_classq_dequeue(struct ifaltq_subque *ifsq, struct if_classq *q, int prio)
{
	struct mbuf *m = q->clq_head;

	if (m != NULL) {
		if ((q->clq_head = m->m_nextpkt) == NULL)
			q->clq_tail = NULL;
		m->m_nextpkt = NULL;
		ALTQ_SQ_CNTR_DEC(ifsq, m->m_pkthdr.len);
		if (prio) {
			ifsq->ifsq_prio_len--;
			ifsq->ifsq_prio_bcnt -= m->m_pkthdr.len;
		}
	}
	return m;
}

/* a full queue drops its oldest normal packet for the new one */
int
ifsq_classic_enqueue(struct ifaltq_subque *ifsq, struct mbuf *m,
    struct altq_pktattr *pa __unused)
{
	M_ASSERTPKTHDR(m);
again:
	if (ifsq->ifsq_len >= ifsq->ifsq_maxlen ||
	    ifsq->ifsq_bcnt >= ifsq->ifsq_maxbcnt) {
		struct mbuf *m_drop;

		if (m->m_flags & M_PRIO) {
			m_drop = NULL;
			if (ifsq->ifsq_prio_len < (ifsq->ifsq_maxlen >> 1) &&
			    ifsq->ifsq_prio_bcnt < (ifsq->ifsq_maxbcnt >> 1))
				m_drop = ifsq_classq_dequeue(ifsq,
				    &ifsq->ifsq_norm, 0);
			if (m_drop == NULL)
				m_drop = ifsq_classq_dequeue(ifsq,
				    &ifsq->ifsq_prio, 1);
		} else {
			m_drop = ifsq_classq_dequeue(ifsq, &ifsq->ifsq_norm, 0);
		}
		if (m_drop != NULL) {
			IFNET_STAT_INC(ifsq->ifsq_ifp, oqdrops, 1);
			m_freem(m_drop);
			goto again;
		}
		m_freem(m);
		return ENOBUFS;
	}
	if (m->m_flags & M_PRIO)
		ifsq_prio_enqueue(ifsq, m);
	else
		ifsq_norm_enqueue(ifsq, m);
	return 0;
}

struct mbuf *
ifsq_classic_dequeue(struct ifaltq_subque *ifsq, int op)
{
	struct mbuf *m;

	switch (op) {
	case ALTDQ_POLL:
		m = ifsq->ifsq_prio.clq_head;
		if (m == NULL)
			m = ifsq->ifsq_norm.clq_head;
		break;
	case ALTDQ_REMOVE:
		m = ifsq_classq_dequeue(ifsq, &ifsq->ifsq_prio, 1);
		if (m == NULL)
			m = ifsq_classq_dequeue(ifsq, &ifsq->ifsq_norm, 0);
		break;
	default:
		panic("unsupported ALTQ dequeue op: %d", op);
	}
	return m;
}

int
ifsq_classic_request(struct ifaltq_subque *ifsq, int req, void *arg __unused)
{
	struct mbuf *m;

	switch (req) {
	case ALTRQ_PURGE:
		for (;;) {
			m = ifsq_classic_dequeue(ifsq, ALTDQ_REMOVE);
			if (m == NULL)
				break;
			m_freem(m);
		}
		break;
	default:
		panic("unsupported ALTQ request: %d", req);
	}
	return 0;
}

void
ifq_set_classic(struct ifaltq *ifq)
{
	int q;

	for (q = 0; q < ifq->altq_subq_cnt; ++q) {
		struct ifaltq_subque *ifsq = &ifq->altq_subq[q];

		ifsq->ifsq_enqueue = ifsq_classic_enqueue;
		ifsq->ifsq_dequeue = ifsq_classic_dequeue;
		ifsq->ifsq_request = ifsq_classic_request;
	}
}

/* as DragonFly: room for the per-cpu staging of netisr output as well */
void
ifq_set_maxlen(struct ifaltq *ifq, int len)
{
	ifq->altq_maxlen = len + (ncpus * IFSQ_STAGE_CNTMAX);
}

int
ifq_mapsubq_default(struct ifaltq *ifq __unused, int cpuid __unused)
{
	return ALTQ_SUBQ_INDEX_DEFAULT;
}

void
ifsq_devstart(struct ifaltq_subque *ifsq)
{
	struct ifnet *ifp = ifsq_get_ifp(ifsq);

	ifsq_serialize_hw(ifsq);
	if (!ifsq_is_oactive(ifsq) && !ifsq_is_empty(ifsq))
		ifp->if_start(ifp, ifsq);
	ifsq_deserialize_hw(ifsq);
}

void
ifsq_devstart_sched(struct ifaltq_subque *ifsq)
{
	ifsq_devstart(ifsq);
}

void
if_devstart(struct ifnet *ifp)
{
	ifsq_devstart(ifq_get_subq_default(&ifp->if_snd));
}

int
ifq_dispatch(struct ifnet *ifp, struct mbuf *m, struct altq_pktattr *pa)
{
	struct ifaltq_subque *ifsq = ifq_get_subq_default(&ifp->if_snd);
	int error, len = m->m_pkthdr.len, mcast = m->m_flags & M_MCAST;

	error = ifsq_enqueue(ifsq, m, pa);
	if (error) {
		IFNET_STAT_INC(ifp, oqdrops, 1);
		return error;
	}
	IFNET_STAT_INC(ifp, obytes, len);
	if (mcast)
		IFNET_STAT_INC(ifp, omcasts, 1);
	ifsq_devstart(ifsq);
	return 0;
}

/* ---- interface addresses ---- */

void *
ifa_create(int size)
{
	struct ifaddr *ifa;
	int i;

	KASSERT(size >= (int)sizeof(*ifa), ("ifaddr size too small"));
	ifa = kmalloc(size, M_IFADDR, M_WAITOK | M_ZERO);
	ifa->ifa_containers = kmalloc(ncpus * sizeof(struct ifaddr_container),
	    M_IFADDR, M_WAITOK | M_ZERO);
	ifa->ifa_ncnt = ncpus;
	for (i = 0; i < ncpus; ++i) {
		struct ifaddr_container *ifac = &ifa->ifa_containers[i];

		ifac->ifa_magic = IFA_CONTAINER_MAGIC;
		ifac->ifa = ifa;
		ifac->ifa_refcnt = 1;
	}
	return ifa;
}

void
ifa_destroy(struct ifaddr *ifa)
{
	kfree(ifa->ifa_containers, M_IFADDR);
	kfree(ifa, M_IFADDR);
}

void
ifac_free(struct ifaddr_container *ifac __unused, int cpu_id __unused)
{
}

void
ifa_iflink(struct ifaddr *ifa, struct ifnet *ifp, int tail)
{
	int i;

	ifa->ifa_ifp = ifp;
	for (i = 0; i < ncpus; ++i) {
		struct ifaddr_container *ifac = &ifa->ifa_containers[i];

		if (tail)
			TAILQ_INSERT_TAIL(&ifp->if_addrheads[i], ifac, ifa_link);
		else
			TAILQ_INSERT_HEAD(&ifp->if_addrheads[i], ifac, ifa_link);
		ifac->ifa_listmask |= IFA_LIST_IFADDRHEAD;
	}
}

void
ifa_ifunlink(struct ifaddr *ifa, struct ifnet *ifp)
{
	int i;

	for (i = 0; i < ncpus; ++i) {
		struct ifaddr_container *ifac = &ifa->ifa_containers[i];

		if (ifac->ifa_listmask & IFA_LIST_IFADDRHEAD) {
			TAILQ_REMOVE(&ifp->if_addrheads[i], ifac, ifa_link);
			ifac->ifa_listmask &= ~IFA_LIST_IFADDRHEAD;
		}
	}
}

struct kpi_lladdr {
	struct ifaddr		ifa;
	struct sockaddr_dl	addr;
	struct sockaddr_dl	mask;
};

static void
if_make_lladdr(struct ifnet *ifp)
{
	struct kpi_lladdr *ll;
	int namelen = (int)strlen(ifp->if_xname), i;

	ll = (struct kpi_lladdr *)ifa_create(sizeof(*ll));
	ll->addr.sdl_len = sizeof(ll->addr);
	ll->addr.sdl_family = AF_LINK;
	ll->addr.sdl_type = ifp->if_type;
	ll->addr.sdl_nlen = namelen;
	bcopy(ifp->if_xname, ll->addr.sdl_data, namelen);
	ll->mask.sdl_len = sizeof(ll->mask);
	for (i = 0; i < namelen; ++i)
		ll->mask.sdl_data[i] = (char)0xff;
	ll->ifa.ifa_addr = (struct sockaddr *)&ll->addr;
	ll->ifa.ifa_netmask = (struct sockaddr *)&ll->mask;
	ifa_iflink(&ll->ifa, ifp, 1);
	ifp->if_lladdr = &ll->ifa;
}

int
if_setlladdr(struct ifnet *ifp __unused, const u_char *lladdr __unused,
    int len __unused)
{
	return ENODEV;
}

/* ---- attach / detach ---- */

struct ifnet *
if_alloc(uint8_t type)
{
	struct ifnet *ifp = kmalloc(sizeof(*ifp), M_IFNET, M_WAITOK | M_ZERO);

	ifp->if_type = type;
	return ifp;
}

void
if_free(struct ifnet *ifp)
{
	kfree(ifp, M_IFNET);
}

void
if_initname(struct ifnet *ifp, const char *name, int unit)
{
	ifp->if_dname = name;
	ifp->if_dunit = unit;
	if (unit != IF_DUNIT_NONE)
		ksnprintf(ifp->if_xname, IFNAMSIZ, "%s%d", name, unit);
	else
		strlcpy(ifp->if_xname, name, IFNAMSIZ);
}

int
if_printf(struct ifnet *ifp, const char *fmt, ...)
{
	char buf[512];
	__va_list ap;
	int n;

	n = ksnprintf(buf, sizeof(buf), "%s: ", ifp->if_xname);
	__va_start(ap, fmt);
	kvsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	__va_end(ap);
	kpi_log_line(buf);
	return (int)strlen(buf);
}

void
if_attach(struct ifnet *ifp, lwkt_serialize_t serializer)
{
	struct ifaltq *ifq;
	int i, q;

	if (ifp->if_kpi_attached)
		panic("if_attach: %s already attached", ifp->if_xname);
	if (ifp->if_serialize != NULL) {
		KASSERT(ifp->if_deserialize != NULL &&
		    ifp->if_tryserialize != NULL &&
		    ifp->if_serialize_assert != NULL,
		    ("serialize functions are partially setup"));
		KASSERT(serializer == NULL,
		    ("both serialize functions and default serializer "
		    "are setup"));
		ifp->if_serializer = NULL;
	} else {
		KASSERT(ifp->if_deserialize == NULL &&
		    ifp->if_tryserialize == NULL &&
		    ifp->if_serialize_assert == NULL,
		    ("serialize functions are partially setup"));
		ifp->if_serialize = if_default_serialize;
		ifp->if_deserialize = if_default_deserialize;
		ifp->if_tryserialize = if_default_tryserialize;
		ifp->if_serialize_assert = if_default_serialize_assert;
		if (serializer == NULL) {
			serializer = &ifp->if_default_serializer;
			lwkt_serialize_init(serializer);
		}
		ifp->if_serializer = serializer;
	}

	ifp->if_addrheads = kmalloc(ncpus * sizeof(struct ifaddrhead),
	    M_IFADDR, M_WAITOK | M_ZERO);
	for (i = 0; i < ncpus; ++i)
		TAILQ_INIT(&ifp->if_addrheads[i]);
	TAILQ_INIT(&ifp->if_multiaddrs);
	TAILQ_INIT(&ifp->if_groups);
	getmicrotime(&ifp->if_lastchange);
	if_make_lladdr(ifp);

	ifp->if_data_pcpu = kmalloc(ncpus * sizeof(struct ifdata_pcpu),
	    M_DEVBUF, M_WAITOK | M_ZERO);
	if (ifp->if_mapsubq == NULL)
		ifp->if_mapsubq = ifq_mapsubq_default;

	ifq = &ifp->if_snd;
	ifq->altq_type = 0;
	ifq->altq_disc = NULL;
	ifq->altq_flags &= ALTQF_CANTCHANGE;
	ifq->altq_tbr = NULL;
	ifq->altq_ifp = ifp;
	ifq->altq_mapsubq = ifp->if_mapsubq;
	if (ifq->altq_subq_cnt <= 0)
		ifq->altq_subq_cnt = 1;
	ifq->altq_subq = kmalloc(ifq->altq_subq_cnt *
	    sizeof(struct ifaltq_subque), M_DEVBUF, M_WAITOK | M_ZERO);
	if (ifq->altq_maxlen == 0) {
		if_printf(ifp, "driver didn't set altq_maxlen\n");
		ifq_set_maxlen(ifq, ifqmaxlen);
	}
	for (q = 0; q < ifq->altq_subq_cnt; ++q) {
		struct ifaltq_subque *ifsq = &ifq->altq_subq[q];

		ALTQ_SQ_LOCK_INIT(ifsq);
		ifsq->ifsq_index = q;
		ifsq->ifsq_altq = ifq;
		ifsq->ifsq_ifp = ifp;
		ifsq->ifsq_maxlen = ifq->altq_maxlen;
		ifsq->ifsq_maxbcnt = ifsq->ifsq_maxlen * MCLBYTES;
		ifsq->ifsq_prepended = NULL;
		ifsq->ifsq_started = 0;
		ifsq->ifsq_hw_oactive = 0;
		ifsq_set_cpuid(ifsq, 0);
		if (ifp->if_serializer != NULL)
			ifsq_set_hw_serialize(ifsq, ifp->if_serializer);
	}
	ifq_set_classic(ifq);

	ifnet_lock();
	ifp->if_index = ++if_index;
	TAILQ_INSERT_TAIL(&ifnetlist, ifp, if_link);
	ifp->if_kpi_attached = 1;
	ifnet_unlock();
	KPI_STAT_ADD(KS_IFNETS, 1);

	if_addgroup(ifp, IFG_ALL);
	EVENTHANDLER_INVOKE(ifnet_attach_event, ifp);
	rt_ifannouncemsg(ifp, IFAN_ARRIVAL);
}

static int if_delgroup_locked(struct ifnet *ifp, const char *groupname);

void
if_detach(struct ifnet *ifp)
{
	struct ifg_list *ifgl;
	struct ifaddr_container *ifac;
	int q;

	if (!ifp->if_kpi_attached)
		panic("if_detach: %s not attached", ifp->if_xname);
	EVENTHANDLER_INVOKE(ifnet_detach_event, ifp);
	rt_ifannouncemsg(ifp, IFAN_DEPARTURE);

	ifnet_lock();
	TAILQ_REMOVE(&ifnetlist, ifp, if_link);
	ifp->if_kpi_attached = 0;
	ifnet_unlock();

	lockmgr(&ifgroup_lock, LK_EXCLUSIVE);
	while ((ifgl = TAILQ_FIRST(&ifp->if_groups)) != NULL)
		if_delgroup_locked(ifp, ifgl->ifgl_group->ifg_group);
	lockmgr(&ifgroup_lock, LK_RELEASE);

	if_down(ifp);
	kpi_bpf_ifdetach(ifp);

	ifp->if_lladdr = NULL;
	if_purgeaddrs_nolink(ifp);
	/* as netmsg_service_sync(): no stack path may still use ifp */
	kpi_netisr_sync();
	if ((ifac = TAILQ_FIRST(&ifp->if_addrheads[0])) != NULL) {
		struct ifaddr *ifa = ifac->ifa;

		KASSERT(ifa->ifa_addr->sa_family == AF_LINK,
		    ("non-link ifaddr is left on if_addrheads"));
		ifa_ifunlink(ifa, ifp);
		ifa_destroy(ifa);
		KASSERT(TAILQ_EMPTY(&ifp->if_addrheads[0]),
		    ("there are still ifaddrs left on if_addrheads"));
	}
	kfree(ifp->if_addrheads, M_IFADDR);
	ifp->if_addrheads = NULL;

	/* as DragonFly: the subqueues go without being drained */
	for (q = 0; q < ifp->if_snd.altq_subq_cnt; ++q) {
		struct ifaltq_subque *ifsq = &ifp->if_snd.altq_subq[q];

		if (ifsq->ifsq_len != 0)
			kprintf("kpi: if_detach: %s subqueue %d freed with "
			    "%d packet(s) on it (leaked)\n", ifp->if_xname, q,
			    ifsq->ifsq_len);
	}
	kfree(ifp->if_snd.altq_subq, M_DEVBUF);
	ifp->if_snd.altq_subq = NULL;
	kfree(ifp->if_data_pcpu, M_DEVBUF);
	ifp->if_data_pcpu = NULL;
	KPI_STAT_ADD(KS_IFNETS, -1);
}

void
if_down(struct ifnet *ifp)
{
	EVENTHANDLER_INVOKE(ifnet_event, ifp, IFNET_EVENT_DOWN);
	ifp->if_flags &= ~IFF_UP;
	getmicrotime(&ifp->if_lastchange);
	rt_ifmsg(ifp);
	ifq_purge_all(&ifp->if_snd);
}

void
if_up(struct ifnet *ifp)
{
	ifq_purge_all(&ifp->if_snd);
	ifp->if_flags |= IFF_UP;
	getmicrotime(&ifp->if_lastchange);
	rt_ifmsg(ifp);
	EVENTHANDLER_INVOKE(ifnet_event, ifp, IFNET_EVENT_UP);
}

void
if_link_state_change(struct ifnet *ifp)
{
	rt_ifmsg(ifp);
}

/* remove every address but the link-level one */
void
if_purgeaddrs_nolink(struct ifnet *ifp)
{
	kpi_in_ifdetach(ifp);
}

int
ifpromisc(struct ifnet *ifp, int pswitch)
{
	if (pswitch) {
		if (ifp->if_pcount++ == 0)
			ifp->if_flags |= IFF_PROMISC;
	} else if (ifp->if_pcount > 0 && --ifp->if_pcount == 0) {
		ifp->if_flags &= ~IFF_PROMISC;
	}
	return 0;
}

int
if_allmulti(struct ifnet *ifp, int onswitch)
{
	if (onswitch)
		ifp->if_amcount++;
	else if (ifp->if_amcount > 0)
		ifp->if_amcount--;
	return 0;
}

int
if_addmulti(struct ifnet *ifp, struct sockaddr *sa __unused,
    struct ifmultiaddr **retifma)
{
	int error = 0;

	if (retifma != NULL)
		*retifma = NULL;
	if (ifp->if_ioctl != NULL) {
		ifnet_serialize_all(ifp);
		error = ifp->if_ioctl(ifp, SIOCADDMULTI, NULL, NULL);
		ifnet_deserialize_all(ifp);
	}
	return error;
}

int
if_delmulti(struct ifnet *ifp, struct sockaddr *sa __unused)
{
	int error = 0;

	if (ifp->if_ioctl != NULL) {
		ifnet_serialize_all(ifp);
		error = ifp->if_ioctl(ifp, SIOCDELMULTI, NULL, NULL);
		ifnet_deserialize_all(ifp);
	}
	return error;
}

void
rt_ifannouncemsg(struct ifnet *ifp __unused, int what __unused)
{
}

void
rt_ifmsg(struct ifnet *ifp __unused)
{
}

/* ---- interface groups ---- */

int
if_addgroup(struct ifnet *ifp, const char *groupname)
{
	struct ifg_list *ifgl;
	struct ifg_group *ifg;
	struct ifg_member *ifgm;
	size_t len = strlen(groupname);

	if (len > 0 && groupname[len - 1] >= '0' && groupname[len - 1] <= '9')
		return EINVAL;
	lockmgr(&ifgroup_lock, LK_EXCLUSIVE);
	TAILQ_FOREACH(ifgl, &ifp->if_groups, ifgl_next) {
		if (strcmp(ifgl->ifgl_group->ifg_group, groupname) == 0) {
			lockmgr(&ifgroup_lock, LK_RELEASE);
			return EEXIST;
		}
	}
	TAILQ_FOREACH(ifg, &ifg_head, ifg_next) {
		if (strcmp(ifg->ifg_group, groupname) == 0)
			break;
	}
	if (ifg == NULL) {
		ifg = kmalloc(sizeof(*ifg), M_IFNET, M_WAITOK | M_ZERO);
		strlcpy(ifg->ifg_group, groupname, sizeof(ifg->ifg_group));
		TAILQ_INIT(&ifg->ifg_members);
		TAILQ_INSERT_TAIL(&ifg_head, ifg, ifg_next);
	}
	ifgl = kmalloc(sizeof(*ifgl), M_IFNET, M_WAITOK);
	ifgm = kmalloc(sizeof(*ifgm), M_IFNET, M_WAITOK);
	ifgl->ifgl_group = ifg;
	ifgm->ifgm_ifp = ifp;
	ifg->ifg_refcnt++;
	TAILQ_INSERT_TAIL(&ifg->ifg_members, ifgm, ifgm_next);
	TAILQ_INSERT_TAIL(&ifp->if_groups, ifgl, ifgl_next);
	lockmgr(&ifgroup_lock, LK_RELEASE);
	return 0;
}

static int
if_delgroup_locked(struct ifnet *ifp, const char *groupname)
{
	struct ifg_list *ifgl;
	struct ifg_member *ifgm;

	TAILQ_FOREACH(ifgl, &ifp->if_groups, ifgl_next) {
		if (strcmp(ifgl->ifgl_group->ifg_group, groupname) == 0)
			break;
	}
	if (ifgl == NULL)
		return ENOENT;
	TAILQ_REMOVE(&ifp->if_groups, ifgl, ifgl_next);
	TAILQ_FOREACH(ifgm, &ifgl->ifgl_group->ifg_members, ifgm_next) {
		if (ifgm->ifgm_ifp == ifp)
			break;
	}
	if (ifgm != NULL) {
		TAILQ_REMOVE(&ifgl->ifgl_group->ifg_members, ifgm, ifgm_next);
		kfree(ifgm, M_IFNET);
	}
	if (--ifgl->ifgl_group->ifg_refcnt == 0) {
		TAILQ_REMOVE(&ifg_head, ifgl->ifgl_group, ifg_next);
		kfree(ifgl->ifgl_group, M_IFNET);
	}
	kfree(ifgl, M_IFNET);
	return 0;
}

int
if_delgroup(struct ifnet *ifp, const char *groupname)
{
	int error;

	lockmgr(&ifgroup_lock, LK_EXCLUSIVE);
	error = if_delgroup_locked(ifp, groupname);
	lockmgr(&ifgroup_lock, LK_RELEASE);
	return error;
}

static int
if_getgroups(struct ifgroupreq *ifgr, struct ifnet *ifp)
{
	struct ifg_list *ifgl;
	struct ifg_req req;
	char *dst = (char *)ifgr->ifgr_groups;
	u_int len = 0;
	int error = 0;

	lockmgr(&ifgroup_lock, LK_SHARED);
	TAILQ_FOREACH(ifgl, &ifp->if_groups, ifgl_next)
		len += sizeof(struct ifg_req);
	if (ifgr->ifgr_len == 0) {
		ifgr->ifgr_len = len;
	} else if (ifgr->ifgr_len != len) {
		error = EINVAL;
	} else {
		TAILQ_FOREACH(ifgl, &ifp->if_groups, ifgl_next) {
			memset(&req, 0, sizeof(req));
			strlcpy(req.ifgrq_group, ifgl->ifgl_group->ifg_group,
			    sizeof(req.ifgrq_group));
			error = copyout(&req, dst, sizeof(req));
			if (error)
				break;
			dst += sizeof(req);
		}
	}
	lockmgr(&ifgroup_lock, LK_RELEASE);
	return error;
}

/* ---- interface cloning (DragonFly 6.x semantics) ---- */

static int
if_name2unit(const char *name, int *unit)
{
	const char *cp;
	int cutoff = INT_MAX / 10;
	int cutlim = INT_MAX % 10;

	for (cp = name; *cp != '\0' && (*cp < '0' || *cp > '9'); cp++)
		;
	if (*cp == '\0') {
		*unit = -1;
	} else if (cp[0] == '0' && cp[1] != '\0') {
		return EINVAL;	/* leading zeroes */
	} else {
		for (*unit = 0; *cp != '\0'; cp++) {
			if (*cp < '0' || *cp > '9')
				return EINVAL;
			if (*unit > cutoff ||
			    (*unit == cutoff && *cp - '0' > cutlim))
				return EINVAL;
			*unit = (*unit * 10) + (*cp - '0');
		}
	}
	return 0;
}

static bool
if_clone_match(struct if_clone *ifc, const char *name)
{
	const char *cp;
	size_t i;

	for (cp = name, i = 0; i < strlen(ifc->ifc_name); i++, cp++) {
		if (ifc->ifc_name[i] != *cp)
			return false;
	}
	for (; *cp != '\0'; cp++) {
		if (*cp < '0' || *cp > '9')
			return false;
	}
	return true;
}

static struct if_clone *
if_clone_lookup(const char *name)
{
	struct if_clone *ifc;

	LIST_FOREACH(ifc, &if_cloners, ifc_list) {
		if (if_clone_match(ifc, name))
			return ifc;
	}
	return NULL;
}

static int
if_clone_alloc_unit(struct if_clone *ifc, int *unit)
{
	int bytoff, bitoff;

	if (*unit < 0) {
		bytoff = bitoff = 0;
		while (bytoff < ifc->ifc_bmlen &&
		    ifc->ifc_units[bytoff] == 0xff)
			bytoff++;
		if (bytoff >= ifc->ifc_bmlen)
			return ENOSPC;
		while ((ifc->ifc_units[bytoff] & (1 << bitoff)) != 0)
			bitoff++;
		*unit = (bytoff << 3) + bitoff;
	} else {
		bytoff = *unit >> 3;
		bitoff = *unit - (bytoff << 3);
	}
	if (*unit > ifc->ifc_maxunit)
		return ENXIO;
	if (ifc->ifc_units[bytoff] & (1 << bitoff))
		return EEXIST;
	ifc->ifc_units[bytoff] |= (1 << bitoff);
	return 0;
}

static void
if_clone_free_unit(struct if_clone *ifc, int unit)
{
	int bytoff, bitoff;

	bytoff = unit >> 3;
	bitoff = unit - (bytoff << 3);
	KASSERT((ifc->ifc_units[bytoff] & (1 << bitoff)) != 0,
	    ("%s: bit is already cleared", __func__));
	ifc->ifc_units[bytoff] &= ~(1 << bitoff);
}

static int
if_clone_createif(struct if_clone *ifc, int unit, caddr_t params,
    caddr_t data)
{
	struct ifnet *ifp;
	char ifname[IFNAMSIZ];
	int err;

	ksnprintf(ifname, IFNAMSIZ, "%s%d", ifc->ifc_name, unit);
	if (ifunit(ifname) != NULL)
		return EEXIST;
	err = (*ifc->ifc_create)(ifc, unit, params, data);
	if (err != 0)
		return err;
	ifp = ifunit(ifname);
	if (ifp == NULL)
		return ENXIO;
	return if_addgroup(ifp, ifc->ifc_name);
}

int
if_clone_create(char *name, int len, caddr_t params, caddr_t data)
{
	struct if_clone *ifc;
	char ifname[IFNAMSIZ];
	bool wildcard;
	int unit, err;

	if ((ifc = if_clone_lookup(name)) == NULL)
		return EINVAL;
	if ((err = if_name2unit(name, &unit)) != 0)
		return err;
	wildcard = (unit < 0);
	ifnet_lock();
	if ((err = if_clone_alloc_unit(ifc, &unit)) != 0) {
		ifnet_unlock();
		return err;
	}
	ksnprintf(ifname, IFNAMSIZ, "%s%d", ifc->ifc_name, unit);
	if (wildcard && strlcpy(name, ifname, len) >= (size_t)len) {
		if_clone_free_unit(ifc, unit);
		ifnet_unlock();
		return ENOSPC;
	}
	err = if_clone_createif(ifc, unit, params, data);
	if (err)
		if_clone_free_unit(ifc, unit);
	ifnet_unlock();
	return err;
}

int
if_clone_destroy(const char *name)
{
	struct if_clone *ifc;
	struct ifnet *ifp;
	int unit, error;

	ifnet_lock();
	ifp = ifunit(name);
	ifnet_unlock();
	if (ifp == NULL)
		return ENXIO;
	if ((ifc = if_clone_lookup(ifp->if_dname)) == NULL)
		return EINVAL;
	unit = ifp->if_dunit;
	if (unit < ifc->ifc_minifs)
		return EINVAL;
	if (ifc->ifc_destroy == NULL)
		return EOPNOTSUPP;
	ifnet_lock();
	if_clone_free_unit(ifc, unit);
	error = ifc->ifc_destroy(ifp);
	if (error)
		if_clone_alloc_unit(ifc, &unit);
	ifnet_unlock();
	return error;
}

int
if_clone_attach(struct if_clone *ifc)
{
	struct if_clone *ifct;
	int len, maxclone, unit;

	LIST_FOREACH(ifct, &if_cloners, ifc_list) {
		if (strcmp(ifct->ifc_name, ifc->ifc_name) == 0)
			return EEXIST;
	}
	KASSERT(ifc->ifc_minifs - 1 <= ifc->ifc_maxunit,
	    ("%s: %s requested more units than allowed", __func__,
	    ifc->ifc_name));
	maxclone = ifc->ifc_maxunit + 1;
	len = maxclone >> 3;
	if ((len << 3) < maxclone)
		len++;
	ifc->ifc_units = kmalloc(len, M_CLONE, M_WAITOK | M_ZERO);
	ifc->ifc_bmlen = len;
	LIST_INSERT_HEAD(&if_cloners, ifc, ifc_list);
	if_cloners_count++;
	ifnet_lock();
	for (unit = 0; unit < ifc->ifc_minifs; unit++) {
		if_clone_alloc_unit(ifc, &unit);
		if (if_clone_createif(ifc, unit, NULL, NULL) != 0) {
			ifnet_unlock();
			panic("%s: failed to create required interface %s%d",
			    __func__, ifc->ifc_name, unit);
		}
	}
	ifnet_unlock();
	return 0;
}

void
if_clone_detach(struct if_clone *ifc)
{
	LIST_REMOVE(ifc, ifc_list);
	kfree(ifc->ifc_units, M_CLONE);
	ifc->ifc_units = NULL;
	if_cloners_count--;
}

int
if_clone_list(struct if_clonereq *ifcr)
{
	char outbuf[IFNAMSIZ], *dst;
	struct if_clone *ifc;
	int count, error = 0;

	ifcr->ifcr_total = if_cloners_count;
	if ((dst = ifcr->ifcr_buffer) == NULL)
		return 0;
	if (ifcr->ifcr_count < 0)
		return EINVAL;
	count = (if_cloners_count < ifcr->ifcr_count) ?
	    if_cloners_count : ifcr->ifcr_count;
	for (ifc = LIST_FIRST(&if_cloners); ifc != NULL && count != 0;
	    ifc = LIST_NEXT(ifc, ifc_list), count--, dst += IFNAMSIZ) {
		memset(outbuf, 0, IFNAMSIZ);
		strlcpy(outbuf, ifc->ifc_name, IFNAMSIZ);
		error = copyout(outbuf, dst, IFNAMSIZ);
		if (error)
			break;
	}
	return error;
}

/* ---- IPv4 and IPv6 addresses ---- */

static struct in_ifaddr *
in_find(struct ifnet *ifp, const struct in_addr *addr)
{
	struct in_ifaddr *ia;

	TAILQ_FOREACH(ia, &in_ifaddrs, ia_kpi_link) {
		if (ia->ia_ifp != ifp)
			continue;
		if (addr == NULL || ia->ia_addr.sin_addr.s_addr == addr->s_addr)
			return ia;
	}
	return NULL;
}

static void
in_ia_destroy(struct in_ifaddr *ia)
{
	kpi_inaddr_lock();
	TAILQ_REMOVE(&in_ifaddrs, ia, ia_kpi_link);
	kpi_inaddr_unlock();
	ifa_ifunlink(&ia->ia_ifa, ia->ia_ifp);
	ifa_destroy(&ia->ia_ifa);
}

static void
in6_ia_destroy(struct in6_ifaddr *ia)
{
	kpi_inaddr_lock();
	TAILQ_REMOVE(&in6_ifaddrs, ia, ia6_kpi_link);
	kpi_inaddr_unlock();
	ifa_ifunlink(&ia->ia_ifa, ia->ia_ifa.ifa_ifp);
	ifa_destroy(&ia->ia_ifa);
}

void
kpi_in_ifdetach(struct ifnet *ifp)
{
	struct in_ifaddr *ia, *nia;
	struct in6_ifaddr *ia6, *nia6;

	ifnet_lock();
	TAILQ_FOREACH_MUTABLE(ia, &in_ifaddrs, ia_kpi_link, nia) {
		if (ia->ia_ifp == ifp)
			in_ia_destroy(ia);
	}
	TAILQ_FOREACH_MUTABLE(ia6, &in6_ifaddrs, ia6_kpi_link, nia6) {
		if (ia6->ia_ifa.ifa_ifp == ifp)
			in6_ia_destroy(ia6);
	}
	ifnet_unlock();
}

/* the caller holds the ifnet lock */
struct in_ifaddr *
kpi_in_localaddr(uint32_t addr)
{
	struct in_ifaddr *ia;

	TAILQ_FOREACH(ia, &in_ifaddrs, ia_kpi_link) {
		if (ia->ia_addr.sin_addr.s_addr == addr)
			return ia;
	}
	return NULL;
}

struct in6_ifaddr *
kpi_in6_localaddr(const void *addr16)
{
	struct in6_ifaddr *ia;

	TAILQ_FOREACH(ia, &in6_ifaddrs, ia6_kpi_link) {
		if (memcmp(&ia->ia_addr.sin6_addr, addr16, 16) == 0)
			return ia;
	}
	return NULL;
}

/*
 * A route for dst: a point-to-point peer, then a connected subnet.
 * Returns the interface and the source address to use.
 */
struct ifnet *
kpi_route_lookup4(uint32_t dst, uint32_t *src)
{
	struct in_ifaddr *ia;

	TAILQ_FOREACH(ia, &in_ifaddrs, ia_kpi_link) {
		if ((ia->ia_ifp->if_flags & IFF_POINTOPOINT) &&
		    ia->ia_dstaddr.sin_family == AF_INET &&
		    ia->ia_dstaddr.sin_addr.s_addr == dst) {
			*src = ia->ia_addr.sin_addr.s_addr;
			return ia->ia_ifp;
		}
	}
	TAILQ_FOREACH(ia, &in_ifaddrs, ia_kpi_link) {
		uint32_t mask = htonl((uint32_t)ia->ia_subnetmask);

		if (ia->ia_subnetmask != 0 &&
		    (dst & mask) == (ia->ia_addr.sin_addr.s_addr & mask)) {
			*src = ia->ia_addr.sin_addr.s_addr;
			return ia->ia_ifp;
		}
	}
	return NULL;
}

static int
in6_prefix_match(const struct in6_addr *a, const struct in6_addr *b,
    const struct in6_addr *mask)
{
	int i;

	for (i = 0; i < 16; ++i) {
		if ((a->s6_addr[i] & mask->s6_addr[i]) !=
		    (b->s6_addr[i] & mask->s6_addr[i]))
			return 0;
	}
	return 1;
}

struct ifnet *
kpi_route_lookup6(const void *dst16, void *src16)
{
	struct in6_ifaddr *ia;
	struct in6_addr dst;

	memcpy(&dst, dst16, 16);
	TAILQ_FOREACH(ia, &in6_ifaddrs, ia6_kpi_link) {
		if (ia->ia_dstaddr.sin6_family == AF_INET6 &&
		    memcmp(&ia->ia_dstaddr.sin6_addr, &dst, 16) == 0) {
			memcpy(src16, &ia->ia_addr.sin6_addr, 16);
			return ia->ia_ifa.ifa_ifp;
		}
	}
	TAILQ_FOREACH(ia, &in6_ifaddrs, ia6_kpi_link) {
		if (in6_prefix_match(&dst, &ia->ia_addr.sin6_addr,
		    &ia->ia_prefixmask.sin6_addr)) {
			memcpy(src16, &ia->ia_addr.sin6_addr, 16);
			return ia->ia_ifa.ifa_ifp;
		}
	}
	return NULL;
}

/* in_ifinit(): the driver sees SIOCSIFADDR with the in_ifaddr */
static int
in_ifinit(struct ifnet *ifp, struct in_ifaddr *ia,
    const struct sockaddr_in *sin)
{
	struct sockaddr_in oldaddr = ia->ia_addr;
	uint32_t i = ntohl(sin->sin_addr.s_addr);
	int error = 0;

	ia->ia_addr = *sin;
	if (ifp->if_ioctl != NULL) {
		ifnet_serialize_all(ifp);
		error = ifp->if_ioctl(ifp, SIOCSIFADDR, (caddr_t)ia, NULL);
		ifnet_deserialize_all(ifp);
		if (error) {
			ia->ia_addr = oldaddr;
			return error;
		}
	}
	if (IN_CLASSA(i))
		ia->ia_netmask = IN_CLASSA_NET;
	else if (IN_CLASSB(i))
		ia->ia_netmask = IN_CLASSB_NET;
	else
		ia->ia_netmask = IN_CLASSC_NET;
	if (ia->ia_subnetmask == 0) {
		ia->ia_subnetmask = ia->ia_netmask;
		ia->ia_sockmask.sin_addr.s_addr = htonl(ia->ia_subnetmask);
	} else {
		ia->ia_netmask &= ia->ia_subnetmask;
	}
	ia->ia_net = i & ia->ia_netmask;
	ia->ia_subnet = i & ia->ia_subnetmask;
	return 0;
}

int
kpi_in_control(u_long cmd, caddr_t data, struct ifnet *ifp, struct ucred *cred)
{
	struct ifreq *ifr = (struct ifreq *)data;
	struct in_aliasreq *ifra = (struct in_aliasreq *)data;
	struct in_ifaddr *ia = NULL;
	struct sockaddr_in oldaddr;
	int error, iaIsNew = 0, ifpWasUp, hostIsNew, maskIsNew;

	if (ifp == NULL)
		return EADDRNOTAVAIL;
	switch (cmd) {
	case SIOCAIFADDR:
	case SIOCDIFADDR:
		if (ifra->ifra_addr.sin_family == AF_INET)
			ia = in_find(ifp, &ifra->ifra_addr.sin_addr);
		if (ia == NULL && cmd == SIOCAIFADDR &&
		    ifra->ifra_addr.sin_family != AF_INET)
			ia = in_find(ifp, NULL);
		break;
	default:
		ia = in_find(ifp, &((struct sockaddr_in *)&ifr->ifr_addr)->sin_addr);
		if (ia == NULL)
			ia = in_find(ifp, NULL);
		break;
	}
	ifpWasUp = (ifp->if_flags & IFF_UP) != 0;

	switch (cmd) {
	case SIOCAIFADDR:
	case SIOCDIFADDR:
		if ((ifp->if_flags & IFF_POINTOPOINT) && cmd == SIOCAIFADDR &&
		    ifra->ifra_addr.sin_family == AF_INET &&
		    ifra->ifra_dstaddr.sin_addr.s_addr == INADDR_ANY)
			return EDESTADDRREQ;
		if (cmd == SIOCDIFADDR && ia == NULL)
			return EADDRNOTAVAIL;
		/* FALLTHROUGH */
	case SIOCSIFADDR:
	case SIOCSIFNETMASK:
	case SIOCSIFDSTADDR:
		if ((error = priv_check_cred(cred, PRIV_ROOT, 0)) != 0)
			return error;
		if (cmd == SIOCSIFDSTADDR &&
		    (ifp->if_flags & IFF_POINTOPOINT) == 0)
			return EINVAL;
		if (ia == NULL) {
			ia = (struct in_ifaddr *)ifa_create(sizeof(*ia));
			ia->ia_ifa.ifa_addr = (struct sockaddr *)&ia->ia_addr;
			ia->ia_ifa.ifa_dstaddr =
			    (struct sockaddr *)&ia->ia_dstaddr;
			ia->ia_ifa.ifa_netmask =
			    (struct sockaddr *)&ia->ia_sockmask;
			ia->ia_sockmask.sin_len = 8;
			ia->ia_sockmask.sin_family = AF_INET;
			if (ifp->if_flags & IFF_BROADCAST) {
				ia->ia_broadaddr.sin_len = sizeof(ia->ia_addr);
				ia->ia_broadaddr.sin_family = AF_INET;
			}
			ia->ia_ifp = ifp;
			iaIsNew = 1;
			kpi_inaddr_lock();
			TAILQ_INSERT_TAIL(&in_ifaddrs, ia, ia_kpi_link);
			kpi_inaddr_unlock();
			ifa_iflink(&ia->ia_ifa, ifp, 1);
		}
		break;
	case SIOCGIFADDR:
	case SIOCGIFNETMASK:
	case SIOCGIFDSTADDR:
	case SIOCGIFBRDADDR:
		if (ia == NULL)
			return EADDRNOTAVAIL;
		break;
	}

	switch (cmd) {
	case SIOCGIFADDR:
		*((struct sockaddr_in *)&ifr->ifr_addr) = ia->ia_addr;
		return 0;
	case SIOCGIFDSTADDR:
		if ((ifp->if_flags & IFF_POINTOPOINT) == 0)
			return EINVAL;
		*((struct sockaddr_in *)&ifr->ifr_dstaddr) = ia->ia_dstaddr;
		return 0;
	case SIOCGIFBRDADDR:
		if ((ifp->if_flags & IFF_BROADCAST) == 0)
			return EINVAL;
		*((struct sockaddr_in *)&ifr->ifr_dstaddr) = ia->ia_broadaddr;
		return 0;
	case SIOCGIFNETMASK:
		*((struct sockaddr_in *)&ifr->ifr_addr) = ia->ia_sockmask;
		return 0;
	case SIOCSIFDSTADDR:
		oldaddr = ia->ia_dstaddr;
		ia->ia_dstaddr = *(struct sockaddr_in *)&ifr->ifr_dstaddr;
		if (ifp->if_ioctl != NULL) {
			ifnet_serialize_all(ifp);
			error = ifp->if_ioctl(ifp, SIOCSIFDSTADDR, (caddr_t)ia,
			    cred);
			ifnet_deserialize_all(ifp);
			if (error) {
				ia->ia_dstaddr = oldaddr;
				return error;
			}
		}
		return 0;
	case SIOCSIFNETMASK:
		ia->ia_sockmask.sin_addr =
		    ((struct sockaddr_in *)&ifr->ifr_addr)->sin_addr;
		ia->ia_subnetmask = ntohl(ia->ia_sockmask.sin_addr.s_addr);
		return 0;
	case SIOCSIFADDR:
		error = in_ifinit(ifp, ia,
		    (const struct sockaddr_in *)&ifr->ifr_addr);
		if (error != 0 && iaIsNew)
			break;
		if (!ifpWasUp && (ifp->if_flags & IFF_UP))
			if_up(ifp);
		return 0;
	case SIOCAIFADDR:
		maskIsNew = 0;
		hostIsNew = 1;
		error = 0;
		if (ia->ia_addr.sin_family == AF_INET) {
			if (ifra->ifra_addr.sin_len == 0) {
				ifra->ifra_addr = ia->ia_addr;
				hostIsNew = 0;
			} else if (ifra->ifra_addr.sin_addr.s_addr ==
			    ia->ia_addr.sin_addr.s_addr) {
				hostIsNew = 0;
			}
		}
		if (ifra->ifra_mask.sin_len) {
			ia->ia_sockmask = ifra->ifra_mask;
			ia->ia_sockmask.sin_family = AF_INET;
			ia->ia_subnetmask =
			    ntohl(ia->ia_sockmask.sin_addr.s_addr);
			maskIsNew = 1;
		}
		if ((ifp->if_flags & IFF_POINTOPOINT) &&
		    ifra->ifra_dstaddr.sin_family == AF_INET) {
			ia->ia_dstaddr = ifra->ifra_dstaddr;
			maskIsNew = 1;
		}
		if (ifra->ifra_addr.sin_family == AF_INET &&
		    (hostIsNew || maskIsNew))
			error = in_ifinit(ifp, ia, &ifra->ifra_addr);
		if (error != 0 && iaIsNew)
			break;
		if ((ifp->if_flags & IFF_BROADCAST) &&
		    ifra->ifra_broadaddr.sin_family == AF_INET)
			ia->ia_broadaddr = ifra->ifra_broadaddr;
		if (!ifpWasUp && (ifp->if_flags & IFF_UP))
			if_up(ifp);
		return error;
	case SIOCDIFADDR:
		error = 0;
		break;
	default:
		if (ifp->if_ioctl == NULL)
			return EOPNOTSUPP;
		ifnet_serialize_all(ifp);
		error = ifp->if_ioctl(ifp, cmd, data, cred);
		ifnet_deserialize_all(ifp);
		return error;
	}

	/* SIOCDIFADDR, or a new address the interface refused */
	in_ia_destroy(ia);
	if ((cmd == SIOCAIFADDR || cmd == SIOCSIFADDR) && !ifpWasUp &&
	    (ifp->if_flags & IFF_UP))
		if_up(ifp);
	return error;
}

int
kpi_in6_control(u_long cmd, caddr_t data, struct ifnet *ifp,
    struct ucred *cred)
{
	struct in6_aliasreq *ifra = (struct in6_aliasreq *)data;
	struct in6_ifreq *ifr6 = (struct in6_ifreq *)data;
	struct in6_ifaddr *ia = NULL, *it;
	int error, iaIsNew = 0, ifpWasUp;

	if (ifp == NULL)
		return EADDRNOTAVAIL;
	TAILQ_FOREACH(it, &in6_ifaddrs, ia6_kpi_link) {
		if (it->ia_ifa.ifa_ifp == ifp &&
		    memcmp(&it->ia_addr.sin6_addr,
		    cmd == SIOCAIFADDR_IN6 ? &ifra->ifra_addr.sin6_addr :
		    &ifr6->ifr_ifru.ifru_addr.sin6_addr, 16) == 0) {
			ia = it;
			break;
		}
	}
	ifpWasUp = (ifp->if_flags & IFF_UP) != 0;
	switch (cmd) {
	case SIOCAIFADDR_IN6:
		if ((error = priv_check_cred(cred, PRIV_ROOT, 0)) != 0)
			return error;
		if (ifra->ifra_addr.sin6_family != AF_INET6)
			return EAFNOSUPPORT;
		if (ia == NULL) {
			ia = (struct in6_ifaddr *)ifa_create(sizeof(*ia));
			ia->ia_ifa.ifa_addr = (struct sockaddr *)&ia->ia_addr;
			ia->ia_ifa.ifa_dstaddr =
			    (struct sockaddr *)&ia->ia_dstaddr;
			ia->ia_ifa.ifa_netmask =
			    (struct sockaddr *)&ia->ia_prefixmask;
			ia->ia_ifa.ifa_ifp = ifp;
			iaIsNew = 1;
			kpi_inaddr_lock();
			TAILQ_INSERT_TAIL(&in6_ifaddrs, ia, ia6_kpi_link);
			kpi_inaddr_unlock();
			ifa_iflink(&ia->ia_ifa, ifp, 1);
		}
		ia->ia_addr = ifra->ifra_addr;
		if (ifra->ifra_dstaddr.sin6_family == AF_INET6)
			ia->ia_dstaddr = ifra->ifra_dstaddr;
		if (ifra->ifra_prefixmask.sin6_len != 0)
			ia->ia_prefixmask = ifra->ifra_prefixmask;
		ia->ia6_flags = ifra->ifra_flags;
		error = 0;
		if (ifp->if_ioctl != NULL) {
			ifnet_serialize_all(ifp);
			error = ifp->if_ioctl(ifp, SIOCSIFADDR, (caddr_t)ia,
			    NULL);
			ifnet_deserialize_all(ifp);
		}
		if (error && iaIsNew)
			in6_ia_destroy(ia);
		if (!ifpWasUp && (ifp->if_flags & IFF_UP))
			if_up(ifp);
		return error;
	case SIOCDIFADDR_IN6:
		if ((error = priv_check_cred(cred, PRIV_ROOT, 0)) != 0)
			return error;
		if (ia == NULL)
			return EADDRNOTAVAIL;
		in6_ia_destroy(ia);
		return 0;
	case SIOCGIFADDR_IN6:
		if (ia == NULL) {
			TAILQ_FOREACH(it, &in6_ifaddrs, ia6_kpi_link) {
				if (it->ia_ifa.ifa_ifp == ifp) {
					ia = it;
					break;
				}
			}
		}
		if (ia == NULL)
			return EADDRNOTAVAIL;
		ifr6->ifr_ifru.ifru_addr = ia->ia_addr;
		return 0;
	default:
		if (ifp->if_ioctl == NULL)
			return EOPNOTSUPP;
		ifnet_serialize_all(ifp);
		error = ifp->if_ioctl(ifp, cmd, data, cred);
		ifnet_deserialize_all(ifp);
		return error;
	}
}

/* ---- ifioctl: the socket ioctls that configure interfaces ---- */

int
kpi_ifioctl_domain(int domain, u_long cmd, caddr_t data, struct ucred *cred)
{
	struct ifnet *ifp;
	struct ifreq *ifr = (struct ifreq *)data;
	struct ifstat *ifs;
	char new_name[IFNAMSIZ];
	int error, do_ifup = 0, new_flags;

	switch (cmd) {
	case SIOCIFCREATE:
	case SIOCIFCREATE2:
		if ((error = priv_check_cred(cred, PRIV_ROOT, 0)) != 0)
			return error;
		return if_clone_create(ifr->ifr_name, sizeof(ifr->ifr_name),
		    (cmd == SIOCIFCREATE2 ? ifr->ifr_data : NULL), NULL);
	case SIOCIFDESTROY:
		if ((error = priv_check_cred(cred, PRIV_ROOT, 0)) != 0)
			return error;
		return if_clone_destroy(ifr->ifr_name);
	case SIOCIFGCLONERS:
		return if_clone_list((struct if_clonereq *)data);
	default:
		break;
	}

	ifnet_lock();
	ifp = ifunit(ifr->ifr_name);
	if (ifp == NULL) {
		ifnet_unlock();
		return ENXIO;
	}
	error = 0;
	switch (cmd) {
	case SIOCGIFINDEX:
		ifr->ifr_index = ifp->if_index;
		break;
	case SIOCGIFFLAGS:
		ifr->ifr_flags = ifp->if_flags;
		ifr->ifr_flagshigh = ifp->if_flags >> 16;
		break;
	case SIOCGIFMETRIC:
		ifr->ifr_metric = ifp->if_metric;
		break;
	case SIOCGIFMTU:
		ifr->ifr_mtu = ifp->if_mtu;
		break;
	case SIOCGIFDATA:
		error = copyout(&ifp->if_data, ifr->ifr_data,
		    sizeof(ifp->if_data));
		break;
	case SIOCSIFFLAGS:
		error = priv_check_cred(cred, PRIV_ROOT, 0);
		if (error)
			break;
		/* unsigned: a negative ifr_flagshigh must not shift into UB */
		new_flags = (int)(((u_int)ifr->ifr_flags & 0xffff) |
		    ((u_int)(u_short)ifr->ifr_flagshigh << 16));
		if (ifp->if_flags & IFF_SMART) {
			/* smart drivers twiddle their own routes */
		} else if ((ifp->if_flags & IFF_UP) &&
		    (new_flags & IFF_UP) == 0) {
			if_down(ifp);
		} else if ((new_flags & IFF_UP) &&
		    (ifp->if_flags & IFF_UP) == 0) {
			do_ifup = 1;
		}
		ifp->if_flags = (ifp->if_flags & IFF_CANTCHANGE) |
		    (new_flags & ~IFF_CANTCHANGE);
		if (new_flags & IFF_PPROMISC)
			ifp->if_flags |= IFF_PROMISC;
		else if (ifp->if_pcount == 0)
			ifp->if_flags &= ~IFF_PROMISC;
		if (ifp->if_ioctl) {
			ifnet_serialize_all(ifp);
			ifp->if_ioctl(ifp, cmd, data, cred);
			ifnet_deserialize_all(ifp);
		}
		if (do_ifup)
			if_up(ifp);
		getmicrotime(&ifp->if_lastchange);
		break;
	case SIOCSIFNAME:
		error = priv_check_cred(cred, PRIV_ROOT, 0);
		if (error)
			break;
		error = copyinstr(ifr->ifr_data, new_name, IFNAMSIZ, NULL);
		if (error)
			break;
		if (new_name[0] == '\0') {
			error = EINVAL;
			break;
		}
		if (ifunit(new_name) != NULL) {
			error = EEXIST;
			break;
		}
		EVENTHANDLER_INVOKE(ifnet_detach_event, ifp);
		rt_ifannouncemsg(ifp, IFAN_DEPARTURE);
		strlcpy(ifp->if_xname, new_name, sizeof(ifp->if_xname));
		if (ifp->if_lladdr != NULL) {
			struct sockaddr_dl *sdl =
			    (struct sockaddr_dl *)ifp->if_lladdr->ifa_addr;
			int namelen = (int)strlen(new_name);

			bcopy(new_name, sdl->sdl_data, namelen);
			sdl->sdl_nlen = namelen;
		}
		EVENTHANDLER_INVOKE(ifnet_attach_event, ifp);
		rt_ifannouncemsg(ifp, IFAN_ARRIVAL);
		break;
	case SIOCSIFMETRIC:
		error = priv_check_cred(cred, PRIV_ROOT, 0);
		if (error)
			break;
		ifp->if_metric = ifr->ifr_metric;
		getmicrotime(&ifp->if_lastchange);
		break;
	case SIOCSIFMTU:
		error = priv_check_cred(cred, PRIV_ROOT, 0);
		if (error)
			break;
		if (ifp->if_ioctl == NULL) {
			error = EOPNOTSUPP;
			break;
		}
		if (ifr->ifr_mtu < IF_MINMTU || ifr->ifr_mtu > IF_MAXMTU) {
			error = EINVAL;
			break;
		}
		ifnet_serialize_all(ifp);
		error = ifp->if_ioctl(ifp, cmd, data, cred);
		ifnet_deserialize_all(ifp);
		if (error == 0)
			getmicrotime(&ifp->if_lastchange);
		break;
	case SIOCADDMULTI:
	case SIOCDELMULTI:
		error = priv_check_cred(cred, PRIV_ROOT, 0);
		if (error)
			break;
		if ((ifp->if_flags & IFF_MULTICAST) == 0) {
			error = EOPNOTSUPP;
			break;
		}
		if (ifr->ifr_addr.sa_family != AF_LINK) {
			error = EINVAL;
			break;
		}
		if (cmd == SIOCADDMULTI)
			error = if_addmulti(ifp, &ifr->ifr_addr, NULL);
		else
			error = if_delmulti(ifp, &ifr->ifr_addr);
		break;
	case SIOCGIFSTATUS:
		ifs = (struct ifstat *)data;
		ifs->ascii[0] = '\0';
		if (ifp->if_ioctl == NULL) {
			error = EOPNOTSUPP;
			break;
		}
		ifnet_serialize_all(ifp);
		error = ifp->if_ioctl(ifp, cmd, data, cred);
		ifnet_deserialize_all(ifp);
		break;
	case SIOCAIFGROUP:
		error = priv_check_cred(cred, PRIV_ROOT, 0);
		if (error == 0)
			error = if_addgroup(ifp,
			    ((struct ifgroupreq *)data)->ifgr_group);
		break;
	case SIOCDIFGROUP:
		error = priv_check_cred(cred, PRIV_ROOT, 0);
		if (error == 0)
			error = if_delgroup(ifp,
			    ((struct ifgroupreq *)data)->ifgr_group);
		break;
	case SIOCGIFGROUP:
		error = if_getgroups((struct ifgroupreq *)data, ifp);
		break;
	default:
		/* the protocol's control routine, then the driver */
		if (domain == AF_INET6)
			error = kpi_in6_control(cmd, data, ifp, cred);
		else
			error = kpi_in_control(cmd, data, ifp, cred);
		break;
	}
	ifnet_unlock();
	return error;
}

/* ---- statistics for tests ---- */

int
kpik_ifstats(const char *name, long *v, int n)
{
	struct ifnet *ifp;
	long s[20];
	u_long x;
	int i;

	memset(s, 0, sizeof(s));
	ifnet_lock();
	ifp = ifunit(name);
	if (ifp != NULL) {
		s[0] = 1;
		s[1] = ifp->if_flags;
		s[2] = (long)ifp->if_mtu;
		s[3] = ifp->if_type;
		s[4] = (long)ifp->if_baudrate;
		IFNET_STAT_GET(ifp, ipackets, x); s[5] = (long)x;
		IFNET_STAT_GET(ifp, ierrors, x); s[6] = (long)x;
		IFNET_STAT_GET(ifp, opackets, x); s[7] = (long)x;
		IFNET_STAT_GET(ifp, oerrors, x); s[8] = (long)x;
		IFNET_STAT_GET(ifp, ibytes, x); s[9] = (long)x;
		IFNET_STAT_GET(ifp, obytes, x); s[10] = (long)x;
		IFNET_STAT_GET(ifp, collisions, x); s[11] = (long)x;
		IFNET_STAT_GET(ifp, oqdrops, x); s[12] = (long)x;
		IFNET_STAT_GET(ifp, iqdrops, x); s[13] = (long)x;
		IFNET_STAT_GET(ifp, noproto, x); s[14] = (long)x;
		s[15] = ifp->if_snd.altq_subq[0].ifsq_len;
		s[16] = ifp->if_snd.altq_subq[0].ifsq_maxlen;
		s[17] = ifp->if_index;
		s[18] = ifp->if_dunit;
		s[19] = kpi_bpf_listeners(ifp);
	}
	ifnet_unlock();
	for (i = 0; i < n && i < 20; ++i)
		v[i] = s[i];
	return ifp != NULL ? 0 : ENXIO;
}
