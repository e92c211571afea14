/*
 * scans.c: sequential scans of large tables, attributed to statements.
 *
 * When a (statement, plan) pair is first seen (plans.c), its executed plan
 * is walked once: every SeqScan node (parallel ones included) on a relation
 * holding at least latdiag.large_table_rows rows is described (relation,
 * filter as text, filter columns, the plan's estimate of rows scanned and
 * returned per execution, and whether it sits on the inner side of a nested
 * loop, where it runs once per outer row).  The relations are remembered in
 * the plan's entry, so that each later execution of that plan only adds its
 * call and time here: no per-tuple work, and nothing at all for plans
 * without such scans.  Executions that were instrumented (armed for a
 * snapshot, or EXPLAIN ANALYZE) also add the measured rows.
 *
 * One bounded shared table (table.c) keyed by (userid, dbid, queryid,
 * relid); several scans of one relation in a plan are summed.  Partitions
 * are relations of their own: one row per partition scanned.
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "executor/instrument.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "parser/parsetree.h"
#include "pgstat.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "compat.h"
#include "guc.h"
#include "plans.h"
#include "scans.h"
#include "table.h"

#define SCANS_FILE			PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag_seq_scans.stat"
#define SCANS_FILE_VERSION	1

typedef struct ScansKey
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	Oid			relid;
	Oid			pad;			/* zero */
} ScansKey;

typedef struct ScanData
{
	int64		calls;
	double		total_exec;
	double		table_rows;
	double		est_scanned;	/* per execution, from the plan */
	double		est_returned;
	int64		measured_calls;
	double		measured_scanned;	/* summed over measured executions */
	double		measured_returned;
	bool		inner_of_nested_loop;
	int32		filter_len;		/* text = filter, NUL, columns */
	TimestampTz last_seen;
} ScanData;

/* One large-table seq scan found in a plan (backend-local). */
typedef struct ScanFound
{
	Oid			relid;
	double		table_rows;
	double		est_scanned;
	double		est_returned;
	bool		inner_of_nested_loop;
	StringInfoData filter;
	StringInfoData columns;
} ScanFound;

typedef struct WalkState
{
	QueryDesc  *queryDesc;
	List	   *deparse_cxt;
	bool		inner;			/* below the inner side of a nested loop */
	double		outer_rows;		/* estimated loops of that inner side */
	ScanFound	found[SCANS_PER_PLAN];
	int			nfound;
	/* measuring */
	const Oid  *relids;
	int			nrelids;
	double		scanned[SCANS_PER_PLAN];
	double		returned[SCANS_PER_PLAN];
} WalkState;

static TableDef scans_def;
static Table *scans = NULL;

static const TableDef *
scans_table_def(void)
{
	scans_def.name = "postgres_latdiag seq scans";
	scans_def.key_size = sizeof(ScansKey);
	scans_def.data_size = sizeof(ScanData);
	scans_def.max_entries = latdiag_max_seq_scans;
	scans_def.max_text = latdiag_max_query_length;
	scans_def.file = SCANS_FILE;
	scans_def.file_version = SCANS_FILE_VERSION;
	scans_def.save = &latdiag_save;
	return &scans_def;
}

/* Ask for the table's memory; from shmem_request_hook. */
void
scans_shmem_request(void)
{
	table_request(scans_table_def());
}

/* Attach the table; from shmem_startup_hook. */
void
scans_shmem_startup(void)
{
	scans = table_attach(scans_table_def());
}

/* Shared memory of the table. */
Size
scans_shmem_size(void)
{
	return table_shmem_size(scans_table_def());
}

/* Rows the relation holds now, as the planner would estimate them. */
static double
relation_rows(Relation rel)
{
	BlockNumber pages;
	double		tuples;
	double		allvisfrac;

	estimate_rel_size(rel, NULL, &pages, &tuples, &allvisfrac);
	return tuples;
}

