/* kpi: DragonFly-named <sys/signalvar.h> */
#ifndef _SYS_SIGNALVAR_H_
#define _SYS_SIGNALVAR_H_
#include <sys/signal.h>
struct sigio;
struct proc;
struct pgrp;
void	pgsigio(struct sigio *, int signum, int checkctty);
void	ksignal(struct proc *p, int sig);
void	pgsignal(struct pgrp *pgrp, int sig, int checkctty);
#endif
