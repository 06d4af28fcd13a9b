/*
 * Copyright (c) 2026 The tunlab authors.  All rights reserved.
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions
 * are met:
 * 1. Redistributions of source code must retain the above copyright
 *    notice, this list of conditions and the following disclaimer.
 * 2. Redistributions in binary form must reproduce the above copyright
 *    notice, this list of conditions and the following disclaimer in the
 *    documentation and/or other materials provided with the distribution.
 *
 * THIS SOFTWARE IS PROVIDED BY THE AUTHORS AND CONTRIBUTORS ``AS IS'' AND
 * ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
 * IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE
 * ARE DISCLAIMED.  IN NO EVENT SHALL THE AUTHORS OR CONTRIBUTORS BE LIABLE
 * FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
 * DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS
 * OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION)
 * HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT
 * LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY
 * OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF
 * SUCH DAMAGE.
 */

/*
 * tun(4): a point-to-point network interface whose other end is a
 * character device.  Packets the stack sends to tunN are read from
 * /dev/tunN; packets written to /dev/tunN enter the stack as if received.
 *
 * Units come from two places and always hold a bit in both unit bitmaps
 * (devfs's, for /dev/tunN, and if_clone's, for the interface):
 *  - an open of the /dev/tun autoclone node makes the lowest free unit,
 *    which is destroyed again by its last close;
 *  - "ifconfig tunN create" makes a unit that stays until
 *    "ifconfig tunN destroy".
 * Both paths create the interface through if_clone_create(), so the
 * cloner's bitmap and the interface group "tun" are always right.
 *
 * The behaviour implemented here is specified row by row in tunlab's
 * TUN-SPEC.md; driver/README.md maps each row to the code.
 */

#include "opt_inet.h"
#include "opt_inet6.h"

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/module.h>
#include <sys/malloc.h>
#include <sys/mbuf.h>
#include <sys/conf.h>
#include <sys/device.h>
#include <sys/devfs.h>
#include <sys/event.h>
#include <sys/filedesc.h>
#include <sys/filio.h>
#include <sys/proc.h>
#include <sys/priv.h>
#include <sys/signalvar.h>
#include <sys/socket.h>
#include <sys/sockio.h>
#include <sys/sysctl.h>
#include <sys/thread.h>
#include <sys/ttycom.h>
#include <sys/uio.h>
#include <sys/vnode.h>

#include <net/bpf.h>
#include <net/if.h>
#include <net/if_var.h>
#include <net/if_types.h>
#include <net/if_clone.h>
#include <net/ifq_var.h>
#include <net/netisr.h>

#include <netinet/in.h>

#include "if_tun.h"
#include "if_tunvar.h"

CTASSERT(sizeof(struct tuninfo) == 8);

/* Attempts of the last close to destroy a unit renamed under it. */
#define	TUN_DESTROY_TRIES	4

#define	TUNDEBUG(ifp, ...) do {						\
	if (tundebug)							\
		if_printf((ifp), __VA_ARGS__);				\
} while (0)

static d_open_t		tunopen;
static d_close_t	tunclose;
static d_read_t		tunread;
static d_write_t	tunwrite;
static d_ioctl_t	tunioctl;
static d_kqfilter_t	tunkqfilter;
static d_clone_t	tunclone;

static int	tun_clone_create(struct if_clone *, int, caddr_t, caddr_t);
static int	tun_clone_destroy(struct ifnet *);
static void	tun_destroy(struct tun_softc *);
static void	tun_autodestroy(cdev_t);
static void	tun_orphan_knotes(struct tun_softc *);
static int	tunoutput(struct ifnet *, struct mbuf *, struct sockaddr *,
		    struct rtentry *);
static void	tunstart(struct ifnet *, struct ifaltq_subque *);
static int	tunifioctl(struct ifnet *, u_long, caddr_t, struct ucred *);
static int	tun_uiotombuf(struct uio *, int, struct mbuf **);
static int	tun_sndq_full(struct ifaltq_subque *);
static int	tun_bpfwrite_af(struct mbuf **, uint32_t *);
static struct mbuf *tun_prefix(struct tun_softc *, struct mbuf *,
		    struct sockaddr *, uint32_t);
static void	tun_filter_detach(struct knote *);
static int	tun_filter_read(struct knote *, long);
static int	tun_filter_write(struct knote *, long);

static MALLOC_DEFINE(M_TUN, "tun", "tun(4) unit state");

static struct dev_ops tun_ops = {
	{ "tun", 0, D_MPSAFE },
	.d_open =	tunopen,
	.d_close =	tunclose,
	.d_read =	tunread,
	.d_write =	tunwrite,
	.d_ioctl =	tunioctl,
	.d_kqfilter =	tunkqfilter
};

static struct if_clone tun_cloner = IF_CLONE_INITIALIZER("tun",
    tun_clone_create, tun_clone_destroy, 0, IF_MAXUNIT);

