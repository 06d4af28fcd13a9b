/*
 * kern_sync.c - threads, LWKT tokens, serializers, lockmgr locks, mutexes,
 * spinlocks and tsleep/wakeup for the kpi, over real host threads.
 *
 * One host mutex (the "sched lock") protects every sleep queue and lock
 * owner field, and every blocking wait is a wait on one host condition
 * variable under it.  As on DragonFly, a thread that blocks (tsleep, a
 * contended serializer, lockmgr lock or token) gives up all the LWKT tokens
 * it holds and gets them all back before it runs on; tokens are therefore
 * never part of a deadlock.  Serializers, lockmgr locks and mutexes are
 * kept while sleeping.
 */
#include "kpi_kern.h"
#include <sys/serialize.h>
#include <sys/lock.h>
#include <sys/mutex2.h>
#include <sys/spinlock2.h>
#include <sys/globaldata.h>

static struct hostif_mtx *sched_mtx;
static struct hostif_cv *sched_cv;
static TAILQ_HEAD(, thread) kpi_threads = TAILQ_HEAD_INITIALIZER(kpi_threads);
static int kpi_next_tid = 1;
static long kpi_nthreads;

struct globaldata kpi_globaldata[MAXCPU];
int ncpus = 1;

struct lwkt_token mp_token = LWKT_TOKEN_INITIALIZER(mp_token);
struct lwkt_token pmap_token = LWKT_TOKEN_INITIALIZER(pmap_token);
struct lwkt_token dev_token = LWKT_TOKEN_INITIALIZER(dev_token);
struct lwkt_token vm_token = LWKT_TOKEN_INITIALIZER(vm_token);
struct lwkt_token kvm_token = LWKT_TOKEN_INITIALIZER(kvm_token);
struct lwkt_token sigio_token = LWKT_TOKEN_INITIALIZER(sigio_token);
struct lwkt_token tty_token = LWKT_TOKEN_INITIALIZER(tty_token);
struct lwkt_token vnode_token = LWKT_TOKEN_INITIALIZER(vnode_token);
struct lwkt_token ifnet_token = LWKT_TOKEN_INITIALIZER(ifnet_token);

/*
 * lwkt_getpooltoken(): a lock per address hash, as DragonFly's token pool.
 * Not a full token (what it guards, a klist, is held for a few
 * instructions): a serializer plus a depth, so that it is taken with one
 * atomic op as DragonFly's uncontended token is, and a thread may take it
 * again (two klists can hash to one pool token; DragonFly's tokens nest).
 */
#define KPI_POOL_TOKENS	32
static struct kpi_pooltok {
	struct lwkt_serialize	slz;
	int			depth;	/* by its holder */
} pool_tokens[KPI_POOL_TOKENS];

#define TDF_KPI_INSLEEP	0x0100	/* waiting inside tsleep */
#define TDF_KPI_DEAD	0x0200

static void kpi_thread_dtor(void *);
static int slz_try(lwkt_serialize_t, struct thread *);
static __noinline void slz_enter_slow(lwkt_serialize_t, struct thread *);

void
kpi_sync_init(void)
{
	int i;

	if (sched_mtx == NULL) {
		sched_mtx = hostif_mtx_create();
		sched_cv = hostif_cv_create();
		hostif_tls_setup(kpi_thread_dtor);
	}
	for (i = 0; i < MAXCPU; ++i) {
		kpi_globaldata[i].gd_cpuid = i;
		kpi_globaldata[i].gd_cpumask = 1ULL << i;
	}
}

void
kpi_sched_lock(void)
{
	hostif_mtx_lock(sched_mtx);
}

void
kpi_sched_unlock(void)
{
	hostif_mtx_unlock(sched_mtx);
}

int
kpi_sched_wait(long long deadline_ns)
{
	if (deadline_ns == 0) {
		hostif_cv_wait(sched_cv, sched_mtx);
		return 0;
	}
	return hostif_cv_timedwait(sched_cv, sched_mtx, deadline_ns);
}

void
kpi_sched_broadcast(void)
{
	hostif_cv_broadcast(sched_cv);
}

globaldata_t
globaldata_find(int cpu)
{
	KKASSERT(cpu >= 0 && cpu < ncpus);
	return &kpi_globaldata[cpu];
}

/* ---- threads ---- */

