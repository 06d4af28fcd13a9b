/* kpi: DragonFly-named <net/netisr.h> */
#ifndef _NET_NETISR_H_
#define _NET_NETISR_H_
#include <sys/types.h>
struct mbuf;
#define NETISR_RESERVED0 0
#define NETISR_POLL	1
#define NETISR_IP	2	/* same as AF_INET */
#define NETISR_ROUTE	14
#define NETISR_ARP	18
#define NETISR_IPV6	28	/* same as AF_INET6 */
#define NETISR_MAX	32
int	netisr_queue(int, struct mbuf *);
extern int netisr_ncpus;
#define ASSERT_NETISR0	((void)0)
#define ASSERT_NETISR_NCPUS(cpu) ((void)0)
#endif