static struct filterops tun_read_filtops = {
	.f_flags =	FILTEROP_ISFD | FILTEROP_MPSAFE,
	.f_detach =	tun_filter_detach,
	.f_event =	tun_filter_read
};

static struct filterops tun_write_filtops = {
	.f_flags =	FILTEROP_ISFD | FILTEROP_MPSAFE,
	.f_detach =	tun_filter_detach,
	.f_event =	tun_filter_write
};

/*
 * The token protects tun_softc_list, si_drv1 of every /dev/tunN,
 * tun_state of every unit, tun_building and tun_unloading.
 */
static struct lwkt_token tun_token = LWKT_TOKEN_INITIALIZER(tun_token);
static TAILQ_HEAD(, tun_softc) tun_softc_list =
    TAILQ_HEAD_INITIALIZER(tun_softc_list);
static int	tun_building;	/* creations under way; unload waits */
static int	tun_unloading;	/* no new units once set */
static cdev_t	tun_autodev;	/* the /dev/tun autoclone node */
static DEVFS_DEFINE_CLONE_BITMAP(tun);

static int	tundebug;

SYSCTL_DECL(_net_link);
static SYSCTL_NODE(_net_link, OID_AUTO, tun, CTLFLAG_RW, 0,
    "IP tunnel software network interface");
SYSCTL_INT(_net_link_tun, OID_AUTO, debug, CTLFLAG_RW, &tundebug, 0,
    "Print tun(4) debugging messages");

/*
 * if_clone create method, for both kinds of unit.  data is NULL for
 * "ifconfig tunN create"; tunclone() passes a cdev_t pointer there to
 * get the node it must hand back to devfs.
 */
static int
tun_clone_create(struct if_clone *ifc __unused, int unit,
    caddr_t params __unused, caddr_t data)
{
	struct tun_softc *sc;
	struct ifnet *ifp;
	cdev_t *devp = (cdev_t *)data;
	cdev_t dev;
	int error = 0;

	lwkt_gettoken(&tun_token);
	if (tun_unloading) {
		error = ENXIO;
	} else if (devp == NULL &&
	    devfs_clone_bitmap_set(&DEVFS_CLONE_BITMAP(tun), unit) != 0) {
		/* An open of /dev/tun holds this unit number. */
		error = EEXIST;
	} else {
		++tun_building;
	}
	lwkt_reltoken(&tun_token);
	if (error)
		return (error);

	sc = kmalloc(sizeof(*sc), M_TUN, M_WAITOK | M_ZERO);
	sc->tun_unit = unit;
	if (devp == NULL) {
		dev = make_dev(&tun_ops, unit, UID_UUCP, GID_DIALER, 0600,
		    "tun%d", unit);
		/* destroy_dev() needs a reference of our own. */
		reference_dev(dev);
		sc->tun_state = TUN_MANUAL;
	} else {
		dev = make_only_dev(&tun_ops, unit, UID_UUCP, GID_DIALER,
		    0600, "tun%d", unit);
		*devp = dev;
	}
	sc->tun_dev = dev;

	ifp = &sc->tun_if;
	ifp->if_softc = sc;
	if_initname(ifp, "tun", unit);
	ifp->if_mtu = TUNMTU;
	ifp->if_type = IFT_PPP;
	ifp->if_flags = IFF_POINTOPOINT | IFF_MULTICAST;
	ifp->if_output = tunoutput;
	ifp->if_start = tunstart;
	ifp->if_ioctl = tunifioctl;
	ifq_set_maxlen(&ifp->if_snd, ifqmaxlen);
	ifq_set_ready(&ifp->if_snd);
	if_attach(ifp, NULL);
	bpfattach(ifp, DLT_NULL, sizeof(uint32_t));

	lwkt_gettoken(&tun_token);
	dev->si_drv1 = sc;
	TAILQ_INSERT_TAIL(&tun_softc_list, sc, tun_link);
	--tun_building;
	lwkt_reltoken(&tun_token);

	TUNDEBUG(ifp, "created (%s)\n", devp == NULL ? "ifconfig" : "open");
	return (0);
}

/*
 * if_clone destroy method.  "ifconfig tunN destroy" may only destroy a
 * closed unit it made itself; the last close of an autocloned unit comes
 * here too, with TUN_CLOSEDESTROY set.
 */
static int
tun_clone_destroy(struct ifnet *ifp)
{
	struct tun_softc *sc;
	int error = 0;

	lwkt_gettoken(&tun_token);
	/* Match by address: ifp may be stale if two destroys raced. */
	TAILQ_FOREACH(sc, &tun_softc_list, tun_link) {
		if (&sc->tun_if == ifp)
			break;
	}
	if (sc == NULL) {
		error = ENXIO;
	} else if (sc->tun_state & TUN_OPEN) {
		error = EBUSY;
	} else if ((sc->tun_state & (TUN_MANUAL | TUN_CLOSEDESTROY)) == 0) {
		error = EINVAL;
	} else {
		TAILQ_REMOVE(&tun_softc_list, sc, tun_link);
		sc->tun_dev->si_drv1 = NULL;
	}
	lwkt_reltoken(&tun_token);
	if (error)
		return (error);

	tun_destroy(sc);
	return (0);
}

