/*
 * advisor.c: missing-index candidates, validated by what-if planning.
 *
 * Nothing here runs on the query path.  When latdiag_index_advice() is
 * called (by the latdiag_index_candidates view, the report or the report
 * worker), the statements of the current database whose large-table seq
 * scans the seq-scan store flags (selective, or on the inner side of a
 * nested loop), the ones with ORDER BY ... LIMIT and the UPDATEs are taken
 * from the query store, and for each one:
 *
 *	1. its normalized text ($1, $2 ...) is parsed again, with the types of the
 *	   parameters inferred as PREPARE does, and rewritten.  A text that does
 *	   not parse (e.g. "interval $1") is skipped and counted;
 *	2. the query tree gives the evidence, per large table: columns compared
 *	   with a parameter or constant through a btree operator (equality or
 *	   range), join keys, ORDER BY keys under LIMIT, and expressions of a
 *	   column compared that way; predicates no btree can serve are noted as
 *	   "not indexable as written";
 *	3. candidate indexes are built from that evidence (equality columns
 *	   first, then one range column, then the sort columns), skipping those an
 *	   existing valid btree already starts with;
 *	4. the statement is planned as a generic plan, once as it is and once per
 *	   candidate with a hypothetical btree index added to the table's
 *	   indexlist by get_relation_info_hook (advisor_relation_info).  A
 *	   candidate is kept for the statement if the plan uses it, the cost
 *	   falls by latdiag.index_min_improvement, and, with several columns, it
 *	   is MULTICOLUMN_MARGIN cheaper than its best proper prefix.
 *
 * Every statement is analysed in its own subtransaction, as the role that
 * ran it (with SECURITY_RESTRICTED_OPERATION), and only if the reader has
 * the privileges of that role: a statement that fails to parse or plan is
 * rolled back and counted, and never breaks the caller.  Candidates chosen
 * by several statements are merged; a candidate that is a prefix of another
 * one on the same table is folded into it when the longer index serves its
 * statements as well.
 *
 * The only planner-path code is advisor_relation_info, called through the
 * relation-info hook that hooks.c installs only during the what-if planning
 * below (hooks_whatif), in this backend only.
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "access/amapi.h"
#include "access/htup_details.h"
#include "access/itup.h"
#include "access/nbtree.h"
#include "access/relation.h"
#include "access/tupmacs.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_statistic.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/params.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "parser/parse_param.h"
#include "parser/parse_type.h"
#include "parser/parsetree.h"
#include "pgstat.h"
#include "rewrite/rewriteHandler.h"
#include "rewrite/rewriteManip.h"
#include "storage/bufpage.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/datum.h"

#include "advisor.h"
#include "hooks.h"
#include "compat.h"
#include "guc.h"
#include "samples.h"
#include "scans.h"
#include "store.h"

PG_FUNCTION_INFO_V1(latdiag_index_advice);

#define MAX_COLS		4		/* columns of a candidate index */
#define MAX_KEYS		8		/* equality/range/sort columns kept per use */
#define MAX_CANDS		16		/* candidates tried per use */

/*
 * A column after the first has to earn its place: the candidate must save a
 * further MULTICOLUMN_MARGIN of the statement's cost (without any new index)
 * over its best proper prefix.  Measured against the original cost, not the
 * prefix's, so that (a, b) is not preferred to (a) for a saving of a few
 * cost units, which would stop one (a) from serving several statements.
 */
#define MULTICOLUMN_MARGIN	0.1

/*
 * Partial indexes.  An equality (or IS NULL) becomes the predicate of a
 * partial index when its column is of low cardinality (at most
 * PARTIAL_MAX_DISTINCT distinct values), the value is selective (at most
 * latdiag.seq_scan_max_selectivity of the rows) and rarer than the column's
 * average value by PARTIAL_SKEW, and, for a compared value, the same value
 * came in at least PARTIAL_MIN_SHARE of at least PARTIAL_MIN_CAPTURES
 * captured executions (samples.c).
 */
#define PARTIAL_MAX_DISTINCT	100
#define PARTIAL_SKEW			0.5
#define PARTIAL_MIN_SHARE		0.5
#define PARTIAL_MIN_CAPTURES	2

/* A candidate index: plain columns (attno) or expressions (varno 1). */
typedef struct Cand
{
	Oid			relid;
	int			ncols;
	AttrNumber	attnos[MAX_COLS];	/* 0 for an expression */
	Node	   *exprs[MAX_COLS];
	Node	   *pred;			/* partial index: its predicate (varno 1) */
	double		pred_frac;		/* fraction of the rows it matches */
	double		pred_share;		/* share of captures with its value; -1 for IS NULL */
	int64		pred_captures;	/* executions sampled */
	char	   *key;			/* identity, for merging */
} Cand;

/* A predicate that may make a partial index. */
typedef struct PartialPred
{
	AttrNumber	attno;
	Node	   *clause;			/* varno 1, constants for parameters */
	double		frac;
	double		share;
	int64		captures;
} PartialPred;

/* How one statement uses one large table (one range-table entry). */
typedef struct RelUse
{
	Query	   *query;
	Index		rti;
	Oid			relid;
	int			neq,
				nrange,
				nsort;
	AttrNumber	eq[MAX_KEYS];
	AttrNumber	range[MAX_KEYS];
	AttrNumber	sort[MAX_KEYS];
	bool		join;			/* an equality column is a join key */
	List	   *exprs;			/* expressions compared with a btree op */
	List	   *partials;		/* PartialPred */
} RelUse;

/* The result of planning one statement with one candidate. */
typedef struct Eval
{
	char	   *key;
	double		cost;
	bool		used;
} Eval;

/* A candidate kept for a statement. */
typedef struct Verdict
{
	Cand	   *cand;
	double		cost_after;
	double		generic_after;	/* the generic plan's cost with it */
	RelUse	   *use;
} Verdict;

/* A predicate no btree serves as written. */
typedef struct Unindexable
{
	Oid			relid;
	char	   *predicate;		/* normalized: $n, never constants */
	char	   *why;
	char	   *index_def;		/* an expression index that would serve */
	List	   *queryids;		/* of uint64 * */
	List	   *stmts;			/* Stmt, each counted once */
	int64		calls;
	bool		visible;		/* reader may see the predicate */
} Unindexable;

/* The columns captured UPDATEs of a table set. */
typedef struct UpdateSet
{
	Oid			relid;
	Bitmapset  *cols;
	uint64		queryid;
	int64		calls;
} UpdateSet;

/* One statement of the query store. */
typedef struct Stmt
{
	Oid			userid;
	uint64		queryid;
	int64		calls;
	int64		rows;
	char	   *text;
	bool		truncated;
	bool		seqscan;		/* the seq-scan store saw it */
	bool		sampled;		/* actual values were kept (samples.c) */
	bool		failed;
	Query	   *query;			/* analysed, rewritten; kept for re-planning */
	double		cost_before;
	List	   *uses;			/* RelUse */
	List	   *evals;			/* Eval */
	List	   *verdicts;		/* Verdict */
	List	   *unindexable;	/* Unindexable, one call each */
	List	   *updates;		/* UpdateSet */
	/* actual values (samples.c) */
	SampleRow	sample;
	SampleValue *vals;			/* per $n, NULL if no usable sample */
	int			nvals;
	bool		use_sample;		/* this analysis types $n as the sample */
	ParamListInfo bound;		/* the values, for a custom plan; NULL: generic */
	double		generic_before; /* the generic plan's cost */
} Stmt;

/* A candidate merged over statements. */
typedef struct Advice
{
	Cand	   *cand;
	List	   *stmts;			/* Stmt */
	List	   *costs;			/* double *, cost after, per stmt */
	int64		calls;
	double		w_before;		/* calls-weighted costs */
	double		w_after;
	bool		eq,
				range,
				sort,
				join,
				expr;
	int			n_custom;		/* statements judged on a custom plan */
	int			n_generic;
	double		w_generic_before;	/* calls-weighted generic plan costs */
	double		w_generic_after;
	bool		dropped;
} Advice;

/* Cached facts about a table. */
typedef struct RelFacts
{
	Oid			relid;
	bool		eligible;		/* a large plain table or materialized view */
	double		tuples;
	double		pages;
	List	   *btrees;			/* int2vector-like: List of List of attno */
	Bitmapset  *indexed;		/* columns in any index */
} RelFacts;

typedef struct Advisor
{
	MemoryContext cxt;			/* results */
	MemoryContext tmpcxt;		/* one statement's parsing and planning */
	Oid			reader;
	List	   *stmts;
	List	   *facts;
	List	   *advice;
	List	   *unindexable;
	List	   *updates;
	int			n_considered;
	int			n_skipped;		/* did not parse or plan */
	int			n_planned;
	int			n_plans;
	int			n_not_permitted;
} Advisor;

static void flatten_and(Node *qual, List **out);
static SampleValue *align_sample(Advisor *adv, Stmt *st);
static char *rel_qualified_name(Oid relid);

static Cand *whatif_cand = NULL;
static Oid	whatif_oid = InvalidOid;

/* ---------------------------------------------------------------------
 * Hypothetical indexes
 * ---------------------------------------------------------------------
 */

/* Type, typmod and collation of a candidate column on relid. */
static void
cand_col_type(Cand *c, int i, Oid *typ, int32 *typmod, Oid *coll)
{
	if (c->attnos[i] != 0)
		get_atttypetypmodcoll(c->relid, c->attnos[i], typ, typmod, coll);
	else
	{
		*typ = exprType(c->exprs[i]);
		*typmod = exprTypmod(c->exprs[i]);
		*coll = exprCollation(c->exprs[i]);
	}
}

/* Bytes of one leaf entry of the candidate, line pointer included. */
static double
cand_entry_bytes(Cand *c)
{
	Size		data = 0;

	for (int i = 0; i < c->ncols; i++)
	{
		Oid			typ;
		int32		typmod;
		Oid			coll;
		int32		w = 0;
		int16		typlen;
		bool		typbyval;
		char		typalign;

		cand_col_type(c, i, &typ, &typmod, &coll);
		get_typlenbyvalalign(typ, &typlen, &typbyval, &typalign);
		if (c->attnos[i] != 0)
			w = get_attavgwidth(c->relid, c->attnos[i]);
		if (w <= 0)
			w = get_typavgwidth(typ, typmod);
		data = att_align_nominal(data, typalign) + w;
	}
	return MAXALIGN(sizeof(IndexTupleData) + data) + sizeof(ItemIdData);
}

/* Distinct values of a column from pg_statistic, or -1 if unknown. */
static double
col_ndistinct(Oid relid, AttrNumber attno, double tuples)
{
	HeapTuple	tup = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(relid),
									  Int16GetDatum(attno), BoolGetDatum(false));
	double		nd = -1;

	if (HeapTupleIsValid(tup))
	{
		nd = ((Form_pg_statistic) GETSTRUCT(tup))->stadistinct;
		if (nd < 0)
			nd = -nd * tuples;
		else if (nd == 0)
			nd = -1;
		ReleaseSysCache(tup);
	}
	return nd;
}

