/* kpi: DragonFly-named <net/if.h> */
#ifndef _NET_IF_H_
#define _NET_IF_H_
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/queue.h>

#define IF_NAMESIZE	16
#define IFNAMSIZ	IF_NAMESIZE
#define IF_MAXUNIT	0x7fff

struct if_data {
	u_char	ifi_type;
	u_char	ifi_physical;
	u_char	ifi_addrlen;
	u_char	ifi_hdrlen;
	u_char	ifi_recvquota;
	u_char	ifi_xmitquota;
	u_long	ifi_mtu;
	u_long	ifi_metric;
	u_long	ifi_link_state;
	uint64_t ifi_baudrate;
	u_long	ifi_ipackets;
	u_long	ifi_ierrors;
	u_long	ifi_opackets;
	u_long	ifi_oerrors;
	u_long	ifi_collisions;
	u_long	ifi_ibytes;
	u_long	ifi_obytes;
	u_long	ifi_imcasts;
	u_long	ifi_omcasts;
	u_long	ifi_iqdrops;
	u_long	ifi_noproto;
	u_long	ifi_hwassist;
	u_long	ifi_oqdrops;
	struct	timeval ifi_lastchange;
};

#define IFF_UP		0x1
#define IFF_BROADCAST	0x2
#define IFF_DEBUG	0x4
#define IFF_LOOPBACK	0x8
#define IFF_POINTOPOINT	0x10
#define IFF_SMART	0x20
#define IFF_RUNNING	0x40
#define IFF_NOARP	0x80
#define IFF_PROMISC	0x100
#define IFF_ALLMULTI	0x200
#define IFF_OACTIVE_COMPAT 0x400
#define IFF_SIMPLEX	0x800
#define IFF_LINK0	0x1000
#define IFF_LINK1	0x2000
#define IFF_LINK2	0x4000
#define IFF_ALTPHYS	IFF_LINK2
#define IFF_MULTICAST	0x8000
#define IFF_POLLING_COMPAT 0x10000
#define IFF_PPROMISC	0x20000
#define IFF_MONITOR	0x40000
#define IFF_STATICARP	0x80000
#define IFF_NPOLLING	0x100000
#define IFF_IDIRECT	0x200000
#define IFF_CANTCHANGE \
	(IFF_BROADCAST | IFF_POINTOPOINT | IFF_RUNNING | IFF_OACTIVE_COMPAT | \
	 IFF_SIMPLEX | IFF_MULTICAST | IFF_ALLMULTI | IFF_SMART | \
	 IFF_POLLING_COMPAT | IFF_NPOLLING | IFF_IDIRECT)
#define IFF_OACTIVE	IFF_OACTIVE_COMPAT
#define IFF_POLLING	IFF_POLLING_COMPAT

#define LINK_STATE_UNKNOWN	0
#define LINK_STATE_DOWN		1
#define LINK_STATE_UP		2

struct if_announcemsghdr {
	u_short	ifan_msglen;
	u_char	ifan_version;
	u_char	ifan_type;
	u_short	ifan_index;
	char	ifan_name[IFNAMSIZ];
	u_short	ifan_what;
};
#define IFAN_ARRIVAL	0
#define IFAN_DEPARTURE	1

struct ifreq {
	char	ifr_name[IFNAMSIZ];
	union {
		struct	sockaddr ifru_addr;
		struct	sockaddr ifru_dstaddr;
		struct	sockaddr ifru_broadaddr;
		short	ifru_flags[2];
		short	ifru_index;
		int	ifru_metric;
		int	ifru_mtu;
		int	ifru_phys;
		int	ifru_media;
		void	*ifru_data;
		int	ifru_cap[2];
		int	ifru_pollcpu;
		int	ifru_tsolen;
	} ifr_ifru;
#define ifr_addr	ifr_ifru.ifru_addr
#define ifr_dstaddr	ifr_ifru.ifru_dstaddr
#define ifr_broadaddr	ifr_ifru.ifru_broadaddr
#define ifr_flags	ifr_ifru.ifru_flags[0]
#define ifr_flagshigh	ifr_ifru.ifru_flags[1]
#define ifr_metric	ifr_ifru.ifru_metric
#define ifr_mtu		ifr_ifru.ifru_mtu
#define ifr_phys	ifr_ifru.ifru_phys
#define ifr_media	ifr_ifru.ifru_media
#define ifr_data	ifr_ifru.ifru_data
#define ifr_reqcap	ifr_ifru.ifru_cap[0]
#define ifr_curcap	ifr_ifru.ifru_cap[1]
#define ifr_index	ifr_ifru.ifru_index
#define ifr_pollcpu	ifr_ifru.ifru_pollcpu
#define ifr_tsolen	ifr_ifru.ifru_tsolen
};

#define _SIZEOF_ADDR_IFREQ(ifr) \
	((ifr).ifr_addr.sa_len > sizeof(struct sockaddr) ? \
	 (sizeof(struct ifreq) - sizeof(struct sockaddr) + \
	  (ifr).ifr_addr.sa_len) : sizeof(struct ifreq))

struct ifaliasreq {
	char	ifra_name[IFNAMSIZ];
	struct	sockaddr ifra_addr;
	struct	sockaddr ifra_broadaddr;
	struct	sockaddr ifra_mask;
};

#define IFSTATMAX	800
struct ifstat {
	char	ifs_name[IFNAMSIZ];
	char	ascii[IFSTATMAX + 1];
};

struct ifconf {
	int	ifc_len;
	union {
		caddr_t	ifcu_buf;
		struct	ifreq *ifcu_req;
	} ifc_ifcu;
#define ifc_buf	ifc_ifcu.ifcu_buf
#define ifc_req	ifc_ifcu.ifcu_req
};

struct ifgroupreq {
	char	ifgr_name[IFNAMSIZ];
	u_int	ifgr_len;
	union {
		char	ifgru_group[IFNAMSIZ];
		struct	ifg_req *ifgru_groups;
	} ifgr_ifgru;
#define ifgr_group	ifgr_ifgru.ifgru_group
#define ifgr_groups	ifgr_ifgru.ifgru_groups
};
struct ifg_req {
	union {
		char	ifgrqu_group[IFNAMSIZ];
		char	ifgrqu_member[IFNAMSIZ];
	} ifgrq_ifgrqu;
#define ifgrq_group	ifgrq_ifgrqu.ifgrqu_group
#define ifgrq_member	ifgrq_ifgrqu.ifgrqu_member
};

#include <net/if_var.h>
#endif
