/*
 * compat.h: every difference between the PostgreSQL majors latdiag builds
 * against (15 to 19), in one place.
 *
 * Capability files include this header instead of the headers that moved,
 * and use the names below; each names the release that made the change and
 * why.  They are written against one API and read the same on every major.
 * Where a capability really does more on a newer server (plan ids reported
 * by core on 18, new counters), the macros below say whether the server has
 * it (COMPAT_HAS_*) and the capability tests that once, in its own file.
 *
 * Version tests sit at the release that made the change, so 16 builds with
 * the same tests although it cannot be built on our CI machines.
 */
#ifndef LATDIAG_COMPAT_H
#define LATDIAG_COMPAT_H

#include "access/hash.h"
#include "access/stratnum.h"
#include "commands/explain.h"
#include "executor/execdesc.h"
#include "executor/instrument.h"
#include "nodes/execnodes.h"
#include "nodes/plannodes.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/backend_status.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"
#include "access/htup_details.h"

/* 16: queryjumble.h moved from utils/ to nodes/. */
#if PG_VERSION_NUM >= 160000
#include "nodes/queryjumble.h"
#else
#include "utils/queryjumble.h"
#endif

/*
 * 16: core jumbles a utility statement's parse tree; 15 hashed its text
 * (normalize.c recomputes the id when another extension zeroed it).
 */
#if PG_VERSION_NUM >= 160000
#define COMPAT_UTILITY_ID_IS_TEXT_HASH 0
#else
#define COMPAT_UTILITY_ID_IS_TEXT_HASH 1
#endif

/* 18: ExplainState and the output helpers moved out of commands/explain.h. */
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif

/*
 * 18: PG_MODULE_MAGIC_EXT names the module and its version in
 * pg_get_loaded_modules().
 */
#if PG_VERSION_NUM >= 180000
#define COMPAT_MODULE_MAGIC(module_name, module_version) \
	PG_MODULE_MAGIC_EXT(.name = module_name, .version = module_version)
#else
#define COMPAT_MODULE_MAGIC(module_name, module_version) PG_MODULE_MAGIC
#endif

/*
 * 19: post_parse_analyze_hook receives a const JumbleState.  latdiag only
 * reads it (normalize.c works on a copy of the constant locations).
 */
#if PG_VERSION_NUM >= 190000
typedef const JumbleState CompatJumbleState;
#else
typedef JumbleState CompatJumbleState;
#endif

/*
 * 18: constants of an IN list are "squashed" into one location that spans
 * the list, and $n parameters of the text are recorded as locations too
 * (to be renumbered only when a list was squashed).
 */
#if PG_VERSION_NUM >= 180000
#define compat_location_squashed(loc) ((loc)->squashed)
#define compat_location_is_param(loc) ((loc)->extern_param)
#define compat_location_kept_param(js, loc) \
	((loc)->extern_param && !(js)->has_squashed_lists)
#else
#define compat_location_squashed(loc) false
#define compat_location_is_param(loc) false
#define compat_location_kept_param(js, loc) false
#endif

/*
 * 18: ExecutorRun lost its execute_once argument.  Hooks are declared with
 * COMPAT_EXECUTORRUN_ARGS and call the next one with ..._PASS.
 */
#if PG_VERSION_NUM >= 180000
#define COMPAT_EXECUTORRUN_ARGS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define COMPAT_EXECUTORRUN_PASS queryDesc, direction, count
#else
#define COMPAT_EXECUTORRUN_ARGS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define COMPAT_EXECUTORRUN_PASS queryDesc, direction, count, execute_once
#endif

/*
 * 19: get_relation_info_hook is gone; build_simple_rel_hook sees each base
 * relation once its RelOptInfo (index list included) is built.  latdiag's
 * hook is declared with COMPAT_RELINFO_ARGS and reads the relation's OID and
 * whether it is an inheritance parent with the macros below.
 */