/*
 * Distinct keys of the candidate (the product of its columns' distinct
 * counts, at most tuples), or tuples when unknown or when btree
 * deduplication does not apply to one of its types (expressions, numeric,
 * floats, jsonb).
 */
static double
cand_distinct_keys(Cand *c, double tuples)
{
	double		keys = 1;

	for (int i = 0; i < c->ncols; i++)
	{
		Oid			typ = c->attnos[i] ? get_atttype(c->relid, c->attnos[i]) : InvalidOid;
		double		nd;

		if (c->attnos[i] == 0 || typ == NUMERICOID || typ == FLOAT4OID ||
			typ == FLOAT8OID || typ == JSONBOID)
			return tuples;
		nd = col_ndistinct(c->relid, c->attnos[i], tuples);
		if (nd <= 0)
			return tuples;
		keys *= nd;
	}
	return Min(keys, tuples);
}

/*
 * Pages and tree height of the candidate's btree over tuples rows: one leaf
 * entry per distinct key, plus a 6-byte heap pointer per further duplicate
 * (deduplication, PostgreSQL 13+), leaves filled to the default fillfactor
 * (90%), inner levels on top, a metapage.
 */
static double
cand_pages(Cand *c, double tuples, int *height)
{
	double		usable = (BLCKSZ - SizeOfPageHeaderData -
						  MAXALIGN(sizeof(BTPageOpaqueData))) *
		BTREE_DEFAULT_FILLFACTOR / 100.0;
	double		entry = cand_entry_bytes(c);
	double		rows = Max(tuples, 1.0);
	double		keys = Max(cand_distinct_keys(c, rows), 1.0);
	double		leaf_bytes = keys * entry + (rows - keys) * sizeof(ItemPointerData);
	double		fanout = Max(floor(usable / entry), 2.0);
	double		level = Max(ceil(leaf_bytes / usable), 1.0);
	double		pages = 1.0 + level;
	int			h = 0;

	while (level > 1.0)
	{
		level = ceil(level / fanout);
		pages += level;
		h++;
	}
	if (height)
		*height = h;
	return pages;
}

/* The IndexOptInfo the planner sees for candidate c on rel. */
static IndexOptInfo *
hypo_index_info(Cand *c, RelOptInfo *rel)
{
	const IndexAmRoutine *am = GetIndexAmRoutineByAmId(BTREE_AM_OID, false);
	IndexOptInfo *info = makeNode(IndexOptInfo);
	int			n = c->ncols;

	info->indexoid = whatif_oid;
	info->reltablespace = rel->reltablespace;
	info->rel = rel;
	info->ncolumns = info->nkeycolumns = n;
	info->indexkeys = palloc0(sizeof(int) * n);
	info->indexcollations = palloc0(sizeof(Oid) * n);
	info->opfamily = palloc0(sizeof(Oid) * n);
	info->opcintype = palloc0(sizeof(Oid) * n);
	info->reverse_sort = palloc0(sizeof(bool) * n);
	info->nulls_first = palloc0(sizeof(bool) * n);
	info->canreturn = palloc0(sizeof(bool) * n);
	info->opclassoptions = palloc0(sizeof(bytea *) * n);
	info->relam = BTREE_AM_OID;

	for (int i = 0; i < n; i++)
	{
		Oid			typ;
		int32		typmod;
		Oid			coll;
		Oid			opclass;
		Expr	   *e;

		cand_col_type(c, i, &typ, &typmod, &coll);
		opclass = GetDefaultOpClass(typ, BTREE_AM_OID);
		info->indexkeys[i] = c->attnos[i];
		info->indexcollations[i] = coll;
		info->opfamily[i] = get_opclass_family(opclass);
		info->opcintype[i] = get_opclass_input_type(opclass);
		info->canreturn[i] = true;
		if (c->attnos[i] != 0)
			e = (Expr *) makeVar(rel->relid, c->attnos[i], typ, typmod, coll, 0);
		else
		{
			e = (Expr *) copyObject(c->exprs[i]);
			ChangeVarNodes((Node *) e, 1, rel->relid, 0);
			info->indexprs = lappend(info->indexprs, e);
		}
		info->indextlist = lappend(info->indextlist,
								   makeTargetEntry(e, i + 1, NULL, false));
	}
	info->sortopfamily = info->opfamily;
	info->tuples = rel->tuples;
	if (c->pred)
	{
		Node	   *pred = copyObject(c->pred);

		ChangeVarNodes(pred, 1, rel->relid, 0);
		info->indpred = list_make1(pred);
		info->tuples = Max(rel->tuples * c->pred_frac, 1.0);
	}
	info->pages = (BlockNumber) cand_pages(c, info->tuples, &info->tree_height);
	info->unique = false;
	info->immediate = true;
	info->hypothetical = true;
	info->amcanorderbyop = am->amcanorderbyop;
	info->amoptionalkey = am->amoptionalkey;
	info->amsearcharray = am->amsearcharray;
	info->amsearchnulls = am->amsearchnulls;
	info->amhasgettuple = (am->amgettuple != NULL);
	info->amhasgetbitmap = (am->amgetbitmap != NULL);
	info->amcanparallel = am->amcanparallel;
	info->amcanmarkpos = (am->ammarkpos != NULL);
	info->amcostestimate = am->amcostestimate;
	return info;
}

/*
 * get_relation_info_hook work: during what-if planning, add the candidate
 * index to the indexlist of its table.  Otherwise return at once.
 */
void
advisor_relation_info(COMPAT_RELINFO_ARGS)
{
	if (whatif_cand == NULL || COMPAT_RELINFO_INHPARENT ||
		COMPAT_RELINFO_RELID != whatif_cand->relid)
		return;
	rel->indexlist = lappend(rel->indexlist, hypo_index_info(whatif_cand, rel));
}

/* An OID no relation has, for the hypothetical indexes. */
static Oid
hypo_oid(void)
{
	if (!OidIsValid(whatif_oid))
	{
		Oid			o = (Oid) 0xFFFFFF00;

		while (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(o)))
			o--;
		whatif_oid = o;
	}
	return whatif_oid;
}

/* Does any scan in the plan tree use index indexoid? */
static bool
plan_uses_index(Plan *plan, Oid indexoid)
{
	ListCell   *lc;
	List	   *children = NIL;

	if (plan == NULL)
		return false;
	switch (nodeTag(plan))
	{
		case T_IndexScan:
			if (((IndexScan *) plan)->indexid == indexoid)
				return true;
			break;
		case T_IndexOnlyScan:
			if (((IndexOnlyScan *) plan)->indexid == indexoid)
				return true;
			break;
		case T_BitmapIndexScan:
			if (((BitmapIndexScan *) plan)->indexid == indexoid)
				return true;
			break;
		case T_Append:
			children = ((Append *) plan)->appendplans;
			break;
		case T_MergeAppend:
			children = ((MergeAppend *) plan)->mergeplans;
			break;
		case T_BitmapAnd:
			children = ((BitmapAnd *) plan)->bitmapplans;
			break;
		case T_BitmapOr:
			children = ((BitmapOr *) plan)->bitmapplans;
			break;
		case T_SubqueryScan:
			return plan_uses_index(((SubqueryScan *) plan)->subplan, indexoid);
		case T_CustomScan:
			children = ((CustomScan *) plan)->custom_plans;
			break;
		default:
			break;
	}
	foreach(lc, children)
		if (plan_uses_index((Plan *) lfirst(lc), indexoid))
			return true;
	return plan_uses_index(plan->lefttree, indexoid) ||
		plan_uses_index(plan->righttree, indexoid);
}

/*
 * Plan a copy of q, with candidate c as a hypothetical index (or none): a
 * generic plan, or with params (values marked constant) a custom plan, as
 * the plan cache makes them.  Its total cost, and whether the plan uses c.
 */
static double
whatif_plan(Advisor *adv, Query *q, Cand *c, bool *used, ParamListInfo params)
{
	MemoryContext old = MemoryContextSwitchTo(adv->tmpcxt);
	Query	   *copy = copyObject(q);
	PlannedStmt *volatile stmt = NULL;
	bool		uses = false;
	double		cost;
	ListCell   *lc;

	AcquireRewriteLocks(copy, true, false);
	copy->queryId = UINT64CONST(0);	/* nobody measures this planning */
	whatif_cand = c;
	hooks_whatif(c != NULL);
	PG_TRY();
	{
		stmt = compat_planner(copy, NULL, CURSOR_OPT_PARALLEL_OK, params);
	}
	PG_FINALLY();
	{
		hooks_whatif(false);
		whatif_cand = NULL;
	}
	PG_END_TRY();
	adv->n_plans++;
	if (c != NULL)
	{
		uses = plan_uses_index(stmt->planTree, whatif_oid);
		foreach(lc, stmt->subplans)
			uses = uses || plan_uses_index((Plan *) lfirst(lc), whatif_oid);
	}
	if (used)
		*used = uses;
	cost = stmt->planTree->total_cost;
	MemoryContextSwitchTo(old);
	MemoryContextReset(adv->tmpcxt);
	return cost;
}

/* ---------------------------------------------------------------------
 * Evidence from the query tree
 * ---------------------------------------------------------------------
 */

/* Is the index a btree? */
static bool
index_is_btree(Oid indexoid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(indexoid));
	bool		btree;

	if (!HeapTupleIsValid(tup))
		return false;
	btree = ((Form_pg_class) GETSTRUCT(tup))->relam == BTREE_AM_OID;
	ReleaseSysCache(tup);
	return btree;
}

