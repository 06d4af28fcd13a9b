/*
 * kern_base.c - boot and halt, the console, panic, kmalloc with per-type
 * accounting, copyin/copyout, time, linker sets (SYSINIT, modules, sysctl)
 * and the small libkern functions for the kpi's kernel half.
 */
#include "kpi_kern.h"
#include <sys/module.h>
#include <sys/sysctl.h>
#include <sys/linker_set.h>
#include <sys/priv.h>
#include <sys/eventhandler.h>
#include <sys/mbuf.h>

long kpi_stat[KS_NSTATS];
CTASSERT(KS_NSTATS == 29);	/* = KPI_NSTATS in kpi_sys.h */
int kpi_verbose;
int kpi_booted;
int hz = 100;
int stathz = 100;
int profhz = 100;
int ustick = 10000;
int nstick = 10000000;
volatile int ticks;
volatile time_t time_second;
volatile time_t time_uptime;
int bootverbose;
int cold;
int securelevel = -1;
int tsleep_now_works = 1;
int max_linkhdr = 16;
int max_protohdr = 60;
int max_hdr = 76;
int max_datalen = MHLEN - 76;

static long long kpi_boot_ns;
static char kpi_panic_msg[512];

MALLOC_DEFINE(M_DEVBUF, "devbuf", "device driver memory");
MALLOC_DEFINE(M_TEMP, "temp", "misc temporary data buffers");
MALLOC_DEFINE(M_CACHE, "cache", "various caches");
MALLOC_DEFINE(M_IFADDR, "ifaddr", "interface address");
MALLOC_DEFINE(M_IFNET, "ifnet", "interface internals");
MALLOC_DEFINE(M_LWKTMSG, "lwktmsg", "lwkt messages");

/* ---- console and panic ---- */

void
kpi_log_line(const char *s)
{
	hostif_log(s);
}

int
kvprintf(const char *fmt, __va_list ap)
{
	char buf[1024];
	int n;

	n = hostif_vsnprintf(buf, sizeof(buf), fmt, ap);
	kpi_log_line(buf);
	return n;
}

int
kprintf(const char *fmt, ...)
{
	__va_list ap;
	int n;

	__va_start(ap, fmt);
	n = kvprintf(fmt, ap);
	__va_end(ap);
	return n;
}

int
kuprintf(const char *fmt, ...)
{
	__va_list ap;
	int n;

	__va_start(ap, fmt);
	n = kvprintf(fmt, ap);
	__va_end(ap);
	return n;
}

void
log(int level __unused, const char *fmt, ...)
{
	__va_list ap;

	__va_start(ap, fmt);
	kvprintf(fmt, ap);
	__va_end(ap);
}

int
kvsnprintf(char *buf, size_t len, const char *fmt, __va_list ap)
{
	return hostif_vsnprintf(buf, len, fmt, ap);
}

int
ksnprintf(char *buf, size_t len, const char *fmt, ...)
{
	__va_list ap;
	int n;

	__va_start(ap, fmt);
	n = hostif_vsnprintf(buf, len, fmt, ap);
	__va_end(ap);
	return n;
}

int
kvsprintf(char *buf, const char *fmt, __va_list ap)
{
	/* unbounded, as in the kernel: the caller guarantees the room */
	return hostif_vsnprintf(buf, (size_t)-1 >> 1, fmt, ap);
}

int
ksprintf(char *buf, const char *fmt, ...)
{
	__va_list ap;
	int n;

	__va_start(ap, fmt);
	n = kvsprintf(buf, fmt, ap);
	__va_end(ap);
	return n;
}

int
kvasnprintf(char **strp, size_t max, const char *fmt, __va_list ap)
{
	__va_list ap2;
	int n;

	__va_copy(ap2, ap);
	n = hostif_vsnprintf(NULL, 0, fmt, ap2);
	__va_end(ap2);
	if ((size_t)n + 1 > max)
		n = (int)max - 1;
	*strp = kmalloc(n + 1, M_TEMP, M_WAITOK);
	hostif_vsnprintf(*strp, n + 1, fmt, ap);
	return n;
}

void
kvasfree(char **strp)
{
	if (*strp != NULL)
		kfree(*strp, M_TEMP);
	*strp = NULL;
}

