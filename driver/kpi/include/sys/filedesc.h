/* kpi: DragonFly-named <sys/filedesc.h> (sigio ownership) */
#ifndef _SYS_FILEDESC_H_
#define _SYS_FILEDESC_H_
#include <sys/types.h>
#include <sys/queue.h>
struct proc;
struct pgrp;
struct ucred;
struct sigio {
	union {
		struct proc	*siu_proc;
		struct pgrp	*siu_pgrp;
	} sio_u;
	SLIST_ENTRY(sigio) sio_pgsigio;
	struct sigio	**sio_myref;
	struct ucred	*sio_ucred;
	pid_t		sio_pgid;	/* pid (> 0) or -pgid (< 0) */
};
#define sio_proc	sio_u.siu_proc
#define sio_pgrp	sio_u.siu_pgrp
SLIST_HEAD(sigiolst, sigio);
pid_t	fgetown(struct sigio **);
int	fsetown(pid_t, struct sigio **);
void	funsetown(struct sigio **);
void	funsetownlst(struct sigiolst *);
#endif
