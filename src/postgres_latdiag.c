/*
 * postgres_latdiag.c: module entry point.
 *
 * The library must be loaded through shared_preload_libraries: it sizes its
 * shared memory at start.  Loaded any other way, it defines nothing, and the
 * SQL functions say how to load it.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "compat.h"
#include "errors.h"
#include "guc.h"
#include "histogram.h"
#include "hooks.h"
#include "locks.h"
#include "reports.h"
#include "sources.h"

COMPAT_MODULE_MAGIC("postgres_latdiag", LATDIAG_VERSION);

void		_PG_init(void);

/*
 * Fill the histogram's tables; when preloaded, define the settings, turn on
 * query ids, install the hooks, start the sampler.
 */
void
_PG_init(void)
{
	hist_init();
	if (!process_shared_preload_libraries_in_progress)
		return;

	guc_define();
	EnableQueryId();
	hooks_install();
	errors_install();
	sources_install();
	locks_register_sampler();
	reports_register_worker();
}