/* Facts about relid, computed once per call. */
static RelFacts *
rel_facts(Advisor *adv, Oid relid)
{
	ListCell   *lc;
	RelFacts   *f;
	Relation	rel;
	List	   *indexes;
	MemoryContext old;

	foreach(lc, adv->facts)
	{
		f = (RelFacts *) lfirst(lc);
		if (f->relid == relid)
			return f;
	}
	old = MemoryContextSwitchTo(adv->cxt);
	f = palloc0(sizeof(RelFacts));
	f->relid = relid;
	adv->facts = lappend(adv->facts, f);
	if (relid < FirstNormalObjectId)
	{
		MemoryContextSwitchTo(old);
		return f;				/* catalogs are not advised */
	}
	rel = relation_open(relid, AccessShareLock);
	if (rel->rd_rel->relkind == RELKIND_RELATION ||
		rel->rd_rel->relkind == RELKIND_MATVIEW)
	{
		BlockNumber pages;
		double		tuples;
		double		allvisfrac;

		estimate_rel_size(rel, NULL, &pages, &tuples, &allvisfrac);
		f->tuples = tuples;
		f->pages = pages;
		f->eligible = latdiag_large_table_rows >= 0 &&
			tuples >= latdiag_large_table_rows;
	}
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		Form_pg_index ix;
		bool		isnull;
		List	   *cols = NIL;

		if (!HeapTupleIsValid(tup))
			continue;
		ix = (Form_pg_index) GETSTRUCT(tup);
		for (int i = 0; i < ix->indnatts; i++)
			if (ix->indkey.values[i] > 0)
				f->indexed = bms_add_member(f->indexed, ix->indkey.values[i]);
		(void) SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indpred, &isnull);
		if (ix->indisvalid && isnull && index_is_btree(indexoid))
		{
			for (int i = 0; i < ix->indnkeyatts; i++)
				cols = lappend_int(cols, ix->indkey.values[i]);
			f->btrees = lappend(f->btrees, cols);
		}
		ReleaseSysCache(tup);
	}
	relation_close(rel, AccessShareLock);
	MemoryContextSwitchTo(old);
	return f;
}

/* Skip implicit casts and RelabelTypes over a node. */
static Node *
strip(Node *n)
{
	for (;;)
	{
		if (n && IsA(n, RelabelType))
			n = (Node *) ((RelabelType *) n)->arg;
		else if (n && IsA(n, FuncExpr) &&
				 ((FuncExpr *) n)->funcformat == COERCE_IMPLICIT_CAST &&
				 list_length(((FuncExpr *) n)->args) == 1)
			n = linitial(((FuncExpr *) n)->args);
		else
			return n;
	}
}

/* Is n a column (of this query level) of a table in q's range table? */
static Var *
table_var(Query *q, Node *n)
{
	Var		   *v;
	RangeTblEntry *rte;

	n = strip(n);
	if (n == NULL || !IsA(n, Var))
		return NULL;
	v = (Var *) n;
	if (v->varlevelsup != 0 || v->varattno <= 0 ||
		v->varno < 1 || v->varno > list_length(q->rtable))
		return NULL;
	rte = rt_fetch(v->varno, q->rtable);
	if (rte->rtekind != RTE_RELATION)
		return NULL;
	return v;
}

/* Known at execution start: a parameter, a constant, an outer column... */
static bool
pseudo_constant(Node *n)
{
	return !contain_var_clause(n) && !contain_volatile_functions(n);
}

/* The only range-table index whose columns n reads, or 0. */
static Index
single_rti(Node *n)
{
	Relids		r = pull_varnos(NULL, n);
	int			x;

	if (bms_get_singleton_member(r, &x))
		return (Index) x;
	return 0;
}

/* The btree strategy of opno on a column of type typ, or 0. */
static int
btree_strategy(Oid opno, Oid typ)
{
	Oid			opclass = GetDefaultOpClass(typ, BTREE_AM_OID);

	if (!OidIsValid(opclass))
		return 0;
	return get_op_opfamily_strategy(opno, get_opclass_family(opclass));
}

/* The RelUse of (q, rti), created if the table is large enough. */
static RelUse *
rel_use(Advisor *adv, Stmt *st, Query *q, Index rti)
{
	RangeTblEntry *rte = rt_fetch(rti, q->rtable);
	ListCell   *lc;
	RelUse	   *u;

	foreach(lc, st->uses)
	{
		u = (RelUse *) lfirst(lc);
		if (u->query == q && u->rti == rti)
			return u;
	}
	if (!rel_facts(adv, rte->relid)->eligible)
		return NULL;
	u = MemoryContextAllocZero(adv->cxt, sizeof(RelUse));
	u->query = q;
	u->rti = rti;
	u->relid = rte->relid;
	st->uses = lappend(st->uses, u);
	return u;
}

/* Add attno to a key array unless already there. */
static void
add_key(AttrNumber *keys, int *n, AttrNumber attno)
{
	for (int i = 0; i < *n; i++)
		if (keys[i] == attno)
			return;
	if (*n < MAX_KEYS)
		keys[(*n)++] = attno;
}

/* A predicate on q's table rti as text, with $n for parameters. */
static char *
predicate_text(Query *q, Index rti, Node *clause)
{
	RangeTblEntry *rte = rt_fetch(rti, q->rtable);
	Node	   *copy = copyObject(clause);

	ChangeVarNodes(copy, rti, 1, 0);
	return deparse_expression(copy,
							  deparse_context_for(get_rel_name(rte->relid), rte->relid),
							  false, false);
}

/* Note a predicate no btree serves as written. */
static void
note_unindexable(Advisor *adv, Stmt *st, Query *q, Index rti, Node *clause,
				 const char *why, Node *expr, const char *def)
{
	RangeTblEntry *rte = rt_fetch(rti, q->rtable);
	Unindexable *u;
	MemoryContext old;

	if (!rel_facts(adv, rte->relid)->eligible)
		return;
	old = MemoryContextSwitchTo(adv->cxt);
	u = palloc0(sizeof(Unindexable));
	u->relid = rte->relid;
	u->predicate = predicate_text(q, rti, clause);
	u->why = pstrdup(why);
	if (expr)
	{
		char	   *nsp = get_namespace_name(get_rel_namespace(rte->relid));

		u->index_def = psprintf("CREATE INDEX CONCURRENTLY ON %s ((%s))",
								quote_qualified_identifier(nsp, get_rel_name(rte->relid)),
								predicate_text(q, rti, expr));
	}
	else if (def)
		u->index_def = pstrdup(def);
	st->unindexable = lappend(st->unindexable, u);
	MemoryContextSwitchTo(old);
}

/* Is opno a pattern-matching operator (LIKE, ILIKE, regular expressions)? */
static bool
pattern_operator(Oid opno)
{
	char	   *name = get_opname(opno);

	return name && (strcmp(name, "~~") == 0 || strcmp(name, "~~*") == 0 ||
					strcmp(name, "~") == 0 || strcmp(name, "~*") == 0);
}

/* Is n (the table side of a comparison) a column under an implicit cast? */
static bool
column_cast(Node *n)
{
	while (n && IsA(n, RelabelType))
		n = (Node *) ((RelabelType *) n)->arg;
	if (n && IsA(n, FuncExpr) &&
		((FuncExpr *) n)->funcformat == COERCE_IMPLICIT_CAST &&
		list_length(((FuncExpr *) n)->args) == 1)
		return true;
	return n && IsA(n, CoerceViaIO) &&
		((CoerceViaIO *) n)->coerceformat == COERCE_IMPLICIT_CAST;
}

/*
 * A column compared with a value of another type: the parser cast the
 * column, not the value, so no index on the column serves the comparison.
 */
static void
note_type_mismatch(Advisor *adv, Stmt *st, Query *q, Index rti, Node *clause,
				   Var *col, Node *colside, Node *value)
{
	RangeTblEntry *rte = rt_fetch(rti, q->rtable);
	char	   *colname = get_attname(rte->relid, col->varattno, false);
	char	   *coltype = format_type_with_typemod(col->vartype, col->vartypmod);
	char	   *valtype = format_type_be(exprType(value));
	char	   *valtext = predicate_text(q, rti, value);

	note_unindexable(adv, st, q, rti, clause,
					 psprintf("type mismatch: column %s is %s but is compared with a %s value, "
							  "so the column is cast to %s and no index on it can serve the comparison; "
							  "give the value the column's type: %s = (%s)::%s, "
							  "or have the application bind the parameter as %s",
							  quote_identifier(colname), coltype, valtype,
							  format_type_be(exprType(colside)),
							  quote_identifier(colname), valtext, coltype, coltype),
					 NULL, NULL);
}

/* The column an OR branch compares with a known value, or NULL. */
static Var *
branch_column(Query *q, Node *arm)
{
	List	   *terms = NIL;
	ListCell   *lc;

	flatten_and(arm, &terms);
	foreach(lc, terms)
	{
		Node	   *t = (Node *) lfirst(lc);
		Var		   *v = NULL;

		if (IsA(t, OpExpr) && list_length(((OpExpr *) t)->args) == 2)
		{
			Node	   *l = linitial(((OpExpr *) t)->args);
			Node	   *r = lsecond(((OpExpr *) t)->args);

			if ((v = table_var(q, l)) != NULL && pseudo_constant(r))
				return v;
			if ((v = table_var(q, r)) != NULL && pseudo_constant(l))
				return v;
		}
		else if (IsA(t, ScalarArrayOpExpr) &&
				 (v = table_var(q, linitial(((ScalarArrayOpExpr *) t)->args))) != NULL &&
				 pseudo_constant(lsecond(((ScalarArrayOpExpr *) t)->args)))
			return v;
		else if (IsA(t, NullTest) &&
				 (v = table_var(q, (Node *) ((NullTest *) t)->arg)) != NULL)
			return v;
	}
	return NULL;
}

/*
 * OR across different columns of one table: one index cannot serve it.  An
 * index per branch lets the planner combine them (BitmapOr); a UNION of one
 * query per branch does too.  Said only when a branch's column has no btree
 * starting with it (otherwise the planner can already combine them).
 */
static void
note_or(Advisor *adv, Stmt *st, Query *q, BoolExpr *or)
{
	ListCell   *lc;
	Index		rti = 0;
	List	   *cols = NIL;
	RelFacts   *f;
	StringInfoData names,
				defs;
	char	   *relname;
	int			missing = 0;

	foreach(lc, or->args)
	{
		Var		   *v = branch_column(q, (Node *) lfirst(lc));

		if (v == NULL || (rti != 0 && v->varno != rti))
			return;
		rti = v->varno;
		cols = list_append_unique_int(cols, v->varattno);
	}
	if (rti == 0 || list_length(cols) < 2)
		return;
	f = rel_facts(adv, rt_fetch(rti, q->rtable)->relid);
	if (!f->eligible)
		return;
	initStringInfo(&names);
	initStringInfo(&defs);
	relname = rel_qualified_name(f->relid);
	foreach(lc, cols)
	{
		AttrNumber	attno = (AttrNumber) lfirst_int(lc);
		const char *name = quote_identifier(get_attname(f->relid, attno, false));
		bool		indexed = false;
		ListCell   *lb;

		appendStringInfo(&names, "%s%s", names.len ? ", " : "", name);
		foreach(lb, f->btrees)
			indexed |= (linitial_int((List *) lfirst(lb)) == attno);
		if (!indexed)
		{
			appendStringInfo(&defs, "%sCREATE INDEX CONCURRENTLY ON %s (%s)",
							 defs.len ? "; " : "", relname, name);
			missing++;
		}
	}
	if (missing == 0)
		return;
	note_unindexable(adv, st, q, rti, (Node *) or,
					 psprintf("OR across different columns (%s): no single index serves every branch; "
							  "an index per branch lets the planner combine them (BitmapOr), "
							  "or rewrite the query as a UNION of one query per branch",
							  names.data),
					 NULL, defs.data);
}

