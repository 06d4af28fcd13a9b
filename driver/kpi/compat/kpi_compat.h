/*
 * kpi_compat.h - what the era compat units (compat/2010, compat/2008)
 * provide to the era headers.  Kernel half: compiled like the driver.
 * These are kpi names (kpi_compat_*), never DragonFly's; the era headers
 * map the old DragonFly names onto them in the driver's own code only.
 */
#ifndef _KPI_COMPAT_H_
#define _KPI_COMPAT_H_
#include <sys/types.h>

struct sigio;
struct ifnet;
struct ifaltq;
struct mbuf;
struct altq_pktattr;
struct dev_ops;
struct thread;
struct lwkt_serialize;

/* 2009-2017 (compat/2010/kpi_compat_2010.c) */
pid_t	kpi_compat_fgetown(struct sigio *);
void	kpi_compat_funsetown(struct sigio *);
void	kpi_compat_if_attach(struct ifnet *, struct lwkt_serialize *);
int	kpi_compat_ifq_handoff(struct ifnet *, struct mbuf *,
	    struct altq_pktattr *);
void	kpi_compat_ifq_set_maxlen(struct ifaltq *, int);
struct mbuf *kpi_compat_ifq_dequeue(struct ifaltq *, struct mbuf *);
struct mbuf *kpi_compat_ifq_poll(struct ifaltq *);
void	kpi_compat_ifq_drop(struct ifaltq *);
void	kpi_compat_ifnet_serialize_tx(struct ifnet *);
void	kpi_compat_ifnet_deserialize_tx(struct ifnet *);

/* 2008 (compat/2008/kpi_compat_2008.c) */
struct pollfd;

/* select/poll interest; kpi: selwakeup() wakes every poller (a generation) */
struct selinfo {
	pid_t	si_pid;
	short	si_flags;
};
int	kpi_compat_dev_ops_add(struct dev_ops *, u_int, u_int);
cdev_t	kpi_compat_make_dev(struct dev_ops *, int, uid_t, gid_t, int,
	    const char *, ...) __printflike(6, 7);
void	kpi_compat_selrecord(struct thread *, struct selinfo *);
void	kpi_compat_selwakeup(struct selinfo *);
int	kpi_compat_netisr_dispatch(int, struct mbuf *);
/*
 * kern_event.c's poll() asks this hook first (set by dev_ops_add()): it
 * answers -1 unless every fd is a device with a d_poll.
 */
extern int (*kpi_dpoll_hook)(struct pollfd *, unsigned int, int, int *);

/* the static /dev/tunN nodes dev_ops_add() makes, as MAKEDEV's "all" did */
#define KPI_COMPAT_2008_NODES	4
#endif /* !_KPI_COMPAT_H_ */
