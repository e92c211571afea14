/*
 * plans.c: plan identity, per-plan statistics and plan changes.
 *
 * A plan's id is a 64-bit hash of its shape, computed by walking the Plan
 * tree once per execution (a handful of nodes for an OLTP statement): node
 * types, relations, indexes, scan directions, join types, strategies and
 * subplans, but no costs, row estimates or expressions, so the same
 * statement with other constants and the same plan has the same id.
 *
 * Two bounded shared tables (table.c):
 *   plans    (userid, dbid, queryid, planid) -> calls, times, histogram,
 *            and the EXPLAIN (COSTS OFF) text captured when first seen;
 *   changes  (userid, dbid, queryid, old planid, new planid) -> how often
 *            and when a query's executions switched from one plan to another.
 * A backend holds at most one table's locks at a time.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/explain.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "pgstat.h"

#include "compat.h"
#include "guc.h"
#include "pending.h"
#include "plans.h"
#include "table.h"

#define PLANS_FILE			PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag_plans.stat"
#define CHANGES_FILE		PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag_plan_changes.stat"
#define PLANS_FILE_VERSION	2

typedef struct PlanData
{
	int64		calls;
	double		total_exec;
	double		min_exec;
	double		max_exec;
	double		mean_exec;
	TimestampTz first_seen;
	TimestampTz last_seen;
	int32		nscans;			/* seq scans of large tables (scans.c) */
	Oid			scan_relids[SCANS_PER_PLAN];
	LatdiagHistogram hist;
} PlanData;

typedef struct ChangeKey
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	uint64		old_planid;
	uint64		new_planid;
} ChangeKey;

typedef struct ChangeData
{
	int64		changes;
	TimestampTz changed_at;
} ChangeData;

static TableDef plans_def;
static TableDef changes_def;
static Table *plans = NULL;
static Table *changes = NULL;

static const TableDef *
plans_table_def(void)
{
	plans_def.name = "postgres_latdiag plans";
	plans_def.key_size = sizeof(PlanKey);
	plans_def.data_size = sizeof(PlanData);
	plans_def.max_entries = latdiag_max_plans;
	plans_def.max_text = latdiag_max_plan_length;
	plans_def.file = PLANS_FILE;
	plans_def.file_version = PLANS_FILE_VERSION;
	plans_def.save = &latdiag_save;
	return &plans_def;
}

static const TableDef *
changes_table_def(void)
{
	changes_def.name = "postgres_latdiag plan changes";
	changes_def.key_size = sizeof(ChangeKey);
	changes_def.data_size = sizeof(ChangeData);
	changes_def.max_entries = latdiag_max_plans;
	changes_def.max_text = 0;
	changes_def.file = CHANGES_FILE;
	changes_def.file_version = PLANS_FILE_VERSION;
	changes_def.save = &latdiag_save;
	return &changes_def;
}

/* Ask for the tables' memory; from shmem_request_hook. */
void
plans_shmem_request(void)
{
	table_request(plans_table_def());
	table_request(changes_table_def());
}

/* Attach the tables; from shmem_startup_hook. */
void
plans_shmem_startup(void)
{
	plans = table_attach(plans_table_def());
	changes = table_attach(changes_table_def());
}

/* Shared memory of both tables. */
Size
plans_shmem_size(void)
{
	return add_size(table_shmem_size(plans_table_def()),
					table_shmem_size(changes_table_def()));
}

/* Mix one value into the running plan hash (FNV-style, on 64-bit words). */
static inline uint64
mix(uint64 h, uint64 v)
{
	return (h ^ v) * UINT64CONST(0x100000001b3);
}