#if PG_VERSION_NUM >= 190000
#include "optimizer/pathnode.h"
#define COMPAT_RELINFO_HOOK build_simple_rel_hook
typedef build_simple_rel_hook_type compat_relinfo_hook_type;
#define COMPAT_RELINFO_ARGS PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte
#define COMPAT_RELINFO_PASS root, rel, rte
#define COMPAT_RELINFO_RELID ((rte)->rtekind == RTE_RELATION ? (rte)->relid : InvalidOid)
#define COMPAT_RELINFO_INHPARENT ((rte)->inh)
#else
#include "optimizer/plancat.h"
#define COMPAT_RELINFO_HOOK get_relation_info_hook
typedef get_relation_info_hook_type compat_relinfo_hook_type;
#define COMPAT_RELINFO_ARGS PlannerInfo *root, Oid relationObjectId, bool inhparent, RelOptInfo *rel
#define COMPAT_RELINFO_PASS root, relationObjectId, inhparent, rel
#define COMPAT_RELINFO_RELID (relationObjectId)
#define COMPAT_RELINFO_INHPARENT (inhparent)
#endif

/* 19: planner() takes the EXPLAIN state too (NULL when not explaining). */
#if PG_VERSION_NUM >= 190000
#define compat_planner(parse, query_string, cursor_options, params) \
	planner(parse, query_string, cursor_options, params, NULL)
#else
#define compat_planner(parse, query_string, cursor_options, params) \
	planner(parse, query_string, cursor_options, params)
#endif

/* 19: ShmemInitHash lost its initial-size argument (tables are fixed-size). */
#if PG_VERSION_NUM >= 190000
#define compat_shmem_init_hash(name, nelems, info, flags) \
	ShmemInitHash(name, nelems, info, flags)
#else
#define compat_shmem_init_hash(name, nelems, info, flags) \
	ShmemInitHash(name, nelems, nelems, info, flags)
#endif

/* 19: the lexer has no escape_string_warning to turn off (it no longer warns). */
#if PG_VERSION_NUM >= 190000
#define compat_scanner_quiet(extra) ((void) (extra))
#else
#define compat_scanner_quiet(extra) ((extra)->escape_string_warning = false)
#endif

/* 19: planner_hook and standard_planner take the EXPLAIN state, if any. */
#if PG_VERSION_NUM >= 190000
#define COMPAT_PLANNER_ARGS \
	Query *parse, const char *query_string, int cursorOptions, \
	ParamListInfo boundParams, ExplainState *es
#define COMPAT_PLANNER_PASS parse, query_string, cursorOptions, boundParams, es
#else
#define COMPAT_PLANNER_ARGS \
	Query *parse, const char *query_string, int cursorOptions, \
	ParamListInfo boundParams
#define COMPAT_PLANNER_PASS parse, query_string, cursorOptions, boundParams
#endif

/*
 * 18: PlannedStmt.planId, reported by core for the running statement
 * (pg_stat_get_backend... and pg_stat_activity consumers); core computes
 * none, a module sets it in planner_hook.
 */
#if PG_VERSION_NUM >= 180000
#define COMPAT_HAS_PLAN_ID 1
#define compat_plan_id(stmt) ((uint64) (stmt)->planId)
#define compat_set_plan_id(stmt, id) ((stmt)->planId = (int64) (id))
#define compat_backend_plan_id(be) ((uint64) (be)->st_plan_id)
#else
#define COMPAT_HAS_PLAN_ID 0
#define compat_plan_id(stmt) UINT64CONST(0)
#define compat_set_plan_id(stmt, id) ((void) 0)
#define compat_backend_plan_id(be) UINT64CONST(0)
#endif

/*
 * 19: QueryDesc.totaltime is replaced by query_instr, asked for with
 * query_instr_options before standard_ExecutorStart (before 19 a module
 * allocates totaltime itself after it).  Its total is an instr_time in 19,
 * seconds as a double before.
 */
