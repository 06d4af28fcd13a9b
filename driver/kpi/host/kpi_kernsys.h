/*
 * kpi_kernsys.h - the kernel half's system-call layer, as called by the host
 * half's kpi_sys.c wrappers.  Included from both halves, so builtin types
 * only.  Every function returns 0 or a DragonFly errno value; results come
 * back through pointers.  User buffers are host memory.
 */
#ifndef _KPI_KERNSYS_H_
#define _KPI_KERNSYS_H_

typedef __SIZE_TYPE__ kpik_size_t;

struct kpik_kevent;	/* layout of DragonFly's struct kevent */
struct kpik_pollfd;	/* layout of DragonFly's struct pollfd */

int	kpik_boot(int ncpus, int verbose);
int	kpik_halt(void);
int	kpik_kldload(const char *name);
int	kpik_kldunload(const char *name);
int	kpik_module_count(void);
const char *kpik_module_name(int i);

int	kpik_setproc(int pid);
int	kpik_getpid(void);
int	kpik_setuid(unsigned int uid, unsigned int gid);
unsigned long kpik_sigcount(int pid, int sig);
int	kpik_thread_id(void);
int	kpik_thread_interrupt(int tid);
int	kpik_thread_sleeping(int tid, const char **wmesgp);
void	kpik_thread_exit(void);

int	kpik_open(const char *path, int flags, int *fdp);
int	kpik_close(int fd);
int	kpik_read(int fd, void *buf, kpik_size_t n, long *resp);
int	kpik_write(int fd, const void *buf, kpik_size_t n, long *resp);
int	kpik_ioctl(int fd, unsigned long cmd, void *arg);
int	kpik_fcntl(int fd, int cmd, long arg, int *resp);
int	kpik_socket(int domain, int type, int proto, int *fdp);
int	kpik_bind(int fd, const void *sa, unsigned int salen);
int	kpik_getsockname(int fd, void *sa, unsigned int *salenp);
int	kpik_sendto(int fd, const void *buf, kpik_size_t n, int flags,
	    const void *to, unsigned int tolen, long *resp);
int	kpik_recvfrom(int fd, void *buf, kpik_size_t n, int flags,
	    void *from, unsigned int *fromlenp, long *resp);
int	kpik_kqueue(int *fdp);
int	kpik_kevent(int kq, const struct kpik_kevent *changes, int nchanges,
	    struct kpik_kevent *events, int nevents, long long timeout_ns,
	    int *resp);
int	kpik_poll(struct kpik_pollfd *fds, unsigned int nfds, int timeout_ms,
	    int *resp);
int	kpik_sysctlbyname(const char *name, void *oldp, kpik_size_t *oldlenp,
	    const void *newp, kpik_size_t newlen);

int	kpik_devstat(const char *path, unsigned int *uid, unsigned int *gid,
	    int *perms);
int	kpik_fdevname(int fd, char *buf, kpik_size_t len);
int	kpik_bpf_open(const char *ifname, int *fdp);
int	kpik_sync(void);
void	kpik_fault_drop_wakeups(long n, const char *wmesg);
void	kpik_fault_preempt_sleep(long us);
void	kpik_fault_sleep_window(long max_us, const char *wmesg);
int	kpik_thread_at_sleep_door(int tid);
int	kpik_stack_output(const char *ifname, int af, const void *pkt,
	    kpik_size_t len);

/* counters for tests: see struct kpi_stats in kpi_sys.h */
void	kpik_stats(long *v, int n);
int	kpik_ifstats(const char *ifname, long *v, int n);
long	kpik_malloc_inuse(const char *type);
void	kpik_mbuf_fail(long nth);
void	kpik_mbuf_fail_any(long nth);
int	kpik_panic_count(void);
const char *kpik_last_panic(void);
#endif