static struct thread *
kpi_thread_alloc(struct proc *p, const char *name)
{
	struct thread *td;

	td = hostif_malloc(sizeof(*td));
	memset(td, 0, sizeof(*td));
	td->td_proc = p;
	td->td_ucred = p->p_ucred;
	ksnprintf(td->td_comm, sizeof(td->td_comm), "%s", name);
	kpi_sched_lock();
	td->td_kpi_id = kpi_next_tid++;
	td->td_gd = &kpi_globaldata[(td->td_kpi_id - 1) % ncpus];
	TAILQ_INSERT_TAIL(&kpi_threads, td, td_threadq);
	kpi_nthreads++;
	kpi_sched_unlock();
	return td;
}

static void
kpi_thread_free(struct thread *td)
{
	kpi_sched_lock();
	if (td->td_kpi_ntoks != 0) {
		kpi_sched_unlock();
		panic("thread %d (%s) exits holding %d token(s), first %s",
		    td->td_kpi_id, td->td_comm, td->td_kpi_ntoks,
		    td->td_kpi_toks[0]->t_desc);
	}
	TAILQ_REMOVE(&kpi_threads, td, td_threadq);
	kpi_nthreads--;
	kpi_sched_unlock();
	hostif_free(td);
}

/*
 * curthread is one thread-local load, as DragonFly's %gs-relative one; the
 * host half's slot (whose destructor frees a thread at host thread exit)
 * is only written through td_set().
 */
static __thread struct thread *kpi_td;

static void
td_set(struct thread *td)
{
	hostif_tls_set(td);
	kpi_td = td;
}

static void
kpi_thread_dtor(void *arg)
{
	kpi_td = NULL;
	kpi_thread_free(arg);
}

/* a host thread's first call: it becomes a thread of process 0 */
static __noinline struct thread *
curthread_first(void)
{
	struct thread *td;

	if (sched_mtx == NULL)
		hostif_panic("kpi used before kpi_boot()");
	td = kpi_thread_alloc(kpi_proc_get(0, 1), "user");
	td_set(td);
	return td;
}

struct thread *
kpi_curthread(void)
{
	struct thread *td = kpi_td;

	if (__predict_true(td != NULL))
		return td;
	return curthread_first();
}

void
kpik_thread_exit(void)
{
	struct thread *td = kpi_td;

	if (td != NULL) {
		td_set(NULL);
		kpi_thread_free(td);
	}
}

struct kthread_start {
	void		(*fn)(void *);
	void		*arg;
	struct thread	*td;
};

static void
kpi_kthread_main(void *arg)
{
	struct kthread_start ks = *(struct kthread_start *)arg;

	hostif_free(arg);
	td_set(ks.td);
	ks.fn(ks.arg);
	td_set(NULL);
	kpi_thread_free(ks.td);
}

struct thread *
kpi_thread_create_kernel(const char *name, void (*fn)(void *), void *arg,
    struct hostif_thread **htp)
{
	struct kthread_start *ks;
	struct thread *td;

	td = kpi_thread_alloc(&proc0, name);
	ks = hostif_malloc(sizeof(*ks));
	ks->fn = fn;
	ks->arg = arg;
	ks->td = td;
	if (hostif_thread_create(htp, kpi_kthread_main, ks, name) != 0)
		panic("cannot create kernel thread %s", name);
	return td;
}

struct thread *
kpi_thread_find(int tid)
{
	struct thread *td;

	TAILQ_FOREACH(td, &kpi_threads, td_threadq) {
		if (td->td_kpi_id == tid)
			return td;
	}
	return NULL;
}

long
kpi_thread_count(void)
{
	return kpi_nthreads;
}

int
kpik_thread_id(void)
{
	return curthread->td_kpi_id;
}

int
kpik_thread_interrupt(int tid)
{
	struct thread *td;
	int error = ESRCH;

	kpi_sched_lock();
	td = kpi_thread_find(tid);
	if (td != NULL) {
		td->td_kpi_sigpend = 1;
		kpi_sched_broadcast();
		error = 0;
	}
	kpi_sched_unlock();
	return error;
}

/* 1 when the thread is blocked in tsleep, with its wait message */
int
kpik_thread_sleeping(int tid, const char **wmesgp)
{
	struct thread *td;
	int r = 0;

	kpi_sched_lock();
	td = kpi_thread_find(tid);
	if (td != NULL && (td->td_flags & TDF_KPI_INSLEEP) &&
	    td->td_kpi_sleeping) {
		r = 1;
		if (wmesgp != NULL)
			*wmesgp = td->td_wmesg;
	}
	kpi_sched_unlock();
	return r;
}

