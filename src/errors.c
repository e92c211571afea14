/*
 * errors.c: executions that end in ERROR, per statement and SQLSTATE.
 *
 * ExecutorEnd is not called for an execution that fails, so a failure is
 * seen where the error passes through a hook.  The ExecutorRun,
 * ExecutorFinish and ProcessUtility hooks already catch errors to restore
 * the nesting level: there, for a tracked statement, errors_note copies the
 * statement's queryid, level, user, time until the error (from the
 * executor's own total-time instrumentation, or the utility's start) and
 * the SQLSTATE (geterrcode: the error is on the error stack) into a small
 * backend-local array, and the error goes on.  Nothing is allocated and no
 * lock is taken there; the success path pays nothing, as the same PG_TRY
 * was already there.
 *
 * RECORDING.  The (sub)transaction abort callback, which runs after the
 * aborting code has released its LWLocks, adds what was noted to the
 * statement's entry in the query store (errors, error_time, the counts of
 * the common causes, the failure buckets) and to this file's store, keyed
 * by (userid, dbid, queryid, sqlstate).  A failure noted but followed by no
 * abort (an error caught without a subtransaction) is recorded at the next
 * commit or abort.  Recording takes only table locks, allocates nothing and
 * raises no error: an abort path must not fail.
 *
 * ERRORS OUTSIDE THE EXECUTOR.  A statement can fail before it runs: a
 * syntax error (no query id yet), an error in parse analysis, planning,
 * Bind or ExecutorStart.  emit_log_hook sees every error reported to the
 * client with its SQLSTATE and message; it keeps them, with the query id
 * the backend reports for its running statement, in backend-local memory.
 * At the abort that follows, if no hook noted the top-level statement, the
 * failure is recorded under that query id (0, shown as NULL, before there is
 * one) with the time since the statement started.  The message of the
 * reported error is kept in the error store's entry (privileged readers
 * only); errors caught by an exception handler are never reported, so
 * their entries have no message.
 */
#include "postgres.h"

#include "access/xact.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/elog.h"

#include "errors.h"
#include "guc.h"
#include "slowexec.h"
#include "sources.h"
#include "store.h"
#include "table.h"

#define ERRORS_FILE			PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag_errors.stat"
#define ERRORS_FILE_VERSION	1
#define ERRORS_PENDING		16	/* failures noted before an abort records them */

typedef struct ErrorKey
{
	Oid			userid;			/* TableKeyPrefix */
	Oid			dbid;
	uint64		queryid;
	int32		sqlerrcode;
	int32		pad;			/* zero */
} ErrorKey;

typedef struct ErrorEntry
{
	int64		errors;
	double		total_ms;
	double		max_ms;
	TimestampTz first_seen;
	TimestampTz last_seen;
	int32		message_len;
	char		message[ERRORS_MESSAGE_LEN];
} ErrorEntry;

/* A failed execution noted by a hook, not yet recorded: as it is logged. */
typedef SlowExecution ErrorPending;

/* The last error reported to the client, from emit_log_hook. */
typedef struct ErrorReported
{
	bool		valid;
	bool		running;		/* during a statement */
	int			sqlerrcode;
	uint64		queryid;		/* the backend's top-level query id then */
	TimestampTz stmt_start;
	int			message_len;
	char		message[ERRORS_MESSAGE_LEN];
} ErrorReported;

static emit_log_hook_type prev_emit_log_hook = NULL;
static TableDef errors_def;
static Table *errors_table = NULL;

static ErrorPending pending[ERRORS_PENDING];
int			errors_npending = 0;
static bool top_noted = false;	/* a hook noted the top-level statement */
static ErrorReported reported;
static SlowExecution reported_exec; /* its statement, as the client sent it */

static const TableDef *
errors_table_def(void)
{
	errors_def.name = "postgres_latdiag errors";
	errors_def.key_size = sizeof(ErrorKey);
	errors_def.data_size = sizeof(ErrorEntry);
	errors_def.max_entries = latdiag_max_errors;
	errors_def.max_text = 0;
	errors_def.file = ERRORS_FILE;
	errors_def.file_version = ERRORS_FILE_VERSION;
	errors_def.save = &latdiag_save;
	return &errors_def;
}

