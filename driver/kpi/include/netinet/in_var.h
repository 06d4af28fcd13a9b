/* kpi: DragonFly-named <netinet/in_var.h> */
#ifndef _NETINET_IN_VAR_H_
#define _NETINET_IN_VAR_H_
#include <sys/types.h>
#include <net/if_var.h>
#include <netinet/in.h>
struct in_aliasreq {
	char	ifra_name[IFNAMSIZ];
	struct	sockaddr_in ifra_addr;
	struct	sockaddr_in ifra_broadaddr;
#define ifra_dstaddr ifra_broadaddr
	struct	sockaddr_in ifra_mask;
};
struct in_ifaddr {
	struct	ifaddr ia_ifa;
#define ia_ifp		ia_ifa.ifa_ifp
#define ia_flags	ia_ifa.ifa_flags
	u_long	ia_net;
	u_long	ia_netmask;
	u_long	ia_subnet;
	u_long	ia_subnetmask;
	struct	in_addr ia_netbroadcast;
	struct	sockaddr_in ia_addr;
	struct	sockaddr_in ia_dstaddr;
#define ia_broadaddr	ia_dstaddr
	struct	sockaddr_in ia_sockmask;
	TAILQ_ENTRY(in_ifaddr) ia_kpi_link;	/* kpi: all IPv4 addresses */
};
#define ifatoia(ifa)	((struct in_ifaddr *)(ifa))
#define IA_SIN(ia)	(&(((struct in_ifaddr *)(ia))->ia_addr))
#endif
