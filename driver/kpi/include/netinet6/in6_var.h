/* kpi: DragonFly-named <netinet6/in6_var.h> */
#ifndef _NETINET6_IN6_VAR_H_
#define _NETINET6_IN6_VAR_H_
#include <sys/types.h>
#include <sys/ioccom.h>
#include <net/if_var.h>
#include <netinet/in.h>
struct in6_addrlifetime {
	time_t		ia6t_expire;
	time_t		ia6t_preferred;
	u_int32_t	ia6t_vltime;
	u_int32_t	ia6t_pltime;
};
struct in6_ifreq {
	char	ifr_name[IFNAMSIZ];
	union {
		struct	sockaddr_in6 ifru_addr;
		struct	sockaddr_in6 ifru_dstaddr;
		short	ifru_flags;
		int	ifru_flags6;
		int	ifru_metric;
		caddr_t	ifru_data;
		struct in6_addrlifetime ifru_lifetime;
		u_int32_t ifru_scope_id[16];
	} ifr_ifru;
};
struct in6_aliasreq {
	char	ifra_name[IFNAMSIZ];
	struct	sockaddr_in6 ifra_addr;
	struct	sockaddr_in6 ifra_dstaddr;
	struct	sockaddr_in6 ifra_prefixmask;
	int	ifra_flags;
	struct in6_addrlifetime ifra_lifetime;
};
struct in6_ifaddr {
	struct	ifaddr ia_ifa;
	struct	sockaddr_in6 ia_addr;
	struct	sockaddr_in6 ia_net;
	struct	sockaddr_in6 ia_dstaddr;
	struct	sockaddr_in6 ia_prefixmask;
	int	ia6_flags;
	TAILQ_ENTRY(in6_ifaddr) ia6_kpi_link;	/* kpi: all IPv6 addresses */
};
#define SIOCSIFADDR_IN6		_IOW('i', 12, struct in6_ifreq)
#define SIOCGIFADDR_IN6		_IOWR('i', 33, struct in6_ifreq)
#define SIOCDIFADDR_IN6		_IOW('i', 25, struct in6_ifreq)
#define SIOCAIFADDR_IN6		_IOW('i', 26, struct in6_aliasreq)
#define IN6_IFF_ANYCAST		0x01
#define IN6_IFF_TENTATIVE	0x02
#define IN6_IFF_NODAD		0x20
#endif