/* Replace the parameters of n by their bound values, as constants. */
static Node *
bind_params_mutator(Node *node, ParamListInfo bound)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXTERN &&
		((Param *) node)->paramid > 0 && ((Param *) node)->paramid <= bound->numParams)
	{
		Param	   *p = (Param *) node;
		ParamExternData *prm = &bound->params[p->paramid - 1];
		int16		typlen;
		bool		typbyval;

		get_typlenbyval(p->paramtype, &typlen, &typbyval);
		return (Node *) makeConst(p->paramtype, p->paramtypmod, p->paramcollid,
								  typlen,
								  prm->isnull ? (Datum) 0 : datumCopy(prm->value, typbyval, typlen),
								  prm->isnull, typbyval);
	}
	return expression_tree_mutator(node, bind_params_mutator, (void *) bound);
}

/*
 * The fraction of relid's rows where attno equals value (by operator opno,
 * the column on its left), or is NULL (opno invalid), from pg_statistic as
 * the planner estimates it; -1 if unknown.
 */
static double
value_fraction(Oid relid, AttrNumber attno, double tuples, Oid opno,
			   Oid collid, Datum value)
{
	HeapTuple	tup = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(relid),
									  Int16GetDatum(attno), BoolGetDatum(false));
	double		nullfrac;
	double		frac = -1;
	double		sumcommon = 0;
	int			nmcv = 0;
	AttStatsSlot sslot;

	if (!HeapTupleIsValid(tup))
		return -1;
	nullfrac = ((Form_pg_statistic) GETSTRUCT(tup))->stanullfrac;
	if (!OidIsValid(opno))
	{
		ReleaseSysCache(tup);
		return nullfrac;
	}
	if (get_attstatsslot(&sslot, tup, STATISTIC_KIND_MCV, InvalidOid,
						 ATTSTATSSLOT_VALUES | ATTSTATSSLOT_NUMBERS))
	{
		FmgrInfo	eq;

		fmgr_info(get_opcode(opno), &eq);
		for (int i = 0; i < sslot.nvalues; i++)
		{
			if (frac < 0 &&
				DatumGetBool(FunctionCall2Coll(&eq, collid, sslot.values[i], value)))
				frac = sslot.numbers[i];
			sumcommon += sslot.numbers[i];
		}
		nmcv = sslot.nvalues;
		free_attstatsslot(&sslot);
	}
	ReleaseSysCache(tup);
	if (frac < 0)
	{
		double		nd = col_ndistinct(relid, attno, tuples);

		if (nd <= 0)
			return -1;
		frac = Max(1.0 - sumcommon - nullfrac, 0.0) / Max(nd - nmcv, 1.0);
	}
	return frac;
}

/*
 * An equality col = $n (or col IS NULL, opno invalid) that may make a
 * partial index: see PARTIAL_MAX_DISTINCT.  Needs the statement's actual
 * value of $n and its votes.
 */
static void
note_partial(Advisor *adv, Stmt *st, RelUse *u, Index rti, Var *col, Oid opno,
			 Node *clause, Node *value)
{
	RelFacts   *f = rel_facts(adv, u->relid);
	double		share = -1.0;
	double		frac;
	double		nd;
	Node	   *bound;
	MemoryContext old;
	PartialPred *pp;

	if (OidIsValid(opno))
	{
		Param	   *p;
		SampleValue *sv;
		ParamExternData *prm;

		if (value == NULL || !IsA(value, Param) || st->bound == NULL || st->vals == NULL)
			return;
		p = (Param *) value;
		if (p->paramkind != PARAM_EXTERN || p->paramid > st->nvals ||
			p->paramid > st->bound->numParams)
			return;
		sv = &st->vals[p->paramid - 1];
		if (!sv->known || sv->isnull || sv->slot < 0 || sv->slot >= st->sample.nslots)
			return;
		share = st->sample.share[sv->slot];
		if (st->sample.captures < PARTIAL_MIN_CAPTURES || share < PARTIAL_MIN_SHARE)
			return;
		nd = col_ndistinct(u->relid, col->varattno, f->tuples);
		if (nd <= 0 || nd > PARTIAL_MAX_DISTINCT)
			return;
		prm = &st->bound->params[p->paramid - 1];
		frac = value_fraction(u->relid, col->varattno, f->tuples, opno,
							  exprInputCollation(clause), prm->value);
		if (frac < 0 || frac > PARTIAL_SKEW / nd)
			return;
	}
	else
		frac = value_fraction(u->relid, col->varattno, f->tuples, InvalidOid,
							  InvalidOid, (Datum) 0);
	if (frac < 0 || frac > latdiag_seq_scan_max_selectivity)
		return;

	old = MemoryContextSwitchTo(adv->cxt);
	bound = st->bound ? bind_params_mutator(copyObject(clause), st->bound) : copyObject(clause);
	ChangeVarNodes(bound, rti, 1, 0);
	pp = palloc0(sizeof(PartialPred));
	pp->attno = col->varattno;
	pp->clause = bound;
	pp->frac = frac;
	pp->share = share;
	pp->captures = st->sample.captures;
	u->partials = lappend(u->partials, pp);
	MemoryContextSwitchTo(old);
}

/* Classify one AND-ed predicate of q. */
static void
classify_clause(Advisor *adv, Stmt *st, Query *q, Node *clause)
{
	Node	   *l,
			   *r;
	Var		   *lv,
			   *rv;
	Oid			opno;
	Index		rti;
	int			strategy;

	if (IsA(clause, NullTest))
	{
		NullTest   *nt = (NullTest *) clause;
		RelUse	   *u;

		lv = table_var(q, (Node *) nt->arg);
		if (lv && nt->nulltesttype == IS_NULL && !nt->argisrow &&
			OidIsValid(GetDefaultOpClass(lv->vartype, BTREE_AM_OID)) &&
			(u = rel_use(adv, st, q, lv->varno)) != NULL)
		{
			add_key(u->eq, &u->neq, lv->varattno);
			note_partial(adv, st, u, lv->varno, lv, InvalidOid, clause, NULL);
		}
		return;
	}
	if (is_orclause(clause))
	{
		note_or(adv, st, q, (BoolExpr *) clause);
		return;
	}
	if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *) clause;
		RelUse	   *u;

		lv = table_var(q, linitial(sa->args));
		if (sa->useOr && lv && pseudo_constant(lsecond(sa->args)) &&
			btree_strategy(sa->opno, lv->vartype) == BTEqualStrategyNumber &&
			(u = rel_use(adv, st, q, lv->varno)) != NULL)
			add_key(u->eq, &u->neq, lv->varattno);
		return;
	}
	if (!IsA(clause, OpExpr) || list_length(((OpExpr *) clause)->args) != 2)
		return;
	opno = ((OpExpr *) clause)->opno;
	l = linitial(((OpExpr *) clause)->args);
	r = lsecond(((OpExpr *) clause)->args);
	lv = table_var(q, l);
	rv = table_var(q, r);

	/* a join key: both sides columns of different tables */
	if (lv && rv)
	{
		if (lv->varno == rv->varno)
			return;
		if (btree_strategy(opno, lv->vartype) == BTEqualStrategyNumber)
		{
			RelUse	   *u;

			if ((u = rel_use(adv, st, q, lv->varno)) != NULL)
			{
				add_key(u->eq, &u->neq, lv->varattno);
				u->join = true;
			}
			if ((u = rel_use(adv, st, q, rv->varno)) != NULL)
			{
				add_key(u->eq, &u->neq, rv->varattno);
				u->join = true;
			}
		}
		return;
	}

	/* put the table side on the left */
	if (!lv && (rv || (!pseudo_constant(r) && pseudo_constant(l))))
	{
		Node	   *t = l;

		opno = get_commutator(opno);
		l = r;
		r = t;
		lv = rv;
		if (!OidIsValid(opno))
			return;
	}
	if (!pseudo_constant(r))
		return;

	if (lv)
	{
		RelUse	   *u;

		rti = lv->varno;
		strategy = btree_strategy(opno, lv->vartype);
		if (strategy == 0)
		{
			if (pattern_operator(opno))
				note_unindexable(adv, st, q, rti, clause,
								 "pattern match: a btree serves only a left-anchored constant pattern "
								 "(with text_pattern_ops unless the collation is C); "
								 "a leading wildcard needs a trigram index (pg_trgm, GIN)",
								 NULL, NULL);
			else if (column_cast(l))
				note_type_mismatch(adv, st, q, rti, clause, lv, l, r);
			else
				note_unindexable(adv, st, q, rti, clause,
								 psprintf("operator %s has no btree strategy for this column",
										  get_opname(opno)),
								 NULL, NULL);
			return;
		}
		if ((u = rel_use(adv, st, q, rti)) == NULL)
			return;
		if (strategy == BTEqualStrategyNumber)
		{
			add_key(u->eq, &u->neq, lv->varattno);
			note_partial(adv, st, u, rti, lv, opno, clause, strip(r));
		}
		else
			add_key(u->range, &u->nrange, lv->varattno);
		return;
	}

	/* an expression of one table's columns, e.g. lower(email) = $1 */
	l = strip(l);
	rti = single_rti(l);
	if (rti == 0 || rti > list_length(q->rtable) ||
		rt_fetch(rti, q->rtable)->rtekind != RTE_RELATION ||
		contain_var_clause(r) || checkExprHasSubLink(l) ||
		contain_agg_clause(l) || contain_window_function(l))
		return;
	if (!contain_mutable_functions(l) &&
		btree_strategy(opno, exprType(l)) != 0)
	{
		RelUse	   *u = rel_use(adv, st, q, rti);
		MemoryContext old;
		Node	   *e;

		if (u == NULL)
			return;
		note_unindexable(adv, st, q, rti, clause,
						 "a function of the column: no plain index serves it, an expression index would",
						 l, NULL);
		old = MemoryContextSwitchTo(adv->cxt);
		e = copyObject(l);
		ChangeVarNodes(e, rti, 1, 0);
		u->exprs = lappend(u->exprs, e);
		MemoryContextSwitchTo(old);
	}
	else
		note_unindexable(adv, st, q, rti, clause,
						 pattern_operator(opno) ?
						 "pattern match on an expression: no btree serves it" :
						 "an expression no index can serve as written",
						 NULL, NULL);
}

/* Append the AND-ed predicates of a qual to *out. */
static void
flatten_and(Node *qual, List **out)
{
	ListCell   *lc;

	if (qual == NULL)
		return;
	if (is_andclause(qual))
	{
		foreach(lc, ((BoolExpr *) qual)->args)
			flatten_and(lfirst(lc), out);
	}
	else if (IsA(qual, List))
	{
		foreach(lc, (List *) qual)
			flatten_and(lfirst(lc), out);
	}
	else
		*out = lappend(*out, qual);
}

