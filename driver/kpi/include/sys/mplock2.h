/* kpi: DragonFly-named <sys/mplock2.h>: the MP lock is mp_token */
#ifndef _SYS_MPLOCK2_H_
#define _SYS_MPLOCK2_H_
#include <sys/thread.h>
#define get_mplock()	lwkt_gettoken(&mp_token)
#define rel_mplock()	lwkt_reltoken(&mp_token)
#define try_mplock()	lwkt_trytoken(&mp_token)
#define ASSERT_MP_LOCK_HELD() ASSERT_LWKT_TOKEN_HELD(&mp_token)
#endif
