/* kpi: DragonFly-named <net/if_var.h> */
#ifndef _NET_IF_VAR_H_
#define _NET_IF_VAR_H_
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/serialize.h>
#include <sys/eventhandler.h>
#include <net/if.h>
#include <net/altq/if_altq.h>

struct rtentry;
struct socket;
struct ucred;
struct bpf_if;
struct mbuf;
struct pktinfo;
struct ifpoll_info;
struct lwkt_serialize;

TAILQ_HEAD(ifnethead, ifnet);
TAILQ_HEAD(ifaddrhead, ifaddr_container);
TAILQ_HEAD(ifmultihead, ifmultiaddr);
TAILQ_HEAD(ifgrouphead, ifg_group);

enum ifnet_serialize {
	IFNET_SERIALIZE_ALL
};

struct ifqueue {
	struct	mbuf *ifq_head;
	struct	mbuf *ifq_tail;
	int	ifq_len;
	int	ifq_maxlen;
	int	ifq_drops;
};

struct ifdata_pcpu {
	u_long	ifd_ipackets;
	u_long	ifd_ierrors;
	u_long	ifd_opackets;
	u_long	ifd_oerrors;
	u_long	ifd_collisions;
	u_long	ifd_ibytes;
	u_long	ifd_obytes;
	u_long	ifd_imcasts;
	u_long	ifd_omcasts;
	u_long	ifd_iqdrops;
	u_long	ifd_noproto;
	u_long	ifd_oqdrops;
} __cachealign;

struct ifnet {
	void	*if_softc;
	void	*if_l2com;
	TAILQ_ENTRY(ifnet) if_link;
	char	if_xname[IFNAMSIZ];
	const char *if_dname;
	int	if_dunit;
	void	*if_vlantrunks;
	struct	ifaddrhead *if_addrheads;
	int	if_pcount;
	void	*if_carp;
	struct	bpf_if *if_bpf;
	u_short	if_index;
	short	if_timer;
	int	if_flags;
	int	if_capabilities;
	int	if_capenable;
	void	*if_linkmib;
	size_t	if_linkmiblen;
	struct	if_data if_data;
	struct	ifmultihead if_multiaddrs;
	int	if_amcount;
	TAILQ_HEAD(, ifg_list) if_groups;
	int	(*if_output)(struct ifnet *, struct mbuf *, struct sockaddr *,
		    struct rtentry *);
	void	(*if_input)(struct ifnet *, struct mbuf *,
		    const struct pktinfo *pi, int cpuid);
	void	(*if_start)(struct ifnet *, struct ifaltq_subque *);
	int	(*if_ioctl)(struct ifnet *, u_long, caddr_t, struct ucred *);
	void	(*if_watchdog)(struct ifnet *);
	void	(*if_init)(void *);
	int	(*if_resolvemulti)(struct ifnet *, struct sockaddr **,
		    struct sockaddr *);
	void	*if_unused5;
	int	(*if_mapsubq)(struct ifaltq *, int);
	int	if_unused2;
	void	(*if_serialize)(struct ifnet *, enum ifnet_serialize);
	void	(*if_deserialize)(struct ifnet *, enum ifnet_serialize);
	int	(*if_tryserialize)(struct ifnet *, enum ifnet_serialize);
	void	(*if_serialize_assert)(struct ifnet *, enum ifnet_serialize,
		    boolean_t);
	void	(*if_npoll)(struct ifnet *, struct ifpoll_info *);
	int	if_tsolen;
	struct	ifaltq if_snd;
	const uint8_t *if_broadcastaddr;
	void	*if_bridge;
	void	*if_lagg;
	void	*if_afdata[AF_MAX];
	struct ifaddr *if_lladdr;
	struct lwkt_serialize *if_serializer;
	struct lwkt_serialize if_default_serializer;
	int	if_unused4;
	struct ifdata_pcpu *if_data_pcpu;
	void	*if_pf_kif;
	int	if_nmbclusters;
	int	if_nmbjclusters;
	int	if_kpi_attached;	/* kpi: between if_attach and if_detach */
	void	(*if_kpi_start1)(struct ifnet *);	/* kpi: compat/2010 if_start */
};
typedef void if_init_f_t(void *);