/*
 * Tear down a unit that is closed and no longer reachable through the
 * list or its device node.
 */
static void
tun_destroy(struct tun_softc *sc)
{
	struct ifnet *ifp = &sc->tun_if;
	int unit = sc->tun_unit;

	TUNDEBUG(ifp, "destroyed\n");

	/* if_detach() frees the subqueues without draining them. */
	ifnet_serialize_all(ifp);
	ifq_purge_all(&ifp->if_snd);
	ifnet_deserialize_all(ifp);

	bpfdetach(ifp);
	if_detach(ifp);

	tun_orphan_knotes(sc);
	funsetown(&sc->tun_sigio);

	/* Drop the reference tun_clone_create() took for an ifconfig unit. */
	if (sc->tun_state & TUN_MANUAL)
		release_dev(sc->tun_dev);
	destroy_dev(sc->tun_dev);
	/* Only now may a new open of /dev/tun get this unit again. */
	devfs_clone_bitmap_put(&DEVFS_CLONE_BITMAP(tun), unit);

	kfree(sc, M_TUN);
}

/*
 * Knotes normally leave with their file before the last close.  Any left
 * over lose their softc and report EOF instead of touching freed memory.
 */
static void
tun_orphan_knotes(struct tun_softc *sc)
{
	struct klist *klist = &sc->tun_rkq.ki_note;
	struct knote *kn;

	ifnet_serialize_all(&sc->tun_if);
	while ((kn = SLIST_FIRST(klist)) != NULL) {
		knote_remove(klist, kn);
		kn->kn_hook = NULL;
	}
	ifnet_deserialize_all(&sc->tun_if);
}

/*
 * devfs clone handler for /dev/tun: make the lowest unit free in both
 * bitmaps and return its node, which devfs then opens.
 */
static int
tunclone(struct dev_clone_args *ap)
{
	struct tun_softc *sc;
	char name[IFNAMSIZ];
	cdev_t dev = NULL;
	int unit, error = 0;

	lwkt_gettoken(&tun_token);
	if (tun_unloading)
		error = ENXIO;
	else
		++tun_building;
	lwkt_reltoken(&tun_token);
	if (error)
		return (error);

	unit = devfs_clone_bitmap_get(&DEVFS_CLONE_BITMAP(tun), IF_MAXUNIT);
	if (unit < 0) {
		error = ENOSPC;
		goto done;
	}
	ksnprintf(name, sizeof(name), "tun%d", unit);
	error = if_clone_create(name, sizeof(name), NULL, (caddr_t)&dev);
	if (error == 0) {
		ap->a_dev = dev;
	} else if (dev == NULL) {
		devfs_clone_bitmap_put(&DEVFS_CLONE_BITMAP(tun), unit);
	} else {
		/* if_clone failed after our create method: undo the unit. */
		lwkt_gettoken(&tun_token);
		sc = dev->si_drv1;
		if (sc != NULL) {
			TAILQ_REMOVE(&tun_softc_list, sc, tun_link);
			dev->si_drv1 = NULL;
		}
		lwkt_reltoken(&tun_token);
		if (sc != NULL)
			tun_destroy(sc);
	}
done:
	lwkt_gettoken(&tun_token);
	--tun_building;
	lwkt_reltoken(&tun_token);
	return (error);
}

static int
tunopen(struct dev_open_args *ap)
{
	cdev_t dev = ap->a_head.a_dev;
	struct tun_softc *sc;
	int error;

	error = priv_check_cred(ap->a_cred, PRIV_ROOT, 0);
	if (error) {
		/* devfs has already cloned a unit for us: undo that. */
		tun_autodestroy(dev);
		return (error);
	}

	lwkt_gettoken(&tun_token);
	sc = dev->si_drv1;
	if (sc == NULL) {
		error = ENXIO;
	} else if (sc->tun_state & TUN_OPEN) {
		error = EBUSY;
	} else {
		ifnet_serialize_all(&sc->tun_if);
		sc->tun_state |= TUN_OPEN;
		sc->tun_state &= ~TUN_CLOSEDESTROY;
		/* I7: the opener, until TUNSIFPID names another. */
		sc->tun_pid = curproc->p_pid;
		ifnet_deserialize_all(&sc->tun_if);
		TUNDEBUG(&sc->tun_if, "open\n");
	}
	lwkt_reltoken(&tun_token);
	return (error);
}

