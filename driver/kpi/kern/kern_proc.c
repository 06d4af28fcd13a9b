/*
 * kern_proc.c - emulated processes and credentials, privilege checks and
 * SIGIO ownership (fsetown/fgetown/funsetown/pgsigio) for the kpi.
 *
 * A host thread acts for one emulated process (kpi_setproc()); each
 * process is its own process group.  Signals are recorded per process and
 * number, so a test can see that SIGIO reached the owner it set.
 */
#include "kpi_kern.h"
#include <sys/priv.h>
#include <sys/filedesc.h>
#include <sys/signalvar.h>

#define KPI_DEFAULT_PID	100

MALLOC_DEFINE(M_SIGIO, "sigio", "sigio structures");
MALLOC_DEFINE(M_CRED, "cred", "credentials");

static LIST_HEAD(, proc) kpi_procs = LIST_HEAD_INITIALIZER(kpi_procs);
struct proc proc0;
struct ucred *kpi_cred_root;

struct ucred *
crget(void)
{
	struct ucred *cr = kmalloc(sizeof(*cr), M_CRED, M_WAITOK | M_ZERO);

	cr->cr_ref = 1;
	cr->cr_ngroups = 1;
	return cr;
}

struct ucred *
crhold(struct ucred *cr)
{
	if (cr != NULL && cr != NOCRED && cr != FSCRED)
		__atomic_fetch_add(&cr->cr_ref, 1, __ATOMIC_RELAXED);
	return cr;
}

void
crfree(struct ucred *cr)
{
	if (cr == NULL || cr == NOCRED || cr == FSCRED)
		return;
	if (__atomic_sub_fetch(&cr->cr_ref, 1, __ATOMIC_ACQ_REL) == 0)
		kfree(cr, M_CRED);
}

struct ucred *
crdup(struct ucred *cr)
{
	struct ucred *n = crget();

	*n = *cr;
	n->cr_ref = 1;
	return n;
}

int
groupmember(gid_t gid, struct ucred *cr)
{
	int i;

	for (i = 0; i < cr->cr_ngroups; ++i) {
		if (cr->cr_groups[i] == gid)
			return 1;
	}
	return 0;
}

/* DragonFly's rule for PRIV_ROOT and friends: only uid 0 passes */
int
priv_check_cred(struct ucred *cred, int priv, int flags)
{
	if (priv <= 0)
		panic("priv_check_cred: bad privilege %d", priv);
	if (cred == NULL)
		return (flags & NULL_CRED_OKAY) ? 0 : EPERM;
	if (cred->cr_uid != 0)
		return EPERM;
	return 0;
}

int
priv_check(struct thread *td, int priv)
{
	return priv_check_cred(td->td_ucred, priv, 0);
}

static struct proc *
proc_lookup_locked(pid_t pid)
{
	struct proc *p;

	if (pid == 0)
		return &proc0;
	LIST_FOREACH(p, &kpi_procs, p_list) {
		if (p->p_pid == pid)
			return p;
	}
	return NULL;
}

struct proc *
kpi_proc_get(pid_t pid, int create)
{
	struct proc *p, *np;

	if (pid == 0)
		pid = KPI_DEFAULT_PID;
	kpi_sched_lock();
	p = proc_lookup_locked(pid);
	kpi_sched_unlock();
	if (p != NULL || !create)
		return p;

	np = hostif_malloc(sizeof(*np));
	memset(np, 0, sizeof(*np));
	np->p_pid = pid;
	np->p_ucred = crhold(kpi_cred_root);
	np->p_pgrp_store.pg_id = pid;
	np->p_pgrp = &np->p_pgrp_store;
	ksnprintf(np->p_comm, sizeof(np->p_comm), "proc%d", pid);
	kpi_sched_lock();
	p = proc_lookup_locked(pid);
	if (p == NULL) {
		LIST_INSERT_HEAD(&kpi_procs, np, p_list);
		p = np;
		np = NULL;
	}
	kpi_sched_unlock();
	if (np != NULL) {
		crfree(np->p_ucred);
		hostif_free(np);
	}
	return p;
}

void
kpi_proc_init(void)
{
	memset(&proc0, 0, sizeof(proc0));
	kpi_cred_root = crget();
	proc0.p_pid = 0;
	proc0.p_ucred = crhold(kpi_cred_root);
	proc0.p_pgrp_store.pg_id = 0;
	proc0.p_pgrp = &proc0.p_pgrp_store;
	ksnprintf(proc0.p_comm, sizeof(proc0.p_comm), "kernel");
}

void
kpi_proc_fini(void)
{
	struct proc *p;

	while ((p = LIST_FIRST(&kpi_procs)) != NULL) {
		LIST_REMOVE(p, p_list);
		crfree(p->p_ucred);
		hostif_free(p);
	}
	crfree(proc0.p_ucred);
	proc0.p_ucred = NULL;
	crfree(kpi_cred_root);
	kpi_cred_root = NULL;
}

void
phold(struct proc *p)
{
	__atomic_fetch_add(&p->p_lock, 1, __ATOMIC_RELAXED);
}

void
prele(struct proc *p)
{
	__atomic_fetch_sub(&p->p_lock, 1, __ATOMIC_RELAXED);
}

struct proc *
pfindn(pid_t pid)
{
	struct proc *p;

	if (pid <= 0)
		return NULL;
	kpi_sched_lock();
	p = proc_lookup_locked(pid);
	kpi_sched_unlock();
	return p;
}