#if PG_VERSION_NUM >= 190000
/* 19: every module asks before the start; nobody allocates afterwards (measure.c) */
#define COMPAT_QUERY_INSTR_SHARED_AFTER_START 0
#define compat_query_instr(qd) ((qd)->query_instr)
static inline void
compat_query_instr_before_start(QueryDesc *qd)
{
	qd->query_instr_options |= INSTRUMENT_ALL;
}
static inline void
compat_query_instr_after_start(QueryDesc *qd)
{
}
#define compat_query_instr_total_ms(instr) INSTR_TIME_GET_MILLISEC((instr)->total)
#define compat_query_instr_finish(instr) ((void) 0)
/* Time so far of an execution that is still running (or just failed). */
static inline double
compat_query_instr_elapsed_ms(Instrumentation *instr)
{
	double		ms = INSTR_TIME_GET_MILLISEC(instr->total);

	if (!INSTR_TIME_IS_ZERO(instr->starttime))
	{
		instr_time	now;

		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, instr->starttime);
		ms += INSTR_TIME_GET_MILLISEC(now);
	}
	return ms;
}
#else
/* before 19: an outer module reuses a totaltime allocated inside it (measure.c) */
#define COMPAT_QUERY_INSTR_SHARED_AFTER_START 1
#define compat_query_instr(qd) ((qd)->totaltime)
static inline void
compat_query_instr_before_start(QueryDesc *qd)
{
}
static inline void
compat_query_instr_after_start(QueryDesc *qd)
{
	if (qd->totaltime == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(qd->estate->es_query_cxt);

		qd->totaltime = InstrAlloc(1, INSTRUMENT_ALL, false);
		MemoryContextSwitchTo(old);
	}
}
#define compat_query_instr_total_ms(instr) ((instr)->total * 1000.0)
#define compat_query_instr_finish(instr) InstrEndLoop(instr)
/* Time so far of an execution that is still running (or just failed). */
static inline double
compat_query_instr_elapsed_ms(Instrumentation *instr)
{
	double		ms = instr->total * 1000.0 + INSTR_TIME_GET_MILLISEC(instr->counter);

	if (!INSTR_TIME_IS_ZERO(instr->starttime))
	{
		instr_time	now;

		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, instr->starttime);
		ms += INSTR_TIME_GET_MILLISEC(now);
	}
	return ms;
}
#endif

/*
 * 19: per-node instrumentation is a NodeInstrumentation, whose tuple counts
 * live in the node's "counters".
 */
#if PG_VERSION_NUM >= 190000
typedef NodeInstrumentation CompatNodeInstr;
#else
typedef Instrumentation CompatNodeInstr;
#endif

/*
 * 18: an ordering operator is described by a CompareType instead of a btree
 * strategy number.  Is opno an ordering operator, and is it ascending?
 */
static inline bool
compat_ordering_op(Oid opno, Oid *opfamily, Oid *opcintype, bool *ascending)
{
#if PG_VERSION_NUM >= 180000
	CompareType cmp;

	if (!get_ordering_op_properties(opno, opfamily, opcintype, &cmp))
		return false;
	*ascending = (cmp == COMPARE_LT);
#else
	int16		strategy;

	if (!get_ordering_op_properties(opno, opfamily, opcintype, &strategy))
		return false;
	*ascending = (strategy == BTLessStrategyNumber);
#endif
	return true;
}

/* 17: BackendId became ProcNumber; PGPROC.pgprocno is gone. */
#if PG_VERSION_NUM >= 170000
#define compat_my_procno() (MyProcNumber)
#define compat_procno(proc) ((int) GetNumberFromPGProc(proc))
#else
#define compat_my_procno() (MyProc->pgprocno)
#define compat_procno(proc) ((proc)->pgprocno)
#endif

/* 17: the local transaction id moved into PGPROC.vxid. */
#if PG_VERSION_NUM >= 170000
#define compat_my_lxid() (MyProc->vxid.lxid)
#else
#define compat_my_lxid() (MyProc->lxid)
#endif