static int
tunclose(struct dev_close_args *ap)
{
	cdev_t dev = ap->a_head.a_dev;
	struct tun_softc *sc;
	struct ifnet *ifp;

	lwkt_gettoken(&tun_token);
	sc = dev->si_drv1;
	if (sc == NULL) {
		lwkt_reltoken(&tun_token);
		return (0);
	}
	ifp = &sc->tun_if;

	ifnet_serialize_all(ifp);
	sc->tun_state &= ~TUN_OPEN;
	/* Each open starts in plain mode with nothing queued. */
	sc->tun_flags = 0;
	sc->tun_pid = 0;
	ifq_purge_all(&ifp->if_snd);
	KNOTE(&sc->tun_rkq.ki_note, 0);
	ifnet_deserialize_all(ifp);
	funsetown(&sc->tun_sigio);
	TUNDEBUG(ifp, "closed\n");

	if (sc->tun_state & TUN_MANUAL) {
		/* The interface stays, down and without addresses. */
		if (ifp->if_flags & IFF_UP)
			if_down(ifp);
		ifnet_serialize_all(ifp);
		ifp->if_flags &= ~IFF_RUNNING;
		ifnet_deserialize_all(ifp);
		if_purgeaddrs_nolink(ifp);
		lwkt_reltoken(&tun_token);
		return (0);
	}
	lwkt_reltoken(&tun_token);

	tun_autodestroy(dev);
	return (0);
}

/*
 * Destroy the autocloned unit behind dev unless it is open again: through
 * if_clone_destroy(), so the cloner frees its unit bit, and by the unit's
 * current name, so a renamed unit goes too.  A rename racing with us makes
 * the lookup fail with ENXIO: try again with the new name.  A new open of
 * /dev/tunN in between wins (EBUSY); its own close destroys the unit.
 */
static void
tun_autodestroy(cdev_t dev)
{
	struct tun_softc *sc;
	char name[IFNAMSIZ];
	int tries;

	for (tries = 0; tries < TUN_DESTROY_TRIES; ++tries) {
		lwkt_gettoken(&tun_token);
		sc = dev->si_drv1;
		if (sc == NULL ||
		    (sc->tun_state & (TUN_OPEN | TUN_MANUAL)) != 0) {
			lwkt_reltoken(&tun_token);
			break;
		}
		ifnet_serialize_all(&sc->tun_if);
		sc->tun_state |= TUN_CLOSEDESTROY;
		ifnet_deserialize_all(&sc->tun_if);
		strlcpy(name, sc->tun_if.if_xname, sizeof(name));
		lwkt_reltoken(&tun_token);

		if (if_clone_destroy(name) != ENXIO)
			break;
	}
}

/*
 * Stack -> program.  Prefix the packet as the current mode asks and
 * queue it for read(); refuse rather than push out older packets when
 * the queue is full.
 */
static int
tunoutput(struct ifnet *ifp, struct mbuf *m, struct sockaddr *dst,
    struct rtentry *rt __unused)
{
	struct tun_softc *sc = ifp->if_softc;
	struct ifaltq_subque *ifsq;
	struct altq_pktattr pktattr;
	struct sockaddr unspec;
	uint32_t af;
	int error;

	ifnet_serialize_all(ifp);

	if ((sc->tun_state & TUN_OPEN) == 0 || (ifp->if_flags & IFF_UP) == 0) {
		error = EHOSTDOWN;
		goto drop;
	}

	af = dst->sa_family;
	if (af == AF_UNSPEC) {
		error = tun_bpfwrite_af(&m, &af);
		if (error) {
			if (m == NULL)
				goto fail;
			goto drop;
		}
		bzero(&unspec, sizeof(unspec));
		unspec.sa_len = sizeof(unspec);
		unspec.sa_family = (sa_family_t)af;
		dst = &unspec;
	}
	if ((sc->tun_flags & (TUN_LMODE | TUN_IFHEAD)) == 0 && af != AF_INET) {
		error = EAFNOSUPPORT;
		goto drop;
	}

	if (ifp->if_bpf != NULL) {
		bpf_gettoken();
		if (ifp->if_bpf != NULL)
			bpf_ptap(ifp->if_bpf, m, &af, sizeof(af));
		bpf_reltoken();
	}

	/* ALTQ classifies on the network header, before any prefix. */
	ifq_classify(&ifp->if_snd, m, (uint8_t)af, &pktattr);

	if ((sc->tun_flags & (TUN_LMODE | TUN_IFHEAD)) != 0 &&
	    (m = tun_prefix(sc, m, dst, af)) == NULL) {
		error = ENOBUFS;
		goto fail;
	}

	ifsq = ifq_get_subq_default(&ifp->if_snd);
	if (tun_sndq_full(ifsq)) {
		IFNET_STAT_INC(ifp, oqdrops, 1);
		m_freem(m);
		ifnet_deserialize_all(ifp);
		return (ENOBUFS);
	}
	/* Counts obytes (and oqdrops on failure) and calls tunstart(). */
	error = ifq_handoff(ifp, m, &pktattr);
	if (error == 0)
		IFNET_STAT_INC(ifp, opackets, 1);
	ifnet_deserialize_all(ifp);
	return (error);

drop:
	m_freem(m);
fail:
	IFNET_STAT_INC(ifp, oerrors, 1);
	ifnet_deserialize_all(ifp);
	return (error);
}

