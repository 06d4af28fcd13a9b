/* kpi: DragonFly-named <sys/cdefs.h> (only what the driver and kpi need) */
#ifndef _SYS_CDEFS_H_
#define _SYS_CDEFS_H_

#define __BSD_VISIBLE		1
#define __DragonFly_kpi__	1	/* our emulation, not the real kernel */
#ifndef _KERNEL
#define _KERNEL			1
#endif

#define __BEGIN_DECLS
#define __END_DECLS
#define __P(protos)		protos
#define __CONCAT(x, y)		x ## y
#define __STRING(x)		#x
#define __XSTRING(x)		__STRING(x)
#define __inline		inline
#define __unused		__attribute__((__unused__))
#define __used			__attribute__((__used__))
#define __dead2			__attribute__((__noreturn__))
#define __packed		__attribute__((__packed__))
#define __aligned(x)		__attribute__((__aligned__(x)))
#define __section(x)		__attribute__((__section__(x)))
#define __cachealign		__aligned(64)
#define __printflike(fmtarg, firstvararg) \
	__attribute__((__format__(__printf__, fmtarg, firstvararg)))
#define __printf0like(fmtarg, firstvararg)
#define __scanflike(fmtarg, firstvararg)
#define __nonnull(...)		__attribute__((__nonnull__(__VA_ARGS__)))
#define __returns_twice		__attribute__((__returns_twice__))
#define __always_inline		__attribute__((__always_inline__))
#define __noinline		__attribute__((__noinline__))
#define __predict_true(exp)	__builtin_expect(!!(exp), 1)
#define __predict_false(exp)	__builtin_expect(!!(exp), 0)
#define __offsetof(type, field)	__builtin_offsetof(type, field)
#define __DECONST(type, var)	((type)(__uintptr_t)(const void *)(var))
#define __DEVOLATILE(type, var)	((type)(__uintptr_t)(volatile void *)(var))
#define __DEQUALIFY(type, var)	((type)(__uintptr_t)(const volatile void *)(var))
#define __containerof(x, s, m)	((s *)((char *)(x) - __offsetof(s, m)))
#define __FBSDID(s)		struct __hack
#define __RCSID(s)		struct __hack
#define __IDSTRING(name, string)	struct __hack
#define __va_list		__builtin_va_list
#define __va_start(ap, last)	__builtin_va_start(ap, last)
#define __va_end(ap)		__builtin_va_end(ap)
#define __va_arg(ap, type)	__builtin_va_arg(ap, type)
#define __va_copy(d, s)		__builtin_va_copy(d, s)
#define __GLOBL(sym)
#define __WEAK(sym)
#define __weak_reference(sym, alias)
#define __exported
#define __heedresult		__attribute__((__warn_unused_result__))
#define __malloclike		__attribute__((__malloc__))
#define __alloc_size(x)		__attribute__((__alloc_size__(x)))
#define __alloc_size2(n, x)	__attribute__((__alloc_size__(n, x)))
#define __pure			__attribute__((__pure__))
#define __pure2			__attribute__((__const__))
#define __read_mostly
#define __read_frequently
#define __exclusive_cache_line	__cachealign
#define __debugvar		__unused
#define __static_assert(x, y)	_Static_assert(x, y)

typedef __UINTPTR_TYPE__	__uintptr_t;

#endif /* !_SYS_CDEFS_H_ */