/* ---- LWKT tokens ---- */

static int
tok_index(struct thread *td, lwkt_token_t tok)
{
	int i;

	for (i = 0; i < td->td_kpi_ntoks; ++i) {
		if (td->td_kpi_toks[i] == tok)
			return i;
	}
	return -1;
}

/*
 * Threads waiting for a token to come free (sched lock held): a token given
 * back wakes the sleepers only if there is one, as DragonFly's does.
 */
static int kpi_tok_waiters;

static void
tok_wait_locked(void)
{
	kpi_tok_waiters++;
	kpi_sched_wait(0);
	kpi_tok_waiters--;
}

/* sched lock held: give up every token the thread holds */
void
kpi_tokens_release_locked(struct thread *td)
{
	int i;

	for (i = 0; i < td->td_kpi_ntoks; ++i) {
		lwkt_token_t tok = td->td_kpi_toks[i];

		KKASSERT(tok->t_owner == td);
		tok->t_owner = NULL;
		tok->t_count = 0;
	}
	if (td->td_kpi_ntoks && kpi_tok_waiters)
		kpi_sched_broadcast();
}

static int
tokens_available(struct thread *td)
{
	int i;

	for (i = 0; i < td->td_kpi_ntoks; ++i) {
		if (td->td_kpi_toks[i]->t_owner != NULL &&
		    td->td_kpi_toks[i]->t_owner != td)
			return 0;
	}
	return 1;
}

/* sched lock held: get every token back, all or nothing */
void
kpi_tokens_reacquire_locked(struct thread *td)
{
	int i;

	if (td->td_kpi_ntoks == 0)
		return;
	while (!tokens_available(td))
		tok_wait_locked();
	for (i = 0; i < td->td_kpi_ntoks; ++i) {
		td->td_kpi_toks[i]->t_owner = td;
		td->td_kpi_toks[i]->t_count = td->td_kpi_tokcnt[i];
	}
}

static struct kpi_pooltok *
pool_token(const void *ptr)
{
	uintptr_t h = (uintptr_t)ptr;

	h ^= h >> 9;
	return (&pool_tokens[(h >> 4) % KPI_POOL_TOKENS]);
}

void
lwkt_getpooltoken(void *ptr)
{
	struct kpi_pooltok *pt = pool_token(ptr);
	struct thread *td = curthread;

	if (!slz_try(&pt->slz, td)) {
		if (__atomic_load_n(&pt->slz.last_td, __ATOMIC_RELAXED) == td) {
			pt->depth++;
			return;
		}
		slz_enter_slow(&pt->slz, td);
	}
	pt->depth = 1;
}

void
lwkt_relpooltoken(void *ptr)
{
	struct kpi_pooltok *pt = pool_token(ptr);

	if (!lwkt_serialize_held(&pt->slz))
		panic("lwkt_relpooltoken: %p's token not held", ptr);
	if (--pt->depth == 0)
		lwkt_serialize_exit(&pt->slz);
}

void
lwkt_token_init(lwkt_token_t tok, const char *desc)
{
	tok->t_count = 0;
	tok->t_owner = NULL;
	tok->t_collisions = 0;
	tok->t_desc = desc;
}

void
lwkt_token_uninit(lwkt_token_t tok)
{
	KKASSERT(tok->t_owner == NULL);
}

void
lwkt_gettoken(lwkt_token_t tok)
{
	struct thread *td = curthread;
	int i;

	kpi_sched_lock();
	i = tok_index(td, tok);
	if (i >= 0) {
		td->td_kpi_tokcnt[i]++;
		tok->t_count++;
		kpi_sched_unlock();
		return;
	}
	if (td->td_kpi_ntoks >= LWKT_MAXTOKENS) {
		kpi_sched_unlock();
		panic("lwkt_gettoken: too many tokens held");
	}
	if (tok->t_owner != NULL) {
		/* block: drop our tokens, then take them all plus this one */
		tok->t_collisions++;
		kpi_tokens_release_locked(td);
		while (tok->t_owner != NULL || !tokens_available(td))
			tok_wait_locked();
		kpi_tokens_reacquire_locked(td);
	}
	tok->t_owner = td;
	tok->t_count = 1;
	td->td_kpi_toks[td->td_kpi_ntoks] = tok;
	td->td_kpi_tokcnt[td->td_kpi_ntoks] = 1;
	td->td_kpi_ntoks++;
	kpi_sched_unlock();
}