#define if_mtu		if_data.ifi_mtu
#define if_type		if_data.ifi_type
#define if_physical	if_data.ifi_physical
#define if_addrlen	if_data.ifi_addrlen
#define if_hdrlen	if_data.ifi_hdrlen
#define if_metric	if_data.ifi_metric
#define if_link_state	if_data.ifi_link_state
#define if_baudrate	if_data.ifi_baudrate
#define if_hwassist	if_data.ifi_hwassist
#define if_ipackets	if_data.ifi_ipackets
#define if_ierrors	if_data.ifi_ierrors
#define if_opackets	if_data.ifi_opackets
#define if_oerrors	if_data.ifi_oerrors
#define if_collisions	if_data.ifi_collisions
#define if_ibytes	if_data.ifi_ibytes
#define if_obytes	if_data.ifi_obytes
#define if_imcasts	if_data.ifi_imcasts
#define if_omcasts	if_data.ifi_omcasts
#define if_iqdrops	if_data.ifi_iqdrops
#define if_noproto	if_data.ifi_noproto
#define if_oqdrops	if_data.ifi_oqdrops
#define if_lastchange	if_data.ifi_lastchange
#define if_recvquota	if_data.ifi_recvquota
#define if_xmitquota	if_data.ifi_xmitquota
#define if_list		if_link

#define IF_DUNIT_NONE	-1

#define IF_QFULL(ifq)		((ifq)->ifq_len >= (ifq)->ifq_maxlen)
#define IF_DROP(ifq)		((ifq)->ifq_drops++)
#define IF_QLEN(ifq)		((ifq)->ifq_len)
#define IF_QEMPTY(ifq)		(IF_QLEN(ifq) == 0)
#define IF_ENQUEUE(ifq, m) do {						\
	(m)->m_nextpkt = NULL;						\
	if ((ifq)->ifq_tail == NULL)					\
		(ifq)->ifq_head = m;					\
	else								\
		(ifq)->ifq_tail->m_nextpkt = m;				\
	(ifq)->ifq_tail = m;						\
	(ifq)->ifq_len++;						\
} while (0)
#define IF_DEQUEUE(ifq, m) do {						\
	(m) = (ifq)->ifq_head;						\
	if (m) {							\
		if (((ifq)->ifq_head = (m)->m_nextpkt) == NULL)		\
			(ifq)->ifq_tail = NULL;				\
		(m)->m_nextpkt = NULL;					\
		(ifq)->ifq_len--;					\
	}								\
} while (0)
#define IF_POLL(ifq, m)		((m) = (ifq)->ifq_head)

#define ASSERT_IFNET_SERIALIZED_ALL(ifp) \
	(ifp)->if_serialize_assert((ifp), IFNET_SERIALIZE_ALL, TRUE)
#define ASSERT_IFNET_NOT_SERIALIZED_ALL(ifp) \
	(ifp)->if_serialize_assert((ifp), IFNET_SERIALIZE_ALL, FALSE)

static __inline void
ifnet_serialize_all(struct ifnet *_ifp)
{
	_ifp->if_serialize(_ifp, IFNET_SERIALIZE_ALL);
}

static __inline void
ifnet_deserialize_all(struct ifnet *_ifp)
{
	_ifp->if_deserialize(_ifp, IFNET_SERIALIZE_ALL);
}

static __inline int
ifnet_tryserialize_all(struct ifnet *_ifp)
{
	return _ifp->if_tryserialize(_ifp, IFNET_SERIALIZE_ALL);
}

#define IF_MINMTU	72
#define IF_MAXMTU	65535

struct ifaddr;
struct in_ifaddr;
struct in_ifaddr_container {
	struct in_ifaddr	*ia;
	LIST_ENTRY(in_ifaddr_container) ia_hash;
	TAILQ_ENTRY(in_ifaddr_container) ia_link;
	struct ifaddr_container	*ia_ifac;
};

struct ifaddr_container {
#define IFA_CONTAINER_MAGIC	0x19810219
#define IFA_CONTAINER_DEAD	0xc0dedead
	uint32_t		ifa_magic;
	struct ifaddr		*ifa;
	TAILQ_ENTRY(ifaddr_container) ifa_link;
	u_int			ifa_refcnt;
	uint16_t		ifa_listmask;
	uint16_t		ifa_prflags;
	u_long			ifa_ipackets;
	u_long			ifa_ibytes;
	u_long			ifa_opackets;
	u_long			ifa_obytes;
	union {
		struct in_ifaddr_container u_in_ifac;
	} ifa_proto_u;
} __cachealign;

#define IFA_LIST_IFADDRHEAD	0x01
#define IFA_LIST_IN_IFADDRHEAD	0x02
#define IFA_LIST_IN_IFADDRHASH	0x04

