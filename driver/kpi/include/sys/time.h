/* kpi: DragonFly-named <sys/time.h> */
#ifndef _SYS_TIME_H_
#define _SYS_TIME_H_
#include <sys/types.h>
struct timeval {
	time_t		tv_sec;
	suseconds_t	tv_usec;
};
struct timespec {
	time_t		tv_sec;
	long		tv_nsec;
};
extern volatile time_t time_second;
extern volatile time_t time_uptime;
void	getmicrotime(struct timeval *);
void	getmicrouptime(struct timeval *);
void	microtime(struct timeval *);
void	microuptime(struct timeval *);
void	getnanotime(struct timespec *);
void	getnanouptime(struct timespec *);
void	nanotime(struct timespec *);
void	nanouptime(struct timespec *);
int	tvtohz_high(struct timeval *);
int	tvtohz_low(struct timeval *);
#define timevalcmp(tvp, uvp, cmp) \
	(((tvp)->tv_sec == (uvp)->tv_sec) ? \
	    ((tvp)->tv_usec cmp (uvp)->tv_usec) : \
	    ((tvp)->tv_sec cmp (uvp)->tv_sec))
#endif