void
panic(const char *fmt, ...)
{
	__va_list ap;

	__va_start(ap, fmt);
	hostif_vsnprintf(kpi_panic_msg, sizeof(kpi_panic_msg), fmt, ap);
	__va_end(ap);
	KPI_STAT_ADD(KS_PANICS, 1);
	hostif_panic(kpi_panic_msg);
}

int
kpik_panic_count(void)
{
	return (int)KPI_STAT_GET(KS_PANICS);
}

const char *
kpik_last_panic(void)
{
	return kpi_panic_msg;
}

/* ---- libkern ---- */

size_t
kpi_strlcpy(char *dst, const char *src, size_t siz)
{
	size_t len = strlen(src);

	if (siz != 0) {
		size_t n = len >= siz ? siz - 1 : len;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

size_t
kpi_strlcat(char *dst, const char *src, size_t siz)
{
	size_t dlen = strnlen(dst, siz);

	if (dlen == siz)
		return siz + strlen(src);
	return dlen + kpi_strlcpy(dst + dlen, src, siz - dlen);
}

static uint64_t kpi_rand_state = 0x9e3779b97f4a7c15ULL;

uint32_t
karc4random(void)
{
	uint64_t x;

	/* xorshift: deterministic, good enough for ids and ports */
	x = __atomic_load_n(&kpi_rand_state, __ATOMIC_RELAXED);
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	__atomic_store_n(&kpi_rand_state, x, __ATOMIC_RELAXED);
	return (uint32_t)(x >> 16);
}

void
karc4rand(void *p, size_t n)
{
	uint8_t *b = p;

	while (n--)
		*b++ = (uint8_t)karc4random();
}

/* ---- time ---- */

long long
kpi_now_ns(void)
{
	long long now = hostif_clock_monotonic_ns();
	long long sec;
	long nsec;

	ticks = (int)((now - kpi_boot_ns) / (1000000000LL / hz));
	time_uptime = (time_t)((now - kpi_boot_ns) / 1000000000LL) + 1;
	hostif_clock_realtime(&sec, &nsec);
	time_second = (time_t)sec;
	return now;
}

long long
kpi_ticks_to_deadline(int timo)
{
	return kpi_now_ns() + (long long)timo * (1000000000LL / hz);
}

void
getmicrotime(struct timeval *tv)
{
	long long sec;
	long nsec;

	hostif_clock_realtime(&sec, &nsec);
	tv->tv_sec = (time_t)sec;
	tv->tv_usec = nsec / 1000;
}

void
microtime(struct timeval *tv)
{
	getmicrotime(tv);
}

void
getnanotime(struct timespec *ts)
{
	long long sec;
	long nsec;

	hostif_clock_realtime(&sec, &nsec);
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = nsec;
}

void
nanotime(struct timespec *ts)
{
	getnanotime(ts);
}

void
getmicrouptime(struct timeval *tv)
{
	long long ns = kpi_now_ns() - kpi_boot_ns;

	tv->tv_sec = ns / 1000000000LL;
	tv->tv_usec = (ns % 1000000000LL) / 1000;
}

void
microuptime(struct timeval *tv)
{
	getmicrouptime(tv);
}

void
getnanouptime(struct timespec *ts)
{
	long long ns = kpi_now_ns() - kpi_boot_ns;

	ts->tv_sec = ns / 1000000000LL;
	ts->tv_nsec = ns % 1000000000LL;
}

void
nanouptime(struct timespec *ts)
{
	getnanouptime(ts);
}

int
tvtohz_high(struct timeval *tv)
{
	long long t = (long long)tv->tv_sec * hz + tv->tv_usec / (1000000 / hz);

	return t > 0x7fffffff ? 0x7fffffff : (int)(t + 1);
}

int
tvtohz_low(struct timeval *tv)
{
	return tvtohz_high(tv);
}

/* ---- kmalloc ---- */

#define KMALLOC_MAGIC	0x6b6d616cU
/* every allocation is cache-line aligned, as __cachealign types need */
#define KMALLOC_ALIGN	64
struct kmalloc_hdr {
	struct malloc_type *type;
	unsigned long	size;
	void		*raw;
	unsigned int	magic;
	unsigned int	pad;
};

static struct malloc_type *kpi_malloc_types;

void
kpi_malloc_register(struct malloc_type *type)
{
	kpi_sched_lock();
	if (!type->ks_registered) {
		type->ks_registered = 1;
		type->ks_next = kpi_malloc_types;
		kpi_malloc_types = type;
	}
	kpi_sched_unlock();
}

void
malloc_init(void *data)
{
	kpi_malloc_register(data);
}

void
malloc_uninit(void *data)
{
	struct malloc_type *type = data;

	if (type->ks_inuse != 0)
		kprintf("malloc_uninit: %ld bytes of '%s' still allocated "
		    "in %ld allocation(s)\n", type->ks_memuse,
		    type->ks_shortdesc, type->ks_inuse);
}

void *
kmalloc(unsigned long size, struct malloc_type *type, int flags)
{
	struct kmalloc_hdr *h;

	if (type == NULL || type->ks_magic != M_MAGIC)
		panic("kmalloc: bad malloc type %p", type);
	if (!type->ks_registered)
		kpi_malloc_register(type);
	if ((flags & (M_WAITOK | M_RNOWAIT)) == 0)
		panic("kmalloc: neither M_WAITOK nor M_NOWAIT given");
	{
		char *raw = hostif_malloc(size + sizeof(*h) + KMALLOC_ALIGN);
		uintptr_t p = ((uintptr_t)raw + sizeof(*h) + KMALLOC_ALIGN - 1) &
		    ~(uintptr_t)(KMALLOC_ALIGN - 1);

		h = (struct kmalloc_hdr *)p - 1;
		h->raw = raw;
	}
	h->type = type;
	h->size = size;
	h->magic = KMALLOC_MAGIC;
	if (flags & M_ZERO)
		memset(h + 1, 0, size);
	__atomic_fetch_add(&type->ks_inuse, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&type->ks_memuse, (long)size, __ATOMIC_RELAXED);
	__atomic_fetch_add(&type->ks_calls, 1, __ATOMIC_RELAXED);
	KPI_STAT_ADD(KS_MALLOC_INUSE, 1);
	KPI_STAT_ADD(KS_MALLOC_BYTES, (long)size);
	return h + 1;
}

void
kfree(void *addr, struct malloc_type *type)
{
	struct kmalloc_hdr *h;

	if (addr == NULL)
		panic("kfree: NULL pointer (type %s)", type->ks_shortdesc);
	h = (struct kmalloc_hdr *)addr - 1;
	if (h->magic != KMALLOC_MAGIC)
		panic("kfree: %p was not allocated by kmalloc", addr);
	if (h->type != type)
		panic("kfree: %p of type %s freed as type %s", addr,
		    h->type->ks_shortdesc, type->ks_shortdesc);
	h->magic = 0;
	__atomic_fetch_sub(&type->ks_inuse, 1, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&type->ks_memuse, (long)h->size, __ATOMIC_RELAXED);
	KPI_STAT_ADD(KS_MALLOC_INUSE, -1);
	KPI_STAT_ADD(KS_MALLOC_BYTES, -(long)h->size);
	hostif_free(h->raw);
}

void *
krealloc(void *addr, unsigned long size, struct malloc_type *type, int flags)
{
	struct kmalloc_hdr *h;
	void *n;

	if (addr == NULL)
		return kmalloc(size, type, flags);
	h = (struct kmalloc_hdr *)addr - 1;
	n = kmalloc(size, type, flags & ~M_ZERO);
	memcpy(n, addr, h->size < size ? h->size : size);
	kfree(addr, type);
	return n;
}

char *
kstrdup(const char *s, struct malloc_type *type)
{
	size_t n = strlen(s) + 1;
	char *d = kmalloc(n, type, M_WAITOK);

	memcpy(d, s, n);
	return d;
}

char *
kstrndup(const char *s, size_t max, struct malloc_type *type)
{
	size_t n = strnlen(s, max);
	char *d = kmalloc(n + 1, type, M_WAITOK);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

long
kpik_malloc_inuse(const char *name)
{
	struct malloc_type *t;
	long n = -1;

	kpi_sched_lock();
	for (t = kpi_malloc_types; t != NULL; t = t->ks_next) {
		if (strcmp(t->ks_shortdesc, name) == 0) {
			n = t->ks_inuse;
			break;
		}
	}
	kpi_sched_unlock();
	return n;
}

/* ---- copyin / copyout: user memory is host memory ---- */

int
copyin(const void *udaddr, void *kaddr, size_t len)
{
	if (udaddr == NULL && len != 0)
		return EFAULT;
	memcpy(kaddr, udaddr, len);
	return 0;
}

int
copyout(const void *kaddr, void *udaddr, size_t len)
{
	if (udaddr == NULL && len != 0)
		return EFAULT;
	memcpy(udaddr, kaddr, len);
	return 0;
}

int
copyinstr(const void *udaddr, void *kaddr, size_t len, size_t *done)
{
	const char *s = udaddr;
	char *d = kaddr;
	size_t i;

	if (udaddr == NULL)
		return EFAULT;
	for (i = 0; i < len; ++i) {
		d[i] = s[i];
		if (s[i] == '\0') {
			if (done != NULL)
				*done = i + 1;
			return 0;
		}
	}
	if (done != NULL)
		*done = len;
	return ENAMETOOLONG;
}

int
copystr(const void *kfaddr, void *kdaddr, size_t len, size_t *done)
{
	return copyinstr(kfaddr, kdaddr, len, done);
}

/* ---- event handlers: recorded only ---- */

void
kpi_eventhandler_invoke(const char *name, void *arg __unused)
{
	if (kpi_verbose > 1)
		kprintf("kpi: event %s\n", name);
}

struct eventhandler_list *
eventhandler_find_list(const char *name __unused)
{
	return NULL;
}

/* ---- linker sets: SYSINIT ---- */

SET_DECLARE(kpi_sysinit_set, struct sysinit);
SET_DECLARE(kpi_sysuninit_set, struct sysinit);
SET_DECLARE(kpi_module_set, moduledata_t);
SET_DECLARE(kpi_sysctl_set, struct sysctl_oid);

static void
sysinit_sort(struct sysinit **v, int n)
{
	int i, j;

	/* insertion sort: stable, ascending (subsystem, order) */
	for (i = 1; i < n; ++i) {
		struct sysinit *x = v[i];

		for (j = i; j > 0; --j) {
			struct sysinit *y = v[j - 1];

			if (y->subsystem > x->subsystem ||
			    (y->subsystem == x->subsystem && y->order > x->order))
				v[j] = y;
			else
				break;
		}
		v[j] = x;
	}
}

static void
sysinit_run_set(struct sysinit **begin, struct sysinit **end, int descending)
{
	struct sysinit **v;
	int n = (int)(end - begin), i;

	if (n <= 0)
		return;
	v = hostif_malloc(sizeof(*v) * n);
	for (i = 0; i < n; ++i)
		v[i] = begin[i];
	sysinit_sort(v, n);
	for (i = 0; i < n; ++i) {
		struct sysinit *si = v[descending ? n - 1 - i : i];

		si->func(si->udata);
	}
	hostif_free(v);
}

void
kpi_sysinit_run(void)
{
	sysinit_run_set(SET_BEGIN(kpi_sysinit_set), SET_LIMIT(kpi_sysinit_set),
	    0);
}

void
kpi_sysuninit_run(void)
{
	sysinit_run_set(SET_BEGIN(kpi_sysuninit_set),
	    SET_LIMIT(kpi_sysuninit_set), 1);
}

/* ---- modules ---- */

struct module {
	moduledata_t	*data;
	int		loaded;
	int		unloaded;	/* has been unloaded at least once */
};

/*
 * The module's .data and .bss (see include/kpi_module.h): snapshot at
 * boot, restored before a module is loaded again, as a fresh kldload.
 */
extern char __start_kpi_mod_data[] __attribute__((__weak__));
extern char __stop_kpi_mod_data[] __attribute__((__weak__));
extern char __start_kpi_mod_bss[] __attribute__((__weak__));
extern char __stop_kpi_mod_bss[] __attribute__((__weak__));
static char *kpi_mod_data_snapshot;

__attribute__((__no_sanitize__("address")))
static void
kpi_rawcopy(volatile char *dst, const volatile char *src, size_t n)
{
	while (n--)
		*dst++ = *src++;
}

__attribute__((__no_sanitize__("address")))
static void
kpi_rawzero(volatile char *dst, size_t n)
{
	while (n--)
		*dst++ = 0;
}

static void
kpi_module_data_snapshot(void)
{
	size_t n = (size_t)(__stop_kpi_mod_data - __start_kpi_mod_data);

	if (__start_kpi_mod_data == NULL || n == 0 || kpi_mod_data_snapshot)
		return;
	kpi_mod_data_snapshot = hostif_malloc(n);
	kpi_rawcopy(kpi_mod_data_snapshot, __start_kpi_mod_data, n);
}

static void
kpi_module_data_restore(void)
{
	size_t n = (size_t)(__stop_kpi_mod_data - __start_kpi_mod_data);

	if (kpi_mod_data_snapshot != NULL)
		kpi_rawcopy(__start_kpi_mod_data, kpi_mod_data_snapshot, n);
	if (__start_kpi_mod_bss != NULL)
		kpi_rawzero(__start_kpi_mod_bss,
		    (size_t)(__stop_kpi_mod_bss - __start_kpi_mod_bss));
}

static struct module *kpi_modules;
static int kpi_nmodules;

static void
kpi_modules_init(void)
{
	moduledata_t **mdp;
	int i = 0;

	kpi_nmodules = (int)(SET_LIMIT(kpi_module_set) -
	    SET_BEGIN(kpi_module_set));
	kpi_modules = hostif_malloc(sizeof(*kpi_modules) *
	    (kpi_nmodules ? kpi_nmodules : 1));
	SET_FOREACH(mdp, kpi_module_set) {
		kpi_modules[i].data = *mdp;
		kpi_modules[i].loaded = 0;
		kpi_modules[i].unloaded = 0;
		i++;
	}
}

const char *
module_getname(module_t mod)
{
	return mod->data->name;
}

int
module_getid(module_t mod)
{
	return (int)(mod - kpi_modules) + 1;
}

int
kpik_module_count(void)
{
	return kpi_nmodules;
}

const char *
kpik_module_name(int i)
{
	if (i < 0 || i >= kpi_nmodules)
		return NULL;
	return kpi_modules[i].data->name;
}

static struct module *
module_lookup(const char *name)
{
	int i;

	for (i = 0; i < kpi_nmodules; ++i) {
		if (strcmp(kpi_modules[i].data->name, name) == 0)
			return &kpi_modules[i];
	}
	return NULL;
}

int
kpik_kldload(const char *name)
{
	struct module *mod = module_lookup(name);
	int error;

	if (mod == NULL)
		return ENOENT;
	if (mod->loaded)
		return EEXIST;
	if (mod->unloaded) {
		int i;

		for (i = 0; i < kpi_nmodules; ++i) {
			if (kpi_modules[i].loaded) {
				kprintf("kpi: cannot reload %s while %s is "
				    "loaded\n", name, kpi_modules[i].data->name);
				return EBUSY;
			}
		}
		if (__start_kpi_mod_data == NULL && __start_kpi_mod_bss == NULL) {
			kprintf("kpi: cannot reload %s: its data was not "
			    "compiled into kpi_mod_* sections (needs clang, "
			    "see include/kpi_module.h)\n", name);
			return EBUSY;
		}
		kpi_module_data_restore();
	}
	error = mod->data->evhand(mod, MOD_LOAD, mod->data->priv);
	if (error == 0)
		mod->loaded = 1;
	return error;
}

int
kpik_kldunload(const char *name)
{
	struct module *mod = module_lookup(name);
	int error;

	if (mod == NULL)
		return ENOENT;
	if (!mod->loaded)
		return ENOENT;
	error = mod->data->evhand(mod, MOD_UNLOAD, mod->data->priv);
	if (error == 0) {
		mod->loaded = 0;
		mod->unloaded = 1;
	}
	return error;
}

/*
 * What DragonFly does to modules at shutdown (kern_module.c,
 * module_shutdown() on shutdown_post_sync, 2008 to 2020 alike): every
 * module gets MOD_SHUTDOWN, in registration order, and its answer is
 * ignored.  Nothing is unloaded; a module that cannot be unloaded (the
 * 2008 and 2010 tun drivers) is no error.
 */
void
kpi_modules_shutdown(void)
{
	int i;

	for (i = 0; i < kpi_nmodules; ++i) {
		if (kpi_modules[i].loaded)
			(void)kpi_modules[i].data->evhand(&kpi_modules[i],
			    MOD_SHUTDOWN, kpi_modules[i].data->priv);
	}
}

/* ---- sysctl ---- */

struct sysctl_oid_list sysctl__children = { NULL, NULL };
struct sysctl_oid_list sysctl__kern_children = { &sysctl__children, "kern" };
struct sysctl_oid_list sysctl__debug_children = { &sysctl__children, "debug" };
struct sysctl_oid_list sysctl__hw_children = { &sysctl__children, "hw" };
struct sysctl_oid_list sysctl__net_children = { &sysctl__children, "net" };
struct sysctl_oid_list sysctl__vm_children = { &sysctl__children, "vm" };
struct sysctl_oid_list sysctl__net_link_children =
    { &sysctl__net_children, "link" };
struct sysctl_oid_list sysctl__net_inet_children =
    { &sysctl__net_children, "inet" };
struct sysctl_oid_list sysctl__net_inet6_children =
    { &sysctl__net_children, "inet6" };

static int
sysctl_fullname(struct sysctl_oid *oid, char *buf, size_t len)
{
	const char *parts[16];
	struct sysctl_oid_list *l;
	int n = 0, i;
	size_t off = 0;

	parts[n++] = oid->oid_name;
	for (l = oid->oid_parent; l != NULL && l->sol_name != NULL;
	    l = l->sol_parent) {
		if (n == 16)
			return ENAMETOOLONG;
		parts[n++] = l->sol_name;
	}
	buf[0] = '\0';
	for (i = n - 1; i >= 0; --i) {
		int w = ksnprintf(buf + off, len - off, "%s%s", parts[i],
		    i ? "." : "");

		if (w < 0 || (size_t)w >= len - off)
			return ENAMETOOLONG;
		off += w;
	}
	return 0;
}

static int
sysctl_old_kernel(struct sysctl_req *req, const void *p, size_t l)
{
	size_t i = 0;

	if (req->oldptr != NULL) {
		i = l;
		if (req->oldlen <= req->oldidx)
			i = 0;
		else if (i > req->oldlen - req->oldidx)
			i = req->oldlen - req->oldidx;
		if (i > 0)
			memcpy((char *)req->oldptr + req->oldidx, p, i);
	}
	req->oldidx += l;
	if (req->oldptr != NULL && i != l)
		return ENOMEM;
	return 0;
}

static int
sysctl_new_kernel(struct sysctl_req *req, void *p, size_t l)
{
	if (req->newptr == NULL)
		return 0;
	if (req->newlen - req->newidx < l)
		return EINVAL;
	memcpy(p, (const char *)req->newptr + req->newidx, l);
	req->newidx += l;
	return 0;
}

int
sysctl_handle_int(SYSCTL_HANDLER_ARGS)
{
	int tmp, error;
	(void)oidp;
	(void)arg2;

	if (arg1 != NULL)
		tmp = *(int *)arg1;
	else
		tmp = arg2;
	error = SYSCTL_OUT(req, &tmp, sizeof(int));
	if (error || req->newptr == NULL)
		return error;
	if (arg1 == NULL)
		return EPERM;
	return SYSCTL_IN(req, arg1, sizeof(int));
}

int
sysctl_handle_long(SYSCTL_HANDLER_ARGS)
{
	long tmp;
	int error;
	(void)oidp;
	(void)arg2;

	if (arg1 == NULL)
		return EINVAL;
	tmp = *(long *)arg1;
	error = SYSCTL_OUT(req, &tmp, sizeof(long));
	if (error || req->newptr == NULL)
		return error;
	return SYSCTL_IN(req, arg1, sizeof(long));
}

int
sysctl_handle_quad(SYSCTL_HANDLER_ARGS)
{
	int error;
	(void)oidp;
	(void)arg2;

	if (arg1 == NULL)
		return EINVAL;
	error = SYSCTL_OUT(req, arg1, sizeof(uint64_t));
	if (error || req->newptr == NULL)
		return error;
	return SYSCTL_IN(req, arg1, sizeof(uint64_t));
}

int
sysctl_handle_string(SYSCTL_HANDLER_ARGS)
{
	int error;
	(void)oidp;
	(void)arg2;

	error = SYSCTL_OUT(req, arg1, strlen((char *)arg1) + 1);
	if (error || req->newptr == NULL)
		return error;
	if (req->newlen - req->newidx >= (size_t)arg2)
		return EINVAL;
	arg2 = (int)(req->newlen - req->newidx);
	error = SYSCTL_IN(req, arg1, arg2);
	((char *)arg1)[arg2] = '\0';
	return error;
}

int
sysctl_handle_opaque(SYSCTL_HANDLER_ARGS)
{
	int error;
	(void)oidp;
	(void)arg2;

	error = SYSCTL_OUT(req, arg1, arg2);
	if (error || req->newptr == NULL)
		return error;
	return SYSCTL_IN(req, arg1, arg2);
}

int
kernel_sysctlbyname(char *name, void *old, size_t *oldlenp,
    void *new, size_t newlen, size_t *retval)
{
	struct sysctl_oid **oidp;
	struct sysctl_req req;
	char full[256];
	int error;

	SET_FOREACH(oidp, kpi_sysctl_set) {
		struct sysctl_oid *oid = *oidp;

		if (sysctl_fullname(oid, full, sizeof(full)) != 0 ||
		    strcmp(full, name) != 0)
			continue;
		if ((oid->oid_kind & CTLTYPE) == CTLTYPE_NODE)
			return EISDIR;
		if (new != NULL && !(oid->oid_kind & CTLFLAG_WR))
			return EPERM;
		if (new != NULL &&
		    priv_check_cred(curthread->td_ucred, PRIV_ROOT, 0) != 0)
			return EPERM;
		memset(&req, 0, sizeof(req));
		req.td = curthread;
		req.oldptr = old;
		req.oldlen = oldlenp != NULL ? *oldlenp : 0;
		req.oldfunc = sysctl_old_kernel;
		req.newptr = new;
		req.newlen = newlen;
		req.newfunc = sysctl_new_kernel;
		lwkt_gettoken(&mp_token);
		error = oid->oid_handler(oid, oid->oid_arg1, oid->oid_arg2,
		    &req);
		lwkt_reltoken(&mp_token);
		if (oldlenp != NULL)
			*oldlenp = req.oldidx;
		if (retval != NULL)
			*retval = req.oldidx;
		return error;
	}
	return ENOENT;
}

int
kpik_sysctlbyname(const char *name, void *oldp, kpik_size_t *oldlenp,
    const void *newp, kpik_size_t newlen)
{
	return kernel_sysctlbyname(__DECONST(char *, name), oldp, oldlenp,
	    __DECONST(void *, newp), newlen, NULL);
}

/* ---- boot and halt ---- */

void
kpik_stats(long *v, int n)
{
	int i;

	KPI_STAT_ADD(KS_IFNETS, 0);
	for (i = 0; i < n && i < KS_NSTATS; ++i)
		v[i] = KPI_STAT_GET(i);
}

int
kpik_boot(int ncpu, int verbose)
{
	if (kpi_booted)
		return EBUSY;
	kpi_verbose = verbose;
	bootverbose = verbose > 1;
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > MAXCPU)
		ncpu = MAXCPU;
	ncpus = ncpu;
	kpi_boot_ns = hostif_clock_monotonic_ns();
	kpi_now_ns();
	kpi_sync_init();
	kpi_proc_init();
	kpi_dev_init();
	kpi_net_init();
	kpi_modules_init();
	kpi_sysinit_run();
	/* a new boot starts from the module's pristine data */
	kpi_module_data_restore();
	kpi_module_data_snapshot();
	kpi_stack_init();
	kpi_booted = 1;
	return 0;
}

int
kpik_halt(void)
{
	if (!kpi_booted)
		return EINVAL;
	kpi_files_closeall();
	kpi_modules_shutdown();
	kpi_stack_fini();
	kpi_net_fini();
	kpi_dev_fini();
	hostif_free(kpi_modules);
	kpi_modules = NULL;
	kpi_nmodules = 0;
	kpik_thread_exit();
	kpi_proc_fini();
	kpi_sysuninit_run();	/* malloc_uninit() reports what is left */
	kpi_booted = 0;
	return 0;
}
