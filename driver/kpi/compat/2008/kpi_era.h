/*
 * kpi_era.h (2008) - forced (-include) into the compilation of a tun
 * driver written for DragonFly before devfs (2009): everything of
 * compat/2010 (the names of that time were older still), plus the device
 * model of the time: d_poll in dev_ops with poll/select readiness
 * (selrecord/selwakeup on a struct selinfo), dev_ops_add() registering a
 * major number whose /dev/tunN nodes exist beforehand (MAKEDEV made them on
 * disk; the kpi makes them when the ops are added), make_dev() returning
 * the cdev of that (major, minor), and no /dev/tun.
 * See driver/kpi/README.md ("Kernel-interface eras").
 */
#ifndef _KPI_COMPAT_2008_ERA_H_
#define _KPI_COMPAT_2008_ERA_H_

#define KPI_ERA	2008
#include "../2010/kpi_era.h"

/* <sys/device.h>: d_poll and its arguments (a_events in, revents out) */
struct dev_poll_args {
	struct dev_generic_args a_head;
	int		a_events;
};
typedef int d_poll_t(struct dev_poll_args *ap);

#define dev_ops_add(ops, mask, match)					\
	kpi_compat_dev_ops_add((ops), (mask), (match))
#define make_dev		kpi_compat_make_dev

/* <sys/select.h> */
#define selrecord(td, sip)	kpi_compat_selrecord((td), (sip))
#define selwakeup(sip)		kpi_compat_selwakeup(sip)

/* <net/netisr.h>: netisr_dispatch() ran the protocol, or queued it */
#define netisr_dispatch(isr, m)	kpi_compat_netisr_dispatch((isr), (m))

/* <net/ifq_var.h>: struct ifaltq counted its packets itself */
#define ifq_len		altq_subq[ALTQ_SUBQ_INDEX_DEFAULT].ifsq_len

#endif /* !_KPI_COMPAT_2008_ERA_H_ */
