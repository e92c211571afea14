/*
 * reports.c: the "postgres_latdiag reports" background worker.
 *
 * Registered at start in every preloaded server.  While
 * latdiag.report_interval is 0 it only waits for a configuration reload,
 * without a database connection.  Once it is set, the worker connects to
 * latdiag.report_database (as the bootstrap superuser) and, every interval,
 * calls latdiag_record_index_report() of the extension installed there, in
 * a transaction of its own.  It starts only after recovery, so a hot
 * standby records nothing.  An error ends the worker; the postmaster starts
 * it again after REPORTS_RESTART_SECONDS.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "reports.h"

#define REPORTS_RESTART_SECONDS 60

/* Register the worker; from _PG_init. */
void
reports_register_worker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = REPORTS_RESTART_SECONDS;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "postgres_latdiag");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "latdiag_reports_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "postgres_latdiag reports");
	snprintf(worker.bgw_type, BGW_MAXLEN, "postgres_latdiag reports");
	RegisterBackgroundWorker(&worker);
}

/* Reload the configuration if a SIGHUP came. */
static void
reports_reload(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/* Record one report, if the extension is installed here. */
static void
reports_record(void)
{
	const char *find = "SELECT n.nspname FROM pg_catalog.pg_extension e "
		"JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
		"WHERE e.extname = 'postgres_latdiag'";

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(find, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "looking up the extension failed");
	if (SPI_processed == 0)
		ereport(LOG,
				(errmsg("postgres_latdiag reports: the extension is not installed in database \"%s\"; no report recorded",
						latdiag_report_database)));
	else
	{
		char	   *nsp = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *sql = psprintf("SELECT %s.latdiag_record_index_report()",
								   quote_identifier(nsp));

		pgstat_report_activity(STATE_RUNNING, sql);
		if (SPI_execute(sql, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "recording the index report failed");
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Entry point of the worker. */
void
latdiag_reports_main(Datum arg)
{
	TimestampTz last;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* no connection until reports are turned on */
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		reports_reload();
		if (latdiag_report_interval > 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1L,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}

	BackgroundWorkerInitializeConnection(latdiag_report_database, NULL, 0);
	pgstat_report_appname("postgres_latdiag reports");
	last = GetCurrentTimestamp();

	for (;;)
	{
		long		timeout = -1L;

		CHECK_FOR_INTERRUPTS();
		reports_reload();
		if (latdiag_report_interval > 0)
		{
			TimestampTz now = GetCurrentTimestamp();
			TimestampTz due = TimestampTzPlusMilliseconds(last,
														  (int64) latdiag_report_interval * 1000);

			if (now >= due)
			{
				reports_record();
				last = GetCurrentTimestamp();
				due = TimestampTzPlusMilliseconds(last,
												  (int64) latdiag_report_interval * 1000);
				now = last;
			}
			timeout = (long) Max((due - now) / 1000, 1);
		}
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_EXIT_ON_PM_DEATH |
						 (timeout >= 0 ? WL_TIMEOUT : 0),
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
