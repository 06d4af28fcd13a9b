/* kpi: DragonFly-named <netinet/in.h> */
#ifndef _NETINET_IN_H_
#define _NETINET_IN_H_
#include <sys/types.h>
#include <sys/socket.h>
#include <machine/endian.h>

#define IPPROTO_IP	0
#define IPPROTO_ICMP	1
#define IPPROTO_TCP	6
#define IPPROTO_UDP	17
#define IPPROTO_IPV6	41
#define IPPROTO_ICMPV6	58
#define IPPROTO_NONE	59
#define IPPROTO_RAW	255
#define IPPROTO_MAX	256

struct in_addr {
	in_addr_t s_addr;
};

struct sockaddr_in {
	uint8_t		sin_len;
	sa_family_t	sin_family;
	in_port_t	sin_port;
	struct in_addr	sin_addr;
	char		sin_zero[8];
};

#define INADDR_ANY		((u_int32_t)0x00000000)
#define INADDR_LOOPBACK		((u_int32_t)0x7f000001)
#define INADDR_BROADCAST	((u_int32_t)0xffffffff)
#define INADDR_NONE		0xffffffff
#define IN_CLASSA(i)		(((u_int32_t)(i) & 0x80000000) == 0)
#define IN_CLASSA_NET		0xff000000
#define IN_CLASSB(i)		(((u_int32_t)(i) & 0xc0000000) == 0x80000000)
#define IN_CLASSB_NET		0xffff0000
#define IN_CLASSC_NET		0xffffff00
#define IN_MULTICAST(i)		(((u_int32_t)(i) & 0xf0000000) == 0xe0000000)

#include <netinet6/in6.h>
#endif