void
lwkt_gettoken_shared(lwkt_token_t tok)
{
	lwkt_gettoken(tok);	/* shared tokens are taken exclusively */
}

int
lwkt_trytoken(lwkt_token_t tok)
{
	struct thread *td = curthread;
	int ok;

	kpi_sched_lock();
	ok = (tok->t_owner == NULL || tok->t_owner == td);
	kpi_sched_unlock();
	if (ok)
		lwkt_gettoken(tok);
	return ok;
}

void
lwkt_reltoken(lwkt_token_t tok)
{
	struct thread *td = curthread;
	int i;

	kpi_sched_lock();
	i = tok_index(td, tok);
	if (i < 0 || tok->t_owner != td) {
		kpi_sched_unlock();
		panic("lwkt_reltoken: %s not held", tok->t_desc);
	}
	tok->t_count--;
	if (--td->td_kpi_tokcnt[i] == 0) {
		tok->t_owner = NULL;
		tok->t_count = 0;
		td->td_kpi_ntoks--;
		td->td_kpi_toks[i] = td->td_kpi_toks[td->td_kpi_ntoks];
		td->td_kpi_tokcnt[i] = td->td_kpi_tokcnt[td->td_kpi_ntoks];
		if (kpi_tok_waiters)
			kpi_sched_broadcast();
	}
	kpi_sched_unlock();
}

int
lwkt_token_held(lwkt_token_t tok)
{
	return tok->t_owner == curthread;
}

void
lwkt_yield(void)
{
	hostif_yield();
}

void
lwkt_user_yield(void)
{
	hostif_yield();
}

/* ---- serializers ---- */

/*
 * As DragonFly's lwkt_serialize.c: taking a free serializer is one atomic
 * op on its interlock and giving it back with nobody waiting is one more;
 * only a contended enter takes the sched lock and sleeps.  A waiter counts
 * itself in s->waiters before it tests the interlock again, and exit
 * clears the interlock before it reads s->waiters (both sequentially
 * consistent), so either the waiter sees the serializer free or exit sees
 * the waiter and broadcasts under the sched lock, which the waiter holds
 * from that test until it waits: no wakeup is lost.
 */