struct ifaddr {
	struct	sockaddr *ifa_addr;
	struct	sockaddr *ifa_dstaddr;
#define ifa_broadaddr	ifa_dstaddr
	struct	sockaddr *ifa_netmask;
	struct	if_data if_data;
	struct	ifnet *ifa_ifp;
	void	*ifa_link_pad;
	struct ifaddr_container *ifa_containers;
	void	(*ifa_rtrequest)(int, struct rtentry *);
	u_short	ifa_flags;
	int	ifa_ncnt;
	int	ifa_metric;
	int	(*ifa_claim_addr)(struct ifaddr *, struct sockaddr *);
};
#define IFA_ROUTE	0x01

struct ifmultiaddr {
	TAILQ_ENTRY(ifmultiaddr) ifma_link;
	struct	sockaddr *ifma_addr;
	struct	sockaddr *ifma_lladdr;
	struct	ifnet *ifma_ifp;
	u_int	ifma_refcount;
	void	*ifma_protospec;
};

struct ifg_group {
	char			ifg_group[IFNAMSIZ];
	u_int			ifg_refcnt;
	void			*ifg_pf_kif;
	int			ifg_carp_demoted;
	TAILQ_HEAD(, ifg_member) ifg_members;
	TAILQ_ENTRY(ifg_group)	ifg_next;
};
struct ifg_member {
	TAILQ_ENTRY(ifg_member)	ifgm_next;
	struct ifnet		*ifgm_ifp;
};
struct ifg_list {
	struct ifg_group	*ifgl_group;
	TAILQ_ENTRY(ifg_list)	ifgl_next;
};

#define IFA_STAT_INC(ifa, name, v) do {					\
	(ifa)->ifa_containers[mycpuid].ifa_##name += (v);		\
} while (0)

/* kpi: atomic, since several host threads may share a cpu id */
#define IFNET_STAT_INC(ifp, name, v) do {				\
	__atomic_fetch_add(&(ifp)->if_data_pcpu[mycpuid].ifd_##name,	\
	    (v), __ATOMIC_RELAXED);					\
} while (0)
#define IFNET_STAT_SET(ifp, name, v) do {				\
	int _cpu;							\
	(ifp)->if_data_pcpu[0].ifd_##name = (v);			\
	for (_cpu = 1; _cpu < ncpus; ++_cpu)				\
		(ifp)->if_data_pcpu[_cpu].ifd_##name = 0;		\
} while (0)
#define IFNET_STAT_GET(ifp, name, v) do {				\
	int _cpu;							\
	(v) = (ifp)->if_data_pcpu[0].ifd_##name;			\
	for (_cpu = 1; _cpu < ncpus; ++_cpu)				\
		(v) += (ifp)->if_data_pcpu[_cpu].ifd_##name;		\
} while (0)

enum ifaddr_event {
	IFADDR_EVENT_ADD,
	IFADDR_EVENT_DELETE,
	IFADDR_EVENT_CHANGE
};

#define IFNET_EVENT_UP		1
#define IFNET_EVENT_DOWN	2

extern int ifqmaxlen;
extern int if_index;

struct ifnet *ifunit(const char *);
struct ifnet *ifunit_netisr(const char *);
void	ifnet_lock(void);
void	ifnet_unlock(void);
int	if_addmulti(struct ifnet *, struct sockaddr *, struct ifmultiaddr **);
int	if_allmulti(struct ifnet *, int);
void	if_attach(struct ifnet *, struct lwkt_serialize *);
int	if_delmulti(struct ifnet *, struct sockaddr *);
void	if_purgeaddrs_nolink(struct ifnet *);
void	if_detach(struct ifnet *);
void	if_down(struct ifnet *);
void	if_up(struct ifnet *);
void	if_link_state_change(struct ifnet *);
void	if_initname(struct ifnet *, const char *, int);
int	if_printf(struct ifnet *, const char *, ...) __printflike(2, 3);
struct ifnet *if_alloc(uint8_t);
void	if_free(struct ifnet *);
int	if_setlladdr(struct ifnet *, const u_char *, int);
int	ifioctl(struct socket *, u_long, caddr_t, struct ucred *);
int	ifpromisc(struct ifnet *, int);
int	if_addgroup(struct ifnet *, const char *);
int	if_delgroup(struct ifnet *, const char *);
struct ifaddr *ifa_ifwithaddr(struct sockaddr *);
struct ifaddr *ifa_ifwithdstaddr(struct sockaddr *);
struct ifaddr *ifaof_ifpforaddr(struct sockaddr *, struct ifnet *);
void	*ifa_create(int size);
void	ifa_destroy(struct ifaddr *);
void	ifac_free(struct ifaddr_container *, int cpu_id);
void	ifa_iflink(struct ifaddr *, struct ifnet *, int);
void	ifa_ifunlink(struct ifaddr *, struct ifnet *);
void	if_devstart(struct ifnet *ifp);
#endif