/*
 * Link-layer mode prefixes the destination sockaddr, header mode the
 * family in network order.  NULL when M_PREPEND() failed (and freed m).
 * Out of line, as tun_bpfwrite_af().
 */
static __noinline struct mbuf *
tun_prefix(struct tun_softc *sc, struct mbuf *m, struct sockaddr *dst,
    uint32_t af)
{
	int len;

	if (sc->tun_flags & TUN_LMODE) {
		len = dst->sa_len != 0 ? dst->sa_len : (int)sizeof(*dst);
		M_PREPEND(m, len, M_NOWAIT);
		if (m != NULL)
			bcopy(dst, mtod(m, caddr_t), len);
	} else {
		M_PREPEND(m, sizeof(af), M_NOWAIT);
		af = htonl(af);
		if (m != NULL)
			bcopy(&af, mtod(m, caddr_t), sizeof(af));
	}
	return (m);
}

/*
 * bpf(4) write on DLT_NULL: a host-order family heads the packet.  Takes
 * it off into *afp; on failure *mp is NULL if the chain was freed.  Out of
 * line: tunoutput()'s common path stays small.
 */
static __noinline int
tun_bpfwrite_af(struct mbuf **mp, uint32_t *afp)
{
	struct mbuf *m = *mp;
	uint32_t af;

	if (m->m_pkthdr.len < (int)sizeof(af))
		return (EINVAL);
	if (m->m_len < (int)sizeof(af) &&
	    (m = *mp = m_pullup(m, sizeof(af))) == NULL)
		return (ENOBUFS);
	bcopy(mtod(m, caddr_t), &af, sizeof(af));
	m_adj(m, sizeof(af));
	if (af == AF_UNSPEC || af >= AF_MAX)
		return (EAFNOSUPPORT);
	*afp = af;
	return (0);
}

/*
 * Would the classic queue have to push out an older packet to take a new
 * one?  tun(4) refuses the new packet instead (ENOBUFS).  The limit is
 * ifqmaxlen itself: ifq_set_maxlen() adds per-cpu staging room to
 * ifsq_maxlen, which would let more than ifqmaxlen packets wait.
 */
static int
tun_sndq_full(struct ifaltq_subque *ifsq)
{
	return (ifsq->ifsq_len >= ifqmaxlen ||
	    ifsq->ifsq_bcnt >= ifsq->ifsq_maxbcnt);
}

/*
 * if_start method, called with the serializer held whenever a packet has
 * been queued.  The packet stays queued for read(); tell the readers.
 */
static void
tunstart(struct ifnet *ifp, struct ifaltq_subque *ifsq __unused)
{
	struct tun_softc *sc = ifp->if_softc;

	if (sc->tun_flags & TUN_RWAIT) {
		sc->tun_flags &= ~TUN_RWAIT;
		wakeup(sc);
	}
	if ((sc->tun_flags & TUN_ASYNC) && sc->tun_sigio != NULL)
		pgsigio(sc->tun_sigio, SIGIO, 0);
	KNOTE(&sc->tun_rkq.ki_note, 0);
}

/*
 * Interface ioctls, called by the generic layer with the serializer held.
 */
static int
tunifioctl(struct ifnet *ifp, u_long cmd, caddr_t data,
    struct ucred *cred __unused)
{
	struct tun_softc *sc = ifp->if_softc;
	struct ifreq *ifr = (struct ifreq *)data;
	struct ifstat *ifs;
	size_t len;
	int error = 0;

	switch (cmd) {
	case SIOCGIFSTATUS:
		if (sc->tun_pid != 0) {
			ifs = (struct ifstat *)data;
			len = strlen(ifs->ascii);
			ksnprintf(ifs->ascii + len, sizeof(ifs->ascii) - len,
			    "\tOpened by PID %d\n", sc->tun_pid);
		}
		break;
	case SIOCSIFADDR:
	case SIOCSIFDSTADDR:
		/* An address makes the link usable. */
		ifp->if_flags |= IFF_UP | IFF_RUNNING;
		break;
	case SIOCSIFFLAGS:
		if (ifp->if_flags & IFF_UP)
			ifp->if_flags |= IFF_RUNNING;
		else
			ifp->if_flags &= ~IFF_RUNNING;
		break;
	case SIOCSIFMTU:
		/* The generic layer has checked the range. */
		ifp->if_mtu = ifr->ifr_mtu;
		break;
	case SIOCADDMULTI:
	case SIOCDELMULTI:
		break;
	default:
		error = EINVAL;
		break;
	}
	return (error);
}

/*
 * Device ioctls.
 */
