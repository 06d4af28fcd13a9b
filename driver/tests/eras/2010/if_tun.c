/*
 * if_tun.c - era fixture (2009-2017): the loopback pseudo-device of
 * ../2008, written against DragonFly's interfaces after devfs (2009) and
 * before interface cloning (2018), to exercise the kpi's compat/2010 layer
 * on every "make check".  Written for tunlab's tests, not a tun driver.
 *
 * What it uses of the time: "use_tun.h" (NTUN) and opt_*.h, PSEUDO_SET,
 * make_autoclone_dev() with a DEVFS_DECLARE_CLONE_BITMAP() (which defined
 * it) and pre-made units, a clone handler, d_kqfilter, MALLOC/FREE,
 * MB_DONTWAIT, lminor(), a one-argument if_start, ifnet_serialize_tx(ifp),
 * ifq_dequeue(ifq, NULL), ifq_poll(), IF_DROP() on the send queue,
 * fgetown()/funsetown() on the sigio pointer, if_opackets++.
 */
#include "use_tun.h"
#include "opt_inet.h"
#include "opt_atalk.h"

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/conf.h>
#include <sys/device.h>
#include <sys/devfs.h>
#include <sys/event.h>
#include <sys/filio.h>
#include <sys/kernel.h>
#include <sys/malloc.h>
#include <sys/mbuf.h>
#include <sys/proc.h>
#include <sys/signalvar.h>
#include <sys/filedesc.h>
#include <sys/socket.h>
#include <sys/thread2.h>
#include <sys/uio.h>

#include <net/if.h>
#include <net/if_types.h>
#include <net/ifq_var.h>

#include "if_tunvar.h"
#include "if_tun.h"

static MALLOC_DEFINE(M_TUN, "tun", "Era fixture 2010");

static void tunattach(void *);
PSEUDO_SET(tunattach, if_tun);

static d_open_t		tunopen;
static d_close_t	tunclose;
static d_read_t		tunread;
static d_write_t	tunwrite;
static d_ioctl_t	tunioctl;
static d_kqfilter_t	tunkqfilter;
static d_clone_t	tunclone;
DEVFS_DECLARE_CLONE_BITMAP(tun);

#if NTUN <= 1
#define TUN_PREMADE	4
#else
#define TUN_PREMADE	NTUN
#endif

static struct dev_ops tun_ops = {
	{ "tun", 0, 0 },
	.d_open =	tunopen,
	.d_close =	tunclose,
	.d_read =	tunread,
	.d_write =	tunwrite,
	.d_ioctl =	tunioctl,
	.d_kqfilter =	tunkqfilter,
};

static void
tunattach(void *dummy __unused)
{
	int i;

	make_autoclone_dev(&tun_ops, &DEVFS_CLONE_BITMAP(tun), tunclone,
	    UID_UUCP, GID_DIALER, 0600, "tun");
	for (i = 0; i < TUN_PREMADE; i++) {
		make_dev(&tun_ops, i, UID_UUCP, GID_DIALER, 0600, "tun%d", i);
		devfs_clone_bitmap_set(&DEVFS_CLONE_BITMAP(tun), i);
	}
}

static int
tunclone(struct dev_clone_args *ap)
{
	int unit;

	unit = devfs_clone_bitmap_get(&DEVFS_CLONE_BITMAP(tun), 0);
	ap->a_dev = make_only_dev(&tun_ops, unit, UID_UUCP, GID_DIALER, 0600,
	    "tun%d", unit);
	return (0);
}

static int
tunifoutput(struct ifnet *ifp __unused, struct mbuf *m,
    struct sockaddr *dst __unused, struct rtentry *rt __unused)
{
	m_freem(m);
	return (EHOSTDOWN);
}

static int
tunifioctl(struct ifnet *ifp __unused, u_long cmd __unused,
    caddr_t data __unused, struct ucred *cr __unused)
{
	return (0);
}

static void
tunstart(struct ifnet *ifp)
{
	struct tun_softc *sc = ifp->if_softc;

	sc->tun_starts++;
	ifnet_deserialize_tx(ifp);
	KNOTE(&sc->tun_rkq.ki_note, 0);
	ifnet_serialize_tx(ifp);
}

static int
tunopen(struct dev_open_args *ap)
{
	cdev_t dev = ap->a_head.a_dev;
	struct tun_softc *sc = dev->si_drv1;

	if (sc == NULL) {
		MALLOC(sc, struct tun_softc *, sizeof(*sc), M_TUN,
		    M_WAITOK | M_ZERO);
		if_initname(&sc->tun_if, "tun", lminor(dev));
		sc->tun_if.if_softc = sc;
		sc->tun_if.if_mtu = TUNMTU;
		sc->tun_if.if_type = IFT_PPP;
		sc->tun_if.if_flags = IFF_POINTOPOINT;
		sc->tun_if.if_output = tunifoutput;
		sc->tun_if.if_ioctl = tunifioctl;
		sc->tun_if.if_start = tunstart;
		ifq_set_maxlen(&sc->tun_if.if_snd, 3);
		ifq_set_ready(&sc->tun_if.if_snd);
		if_attach(&sc->tun_if, NULL);
		dev->si_drv1 = sc;
	}
	if (sc->tun_flags & TUN_OPEN)
		return (EBUSY);
	sc->tun_flags |= TUN_OPEN;
	sc->tun_pid = curproc->p_pid;
	return (0);
}

