/* kpi: DragonFly-named <sys/mutex2.h> */
#ifndef _SYS_MUTEX2_H_
#define _SYS_MUTEX2_H_
#include <sys/mutex.h>
/* C11's <threads.h> names in libc: keep the kernel's apart */
#define mtx_init		kpi_mtx_init
#define mtx_init_flags		kpi_mtx_init_flags
#define mtx_uninit		kpi_mtx_uninit
#define mtx_lock		kpi_mtx_lock
#define mtx_lock_ex_quick	kpi_mtx_lock_ex_quick
#define mtx_lock_sh_quick	kpi_mtx_lock_sh_quick
#define mtx_lock_ex_try		kpi_mtx_lock_ex_try
#define mtx_unlock		kpi_mtx_unlock
#define mtx_owned		kpi_mtx_owned
void	mtx_init(mtx_t, const char *ident);
void	mtx_init_flags(mtx_t, const char *ident, int flags);
void	mtx_uninit(mtx_t);
void	mtx_lock(mtx_t);
void	mtx_lock_ex_quick(mtx_t);
void	mtx_lock_sh_quick(mtx_t);
int	mtx_lock_ex_try(mtx_t);
void	mtx_unlock(mtx_t);
int	mtx_owned(mtx_t);
#define mtx_lock_ex(m, flags, to)	(mtx_lock(m), 0)
#define mtx_unlock_ex(m)		mtx_unlock(m)
#endif
