/* kpi: DragonFly-named <net/altq/if_altq.h> (classic queueing only) */
#ifndef _NET_ALTQ_IF_ALTQ_H_
#define _NET_ALTQ_IF_ALTQ_H_
#include <sys/types.h>
#include <sys/serialize.h>

struct mbuf;
struct ifnet;
struct ifaltq;
struct ifaltq_subque;
struct altq_pktattr {
	void	*pattr_class;
	int	pattr_af;
	caddr_t	pattr_hdr;
};

typedef int (*ifsq_enqueue_t)(struct ifaltq_subque *, struct mbuf *,
    struct altq_pktattr *);
typedef struct mbuf *(*ifsq_dequeue_t)(struct ifaltq_subque *, int);
typedef int (*ifsq_request_t)(struct ifaltq_subque *, int, void *);
typedef int (*altq_mapsubq_t)(struct ifaltq *, int);

struct if_classq {
	struct mbuf	*clq_head;
	struct mbuf	*clq_tail;
};

struct ifaltq_subque {
	struct lwkt_serialize ifsq_lock;
	int		ifsq_index;
	struct ifaltq	*ifsq_altq;
	struct ifnet	*ifsq_ifp;
	void		*ifsq_hw_priv;
	struct if_classq ifsq_norm;
	struct if_classq ifsq_prio;
	int		ifsq_prio_len;
	int		ifsq_prio_bcnt;
	int		ifsq_len;
	int		ifsq_maxlen;
	int		ifsq_bcnt;
	int		ifsq_maxbcnt;
	ifsq_enqueue_t	ifsq_enqueue;
	ifsq_dequeue_t	ifsq_dequeue;
	ifsq_request_t	ifsq_request;
	struct lwkt_serialize *ifsq_hw_serialize;
	struct mbuf	*ifsq_prepended;
	int		ifsq_started;
	int		ifsq_hw_oactive;
	int		ifsq_cpuid;
};

#define ALTQ_SQ_ASSERT_LOCKED(ifsq)	ASSERT_SERIALIZED(&(ifsq)->ifsq_lock)
#define ALTQ_SQ_LOCK_INIT(ifsq)		lwkt_serialize_init(&(ifsq)->ifsq_lock)
#define ALTQ_SQ_LOCK(ifsq) \
	lwkt_serialize_adaptive_enter(&(ifsq)->ifsq_lock)
#define ALTQ_SQ_UNLOCK(ifsq)		lwkt_serialize_exit(&(ifsq)->ifsq_lock)
#define ASSERT_ALTQ_SQ_SERIALIZED_HW(ifsq) \
	ASSERT_SERIALIZED((ifsq)->ifsq_hw_serialize)
#define ASSERT_ALTQ_SQ_NOT_SERIALIZED_HW(ifsq) \
	ASSERT_NOT_SERIALIZED((ifsq)->ifsq_hw_serialize)
#define ALTQ_SQ_PKTCNT_INC(ifsq)	do { (ifsq)->ifsq_len++; } while (0)
#define ALTQ_SQ_PKTCNT_DEC(ifsq) do {					\
	KASSERT((ifsq)->ifsq_len > 0, ("invalid packet count"));	\
	(ifsq)->ifsq_len--;						\
} while (0)
#define ALTQ_SQ_CNTR_INC(ifsq, bcnt) do {				\
	ALTQ_SQ_PKTCNT_INC((ifsq));					\
	(ifsq)->ifsq_bcnt += (bcnt);					\
} while (0)
#define ALTQ_SQ_CNTR_DEC(ifsq, bcnt) do {				\
	ALTQ_SQ_PKTCNT_DEC((ifsq));					\
	KASSERT((ifsq)->ifsq_bcnt >= (bcnt), ("invalid byte count"));	\
	(ifsq)->ifsq_bcnt -= (bcnt);					\
} while (0)
#define ALTQ_SQ_CNTR_RESET(ifsq) do {					\
	(ifsq)->ifsq_len = 0;						\
	(ifsq)->ifsq_bcnt = 0;						\
} while (0)

struct ifaltq {
	int	altq_type;
	int	altq_flags;
	void	*altq_disc;
	struct	ifnet *altq_ifp;
	void	*altq_clfier;
	void	*(*altq_classify)(struct ifaltq *, struct mbuf *,
		    struct altq_pktattr *);
	struct	tb_regulator *altq_tbr;
	altq_mapsubq_t altq_mapsubq;
	uint32_t altq_subq_mappriv;
	int	altq_subq_cnt;
	struct ifaltq_subque *altq_subq;
	int	altq_maxlen;
};

#define ALTQ_SUBQ_INDEX_DEFAULT	0
#define ALTQF_READY	0x01
#define ALTQF_ENABLED	0x02
#define ALTQF_CLASSIFY	0x04
#define ALTQF_DRIVER1	0x40
#define ALTQF_CANTCHANGE	(ALTQF_READY)
#define ALTDQ_REMOVE	1
#define ALTDQ_POLL	2
#define ALTRQ_PURGE	1
#endif