/*
 * 16: the lock manager's shared queues became dlists (SHM_QUEUE and
 * PROC_QUEUE are gone).  Three walks, each "first when prev is NULL, else
 * the one after prev; NULL at the end".  Caller holds the partition locks.
 */
/* 19: a waiting PGPROC's queue link is called waitLink. */
#if PG_VERSION_NUM >= 190000
#define COMPAT_PROC_WAIT_LINK waitLink
#else
#define COMPAT_PROC_WAIT_LINK links
#endif

#if PG_VERSION_NUM >= 160000
static inline PROCLOCK *
compat_proc_lock_next(PGPROC *proc, int partition, PROCLOCK *prev)
{
	dlist_head *head = &proc->myProcLocks[partition];

	if (prev == NULL)
		return dlist_is_empty(head) ? NULL :
			dlist_container(PROCLOCK, procLink, dlist_head_node(head));
	return dlist_has_next(head, &prev->procLink) ?
		dlist_container(PROCLOCK, procLink, dlist_next_node(head, &prev->procLink)) : NULL;
}

static inline PROCLOCK *
compat_lock_holder_next(LOCK *lock, PROCLOCK *prev)
{
	dlist_head *head = &lock->procLocks;

	if (prev == NULL)
		return dlist_is_empty(head) ? NULL :
			dlist_container(PROCLOCK, lockLink, dlist_head_node(head));
	return dlist_has_next(head, &prev->lockLink) ?
		dlist_container(PROCLOCK, lockLink, dlist_next_node(head, &prev->lockLink)) : NULL;
}

static inline PGPROC *
compat_lock_waiter_next(LOCK *lock, PGPROC *prev)
{
	dclist_head *head = &lock->waitProcs;

	if (prev == NULL)
		return dclist_is_empty(head) ? NULL :
			dlist_container(PGPROC, COMPAT_PROC_WAIT_LINK, dclist_head_node(head));
	return dclist_has_next(head, &prev->COMPAT_PROC_WAIT_LINK) ?
		dlist_container(PGPROC, COMPAT_PROC_WAIT_LINK,
						dclist_next_node(head, &prev->COMPAT_PROC_WAIT_LINK)) : NULL;
}
#else
static inline PROCLOCK *
compat_proc_lock_next(PGPROC *proc, int partition, PROCLOCK *prev)
{
	SHM_QUEUE  *head = &proc->myProcLocks[partition];

	return (PROCLOCK *) SHMQueueNext(head, prev ? &prev->procLink : head,
									 offsetof(PROCLOCK, procLink));
}

static inline PROCLOCK *
compat_lock_holder_next(LOCK *lock, PROCLOCK *prev)
{
	SHM_QUEUE  *head = &lock->procLocks;

	return (PROCLOCK *) SHMQueueNext(head, prev ? &prev->lockLink : head,
									 offsetof(PROCLOCK, lockLink));
}

static inline PGPROC *
compat_lock_waiter_next(LOCK *lock, PGPROC *prev)
{
	SHM_QUEUE  *head = &lock->waitProcs.links;
	SHM_QUEUE  *next = prev ? prev->links.next : head->next;

	return next == head ? NULL : (PGPROC *) next;
}
#endif

/* 17: pgstat_fetch_stat_local_beentry() became ..._by_index(). */
#if PG_VERSION_NUM >= 170000
#define compat_local_beentry(i) pgstat_get_local_beentry_by_index(i)
#else
#define compat_local_beentry(i) pgstat_fetch_stat_local_beentry(i)
#endif

/*
 * The figures below exist from some release on.  Each COMPAT_HAS_* says
 * whether this server has it (the views show NULL where it does not); the
 * accessors read 0 there, so capture code needs no version test.
 */

/*
 * 17: block I/O times are split into shared and local blocks (15 and 16
 * time shared and local reads together in blk_*_time).
 */
