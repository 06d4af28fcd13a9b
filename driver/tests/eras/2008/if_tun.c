/*
 * if_tun.c - era fixture (2008): a loopback pseudo-device written against
 * DragonFly's interfaces of 2008, to exercise the kpi's compat/2008 layer
 * on every "make check" without DragonFly's sources.  Written for tunlab's
 * tests, not a tun driver: a write queues the packet on the interface's
 * send queue (ifq_handoff), a read takes it back.
 *
 * What it uses of the time: PSEUDO_SET, dev_ops_add() and a major number,
 * make_dev() on the (major, minor) the node already has, d_poll with
 * selrecord()/selwakeup(), MALLOC, MB_DONTWAIT, lminor(), a one-argument
 * if_start, if_attach(ifp, NULL), ifq_dequeue(ifq, NULL), ifq_poll(),
 * fgetown()/funsetown() on the sigio pointer, if_opackets++.
 */
#include "opt_inet.h"
#include "opt_ipx.h"

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/conf.h>
#include <sys/device.h>
#include <sys/filio.h>
#include <sys/kernel.h>
#include <sys/malloc.h>
#include <sys/mbuf.h>
#include <sys/poll.h>
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

static MALLOC_DEFINE(M_TUN, "tun", "Era fixture 2008");

static void tunattach(void *);
PSEUDO_SET(tunattach, if_tun);

static d_open_t		tunopen;
static d_close_t	tunclose;
static d_read_t		tunread;
static d_write_t	tunwrite;
static d_ioctl_t	tunioctl;
static d_poll_t		tunpoll;

#define CDEV_MAJOR 52
static struct dev_ops tun_ops = {
	{ "tun", CDEV_MAJOR, 0 },
	.d_open =	tunopen,
	.d_close =	tunclose,
	.d_read =	tunread,
	.d_write =	tunwrite,
	.d_ioctl =	tunioctl,
	.d_poll =	tunpoll,
};

static void
tunattach(void *dummy __unused)
{
	dev_ops_add(&tun_ops, 0, 0);
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
	selwakeup(&sc->tun_rsel);
}

static int
tunopen(struct dev_open_args *ap)
{
	cdev_t dev = ap->a_head.a_dev;
	struct tun_softc *sc = dev->si_drv1;
	cdev_t ndev;

	if (sc == NULL) {
		ndev = make_dev(&tun_ops, minor(dev), UID_UUCP, GID_DIALER,
		    0600, "tun%d", lminor(dev));
		KKASSERT(ndev == dev);
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

	lwkt_serialize_enter(sc->tun_if.if_serializer);
	ifq_purge(&sc->tun_if.if_snd);
	lwkt_serialize_exit(sc->tun_if.if_serializer);
	sc->tun_flags &= ~TUN_OPEN;
	sc->tun_pid = 0;
	funsetown(sc->tun_sigio);
	selwakeup(&sc->tun_rsel);
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
	lwkt_serialize_enter(ifp->if_serializer);
	error = ifq_handoff(ifp, m, NULL);
	if (error)
		ifp->if_collisions++;
	else
		ifp->if_opackets++;
	lwkt_serialize_exit(ifp->if_serializer);
	return (error);
}

static int
tunread(struct dev_read_args *ap)
{
	struct tun_softc *sc = ap->a_head.a_dev->si_drv1;
	struct ifnet *ifp = &sc->tun_if;
	struct mbuf *m;
	int error = 0;

	lwkt_serialize_enter(ifp->if_serializer);
	m = ifq_dequeue(&ifp->if_snd, NULL);
	lwkt_serialize_exit(ifp->if_serializer);
	if (m == NULL)
		return (EWOULDBLOCK);
	error = uiomove(mtod(m, caddr_t),
	    (size_t)min(m->m_len, (int)ap->a_uio->uio_resid), ap->a_uio);
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
		lwkt_serialize_enter(sc->tun_if.if_serializer);
		m = ifq_poll(&sc->tun_if.if_snd);
		*(int *)ap->a_data = m ? m->m_pkthdr.len : 0;
		lwkt_serialize_exit(sc->tun_if.if_serializer);
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

static int
tunpoll(struct dev_poll_args *ap)
{
	struct tun_softc *sc = ap->a_head.a_dev->si_drv1;
	struct ifnet *ifp = &sc->tun_if;
	int revents = 0;

	lwkt_serialize_enter(ifp->if_serializer);
	if (ap->a_events & (POLLIN | POLLRDNORM)) {
		if (!ifq_is_empty(&ifp->if_snd))
			revents |= ap->a_events & (POLLIN | POLLRDNORM);
		else
			selrecord(curthread, &sc->tun_rsel);
	}
	if (ap->a_events & (POLLOUT | POLLWRNORM))
		revents |= ap->a_events & (POLLOUT | POLLWRNORM);
	lwkt_serialize_exit(ifp->if_serializer);
	ap->a_events = revents;
	return (0);
}
