/* kpi: DragonFly-named <net/if_dl.h> */
#ifndef _NET_IF_DL_H_
#define _NET_IF_DL_H_
#include <sys/types.h>
struct sockaddr_dl {
	u_char	sdl_len;
	u_char	sdl_family;
	u_short	sdl_index;
	u_char	sdl_type;
	u_char	sdl_nlen;
	u_char	sdl_alen;
	u_char	sdl_slen;
	char	sdl_data[46];
	u_short	sdl_rcf;
	u_short	sdl_route[16];
};
#define LLADDR(s)	((caddr_t)((s)->sdl_data + (s)->sdl_nlen))
#endif
