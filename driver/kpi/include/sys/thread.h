/*
 * kpi: DragonFly-named <sys/thread.h>.  Every host thread that enters the
 * kpi gets a struct thread; LWKT tokens are released while it blocks and
 * reacquired (all or nothing) before it runs on, as in DragonFly.
 */
#ifndef _SYS_THREAD_H_
#define _SYS_THREAD_H_
#include <sys/types.h>
#include <sys/queue.h>

struct proc;
struct lwp;
struct ucred;
struct globaldata;
struct kpi_thread_priv;

typedef struct lwkt_token {
	long		t_count;	/* recursion count of t_owner */
	struct thread	*t_owner;
	long		t_collisions;
	const char	*t_desc;
} *lwkt_token_t;

#define LWKT_TOKEN_INITIALIZER(name)	{ 0, NULL, 0, #name }
#define LWKT_MAXTOKENS	32

struct thread {
	TAILQ_ENTRY(thread) td_threadq;	/* kpi: all threads */
	struct proc	*td_proc;
	struct lwp	*td_lwp;
	struct globaldata *td_gd;
	const char	*td_wmesg;	/* reason for sleep */
	const volatile void *td_wchan;	/* sleep channel, NULL if awake */
	int		td_flags;
	int		td_type;
	int		td_pri;
	struct ucred	*td_ucred;
	char		td_comm[64];
	/* kpi private state */
	int		td_kpi_id;
	int		td_kpi_sleeping;	/* in tsleep and not woken */
	int		td_kpi_sigpend;		/* a caught signal is pending */
	int		td_kpi_netbusy;		/* inside a stack output path */
	const volatile void *td_kpi_window;	/* held at the sleep's door */
	int		td_kpi_window_woken;	/* a wakeup came meanwhile */
	int		td_kpi_ntoks;
	lwkt_token_t	td_kpi_toks[LWKT_MAXTOKENS];
	long		td_kpi_tokcnt[LWKT_MAXTOKENS];
	void		*td_kpi_host;
};
typedef struct thread *thread_t;

#define TD_TYPE_GENERIC	0
#define TD_TYPE_CRYPTO	1
#define TD_TYPE_NETISR	2

#define TDF_KPI_NETISR	0x0001

struct thread *kpi_curthread(void);
#define curthread	(kpi_curthread())

void	lwkt_gettoken(lwkt_token_t);
void	lwkt_gettoken_shared(lwkt_token_t);
int	lwkt_trytoken(lwkt_token_t);
void	lwkt_reltoken(lwkt_token_t);
void	lwkt_token_init(lwkt_token_t, const char *);
void	lwkt_getpooltoken(void *);
void	lwkt_relpooltoken(void *);
void	lwkt_token_uninit(lwkt_token_t);
int	lwkt_token_held(lwkt_token_t);
#define LWKT_TOKEN_HELD_ANY(tok)	lwkt_token_held(tok)
#define LWKT_TOKEN_HELD_EXCL(tok)	lwkt_token_held(tok)
#define ASSERT_LWKT_TOKEN_HELD(tok)	KKASSERT(LWKT_TOKEN_HELD_ANY(tok))
#define ASSERT_LWKT_TOKEN_HELD_EXCL(tok) KKASSERT(LWKT_TOKEN_HELD_EXCL(tok))
void	lwkt_yield(void);
void	lwkt_user_yield(void);

extern struct lwkt_token mp_token;
extern struct lwkt_token pmap_token;
extern struct lwkt_token dev_token;
extern struct lwkt_token vm_token;
extern struct lwkt_token kvm_token;
extern struct lwkt_token sigio_token;
extern struct lwkt_token tty_token;
extern struct lwkt_token vnode_token;
extern struct lwkt_token ifnet_token;

#include <sys/globaldata.h>
#endif
