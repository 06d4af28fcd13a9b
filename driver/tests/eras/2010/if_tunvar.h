/*
 * if_tunvar.h - era fixture (2010): the softc, with the embedded ifnet and
 * the kqinfo of a kqueue driver.
 */
#ifndef _NET_IF_TUNVAR_H_
#define _NET_IF_TUNVAR_H_
struct tun_softc {
	u_short		tun_flags;
#define	TUN_OPEN	0x0001
#define	TUN_IFHEAD	0x0002
	pid_t		tun_pid;
	int		tun_starts;	/* if_start calls */
	struct ifnet	tun_if;
	struct sigio	*tun_sigio;
	struct kqinfo	tun_rkq;
};
#endif
