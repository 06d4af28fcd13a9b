/* kpi: DragonFly-named <sys/proc.h> (emulated processes) */
#ifndef _SYS_PROC_H_
#define _SYS_PROC_H_
#include <sys/param.h>
#include <sys/queue.h>
#include <sys/thread.h>
#include <sys/ucred.h>
#include <sys/signalvar.h>

struct pgrp {
	pid_t		pg_id;
	int		pg_refs;
};

struct proc {
	LIST_ENTRY(proc) p_list;	/* kpi: all processes */
	pid_t		p_pid;
	struct ucred	*p_ucred;
	struct pgrp	p_pgrp_store;
	struct pgrp	*p_pgrp;
	int		p_lock;		/* PHOLD count */
	int		p_flags;
	char		p_comm[MAXCOMLEN + 1];
	/* kpi: signals delivered to this process, by number */
	unsigned long	p_kpi_sigcount[_SIG_MAXSIG];
};

struct lwp {
	struct proc	*lwp_proc;
	struct thread	*lwp_thread;
};

#define curproc		(curthread->td_proc)
#define PHOLD(p)	phold(p)
#define PRELE(p)	prele(p)
void	phold(struct proc *);
void	prele(struct proc *);
struct proc *pfind(pid_t);	/* held: PRELE() when done */
struct proc *pfindn(pid_t);	/* not held */
struct pgrp *pgfind(pid_t);
void	pgrel(struct pgrp *);
#endif
