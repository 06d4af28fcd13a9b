/* kpi: DragonFly-named <sys/limits.h> */
#ifndef _SYS_LIMITS_H_
#define _SYS_LIMITS_H_
#define CHAR_BIT	8
#define SCHAR_MAX	127
#define SCHAR_MIN	(-128)
#define UCHAR_MAX	255
#define SHRT_MAX	32767
#define SHRT_MIN	(-32768)
#define USHRT_MAX	65535
#define INT_MAX		__INT_MAX__
#define INT_MIN		(-__INT_MAX__ - 1)
#define UINT_MAX	(__INT_MAX__ * 2U + 1U)
#define LONG_MAX	__LONG_MAX__
#define LONG_MIN	(-__LONG_MAX__ - 1L)
#define ULONG_MAX	(__LONG_MAX__ * 2UL + 1UL)
#define LLONG_MAX	__LONG_LONG_MAX__
#define LLONG_MIN	(-__LONG_LONG_MAX__ - 1LL)
#define ULLONG_MAX	(__LONG_LONG_MAX__ * 2ULL + 1ULL)
#define SSIZE_MAX	LONG_MAX
#define QUAD_MAX	LLONG_MAX
#define UQUAD_MAX	ULLONG_MAX
#endif
