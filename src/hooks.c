/*
 * hooks.c: hook installation and dispatch.
 *
 * Every hook saves the previous one and calls it.  The nesting level counts
 * ExecutorRun, ExecutorFinish and ProcessUtility calls (planning has its own
 * level); each hook that raises a level restores it both after the call and
 * in PG_CATCH (the planner in PG_FINALLY), so an ERROR in a nested statement
 * cannot leave it wrong.  The executor and utility hooks' PG_CATCH also
 * notes the failure of a tracked statement (errors.c) before re-throwing:
 * the same PG_TRY as before, so finishing statements pay nothing more.  A
 * statement is
 * "toplevel" when it runs at executor nesting level 0, as in
 * pg_stat_statements.
 *
 * Nothing runs in parallel workers: the leader accounts for their buffers.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "jit/jit.h"
#include "miscadmin.h"
#include "optimizer/plancat.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "storage/ipc.h"
#include "tcop/utility.h"

#include "advisor.h"
#include "compat.h"
#include "errors.h"
#include "guc.h"
#include "hooks.h"
#include "locks.h"
#include "measure.h"
#include "normalize.h"
#include "nplusone.h"
#include "pending.h"
#include "plans.h"
#include "samples.h"
#include "scans.h"
#include "shapes.h"
#include "slowexec.h"
#include "snapshots.h"
#include "sources.h"
#include "store.h"
#include "windows.h"

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze_hook = NULL;
static planner_hook_type prev_planner_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static compat_relinfo_hook_type prev_relation_info = NULL;

/* Current nesting depth of ExecutorRun, ExecutorFinish and ProcessUtility. */
static int	exec_nesting = 0;

/* Current nesting depth of planner calls. */
static int	plan_nesting = 0;

/* Time, buffer and WAL use of a planning or utility statement. */
typedef struct Measure
{
	instr_time	start;
	BufferUsage bufusage_start;
	WalUsage	walusage_start;
	BufferUsage bufusage;
	WalUsage	walusage;
} Measure;

static inline void
measure_start(Measure *m)
{
	m->bufusage_start = pgBufferUsage;
	m->walusage_start = pgWalUsage;
	INSTR_TIME_SET_CURRENT(m->start);
}

/* Fill in a sample with what was used since measure_start. */
static inline void
measure_stop(Measure *m, StoreSample *smp)
{
	instr_time	duration;

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, m->start);
	memset(&m->bufusage, 0, sizeof(BufferUsage));
	BufferUsageAccumDiff(&m->bufusage, &pgBufferUsage, &m->bufusage_start);
	memset(&m->walusage, 0, sizeof(WalUsage));
	WalUsageAccumDiff(&m->walusage, &pgWalUsage, &m->walusage_start);

	smp->ms = INSTR_TIME_GET_MILLISEC(duration);
	smp->rows = 0;
	smp->bufusage = &m->bufusage;
	smp->walusage = &m->walusage;
	smp->bucket = hist_bucket(smp->ms);
	smp->planid = 0;
	smp->jit = NULL;
	smp->parallel_workers_to_launch = smp->parallel_workers_launched = 0;
	smp->plan_origin = 0;
	smp->shape = STORE_SHAPE_NONE;
	smp->shape_value = 0;
}

/* Is a statement at this nesting level tracked? */
static inline bool
tracked(int level)
{
	/* latdiag.enabled and latdiag.track, folded by their assign hooks */
	return level <= latdiag_track_max_level && !IsParallelWorker();
}

/*
 * EXECUTE, PREPARE and DEALLOCATE are not counted as utility statements: the
 * prepared statement they run is counted instead, at their own level.
 */
static inline bool
utility_wraps_prepared(Node *parsetree)
{
	return IsA(parsetree, ExecuteStmt) || IsA(parsetree, PrepareStmt) ||
		IsA(parsetree, DeallocateStmt);
}

static void
latdiag_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	store_shmem_request();
	plans_shmem_request();
	samples_shmem_request();
	snapshots_shmem_request();
	scans_shmem_request();
	nplusone_shmem_request();
	locks_shmem_request();
	windows_shmem_request();
	errors_shmem_request();
	slowexec_shmem_request();
	sources_shmem_request();
	pending_shmem_request();
}

static void
latdiag_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	store_shmem_startup();
	plans_shmem_startup();
	samples_shmem_startup();
	snapshots_shmem_startup();
	scans_shmem_startup();
	nplusone_shmem_startup();
	locks_shmem_startup();
	windows_shmem_startup();
	errors_shmem_startup();
	slowexec_shmem_startup();
	sources_shmem_startup();
	pending_shmem_startup();
}

