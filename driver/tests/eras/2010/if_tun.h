/*
 * if_tun.h - era fixture (2010): the ioctls of the time, for the kpi's
 * compat/2010 layer.  Written for tunlab's tests; see ../README.md.
 */
#ifndef _NET_IF_TUN_H_
#define _NET_IF_TUN_H_
#define	TUNMTU		1500
#define	TUNMRU		16384
#define	TUNSIFHEAD	_IOW('t', 96, int)
#define	TUNGIFHEAD	_IOR('t', 97, int)
#endif