struct proc *
pfind(pid_t pid)
{
	struct proc *p = pfindn(pid);

	if (p != NULL)
		phold(p);
	return p;
}

struct pgrp *
pgfind(pid_t pgid)
{
	struct proc *p = pfindn(pgid);

	if (p == NULL)
		return NULL;
	p->p_pgrp->pg_refs++;
	return p->p_pgrp;
}

void
pgrel(struct pgrp *pg)
{
	pg->pg_refs--;
}

int
kpik_setproc(int pid)
{
	struct thread *td = curthread;
	struct proc *p;

	if (pid <= 0)
		return EINVAL;
	p = kpi_proc_get(pid, 1);
	td->td_proc = p;
	td->td_ucred = p->p_ucred;
	return 0;
}

int
kpik_getpid(void)
{
	return curthread->td_proc->p_pid;
}

int
kpik_setuid(unsigned int uid, unsigned int gid)
{
	struct thread *td = curthread;
	struct proc *p = td->td_proc;
	struct ucred *ncr, *ocr;

	if (p == &proc0)
		return EPERM;
	ncr = crdup(p->p_ucred);
	ncr->cr_uid = uid;
	ncr->cr_ruid = uid;
	ncr->cr_svuid = uid;
	ncr->cr_groups[0] = gid;
	ncr->cr_rgid = gid;
	ncr->cr_svgid = gid;
	kpi_sched_lock();
	ocr = p->p_ucred;
	p->p_ucred = ncr;
	kpi_sched_unlock();
	td->td_ucred = ncr;
	/* threads of this process pick the new credential at their next call */
	crfree(ocr);
	return 0;
}

/* ---- signals ---- */

void
ksignal(struct proc *p, int sig)
{
	if (sig <= 0 || sig >= _SIG_MAXSIG)
		panic("ksignal: bad signal %d", sig);
	__atomic_fetch_add(&p->p_kpi_sigcount[sig], 1, __ATOMIC_RELAXED);
}

void
pgsignal(struct pgrp *pgrp, int sig, int checkctty __unused)
{
	struct proc *p = pfindn(pgrp->pg_id);

	if (p != NULL)
		ksignal(p, sig);
}

unsigned long
kpik_sigcount(int pid, int sig)
{
	struct proc *p = pfindn(pid);

	if (p == NULL || sig <= 0 || sig >= _SIG_MAXSIG)
		return 0;
	return __atomic_load_n(&p->p_kpi_sigcount[sig], __ATOMIC_RELAXED);
}

pid_t
fgetown(struct sigio **sigiop)
{
	pid_t pgid;

	lwkt_gettoken(&sigio_token);
	pgid = (*sigiop != NULL) ? (*sigiop)->sio_pgid : 0;
	lwkt_reltoken(&sigio_token);
	return pgid;
}

void
funsetown(struct sigio **sigiop)
{
	struct sigio *sigio;

	lwkt_gettoken(&sigio_token);
	sigio = *sigiop;
	*sigiop = NULL;
	lwkt_reltoken(&sigio_token);
	if (sigio == NULL)
		return;
	crfree(sigio->sio_ucred);
	kfree(sigio, M_SIGIO);
	KPI_STAT_ADD(KS_SIGIOS, -1);
}

void
funsetownlst(struct sigiolst *sigiolst __unused)
{
}

/*
 * As DragonFly: 0 clears the owner; a positive value names a process, a
 * negative one a process group, which must exist (ESRCH otherwise).
 */
int
fsetown(pid_t pgid, struct sigio **sigiop)
{
	struct sigio *sigio, *osigio;
	struct proc *p = NULL;
	struct pgrp *pg = NULL;

	if (pgid == 0) {
		funsetown(sigiop);
		return 0;
	}
	if (pgid > 0) {
		p = pfind(pgid);
		if (p == NULL)
			return ESRCH;
	} else {
		/* -INT_MIN overflows; no process group has that id anyway */
		if (pgid == INT_MIN)
			return ESRCH;
		pg = pgfind(-pgid);
		if (pg == NULL)
			return ESRCH;
	}
	sigio = kmalloc(sizeof(*sigio), M_SIGIO, M_WAITOK | M_ZERO);
	if (p != NULL)
		sigio->sio_proc = p;
	else
		sigio->sio_pgrp = pg;
	sigio->sio_pgid = pgid;
	sigio->sio_ucred = crhold(curthread->td_ucred);
	sigio->sio_myref = sigiop;
	KPI_STAT_ADD(KS_SIGIOS, 1);

	lwkt_gettoken(&sigio_token);
	osigio = *sigiop;
	*sigiop = sigio;
	lwkt_reltoken(&sigio_token);
	if (osigio != NULL) {
		crfree(osigio->sio_ucred);
		kfree(osigio, M_SIGIO);
		KPI_STAT_ADD(KS_SIGIOS, -1);
	}
	if (p != NULL)
		prele(p);
	else
		pgrel(pg);
	return 0;
}

void
pgsigio(struct sigio *sigio, int sig, int checkctty)
{
	struct proc *p;

	if (sigio == NULL)
		return;
	if (sigio->sio_pgid > 0) {
		p = pfindn(sigio->sio_pgid);
		if (p != NULL)
			ksignal(p, sig);
	} else {
		struct pgrp pg;

		pg.pg_id = -sigio->sio_pgid;
		pgsignal(&pg, sig, checkctty);
	}
}
