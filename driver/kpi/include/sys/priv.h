/* kpi: DragonFly-named <sys/priv.h> */
#ifndef _SYS_PRIV_H_
#define _SYS_PRIV_H_
#include <sys/types.h>
#define PRIV_ROOT		1
#define PRIV_NET_ADDIFGROUP	428	/* kpi value; only compared by name */
#define PRIV_NET_DELIFGROUP	429
#define PRIV_NET_SETIFMTU	430
#define PRIV_NET_SETIFFLAGS	431
#define PRIV_DRIVER		14
#define PRIVREQ_NONE		0
#define PRISON_ROOT		0x1
#define NULL_CRED_OKAY		0x2
struct thread;
struct ucred;
int	priv_check(struct thread *td, int priv);
int	priv_check_cred(struct ucred *cred, int priv, int flags);
#endif