static __inline int
slz_try(lwkt_serialize_t s, struct thread *td)
{
	int free_ = 0;

	if (!__atomic_compare_exchange_n(&s->interlock, &free_, 1, 0,
	    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return 0;
	__atomic_store_n(&s->last_td, td, __ATOMIC_RELAXED);
	return 1;
}

void
lwkt_serialize_init(lwkt_serialize_t s)
{
	s->interlock = 0;
	s->last_td = NULL;
	s->waiters = 0;
	s->handler_disabled = 0;
}

/* exit found waiters */
static __noinline void
slz_wake(void)
{
	kpi_sched_lock();
	kpi_sched_broadcast();
	kpi_sched_unlock();
}

/* contended: sleep on the sched lock, tokens given up while blocked */
static __noinline void
slz_enter_slow(lwkt_serialize_t s, struct thread *td)
{
	kpi_sched_lock();
	__atomic_add_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
	if (!slz_try(s, td)) {
		kpi_tokens_release_locked(td);
		while (!slz_try(s, td))
			kpi_sched_wait(0);
		kpi_tokens_reacquire_locked(td);
	}
	__atomic_sub_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
	kpi_sched_unlock();
}

void
lwkt_serialize_enter(lwkt_serialize_t s)
{
	struct thread *td = curthread;

	if (__predict_true(slz_try(s, td)))
		return;
	/* only this thread can have stored itself there */
	if (__atomic_load_n(&s->last_td, __ATOMIC_RELAXED) == td)
		panic("lwkt_serialize_enter: recursion on %p", s);
	slz_enter_slow(s, td);
}

void
lwkt_serialize_adaptive_enter(lwkt_serialize_t s)
{
	lwkt_serialize_enter(s);
}

int
lwkt_serialize_try(lwkt_serialize_t s)
{
	return slz_try(s, curthread);
}

/* a thread that never asked for curthread holds nothing: no need to ask */
static __inline int
slz_held(lwkt_serialize_t s)
{
	struct thread *td = kpi_td;

	return td != NULL && __atomic_load_n(&s->interlock, __ATOMIC_RELAXED) &&
	    __atomic_load_n(&s->last_td, __ATOMIC_RELAXED) == td;
}

void
lwkt_serialize_exit(lwkt_serialize_t s)
{
	if (__predict_false(!slz_held(s)))
		panic("lwkt_serialize_exit: %p not held by this thread", s);
	__atomic_store_n(&s->last_td, NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&s->interlock, 0, __ATOMIC_SEQ_CST);
	if (__predict_false(__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST)))
		slz_wake();
}

int
lwkt_serialize_held(lwkt_serialize_t s)
{
	return slz_held(s);
}

void
lwkt_serialize_handler_disable(lwkt_serialize_t s)
{
	s->handler_disabled = 1;
}

void
lwkt_serialize_handler_enable(lwkt_serialize_t s)
{
	s->handler_disabled = 0;
}

void
lwkt_serialize_handler_call(lwkt_serialize_t s, void (*func)(void *, void *),
    void *arg, void *frame)
{
	lwkt_serialize_enter(s);
	if (!s->handler_disabled)
		func(arg, frame);
	lwkt_serialize_exit(s);
}

int
lwkt_serialize_handler_try(lwkt_serialize_t s, void (*func)(void *, void *),
    void *arg, void *frame)
{
	if (!lwkt_serialize_try(s))
		return EAGAIN;
	if (!s->handler_disabled)
		func(arg, frame);
	lwkt_serialize_exit(s);
	return 0;
}

/* ---- lockmgr locks ---- */

void
lockinit(struct lock *lk, const char *wmesg, int timo, int flags)
{
	memset(lk, 0, sizeof(*lk));
	lk->lk_wmesg = wmesg;
	lk->lk_timo = timo;
	lk->lk_flags = flags;
}

void
lockuninit(struct lock *lk)
{
	KKASSERT(lk->lk_exclusivecount == 0 && lk->lk_sharecount == 0);
}

int
lockmgr(struct lock *lk, u_int flags)
{
	struct thread *td = curthread;
	int error = 0;

	kpi_sched_lock();
	switch (flags & LK_TYPE_MASK) {
	case LK_SHARED:
		if (lk->lk_lockholder == td) {	/* shared under exclusive */
			lk->lk_exclusivecount++;
			break;
		}
		if (lk->lk_exclusivecount) {
			if (flags & LK_NOWAIT) {
				error = EBUSY;
				break;
			}
			lk->lk_waiters++;
			kpi_tokens_release_locked(td);
			while (lk->lk_exclusivecount)
				kpi_sched_wait(0);
			lk->lk_waiters--;
			kpi_tokens_reacquire_locked(td);
		}
		lk->lk_sharecount++;
		break;
	case LK_EXCLUSIVE:
		if (lk->lk_lockholder == td) {
			if ((flags | lk->lk_flags) & LK_CANRECURSE) {
				lk->lk_exclusivecount++;
				break;
			}
			kpi_sched_unlock();
			panic("lockmgr: locking against myself (%s)",
			    lk->lk_wmesg);
		}
		if (lk->lk_exclusivecount || lk->lk_sharecount) {
			if (flags & LK_NOWAIT) {
				error = EBUSY;
				break;
			}
			lk->lk_waiters++;
			kpi_tokens_release_locked(td);
			while (lk->lk_exclusivecount || lk->lk_sharecount)
				kpi_sched_wait(0);
			lk->lk_waiters--;
			kpi_tokens_reacquire_locked(td);
		}
		lk->lk_exclusivecount = 1;
		lk->lk_lockholder = td;
		break;
	case LK_RELEASE:
		if (lk->lk_exclusivecount) {
			if (lk->lk_lockholder != td) {
				kpi_sched_unlock();
				panic("lockmgr: release of %s not held by "
				    "this thread", lk->lk_wmesg);
			}
			if (--lk->lk_exclusivecount == 0)
				lk->lk_lockholder = NULL;
		} else if (lk->lk_sharecount) {
			lk->lk_sharecount--;
		} else {
			kpi_sched_unlock();
			panic("lockmgr: release of unlocked %s", lk->lk_wmesg);
		}
		if (lk->lk_waiters)
			kpi_sched_broadcast();
		break;
	default:
		kpi_sched_unlock();
		panic("lockmgr: unsupported request 0x%x", flags);
	}
	kpi_sched_unlock();
	return error;
}

int
lockstatus(struct lock *lk, struct thread *td)
{
	int r = 0;

	kpi_sched_lock();
	if (lk->lk_exclusivecount) {
		if (td == NULL || lk->lk_lockholder == td)
			r = LK_EXCLUSIVE;
		else
			r = LK_EXCLOTHER;
	} else if (lk->lk_sharecount) {
		r = LK_SHARED;
	}
	kpi_sched_unlock();
	return r;
}

int
lockowned(struct lock *lk)
{
	return lk->lk_lockholder == curthread;
}

int
lockcountnb(struct lock *lk)
{
	return lk->lk_exclusivecount + lk->lk_sharecount;
}

void
mtx_init(mtx_t m, const char *ident)
{
	lockinit(&m->mtx_lk, ident, 0, LK_CANRECURSE);
	m->mtx_ident = ident;
}

void
mtx_init_flags(mtx_t m, const char *ident, int flags __unused)
{
	mtx_init(m, ident);
}

void
mtx_uninit(mtx_t m)
{
	lockuninit(&m->mtx_lk);
}

void
mtx_lock(mtx_t m)
{
	lockmgr(&m->mtx_lk, LK_EXCLUSIVE | LK_CANRECURSE);
}

void
mtx_lock_ex_quick(mtx_t m)
{
	mtx_lock(m);
}

void
mtx_lock_sh_quick(mtx_t m)
{
	lockmgr(&m->mtx_lk, LK_SHARED);
}

int
mtx_lock_ex_try(mtx_t m)
{
	return lockmgr(&m->mtx_lk, LK_EXCLUSIVE | LK_CANRECURSE | LK_NOWAIT);
}

void
mtx_unlock(mtx_t m)
{
	lockmgr(&m->mtx_lk, LK_RELEASE);
}

int
mtx_owned(mtx_t m)
{
	return lockowned(&m->mtx_lk);
}

/* ---- spinlocks ---- */

void
spin_init(struct spinlock *s, const char *descr)
{
	s->lock = 0;
	s->descr = descr;
}

void
spin_uninit(struct spinlock *s)
{
	KKASSERT(s->lock == 0);
}

void
spin_lock(struct spinlock *s)
{
	while (__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE))
		hostif_yield();
}