/* Is name one of the SCAN_COLUMN_SEP-separated names in cols? */
static bool
column_listed(StringInfo cols, const char *name)
{
	const char *p = cols->data;
	size_t		n = strlen(name);

	while (*p)
	{
		const char *e = strchr(p, SCAN_COLUMN_SEP);
		size_t		len = e ? (size_t) (e - p) : strlen(p);

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return false;
}

/* Describe one seq scan node on a large table into ws->found. */
static void
describe_scan(WalkState *ws, ScanState *ss)
{
	Plan	   *plan = ss->ps.plan;
	Relation	rel = ss->ss_currentRelation;
	ScanFound  *f = NULL;
	double		rows;
	double		loops = ws->inner ? Max(ws->outer_rows, 1.0) : 1.0;
	double		divisor = 1.0;
	List	   *vars;
	ListCell   *lc;

	if (rel == NULL || rel->rd_rel->relkind == RELKIND_FOREIGN_TABLE)
		return;
	rows = relation_rows(rel);
	if (rows < latdiag_large_table_rows)
		return;

	/* one entry per relation: several scans of it are summed */
	for (int i = 0; i < ws->nfound; i++)
		if (ws->found[i].relid == RelationGetRelid(rel))
			f = &ws->found[i];
	if (f == NULL)
	{
		if (ws->nfound >= SCANS_PER_PLAN)
			return;
		f = &ws->found[ws->nfound++];
		memset(f, 0, sizeof(ScanFound));
		f->relid = RelationGetRelid(rel);
		f->table_rows = rows;
		initStringInfo(&f->filter);
		initStringInfo(&f->columns);
	}
	else if (f->filter.len > 0 && plan->qual != NIL)
		appendStringInfoString(&f->filter, " / ");	/* another scan's filter */

	/* a parallel scan's row estimate is per process */
	if (plan->parallel_aware)
		divisor = 1.0 + Max(max_parallel_workers_per_gather, 0);
	f->est_scanned += rows * loops;
	f->est_returned += plan->plan_rows * divisor * loops;
	f->inner_of_nested_loop |= ws->inner;

	if (plan->qual == NIL)
		return;
	if (ws->deparse_cxt == NIL)
	{
		PlannedStmt *stmt = ws->queryDesc->plannedstmt;
		Bitmapset  *all = NULL;

		for (int i = 1; i <= list_length(stmt->rtable); i++)
			all = bms_add_member(all, i);
		ws->deparse_cxt = deparse_context_for_plan_tree(stmt,
														select_rtable_names_for_explain(stmt->rtable, all));
	}
	ws->deparse_cxt = set_deparse_context_plan(ws->deparse_cxt, plan, NIL);
	appendStringInfoString(&f->filter,
						   deparse_expression((Node *) make_ands_explicit(plan->qual),
											  ws->deparse_cxt, false, false));

	/* the columns the filter reads, each once */
	vars = pull_var_clause((Node *) plan->qual,
						   PVC_RECURSE_AGGREGATES | PVC_RECURSE_WINDOWFUNCS |
						   PVC_RECURSE_PLACEHOLDERS);
	foreach(lc, vars)
	{
		Var		   *v = (Var *) lfirst(lc);
		char	   *name;

		if (!IsA(v, Var) || v->varno != ((Scan *) plan)->scanrelid ||
			v->varattno <= 0)
			continue;
		name = get_attname(RelationGetRelid(rel), v->varattno, true);
		if (name == NULL)
			continue;
		if (column_listed(&f->columns, name))
			continue;
		if (f->columns.len > 0)
			appendStringInfoChar(&f->columns, SCAN_COLUMN_SEP);
		appendStringInfoString(&f->columns, name);
	}
}

/* Add what an instrumented seq scan node measured to ws. */
static void
measure_scan(WalkState *ws, ScanState *ss)
{
	CompatNodeInstr *instr = ss->ps.instrument;
	Oid			relid;

	if (instr == NULL || ss->ss_currentRelation == NULL)
		return;
	relid = RelationGetRelid(ss->ss_currentRelation);
	for (int i = 0; i < ws->nrelids; i++)
	{
		if (ws->relids[i] != relid)
			continue;
		InstrEndLoop(instr);	/* harmless if EXPLAIN does it again */
		ws->scanned[i] += instr->ntuples + instr->nfiltered1;
		ws->returned[i] += instr->ntuples;
	}
}

/*
 * planstate_tree_walker callback: find (or measure) seq scans, keeping
 * track of whether we are below the inner side of a nested loop.  Material,
 * Memoize and Hash run their input once, so they end "inner".
 */
static bool
walk(PlanState *ps, void *arg)
{
	WalkState  *ws = (WalkState *) arg;
	bool		inner = ws->inner;
	double		outer_rows = ws->outer_rows;

	if (ps == NULL)
		return false;
	if (IsA(ps, SeqScanState))
	{
		if (ws->relids)
			measure_scan(ws, (ScanState *) ps);
		else
			describe_scan(ws, (ScanState *) ps);
	}

	if (IsA(ps, NestLoopState))
	{
		(void) walk(outerPlanState(ps), ws);
		ws->inner = true;
		ws->outer_rows = outerPlanState(ps)->plan->plan_rows *
			(inner ? Max(outer_rows, 1.0) : 1.0);
		(void) walk(innerPlanState(ps), ws);
	}
	else
	{
		if (IsA(ps, MaterialState) || IsA(ps, MemoizeState) || IsA(ps, HashState))
			ws->inner = false;
		(void) planstate_tree_walker(ps, walk, ws);
	}
	ws->inner = inner;
	ws->outer_rows = outer_rows;
	return false;
}

/*
 * A (statement, plan) pair was seen for the first time: find its seq scans
 * of large tables, create their entries, and return their relations (at most
 * SCANS_PER_PLAN) for the plan's entry to remember.
 */
int
scans_on_new_plan(QueryDesc *queryDesc, uint64 queryid, Oid *relids)
{
	WalkState	ws;
	MemoryContext old;

	if (latdiag_large_table_rows < 0 || queryDesc->planstate == NULL)
		return 0;
	memset(&ws, 0, sizeof(ws));
	ws.queryDesc = queryDesc;
	old = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);
	(void) walk(queryDesc->planstate, &ws);
	MemoryContextSwitchTo(old);

	for (int i = 0; i < ws.nfound; i++)
	{
		ScanFound  *f = &ws.found[i];
		ScansKey		key;
		ScanData   *d;
		char	   *text;
		int			len = f->filter.len + 1 + f->columns.len;

		memset(&key, 0, sizeof(key));
		key.userid = GetUserId();
		key.dbid = MyDatabaseId;
		key.queryid = queryid;
		key.relid = f->relid;
		relids[i] = f->relid;

		/* keep the text within the bound: cut the filter, keep the columns */
		if (len > latdiag_max_query_length)
		{
			int			room = latdiag_max_query_length - 1 - f->columns.len;

			if (room < 0)
			{
				room = 0;
				resetStringInfo(&f->columns);
			}
			f->filter.data[Min(room, f->filter.len)] = '\0';
			f->filter.len = Min(room, f->filter.len);
			len = f->filter.len + 1 + f->columns.len;
		}
		text = palloc(len + 1);
		memcpy(text, f->filter.data, f->filter.len + 1);
		memcpy(text + f->filter.len + 1, f->columns.data, f->columns.len + 1);

		d = table_create_lock(scans, &key, (uint32) (queryid ^ f->relid), text, len);
		if (d != NULL)
		{
			/* a new entry, or a new plan of the statement: the plan's view */
			d->table_rows = f->table_rows;
			d->est_scanned = f->est_scanned;
			d->est_returned = f->est_returned;
			d->inner_of_nested_loop |= f->inner_of_nested_loop;
			d->filter_len = f->filter.len;
			table_unlock(scans, d, 0);
		}
		pfree(text);
	}
	return ws.nfound;
}

