/* kpi: DragonFly-named <net/if_types.h> (the types tun can meet) */
#ifndef _NET_IF_TYPES_H_
#define _NET_IF_TYPES_H_
#define IFT_OTHER	0x1
#define IFT_ETHER	0x6
#define IFT_PPP		0x17
#define IFT_LOOP	0x18
#define IFT_SLIP	0x1c
#define IFT_PROPVIRTUAL	0x35
#define IFT_L2VLAN	0x87
#define IFT_TUNNEL	0x83
#define IFT_GIF		0xf0
#define IFT_FAITH	0xf2
#define IFT_STF		0xf3
#define IFT_PFLOG	0xf5
#define IFT_PFSYNC	0xf6
#endif
