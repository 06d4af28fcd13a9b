/* kpi: x86_64 machine parameters */
#ifndef _MACHINE_PARAM_H_
#define _MACHINE_PARAM_H_
#define MACHINE		"x86_64"
#define MACHINE_ARCH	"x86_64"
#define MAXCPU		64
#define PAGE_SHIFT	12
#define PAGE_SIZE	(1 << PAGE_SHIFT)
#define PAGE_MASK	(PAGE_SIZE - 1)
#define ALIGNBYTES	(sizeof(long) - 1)
#define _ALIGN(p)	(((unsigned long)(p) + ALIGNBYTES) & ~ALIGNBYTES)
#define ALIGN(p)	_ALIGN(p)
#define __cachealign_size 64
#endif