/* The predicates of a join tree: WHERE and every ON. */
static void
jointree_quals(Node *jt, List **out)
{
	ListCell   *lc;

	if (jt == NULL)
		return;
	if (IsA(jt, FromExpr))
	{
		foreach(lc, ((FromExpr *) jt)->fromlist)
			jointree_quals(lfirst(lc), out);
		flatten_and(((FromExpr *) jt)->quals, out);
	}
	else if (IsA(jt, JoinExpr))
	{
		jointree_quals(((JoinExpr *) jt)->larg, out);
		jointree_quals(((JoinExpr *) jt)->rarg, out);
		flatten_and(((JoinExpr *) jt)->quals, out);
	}
}

/* ORDER BY columns of one table under a LIMIT, in one direction. */
static void
note_sort(Advisor *adv, Stmt *st, Query *q)
{
	ListCell   *lc;
	Index		rti = 0;
	int			dir = 0;		/* 1 ascending, -1 descending, 0 not yet known */
	AttrNumber	cols[MAX_KEYS];
	int			n = 0;
	RelUse	   *u;

	foreach(lc, q->sortClause)
	{
		SortGroupClause *sgc = (SortGroupClause *) lfirst(lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, q->targetList);
		Var		   *v = table_var(q, (Node *) tle->expr);
		Oid			opfamily;
		Oid			opcintype;
		bool		ascending;
		Oid			opclass;

		if (v == NULL || (rti != 0 && v->varno != rti) ||
			!compat_ordering_op(sgc->sortop, &opfamily, &opcintype, &ascending))
			return;
		opclass = GetDefaultOpClass(v->vartype, BTREE_AM_OID);
		if (!OidIsValid(opclass) || get_opclass_family(opclass) != opfamily)
			return;
		/* a backward scan of an ascending index gives DESC NULLS FIRST */
		if (ascending == sgc->nulls_first)
			return;
		if (dir != 0 && dir != (ascending ? 1 : -1))
			return;
		dir = ascending ? 1 : -1;
		rti = v->varno;
		if (n < MAX_KEYS)
			cols[n++] = v->varattno;
	}
	if (rti == 0 || (u = rel_use(adv, st, q, rti)) == NULL)
		return;
	for (int i = 0; i < n; i++)
		add_key(u->sort, &u->nsort, cols[i]);
}

/* The columns an UPDATE sets, for the HOT verdict. */
static void
note_update(Advisor *adv, Stmt *st, Query *q)
{
	RangeTblEntry *rte;
	UpdateSet  *us;
	ListCell   *lc;

	if (q->resultRelation <= 0)
		return;
	rte = rt_fetch(q->resultRelation, q->rtable);
	us = MemoryContextAllocZero(adv->cxt, sizeof(UpdateSet));
	us->relid = rte->relid;
	us->queryid = st->queryid;
	us->calls = st->calls;
	foreach(lc, q->targetList)
	{
		TargetEntry *tle = (TargetEntry *) lfirst(lc);

		if (!tle->resjunk && tle->resno > 0)
		{
			MemoryContext old = MemoryContextSwitchTo(adv->cxt);

			us->cols = bms_add_member(us->cols, tle->resno);
			MemoryContextSwitchTo(old);
		}
	}
	st->updates = lappend(st->updates, us);
}

typedef struct ExtractCtx
{
	Advisor    *adv;
	Stmt	   *st;
} ExtractCtx;

/* Walk every query level (subqueries, CTEs, sublinks) for evidence. */
static bool
extract_walker(Node *node, ExtractCtx *cx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;
		List	   *quals = NIL;
		ListCell   *lc;

		jointree_quals((Node *) q->jointree, &quals);
		foreach(lc, quals)
			classify_clause(cx->adv, cx->st, q, lfirst(lc));
		if (q->sortClause && q->limitCount)
			note_sort(cx->adv, cx->st, q);
		return query_tree_walker(q, extract_walker, cx, 0);
	}
	return expression_tree_walker(node, extract_walker, cx);
}

/* ---------------------------------------------------------------------
 * Candidates
 * ---------------------------------------------------------------------
 */

/* Fill in the identity of c. */
static void
cand_finish(Advisor *adv, Cand *c)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%u", c->relid);
	for (int i = 0; i < c->ncols; i++)
	{
		if (c->attnos[i] != 0)
			appendStringInfo(&buf, ":%d", c->attnos[i]);
		else
			appendStringInfo(&buf, ":(%s)", nodeToString(c->exprs[i]));
	}
	if (c->pred)
		appendStringInfo(&buf, "|%s", nodeToString(c->pred));
	c->key = MemoryContextStrdup(adv->cxt, buf.data);
	pfree(buf.data);
}

/* A candidate of plain columns. */
static Cand *
cand_make(Advisor *adv, Oid relid, const AttrNumber *cols, int n)
{
	Cand	   *c = MemoryContextAllocZero(adv->cxt, sizeof(Cand));

	c->relid = relid;
	for (int i = 0; i < n && c->ncols < MAX_COLS; i++)
	{
		bool		dup = false;

		for (int j = 0; j < c->ncols; j++)
			dup |= (c->attnos[j] == cols[i]);
		if (!dup)
			c->attnos[c->ncols++] = cols[i];
	}
	cand_finish(adv, c);
	return c;
}

/* The candidate made of the first n columns of c. */
static Cand *
cand_prefix(Advisor *adv, Cand *c, int n)
{
	Cand	   *p = MemoryContextAllocZero(adv->cxt, sizeof(Cand));

	p->relid = c->relid;
	p->ncols = n;
	memcpy(p->attnos, c->attnos, sizeof(AttrNumber) * n);
	memcpy(p->exprs, c->exprs, sizeof(Node *) * n);
	p->pred = c->pred;
	p->pred_frac = c->pred_frac;
	p->pred_share = c->pred_share;
	p->pred_captures = c->pred_captures;
	cand_finish(adv, p);
	return p;
}

/* Does an existing valid btree on the table start with c's columns? */
static bool
cand_covered(Advisor *adv, Cand *c)
{
	RelFacts   *f = rel_facts(adv, c->relid);
	ListCell   *lc;

	foreach(lc, f->btrees)
	{
		List	   *cols = (List *) lfirst(lc);
		bool		same = list_length(cols) >= c->ncols;

		for (int i = 0; same && i < c->ncols; i++)
			same = c->attnos[i] != 0 && list_nth_int(cols, i) == c->attnos[i];
		if (same)
			return true;
	}
	return false;
}

/* Add c to *list unless an equal one is there or an index covers it. */
static List *
cand_add(Advisor *adv, List *list, Cand *c)
{
	ListCell   *lc;

	if (c->ncols == 0 || list_length(list) >= MAX_CANDS || cand_covered(adv, c))
		return list;
	foreach(lc, list)
		if (strcmp(((Cand *) lfirst(lc))->key, c->key) == 0)
			return list;
	return lappend(list, c);
}

/*
 * The candidates of one use: each column alone, then equality columns
 * first, then one range column, then the sort columns.
 */
static List *
use_candidates(Advisor *adv, RelUse *u)
{
	List	   *list = NIL;
	AttrNumber	cols[MAX_KEYS * 2];
	ListCell   *lc;

	for (int i = 0; i < u->neq; i++)
		list = cand_add(adv, list, cand_make(adv, u->relid, &u->eq[i], 1));
	if (u->neq > 1)
		list = cand_add(adv, list, cand_make(adv, u->relid, u->eq, u->neq));
	for (int i = 0; i < u->nrange; i++)
	{
		list = cand_add(adv, list, cand_make(adv, u->relid, &u->range[i], 1));
		if (u->neq > 0)
		{
			memcpy(cols, u->eq, sizeof(AttrNumber) * u->neq);
			cols[u->neq] = u->range[i];
			list = cand_add(adv, list, cand_make(adv, u->relid, cols, u->neq + 1));
		}
	}
	if (u->nsort > 0)
	{
		list = cand_add(adv, list, cand_make(adv, u->relid, u->sort, u->nsort));
		memcpy(cols, u->eq, sizeof(AttrNumber) * u->neq);
		memcpy(cols + u->neq, u->sort, sizeof(AttrNumber) * u->nsort);
		if (u->neq > 0)
			list = cand_add(adv, list, cand_make(adv, u->relid, cols, u->neq + u->nsort));
	}
	foreach(lc, u->exprs)
	{
		Cand	   *c = MemoryContextAllocZero(adv->cxt, sizeof(Cand));

		c->relid = u->relid;
		c->ncols = 1;
		c->exprs[0] = (Node *) lfirst(lc);
		cand_finish(adv, c);
		list = cand_add(adv, list, c);
	}
	/* partial: the other equality columns and a range column, or the sort */
	foreach(lc, u->partials)
	{
		PartialPred *pp = (PartialPred *) lfirst(lc);
		int			n = 0;
		Cand	   *c;

		for (int i = 0; i < u->neq; i++)
			if (u->eq[i] != pp->attno)
				cols[n++] = u->eq[i];
		if (u->nrange > 0)
			cols[n++] = u->range[0];
		if (n == 0)
			cols[n++] = pp->attno;
		c = cand_make(adv, u->relid, cols, n);
		c->pred = pp->clause;
		c->pred_frac = pp->frac;
		c->pred_share = pp->share;
		c->pred_captures = pp->captures;
		cand_finish(adv, c);
		list = cand_add(adv, list, c);
		if (u->nsort > 0)
		{
			c = cand_make(adv, u->relid, u->sort, u->nsort);
			c->pred = pp->clause;
			c->pred_frac = pp->frac;
			c->pred_share = pp->share;
			c->pred_captures = pp->captures;
			cand_finish(adv, c);
			list = cand_add(adv, list, c);
		}
	}
	return list;
}

/* The what-if result of statement st with c, planned once. */
static Eval *
evaluate(Advisor *adv, Stmt *st, Cand *c)
{
	ListCell   *lc;
	Eval	   *e;

	foreach(lc, st->evals)
	{
		e = (Eval *) lfirst(lc);
		if (strcmp(e->key, c->key) == 0)
			return e;
	}
	e = MemoryContextAllocZero(adv->cxt, sizeof(Eval));
	e->key = c->key;
	e->cost = whatif_plan(adv, st->query, c, &e->used, st->bound);
	if (!e->used)
		e->cost = st->cost_before;
	st->evals = lappend(st->evals, e);
	return e;
}

/* Does c pass the rules for st: used, and cheaper by the minimum? */
static bool
passes(Advisor *adv, Stmt *st, Eval *e)
{
	return e->used &&
		e->cost <= st->cost_before * (1.0 - latdiag_index_min_improvement);
}