static int
tunioctl(struct dev_ioctl_args *ap)
{
	cdev_t dev = ap->a_head.a_dev;
	caddr_t data = ap->a_data;
	struct tun_softc *sc = dev->si_drv1;
	struct ifnet *ifp;
	struct tuninfo *tunp;
	struct ifreq *ifr;
	int error = 0;
	int mode;

	if (sc == NULL)
		return (ENXIO);
	ifp = &sc->tun_if;

	switch (ap->a_cmd) {
	case TUNSIFINFO:
		tunp = (struct tuninfo *)data;
		if (tunp->type != ifp->if_type)
			return (EPROTOTYPE);
		if (tunp->mtu < IF_MINMTU)
			return (EINVAL);
		ifnet_serialize_all(ifp);
		ifp->if_mtu = tunp->mtu;
		ifp->if_baudrate = tunp->baudrate;
		ifnet_deserialize_all(ifp);
		break;
	case TUNGIFINFO:
		tunp = (struct tuninfo *)data;
		tunp->mtu = (u_short)ifp->if_mtu;
		tunp->type = ifp->if_type;
		tunp->baudrate = (int)ifp->if_baudrate;
		tunp->dummy = 0;
		break;
	case TUNSDEBUG:
		tundebug = *(int *)data;
		break;
	case TUNGDEBUG:
		*(int *)data = tundebug;
		break;
	case TUNSLMODE:
		ifnet_serialize_all(ifp);
		if (*(int *)data) {
			sc->tun_flags |= TUN_LMODE;
			sc->tun_flags &= ~TUN_IFHEAD;
		} else {
			sc->tun_flags &= ~TUN_LMODE;
		}
		ifnet_deserialize_all(ifp);
		break;
	case TUNSIFHEAD:
		ifnet_serialize_all(ifp);
		if (*(int *)data) {
			sc->tun_flags |= TUN_IFHEAD;
			sc->tun_flags &= ~TUN_LMODE;
		} else {
			sc->tun_flags &= ~TUN_IFHEAD;
		}
		ifnet_deserialize_all(ifp);
		break;
	case TUNGIFHEAD:
		*(int *)data = (sc->tun_flags & TUN_IFHEAD) ? 1 : 0;
		break;
	case TUNSIFMODE:
		mode = *(int *)data;
		ifnet_serialize_all(ifp);
		if (ifp->if_flags & IFF_UP) {
			error = EBUSY;
		} else if ((mode & ~IFF_MULTICAST) != IFF_POINTOPOINT &&
		    (mode & ~IFF_MULTICAST) != IFF_BROADCAST) {
			error = EINVAL;
		} else {
			/* Exactly the flags asked for, IFF_MULTICAST too. */
			ifp->if_flags &= ~(IFF_POINTOPOINT | IFF_BROADCAST |
			    IFF_MULTICAST);
			ifp->if_flags |= mode;
		}
		ifnet_deserialize_all(ifp);
		break;
	case TUNSIFPID:
		ifnet_serialize_all(ifp);
		sc->tun_pid = curproc->p_pid;
		ifnet_deserialize_all(ifp);
		break;
	case TUNGIFNAME:
		ifr = (struct ifreq *)data;
		strlcpy(ifr->ifr_name, ifp->if_xname, sizeof(ifr->ifr_name));
		break;
	case FIONBIO:
		/* The file layer keeps O_NONBLOCK; reads see IO_NDELAY. */
		break;
	case FIOASYNC:
		ifnet_serialize_all(ifp);
		if (*(int *)data)
			sc->tun_flags |= TUN_ASYNC;
		else
			sc->tun_flags &= ~TUN_ASYNC;
		ifnet_deserialize_all(ifp);
		break;
	case FIONREAD:
		/* The next read's length, its tun header included. */
		ifnet_serialize_all(ifp);
		*(int *)data =
		    ifsq_poll_pktlen(ifq_get_subq_default(&ifp->if_snd));
		ifnet_deserialize_all(ifp);
		break;
	case FIOSETOWN:
		error = fsetown(*(int *)data, &sc->tun_sigio);
		break;
	case FIOGETOWN:
		*(int *)data = fgetown(&sc->tun_sigio);
		break;
	case TIOCSPGRP:
		/*
		 * Process groups are negative owners.  INT_MIN has no
		 * negation (and no process group has that id).
		 */
		if (*(int *)data == INT_MIN)
			error = ESRCH;
		else
			error = fsetown(-(*(int *)data), &sc->tun_sigio);
		break;
	case TIOCGPGRP:
		*(int *)data = -fgetown(&sc->tun_sigio);
		break;
	default:
		error = ENOTTY;
		break;
	}
	return (error);
}

/*
 * Hand the program one queued packet.  A short buffer gets the head of
 * the packet and the rest is dropped.
 */
