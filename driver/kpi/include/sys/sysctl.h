/* kpi: DragonFly-named <sys/sysctl.h> (static OIDs via a linker set) */
#ifndef _SYS_SYSCTL_H_
#define _SYS_SYSCTL_H_
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/linker_set.h>

#define CTLTYPE		0xf
#define CTLTYPE_NODE	1
#define CTLTYPE_INT	2
#define CTLTYPE_STRING	3
#define CTLTYPE_QUAD	4
#define CTLTYPE_OPAQUE	5
#define CTLTYPE_STRUCT	CTLTYPE_OPAQUE
#define CTLTYPE_UINT	6
#define CTLTYPE_LONG	7
#define CTLTYPE_ULONG	8
#define CTLTYPE_UQUAD	9
#define CTLTYPE_S8	0xa
#define CTLTYPE_BIT32(n) 0xb
#define CTLFLAG_RD	0x80000000
#define CTLFLAG_WR	0x40000000
#define CTLFLAG_RW	(CTLFLAG_RD | CTLFLAG_WR)
#define CTLFLAG_ANYBODY	0x10000000
#define CTLFLAG_SECURE	0x08000000
#define CTLFLAG_PRISON	0x04000000
#define CTLFLAG_DYN	0x02000000
#define CTLFLAG_SKIP	0x01000000
#define CTLFLAG_NOLOCK	0x00100000
#define CTLMASK_SECURE	0x00F00000
#define OID_AUTO	(-1)

struct sysctl_req {
	struct thread	*td;
	int		lock;
	void		*oldptr;
	size_t		oldlen;
	size_t		oldidx;
	int		(*oldfunc)(struct sysctl_req *, const void *, size_t);
	const void	*newptr;
	size_t		newlen;
	size_t		newidx;
	int		(*newfunc)(struct sysctl_req *, void *, size_t);
	size_t		validlen;
	int		flags;
};

/* a children list names its node (parent list + name) */
struct sysctl_oid_list {
	struct sysctl_oid_list	*sol_parent;
	const char		*sol_name;
};

struct sysctl_oid;
#define SYSCTL_HANDLER_ARGS \
	struct sysctl_oid *oidp, void *arg1, int arg2, struct sysctl_req *req

struct sysctl_oid {
	struct sysctl_oid_list	*oid_parent;
	const char		*oid_name;
	int			oid_kind;
	void			*oid_arg1;
	int			oid_arg2;
	int			(*oid_handler)(SYSCTL_HANDLER_ARGS);
	const char		*oid_fmt;
	const char		*oid_descr;
};

#define SYSCTL_IN(r, p, l)	((r)->newfunc)(r, p, l)
#define SYSCTL_OUT(r, p, l)	((r)->oldfunc)(r, p, l)

int	sysctl_handle_int(SYSCTL_HANDLER_ARGS);
int	sysctl_handle_long(SYSCTL_HANDLER_ARGS);
int	sysctl_handle_quad(SYSCTL_HANDLER_ARGS);
int	sysctl_handle_string(SYSCTL_HANDLER_ARGS);
int	sysctl_handle_opaque(SYSCTL_HANDLER_ARGS);

#define SYSCTL_DECL(name)	extern struct sysctl_oid_list sysctl_##name##_children
#define SYSCTL_CHILDREN(oid_ptr) ((struct sysctl_oid_list *)(oid_ptr)->oid_arg1)
#define SYSCTL_STATIC_CHILDREN(oid_name) (&sysctl_##oid_name##_children)

#define SYSCTL_OID(parent, nbr, name, kind, a1, a2, handler, fmt, descr) \
	static struct sysctl_oid sysctl__##parent##_##name = {		\
		&sysctl_##parent##_children, #name, (kind), (a1), (a2),	\
		(handler), (fmt), (descr)				\
	};								\
	DATA_SET(kpi_sysctl_set, sysctl__##parent##_##name)

#define SYSCTL_NODE(parent, nbr, name, access, handler, descr)		\
	struct sysctl_oid_list sysctl_##parent##_##name##_children = {	\
		&sysctl_##parent##_children, #name			\
	};								\
	SYSCTL_OID(parent, nbr, name, CTLTYPE_NODE | (access),		\
	    (void *)&sysctl_##parent##_##name##_children, 0, handler,	\
	    "N", descr)
#define SYSCTL_INT(parent, nbr, name, access, ptr, val, descr)		\
	SYSCTL_OID(parent, nbr, name, CTLTYPE_INT | (access),		\
	    (ptr), (val), sysctl_handle_int, "I", descr)
#define SYSCTL_UINT(parent, nbr, name, access, ptr, val, descr)	\
	SYSCTL_OID(parent, nbr, name, CTLTYPE_UINT | (access),		\
	    (ptr), (val), sysctl_handle_int, "IU", descr)
#define SYSCTL_LONG(parent, nbr, name, access, ptr, val, descr)	\
	SYSCTL_OID(parent, nbr, name, CTLTYPE_LONG | (access),		\
	    (ptr), (val), sysctl_handle_long, "L", descr)
#define SYSCTL_ULONG(parent, nbr, name, access, ptr, val, descr)	\
	SYSCTL_OID(parent, nbr, name, CTLTYPE_ULONG | (access),	\
	    (ptr), (val), sysctl_handle_long, "LU", descr)
#define SYSCTL_QUAD(parent, nbr, name, access, ptr, val, descr)	\
	SYSCTL_OID(parent, nbr, name, CTLTYPE_QUAD | (access),		\
	    (ptr), (val), sysctl_handle_quad, "Q", descr)
#define SYSCTL_STRING(parent, nbr, name, access, arg, len, descr)	\
	SYSCTL_OID(parent, nbr, name, CTLTYPE_STRING | (access),	\
	    (arg), (len), sysctl_handle_string, "A", descr)
#define SYSCTL_OPAQUE(parent, nbr, name, access, ptr, len, fmt, descr)	\
	SYSCTL_OID(parent, nbr, name, CTLTYPE_OPAQUE | (access),	\
	    (ptr), (len), sysctl_handle_opaque, fmt, descr)
#define SYSCTL_STRUCT(parent, nbr, name, access, ptr, type, descr)	\
	SYSCTL_OID(parent, nbr, name, CTLTYPE_OPAQUE | (access),	\
	    (ptr), sizeof(struct type), sysctl_handle_opaque, "S," #type, descr)
#define SYSCTL_PROC(parent, nbr, name, access, ptr, arg, handler, fmt, descr) \
	SYSCTL_OID(parent, nbr, name, (access), (ptr), (arg), (handler), \
	    fmt, descr)

SYSCTL_DECL();
SYSCTL_DECL(_kern);
SYSCTL_DECL(_debug);
SYSCTL_DECL(_hw);
SYSCTL_DECL(_net);
SYSCTL_DECL(_net_link);
SYSCTL_DECL(_net_inet);
SYSCTL_DECL(_net_inet6);
SYSCTL_DECL(_vm);

int	kernel_sysctlbyname(char *name, void *old, size_t *oldlenp,
	    void *new, size_t newlen, size_t *retval);
#endif