/* The best candidate of one use, or NULL. */
static Verdict *
choose(Advisor *adv, Stmt *st, RelUse *u)
{
	List	   *cands = use_candidates(adv, u);
	ListCell   *lc;
	Cand	   *best = NULL;
	double		best_cost = 0;

	foreach(lc, cands)
	{
		Cand	   *c = (Cand *) lfirst(lc);
		Eval	   *e = evaluate(adv, st, c);

		if (!passes(adv, st, e))
			continue;
		if (c->ncols > 1)
		{
			double		prefix_cost = st->cost_before;

			for (int k = 1; k < c->ncols; k++)
				prefix_cost = Min(prefix_cost,
								   evaluate(adv, st, cand_prefix(adv, c, k))->cost);
			if (prefix_cost - e->cost < MULTICOLUMN_MARGIN * st->cost_before)
				continue;
		}
		/*
		 * cheaper wins; more columns must win by the margin; a partial index
		 * (smaller) wins over a full one that is not cheaper by the margin
		 */
		if (best == NULL ||
			(c->pred && !best->pred &&
			 e->cost <= best_cost + MULTICOLUMN_MARGIN * st->cost_before) ||
			(!(best->pred && !c->pred) &&
			 (c->ncols <= best->ncols ? e->cost < best_cost :
			  best_cost - e->cost >= MULTICOLUMN_MARGIN * st->cost_before)) ||
			(best->pred && !c->pred &&
			 e->cost < best_cost - MULTICOLUMN_MARGIN * st->cost_before))
		{
			best = c;
			best_cost = e->cost;
		}
	}
	if (best == NULL)
		return NULL;
	{
		Verdict    *v = MemoryContextAllocZero(adv->cxt, sizeof(Verdict));

		v->cand = best;
		v->cost_after = best_cost;
		v->generic_after = st->generic_before;
		if (st->bound)
		{
			bool		used;
			double		g = whatif_plan(adv, st->query, best, &used, NULL);

			if (used)
				v->generic_after = g;
		}
		else
			v->generic_after = best_cost;
		v->use = u;
		return v;
	}
}

/* Does text contain word (ASCII, any case)? */
static bool
has_word(const char *text, const char *word)
{
	size_t		n = strlen(word);

	for (const char *p = text; *p; p++)
		if (pg_strncasecmp(p, word, n) == 0 &&
			(p == text || !isalnum((unsigned char) p[-1])) &&
			!isalnum((unsigned char) p[n]) && p[n] != '_')
			return true;
	return false;
}

/* Is the text worth parsing for an ORDER BY ... LIMIT or an UPDATE? */
static bool
text_interesting(const char *text, bool *is_update)
{
	const char *p = text;

	while (*p && (isspace((unsigned char) *p) || *p == '('))
		p++;
	*is_update = pg_strncasecmp(p, "update", 6) == 0;
	if (*is_update)
		return true;
	return has_word(text, "order") &&
		(has_word(text, "limit") || has_word(text, "fetch"));
}

/*
 * The sampled values of st's parameters, typed as the analysis resolved
 * them, marked constant for a custom plan; NULL if one is missing.  In the
 * current memory context.
 */
static ParamListInfo
bind_sample(Stmt *st, Oid *ptypes, int nparams)
{
	ParamListInfo b;

	if (nparams <= 0 || nparams > st->nvals)
		return NULL;
	b = makeParamList(nparams);
	for (int i = 0; i < nparams; i++)
	{
		SampleValue *v = &st->vals[i];
		ParamExternData *prm = &b->params[i];
		Oid			typ = ptypes[i];

		if (!v->known || !OidIsValid(typ) || typ == UNKNOWNOID)
			return NULL;
		prm->ptype = typ;
		prm->pflags = PARAM_FLAG_CONST;
		prm->isnull = v->isnull;
		prm->value = (Datum) 0;
		if (!v->isnull)
		{
			Oid			infn;
			Oid			ioparam;

			getTypeInputInfo(typ, &infn, &ioparam);
			prm->value = OidInputFunctionCall(infn, v->value, ioparam, -1);
		}
	}
	return b;
}

/*
 * Parse, analyse and rewrite st's normalized text; gather its evidence,
 * plan it and choose its candidates.  Runs inside a subtransaction.
 */
static void
analyse_statement(Advisor *adv, Stmt *st)
{
	List	   *raw;
	RawStmt    *rs;
	ParseState *ps;
	Oid		   *ptypes = NULL;
	int			nparams = 0;
	Query	   *q;
	List	   *rewritten;
	ExtractCtx	cx;
	ListCell   *lc;
	MemoryContext old = MemoryContextSwitchTo(adv->tmpcxt);

	raw = pg_parse_query(st->text);
	if (list_length(raw) != 1)
		elog(ERROR, "not one statement");
	rs = linitial_node(RawStmt, raw);

	/* PREPARE name(types) AS ...: the statement, with the declared types */
	if (IsA(rs->stmt, PrepareStmt))
	{
		PrepareStmt *pst = (PrepareStmt *) rs->stmt;
		ListCell   *lt;
		int			i = 0;

		nparams = Max(list_length(pst->argtypes), st->use_sample ? st->nvals : 0);
		if (nparams > 0)
			ptypes = palloc0(sizeof(Oid) * nparams);
		foreach(lt, pst->argtypes)
			ptypes[i++] = typenameTypeId(NULL, (TypeName *) lfirst(lt));
		rs->stmt = pst->query;
	}
	if (!IsA(rs->stmt, SelectStmt) && !IsA(rs->stmt, UpdateStmt) &&
		!IsA(rs->stmt, DeleteStmt) && !IsA(rs->stmt, InsertStmt))
		elog(ERROR, "not a plannable statement");

	/* parse_analyze_varparams without the hooks and the query id */
	/* with a sample: its values' types, as the statement ran */
	if (st->use_sample && st->nvals > 0)
	{
		if (ptypes == NULL)
		{
			nparams = st->nvals;
			ptypes = palloc0(sizeof(Oid) * nparams);
		}
		for (int i = 0; i < st->nvals; i++)
			if (st->vals[i].known && st->vals[i].type != UNKNOWNOID)
				ptypes[i] = st->vals[i].type;
	}
	ps = make_parsestate(NULL);
	ps->p_sourcetext = st->text;
	setup_parse_variable_parameters(ps, &ptypes, &nparams);
	q = transformTopLevelStmt(ps, rs);
	check_variable_parameters(ps, q);
	free_parsestate(ps);
	rewritten = QueryRewrite(q);
	if (list_length(rewritten) != 1)
		elog(ERROR, "rewritten into several statements");
	q = linitial_node(Query, rewritten);
	if (q->commandType == CMD_UTILITY)
		elog(ERROR, "a utility statement");

	MemoryContextSwitchTo(old);
	st->query = q = copyObject(q);
	if (st->use_sample)
		st->bound = bind_sample(st, ptypes, nparams);
	MemoryContextReset(adv->tmpcxt);

	if (q->commandType == CMD_UPDATE)
		note_update(adv, st, q);

	/* LIMIT $n: the rows it returned per call, as the planner's limit */
	if (q->limitCount && IsA(q->limitCount, Param) && st->calls > 0)
	{
		int64		per_call = Max((st->rows + st->calls - 1) / st->calls, 1);

		q->limitCount = (Node *) makeConst(INT8OID, -1, InvalidOid, 8,
										   Int64GetDatum(per_call), false,
										   FLOAT8PASSBYVAL);
	}

	cx.adv = adv;
	cx.st = st;
	(void) extract_walker((Node *) st->query, &cx);

	if (st->uses == NIL)
		return;
	st->cost_before = whatif_plan(adv, st->query, NULL, NULL, st->bound);
	st->generic_before = st->bound ?
		whatif_plan(adv, st->query, NULL, NULL, NULL) : st->cost_before;
	adv->n_planned++;
	foreach(lc, st->uses)
	{
		Verdict    *v = choose(adv, st, (RelUse *) lfirst(lc));

		if (v)
			st->verdicts = lappend(st->verdicts, v);
	}
}

typedef void (*GuardedFn) (Advisor *adv, Stmt *st, void *arg);

/*
 * Run fn for st in a subtransaction, as st's role in a restricted security
 * context; roll it back whatever happens.  An error marks st failed, except
 * a cancel, which is raised again.
 */
static bool
guarded(Advisor *adv, Stmt *st, GuardedFn fn, void *arg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	Oid			save_userid;
	int			save_sec;
	volatile bool ok = true;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(adv->cxt);
	PG_TRY();
	{
		SetUserIdAndSecContext(st->userid, save_sec |
							   SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
		fn(adv, st, arg);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
		{
			SetUserIdAndSecContext(save_userid, save_sec);
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
			ReThrowError(edata);
		}
		elog(DEBUG1, "postgres_latdiag: index advice skips queryid %lld: %s",
			 (long long) st->queryid, edata->message);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();

	SetUserIdAndSecContext(save_userid, save_sec);
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
	MemoryContextReset(adv->tmpcxt);
	return ok;
}

/* guarded() body: the first analysis. */
static void
analyse_fn(Advisor *adv, Stmt *st, void *arg)
{
	analyse_statement(adv, st);
}

/* guarded() body: is Cand arg as good for st as what st chose? */
static void
recheck_fn(Advisor *adv, Stmt *st, void *arg)
{
	Eval	   *e = evaluate(adv, st, (Cand *) arg);

	if (!passes(adv, st, e))
		elog(ERROR, "the longer index does not serve this statement");
}

/* ---------------------------------------------------------------------
 * Gathering and merging
 * ---------------------------------------------------------------------
 */

/* The statements worth analysing, from the query and seq-scan stores. */
static void
collect_statements(Advisor *adv)
{
	StoreRow   *rows;
	ScanRow    *scans;
	int			nrows,
				nscans;
	HASHCTL		ctl;
	HTAB	   *map;
	typedef struct
	{
		Oid			userid;
		Oid			pad;
		uint64		queryid;
	}			Key;
	typedef struct
	{
		Key			key;
		Stmt	   *st;
	}			Ent;
	HASH_SEQ_STATUS seq;
	Ent		   *ent;
	MemoryContext old = MemoryContextSwitchTo(adv->cxt);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Key);
	ctl.entrysize = sizeof(Ent);
	ctl.hcxt = adv->cxt;
	map = hash_create("latdiag advisor statements", 256, &ctl,
					  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	rows = store_read(&nrows, true);
	for (int i = 0; i < nrows; i++)
	{
		StoreRow   *r = &rows[i];
		Key			k;
		bool		found;

		if (r->key.dbid != MyDatabaseId || r->text == NULL || r->c.calls == 0)
			continue;
		memset(&k, 0, sizeof(k));
		k.userid = r->key.userid;
		k.queryid = r->key.queryid;
		ent = hash_search(map, &k, HASH_ENTER, &found);
		if (!found)
		{
			ent->st = palloc0(sizeof(Stmt));
			ent->st->userid = k.userid;
			ent->st->queryid = k.queryid;
			ent->st->text = pnstrdup(r->text, r->text_len);
		}
		ent->st->calls += r->c.calls;
		ent->st->rows += r->c.rows;
		ent->st->truncated |= r->truncated;
	}
	/* statements with actual values: slow, or sampled seq scans */
	{
		int			nsamples;
		SampleRow  *sr = samples_read(MyDatabaseId, &nsamples);

		for (int i = 0; i < nsamples; i++)
		{
			Key			k;

			memset(&k, 0, sizeof(k));
			k.userid = sr[i].userid;
			k.queryid = sr[i].queryid;
			ent = hash_search(map, &k, HASH_FIND, NULL);
			if (ent)
			{
				ent->st->sampled = true;
				ent->st->sample = sr[i];
			}
		}
	}
	scans = scans_read(&nscans);
	for (int i = 0; i < nscans; i++)
	{
		Key			k;

		double		selectivity = scans[i].rows_scanned > 0 ?
			scans[i].rows_returned / scans[i].rows_scanned : 1.0;

		/* the scans latdiag_seq_scans flags, and inner sides of loops */
		if (scans[i].dbid != MyDatabaseId ||
			(selectivity > latdiag_seq_scan_max_selectivity &&
			 !scans[i].inner_of_nested_loop))
			continue;
		memset(&k, 0, sizeof(k));
		k.userid = scans[i].userid;
		k.queryid = scans[i].queryid;
		ent = hash_search(map, &k, HASH_FIND, NULL);
		if (ent)
			ent->st->seqscan = true;
	}

	hash_seq_init(&seq, map);
	while ((ent = hash_seq_search(&seq)) != NULL)
	{
		Stmt	   *st = ent->st;
		bool		is_update;

		if (!st->seqscan && !st->sampled && !text_interesting(st->text, &is_update))
			continue;
		adv->n_considered++;
		if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(st->userid)) ||
			!has_privs_of_role(adv->reader, st->userid))
		{
			adv->n_not_permitted++;
			continue;
		}
		if (st->sampled && !st->truncated)
			st->vals = align_sample(adv, st);
		adv->stmts = lappend(adv->stmts, st);
	}
	MemoryContextSwitchTo(old);
}

