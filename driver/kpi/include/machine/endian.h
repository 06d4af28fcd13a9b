/* kpi: x86_64 is little-endian */
#ifndef _MACHINE_ENDIAN_H_
#define _MACHINE_ENDIAN_H_
#include <sys/types.h>
#define _LITTLE_ENDIAN	1234
#define _BIG_ENDIAN	4321
#define _BYTE_ORDER	_LITTLE_ENDIAN
#define LITTLE_ENDIAN	_LITTLE_ENDIAN
#define BIG_ENDIAN	_BIG_ENDIAN
#define BYTE_ORDER	_BYTE_ORDER
#define __htonl(x)	__builtin_bswap32((uint32_t)(x))
#define __htons(x)	((uint16_t)__builtin_bswap16((uint16_t)(x)))
#define __ntohl(x)	__builtin_bswap32((uint32_t)(x))
#define __ntohs(x)	((uint16_t)__builtin_bswap16((uint16_t)(x)))
#define htonl(x)	__htonl(x)
#define htons(x)	__htons(x)
#define ntohl(x)	__ntohl(x)
#define ntohs(x)	__ntohs(x)
#define bswap16(x)	__builtin_bswap16(x)
#define bswap32(x)	__builtin_bswap32(x)
#define bswap64(x)	__builtin_bswap64(x)
#define htobe16(x)	bswap16(x)
#define htobe32(x)	bswap32(x)
#define be16toh(x)	bswap16(x)
#define be32toh(x)	bswap32(x)
#define htole32(x)	((uint32_t)(x))
#define le32toh(x)	((uint32_t)(x))
#endif