static int
tunclose(struct dev_close_args *ap)
{
	struct tun_softc *sc = ap->a_head.a_dev->si_drv1;

	ifnet_serialize_all(&sc->tun_if);
	ifq_purge(&sc->tun_if.if_snd);
	ifnet_deserialize_all(&sc->tun_if);
	sc->tun_flags &= ~TUN_OPEN;
	sc->tun_pid = 0;
	funsetown(sc->tun_sigio);
	KNOTE(&sc->tun_rkq.ki_note, 0);
	return (0);
}

static int
tunwrite(struct dev_write_args *ap)
{
	struct tun_softc *sc = ap->a_head.a_dev->si_drv1;
	struct ifnet *ifp = &sc->tun_if;
	struct uio *uio = ap->a_uio;
	struct mbuf *m;
	int error, len = (int)uio->uio_resid;

	if (len <= 0 || len > MHLEN)
		return (EIO);
	MGETHDR(m, MB_DONTWAIT, MT_DATA);
	if (m == NULL)
		return (ENOBUFS);
	error = uiomove(mtod(m, caddr_t), (size_t)len, uio);
	if (error) {
		m_freem(m);
		return (error);
	}
	m->m_len = m->m_pkthdr.len = len;
	ifnet_serialize_all(ifp);
	error = ifq_handoff(ifp, m, NULL);
	if (error) {
		IF_DROP(&ifp->if_snd);
		ifp->if_oerrors++;
	} else {
		ifp->if_opackets++;
	}
	ifnet_deserialize_all(ifp);
	return (error);
}

static int
tunread(struct dev_read_args *ap)
{
	struct tun_softc *sc = ap->a_head.a_dev->si_drv1;
	struct ifnet *ifp = &sc->tun_if;
	struct mbuf *m;
	int error;

	ifnet_serialize_all(ifp);
	m = ifq_dequeue(&ifp->if_snd, NULL);
	ifnet_deserialize_all(ifp);
	if (m == NULL)
		return (EWOULDBLOCK);
	error = uiomove(mtod(m, caddr_t),
	    szmin((size_t)m->m_len, ap->a_uio->uio_resid), ap->a_uio);
	m_freem(m);
	return (error);
}

static int
tunioctl(struct dev_ioctl_args *ap)
{
	struct tun_softc *sc = ap->a_head.a_dev->si_drv1;
	struct mbuf *m;

	switch (ap->a_cmd) {
	case FIONREAD:
		ifnet_serialize_all(&sc->tun_if);
		m = ifq_poll(&sc->tun_if.if_snd);
		*(int *)ap->a_data = m ? m->m_pkthdr.len : 0;
		ifnet_deserialize_all(&sc->tun_if);
		return (0);
	case FIOSETOWN:
		return (fsetown(*(int *)ap->a_data, &sc->tun_sigio));
	case FIOGETOWN:
		*(int *)ap->a_data = fgetown(sc->tun_sigio);
		return (0);
	case TUNSIFHEAD:
		if (*(int *)ap->a_data)
			sc->tun_flags |= TUN_IFHEAD;
		else
			sc->tun_flags &= ~TUN_IFHEAD;
		return (0);
	case TUNGIFHEAD:
		*(int *)ap->a_data = (sc->tun_flags & TUN_IFHEAD) != 0;
		return (0);
	}
	return (ENOTTY);
}

static void
tun_filter_detach(struct knote *kn)
{
	struct tun_softc *sc = (struct tun_softc *)kn->kn_hook;

	knote_remove(&sc->tun_rkq.ki_note, kn);
}

static int
tun_filter_read(struct knote *kn, long hint __unused)
{
	struct tun_softc *sc = (struct tun_softc *)kn->kn_hook;
	int ready;

	ifnet_serialize_all(&sc->tun_if);
	ready = !ifq_is_empty(&sc->tun_if.if_snd);
	ifnet_deserialize_all(&sc->tun_if);
	return (ready);
}

static int
tun_filter_write(struct knote *kn __unused, long hint __unused)
{
	return (1);
}

static struct filterops tun_read_filtops =
	{ FILTEROP_ISFD, NULL, tun_filter_detach, tun_filter_read };
static struct filterops tun_write_filtops =
	{ FILTEROP_ISFD, NULL, tun_filter_detach, tun_filter_write };

static int
tunkqfilter(struct dev_kqfilter_args *ap)
{
	struct tun_softc *sc = ap->a_head.a_dev->si_drv1;
	struct knote *kn = ap->a_kn;

	ap->a_result = 0;
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
	kn->kn_hook = (caddr_t)sc;
	knote_insert(&sc->tun_rkq.ki_note, kn);
	return (0);
}