/*
 * The sample's value of each $n of st's text (samples_align), or NULL.  The
 * lexer raises an error only on malformed text; such a sample is ignored.
 */
static SampleValue *
align_sample(Advisor *adv, Stmt *st)
{
	MemoryContext old = CurrentMemoryContext;
	SampleValue *volatile vals = NULL;

	PG_TRY();
	{
		vals = samples_align(st->text, &st->sample, &st->nvals);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(old);
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED || edata->elevel > ERROR)
			PG_RE_THROW();
		FlushErrorState();
		vals = NULL;
	}
	PG_END_TRY();
	return vals;
}

/* Order statements by queryid, so that results do not depend on hashing. */
static int
stmt_cmp(const ListCell *a, const ListCell *b)
{
	Stmt	   *x = lfirst(a);
	Stmt	   *y = lfirst(b);

	if (x->queryid != y->queryid)
		return x->queryid < y->queryid ? -1 : 1;
	return x->userid < y->userid ? -1 : (x->userid > y->userid ? 1 : 0);
}

/* The Advice of candidate c, created if new. */
static Advice *
advice_for(Advisor *adv, Cand *c)
{
	ListCell   *lc;
	Advice	   *a;

	foreach(lc, adv->advice)
	{
		a = (Advice *) lfirst(lc);
		if (!a->dropped && strcmp(a->cand->key, c->key) == 0)
			return a;
	}
	a = MemoryContextAllocZero(adv->cxt, sizeof(Advice));
	a->cand = c;
	adv->advice = lappend(adv->advice, a);
	return a;
}

/* Count statement st, with cost after, for advice a. */
static void
advice_add(Advisor *adv, Advice *a, Stmt *st, double cost_after,
		   double v_generic_after, RelUse *u)
{
	double	   *cost;

	if (list_member_ptr(a->stmts, st))
		return;
	cost = MemoryContextAlloc(adv->cxt, sizeof(double));
	*cost = cost_after;
	a->stmts = lappend(a->stmts, st);
	a->costs = lappend(a->costs, cost);
	a->calls += st->calls;
	a->w_before += (double) st->calls * st->cost_before;
	a->w_after += (double) st->calls * cost_after;
	if (st->bound)
		a->n_custom++;
	else
		a->n_generic++;
	a->w_generic_before += (double) st->calls * st->generic_before;
	a->w_generic_after += (double) st->calls * (v_generic_after >= 0 ? v_generic_after : cost_after);
	if (u)
	{
		a->eq |= u->neq > 0;
		a->range |= u->nrange > 0;
		a->sort |= u->nsort > 0;
		a->join |= u->join;
		a->expr |= u->exprs != NIL;
	}
}

/* Is x's column list a proper prefix of y's? */
static bool
cand_is_prefix(Cand *x, Cand *y)
{
	size_t		n = strlen(x->key);

	return x->relid == y->relid && x->ncols < y->ncols &&
		strncmp(x->key, y->key, n) == 0 && y->key[n] == ':';
}

/*
 * Fold a candidate into a longer one on the same table that starts with its
 * columns, when the longer one serves each of its statements by the rules.
 */
static void
fold_prefixes(Advisor *adv)
{
	ListCell   *lx,
			   *ly;

	foreach(lx, adv->advice)
	{
		Advice	   *x = (Advice *) lfirst(lx);

		if (x->dropped)
			continue;
		foreach(ly, adv->advice)
		{
			Advice	   *y = (Advice *) lfirst(ly);
			bool		all = true;
			ListCell   *ls;

			if (y->dropped || !cand_is_prefix(x->cand, y->cand))
				continue;
			foreach(ls, x->stmts)
				all = all && guarded(adv, (Stmt *) lfirst(ls), recheck_fn, y->cand);
			if (!all)
				continue;
			foreach(ls, x->stmts)
			{
				Stmt	   *st = (Stmt *) lfirst(ls);

				advice_add(adv, y, st, evaluate(adv, st, y->cand)->cost, -1, NULL);
			}
			y->eq |= x->eq;
			y->range |= x->range;
			y->sort |= x->sort;
			y->join |= x->join;
			x->dropped = true;
			break;
		}
	}
}

/* Is queryid in a List of uint64 pointers? */
static bool
list_member_uint64(List *list, uint64 queryid)
{
	ListCell   *lc;

	foreach(lc, list)
		if (*(uint64 *) lfirst(lc) == queryid)
			return true;
	return false;
}

/* Merge the per-statement results. */
static void
merge(Advisor *adv)
{
	ListCell   *ls,
			   *lc;

	foreach(ls, adv->stmts)
	{
		Stmt	   *st = (Stmt *) lfirst(ls);

		if (st->failed)
			continue;
		foreach(lc, st->verdicts)
		{
			Verdict    *v = (Verdict *) lfirst(lc);

			advice_add(adv, advice_for(adv, v->cand), st, v->cost_after,
					   v->generic_after, v->use);
		}
		foreach(lc, st->updates)
			adv->updates = lappend(adv->updates, lfirst(lc));
		foreach(lc, st->unindexable)
		{
			Unindexable *u = (Unindexable *) lfirst(lc);
			Unindexable *m = NULL;
			ListCell   *lm;
			uint64	   *qid;

			foreach(lm, adv->unindexable)
			{
				Unindexable *o = (Unindexable *) lfirst(lm);

				if (o->relid == u->relid && strcmp(o->predicate, u->predicate) == 0)
					m = o;
			}
			if (m == NULL)
			{
				m = u;
				m->visible = true;
				adv->unindexable = lappend(adv->unindexable, m);
			}
			else if (list_member_ptr(m->stmts, st))
				continue;
			m->stmts = lappend(m->stmts, st);
			qid = MemoryContextAlloc(adv->cxt, sizeof(uint64));
			*qid = st->queryid;
			if (!list_member_uint64(m->queryids, *qid))
				m->queryids = lappend(m->queryids, qid);
			m->calls += st->calls;
			/* a predicate is part of the statement's text */
			m->visible &= (st->userid == adv->reader ||
						   has_privs_of_role(adv->reader, ROLE_PG_READ_ALL_STATS));
		}
	}
	fold_prefixes(adv);
}

/* ---------------------------------------------------------------------
 * Output
 * ---------------------------------------------------------------------
 */

/* The qualified name of relid. */
static char *
rel_qualified_name(Oid relid)
{
	char	   *name = get_rel_name(relid);

	if (name == NULL)
		return NULL;
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  name);
}

/*
 * Column i of c: as index_def shows it (quoted = true: an identifier quoted
 * where SQL needs it), or as the columns array shows it (the plain name, as
 * pg_attribute.attname and every other column array of latdiag).  An
 * expression is deparsed in parentheses either way.
 */
static char *
cand_col_text(Cand *c, int i, bool quoted)
{
	if (c->attnos[i] != 0)
	{
		char	   *name = get_attname(c->relid, c->attnos[i], false);

		return quoted ? pstrdup(quote_identifier(name)) : name;
	}
	return psprintf("(%s)",
					deparse_expression(c->exprs[i],
									   deparse_context_for(get_rel_name(c->relid), c->relid),
									   false, false));
}

/* Does c include a column some captured UPDATE sets?  Sum their calls. */
static int
cand_stops_hot(Advisor *adv, Cand *c, int64 *calls)
{
	RelFacts   *f = rel_facts(adv, c->relid);
	Bitmapset  *cols = NULL;
	ListCell   *lc;
	int			n = 0;

	for (int i = 0; i < c->ncols; i++)
	{
		if (c->attnos[i] != 0)
			cols = bms_add_member(cols, c->attnos[i]);
		else
		{
			List	   *vars = pull_var_clause(c->exprs[i], 0);
			ListCell   *lv;

			foreach(lv, vars)
				if (((Var *) lfirst(lv))->varattno > 0)
					cols = bms_add_member(cols, ((Var *) lfirst(lv))->varattno);
		}
	}
	/* updates of columns some index already has are not HOT anyway */
	cols = bms_del_members(cols, f->indexed);
	*calls = 0;
	foreach(lc, adv->updates)
	{
		UpdateSet  *us = (UpdateSet *) lfirst(lc);

		if (us->relid == c->relid && bms_overlap(us->cols, cols))
		{
			n++;
			*calls += us->calls;
		}
	}
	return n;
}

