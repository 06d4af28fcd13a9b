/* kpi: DragonFly-named <net/dlt.h> */
#ifndef _NET_DLT_H_
#define _NET_DLT_H_
#define DLT_NULL	0
#define DLT_EN10MB	1
#define DLT_RAW		12
#define DLT_LOOP	108
#endif
