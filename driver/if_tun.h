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
 * tun(4) user interface.  The ioctl numbers and struct tuninfo are
 * DragonFly's ABI (sys/net/tun/if_tun.h) and must not change: programs
 * built against the stock header talk to this driver.  FreeBSD, NetBSD
 * and OpenBSD number these differently.
 *
 * TUNGIFNAME takes a struct ifreq: include <net/if.h> before using it.
 */

#ifndef _NET_IF_TUN_H_
#define	_NET_IF_TUN_H_

#include <sys/ioccom.h>

#define	TUNMTU		1500	/* default interface MTU */
#define	TUNMRU		65535	/* largest packet a write may carry */

struct tuninfo {
	int	baudrate;	/* line speed */
	u_short	mtu;		/* maximum transmission unit */
	u_char	type;		/* interface type, IFT_PPP only */
	u_char	dummy;		/* pad to 8 bytes */
};

#define	TUNGDEBUG	_IOR('t', 89, int)		/* 0x40047459 */
#define	TUNSDEBUG	_IOW('t', 90, int)		/* 0x8004745a */
#define	TUNSIFINFO	_IOW('t', 91, struct tuninfo)	/* 0x8008745b */
#define	TUNGIFINFO	_IOR('t', 92, struct tuninfo)	/* 0x4008745c */
#define	TUNSLMODE	_IOW('t', 93, int)		/* 0x8004745d */
#define	TUNSIFMODE	_IOW('t', 94, int)		/* 0x8004745e */
#define	TUNSIFPID	_IO('t', 95)			/* 0x2000745f */
#define	TUNSIFHEAD	_IOW('t', 96, int)		/* 0x80047460 */
#define	TUNGIFHEAD	_IOR('t', 97, int)		/* 0x40047461 */
#define	TUNGIFNAME	_IOR('t', 98, struct ifreq)	/* 0x40207462 */

#endif /* !_NET_IF_TUN_H_ */
