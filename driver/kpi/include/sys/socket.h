/* kpi: DragonFly-named <sys/socket.h> (BSD sockaddr layout: sa_len first) */
#ifndef _SYS_SOCKET_H_
#define _SYS_SOCKET_H_
#include <sys/types.h>
#define SOCK_STREAM	1
#define SOCK_DGRAM	2
#define SOCK_RAW	3
#define AF_UNSPEC	0
#define AF_LOCAL	1
#define AF_UNIX		AF_LOCAL
#define AF_INET		2
#define AF_ROUTE	17
#define AF_LINK		18
#define AF_INET6	28
#define AF_MAX		36
#define PF_UNSPEC	AF_UNSPEC
#define PF_INET		AF_INET
#define PF_INET6	AF_INET6
#define PF_ROUTE	AF_ROUTE
#define SOCK_MAXADDRLEN	255
struct sockaddr {
	uint8_t		sa_len;
	sa_family_t	sa_family;
	char		sa_data[14];
};
struct sockproto {
	u_short	sp_family;
	u_short	sp_protocol;
};
#define _SS_MAXSIZE	128
#define _SS_ALIGNSIZE	(sizeof(int64_t))
#define _SS_PAD1SIZE	(_SS_ALIGNSIZE - sizeof(uint8_t) - sizeof(sa_family_t))
#define _SS_PAD2SIZE	(_SS_MAXSIZE - sizeof(uint8_t) - sizeof(sa_family_t) - \
			 _SS_PAD1SIZE - _SS_ALIGNSIZE)
struct sockaddr_storage {
	uint8_t		ss_len;
	sa_family_t	ss_family;
	char		__ss_pad1[_SS_PAD1SIZE];
	int64_t		__ss_align;
	char		__ss_pad2[_SS_PAD2SIZE];
};
struct socket;
#endif
