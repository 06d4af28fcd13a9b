/*
 * kpi_kern.h - private declarations shared by the kpi's kernel half.
 * Compiled like the driver: -nostdinc, DragonFly-named headers.
 */
#ifndef _KPI_KERN_H_
#define _KPI_KERN_H_

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/malloc.h>
#include <sys/thread.h>
#include <sys/proc.h>
#include <sys/file.h>

struct mbuf;
struct ifnet;
struct in_ifaddr;
struct in6_ifaddr;
struct knote;
struct uio;

#include "../host/hostif.h"
#include "../host/kpi_kernsys.h"

/* ---- the global scheduler lock: every blocking wait happens under it ---- */
void	kpi_sched_lock(void);
void	kpi_sched_unlock(void);
/* wait for a change (under the sched lock); returns 1 on timeout */
int	kpi_sched_wait(long long deadline_ns);
void	kpi_sched_broadcast(void);
/* release/reacquire the caller's tokens around a blocking wait */
void	kpi_tokens_release_locked(struct thread *td);
void	kpi_tokens_reacquire_locked(struct thread *td);

void	kpi_sync_init(void);
void	kpi_sync_fini(void);
struct thread *kpi_thread_create_kernel(const char *name, void (*fn)(void *),
	    void *arg, struct hostif_thread **htp);
struct thread *kpi_thread_find(int tid);
long	kpi_thread_count(void);

/* ---- processes ---- */
void	kpi_proc_init(void);
void	kpi_proc_fini(void);
struct proc *kpi_proc_get(pid_t pid, int create);
extern struct proc proc0;
extern struct ucred *kpi_cred_root;

/* ---- time ---- */
long long kpi_now_ns(void);
long long kpi_ticks_to_deadline(int timo);

/* ---- counters (struct kpi_stats order) ---- */
enum kpi_stat {
	KS_MBUFS, KS_CLUSTERS, KS_MBUF_BYTES, KS_MBUF_ALLOCS, KS_MBUF_FREES,
	KS_MBUF_NOWAIT_FAIL, KS_MALLOC_INUSE, KS_MALLOC_BYTES, KS_CDEVS,
	KS_IFNETS, KS_FILES, KS_KNOTES, KS_SIGIOS, KS_UIOMOVE, KS_NETISR,
	KS_IP4_IN, KS_IP6_IN, KS_STACK_DROPS, KS_ECHO_REPLIES, KS_UDP_ECHOES,
	KS_UDP_DELIVERED, KS_REPLY_ERRORS, KS_BPF_TAPS, KS_PANICS,
	KS_CLUSTER_ALLOCS, KS_TSLEEP_BLOCKS, KS_SLEEP_WINDOWS,
	KS_WINDOW_WAKEUPS, KS_WINDOW_LOST,
	KS_NSTATS
};
extern long kpi_stat[KS_NSTATS];
#define KPI_STAT_ADD(s, v)	__atomic_fetch_add(&kpi_stat[s], (v), __ATOMIC_RELAXED)
#define KPI_STAT_GET(s)		__atomic_load_n(&kpi_stat[s], __ATOMIC_RELAXED)

/* ---- malloc ---- */
void	kpi_malloc_register(struct malloc_type *);
void	kpi_malloc_fini(void);

/* ---- sysinit / modules / sysctl ---- */
void	kpi_sysinit_run(void);
void	kpi_sysuninit_run(void);
void	kpi_modules_shutdown(void);	/* MOD_SHUTDOWN to each, at halt */
void	kpi_sysctl_fini(void);

/* ---- files ---- */
#define DTYPE_KPI_BPF	20
struct fileops_kpi {
	int	(*fo_read)(struct file *, struct uio *, int ioflag);
	int	(*fo_write)(struct file *, struct uio *, int ioflag);
	int	(*fo_ioctl)(struct file *, u_long, caddr_t, struct ucred *);
	int	(*fo_kqfilter)(struct file *, struct knote *);
	int	(*fo_close)(struct file *);
};
int	kpi_falloc(int type, void *data, const struct fileops_kpi *ops,
	    int flag, int *fdp, struct file **fpp);
int	kpi_fget(int fd, struct file **fpp);	/* referenced */
void	kpi_fdrop(struct file *);
void	kpi_files_closeall(void);
void	kpi_knote_fdclose(struct file *);

/* ---- devices ---- */
void	kpi_dev_init(void);
void	kpi_dev_fini(void);
extern struct lwkt_token kpi_devfs_token;

/* ---- network ---- */
void	kpi_net_init(void);
void	kpi_net_fini(void);
void	kpi_stack_init(void);
void	kpi_stack_fini(void);
void	kpi_stack_input(int isr, struct mbuf *m);
int	kpi_ifioctl_domain(int domain, u_long cmd, caddr_t data,
	    struct ucred *cred);
/* stack users vs. if_detach(): see net_stack.c */
void	kpi_net_enter(void);
void	kpi_net_exit(void);
void	kpi_netisr_sync(void);
void	kpi_inaddr_lock(void);
void	kpi_inaddr_unlock(void);
int	kpi_in_control(u_long cmd, caddr_t data, struct ifnet *ifp,
	    struct ucred *cred);
int	kpi_in6_control(u_long cmd, caddr_t data, struct ifnet *ifp,
	    struct ucred *cred);
void	kpi_in_ifdetach(struct ifnet *ifp);
struct ifnet *kpi_ifunit_ref(const char *name);
/* IPv4/IPv6 address lookups (kpi_inaddr_lock held) */
struct in_ifaddr *kpi_in_localaddr(uint32_t addr_net);
struct in6_ifaddr *kpi_in6_localaddr(const void *addr16);
struct ifnet *kpi_route_lookup4(uint32_t dst_net, uint32_t *src_net);
struct ifnet *kpi_route_lookup6(const void *dst16, void *src16);
long	kpi_ifnet_count(void);
void	kpi_bpf_ifdetach(struct ifnet *ifp);
int	kpi_bpf_listeners(struct ifnet *ifp);

/* ---- misc ---- */
void	kpi_log_line(const char *s);
extern int kpi_verbose;
extern int kpi_booted;
#endif /* !_KPI_KERN_H_ */
