#ifndef _NETINET_ICMP6_H_
#define _NETINET_ICMP6_H_
#include <sys/types.h>
struct icmp6_hdr {
	u_int8_t	icmp6_type;
	u_int8_t	icmp6_code;
	u_int16_t	icmp6_cksum;
	u_int16_t	icmp6_id;
	u_int16_t	icmp6_seq;
};
#define ICMP6_ECHO_REQUEST	128
#define ICMP6_ECHO_REPLY	129
#endif