static int
tunread(struct dev_read_args *ap)
{
	cdev_t dev = ap->a_head.a_dev;
	struct uio *uio = ap->a_uio;
	struct tun_softc *sc = dev->si_drv1;
	struct ifnet *ifp;
	struct ifaltq_subque *ifsq;
	struct mbuf *m;
	size_t len;
	int error = 0;

	if (sc == NULL)
		return (ENXIO);
	/* A zero-length read must not eat a packet. */
	if (uio->uio_resid == 0)
		return (0);
	ifp = &sc->tun_if;
	ifsq = ifq_get_subq_default(&ifp->if_snd);

	ifnet_serialize_all(ifp);
	while ((m = ifsq_dequeue(ifsq)) == NULL) {
		if (ap->a_ioflag & IO_NDELAY) {
			ifnet_deserialize_all(ifp);
			return (EWOULDBLOCK);
		}
		sc->tun_flags |= TUN_RWAIT;
		/*
		 * Interlock before giving up the serializer: a packet
		 * queued from here on wakes us even before we sleep.
		 */
		tsleep_interlock(sc, PCATCH);
		ifnet_deserialize_all(ifp);
		error = tsleep(sc, PCATCH | PINTERLOCKED, "tunread", 0);
		if (error)
			return (error);
		ifnet_serialize_all(ifp);
	}
	ifnet_deserialize_all(ifp);

	while (m != NULL && uio->uio_resid > 0 && error == 0) {
		len = m->m_len;
		if (len > uio->uio_resid)
			len = uio->uio_resid;
		if (len > 0)
			error = uiomove(mtod(m, caddr_t), len, uio);
		m = m_free(m);
	}
	if (m != NULL) {
		TUNDEBUG(ifp, "dropped %d bytes of a packet on read\n",
		    m->m_pkthdr.len);
		m_freem(m);
	}
	return (error);
}

/*
 * Program -> stack.  One write is one packet, prefixed by a 4-byte family
 * in network order in header mode, plain IPv4 otherwise.
 */
static int
tunwrite(struct dev_write_args *ap)
{
	cdev_t dev = ap->a_head.a_dev;
	struct uio *uio = ap->a_uio;
	struct tun_softc *sc = dev->si_drv1;
	struct ifnet *ifp;
	struct mbuf *m;
	uint32_t af;
	size_t resid;
	int hlen, isr, error;

	if (sc == NULL)
		return (ENXIO);
	resid = uio->uio_resid;
	if (resid == 0)
		return (0);
	ifp = &sc->tun_if;

	hlen = 0;
	if (sc->tun_flags & TUN_IFHEAD) {
		hlen = sizeof(af);
		if (resid < sizeof(af))
			return (EINVAL);
	}
	if (resid > (size_t)(TUNMRU + hlen))
		return (EIO);

	error = tun_uiotombuf(uio, (int)resid, &m);
	if (error) {
		IFNET_STAT_INC(ifp, ierrors, 1);
		return (error);
	}

	if (hlen != 0) {
		/* The first mbuf holds at least MHLEN bytes. */
		bcopy(mtod(m, caddr_t), &af, sizeof(af));
		af = ntohl(af);
		m_adj(m, hlen);
	} else {
		af = AF_INET;
	}

	switch (af) {
#ifdef INET
	case AF_INET:
		isr = NETISR_IP;
		break;
#endif
#ifdef INET6
	case AF_INET6:
		isr = NETISR_IPV6;
		break;
#endif
	default:
		/* The whole chain, not just its first mbuf. */
		m_freem(m);
		IFNET_STAT_INC(ifp, noproto, 1);
		return (EAFNOSUPPORT);
	}

	m->m_pkthdr.rcvif = ifp;
	if (ifp->if_bpf != NULL) {
		bpf_gettoken();
		if (ifp->if_bpf != NULL)
			bpf_ptap(ifp->if_bpf, m, &af, sizeof(af));
		bpf_reltoken();
	}
	IFNET_STAT_INC(ifp, ipackets, 1);
	IFNET_STAT_INC(ifp, ibytes, m->m_pkthdr.len);

	/* netisr_queue() frees the packet when it fails. */
	error = netisr_queue(isr, m);
	if (error)
		IFNET_STAT_INC(ifp, iqdrops, 1);
	return (error);
}

/*
 * Copy len bytes of a write into as few mbufs as possible: one mbuf or
 * one cluster up to MCLBYTES, page-sized clusters beyond, and exactly
 * one uiomove() per mbuf.
 */
static int
tun_uiotombuf(struct uio *uio, int len, struct mbuf **mp)
{
	struct mbuf *top = NULL, *m, **np = &top;
	int flags = M_PKTHDR;
	int resid = len;
	int size, mlen, error = 0;

	/* Most packets fit the header mbuf: skip the size classes. */
	if (len <= MHLEN) {
		if ((top = m_gethdr(M_WAITOK, MT_DATA)) == NULL) {
			error = ENOBUFS;
			goto fail;
		}
		error = uiomove(mtod(top, caddr_t), len, uio);
		if (error)
			goto fail;
		top->m_len = len;
		top->m_pkthdr.len = len;
		*mp = top;
		return (0);
	}
	while (resid > 0) {
		m = m_getlj(resid, M_WAITOK, MT_DATA, flags, &size);
		if (m == NULL) {
			error = ENOBUFS;
			goto fail;
		}
		*np = m;
		np = &m->m_next;
		mlen = imin(size, resid);
		error = uiomove(mtod(m, caddr_t), mlen, uio);
		if (error)
			goto fail;
		m->m_len = mlen;
		resid -= mlen;
		flags = 0;
	}
	top->m_pkthdr.len = len;
	*mp = top;
	return (0);

fail:
	if (top != NULL)
		m_freem(top);
	*mp = NULL;
	return (error);
}