/* Ask for the store's memory; from shmem_request_hook. */
void
errors_shmem_request(void)
{
	table_request(errors_table_def());
}

/* Attach to (or create) the store; from shmem_startup_hook. */
void
errors_shmem_startup(void)
{
	errors_table = table_attach(errors_table_def());
}

Size
errors_shmem_size(void)
{
	return table_shmem_size(errors_table_def());
}

/*
 * A tracked statement failed after ms milliseconds: note it.  Called while
 * the error passes through a hook's PG_CATCH, so it only copies.
 */
void
errors_note(uint64 queryid, bool toplevel, double ms, uint64 planid,
			const char *source, int loc, int len)
{
	ErrorPending *p;

	if (toplevel)
		top_noted = true;
	if (errors_npending >= ERRORS_PENDING)
		return;					/* the outermost levels are dropped */
	p = &pending[errors_npending++];
	p->userid = GetUserId();
	p->queryid = queryid;
	p->planid = planid;
	p->toplevel = toplevel;
	p->sqlerrcode = geterrcode();
	p->ms = ms;
	p->has_counts = false;
	p->rows = p->shared_blks_hit = p->shared_blks_read = 0;
	p->lock_wait_ms = -1;
	slowexec_set_statement(p, source, loc, len);
}

/* Add one failure to the error store. */
static void
errors_store(Oid userid, uint64 queryid, int sqlerrcode, double ms,
			 TimestampTz now)
{
	ErrorKey	key;
	ErrorEntry *e;
	uint32		hint;

	if (errors_table == NULL)
		return;
	memset(&key, 0, sizeof(key));
	key.userid = userid;
	key.dbid = MyDatabaseId;
	key.queryid = queryid;
	key.sqlerrcode = sqlerrcode;
	hint = (uint32) (queryid ^ (queryid >> 32)) ^ (uint32) sqlerrcode;
	e = table_lock(errors_table, &key, hint);
	if (e == NULL)
	{
		e = table_create_lock(errors_table, &key, hint, NULL, 0);
		if (e == NULL)
			return;
		if (e->errors == 0)
			e->first_seen = now;
	}
	e->errors++;
	e->total_ms += ms;
	e->max_ms = Max(e->max_ms, ms);
	e->last_seen = now;
	if (reported.valid && reported.sqlerrcode == sqlerrcode &&
		reported.message_len > 0)
	{
		memcpy(e->message, reported.message, reported.message_len);
		e->message_len = reported.message_len;
	}
	table_unlock(errors_table, e, 1.0);
}

/* Is anything captured at all right now? */
static inline bool
capturing(void)
{
	return latdiag_enabled && latdiag_track != LATDIAG_TRACK_NONE;
}

/*
 * Record the failures noted since the last call; at an abort, also the
 * top-level statement's reported error if no hook noted it.
 */
static void
errors_flush(bool abort)
{
	TimestampTz now;

	if (errors_npending == 0 && !(abort && reported.valid))
		goto done;
	if (!capturing() || MyDatabaseId == InvalidOid)
		goto done;
	now = GetCurrentTimestamp();
	for (int i = 0; i < errors_npending; i++)
	{
		ErrorPending *p = &pending[i];

		(void) store_record_error(p->userid, MyDatabaseId, p->queryid,
								  p->toplevel, p->ms, p->sqlerrcode);
		errors_store(p->userid, p->queryid, p->sqlerrcode, p->ms, now);
		sources_record_error(p->userid, p->queryid, p->toplevel, p->ms,
							 &p->tags);
		slowexec_add(p);
	}
	if (abort && reported.valid && reported.running && !top_noted &&
		reported.stmt_start == GetCurrentStatementStartTimestamp())
	{
		double		ms = now > reported.stmt_start ?
			(double) (now - reported.stmt_start) / 1000.0 : 0.0;
		Oid			userid = GetUserId();
		ErrorPending *p = &reported_exec;

		if (reported.queryid != UINT64CONST(0))
			(void) store_record_error(userid, MyDatabaseId, reported.queryid,
									  true, ms, reported.sqlerrcode);
		errors_store(userid, reported.queryid, reported.sqlerrcode, ms, now);
		sources_record_error(userid, reported.queryid, true, ms,
							 &reported_exec.tags);

		/* the client's query string: the statement that failed is in it */
		p->userid = userid;
		p->queryid = reported.queryid;
		p->planid = 0;
		p->toplevel = true;
		p->sqlerrcode = reported.sqlerrcode;
		p->ms = ms;
		p->has_counts = false;
		p->rows = p->shared_blks_hit = p->shared_blks_read = 0;
		p->lock_wait_ms = -1;
		slowexec_add(p);
	}
done:
	errors_npending = 0;
	top_noted = false;
	if (abort)
		reported.valid = false;
}

