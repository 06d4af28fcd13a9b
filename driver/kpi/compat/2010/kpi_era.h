/*
 * kpi_era.h (2009-2017) - forced (-include) into the compilation of a tun
 * driver written for DragonFly between the devfs import (2009) and the
 * interface changes of 2011-2018, never included by the driver itself.
 *
 * Every kpi header such a driver includes is read first, with today's
 * names; then the names of that time are mapped, so that the mappings
 * reach the driver's own code only (the kpi's headers and units keep
 * today's interfaces).  What a mapping needs at run time lives in
 * kpi_compat_2010.c.  See driver/kpi/README.md ("Kernel-interface eras")
 * for the DragonFly commits each mapping models.
 */
#ifndef _KPI_COMPAT_2010_ERA_H_
#define _KPI_COMPAT_2010_ERA_H_

#ifndef KPI_ERA
#define KPI_ERA	2010
#endif

#include <sys/param.h>
#include <sys/types.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/module.h>
#include <sys/malloc.h>
#include <sys/mbuf.h>
#include <sys/proc.h>
#include <sys/priv.h>
#include <sys/socket.h>
#include <sys/conf.h>
#include <sys/device.h>
#include <sys/devfs.h>
#include <sys/event.h>
#include <sys/filio.h>
#include <sys/sockio.h>
#include <sys/thread2.h>
#include <sys/ttycom.h>
#include <sys/poll.h>
#include <sys/signalvar.h>
#include <sys/filedesc.h>
#include <sys/sysctl.h>
#include <sys/uio.h>
#include <sys/vnode.h>
#include <sys/mplock2.h>
#include <sys/serialize.h>
#include <net/if.h>
#include <net/if_var.h>
#include <net/if_types.h>
#include <net/ifq_var.h>
#include <net/netisr.h>
#include <net/route.h>
#include <net/bpf.h>
#include <netinet/in.h>
#include "../kpi_compat.h"

/*
 * <sys/kernel.h>: a pseudo-device attached at load and never unloaded
 * (its module event refuses MOD_UNLOAD, as the kernel's did).
 */
#define PSEUDO_SET(sym, name)						\
static int								\
name ## _modevent(module_t mod __unused, int type, void *data)		\
{									\
	switch (type) {							\
	case MOD_LOAD:							\
		((void (*)(void *))data)(NULL);				\
		return (0);						\
	case MOD_UNLOAD:						\
		kprintf(#name ": pseudo-device, cannot unload\n");	\
		return (EINVAL);					\
	default:							\
		return (EOPNOTSUPP);					\
	}								\
}									\
static moduledata_t name ## _mod = {					\
	#name, name ## _modevent, (void *)(sym), NULL			\
};									\
DECLARE_MODULE(name, name ## _mod, SI_SUB_PSEUDO, SI_ORDER_ANY)

/* <sys/malloc.h>: the allocation macros */
#define MALLOC(space, cast, size, type, flags)				\
	((space) = (cast)kmalloc((size), (type), (flags)))
#define FREE(addr, type)	kfree((addr), (type))

/* <sys/mbuf.h>: the mbuf allocation flags had names of their own */
#define MB_DONTWAIT	M_NOWAIT
#define MB_TRYWAIT	M_WAITOK
#define MB_WAIT		M_WAITOK

/* <sys/devfs.h>: the "declaration" defined the bitmap */
#undef DEVFS_DECLARE_CLONE_BITMAP
#define DEVFS_DECLARE_CLONE_BITMAP(name)				\
	struct devfs_bitmap DEVFS_CLONE_BITMAP(name)

/* <sys/filedesc.h>: fgetown/funsetown took the sigio pointer itself */
#define fgetown(sigio)		kpi_compat_fgetown(sigio)
#define funsetown(sigio)	kpi_compat_funsetown(sigio)

/*
 * <net/if_var.h>: if_start had one argument (no subqueues).  The driver's
 * assignment lands in if_kpi_start1; if_attach() installs a two-argument
 * if_start that calls it.
 */
#define if_start		if_kpi_start1
#define if_attach(ifp, slz)	kpi_compat_if_attach((ifp), (slz))

/* the counters were plain fields, bumped with ++ under the serializer */
#undef if_ipackets
#undef if_ierrors
#undef if_opackets
#undef if_oerrors
#undef if_collisions
#undef if_ibytes
#undef if_obytes
#undef if_imcasts
#undef if_omcasts
#undef if_iqdrops
#undef if_noproto
#define if_ipackets	if_data_pcpu[mycpuid].ifd_ipackets
#define if_ierrors	if_data_pcpu[mycpuid].ifd_ierrors
#define if_opackets	if_data_pcpu[mycpuid].ifd_opackets
#define if_oerrors	if_data_pcpu[mycpuid].ifd_oerrors
#define if_collisions	if_data_pcpu[mycpuid].ifd_collisions
#define if_ibytes	if_data_pcpu[mycpuid].ifd_ibytes
#define if_obytes	if_data_pcpu[mycpuid].ifd_obytes
#define if_imcasts	if_data_pcpu[mycpuid].ifd_imcasts
#define if_omcasts	if_data_pcpu[mycpuid].ifd_omcasts
#define if_iqdrops	if_data_pcpu[mycpuid].ifd_iqdrops
#define if_noproto	if_data_pcpu[mycpuid].ifd_noproto

/* IF_DROP() of the send queue: struct ifaltq had an ifq_drops then */
#undef IF_DROP
#define IF_DROP(ifq)	_Generic((ifq),					\
	struct ifaltq *: kpi_compat_ifq_drop((struct ifaltq *)(void *)(ifq)), \
	default: (void)(((struct ifqueue *)(void *)(ifq))->ifq_drops++))

/* the transmit serializer of the (only) queue */
#define ifnet_serialize_tx(ifp)		kpi_compat_ifnet_serialize_tx(ifp)
#define ifnet_deserialize_tx(ifp)	kpi_compat_ifnet_deserialize_tx(ifp)

/*
 * <net/ifq_var.h>: one queue per interface; ifq_set_maxlen() set exactly
 * that limit, and a full queue refused the packet (ENOBUFS) instead of
 * dropping its oldest one.
 */
#define ifq_dequeue(ifq, mpolled)	kpi_compat_ifq_dequeue((ifq), (mpolled))
#define ifq_poll(ifq)			kpi_compat_ifq_poll(ifq)
#define ifq_set_maxlen(ifq, len)	kpi_compat_ifq_set_maxlen((ifq), (len))
#define ifq_handoff(ifp, m, pa)		kpi_compat_ifq_handoff((ifp), (m), (pa))

#endif /* !_KPI_COMPAT_2010_ERA_H_ */