int
spin_trylock(struct spinlock *s)
{
	return __atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE) == 0;
}

void
spin_unlock(struct spinlock *s)
{
	__atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
}

/* ---- tsleep / wakeup ---- */

/*
 * Threads a wakeup() may concern: asleep (td_kpi_sleeping, from
 * tsleep_interlock() or tsleep() on) or held at the door of a sleep.  Both
 * change under the sched lock; with none, wakeup() is this one test, as
 * DragonFly's is a look at an empty sleep queue.  An interlocked sleeper
 * counts itself before it gives up its interlock, so a wakeup ordered
 * after that by the interlock sees it.
 */
static int kpi_nwaitable;

static void
td_sleeping(struct thread *td, int on)
{
	if (td->td_kpi_sleeping != on) {
		td->td_kpi_sleeping = on;
		__atomic_add_fetch(&kpi_nwaitable, on ? 1 : -1,
		    __ATOMIC_SEQ_CST);
	}
}

void
tsleep_interlock(const volatile void *ident, int flags __unused)
{
	struct thread *td = curthread;

	kpi_sched_lock();
	td->td_wchan = ident;
	td->td_wmesg = "interlock";
	td_sleeping(td, 1);
	kpi_sched_unlock();
}

void
tsleep_remove(struct thread *td)
{
	kpi_sched_lock();
	td_sleeping(td, 0);
	td->td_wchan = NULL;
	kpi_sched_unlock();
}

/* fault injection: preempt non-interlocked sleeps (kpi_fault_preempt_sleep) */
static long kpi_preempt_sleep_ns;

void
kpik_fault_preempt_sleep(long us)
{
	__atomic_store_n(&kpi_preempt_sleep_ns, us > 0 ? us * 1000 : 0,
	    __ATOMIC_RELAXED);
}