static void
latdiag_post_parse_analyze(ParseState *pstate, Query *query,
						   CompatJumbleState *jstate)
{
	uint64		core_queryid = query->queryId;	/* before others change it */

	if (prev_post_parse_analyze_hook)
		prev_post_parse_analyze_hook(pstate, query, jstate);

	if (core_queryid == UINT64CONST(0) || !tracked(exec_nesting))
		return;
	if (query->utilityStmt &&
		(!latdiag_track_utility || utility_wraps_prepared(query->utilityStmt)))
		return;
	if (query->utilityStmt && !COMPAT_UTILITY_ID_IS_TEXT_HASH)
		utility_query_id_note(pstate->p_sourcetext, query->stmt_location,
							  query->stmt_len, core_queryid);
	if (query->queryId == UINT64CONST(0))
		return;

	store_note_parse(query->queryId, exec_nesting == 0, pstate->p_sourcetext,
					 query->stmt_location, query->stmt_len, jstate);
	if (query->utilityStmt == NULL)
		nplusone_note_constants(query->queryId, pstate->p_sourcetext,
								query->stmt_location, query->stmt_len, jstate);
}

/* The previous planner hook, or the standard planner. */
static inline PlannedStmt *
next_planner(COMPAT_PLANNER_ARGS)
{
	if (prev_planner_hook)
		return prev_planner_hook(COMPAT_PLANNER_PASS);
	return standard_planner(COMPAT_PLANNER_PASS);
}

/* The previous ExecutorFinish hook, or the standard one. */
static inline void
next_ExecutorFinish(QueryDesc *queryDesc)
{
	if (prev_ExecutorFinish)
		prev_ExecutorFinish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
}

/*
 * Planning with latdiag.track_planning: timed, with a planner level.  Kept
 * out of latdiag_planner so that the common path carries no PG_TRY frame.
 */
static pg_noinline PlannedStmt *
planner_measured(COMPAT_PLANNER_ARGS)
{
	PlannedStmt *result;
	Measure		m;
	volatile bool measure;

	measure = query_string && parse->queryId != UINT64CONST(0) &&
		tracked(exec_nesting + plan_nesting);
	if (measure)
		measure_start(&m);

	plan_nesting++;
	PG_TRY();
	{
		result = next_planner(COMPAT_PLANNER_PASS);
	}
	PG_FINALLY();
	{
		plan_nesting--;
	}
	PG_END_TRY();

	if (measure)
	{
		StoreSample smp;

		measure_stop(&m, &smp);
		(void) store_record(parse->queryId, exec_nesting == 0, STORE_PLAN, &smp,
							query_string, parse->stmt_location, parse->stmt_len);
	}
	if (COMPAT_HAS_PLAN_ID && parse->queryId != UINT64CONST(0) &&
		tracked(exec_nesting + plan_nesting))
		plan_id_publish(result);
	return result;
}

static PlannedStmt *
latdiag_planner(COMPAT_PLANNER_ARGS)
{
	PlannedStmt *result;

	if (unlikely(latdiag_track_planning))
		return planner_measured(COMPAT_PLANNER_PASS);

	/* planning is not measured: the planner level is not needed either */
	result = next_planner(COMPAT_PLANNER_PASS);
	if (COMPAT_HAS_PLAN_ID && parse->queryId != UINT64CONST(0) &&
		tracked(exec_nesting))
		plan_id_publish(result);
	return result;
}

static void
latdiag_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	uint64		queryid = queryDesc->plannedstmt->queryId;
	bool		track = queryid != UINT64CONST(0) && tracked(exec_nesting);

	/*
	 * Arm for a snapshot: instrumentation has to be chosen now, before the
	 * duration is known.
	 */
	if (track && latdiag_snapshot_min_duration >= 0)
	{
		int			why = store_arm_reason(queryid, exec_nesting == 0);

		if (why == SNAP_REASON_NONE && snapshots_sampled())
			why = SNAP_REASON_SAMPLED;
		if (why != SNAP_REASON_NONE)
		{
			queryDesc->instrument_options |= snapshots_instrument_options(why);
			snapshots_note_armed(queryDesc, exec_nesting, why);
		}
	}
	/* statements run inside a trigger are not the client's: no N+1 part */
	if (track && !nplusone_skip())
		nplusone_start(queryid, exec_nesting);

	if (track)
		measure_before_start(queryDesc);

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	/*
	 * Measure Run and Finish: with the executor's own total-time
	 * instrumentation if another module set it up or may read it, else
	 * cheaply (measure.c).
	 */
	if (track)
		measure_after_start(queryDesc,
							ExecutorStart_hook == latdiag_ExecutorStart);
}

