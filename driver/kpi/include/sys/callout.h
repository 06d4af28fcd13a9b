/* kpi: DragonFly-named <sys/callout.h> (timers run on a kpi thread) */
#ifndef _SYS_CALLOUT_H_
#define _SYS_CALLOUT_H_
#include <sys/queue.h>
struct callout {
	TAILQ_ENTRY(callout) c_link;
	long long	c_time_ns;
	void		(*c_func)(void *);
	void		*c_arg;
	int		c_flags;
};
#define CALLOUT_PENDING	0x0001
#define CALLOUT_ACTIVE	0x0002
#define CALLOUT_MPSAFE	0x0004
void	callout_init(struct callout *);
void	callout_init_mp(struct callout *);
void	callout_reset(struct callout *, int ticks, void (*)(void *), void *);
int	callout_stop(struct callout *);
int	callout_stop_sync(struct callout *);
void	callout_terminate(struct callout *);
int	callout_active(struct callout *);
int	callout_pending(struct callout *);
#endif
