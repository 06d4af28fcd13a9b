/* kpi: DragonFly-named <sys/types.h> */
#ifndef _SYS_TYPES_H_
#define _SYS_TYPES_H_

#include <sys/cdefs.h>
#include <sys/stdint.h>

typedef unsigned char	u_char;
typedef unsigned short	u_short;
typedef unsigned int	u_int;
typedef unsigned long	u_long;
typedef unsigned short	ushort;
typedef unsigned int	uint;

typedef __uint8_t	u_int8_t;
typedef __uint16_t	u_int16_t;
typedef __uint32_t	u_int32_t;
typedef __uint64_t	u_int64_t;
typedef __uint64_t	u_quad_t;
typedef __int64_t	quad_t;

typedef __SIZE_TYPE__	size_t;
typedef long		ssize_t;
typedef __int64_t	off_t;
typedef int		pid_t;
typedef int		lwpid_t;
typedef __uint32_t	uid_t;
typedef __uint32_t	gid_t;
typedef __uint16_t	mode_t;
typedef __uint32_t	fixpt_t;
typedef long		time_t;
typedef long		suseconds_t;
typedef __uint32_t	useconds_t;
typedef int		clockid_t;
typedef char		*caddr_t;
typedef const char	*c_caddr_t;
typedef volatile char	*v_caddr_t;
typedef __uint32_t	dev_t;
typedef __uint64_t	ino_t;
typedef __uint32_t	nlink_t;
typedef __int64_t	daddr_t;
typedef __int64_t	blkcnt_t;
typedef long		segsz_t;
typedef int		key_t;
typedef long		register_t;
typedef unsigned long	u_register_t;
typedef int		boolean_t;
typedef unsigned long	vm_offset_t;
typedef unsigned long	vm_size_t;
typedef __int64_t	vm_ooffset_t;
typedef unsigned long	vm_pindex_t;
typedef __uint64_t	cpumask_t;
typedef __uint8_t	sa_family_t;
typedef __uint32_t	socklen_t;
typedef __uint32_t	in_addr_t;
typedef __uint16_t	in_port_t;
typedef int		sig_atomic_t;

#ifndef __bool_true_false_are_defined
#define bool	_Bool
#define true	1
#define false	0
#define __bool_true_false_are_defined 1
#endif

#ifndef NULL
#define NULL	((void *)0)
#endif
#ifndef TRUE
#define TRUE	1
#endif
#ifndef FALSE
#define FALSE	0
#endif

struct cdev;
typedef struct cdev	*cdev_t;

#endif /* !_SYS_TYPES_H_ */