/*
 * An error is passing through ExecutorRun or ExecutorFinish: note the
 * failure of a tracked statement (errors.c records it at the abort).
 */
static void
executor_failed(QueryDesc *queryDesc)
{
	uint64		queryid = queryDesc->plannedstmt->queryId;

	if (queryid != UINT64CONST(0) && tracked(exec_nesting) &&
		measure_active(queryDesc))
		errors_note(queryid, exec_nesting == 0,
					measure_elapsed_ms(queryDesc),
					plan_id_of(queryDesc->plannedstmt), queryDesc->sourceText,
					queryDesc->plannedstmt->stmt_location,
					queryDesc->plannedstmt->stmt_len);
}

/* Log a slow execution or utility statement that finished. */
static void
log_slow(const StoreSample *smp, uint64 queryid, double lock_ms,
		 const char *source, int loc, int len)
{
	SlowExecution e;

	e.ms = smp->ms;
	e.userid = GetUserId();
	e.queryid = queryid;
	e.planid = smp->planid;
	e.toplevel = exec_nesting == 0;
	e.sqlerrcode = 0;
	e.has_counts = true;
	e.rows = (int64) smp->rows;
	e.shared_blks_hit = smp->bufusage ? smp->bufusage->shared_blks_hit : 0;
	e.shared_blks_read = smp->bufusage ? smp->bufusage->shared_blks_read : 0;
	e.lock_wait_ms = lock_ms;
	slowexec_set_statement(&e, source, loc, len);
	slowexec_add(&e);
}

static void
latdiag_ExecutorRun(COMPAT_EXECUTORRUN_ARGS)
{
	ExecMeasure *m = measure_find(queryDesc);

	if (m)
		measure_run_begin(m);
	exec_nesting++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(COMPAT_EXECUTORRUN_PASS);
		else
			standard_ExecutorRun(COMPAT_EXECUTORRUN_PASS);
	}
	PG_CATCH();
	{
		exec_nesting--;
		if (m)
			measure_run_end(m);
		executor_failed(queryDesc);
		PG_RE_THROW();
	}
	PG_END_TRY();
	exec_nesting--;
	if (m)
		measure_run_end(m);
}

/*
 * ExecutorFinish of a statement that may run plan nodes or triggers: the
 * level raised, measured, a failure noted.  Kept out of
 * latdiag_ExecutorFinish so that a plain SELECT's carries no PG_TRY frame.
 */
static pg_noinline void
finish_wrapped(QueryDesc *queryDesc)
{
	ExecMeasure *m = measure_find(queryDesc);

	if (m)
		measure_run_begin(m);
	exec_nesting++;
	PG_TRY();
	{
		next_ExecutorFinish(queryDesc);
	}
	PG_CATCH();
	{
		exec_nesting--;
		if (m)
			measure_run_end(m);
		executor_failed(queryDesc);
		PG_RE_THROW();
	}
	PG_END_TRY();
	exec_nesting--;
	if (m)
		measure_run_end(m);
}

static void
latdiag_ExecutorFinish(QueryDesc *queryDesc)
{
	/*
	 * A plain SELECT (no data-modifying WITH) runs no plan node and queues
	 * no trigger here: no level to raise, nothing to measure or to catch.
	 */
	if (queryDesc->operation == CMD_SELECT &&
		queryDesc->estate->es_auxmodifytables == NIL)
	{
		next_ExecutorFinish(queryDesc);
		return;
	}
	finish_wrapped(queryDesc);
}

/*
 * Record a finished execution directly in every store (when it could not
 * go into its backend's batch), then prime a batch for the next ones.
 */
