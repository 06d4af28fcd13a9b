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

#ifndef _NET_IF_TUNVAR_H_
#define	_NET_IF_TUNVAR_H_

#ifndef _KERNEL
#error "kernel-only header"
#endif

/*
 * Per-unit state.  One softc backs one tunN interface and its /dev/tunN
 * node.  tun_state changes with both the driver token and the interface
 * serializer held, so either is enough to read it; the list linkage and
 * tun_dev's si_drv1 belong to the token; tun_flags, tun_pid, the send
 * queue and the klist to the serializer.
 */
struct tun_softc {
	struct ifnet	tun_if;		/* the interface; must stay first */
	cdev_t		tun_dev;	/* /dev/tunN, holds a reference */
	int		tun_unit;	/* unit in both unit bitmaps */
	int		tun_state;	/* TUN_OPEN, TUN_MANUAL, ... */
	int		tun_flags;	/* per-open modes, reset by close */
	pid_t		tun_pid;	/* set by TUNSIFPID, 0 when unset */
	struct sigio	*tun_sigio;	/* SIGIO owner (FIOSETOWN) */
	struct kqinfo	tun_rkq;	/* knotes of both filters */
	TAILQ_ENTRY(tun_softc) tun_link; /* on tun_softc_list */
};

/* tun_state */
#define	TUN_OPEN	0x0001	/* /dev/tunN is open */
#define	TUN_MANUAL	0x0002	/* made by "ifconfig tunN create" */
#define	TUN_CLOSEDESTROY 0x0004	/* last close is destroying the unit */

/* tun_flags */
#define	TUN_RWAIT	0x0010	/* a reader sleeps on the softc */
#define	TUN_ASYNC	0x0020	/* FIOASYNC: SIGIO on each packet */
#define	TUN_LMODE	0x0040	/* TUNSLMODE: sockaddr before packets */
#define	TUN_IFHEAD	0x0080	/* TUNSIFHEAD: 4-byte family header */

#endif /* !_NET_IF_TUNVAR_H_ */