/*
 * fault injection: hold sleeps at the door of the sleep queue
 * (kpi_fault_sleep_window).  The held thread keeps its tokens (the MP lock
 * included), as a preempted thread does; whatever else runs meanwhile is
 * what another CPU could run there.
 */
static long long kpi_window_ns;
static char kpi_window_wmesg[32];

void
kpik_fault_sleep_window(long max_us, const char *wmesg)
{
	kpi_sched_lock();
	kpi_window_ns = max_us > 0 ? max_us * 1000LL : 0;
	strlcpy(kpi_window_wmesg, wmesg != NULL ? wmesg : "",
	    sizeof(kpi_window_wmesg));
	kpi_sched_unlock();
}

int
kpik_thread_at_sleep_door(int tid)
{
	struct thread *td;
	int r;

	kpi_sched_lock();
	td = kpi_thread_find(tid);
	r = (td != NULL && td->td_kpi_window != NULL);
	kpi_sched_unlock();
	return r;
}

/* the sched lock is held; it is dropped while the thread waits */
static void
tsleep_door(struct thread *td, const volatile void *ident, const char *wmesg)
{
	long long deadline;

	if (kpi_window_ns == 0 || (kpi_window_wmesg[0] != '\0' &&
	    (wmesg == NULL || strcmp(wmesg, kpi_window_wmesg) != 0)))
		return;
	deadline = kpi_now_ns() + kpi_window_ns;
	td->td_kpi_window = ident;
	td->td_kpi_window_woken = 0;
	__atomic_add_fetch(&kpi_nwaitable, 1, __ATOMIC_SEQ_CST);
	KPI_STAT_ADD(KS_SLEEP_WINDOWS, 1);
	while (!td->td_kpi_window_woken && !td->td_kpi_sigpend) {
		if (kpi_sched_wait(deadline) && kpi_now_ns() >= deadline)
			break;
	}
	td->td_kpi_window = NULL;
	__atomic_sub_fetch(&kpi_nwaitable, 1, __ATOMIC_SEQ_CST);
}

int
tsleep(const volatile void *ident, int flags, const char *wmesg, int timo)
{
	struct thread *td = curthread;
	long long deadline = 0, preempt;
	int error = 0;

	/*
	 * A sleep without an interlock can be preempted here, between the
	 * caller dropping its lock and the thread joining the sleep queue:
	 * a wakeup() in between finds nobody to wake.
	 */
	preempt = __atomic_load_n(&kpi_preempt_sleep_ns, __ATOMIC_RELAXED);
	if (preempt > 0 && (flags & PINTERLOCKED) == 0)
		hostif_nanosleep(preempt);

	kpi_sched_lock();
	tsleep_door(td, ident, wmesg);
	if (flags & PINTERLOCKED) {
		/* a wakeup after tsleep_interlock() already happened */
		if (!td->td_kpi_sleeping || td->td_wchan != ident) {
			td_sleeping(td, 0);
			td->td_wchan = NULL;
			kpi_sched_unlock();
			return 0;
		}
	} else {
		td->td_wchan = ident;
		td_sleeping(td, 1);
	}
	td->td_wmesg = wmesg;
	if ((flags & PCATCH) && td->td_kpi_sigpend) {
		td_sleeping(td, 0);
		td->td_wchan = NULL;
		kpi_sched_unlock();
		return EINTR;
	}
	if (timo > 0)
		deadline = kpi_ticks_to_deadline(timo);
	kpi_tokens_release_locked(td);
	td->td_flags |= TDF_KPI_INSLEEP;
	if (td->td_kpi_sleeping)
		KPI_STAT_ADD(KS_TSLEEP_BLOCKS, 1);
	while (td->td_kpi_sleeping) {
		if ((flags & PCATCH) && td->td_kpi_sigpend) {
			error = EINTR;
			break;
		}
		if (kpi_sched_wait(deadline) && td->td_kpi_sleeping &&
		    deadline != 0 && kpi_now_ns() >= deadline) {
			error = EWOULDBLOCK;
			break;
		}
	}
	td->td_flags &= ~TDF_KPI_INSLEEP;
	td_sleeping(td, 0);
	td->td_wchan = NULL;
	kpi_tokens_reacquire_locked(td);
	kpi_sched_unlock();
	return error;
}

/* fault injection for the lost-wakeup test's control: drop wakeups */
static long kpi_drop_wakeups;
static char kpi_drop_wmesg[32];

