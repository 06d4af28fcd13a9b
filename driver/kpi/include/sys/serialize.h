/* kpi: DragonFly-named <sys/serialize.h> (LWKT serializers) */
#ifndef _SYS_SERIALIZE_H_
#define _SYS_SERIALIZE_H_
#include <sys/types.h>
struct thread;
struct lwkt_serialize {
	int		interlock;	/* held */
	struct thread	*last_td;	/* the holder while held */
	int		waiters;
	int		handler_disabled;
};
typedef struct lwkt_serialize *lwkt_serialize_t;
#define LWKT_SERIALIZE_INITIALIZER	{ 0, NULL, 0, 0 }
void	lwkt_serialize_init(lwkt_serialize_t);
void	lwkt_serialize_enter(lwkt_serialize_t);
void	lwkt_serialize_adaptive_enter(lwkt_serialize_t);
int	lwkt_serialize_try(lwkt_serialize_t);
void	lwkt_serialize_exit(lwkt_serialize_t);
void	lwkt_serialize_handler_disable(lwkt_serialize_t);
void	lwkt_serialize_handler_enable(lwkt_serialize_t);
void	lwkt_serialize_handler_call(lwkt_serialize_t,
	    void (*)(void *, void *), void *, void *);
int	lwkt_serialize_handler_try(lwkt_serialize_t,
	    void (*)(void *, void *), void *, void *);
int	lwkt_serialize_held(lwkt_serialize_t);
#define IS_SERIALIZED(ss)		lwkt_serialize_held(ss)
#define ASSERT_SERIALIZED(ss)		KKASSERT(lwkt_serialize_held(ss))
#define ASSERT_NOT_SERIALIZED(ss)	KKASSERT(!lwkt_serialize_held(ss))
#endif