/*
 * kqueue: EVFILT_READ while a packet is queued, EVFILT_WRITE always.
 */
static int
tunkqfilter(struct dev_kqfilter_args *ap)
{
	cdev_t dev = ap->a_head.a_dev;
	struct knote *kn = ap->a_kn;
	struct tun_softc *sc = dev->si_drv1;

	ap->a_result = 0;
	if (sc == NULL) {
		ap->a_result = ENXIO;
		return (0);
	}

	switch (kn->kn_filter) {
	case EVFILT_READ:
		kn->kn_fop = &tun_read_filtops;
		break;
	case EVFILT_WRITE:
		kn->kn_fop = &tun_write_filtops;
		break;
	default:
		ap->a_result = EOPNOTSUPP;
		return (0);
	}

	/* knote_insert() locks the list; kqueue runs the filter after. */
	kn->kn_hook = (caddr_t)sc;
	knote_insert(&sc->tun_rkq.ki_note, kn);
	return (0);
}

static void
tun_filter_detach(struct knote *kn)
{
	struct tun_softc *sc = (struct tun_softc *)kn->kn_hook;

	if (sc == NULL)
		return;
	ifnet_serialize_all(&sc->tun_if);
	/* tun_orphan_knotes() may have taken it off meanwhile. */
	if (kn->kn_hook != NULL)
		knote_remove(&sc->tun_rkq.ki_note, kn);
	ifnet_deserialize_all(&sc->tun_if);
}

static int
tun_filter_read(struct knote *kn, long hint __unused)
{
	struct tun_softc *sc = (struct tun_softc *)kn->kn_hook;
	struct ifaltq_subque *ifsq;

	if (sc == NULL || (sc->tun_state & TUN_OPEN) == 0) {
		kn->kn_flags |= (EV_EOF | EV_NODATA);
		return (1);
	}
	ifsq = ifq_get_subq_default(&sc->tun_if.if_snd);
	kn->kn_data = ifsq_poll_pktlen(ifsq);
	return (!ifsq_is_empty(ifsq));
}

static int
tun_filter_write(struct knote *kn, long hint __unused)
{
	struct tun_softc *sc = (struct tun_softc *)kn->kn_hook;

	if (sc == NULL || (sc->tun_state & TUN_OPEN) == 0) {
		kn->kn_flags |= (EV_EOF | EV_NODATA);
		return (1);
	}
	/* Writes never block; report how much one packet may carry. */
	kn->kn_data = sc->tun_if.if_mtu;
	return (1);
}

static int
tun_modevent(module_t mod __unused, int type, void *data __unused)
{
	struct tun_softc *sc;
	int error = 0;

	switch (type) {
	case MOD_LOAD:
		tun_autodev = make_autoclone_dev(&tun_ops,
		    &DEVFS_CLONE_BITMAP(tun), tunclone, UID_UUCP, GID_DIALER,
		    0600, "tun");
		error = if_clone_attach(&tun_cloner);
		if (error)
			goto fail_cloner;
		break;

	case MOD_UNLOAD:
		lwkt_gettoken(&tun_token);
		if (tun_building != 0)
			error = EBUSY;
		TAILQ_FOREACH(sc, &tun_softc_list, tun_link) {
			if (sc->tun_state & TUN_OPEN)
				error = EBUSY;
		}
		if (error == 0)
			tun_unloading = 1;
		lwkt_reltoken(&tun_token);
		if (error)
			break;

		/* Neither ifconfig nor devfs can make units any more. */
		if_clone_detach(&tun_cloner);
		lwkt_gettoken(&tun_token);
		while ((sc = TAILQ_FIRST(&tun_softc_list)) != NULL) {
			TAILQ_REMOVE(&tun_softc_list, sc, tun_link);
			sc->tun_dev->si_drv1 = NULL;
			tun_destroy(sc);
		}
		lwkt_reltoken(&tun_token);
		destroy_autoclone_dev(tun_autodev, &DEVFS_CLONE_BITMAP(tun));
		tun_autodev = NULL;
		dev_ops_remove_all(&tun_ops);
		break;

	case MOD_SHUTDOWN:
		break;

	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);

fail_cloner:
	destroy_autoclone_dev(tun_autodev, &DEVFS_CLONE_BITMAP(tun));
	tun_autodev = NULL;
	dev_ops_remove_all(&tun_ops);
	return (error);
}

DEV_MODULE(if_tun, tun_modevent, NULL);
MODULE_VERSION(if_tun, 1);