/* One output row of the advice SRF. */
static void
emit_row(ReturnSetInfo *rsinfo, const char *kind, Oid relid, Datum columns,
		 const char *index_def, List *queryids, int64 calls, double before,
		 double after, double size, double overhead, const char *reason,
		 bool have_costs, const char *judged_plan)
{
	Datum		values[15];
	bool		nulls[15];
	int			i = 0;
	char	   *relname = OidIsValid(relid) ? rel_qualified_name(relid) : NULL;

	memset(nulls, 0, sizeof(nulls));
	values[i++] = CStringGetTextDatum(kind);
	values[i++] = ObjectIdGetDatum(MyDatabaseId);
	if (OidIsValid(relid))
		values[i++] = ObjectIdGetDatum(relid);
	else
		nulls[i++] = true;
	if (relname)
		values[i++] = CStringGetTextDatum(relname);
	else
		nulls[i++] = true;
	if (columns)
		values[i++] = columns;
	else
		nulls[i++] = true;
	if (index_def)
		values[i++] = CStringGetTextDatum(index_def);
	else
		nulls[i++] = true;
	{
		int			n = list_length(queryids);
		Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
		ListCell   *lc;
		int			k = 0;

		foreach(lc, queryids)
			d[k++] = Int64GetDatum((int64) *(uint64 *) lfirst(lc));
		values[i++] = PointerGetDatum(construct_array(d, n, INT8OID, 8,
													  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	}
	values[i++] = Int64GetDatum(calls);
	if (have_costs)
	{
		values[i++] = Float8GetDatum(before);
		values[i++] = Float8GetDatum(after);
		values[i++] = Float8GetDatum(before > 0 ? 1.0 - after / before : 0.0);
		values[i++] = Int64GetDatum((int64) size);
		values[i++] = Float8GetDatum(overhead);
	}
	else
	{
		for (int k = 0; k < 5; k++)
			nulls[i++] = true;
	}
	values[i++] = CStringGetTextDatum(reason);
	if (judged_plan)
		values[i++] = CStringGetTextDatum(judged_plan);
	else
		nulls[i++] = true;
	Assert(i == 15);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* Append part to a comma-separated list if on. */
static void
add_part(StringInfo buf, const char **sep, bool on, const char *part)
{
	if (!on)
		return;
	appendStringInfo(buf, "%s%s", *sep, part);
	*sep = ", ";
}

/* Emit one kept candidate. */
static void
emit_advice(Advisor *adv, ReturnSetInfo *rsinfo, Advice *a)
{
	Cand	   *c = a->cand;
	RelFacts   *f = rel_facts(adv, c->relid);
	ArrayBuildState *astate = NULL;
	StringInfoData def,
				why;
	List	   *queryids = NIL;
	ListCell   *lc;
	double		before = a->calls > 0 ? a->w_before / a->calls : 0;
	double		after = a->calls > 0 ? a->w_after / a->calls : 0;
	double		indexed_rows = c->pred ? Max(f->tuples * c->pred_frac, 1.0) : f->tuples;
	double		size = cand_pages(c, indexed_rows, NULL) * BLCKSZ;
	double		g_before = a->calls > 0 ? a->w_generic_before / a->calls : 0;
	double		g_after = a->calls > 0 ? a->w_generic_after / a->calls : 0;
	const char *judged = a->n_generic == 0 ? "custom" : a->n_custom == 0 ? "generic" : "mixed";
	bool		pred_visible = true;
	double		entry = cand_entry_bytes(c);
	double		row_bytes = f->tuples > 0 ? Max(f->pages * BLCKSZ / f->tuples, 1.0) : 1.0;
	PgStat_StatTabEntry *ts = pgstat_fetch_stat_tabentry(c->relid);
	double		ins = ts ? ts->tuples_inserted : 0,
				upd = ts ? ts->tuples_updated : 0,
				del = ts ? ts->tuples_deleted : 0,
				hot = ts ? ts->tuples_hot_updated : 0;
	int64		hot_calls;
	int			hot_stmts = cand_stops_hot(adv, c, &hot_calls);
	double		index_writes = ins + (upd - hot) + (hot_stmts > 0 ? hot : 0);
	double		overhead = (ins + upd + del) > 0 ?
		entry / row_bytes * index_writes / (ins + upd + del) : 0.0;
	const char *sep = "";

	initStringInfo(&def);
	initStringInfo(&why);
	appendStringInfo(&def, "CREATE INDEX CONCURRENTLY ON %s (",
					 rel_qualified_name(c->relid));
	for (int i = 0; i < c->ncols; i++)
	{
		appendStringInfo(&def, "%s%s", i ? ", " : "", cand_col_text(c, i, true));
		astate = accumArrayResult(astate,
								  CStringGetTextDatum(cand_col_text(c, i, false)), false,
								  TEXTOID, CurrentMemoryContext);
	}
	appendStringInfoChar(&def, ')');
	/* a predicate holds a value of the statements: shown as their texts are */
	foreach(lc, a->stmts)
		pred_visible &= (((Stmt *) lfirst(lc))->userid == adv->reader ||
						 has_privs_of_role(adv->reader, ROLE_PG_READ_ALL_STATS));
	if (c->pred)
		appendStringInfo(&def, " WHERE %s",
						 pred_visible ?
						 deparse_expression(c->pred,
											deparse_context_for(get_rel_name(c->relid), c->relid),
											false, false) :
						 "<insufficient privilege>");
	foreach(lc, a->stmts)
	{
		uint64	   *q = palloc(sizeof(uint64));
		bool		dup = false;
		ListCell   *lq;

		*q = ((Stmt *) lfirst(lc))->queryid;
		foreach(lq, queryids)
			dup |= (*(uint64 *) lfirst(lq) == *q);
		if (!dup)
			queryids = lappend(queryids, q);
	}

	appendStringInfo(&why, "serves %d statement%s (", list_length(a->stmts),
					 list_length(a->stmts) == 1 ? "" : "s");
	add_part(&why, &sep, a->eq, "equality");
	add_part(&why, &sep, a->join, "join key");
	add_part(&why, &sep, a->range, "range");
	add_part(&why, &sep, a->sort, "ORDER BY under LIMIT");
	add_part(&why, &sep, a->expr, "expression");
	appendStringInfo(&why, "); plan cost %.1f -> %.1f per call", before, after);
	if (a->n_custom > 0)
		appendStringInfo(&why, " (%s plan with the sampled values; generic plan %.1f -> %.1f)",
						 a->n_generic > 0 ? "custom or generic" : "custom", g_before, g_after);
	if (c->pred)
		appendStringInfo(&why, "; partial index: its predicate matches about %.2f%% of the rows%s",
						 c->pred_frac * 100.0,
						 c->pred_share >= 0 ?
						 psprintf(", and the value came in %.0f%% or more of %lld sampled executions",
								  c->pred_share * 100.0, (long long) c->pred_captures) : "");
	appendStringInfo(&why, "; writes: %.0f inserts, %.0f updates (%.0f HOT), %.0f deletes recorded",
					 ins, upd, hot, del);
	if (hot_stmts > 0)
		appendStringInfo(&why, "; would stop HOT updates: %d captured UPDATE statement%s (%lld calls) set an indexed column",
						 hot_stmts, hot_stmts == 1 ? "" : "s", (long long) hot_calls);
	emit_row(rsinfo, "candidate", c->relid,
			 makeArrayResult(astate, CurrentMemoryContext), def.data, queryids,
			 a->calls, before, after, size, overhead, why.data, true, judged);
}

/* Order advice by benefit: calls times the cost saved per call. */
static int
advice_cmp(const ListCell *a, const ListCell *b)
{
	Advice	   *x = lfirst(a);
	Advice	   *y = lfirst(b);
	double		bx = x->w_before - x->w_after;
	double		by = y->w_before - y->w_after;

	if (bx != by)
		return bx > by ? -1 : 1;
	return strcmp(x->cand->key, y->cand->key);
}

/* Order not-indexable predicates by calls, then text. */
static int
unindexable_cmp(const ListCell *a, const ListCell *b)
{
	Unindexable *x = lfirst(a);
	Unindexable *y = lfirst(b);

	if (x->calls != y->calls)
		return x->calls > y->calls ? -1 : 1;
	return strcmp(x->predicate, y->predicate);
}

/*
 * latdiag_index_advice(): the kept candidates ('candidate'), the predicates
 * no index serves as written ('not_indexable') and one 'summary' row.
 */
Datum
latdiag_index_advice(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Advisor		adv;
	ListCell   *lc;
	MemoryContext old;

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);

	memset(&adv, 0, sizeof(adv));
	adv.reader = GetUserId();
	adv.cxt = AllocSetContextCreate(CurrentMemoryContext, "latdiag advisor",
									ALLOCSET_DEFAULT_SIZES);
	adv.tmpcxt = AllocSetContextCreate(adv.cxt, "latdiag advisor statement",
									   ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(adv.cxt);
	(void) hypo_oid();

	collect_statements(&adv);
	list_sort(adv.stmts, stmt_cmp);
	foreach(lc, adv.stmts)
	{
		Stmt	   *st = (Stmt *) lfirst(lc);

		bool		ok = false;

		if (!st->truncated && st->vals)
		{
			/* with the actual values; else as before, types inferred */
			st->use_sample = true;
			ok = guarded(&adv, st, analyse_fn, NULL);
			if (!ok)
			{
				st->use_sample = false;
				st->bound = NULL;
				st->query = NULL;
				st->uses = st->evals = st->verdicts = NIL;
				st->unindexable = st->updates = NIL;
			}
		}
		if (!ok && !st->truncated)
			ok = guarded(&adv, st, analyse_fn, NULL);
		if (!ok)
		{
			st->failed = true;
			adv.n_skipped++;
		}
	}
	merge(&adv);

	list_sort(adv.advice, advice_cmp);
	foreach(lc, adv.advice)
	{
		Advice	   *a = (Advice *) lfirst(lc);

		if (!a->dropped)
			emit_advice(&adv, rsinfo, a);
	}
	list_sort(adv.unindexable, unindexable_cmp);
	foreach(lc, adv.unindexable)
	{
		Unindexable *u = (Unindexable *) lfirst(lc);

		emit_row(rsinfo, "not_indexable", u->relid, (Datum) 0, u->index_def,
				 u->queryids, u->calls, 0, 0, 0, 0,
				 u->visible ? psprintf("%s: %s", u->predicate, u->why) :
				 "<insufficient privilege>",
				 false, NULL);
	}
	emit_row(rsinfo, "summary", InvalidOid, (Datum) 0, NULL, NIL,
			 adv.n_considered, 0, 0, 0, 0,
			 psprintf("%d statements considered, %d analysed, %d skipped (text does not parse or plan), "
					  "%d not visible to this role, %d planned, %d plans made",
					  adv.n_considered, list_length(adv.stmts) - adv.n_skipped,
					  adv.n_skipped, adv.n_not_permitted, adv.n_planned, adv.n_plans),
			 false, NULL);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(adv.cxt);
	return (Datum) 0;
}