static void
record_directly(QueryDesc *queryDesc, uint64 queryid, StoreSample *smp,
				const ExecFigures *fig, double lock_ms, bool slow)
{
	BufferUsage bufusage;
	WalUsage	walusage;
	uint64		previous_planid;
	uint64		source;

	measure_usage(fig, &bufusage, &walusage);
	smp->bufusage = &bufusage;
	smp->walusage = &walusage;

	previous_planid =
		store_record(queryid, exec_nesting == 0, STORE_EXEC, smp,
					 queryDesc->sourceText,
					 queryDesc->plannedstmt->stmt_location,
					 queryDesc->plannedstmt->stmt_len);
	source = sources_record(queryid, exec_nesting == 0, smp->ms, smp->bucket,
							queryDesc->sourceText);
	if (slowexec_is_slow(smp->ms, latdiag_slow_execution_min_duration))
		log_slow(smp, queryid, lock_ms, queryDesc->sourceText,
				 queryDesc->plannedstmt->stmt_location,
				 queryDesc->plannedstmt->stmt_len);

	/*
	 * Plans and snapshots may run EXPLAIN, which reads the catalogs: only
	 * inside a transaction in progress (an executor can be shut down during
	 * abort).
	 */
	if (IsTransactionState())
	{
		Oid			scan_relids[SCANS_PER_PLAN];
		bool		new_plan;
		int			nscans;

		nscans = plans_record(queryDesc, queryid, smp->planid,
							  previous_planid, smp->ms, smp->bucket,
							  &new_plan, scan_relids);
		if (new_plan)
		{
			nscans = scans_on_new_plan(queryDesc, queryid, scan_relids);
			plans_set_scans(queryid, smp->planid, scan_relids, nscans);
		}
		if (nscans > 0)
			scans_record(queryDesc, queryid, scan_relids, nscans, smp->ms);
		if (snapshots_may_keep(smp->ms, latdiag_snapshot_min_duration,
							   latdiag_snapshot_tail_min_duration))
			snapshots_consider(queryDesc, queryid, smp->planid, smp->ms,
							   exec_nesting == 0, exec_nesting);
		else if (!slow && nscans == 0 && smp->jit == NULL)
			pending_prime(queryid, exec_nesting == 0, source, smp->planid);

		/*
		 * Parameter values for index advice: slow or sampled seq scans only
		 * (a plan with scans is never batched, so they all come here).
		 */
		if (slowexec_is_slow(smp->ms, latdiag_slow_execution_min_duration) ||
			(nscans > 0 && queryDesc->planstate != NULL &&
			 queryDesc->planstate->instrument != NULL))
			samples_capture(queryDesc, queryid, smp->ms);
	}
}

