/* kpi: DragonFly-named <sys/vnode.h> (I/O flags only) */
#ifndef _SYS_VNODE_H_
#define _SYS_VNODE_H_
#include <sys/types.h>
#define IO_UNIT		0x0001
#define IO_APPEND	0x0002
#define IO_SYNC		0x0004
#define IO_NODELOCKED	0x0008
#define IO_NDELAY	0x0010		/* FNDELAY flag set in file table */
#define IO_VMIO		0x0020
#define IO_INVAL	0x0040
#define IO_ASYNC	0x0080
#define IO_DIRECT	0x0100
#define IO_RECURSE	0x0200
#define IO_CORE		0x0400
struct vnode;
#endif
