#ifndef _NETINET_IN_SYSTM_H_
#define _NETINET_IN_SYSTM_H_
typedef uint16_t n_short;
typedef uint32_t n_long;
typedef uint32_t n_time;
#endif