static void
latdiag_ExecutorEnd(QueryDesc *queryDesc)
{
	uint64		queryid = queryDesc->plannedstmt->queryId;
	ExecFigures fig;
	bool		track = queryid != UINT64CONST(0) && tracked(exec_nesting) &&
		measure_end(queryDesc, &fig);

	double		lock_ms = locks_statement_end(queryid, track, exec_nesting == 0);

	if (track)
	{
		StoreSample smp;
		bool		slow;

		smp.ms = fig.ms;
		smp.rows = queryDesc->estate->es_processed;
		smp.bufusage = NULL;	/* record_directly computes them */
		smp.walusage = NULL;
		smp.bucket = hist_bucket(smp.ms);
		smp.planid = plan_id_of(queryDesc->plannedstmt);
		smp.jit = queryDesc->estate->es_jit ? &queryDesc->estate->es_jit->instr : NULL;
		smp.parallel_workers_to_launch =
			compat_parallel_workers_to_launch(queryDesc->estate);
		smp.parallel_workers_launched =
			compat_parallel_workers_launched(queryDesc->estate);
		smp.plan_origin = compat_plan_is_generic(queryDesc->plannedstmt) ? 1 :
			compat_plan_is_custom(queryDesc->plannedstmt) ? 2 : 0;
		smp.shape = shapes_of_execution(queryDesc, smp.rows, &smp.shape_value);

		/*
		 * Every finished execution of a tracked statement passes here:
		 * captures that need each execution are called here (keep them
		 * cheap: backend-local work, or a batch of their own).
		 */
		if (!nplusone_skip())
			nplusone_record(queryDesc, queryid, exec_nesting, smp.ms, smp.rows,
							fig.end_ms);

		/*
		 * The single place where a finished execution is recorded in the
		 * stores: in its backend's batch (pending.c) when it is an ordinary
		 * one, else directly.
		 */
		slow = slowexec_is_slow(smp.ms, latdiag_slow_execution_min_duration) ||
			snapshots_may_keep(smp.ms, latdiag_snapshot_min_duration,
							   latdiag_snapshot_tail_min_duration);
		if (unlikely(slow || smp.shape != STORE_SHAPE_NONE) || !IsTransactionState())
		{
			/* not for a batch: its batches of another plan go first */
			pending_settle(queryid, exec_nesting == 0, smp.planid);
			record_directly(queryDesc, queryid, &smp, &fig, lock_ms, slow);
		}
		else if (!pending_record(queryid, exec_nesting == 0,
								 sources_source_id(queryDesc->sourceText),
								 &smp, &fig))
			record_directly(queryDesc, queryid, &smp, &fig, lock_ms, slow);
	}

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/* The previous ProcessUtility hook, or the standard one. */
static inline void
next_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					bool readOnlyTree, ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv,
					DestReceiver *dest, QueryCompletion *qc)
{
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

static void
latdiag_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	volatile uint64 queryid = pstmt->queryId;
	volatile bool measure;
	Measure		m;
	double		lock_ms;

	/* EXECUTE and friends are transparent: no level, no utility entry */
	if (utility_wraps_prepared(parsetree))
	{
		next_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
		return;
	}

	/*
	 * pg_stat_statements zeroes a utility statement's queryId when its hook
	 * runs before ours: find the id core gave it (normalize.h).
	 */
	if (queryid == UINT64CONST(0) && queryString && IsQueryIdEnabled())
		queryid = utility_query_id(queryString, pstmt->stmt_location,
								   pstmt->stmt_len);

	measure = latdiag_track_utility && queryid != UINT64CONST(0) &&
		tracked(exec_nesting);
	if (measure)
		measure_start(&m);

	exec_nesting++;
	PG_TRY();
	{
		next_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		exec_nesting--;
		if (measure)
		{
			instr_time	elapsed;

			INSTR_TIME_SET_CURRENT(elapsed);
			INSTR_TIME_SUBTRACT(elapsed, m.start);
			errors_note(queryid, exec_nesting == 0,
						INSTR_TIME_GET_MILLISEC(elapsed), 0, queryString,
						pstmt->stmt_location, pstmt->stmt_len);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	exec_nesting--;

	/*
	 * A statement that turned capture off (SET latdiag.enabled = off, as the
	 * latdiag program does in its own sessions) is not recorded either: the
	 * SET that turns it back on is not, having started while it was off.
	 */
	if (measure && !tracked(exec_nesting))
		measure = false;

	lock_ms = locks_statement_end(queryid, measure, exec_nesting == 0);
	if (measure)
	{
		StoreSample smp;

		measure_stop(&m, &smp);
		if (qc && (qc->commandTag == CMDTAG_COPY ||
				   qc->commandTag == CMDTAG_FETCH ||
				   qc->commandTag == CMDTAG_SELECT ||
				   qc->commandTag == CMDTAG_REFRESH_MATERIALIZED_VIEW))
			smp.rows = qc->nprocessed;
		(void) store_record(queryid, exec_nesting == 0, STORE_EXEC, &smp,
							queryString, pstmt->stmt_location, pstmt->stmt_len);
		(void) sources_record(queryid, exec_nesting == 0, smp.ms, smp.bucket,
							  queryString);
		if (slowexec_is_slow(smp.ms, latdiag_slow_execution_min_duration))
			log_slow(&smp, queryid, lock_ms, queryString, pstmt->stmt_location,
					 pstmt->stmt_len);
	}
}

/* Index advice: hypothetical indexes, only while the advisor plans. */
static void
latdiag_relation_info(COMPAT_RELINFO_ARGS)
{
	if (prev_relation_info)
		prev_relation_info(COMPAT_RELINFO_PASS);
	advisor_relation_info(COMPAT_RELINFO_PASS);
}

/*
 * The relation-info hook is installed only while the advisor plans a
 * what-if (advisor.c, on and off around the planner call, off in its
 * PG_FINALLY too): the planning of every other statement does not pass
 * through latdiag for each relation.
 */
void
hooks_whatif(bool on)
{
	if (on && COMPAT_RELINFO_HOOK != latdiag_relation_info)
	{
		prev_relation_info = COMPAT_RELINFO_HOOK;
		COMPAT_RELINFO_HOOK = latdiag_relation_info;
	}
	else if (!on && COMPAT_RELINFO_HOOK == latdiag_relation_info)
		COMPAT_RELINFO_HOOK = prev_relation_info;
}

/*
 * One callback for the end of a transaction, one for a subtransaction's
 * abort: a failed statement's error is recorded (errors.c), then the lock
 * waits of the aborted (sub)transaction are charged (locks.c).
 */
static void
latdiag_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT)
	{
		errors_xact_event(event);
		locks_on_abort();
	}
	else if (unlikely(errors_npending > 0))
		errors_xact_event(event);
}

static void
latdiag_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		errors_subxact_abort();
		locks_on_abort();
	}
}

/* Install every hook, saving the previous ones, and the transaction callbacks. */
void
hooks_install(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = latdiag_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = latdiag_shmem_startup;
	prev_post_parse_analyze_hook = post_parse_analyze_hook;
	post_parse_analyze_hook = latdiag_post_parse_analyze;
	prev_planner_hook = planner_hook;
	planner_hook = latdiag_planner;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = latdiag_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = latdiag_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = latdiag_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = latdiag_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = latdiag_ProcessUtility;
	RegisterXactCallback(latdiag_xact_callback, NULL);
	RegisterSubXactCallback(latdiag_subxact_callback, NULL);
}
