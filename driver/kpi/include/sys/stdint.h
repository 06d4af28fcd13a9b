/* kpi: DragonFly-named <sys/stdint.h>, from the compiler's predefined types */
#ifndef _SYS_STDINT_H_
#define _SYS_STDINT_H_

typedef __INT8_TYPE__		__int8_t;
typedef __INT16_TYPE__		__int16_t;
typedef __INT32_TYPE__		__int32_t;
typedef __INT64_TYPE__		__int64_t;
typedef __UINT8_TYPE__		__uint8_t;
typedef __UINT16_TYPE__		__uint16_t;
typedef __UINT32_TYPE__		__uint32_t;
typedef __UINT64_TYPE__		__uint64_t;
typedef __INTPTR_TYPE__		__intptr_t;
typedef __INTMAX_TYPE__		__intmax_t;
typedef __UINTMAX_TYPE__	__uintmax_t;

typedef __int8_t	int8_t;
typedef __int16_t	int16_t;
typedef __int32_t	int32_t;
typedef __int64_t	int64_t;
typedef __uint8_t	uint8_t;
typedef __uint16_t	uint16_t;
typedef __uint32_t	uint32_t;
typedef __uint64_t	uint64_t;
typedef __intptr_t	intptr_t;
typedef __UINTPTR_TYPE__ uintptr_t;
typedef __intmax_t	intmax_t;
typedef __uintmax_t	uintmax_t;
typedef __PTRDIFF_TYPE__ ptrdiff_t;

#define INT8_MAX	__INT8_MAX__
#define INT16_MAX	__INT16_MAX__
#define INT32_MAX	__INT32_MAX__
#define INT64_MAX	__INT64_MAX__
#define UINT8_MAX	__UINT8_MAX__
#define UINT16_MAX	__UINT16_MAX__
#define UINT32_MAX	__UINT32_MAX__
#define UINT64_MAX	__UINT64_MAX__
#define SIZE_T_MAX	__SIZE_MAX__
#define SIZE_MAX	__SIZE_MAX__

#endif /* !_SYS_STDINT_H_ */
