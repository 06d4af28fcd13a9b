/* kpi: DragonFly-named <net/route.h> (what an interface driver calls) */
#ifndef _NET_ROUTE_H_
#define _NET_ROUTE_H_
#include <sys/types.h>
#include <sys/socket.h>
struct ifnet;
struct rtentry {
	struct sockaddr	*rt_gateway;
	int		rt_flags;
	struct ifnet	*rt_ifp;
};
#define RTF_UP		0x1
#define RTF_GATEWAY	0x2
#define RTF_HOST	0x4
#define RTM_ADD		0x1
#define RTM_DELETE	0x2
void	rt_ifannouncemsg(struct ifnet *, int);
void	rt_ifmsg(struct ifnet *);
#endif
