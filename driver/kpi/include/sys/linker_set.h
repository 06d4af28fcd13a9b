/*
 * kpi: linker sets.  Each entry is a pointer placed in an ELF section whose
 * name is a C identifier, so the host linker provides __start_<set> and
 * __stop_<set>.  Sets are walked by the kpi (sysinit, sysctl, modules).
 */
#ifndef _SYS_LINKER_SET_H_
#define _SYS_LINKER_SET_H_
#define __MAKE_SET(set, sym)						\
	static void const * const __set_##set##_sym_##sym		\
	__attribute__((__section__(#set), __used__, __aligned__(8))) = &sym
#define DATA_SET(set, sym)	__MAKE_SET(set, sym)
#define TEXT_SET(set, sym)	__MAKE_SET(set, sym)
#define SET_DECLARE(set, ptype)						\
	extern ptype * __attribute__((__weak__)) __start_##set[];	\
	extern ptype * __attribute__((__weak__)) __stop_##set[]
#define SET_BEGIN(set)		(__start_##set)
#define SET_LIMIT(set)		(__stop_##set)
#define SET_FOREACH(pvar, set)						\
	for (pvar = SET_BEGIN(set); pvar < SET_LIMIT(set); pvar++)
#endif