/* emit_log_hook: keep the SQLSTATE and message of an error being reported. */
static void
errors_emit_log(ErrorData *edata)
{
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);

	if (edata->elevel < ERROR || edata->elevel > FATAL ||
		MyBackendType != B_BACKEND || errors_table == NULL)
		return;
	reported.valid = true;
	reported.sqlerrcode = edata->sqlerrcode;
	reported.queryid = pgstat_get_my_query_id();
	reported.running = MyBEEntry != NULL &&
		(MyBEEntry->st_state == STATE_RUNNING ||
		 MyBEEntry->st_state == STATE_FASTPATH);
	reported.stmt_start = GetCurrentStatementStartTimestamp();
	reported.message_len = 0;
	if (edata->message)
	{
		int			len = (int) strnlen(edata->message, ERRORS_MESSAGE_LEN);

		reported.message_len = pg_mbcliplen(edata->message, len,
											ERRORS_MESSAGE_LEN - 1);
		memcpy(reported.message, edata->message, reported.message_len);
	}
	/* the query string is gone by the time of the abort */
	slowexec_set_statement(&reported_exec, debug_query_string, -1, 0);
}

/* End of a transaction (hooks.c's transaction callback). */
void
errors_xact_event(XactEvent event)
{
	if (event == XACT_EVENT_ABORT)
		errors_flush(true);
	else if (errors_npending > 0 &&
			 (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE))
		errors_flush(false);
}

/* Abort of a subtransaction (hooks.c's subtransaction callback). */
void
errors_subxact_abort(void)
{
	errors_flush(true);
}

/* Install emit_log_hook; from _PG_init. */
void
errors_install(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = errors_emit_log;
}

/* table_read callback: one ErrorRow. */
static void
emit_error(void *row, const void *key, const void *data, char *text,
		   int text_len, bool truncated, void *arg)
{
	ErrorRow   *r = (ErrorRow *) row;
	const ErrorKey *k = (const ErrorKey *) key;
	const ErrorEntry *e = (const ErrorEntry *) data;

	r->userid = k->userid;
	r->dbid = k->dbid;
	r->queryid = k->queryid;
	r->sqlerrcode = k->sqlerrcode;
	r->errors = e->errors;
	r->total_ms = e->total_ms;
	r->max_ms = e->max_ms;
	r->first_seen = e->first_seen;
	r->last_seen = e->last_seen;
	r->message_len = Min(Max(e->message_len, 0), ERRORS_MESSAGE_LEN);
	memcpy(r->message, e->message, r->message_len);
}

/* Copy every entry of the store out. */
ErrorRow *
errors_read(int *nrows)
{
	void	   *rows;

	*nrows = table_read(errors_table, sizeof(ErrorRow), false, emit_error,
						NULL, &rows);
	return (ErrorRow *) rows;
}

/* Entry and eviction counts, for latdiag_info. */
void
errors_info(int64 *entries, int64 *evictions)
{
	int64		truncated;
	TimestampTz reset;

	table_stats(errors_table, entries, evictions, &truncated, &reset);
}

/* Remove the entries matching (userid, dbid, queryid); 0 = any. */
void
errors_reset(Oid userid, Oid dbid, uint64 queryid)
{
	(void) table_reset(errors_table, userid, dbid, queryid);
}