/* One execution of a plan with seq scans of large tables ended. */
void
scans_record(QueryDesc *queryDesc, uint64 queryid, const Oid *relids,
			 int nrelids, double ms)
{
	WalkState	ws;
	bool		measured = queryDesc->planstate != NULL &&
		queryDesc->planstate->instrument != NULL;
	ScansKey		key;

	memset(&ws, 0, sizeof(ws));
	if (measured)
	{
		ws.relids = relids;
		ws.nrelids = nrelids;
		(void) walk(queryDesc->planstate, &ws);
	}

	memset(&key, 0, sizeof(key));
	key.userid = GetUserId();
	key.dbid = MyDatabaseId;
	key.queryid = queryid;
	for (int i = 0; i < nrelids; i++)
	{
		ScanData   *d;

		key.relid = relids[i];
		d = table_lock(scans, &key, (uint32) (queryid ^ relids[i]));
		if (d == NULL)
			continue;			/* evicted: the next new plan brings it back */
		d->calls++;
		d->total_exec += ms;
		if (measured)
		{
			d->measured_calls++;
			d->measured_scanned += ws.scanned[i];
			d->measured_returned += ws.returned[i];
		}
		d->last_seen = GetCurrentStatementStartTimestamp();
		table_unlock(scans, d, 1.0);
	}
}

/* table_read callback: one ScanRow. */
static void
emit_scan(void *row, const void *key, const void *data, char *text,
		  int text_len, bool truncated, void *arg)
{
	ScanRow    *r = (ScanRow *) row;
	const ScansKey *k = (const ScansKey *) key;
	const ScanData *d = (const ScanData *) data;

	r->userid = k->userid;
	r->dbid = k->dbid;
	r->queryid = k->queryid;
	r->relid = k->relid;
	r->table_rows = d->table_rows;
	r->calls = d->calls;
	r->measured = d->measured_calls > 0;
	r->rows_scanned = r->measured ? d->measured_scanned / d->measured_calls : d->est_scanned;
	r->rows_returned = r->measured ? d->measured_returned / d->measured_calls : d->est_returned;
	r->inner_of_nested_loop = d->inner_of_nested_loop;
	r->total_exec = d->total_exec;
	r->last_seen = d->last_seen;
	r->filter = (d->filter_len > 0 && text) ? text : NULL;
	r->columns = (text && d->filter_len < text_len) ? text + d->filter_len + 1 : "";
}

/* Copy every entry out. */
ScanRow *
scans_read(int *nrows)
{
	void	   *rows;

	*nrows = table_read(scans, sizeof(ScanRow), true, emit_scan, NULL, &rows);
	return (ScanRow *) rows;
}

/* Entry and eviction counts, for latdiag_info. */
void
scans_info(int64 *entries, int64 *evictions)
{
	int64		truncated;
	TimestampTz reset;

	table_stats(scans, entries, evictions, &truncated, &reset);
}

/* Remove the entries matching (userid, dbid, queryid); 0 = any. */
void
scans_reset(Oid userid, Oid dbid, uint64 queryid)
{
	(void) table_reset(scans, userid, dbid, queryid);
}
