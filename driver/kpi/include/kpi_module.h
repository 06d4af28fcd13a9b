/*
 * kpi_module.h - forced into the driver's compilation (-include) by the
 * host build, never included by the driver itself.  It places the
 * module's initialised and zeroed data in sections of their own, so that
 * the kpi can restore them when the module is loaded again after an
 * unload, as a real kldload(2) re-reads them from the .ko file.  (gcc has
 * no such pragma: Makefile.host renames the sections with objcopy.)
 */
#ifndef _KPI_MODULE_H_
#define _KPI_MODULE_H_
#if defined(__clang__)
#pragma clang section bss = "kpi_mod_bss" data = "kpi_mod_data"
#endif
#endif