void
kpik_fault_drop_wakeups(long n, const char *wmesg)
{
	kpi_sched_lock();
	kpi_drop_wakeups = n;
	strlcpy(kpi_drop_wmesg, wmesg != NULL ? wmesg : "",
	    sizeof(kpi_drop_wmesg));
	kpi_sched_unlock();
}

static void
kpi_wakeup(const volatile void *ident, int one)
{
	struct thread *td;
	int woke = 0;

	if (__atomic_load_n(&kpi_nwaitable, __ATOMIC_SEQ_CST) == 0)
		return;
	kpi_sched_lock();
	/* a thread held at the door of a sleep on ident sees this one pass */
	TAILQ_FOREACH(td, &kpi_threads, td_threadq) {
		if (td->td_kpi_window == ident && !td->td_kpi_window_woken) {
			td->td_kpi_window_woken = 1;
			KPI_STAT_ADD(KS_WINDOW_WAKEUPS, 1);
			if (!td->td_kpi_sleeping || td->td_wchan != ident)
				KPI_STAT_ADD(KS_WINDOW_LOST, 1);
			woke = 1;
		}
	}
	if (kpi_drop_wakeups > 0) {
		TAILQ_FOREACH(td, &kpi_threads, td_threadq) {
			if (td->td_kpi_sleeping && td->td_wchan == ident &&
			    (kpi_drop_wmesg[0] == '\0' ||
			    (td->td_wmesg != NULL &&
			    strcmp(td->td_wmesg, kpi_drop_wmesg) == 0)))
				break;
		}
		if (td != NULL) {
			kpi_drop_wakeups--;
			if (woke)
				kpi_sched_broadcast();
			kpi_sched_unlock();
			return;
		}
	}
	TAILQ_FOREACH(td, &kpi_threads, td_threadq) {
		if (td->td_kpi_sleeping && td->td_wchan == ident) {
			td_sleeping(td, 0);
			td->td_wchan = NULL;
			woke = 1;
			if (one)
				break;
		}
	}
	if (woke)
		kpi_sched_broadcast();
	kpi_sched_unlock();
}

void
wakeup(const volatile void *ident)
{
	kpi_wakeup(ident, 0);
}

void
wakeup_one(const volatile void *ident)
{
	kpi_wakeup(ident, 1);
}

void
wakeup_mycpu(const volatile void *ident)
{
	kpi_wakeup(ident, 0);
}

void
wakeup_mycpu_one(const volatile void *ident)
{
	kpi_wakeup(ident, 1);
}

void
wakeup_domain(const volatile void *ident, int domain __unused)
{
	kpi_wakeup(ident, 0);
}

void
wakeup_domain_one(const volatile void *ident, int domain __unused)
{
	kpi_wakeup(ident, 1);
}

int
zsleep(const volatile void *ident, struct lwkt_serialize *slz, int flags,
    const char *wmesg, int timo)
{
	int error;

	tsleep_interlock(ident, flags);
	lwkt_serialize_exit(slz);
	error = tsleep(ident, flags | PINTERLOCKED, wmesg, timo);
	lwkt_serialize_enter(slz);
	return error;
}

int
ssleep(const volatile void *ident, struct spinlock *spin, int flags,
    const char *wmesg, int timo)
{
	int error;

	tsleep_interlock(ident, flags);
	spin_unlock(spin);
	error = tsleep(ident, flags | PINTERLOCKED, wmesg, timo);
	spin_lock(spin);
	return error;
}

int
lksleep(const volatile void *ident, struct lock *lk, int flags,
    const char *wmesg, int timo)
{
	int error;

	tsleep_interlock(ident, flags);
	lockmgr(lk, LK_RELEASE);
	error = tsleep(ident, flags | PINTERLOCKED, wmesg, timo);
	lockmgr(lk, LK_EXCLUSIVE);
	return error;
}

int
mtxsleep(const volatile void *ident, struct mtx *m, int flags,
    const char *wmesg, int timo)
{
	int error;

	tsleep_interlock(ident, flags);
	mtx_unlock(m);
	error = tsleep(ident, flags | PINTERLOCKED, wmesg, timo);
	mtx_lock(m);
	return error;
}

void
DELAY(int usec)
{
	hostif_nanosleep((long long)usec * 1000);
}
