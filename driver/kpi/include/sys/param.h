/* kpi: DragonFly-named <sys/param.h> */
#ifndef _SYS_PARAM_H_
#define _SYS_PARAM_H_

#include <sys/cdefs.h>
#include <sys/types.h>
#include <sys/errno.h>
#include <sys/limits.h>
#include <sys/signal.h>
#include <machine/param.h>

#define __DragonFly_version	600400	/* the target release (6.4) */
#define BSD		199506
#define MAXCOMLEN	16
#define MAXLOGNAME	33
#define MAXHOSTNAMELEN	256
#define MAXPATHLEN	1024
#define PATH_MAX	1024
#define SPECNAMELEN	63
#define NGROUPS		16
#define NOFILE		64
#define NOGROUP		65535
#define NBBY		8
#define NODEV		(dev_t)(-1)

#define PCATCH		0x00000100	/* tsleep checks signals */
#define PUSRFLAG1	0x00000200
#define PINTERLOCKED	0x00000400	/* interlocked tsleep */
#define PWAKEUP_CPUMASK	0x00003FFF
#define PWAKEUP_MYCPU	0x00004000
#define PWAKEUP_ONE	0x00008000
#define PDOMAIN_MASK	0xFFFF0000
#define PNORESCHED	0x00000800

#define MSIZE		512		/* size of an mbuf */
#define MCLSHIFT	11
#define MCLBYTES	(1 << MCLSHIFT)	/* size of an mbuf cluster */
#define MCLOFSET	(MCLBYTES - 1)
#define MJUMPAGESIZE	PAGE_SIZE
#define MJUM9BYTES	(9 * 1024)
#define MJUM16BYTES	(16 * 1024)

#define setbit(a, i)	(((unsigned char *)(a))[(i) / NBBY] |= 1 << ((i) % NBBY))
#define clrbit(a, i)	(((unsigned char *)(a))[(i) / NBBY] &= ~(1 << ((i) % NBBY)))
#define isset(a, i)	(((const unsigned char *)(a))[(i) / NBBY] & (1 << ((i) % NBBY)))
#define isclr(a, i)	((((const unsigned char *)(a))[(i) / NBBY] & (1 << ((i) % NBBY))) == 0)
#define howmany(x, y)	(((x) + ((y) - 1)) / (y))
#define nitems(x)	(sizeof((x)) / sizeof((x)[0]))
#define rounddown(x, y)	(((x) / (y)) * (y))
#define rounddown2(x, y) ((x) & ~((y) - 1))
#define roundup(x, y)	((((x) + ((y) - 1)) / (y)) * (y))
#define roundup2(x, y)	(((x) + ((y) - 1)) & (~((y) - 1)))
#define powerof2(x)	((((x) - 1) & (x)) == 0)
#define MIN(a, b)	(((a) < (b)) ? (a) : (b))
#define MAX(a, b)	(((a) > (b)) ? (a) : (b))

#include <sys/systm.h>

#endif /* !_SYS_PARAM_H_ */