#if PG_VERSION_NUM >= 170000
#define COMPAT_HAS_SPLIT_BLK_TIME 1
#define compat_shared_blk_read_time(b) INSTR_TIME_GET_MILLISEC((b)->shared_blk_read_time)
#define compat_shared_blk_write_time(b) INSTR_TIME_GET_MILLISEC((b)->shared_blk_write_time)
#define compat_local_blk_read_time(b) INSTR_TIME_GET_MILLISEC((b)->local_blk_read_time)
#define compat_local_blk_write_time(b) INSTR_TIME_GET_MILLISEC((b)->local_blk_write_time)
#define compat_blk_read_time(b) \
	(compat_shared_blk_read_time(b) + compat_local_blk_read_time(b))
#define compat_blk_write_time(b) \
	(compat_shared_blk_write_time(b) + compat_local_blk_write_time(b))
#else
#define COMPAT_HAS_SPLIT_BLK_TIME 0
#define compat_shared_blk_read_time(b) 0.0
#define compat_shared_blk_write_time(b) 0.0
#define compat_local_blk_read_time(b) 0.0
#define compat_local_blk_write_time(b) 0.0
#define compat_blk_read_time(b) INSTR_TIME_GET_MILLISEC((b)->blk_read_time)
#define compat_blk_write_time(b) INSTR_TIME_GET_MILLISEC((b)->blk_write_time)
#endif

/* 17: JIT counts the time spent deforming tuples on its own. */
#if PG_VERSION_NUM >= 170000
#define COMPAT_HAS_JIT_DEFORM 1
#define compat_jit_deform_ms(j) INSTR_TIME_GET_MILLISEC((j)->deform_counter)
#else
#define COMPAT_HAS_JIT_DEFORM 0
#define compat_jit_deform_ms(j) 0.0
#endif

/*
 * 18: the executor counts parallel workers planned and launched, and WAL
 * counts how often its buffers were full.
 */
#if PG_VERSION_NUM >= 180000
#define COMPAT_HAS_PARALLEL_WORKERS 1
#define compat_parallel_workers_to_launch(estate) ((estate)->es_parallel_workers_to_launch)
#define compat_parallel_workers_launched(estate) ((estate)->es_parallel_workers_launched)
#define compat_wal_buffers_full(w) ((w)->wal_buffers_full)
#else
#define COMPAT_HAS_PARALLEL_WORKERS 0
#define compat_parallel_workers_to_launch(estate) 0
#define compat_parallel_workers_launched(estate) 0
#define compat_wal_buffers_full(w) ((int64) 0)
#endif

/* 19: a plan says whether it is a cached generic or custom plan. */
#if PG_VERSION_NUM >= 190000
#define COMPAT_HAS_PLAN_ORIGIN 1
#define compat_plan_is_generic(ps) ((ps)->planOrigin == PLAN_STMT_CACHE_GENERIC)
#define compat_plan_is_custom(ps) ((ps)->planOrigin == PLAN_STMT_CACHE_CUSTOM)
#else
#define COMPAT_HAS_PLAN_ORIGIN 0
#define compat_plan_is_generic(ps) false
#define compat_plan_is_custom(ps) false
#endif

/*
 * The assign hook of a core string setting, to chain one after it (sources.c
 * learns that application_name changed).  16 exported find_option(); 15 has
 * only the sorted array of settings.  19 moved the type-specific fields of a
 * setting into a union inside config_generic.  NULL if there is no such
 * string setting.
 */
#include "utils/guc_tables.h"
static inline GucStringAssignHook *
compat_string_guc_assign_hook(const char *name)
{
	struct config_generic *gen = NULL;

#if PG_VERSION_NUM >= 160000
	gen = find_option(name, false, true, DEBUG1);
#else
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();

	for (int i = 0; i < n; i++)
	{
		if (strcmp(vars[i]->name, name) == 0)
		{
			gen = vars[i];
			break;
		}
	}
#endif
	if (gen == NULL || gen->vartype != PGC_STRING)
		return NULL;
#if PG_VERSION_NUM >= 190000
	return &gen->_string.assign_hook;
#else
	return &((struct config_string *) gen)->assign_hook;
#endif
}

#endif							/* LATDIAG_COMPAT_H */