/* murmur3's 64-bit finalizer: spreads the result over all bits. */
static inline uint64
fmix64(uint64 x)
{
	x ^= x >> 33;
	x *= UINT64CONST(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64CONST(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

/* The OID of a range-table entry's relation, or its kind for non-relations. */
static uint64
rte_identity(PlannedStmt *stmt, Index rti)
{
	RangeTblEntry *rte;

	if (rti == 0 || rti > list_length(stmt->rtable))
		return 0;
	rte = rt_fetch(rti, stmt->rtable);
	return rte->rtekind == RTE_RELATION ? (uint64) rte->relid :
		((uint64) 1 << 40) | (uint64) rte->rtekind;
}

static uint64 hash_plan(PlannedStmt *stmt, Plan *plan, uint64 h);

static uint64
hash_plan_list(PlannedStmt *stmt, List *plans, uint64 h)
{
	ListCell   *lc;

	h = mix(h, list_length(plans));
	foreach(lc, plans)
		h = hash_plan(stmt, (Plan *) lfirst(lc), h);
	return h;
}

/*
 * Hash the shape of one plan node and its children: node type, relation,
 * index, scan direction, join type, strategies.  Costs, row estimates,
 * expressions and constants are left out.
 */
static uint64
hash_plan(PlannedStmt *stmt, Plan *plan, uint64 h)
{
	if (plan == NULL)
		return mix(h, 0);

	h = mix(h, (uint64) nodeTag(plan));
	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_TidScan:
		case T_TidRangeScan:
		case T_BitmapHeapScan:
		case T_FunctionScan:
		case T_TableFuncScan:
		case T_ValuesScan:
		case T_CteScan:
		case T_NamedTuplestoreScan:
		case T_WorkTableScan:
		case T_ForeignScan:
		case T_CustomScan:
		case T_SubqueryScan:
			h = mix(h, rte_identity(stmt, ((Scan *) plan)->scanrelid));
			break;
		case T_IndexScan:
			h = mix(h, rte_identity(stmt, ((Scan *) plan)->scanrelid));
			h = mix(h, ((IndexScan *) plan)->indexid);
			h = mix(h, (uint64) ((IndexScan *) plan)->indexorderdir);
			break;
		case T_IndexOnlyScan:
			h = mix(h, rte_identity(stmt, ((Scan *) plan)->scanrelid));
			h = mix(h, ((IndexOnlyScan *) plan)->indexid);
			h = mix(h, (uint64) ((IndexOnlyScan *) plan)->indexorderdir);
			break;
		case T_BitmapIndexScan:
			h = mix(h, ((BitmapIndexScan *) plan)->indexid);
			break;
		case T_NestLoop:
		case T_MergeJoin:
		case T_HashJoin:
			h = mix(h, (uint64) ((Join *) plan)->jointype);
			break;
		case T_Agg:
			h = mix(h, (uint64) ((Agg *) plan)->aggstrategy);
			break;
		case T_SetOp:
			h = mix(h, ((uint64) ((SetOp *) plan)->strategy << 8) |
					(uint64) ((SetOp *) plan)->cmd);
			break;
		case T_ModifyTable:
			h = mix(h, (uint64) ((ModifyTable *) plan)->operation);
			h = mix(h, rte_identity(stmt, ((ModifyTable *) plan)->nominalRelation));
			break;
		default:
			break;
	}

	/* children */
	switch (nodeTag(plan))
	{
		case T_Append:
			h = hash_plan_list(stmt, ((Append *) plan)->appendplans, h);
			break;
		case T_MergeAppend:
			h = hash_plan_list(stmt, ((MergeAppend *) plan)->mergeplans, h);
			break;
		case T_BitmapAnd:
			h = hash_plan_list(stmt, ((BitmapAnd *) plan)->bitmapplans, h);
			break;
		case T_BitmapOr:
			h = hash_plan_list(stmt, ((BitmapOr *) plan)->bitmapplans, h);
			break;
		case T_SubqueryScan:
			h = hash_plan(stmt, ((SubqueryScan *) plan)->subplan, h);
			break;
		case T_CustomScan:
			h = hash_plan_list(stmt, ((CustomScan *) plan)->custom_plans, h);
			break;
		default:
			break;
	}
	/* a missing child mixes in 0, as hash_plan(NULL) does, without a call */
	h = plan->lefttree ? hash_plan(stmt, plan->lefttree, h) : mix(h, 0);
	h = plan->righttree ? hash_plan(stmt, plan->righttree, h) : mix(h, 0);
	return h;
}

/* The plan id of a planned statement; never 0. */
uint64
plan_id(PlannedStmt *stmt)
{
	ListCell   *lc;
	uint64		h;

	h = hash_plan(stmt, stmt->planTree, UINT64CONST(0x6c61746469616721));
	/* subplans (SubPlan expressions and initPlans), in plan_id order */
	foreach(lc, stmt->subplans)
		h = hash_plan(stmt, (Plan *) lfirst(lc), h);
	h = fmix64(h);
	return h != 0 ? h : 1;
}

/*
 * From 18 on, give a new plan latdiag's id in PlannedStmt.planId, which core
 * then reports for the running statement (latdiag_lock_tree shows it).  A
 * module that set one first keeps its own.
 */
void
plan_id_publish(PlannedStmt *stmt)
{
	if (COMPAT_HAS_PLAN_ID && compat_plan_id(stmt) == 0)
		compat_set_plan_id(stmt, plan_id(stmt));
}

/* The plan's id: the one published at planning, else computed now. */
uint64
plan_id_of(PlannedStmt *stmt)
{
	uint64		id = compat_plan_id(stmt);

	return id != 0 ? id : plan_id(stmt);
}

/*
 * EXPLAIN of an executed statement, in the executor's memory: the plan only
 * (COSTS OFF) or, when analyze, with the actual rows, buffers and timings the
 * instrumentation collected.  Returns palloc'd text without a final newline.
 */
char *
plan_explain(QueryDesc *queryDesc, bool analyze, int format, int *len)
{
	ExplainState *es;
	MemoryContext old = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);
	int			opts = queryDesc->instrument_options;

	es = NewExplainState();
	es->analyze = analyze;
	es->costs = analyze;
	es->buffers = analyze && (opts & INSTRUMENT_BUFFERS);
	es->wal = analyze && (opts & INSTRUMENT_WAL);
	es->timing = analyze && (opts & INSTRUMENT_TIMER);
	es->summary = false;
	es->format = format;

	ExplainBeginOutput(es);
	ExplainPrintPlan(es, queryDesc);
	if (analyze)
		ExplainPrintTriggers(es, queryDesc);
	ExplainEndOutput(es);

	while (es->str->len > 0 && es->str->data[es->str->len - 1] == '\n')
		es->str->data[--es->str->len] = '\0';

	/*
	 * ExplainPrintPlan writes the fields of one object ("Plan": ...) between
	 * the brackets ExplainBeginOutput/EndOutput put around a list: make that
	 * list an object, as auto_explain does.
	 */
	if (format == EXPLAIN_FORMAT_JSON && es->str->len >= 2)
	{
		es->str->data[0] = '{';
		es->str->data[es->str->len - 1] = '}';
	}
	MemoryContextSwitchTo(old);
	*len = es->str->len;
	return es->str->data;
}

/* Count one execution of a plan. Caller holds the entry's spinlock. */
static inline void
plan_accumulate(PlanData *d, double ms, int bucket)
{
	d->calls++;
	timing_add(d->calls, ms, &d->total_exec, &d->min_exec, &d->max_exec,
			   &d->mean_exec, NULL);
	hist_count(&d->hist, bucket);
	d->last_seen = GetCurrentStatementStartTimestamp();
}

/* Count a switch of key's statement from previous_planid to key's plan. */
static void
record_change(const PlanKey *key, uint64 previous_planid, uint32 hint)
{
	ChangeKey	ck;
	ChangeData *cd;
	uint32		chint = hint ^ (uint32) previous_planid;

	ck.userid = key->userid;
	ck.dbid = key->dbid;
	ck.queryid = key->queryid;
	ck.old_planid = previous_planid;
	ck.new_planid = key->planid;
	cd = table_lock(changes, &ck, chint);
	if (cd == NULL)
		cd = table_create_lock(changes, &ck, chint, NULL, 0);
	if (cd != NULL)
	{
		cd->changes++;
		cd->changed_at = GetCurrentTimestamp();
		table_unlock(changes, cd, 1.0);
	}
}

/*
 * Record one execution of (queryid, planid), capturing the plan's text when
 * the plan is first seen (*is_new), and the switch from previous_planid if
 * the query ran another plan last time.  Returns the number of large-table
 * seq scans the plan has, with their relations in scan_relids.
 */
int
plans_record(QueryDesc *queryDesc, uint64 queryid, uint64 planid,
			 uint64 previous_planid, double ms, int bucket, bool *is_new,
			 Oid *scan_relids)
{
	PlanKey		key;
	uint32		hint = (uint32) (planid ^ queryid ^ (planid >> 32));
	PlanData   *d;
	int			nscans;

	key.userid = GetUserId();
	key.dbid = MyDatabaseId;
	key.queryid = queryid;
	key.planid = planid;

	*is_new = false;
	d = table_lock(plans, &key, hint);
	if (d == NULL)
	{
		int			len;
		char	   *text = plan_explain(queryDesc, false, EXPLAIN_FORMAT_TEXT, &len);

		d = table_create_lock(plans, &key, hint, text, len);
		pfree(text);
		if (d == NULL)
			return 0;
		if (d->first_seen == 0)
		{
			d->first_seen = GetCurrentTimestamp();
			*is_new = true;
		}
	}
	plan_accumulate(d, ms, bucket);
	nscans = d->nscans;
	memcpy(scan_relids, d->scan_relids, sizeof(Oid) * nscans);
	table_unlock(plans, d, 1.0);

	if (previous_planid != 0 && previous_planid != planid)
		record_change(&key, previous_planid, hint);
	return nscans;
}

/*
 * Add a backend's batch of executions of one plan (pending.c) to the plan's
 * entry (created again without a text if it has gone since), and the switch
 * from previous_planid if the statement ran another plan before the batch.
 */
void
plans_apply_batch(const PendBatch *b, uint64 previous_planid)
{
	PlanKey		key;
	uint32		hint = (uint32) (b->planid ^ b->key.queryid ^ (b->planid >> 32));
	PlanData   *d;

	if (plans == NULL || b->calls <= 0)
		return;
	key.userid = b->key.userid;
	key.dbid = b->key.dbid;
	key.queryid = b->key.queryid;
	key.planid = b->planid;
	d = table_lock(plans, &key, hint);
	if (d == NULL)
	{
		d = table_create_lock(plans, &key, hint, NULL, 0);
		if (d != NULL && d->first_seen == 0)
			d->first_seen = GetCurrentTimestamp();
	}
	if (d != NULL)
	{
		if (d->calls == 0 || d->max_exec == 0 || b->min < d->min_exec)
			d->min_exec = b->min;
		if (d->calls == 0 || b->max > d->max_exec)
			d->max_exec = b->max;
		d->calls += b->calls;
		d->total_exec += b->total;
		d->mean_exec = d->total_exec / d->calls;
		for (int i = b->lo; i <= b->hi && b->base >= 0; i++)
			if (b->count[i] != 0 && b->base + i < HIST_BUCKETS)
				hist_count_n(&d->hist, b->base + i, b->count[i]);
		if (b->last_seen > d->last_seen)
			d->last_seen = b->last_seen;
		table_unlock(plans, d, (double) b->calls);
	}
	if (previous_planid != 0 && previous_planid != b->planid)
		record_change(&key, previous_planid, hint);
}

/* Remember the large-table seq scans of a plan (found when it was new). */
void
plans_set_scans(uint64 queryid, uint64 planid, const Oid *relids, int nrelids)
{
	PlanKey		key;
	PlanData   *d;

	key.userid = GetUserId();
	key.dbid = MyDatabaseId;
	key.queryid = queryid;
	key.planid = planid;
	d = table_lock(plans, &key, (uint32) (planid ^ queryid ^ (planid >> 32)));
	if (d == NULL)
		return;
	d->nscans = Min(nrelids, SCANS_PER_PLAN);
	memcpy(d->scan_relids, relids, sizeof(Oid) * d->nscans);
	table_unlock(plans, d, 0);
}

/* table_read callback: one PlanRow. */
static void
emit_plan(void *row, const void *key, const void *data, char *text,
		  int text_len, bool truncated, void *arg)
{
	static const double fractions[3] = {0.50, 0.95, 0.99};
	PlanRow    *r = (PlanRow *) row;
	const PlanData *d = (const PlanData *) data;

	memcpy(&r->key, key, sizeof(PlanKey));
	r->calls = d->calls;
	r->total_exec = d->total_exec;
	r->min_exec = d->min_exec;
	r->max_exec = d->max_exec;
	r->mean_exec = d->mean_exec;
	r->first_seen = d->first_seen;
	r->last_seen = d->last_seen;
	r->truncated = truncated;
	r->text_len = text_len;
	r->text = text;
	hist_percentiles(&d->hist, fractions, 3, d->min_exec, d->max_exec, r->pct);
}

/* Copy every plan entry out, with percentiles. */
PlanRow *
plans_read(int *nrows, bool with_text)
{
	void	   *rows;

	pending_flush_all();

	*nrows = table_read(plans, sizeof(PlanRow), with_text, emit_plan, NULL, &rows);
	return (PlanRow *) rows;
}

/* table_read callback: one PlanChangeRow. */
static void
emit_change(void *row, const void *key, const void *data, char *text,
			int text_len, bool truncated, void *arg)
{
	PlanChangeRow *r = (PlanChangeRow *) row;
	const ChangeKey *k = (const ChangeKey *) key;
	const ChangeData *d = (const ChangeData *) data;

	r->userid = k->userid;
	r->dbid = k->dbid;
	r->queryid = k->queryid;
	r->old_planid = k->old_planid;
	r->new_planid = k->new_planid;
	r->changes = d->changes;
	r->changed_at = d->changed_at;
}

/* Copy every recorded plan change out. */
PlanChangeRow *
plans_read_changes(int *nrows)
{
	void	   *rows;

	pending_flush_all();

	*nrows = table_read(changes, sizeof(PlanChangeRow), false, emit_change,
						NULL, &rows);
	return (PlanChangeRow *) rows;
}

/* Entry and eviction counts of both tables, for latdiag_info. */
void
plans_info(int64 *entries, int64 *evictions, int64 *nchanges,
		   int64 *change_evictions)
{
	int64		truncated;
	TimestampTz reset;

	pending_flush_all();
	table_stats(plans, entries, evictions, &truncated, &reset);
	table_stats(changes, nchanges, change_evictions, &truncated, &reset);
}

/* Remove the plans and changes matching (userid, dbid, queryid); 0 = any. */
void
plans_reset(Oid userid, Oid dbid, uint64 queryid)
{
	pending_flush_all();
	(void) table_reset(plans, userid, dbid, queryid);
	(void) table_reset(changes, userid, dbid, queryid);
}
