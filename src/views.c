/*
 * views.c: the SQL-callable functions behind the latdiag_* views.
 *
 * Privacy follows pg_stat_statements: superusers and members of
 * pg_read_all_stats see every row in full; others see the counters of every
 * row, but the text and queryid of their own statements only.
 */
#include "postgres.h"

#include <ctype.h>
#include <float.h>
#include <math.h>

#include "catalog/pg_authid.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/hsearch.h"
#include "utils/backend_status.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "errors.h"
#include "guc.h"
#include "histogram.h"
#include "nplusone.h"
#include "pending.h"
#include "locks.h"
#include "storage/lock.h"
#include "plans.h"
#include "scans.h"
#include "samples.h"
#include "slowexec.h"
#include "snapshots.h"
#include "sources.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "store.h"
#include "table.h"
#include "windows.h"
#include "datatype/timestamp.h"
#include "utils/date.h"

PG_FUNCTION_INFO_V1(latdiag_queries);
PG_FUNCTION_INFO_V1(latdiag_latency_histogram);
PG_FUNCTION_INFO_V1(latdiag_info);
PG_FUNCTION_INFO_V1(latdiag_reset_all);
PG_FUNCTION_INFO_V1(latdiag_reset);
PG_FUNCTION_INFO_V1(latdiag_reset_minmax);
PG_FUNCTION_INFO_V1(latdiag_plans);
PG_FUNCTION_INFO_V1(latdiag_plan_changes);
PG_FUNCTION_INFO_V1(latdiag_explain_snapshots);
PG_FUNCTION_INFO_V1(latdiag_explain);
PG_FUNCTION_INFO_V1(latdiag_seq_scans);
PG_FUNCTION_INFO_V1(latdiag_n_plus_one);
PG_FUNCTION_INFO_V1(latdiag_n_plus_one_all);
PG_FUNCTION_INFO_V1(latdiag_lock_waits);
PG_FUNCTION_INFO_V1(latdiag_lock_waits_reset);
PG_FUNCTION_INFO_V1(latdiag_backend_plans);
PG_FUNCTION_INFO_V1(latdiag_windows);
PG_FUNCTION_INFO_V1(latdiag_query_windows);
PG_FUNCTION_INFO_V1(latdiag_regressions);
PG_FUNCTION_INFO_V1(latdiag_regressions_baseline);
PG_FUNCTION_INFO_V1(latdiag_compare);
PG_FUNCTION_INFO_V1(latdiag_baseline_save);
PG_FUNCTION_INFO_V1(latdiag_baseline_drop);
PG_FUNCTION_INFO_V1(latdiag_baselines);
PG_FUNCTION_INFO_V1(latdiag_errors);
PG_FUNCTION_INFO_V1(latdiag_slow_executions);
PG_FUNCTION_INFO_V1(latdiag_query_sources);
PG_FUNCTION_INFO_V1(latdiag_query_shapes);

/* What the views know about one (userid, dbid, queryid). */
typedef struct QueryInfo
{
	TableKeyPrefix key;
	int64		plan_count;
	char	   *text;			/* normalized text, NULL if not in the store */
} QueryInfo;

#define QUERIES_COLS 78		/* 41 in version 1.0 of the SQL definitions, 42 in 1.1, 44 in 1.3 */

static Datum hex_datum(const uint8 *b, int n);

/* May the current user see every user's texts? */
static bool
reader_sees_all(void)
{
	return superuser() || has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
}

/* queryid, or NULL in a row the reader may not identify. */
static inline void
put_queryid(Datum *values, bool *nulls, int *i, uint64 queryid, bool visible)
{
	if (visible)
		values[*i] = Int64GetDatumFast((int64) queryid);
	else
		nulls[*i] = true;
	(*i)++;
}

/* A counter the server has from some release on (compat.h), else NULL. */
static inline void
put_int_if(Datum *values, bool *nulls, int *i, int64 v, bool server_has_it)
{
	if (server_has_it)
		values[*i] = Int64GetDatumFast(v);
	else
		nulls[*i] = true;
	(*i)++;
}

/* The same for a time in milliseconds. */
static inline void
put_float_if(Datum *values, bool *nulls, int *i, double v, bool server_has_it)
{
	if (server_has_it)
		values[*i] = Float8GetDatumFast(v);
	else
		nulls[*i] = true;
	(*i)++;
}

/*
 * A text that can show what a statement contains: "<insufficient privilege>"
 * in a row the reader may not see, else the text, or NULL if there is none.
 * len < 0: the text is NUL-terminated.
 */
static inline void
put_private_text(Datum *values, bool *nulls, int *i, const char *text, int len,
				 bool visible)
{
	if (!visible)
		values[*i] = CStringGetTextDatum("<insufficient privilege>");
	else if (text == NULL)
		nulls[*i] = true;
	else if (len < 0)
		values[*i] = CStringGetTextDatum(text);
	else
		values[*i] = PointerGetDatum(cstring_to_text_with_len(text, len));
	(*i)++;
}

/*
 * relid as a schema-qualified name, or NULL when it cannot be named here: the
 * relation was dropped, or it belongs to another database (its OID means
 * nothing in this one's catalog).
 */
static void
put_relname(Datum *values, bool *nulls, int *i, Oid relid, Oid dbid)
{
	char	   *relname = dbid == MyDatabaseId ? get_rel_name(relid) : NULL;

	if (relname)
		values[*i] = CStringGetTextDatum(
			quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									   relname));
	else
		nulls[*i] = true;
	(*i)++;
}

/* Sample standard deviation from Welford's sum of squares. */
static double
stddev(double m2, int64 n)
{
	return n > 1 ? sqrt(m2 / n) : 0.0;
}

static Datum
pct_datum(double v, bool *isnull)
{
	*isnull = (v < 0);
	return Float8GetDatumFast(v < 0 ? 0.0 : v);
}

/* The QueryInfo of (userid, dbid, queryid), created empty if missing. */
static QueryInfo *
query_info_enter(HTAB *map, Oid userid, Oid dbid, uint64 queryid)
{
	TableKeyPrefix k;
	QueryInfo  *qi;
	bool		found;

	memset(&k, 0, sizeof(k));
	k.userid = userid;
	k.dbid = dbid;
	k.queryid = queryid;
	qi = hash_search(map, &k, HASH_ENTER, &found);
	if (!found)
	{
		qi->plan_count = 0;
		qi->text = NULL;
	}
	return qi;
}

/*
 * A hash of (userid, dbid, queryid) -> plan count and normalized text, for
 * the views that join the stores.
 */
static HTAB *
query_info_map(bool with_plans, bool with_texts)
{
	HASHCTL		ctl;
	HTAB	   *map;
	int			n;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(TableKeyPrefix);
	ctl.entrysize = sizeof(QueryInfo);
	ctl.hcxt = CurrentMemoryContext;
	map = hash_create("latdiag query info", 256, &ctl,
					  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	if (with_plans)
	{
		PlanRow    *plans = plans_read(&n, false);

		for (int i = 0; i < n; i++)
			query_info_enter(map, plans[i].key.userid, plans[i].key.dbid,
							 plans[i].key.queryid)->plan_count++;
		pfree(plans);
	}
	if (with_texts)
	{
		StoreRow   *rows = store_read(&n, true);

		for (int i = 0; i < n; i++)
		{
			QueryInfo  *qi = query_info_enter(map, rows[i].key.userid,
											  rows[i].key.dbid,
											  rows[i].key.queryid);

			if (qi->text == NULL)
				qi->text = rows[i].text;	/* the rows stay allocated */
		}
	}
	return map;
}

/* The QueryInfo of (userid, dbid, queryid), or NULL. */
static QueryInfo *
query_info(HTAB *map, Oid userid, Oid dbid, uint64 queryid)
{
	TableKeyPrefix k;

	memset(&k, 0, sizeof(k));
	k.userid = userid;
	k.dbid = dbid;
	k.queryid = queryid;
	return hash_search(map, &k, HASH_FIND, NULL);
}

/* SRF behind the latdiag_queries view. */
Datum
latdiag_queries(PG_FUNCTION_ARGS)
{
	bool		showtext = PG_GETARG_BOOL(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			reader = GetUserId();
	bool		sees_all;
	StoreRow   *rows;
	int			nrows;
	HTAB	   *plan_counts;
	HTAB	   *lock_totals = NULL;

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);
	sees_all = reader_sees_all();
	plan_counts = query_info_map(true, false);
	if (rsinfo->setDesc->natts > 42)
		lock_totals = locks_query_totals();
	rows = store_read(&nrows, showtext);

	for (int r = 0; r < nrows; r++)
	{
		StoreRow   *row = &rows[r];
		StoreCounters *c = &row->c;
		Datum		values[QUERIES_COLS];
		bool		nulls[QUERIES_COLS];
		bool		visible = sees_all || row->key.userid == reader;
		int			i = 0;
		char		buf[32];

		memset(nulls, 0, sizeof(nulls));
		values[i++] = ObjectIdGetDatum(row->key.userid);
		values[i++] = ObjectIdGetDatum(row->key.dbid);
		values[i++] = BoolGetDatum(row->key.toplevel);
		put_queryid(values, nulls, &i, row->key.queryid, visible);
		if (!showtext)
			nulls[i++] = true;
		else
			put_private_text(values, nulls, &i, row->text, row->text_len, visible);
		values[i++] = BoolGetDatum(row->truncated);
		values[i++] = Int64GetDatumFast(c->calls);
		values[i++] = Int64GetDatumFast(c->rows);
		values[i++] = Float8GetDatumFast(c->total_exec);
		values[i++] = Float8GetDatumFast(c->min_exec);
		values[i++] = Float8GetDatumFast(c->max_exec);
		values[i++] = Float8GetDatumFast(c->mean_exec);
		values[i++] = Float8GetDatumFast(stddev(c->m2_exec, c->calls));
		for (int k = 0; k < 5; k++)
		{
			values[i] = pct_datum(row->pct[k], &nulls[i]);
			i++;
		}
		values[i++] = Int64GetDatumFast(c->plans);
		values[i++] = Float8GetDatumFast(c->total_plan);
		values[i++] = Float8GetDatumFast(c->min_plan);
		values[i++] = Float8GetDatumFast(c->max_plan);
		values[i++] = Float8GetDatumFast(c->mean_plan);
		values[i++] = Float8GetDatumFast(stddev(c->m2_plan, c->plans));
		values[i++] = Int64GetDatumFast(c->shared_blks_hit);
		values[i++] = Int64GetDatumFast(c->shared_blks_read);
		values[i++] = Int64GetDatumFast(c->shared_blks_dirtied);
		values[i++] = Int64GetDatumFast(c->shared_blks_written);
		values[i++] = Int64GetDatumFast(c->local_blks_hit);
		values[i++] = Int64GetDatumFast(c->local_blks_read);
		values[i++] = Int64GetDatumFast(c->local_blks_dirtied);
		values[i++] = Int64GetDatumFast(c->local_blks_written);
		values[i++] = Int64GetDatumFast(c->temp_blks_read);
		values[i++] = Int64GetDatumFast(c->temp_blks_written);
		values[i++] = Float8GetDatumFast(c->blk_read_time);
		values[i++] = Float8GetDatumFast(c->blk_write_time);
		values[i++] = Int64GetDatumFast(c->wal_records);
		values[i++] = Int64GetDatumFast(c->wal_fpi);
		snprintf(buf, sizeof(buf), UINT64_FORMAT, c->wal_bytes);
		values[i++] = DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
										  ObjectIdGetDatum(0), Int32GetDatum(-1));
		values[i++] = TimestampTzGetDatum(c->first_seen);
		values[i++] = TimestampTzGetDatum(c->last_seen);
		{
			QueryInfo  *qi = query_info(plan_counts, row->key.userid,
										row->key.dbid, row->key.queryid);

			values[i++] = Int64GetDatumFast(qi ? qi->plan_count : (int64) 0);
		}
		{
			LockQueryTotals *lt = NULL;

			if (lock_totals)
			{
				TableKeyPrefix k;

				memset(&k, 0, sizeof(k));
				k.userid = row->key.userid;
				k.dbid = row->key.dbid;
				k.queryid = row->key.queryid;
				lt = hash_search(lock_totals, &k, HASH_FIND, NULL);
			}
			values[i++] = Int64GetDatumFast(lt ? lt->waits : (int64) 0);
			values[i++] = Float8GetDatumFast(lt ? lt->total_ms : 0.0);
		}
		/* 1.4: pg_stat_statements' counters; NULL where the server has none */
		values[i++] = Float8GetDatumFast(c->temp_blk_read_time);
		values[i++] = Float8GetDatumFast(c->temp_blk_write_time);
		put_float_if(values, nulls, &i, c->shared_blk_read_time, COMPAT_HAS_SPLIT_BLK_TIME);
		put_float_if(values, nulls, &i, c->shared_blk_write_time, COMPAT_HAS_SPLIT_BLK_TIME);
		put_float_if(values, nulls, &i, c->local_blk_read_time, COMPAT_HAS_SPLIT_BLK_TIME);
		put_float_if(values, nulls, &i, c->local_blk_write_time, COMPAT_HAS_SPLIT_BLK_TIME);
		values[i++] = Int64GetDatumFast(c->jit_functions);
		values[i++] = Float8GetDatumFast(c->jit_generation_time);
		values[i++] = Int64GetDatumFast(c->jit_inlining_count);
		values[i++] = Float8GetDatumFast(c->jit_inlining_time);
		values[i++] = Int64GetDatumFast(c->jit_optimization_count);
		values[i++] = Float8GetDatumFast(c->jit_optimization_time);
		values[i++] = Int64GetDatumFast(c->jit_emission_count);
		values[i++] = Float8GetDatumFast(c->jit_emission_time);
		put_int_if(values, nulls, &i, c->jit_deform_count, COMPAT_HAS_JIT_DEFORM);
		put_float_if(values, nulls, &i, c->jit_deform_time, COMPAT_HAS_JIT_DEFORM);
		values[i++] = TimestampTzGetDatum(c->first_seen);
		values[i++] = TimestampTzGetDatum(c->minmax_stats_since);
		put_int_if(values, nulls, &i, c->parallel_workers_to_launch, COMPAT_HAS_PARALLEL_WORKERS);
		put_int_if(values, nulls, &i, c->parallel_workers_launched, COMPAT_HAS_PARALLEL_WORKERS);
		put_int_if(values, nulls, &i, c->wal_buffers_full, COMPAT_HAS_PARALLEL_WORKERS);
		put_int_if(values, nulls, &i, c->generic_plan_calls, COMPAT_HAS_PLAN_ORIGIN);
		put_int_if(values, nulls, &i, c->custom_plan_calls, COMPAT_HAS_PLAN_ORIGIN);
		/* 1.4: executions that ended in ERROR */
		values[i++] = Int64GetDatumFast(c->errors);
		values[i++] = Float8GetDatumFast(c->error_time);
		values[i++] = Int64GetDatumFast(c->timeouts);
		values[i++] = Int64GetDatumFast(c->deadlocks);
		values[i++] = Int64GetDatumFast(c->serialization_failures);
		values[i++] = Int64GetDatumFast(c->lock_timeouts);
		for (int k = 0; k < 5; k++)
		{
			values[i] = pct_datum(row->pct_all[k], &nulls[i]);
			i++;
		}
		Assert(i == QUERIES_COLS);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(rows);
	return (Datum) 0;
}

/* SRF: the non-empty latency buckets of one queryid. */
Datum
latdiag_latency_histogram(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LatdiagHistogram hist;
	uint64		queryid;

	store_require_ready();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("latdiag_latency_histogram: queryid must not be NULL"),
				 errhint("Pass a queryid from the latdiag_queries view.")));
	queryid = (uint64) PG_GETARG_INT64(0);

	InitMaterializedSRF(fcinfo, 0);
	if (!store_histogram(queryid, reader_sees_all(), GetUserId(), &hist))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("latdiag_latency_histogram: no statistics for queryid %lld",
						(long long) queryid),
				 errhint("Pass a queryid that the latdiag_queries view shows you.")));

	for (int b = 0; b < HIST_BUCKETS; b++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		if (hist.buckets[b] == 0)
			continue;
		values[0] = Float8GetDatumFast(hist_bucket_lower(b));
		values[1] = Float8GetDatumFast(hist_bucket_upper(b));
		values[2] = Int64GetDatumFast((int64) hist.buckets[b]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* The row behind the latdiag_info view (7 columns in 1.0, 15 in 1.1, 18 in 1.2, 26 in 1.3, 32 in 1.4, 38 in 1.5). */
Datum
latdiag_info(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[38];
	bool		nulls[38] = {false};
	int64		entries,
				evictions,
				truncated,
				nplans,
				plan_evictions,
				nchanges,
				change_evictions,
				nsnapshots,
				snapshot_evictions,
				nscans,
				scan_evictions,
				nnp = 0,
				np_evictions = 0,
				np_episodes = 0,
				nlockwaits = 0,
				lockwait_evictions = 0,
				lockwaits_dropped = 0,
				nwindows = 0,
				nwindow_rows = 0,
				nbaselines = 0,
				nsources = 0,
				source_evictions = 0,
				nerrors = 0,
				error_evictions = 0;
	TimestampTz stats_reset;
	Size		shmem;

	store_require_ready();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	store_info(&entries, &evictions, &truncated, &stats_reset, &shmem);
	plans_info(&nplans, &plan_evictions, &nchanges, &change_evictions);
	snapshots_info(&nsnapshots, &snapshot_evictions);
	scans_info(&nscans, &scan_evictions);
	if (tupdesc->natts > 7)
		shmem += plans_shmem_size() + snapshots_shmem_size();
	if (tupdesc->natts > 15)
		shmem += scans_shmem_size();
	if (tupdesc->natts > 18)
	{
		shmem += nplusone_shmem_size();
		nplusone_info(&nnp, &np_evictions, &np_episodes);
	}
	if (tupdesc->natts > 22)
	{
		shmem += locks_shmem_size() + errors_shmem_size() + slowexec_shmem_size();
		locks_info(&nlockwaits, &lockwait_evictions, &lockwaits_dropped);
	}
	if (tupdesc->natts > 26)
	{
		shmem += windows_shmem_size() + samples_shmem_size();
		shmem += pending_shmem_size();
		windows_info(&nwindows, &nwindow_rows, &nbaselines);
	}
	if (tupdesc->natts > 32)
	{
		shmem += sources_shmem_size();
		sources_info(&nsources, &source_evictions);
		errors_info(&nerrors, &error_evictions);
	}
	values[0] = Int64GetDatum(entries);
	values[1] = Int64GetDatum(latdiag_max_queries);
	values[2] = Int64GetDatum(evictions);
	values[3] = Int64GetDatum(truncated);
	values[4] = Int32GetDatum(latdiag_max_query_length);
	values[5] = Int64GetDatum((int64) shmem);
	values[6] = TimestampTzGetDatum(stats_reset);
	values[7] = Int64GetDatum(nplans);
	values[8] = Int64GetDatum(latdiag_max_plans);
	values[9] = Int64GetDatum(plan_evictions);
	values[10] = Int64GetDatum(nchanges);
	values[11] = Int64GetDatum(change_evictions);
	values[12] = Int64GetDatum(nsnapshots);
	values[13] = Int64GetDatum(latdiag_max_snapshots);
	values[14] = Int64GetDatum(snapshot_evictions);
	values[15] = Int64GetDatum(nscans);
	values[16] = Int64GetDatum(latdiag_max_seq_scans);
	values[17] = Int64GetDatum(scan_evictions);
	values[18] = Int64GetDatum(nnp);
	values[19] = Int64GetDatum(latdiag_max_n_plus_one);
	values[20] = Int64GetDatum(np_evictions);
	values[21] = Int64GetDatum(np_episodes);
	values[22] = Int64GetDatum(nlockwaits);
	values[23] = Int64GetDatum(latdiag_max_lock_waits);
	values[24] = Int64GetDatum(lockwait_evictions);
	values[25] = Int64GetDatum(lockwaits_dropped);
	values[26] = Int64GetDatum(nwindows);
	values[27] = Int64GetDatum(latdiag_max_windows);
	values[28] = Int64GetDatum(nwindow_rows);
	values[29] = Int64GetDatum((int64) latdiag_max_windows * (latdiag_window_max_queries + 1));
	values[30] = Int64GetDatum(nbaselines);
	values[31] = Int64GetDatum(latdiag_max_baselines);
	if (tupdesc->natts > 32)
	{
		values[32] = Int64GetDatum(nsources);
		values[33] = Int64GetDatum(latdiag_max_sources);
		values[34] = Int64GetDatum(source_evictions);
		values[35] = Int64GetDatum(nerrors);
		values[36] = Int64GetDatum(latdiag_max_errors);
		values[37] = Int64GetDatum(error_evictions);
	}

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* Remove the matching entries of every store (0 = any; all 0: everything). */
static void
reset_every_store(Oid userid, Oid dbid, uint64 queryid)
{
	store_reset(userid, dbid, queryid);
	plans_reset(userid, dbid, queryid);
	snapshots_reset(userid, dbid, queryid);
	scans_reset(userid, dbid, queryid);
	nplusone_reset(userid, dbid, queryid);
	locks_reset(userid, dbid, queryid);
	windows_reset(userid, dbid, queryid);
	errors_reset(userid, dbid, queryid);
	slowexec_reset(userid, dbid, queryid);
	sources_reset(userid, dbid, queryid);
	samples_reset(userid, dbid, queryid);
}

/* The (userid, dbid, queryid) arguments of a reset function must be given. */
static void
require_reset_args(FunctionCallInfo fcinfo, const char *fname, const char *hint)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s: userid, dbid and queryid must not be NULL", fname),
				 errhint("%s", hint)));
}

/* latdiag_reset(): forget everything. */
Datum
latdiag_reset_all(PG_FUNCTION_ARGS)
{
	store_require_ready();
	reset_every_store(InvalidOid, InvalidOid, 0);
	PG_RETURN_VOID();
}

/* latdiag_reset(userid, dbid, queryid): forget matching entries; 0 = any. */
Datum
latdiag_reset(PG_FUNCTION_ARGS)
{
	store_require_ready();
	require_reset_args(fcinfo, "latdiag_reset",
					   "Pass 0 to match any value, or call latdiag_reset() to reset everything.");
	reset_every_store(PG_GETARG_OID(0), PG_GETARG_OID(1), (uint64) PG_GETARG_INT64(2));
	PG_RETURN_VOID();
}

/*
 * latdiag_reset(userid, dbid, queryid, minmax_only): as the three-argument
 * form, or with minmax_only only forget the matching statements' minimum and
 * maximum times (minmax_stats_since tells since when they count), as
 * pg_stat_statements_reset(..., minmax_only) does.
 */
Datum
latdiag_reset_minmax(PG_FUNCTION_ARGS)
{
	store_require_ready();
	require_reset_args(fcinfo, "latdiag_reset",
					   "Pass 0 to match any value, or call latdiag_reset() to reset everything.");
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("latdiag_reset: minmax_only must not be NULL")));
	if (PG_GETARG_BOOL(3))
		store_reset_minmax(PG_GETARG_OID(0), PG_GETARG_OID(1), (uint64) PG_GETARG_INT64(2));
	else
		reset_every_store(PG_GETARG_OID(0), PG_GETARG_OID(1), (uint64) PG_GETARG_INT64(2));
	PG_RETURN_VOID();
}

/* SRF behind the latdiag_plans view. */
Datum
latdiag_plans(PG_FUNCTION_ARGS)
{
	bool		showtext = PG_GETARG_BOOL(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			reader = GetUserId();
	bool		sees_all;
	PlanRow    *rows;
	int			nrows;

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);
	sees_all = reader_sees_all();
	rows = plans_read(&nrows, showtext);

	for (int r = 0; r < nrows; r++)
	{
		PlanRow    *p = &rows[r];
		Datum		values[16];
		bool		nulls[16];
		bool		visible = sees_all || p->key.userid == reader;
		int			i = 0;

		memset(nulls, 0, sizeof(nulls));
		values[i++] = ObjectIdGetDatum(p->key.userid);
		values[i++] = ObjectIdGetDatum(p->key.dbid);
		put_queryid(values, nulls, &i, p->key.queryid, visible);
		values[i++] = Int64GetDatumFast((int64) p->key.planid);
		values[i++] = Int64GetDatumFast(p->calls);
		values[i++] = Float8GetDatumFast(p->total_exec);
		values[i++] = Float8GetDatumFast(p->min_exec);
		values[i++] = Float8GetDatumFast(p->max_exec);
		values[i++] = Float8GetDatumFast(p->mean_exec);
		for (int k = 0; k < 3; k++)
		{
			values[i] = pct_datum(p->pct[k], &nulls[i]);
			i++;
		}
		values[i++] = TimestampTzGetDatum(p->first_seen);
		values[i++] = TimestampTzGetDatum(p->last_seen);
		if (!showtext)
			nulls[i++] = true;
		else
			put_private_text(values, nulls, &i, p->text, p->text_len, visible);
		values[i++] = BoolGetDatum(p->truncated);
		Assert(i == 16);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* The PlanRow of (userid, dbid, queryid, planid) in rows, or NULL. */
static PlanRow *
find_plan(PlanRow *rows, int n, Oid userid, Oid dbid, uint64 queryid, uint64 planid)
{
	for (int i = 0; i < n; i++)
		if (rows[i].key.planid == planid && rows[i].key.queryid == queryid &&
			rows[i].key.userid == userid && rows[i].key.dbid == dbid)
			return &rows[i];
	return NULL;
}

/* SRF behind the latdiag_plan_changes view: every recorded switch. */
Datum
latdiag_plan_changes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			reader = GetUserId();
	bool		sees_all;
	PlanChangeRow *changes;
	PlanRow    *plans;
	HTAB	   *texts;
	int			nchanges,
				nplans;

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);
	sees_all = reader_sees_all();
	changes = plans_read_changes(&nchanges);
	plans = plans_read(&nplans, false);
	texts = query_info_map(false, true);

	for (int r = 0; r < nchanges; r++)
	{
		PlanChangeRow *c = &changes[r];
		PlanRow    *oldp = find_plan(plans, nplans, c->userid, c->dbid, c->queryid, c->old_planid);
		PlanRow    *newp = find_plan(plans, nplans, c->userid, c->dbid, c->queryid, c->new_planid);
		QueryInfo  *qi = query_info(texts, c->userid, c->dbid, c->queryid);
		bool		visible = sees_all || c->userid == reader;
		Datum		values[15];
		bool		nulls[15];
		int			i = 0;

		memset(nulls, 0, sizeof(nulls));
		values[i++] = ObjectIdGetDatum(c->userid);
		values[i++] = ObjectIdGetDatum(c->dbid);
		put_queryid(values, nulls, &i, c->queryid, visible);
		put_private_text(values, nulls, &i, qi ? qi->text : NULL, -1, visible);
		values[i++] = Int64GetDatumFast((int64) c->old_planid);
		values[i++] = Int64GetDatumFast((int64) c->new_planid);
		if (oldp && oldp->calls > 0)
			values[i++] = Float8GetDatumFast(oldp->mean_exec);
		else
			nulls[i++] = true;
		if (newp && newp->calls > 0)
			values[i++] = Float8GetDatumFast(newp->mean_exec);
		else
			nulls[i++] = true;
		if (oldp)
			values[i] = pct_datum(oldp->pct[1], &nulls[i]);
		else
			nulls[i] = true;
		i++;
		if (newp)
			values[i] = pct_datum(newp->pct[1], &nulls[i]);
		else
			nulls[i] = true;
		i++;
		values[i++] = TimestampTzGetDatum(c->changed_at);
		values[i++] = Int64GetDatumFast(c->changes);
		values[i++] = Int64GetDatumFast(oldp ? oldp->calls : (int64) 0);
		values[i++] = Int64GetDatumFast(newp ? newp->calls : (int64) 0);
		/* slower: the new plan's mean is above the old one's */
		if (oldp && newp && oldp->calls > 0 && newp->calls > 0)
			values[i++] = BoolGetDatum(newp->mean_exec > oldp->mean_exec);
		else
			nulls[i++] = true;
		Assert(i == 15);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* SRF behind the latdiag_explain_snapshots view. */
Datum
latdiag_explain_snapshots(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			reader = GetUserId();
	bool		sees_all;
	SnapshotRow *rows;
	HTAB	   *texts;
	int			nrows;

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);
	sees_all = reader_sees_all();
	rows = snapshots_read(&nrows);
	texts = sees_all ? NULL : query_info_map(false, true);

	for (int r = 0; r < nrows; r++)
	{
		SnapshotRow *sn = &rows[r];
		bool		own = sn->userid == reader;
		Datum		values[13];
		bool		nulls[13];
		int			i = 0;

		memset(nulls, 0, sizeof(nulls));
		values[i++] = Int64GetDatumFast(sn->snapshot_id);
		values[i++] = TimestampTzGetDatum(sn->captured_at);
		values[i++] = ObjectIdGetDatum(sn->userid);
		values[i++] = ObjectIdGetDatum(sn->dbid);
		put_queryid(values, nulls, &i, sn->queryid, sees_all || own);
		values[i++] = Int64GetDatumFast((int64) sn->planid);
		values[i++] = Float8GetDatumFast(sn->exec_ms);

		/*
		 * The text as executed carries constants: privileged readers only.
		 * Others see the normalized text of their own statements.
		 */
		if (sees_all)
			values[i++] = CStringGetTextDatum(sn->query);
		else
		{
			QueryInfo  *qi = own ? query_info(texts, sn->userid, sn->dbid, sn->queryid) : NULL;

			put_private_text(values, nulls, &i, qi ? qi->text : NULL, -1, own);
		}
		put_private_text(values, nulls, &i, sn->plan, -1, sees_all || own);
		values[i++] = BoolGetDatum(sn->plan_truncated);
		/* 1.4: the W3C trace context of the execution */
		if (sn->trace.valid)
		{
			values[i++] = hex_datum(sn->trace.trace_id, 16);
			values[i++] = hex_datum(sn->trace.parent_id, 8);
		}
		else
		{
			nulls[i++] = true;
			nulls[i++] = true;
		}
		/* 1.5: why it was taken (the 1.4 definition has 12 columns) */
		if (rsinfo->setDesc->natts > 12)
			values[i++] = CStringGetTextDatum(snapshots_reason_name(sn->reason));
		Assert(i == rsinfo->setDesc->natts);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* latdiag_explain(queryid): the plan of the slowest snapshot you may see. */
Datum
latdiag_explain(PG_FUNCTION_ARGS)
{
	Oid			reader = GetUserId();
	bool		sees_all;
	SnapshotRow *rows;
	SnapshotRow *worst = NULL;
	uint64		queryid;
	int			nrows;

	store_require_ready();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("latdiag_explain: queryid must not be NULL"),
				 errhint("Pass a queryid from the latdiag_explain_snapshots view.")));
	queryid = (uint64) PG_GETARG_INT64(0);
	sees_all = reader_sees_all();
	rows = snapshots_read(&nrows);
	for (int r = 0; r < nrows; r++)
	{
		if (rows[r].queryid != queryid || (!sees_all && rows[r].userid != reader))
			continue;
		if (worst == NULL || rows[r].exec_ms > worst->exec_ms)
			worst = &rows[r];
	}
	if (worst == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("latdiag_explain: no snapshot for queryid %lld",
						(long long) queryid),
				 errhint("Snapshots are taken of executions slower than latdiag.snapshot_min_duration; see latdiag_explain_snapshots.")));
	PG_RETURN_TEXT_P(cstring_to_text(worst->plan));
}

/* text[] of the SCAN_COLUMN_SEP-separated names in cols. */
static Datum
columns_array(const char *cols)
{
	ArrayBuildState *astate = NULL;
	const char *p = cols;

	while (*p)
	{
		const char *e = strchr(p, SCAN_COLUMN_SEP);
		int			len = e ? (int) (e - p) : (int) strlen(p);

		astate = accumArrayResult(astate,
								  PointerGetDatum(cstring_to_text_with_len(p, len)),
								  false, TEXTOID, CurrentMemoryContext);
		if (e == NULL)
			break;
		p = e + 1;
	}
	if (astate == NULL)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	return makeArrayResult(astate, CurrentMemoryContext);
}

/* SRF behind the latdiag_seq_scans view: every recorded scan. */
Datum
latdiag_seq_scans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			reader = GetUserId();
	bool		sees_all;
	ScanRow    *rows;
	HTAB	   *texts;
	int			nrows;

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);
	sees_all = reader_sees_all();
	rows = scans_read(&nrows);
	texts = query_info_map(false, true);

	for (int r = 0; r < nrows; r++)
	{
		ScanRow    *sc = &rows[r];
		QueryInfo  *qi = query_info(texts, sc->userid, sc->dbid, sc->queryid);
		bool		visible = sees_all || sc->userid == reader;
		double		selectivity = sc->rows_scanned > 0 ?
			sc->rows_returned / sc->rows_scanned : 1.0;
		Datum		values[19];
		bool		nulls[19];
		int			i = 0;

		memset(nulls, 0, sizeof(nulls));
		values[i++] = ObjectIdGetDatum(sc->userid);
		values[i++] = ObjectIdGetDatum(sc->dbid);
		put_queryid(values, nulls, &i, sc->queryid, visible);
		put_private_text(values, nulls, &i, qi ? qi->text : NULL, -1, visible);
		values[i++] = ObjectIdGetDatum(sc->relid);
		put_relname(values, nulls, &i, sc->relid, sc->dbid);
		values[i++] = Float8GetDatumFast(sc->table_rows);
		values[i++] = Int64GetDatumFast(sc->calls);
		values[i++] = Float8GetDatumFast(sc->rows_scanned);
		values[i++] = Float8GetDatumFast(sc->rows_returned);
		values[i++] = Float8GetDatumFast(selectivity);
		values[i++] = BoolGetDatum(sc->measured);
		/* the filter shows constants: like plans, to their owner */
		put_private_text(values, nulls, &i, sc->filter, -1, visible);
		values[i++] = columns_array(sc->columns);
		values[i++] = BoolGetDatum(sc->inner_of_nested_loop);
		values[i++] = Float8GetDatumFast(sc->total_exec);
		values[i++] = TimestampTzGetDatum(sc->last_seen);
		values[i++] = BoolGetDatum(selectivity <= latdiag_seq_scan_max_selectivity);
		values[i++] = Float8GetDatumFast(sc->rows_scanned * sc->calls);
		Assert(i == 19);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * The column a child statement looks its rows up by: the identifier before
 * the first "= $n" of its normalized text, or NULL.
 */
static char *
lookup_column(const char *text)
{
	const char *p = text;

	while (text && (p = strchr(p, '$')) != NULL)
	{
		const char *q = p - 1;
		const char *end;

		p++;
		while (q > text && *q == ' ')
			q--;
		if (q <= text || *q != '=' || q[-1] == '<' || q[-1] == '>' || q[-1] == '!')
			continue;
		q--;
		while (q > text && *q == ' ')
			q--;
		end = q + 1;
		while (q > text && (isalnum((unsigned char) q[-1]) || q[-1] == '_' ||
							q[-1] == '.' || q[-1] == '"'))
			q--;
		if (end > q && !isdigit((unsigned char) *q))
			return pnstrdup(q, end - q);
	}
	return NULL;
}

/* A concrete sentence on what to do about one N+1 pattern. */
static char *
np_suggestion(NpKind kind, const char *child_text, bool visible)
{
	char	   *col = visible ? lookup_column(child_text) : NULL;

	switch (kind)
	{
		case NP_READ:
			if (col)
				return psprintf("fetch all rows at once with `... WHERE %s = ANY($1)` "
								"(one array of the parent's keys) or join to the parent query, "
								"instead of one query per parent row", col);
			return pstrdup("fetch all rows at once (`... = ANY($1)` with an array of "
						   "the parent's keys) or join to the parent query, instead of "
						   "one query per parent row");
		case NP_READ_LOOP:
			if (col)
				return psprintf("one query per key, with no parent query on this connection: "
								"if the keys come from one list, fetch them at once with "
								"`... WHERE %s = ANY($1)`", col);
			return pstrdup("one query per key, with no parent query on this connection: "
						   "if the keys come from one list, fetch them at once with "
						   "`... = ANY($1)`");
		case NP_DUPLICATE:
			return pstrdup("the same statement runs again and again with the same "
						   "parameters: run it once and reuse the result (cache it in the "
						   "application), or fetch the distinct keys with one `= ANY($1)`");
		case NP_WRITE_LOOP:
			return pstrdup("one statement per row: write all rows in one statement "
						   "(multi-row INSERT ... VALUES, INSERT ... SELECT unnest($1::type[]), "
						   "UPDATE ... FROM (VALUES ...)) or COPY");
	}
	return NULL;
}

/*
 * Rows of the N+1 table; read_loop rows (loops without a parent) only when
 * all is set.
 */
static Datum
n_plus_one_rows(FunctionCallInfo fcinfo, bool all)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			reader = GetUserId();
	bool		sees_all;
	NpRow	   *rows;
	HTAB	   *texts;
	int			nrows;

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);
	sees_all = reader_sees_all();
	nplusone_flush();			/* the reader's own loops count too */
	rows = nplusone_read(&nrows);
	texts = query_info_map(false, true);

	for (int r = 0; r < nrows; r++)
	{
		NpRow	   *n = &rows[r];
		QueryInfo  *child;
		QueryInfo  *parent;
		bool		visible = sees_all || n->userid == reader;
		Datum		values[21];
		bool		nulls[21];
		int			i = 0;

		if (n->kind == NP_READ_LOOP && !all)
			continue;
		child = query_info(texts, n->userid, n->dbid, n->child_queryid);
		parent = n->parent_queryid == 0 ? NULL :
			query_info(texts, n->userid, n->dbid, n->parent_queryid);

		memset(nulls, 0, sizeof(nulls));
		values[i++] = ObjectIdGetDatum(n->dbid);
		values[i++] = ObjectIdGetDatum(n->userid);
		values[i++] = CStringGetTextDatum(np_kind_names[n->kind]);
		values[i++] = BoolGetDatum(n->toplevel);
		if (n->parent_queryid == 0)
		{
			nulls[i++] = true;
			nulls[i++] = true;
		}
		else
		{
			put_queryid(values, nulls, &i, n->parent_queryid, visible);
			put_private_text(values, nulls, &i, parent ? parent->text : NULL, -1,
							 visible);
		}
		put_queryid(values, nulls, &i, n->child_queryid, visible);
		put_private_text(values, nulls, &i, child ? child->text : NULL, -1, visible);
		values[i++] = Int64GetDatumFast(n->episodes);
		values[i++] = Int64GetDatumFast(n->child_calls);
		values[i++] = Float8GetDatumFast((double) n->child_calls / Max(n->episodes, 1));
		values[i++] = Int64GetDatumFast(n->max_calls);
		values[i++] = Float8GetDatumFast(n->round_trip_ms);
		values[i++] = Float8GetDatumFast(n->child_exec_ms);
		values[i++] = TimestampTzGetDatum(n->last_seen);
		values[i++] = CStringGetTextDatum(np_suggestion(n->kind,
														child ? child->text : NULL,
														visible));
		values[i++] = Float8GetDatumFast(n->round_trip_ms / Max(n->episodes, 1));
		values[i++] = Float8GetDatumFast(n->child_rows / Max(n->child_calls, 1));
		values[i++] = Float8GetDatumFast(n->distinct_sum / Max(n->episodes, 1));
		values[i++] = Float8GetDatumFast(n->confidence_sum / Max(n->episodes, 1));
		values[i++] = TimestampTzGetDatum(n->first_seen);
		Assert(i == 21);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* SRF behind the latdiag_n_plus_one view: the findings. */
Datum
latdiag_n_plus_one(PG_FUNCTION_ARGS)
{
	return n_plus_one_rows(fcinfo, false);
}

/* latdiag_n_plus_one_all(): every kind, loops without a parent too (1.4). */
Datum
latdiag_n_plus_one_all(PG_FUNCTION_ARGS)
{
	return n_plus_one_rows(fcinfo, true);
}

/*
 * A statement's text in the lock-wait view: the normalized text of
 * (userid, dbid, queryid) from the query store, else fallback (as captured).
 */
static void
put_statement_text(Datum *values, bool *nulls, int *i, HTAB *texts, Oid userid,
				   Oid dbid, uint64 queryid, const char *fallback, bool visible)
{
	QueryInfo  *qi = queryid != 0 ? query_info(texts, userid, dbid, queryid) : NULL;

	put_private_text(values, nulls, i, qi && qi->text ? qi->text : fallback, -1,
					 visible);
}

/* SRF behind the latdiag_lock_waits view: every recorded lock wait. */
Datum
latdiag_lock_waits(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			reader = GetUserId();
	bool		sees_all;
	LockWaitRow *rows;
	HTAB	   *texts;
	int			nrows;

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);
	sees_all = reader_sees_all();
	rows = locks_read(&nrows, true);
	texts = query_info_map(false, true);

	for (int r = 0; r < nrows; r++)
	{
		LockWaitRow *w = &rows[r];
		bool		visible = sees_all || w->userid == reader;
		bool		blocker_visible = sees_all || w->blocker_userid == reader;
		const char *state = locks_state_name(w->blocker_state);
		Datum		values[19];
		bool		nulls[19];
		int			i = 0;

		memset(nulls, 0, sizeof(nulls));
		values[i++] = ObjectIdGetDatum(w->dbid);
		values[i++] = ObjectIdGetDatum(w->userid);
		put_queryid(values, nulls, &i, w->queryid, visible && w->queryid != 0);
		put_statement_text(values, nulls, &i, texts, w->userid, w->dbid,
						   w->queryid, NULL, visible);
		if (w->locktype <= LOCKTAG_LAST_TYPE)
			values[i++] = CStringGetTextDatum(LockTagTypeNames[w->locktype]);
		else
			nulls[i++] = true;
		if (w->mode > 0 && w->mode <= MaxLockMode)
			values[i++] = CStringGetTextDatum(GetLockmodeName(DEFAULT_LOCKMETHOD, w->mode));
		else
			nulls[i++] = true;
		if (OidIsValid(w->relid))
		{
			values[i++] = ObjectIdGetDatum(w->relid);
			put_relname(values, nulls, &i, w->relid, w->dbid);
		}
		else
		{
			nulls[i++] = true;
			nulls[i++] = true;
		}
		values[i++] = Int64GetDatumFast(w->waits);
		values[i++] = Int64GetDatumFast(w->cancelled);
		values[i++] = Float8GetDatumFast(w->total_ms);
		values[i++] = Float8GetDatumFast(w->max_ms);
		values[i++] = Float8GetDatumFast(w->waits > 0 ? w->total_ms / w->waits : 0.0);
		put_queryid(values, nulls, &i, w->blocker_queryid,
					blocker_visible && w->blocker_queryid != 0);
		if (w->blocker_queryid == 0 && w->blocker_text == NULL)
			nulls[i++] = true;	/* no blocker seen, or nothing known of it */
		else
			put_statement_text(values, nulls, &i, texts, w->blocker_userid, w->dbid,
							   w->blocker_queryid, w->blocker_text, blocker_visible);
		if (state)
			values[i++] = CStringGetTextDatum(state);
		else
			nulls[i++] = true;
		values[i++] = TimestampTzGetDatum(w->last_seen);
		if (w->blocker_pid != 0)
			values[i++] = Int32GetDatum(w->blocker_pid);
		else
			nulls[i++] = true;
		values[i++] = Float8GetDatumFast(w->max_blocker_xact_ms);
		Assert(i == 19);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* latdiag_lock_waits_reset(userid, dbid, queryid): forget lock waits; 0 = any. */
Datum
latdiag_lock_waits_reset(PG_FUNCTION_ARGS)
{
	store_require_ready();
	require_reset_args(fcinfo, "latdiag_lock_waits_reset", "Pass 0 to match any value.");
	locks_reset(PG_GETARG_OID(0), PG_GETARG_OID(1), (uint64) PG_GETARG_INT64(2));
	PG_RETURN_VOID();
}

/*
 * SRF: the plan id core reports for each backend's running statement (18 and
 * later, where latdiag sets it: the id of latdiag_plans), NULL where the
 * server has none or the reader may not see that backend's statement.
 */
Datum
latdiag_backend_plans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			reader = GetUserId();
	bool		sees_all;
	int			nbe;

	InitMaterializedSRF(fcinfo, 0);
	sees_all = reader_sees_all();
	nbe = pgstat_fetch_stat_numbackends();
	for (int b = 1; b <= nbe; b++)
	{
		LocalPgBackendStatus *l = compat_local_beentry(b);
		PgBackendStatus *be = l ? &l->backendStatus : NULL;
		Datum		values[2];
		bool		nulls[2] = {false, false};
		uint64		planid;

		if (be == NULL || be->st_procpid == 0)
			continue;
		planid = compat_backend_plan_id(be);
		values[0] = Int32GetDatum(be->st_procpid);
		if (COMPAT_HAS_PLAN_ID && planid != 0 &&
			(sees_all || has_privs_of_role(reader, be->st_userid)))
			values[1] = Int64GetDatum((int64) planid);
		else
			nulls[1] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * SRF behind the latdiag_errors view: one row per (userid, dbid, queryid,
 * SQLSTATE).  Messages can hold data: only readers who see every user's
 * statistics get them.
 */
Datum
latdiag_errors(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			reader = GetUserId();
	bool		sees_all;
	ErrorRow   *rows;
	HTAB	   *texts;
	int			nrows;

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);
	sees_all = reader_sees_all();
	texts = query_info_map(false, true);
	rows = errors_read(&nrows);

	for (int r = 0; r < nrows; r++)
	{
		ErrorRow   *e = &rows[r];
		Datum		values[11];
		bool		nulls[11];
		bool		visible = sees_all || e->userid == reader;
		int			i = 0;

		memset(nulls, 0, sizeof(nulls));
		values[i++] = ObjectIdGetDatum(e->userid);
		values[i++] = ObjectIdGetDatum(e->dbid);
		put_queryid(values, nulls, &i, e->queryid,
					visible && e->queryid != UINT64CONST(0));
		values[i++] = CStringGetTextDatum(unpack_sql_state(e->sqlerrcode));
		values[i++] = Int64GetDatumFast(e->errors);
		values[i++] = Float8GetDatumFast(e->total_ms);
		values[i++] = Float8GetDatumFast(e->max_ms);
		values[i++] = TimestampTzGetDatum(e->first_seen);
		values[i++] = TimestampTzGetDatum(e->last_seen);
		put_private_text(values, nulls, &i, e->message,
						 e->message_len > 0 ? e->message_len : 0, sees_all);
		if (e->message_len <= 0 && sees_all)
			nulls[i - 1] = true;
		if (e->queryid == UINT64CONST(0))
			nulls[i++] = true;
		else
		{
			QueryInfo  *qi = query_info(texts, e->userid, e->dbid, e->queryid);

			put_private_text(values, nulls, &i, qi ? qi->text : NULL, -1, visible);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(rows);
	return (Datum) 0;
}

/* n bytes as lowercase hex text. */
static Datum
hex_datum(const uint8 *b, int n)
{
	char		buf[2 * 16 + 1];
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < n; i++)
	{
		buf[2 * i] = digits[b[i] >> 4];
		buf[2 * i + 1] = digits[b[i] & 0xF];
	}
	buf[2 * n] = '\0';
	return CStringGetTextDatum(buf);
}

/* sqlcommenter tags as a jsonb object {"key": "value", ...}. */
static Datum
sqlc_tags_jsonb(const SqlcTags *tags)
{
	StringInfoData buf;
	const char *p = tags->buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int t = 0; t < tags->ntags; t++)
	{
		const char *v = p + strlen(p) + 1;

		if (t > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, p);
		appendStringInfoString(&buf, ": ");
		escape_json(&buf, v);
		p = v + strlen(v) + 1;
	}
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/*
 * SRF behind the latdiag_slow_executions view: the ring, newest first.  The
 * statement with its constants and the client address only for readers who
 * see every user's statistics.
 */
Datum
latdiag_slow_executions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			reader = GetUserId();
	bool		sees_all;
	SlowExecution *rows;
	int			nrows;

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);
	sees_all = reader_sees_all();
	rows = slowexec_read(&nrows);

	for (int r = 0; r < nrows; r++)
	{
		SlowExecution *e = &rows[r];
		Datum		values[19];
		bool		nulls[19];
		bool		visible = sees_all || e->userid == reader;
		int			i = 0;

		memset(nulls, 0, sizeof(nulls));
		values[i++] = TimestampTzGetDatum(e->finished_at);
		values[i++] = Float8GetDatumFast(e->ms);
		values[i++] = ObjectIdGetDatum(e->userid);
		values[i++] = ObjectIdGetDatum(e->dbid);
		put_queryid(values, nulls, &i, e->queryid,
					visible && e->queryid != UINT64CONST(0));
		if (e->planid != 0)
			values[i++] = Int64GetDatumFast((int64) e->planid);
		else
			nulls[i++] = true;
		values[i++] = BoolGetDatum(e->toplevel);
		if (e->sqlerrcode != 0)
			values[i++] = CStringGetTextDatum(unpack_sql_state(e->sqlerrcode));
		else
			nulls[i++] = true;
		put_int_if(values, nulls, &i, e->rows, e->has_counts);
		put_int_if(values, nulls, &i, e->shared_blks_hit, e->has_counts);
		put_int_if(values, nulls, &i, e->shared_blks_read, e->has_counts);
		put_float_if(values, nulls, &i, e->lock_wait_ms, e->lock_wait_ms >= 0);
		values[i++] = Int32GetDatum(e->pid);
		values[i++] = CStringGetTextDatum(e->application_name);
		if (e->client[0] == '\0')
			nulls[i++] = true;
		else
			put_private_text(values, nulls, &i, e->client, -1, sees_all);
		if (e->trace.valid)
		{
			values[i++] = hex_datum(e->trace.trace_id, 16);
			values[i++] = hex_datum(e->trace.parent_id, 8);
		}
		else
		{
			nulls[i++] = true;
			nulls[i++] = true;
		}
		if (e->tags.ntags > 0 && visible)
			values[i++] = sqlc_tags_jsonb(&e->tags);
		else
			nulls[i++] = true;
		put_private_text(values, nulls, &i, e->text, e->text_len, sees_all);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(rows);
	return (Datum) 0;
}

/* A tag of a source: NULL when absent or in a row the reader may not see. */
static inline void
put_tag(Datum *values, bool *nulls, int *i, const SourceRow *r, int tag,
		bool visible)
{
	if (visible && r->has_tag[tag])
		values[*i] = CStringGetTextDatum(r->tags[tag]);
	else
		nulls[*i] = true;
	(*i)++;
}

#define QUERY_SOURCES_COLS 20

/*
 * SRF behind the latdiag_query_sources view: one row per (userid, dbid,
 * queryid, toplevel, source).  application_name is shown to every reader,
 * as pg_stat_activity does; the sqlcommenter tags, the queryid and the text
 * only in rows the reader may see (own statements, or pg_read_all_stats).
 */
Datum
latdiag_query_sources(PG_FUNCTION_ARGS)
{
	bool		showtext = PG_GETARG_BOOL(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			reader = GetUserId();
	bool		sees_all;
	SourceRow  *rows;
	HTAB	   *texts = NULL;
	int			nrows;

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);
	sees_all = reader_sees_all();
	if (showtext)
		texts = query_info_map(false, true);
	rows = sources_read(&nrows);

	for (int r = 0; r < nrows; r++)
	{
		SourceRow  *e = &rows[r];
		Datum		values[QUERY_SOURCES_COLS];
		bool		nulls[QUERY_SOURCES_COLS];
		bool		visible = sees_all || e->userid == reader;
		int			i = 0;

		memset(nulls, 0, sizeof(nulls));
		values[i++] = ObjectIdGetDatum(e->userid);
		values[i++] = ObjectIdGetDatum(e->dbid);
		values[i++] = BoolGetDatum(e->toplevel);
		put_queryid(values, nulls, &i, e->queryid,
					visible && e->queryid != UINT64CONST(0));
		values[i++] = CStringGetTextDatum(e->application_name);
		for (int t = 0; t < SOURCE_NTAGS; t++)
			put_tag(values, nulls, &i, e, t, visible);
		values[i++] = Int64GetDatumFast(e->calls);
		values[i++] = Float8GetDatumFast(e->total_ms);
		values[i++] = Float8GetDatumFast(e->calls > 0 ? e->total_ms / e->calls : 0.0);
		put_float_if(values, nulls, &i, e->min_ms, e->calls > 0);
		put_float_if(values, nulls, &i, e->max_ms, e->calls > 0);
		values[i] = pct_datum(e->p95_ms, &nulls[i]);
		i++;
		values[i++] = Int64GetDatumFast(e->errors);
		values[i++] = Float8GetDatumFast(e->error_ms);
		values[i++] = TimestampTzGetDatum(e->last_seen);
		if (!showtext || e->queryid == UINT64CONST(0))
			nulls[i++] = true;
		else
		{
			QueryInfo  *qi = query_info(texts, e->userid, e->dbid, e->queryid);

			put_private_text(values, nulls, &i, qi ? qi->text : NULL, -1, visible);
		}
		Assert(i == QUERY_SOURCES_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(rows);
	return (Datum) 0;
}

/* ------------------------------------------------ windows and regressions */

/* The "other" row of a window or baseline: the statements not kept, summed. */
static inline bool
is_other_row(const WindowKey *k)
{
	return k->userid == InvalidOid && k->dbid == InvalidOid && k->queryid == 0;
}

/* An interval argument as microseconds; ERROR if NULL, zero or negative. */
static double
interval_arg(FunctionCallInfo fcinfo, int argno, const char *fname, const char *what)
{
	Interval   *iv;
	double		us;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s: %s must not be NULL", fname, what)));
	iv = PG_GETARG_INTERVAL_P(argno);
	/* doubles: an infinite interval (17 and later) stays huge, not wrapped */
	us = (double) iv->time + (double) iv->day * USECS_PER_DAY +
		(double) iv->month * DAYS_PER_MONTH * USECS_PER_DAY;
	if (!(us > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: %s must be a positive interval", fname, what),
				 errhint("For example '5 minutes'.")));
	return Min(us, 1e17);
}

/* A timestamp argument; ERROR if NULL. */
static TimestampTz
timestamp_arg(FunctionCallInfo fcinfo, int argno, const char *fname, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s: %s must not be NULL", fname, what)));
	return PG_GETARG_TIMESTAMPTZ(argno);
}

/* A text argument as a C string; ERROR if NULL. */
static char *
text_arg(FunctionCallInfo fcinfo, int argno, const char *fname, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s: %s must not be NULL", fname, what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* now - us, clamped to the range of timestamps. */
static TimestampTz
before_now(TimestampTz now, double us)
{
	double		t = (double) now - us;

	return t < (double) MIN_TIMESTAMP ? MIN_TIMESTAMP : (TimestampTz) t;
}

/* Plan ids as a bigint[]. */
static Datum
planids_array(const uint64 *ids, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = Int64GetDatum((int64) ids[i]);
	return PointerGetDatum(construct_array(elems, n, INT8OID, sizeof(int64),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* The key columns and text of a window row: userid .. query. */
static void
put_window_key(Datum *values, bool *nulls, int *i, const WindowKey *k,
			   HTAB *texts, bool showtext, bool sees_all, Oid reader)
{
	bool		visible = sees_all || k->userid == reader;

	if (is_other_row(k))
	{
		nulls[(*i)++] = true;	/* userid */
		nulls[(*i)++] = true;	/* dbid */
		nulls[(*i)++] = true;	/* queryid */
		nulls[(*i)++] = true;	/* toplevel */
		if (showtext)
			values[*i] = CStringGetTextDatum("<other statements>");
		else
			nulls[*i] = true;
		(*i)++;
		return;
	}
	values[(*i)++] = ObjectIdGetDatum(k->userid);
	values[(*i)++] = ObjectIdGetDatum(k->dbid);
	put_queryid(values, nulls, i, k->queryid, visible);
	values[(*i)++] = BoolGetDatum(k->toplevel);
	if (!showtext)
		nulls[(*i)++] = true;
	else
		put_statement_text(values, nulls, i, texts, k->userid, k->dbid,
						   k->queryid, NULL, visible);
}

static void
put_pcts(Datum *values, bool *nulls, int *i, const double *pct)
{
	for (int k = 0; k < 3; k++)
	{
		values[*i] = pct_datum(pct[k], &nulls[*i]);
		(*i)++;
	}
}

static inline double
mean_of(double total, int64 calls)
{
	return calls > 0 ? total / calls : 0.0;
}

/* SRF behind the latdiag_windows view: one row per kept window. */
Datum
latdiag_windows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	WindowTotalRow *rows;
	int			n;

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);
	rows = windows_read_totals(&n);
	for (int r = 0; r < n; r++)
	{
		WindowTotalRow *w = &rows[r];
		Datum		values[17];
		bool		nulls[17];
		int			i = 0;

		memset(nulls, 0, sizeof(nulls));
		values[i++] = TimestampTzGetDatum(w->c.start);
		values[i++] = TimestampTzGetDatum(w->c.end);
		values[i++] = Int64GetDatumFast(w->c.calls);
		values[i++] = Float8GetDatumFast(w->c.total_exec);
		values[i++] = Float8GetDatumFast(mean_of(w->c.total_exec, w->c.calls));
		put_pcts(values, nulls, &i, w->pct);
		values[i++] = Int32GetDatum(w->c.statements);
		values[i++] = Float8GetDatumFast(w->c.lock_wait_ms);
		values[i++] = Int32GetDatum(w->other_statements);
		values[i++] = Int64GetDatumFast(w->other_calls);
		values[i++] = Int64GetDatumFast(w->c.rows);
		values[i++] = Int64GetDatumFast(w->c.shared_blks_hit);
		values[i++] = Int64GetDatumFast(w->c.shared_blks_read);
		values[i++] = Int64GetDatumFast(w->c.lock_waits);
		if (rsinfo->setDesc->natts > 16)	/* 1.5 */
			values[i++] = Int64GetDatumFast(w->c.errors);
		Assert(i == rsinfo->setDesc->natts);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* SRF behind the latdiag_query_windows view: one row per (window, statement). */
Datum
latdiag_query_windows(PG_FUNCTION_ARGS)
{
	bool		showtext = PG_GETARG_BOOL(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			reader = GetUserId();
	bool		sees_all;
	HTAB	   *texts;
	WindowQueryRow *rows;
	int			n;

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);
	sees_all = reader_sees_all();
	texts = query_info_map(false, showtext);
	rows = windows_read_queries(&n);
	for (int r = 0; r < n; r++)
	{
		WindowQueryRow *w = &rows[r];
		Datum		values[25];
		bool		nulls[25];
		int			i = 0;

		memset(nulls, 0, sizeof(nulls));
		values[i++] = TimestampTzGetDatum(w->c.start);
		values[i++] = TimestampTzGetDatum(w->c.end);
		put_window_key(values, nulls, &i, &w->key, texts, showtext, sees_all, reader);
		values[i++] = Int64GetDatumFast(w->c.calls);
		values[i++] = Float8GetDatumFast(w->c.total_exec);
		values[i++] = Float8GetDatumFast(mean_of(w->c.total_exec, w->c.calls));
		put_pcts(values, nulls, &i, w->pct);
		values[i++] = Int64GetDatumFast(w->c.rows);
		values[i++] = Int64GetDatumFast(w->c.shared_blks_hit);
		values[i++] = Int64GetDatumFast(w->c.shared_blks_read);
		values[i++] = Int64GetDatumFast(w->c.temp_blks_read);
		values[i++] = Int64GetDatumFast(w->c.temp_blks_written);
		values[i++] = Int64GetDatumFast(w->c.lock_waits);
		values[i++] = Float8GetDatumFast(w->c.lock_wait_ms);
		values[i++] = planids_array(w->c.planids, w->c.nplanids);
		values[i++] = BoolGetDatum(is_other_row(&w->key));
		if (is_other_row(&w->key))
			values[i++] = Int32GetDatum(w->c.statements);
		else
			nulls[i++] = true;
		if (rsinfo->setDesc->natts > 23)	/* 1.5 */
			values[i++] = Int64GetDatumFast(w->c.errors);
		Assert(i == rsinfo->setDesc->natts);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* Emit the rows of a regression check. */
static void
emit_regressions(FunctionCallInfo fcinfo, WindowPeriod *recent, WindowPeriod *baseline)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			reader = GetUserId();
	bool		sees_all = reader_sees_all();
	HTAB	   *texts = query_info_map(false, true);
	RegressionRow *rows;
	int			n;

	rows = windows_regressions(recent, baseline, &n);
	for (int r = 0; r < n; r++)
	{
		RegressionRow *g = &rows[r];
		Datum		values[24];
		bool		nulls[24];
		int			i = 0;

		memset(nulls, 0, sizeof(nulls));
		put_window_key(values, nulls, &i, &g->key, texts, true, sees_all, reader);
		values[i++] = Int64GetDatumFast(g->recent_calls);
		values[i++] = Int64GetDatumFast(g->baseline_calls);
		put_pcts(values, nulls, &i, g->recent_pct);
		values[i++] = Float8GetDatumFast(g->recent_mean);
		put_pcts(values, nulls, &i, g->baseline_pct);
		values[i++] = Float8GetDatumFast(g->baseline_mean);
		values[i++] = Float8GetDatumFast(g->factor);
		values[i++] = TimestampTzGetDatum(g->since);
		if (g->ncauses > 0)
		{
			Datum		causes[6];

			values[i++] = CStringGetTextDatum(g->causes[0]);
			for (int k = 0; k < g->ncauses; k++)
				causes[k] = CStringGetTextDatum(g->causes[k]);
			values[i++] = PointerGetDatum(construct_array(causes, g->ncauses, TEXTOID,
														  -1, false, TYPALIGN_INT));
		}
		else
		{
			nulls[i++] = true;
			values[i++] = PointerGetDatum(construct_empty_array(TEXTOID));
		}
		values[i++] = Float8GetDatumFast(g->p_value);
		if (rsinfo->setDesc->natts > 20)	/* 1.5 */
		{
			values[i++] = Int64GetDatumFast(g->recent_errors);
			values[i++] = Int64GetDatumFast(g->baseline_errors);
		}
		Assert(i == rsinfo->setDesc->natts);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * latdiag_regressions(recent interval, baseline interval): the statements
 * whose last `recent` of windows are significantly worse than the `baseline`
 * of windows before them.
 */
Datum
latdiag_regressions(PG_FUNCTION_ARGS)
{
	const char *fname = "latdiag_regressions";
	double		recent_us,
				baseline_us;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz split;

	store_require_ready();
	recent_us = interval_arg(fcinfo, 0, fname, "recent");
	baseline_us = interval_arg(fcinfo, 1, fname, "baseline");
	InitMaterializedSRF(fcinfo, 0);
	split = before_now(now, recent_us);
	emit_regressions(fcinfo, windows_period(split, DT_NOEND),
					 windows_period(before_now(split, baseline_us), split));
	return (Datum) 0;
}

/*
 * latdiag_regressions(recent interval, baseline text): the same against a
 * baseline saved by latdiag_baseline_save().
 */
Datum
latdiag_regressions_baseline(PG_FUNCTION_ARGS)
{
	const char *fname = "latdiag_regressions";
	double		recent_us;
	char	   *name;
	WindowPeriod *baseline;

	store_require_ready();
	recent_us = interval_arg(fcinfo, 0, fname, "recent");
	name = text_arg(fcinfo, 1, fname, "baseline");

	/*
	 * latdiag_regressions('5 minutes', '1 hour') resolves to this function
	 * (text is preferred for an unknown literal): a name that is no saved
	 * baseline but reads as an interval is taken as the interval.
	 */
	if (!windows_baseline_exists(name) &&
		(isdigit((unsigned char) name[0]) || name[0] == '-' || name[0] == '+' ||
		 name[0] == '@' || name[0] == '.'))
	{
		Interval   *iv = DatumGetIntervalP(DirectFunctionCall3(interval_in,
															   CStringGetDatum(name),
															   ObjectIdGetDatum(InvalidOid),
															   Int32GetDatum(-1)));
		double		us = (double) iv->time + (double) iv->day * USECS_PER_DAY +
			(double) iv->month * DAYS_PER_MONTH * USECS_PER_DAY;
		TimestampTz split;

		if (!(us > 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: baseline must be a positive interval", fname),
					 errhint("For example '5 minutes'.")));
		InitMaterializedSRF(fcinfo, 0);
		split = before_now(GetCurrentTimestamp(), recent_us);
		emit_regressions(fcinfo, windows_period(split, DT_NOEND),
						 windows_period(before_now(split, Min(us, 1e17)), split));
		return (Datum) 0;
	}
	baseline = windows_baseline_period(name);
	InitMaterializedSRF(fcinfo, 0);
	emit_regressions(fcinfo,
					 windows_period(before_now(GetCurrentTimestamp(), recent_us), DT_NOEND),
					 baseline);
	return (Datum) 0;
}

/* latdiag_compare(from1, to1, from2, to2): two periods side by side per statement. */
Datum
latdiag_compare(PG_FUNCTION_ARGS)
{
	const char *fname = "latdiag_compare";
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			reader = GetUserId();
	bool		sees_all;
	TimestampTz from[2],
				to[2];
	WindowPeriod *p[2];
	HTAB	   *texts;
	HASHCTL		ctl;
	HTAB	   *keys;
	WindowKey  *k;
	HASH_SEQ_STATUS seq;

	store_require_ready();
	from[0] = timestamp_arg(fcinfo, 0, fname, "from1");
	to[0] = timestamp_arg(fcinfo, 1, fname, "to1");
	from[1] = timestamp_arg(fcinfo, 2, fname, "from2");
	to[1] = timestamp_arg(fcinfo, 3, fname, "to2");
	for (int j = 0; j < 2; j++)
		if (from[j] >= to[j])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: from%d must be earlier than to%d", fname, j + 1, j + 1)));
	InitMaterializedSRF(fcinfo, 0);
	sees_all = reader_sees_all();
	texts = query_info_map(false, true);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(WindowKey);
	ctl.entrysize = sizeof(WindowKey);
	ctl.hcxt = CurrentMemoryContext;
	keys = hash_create("latdiag compare keys", 256, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (int j = 0; j < 2; j++)
	{
		PeriodStats  *a;

		p[j] = windows_period(from[j], to[j]);
		hash_seq_init(&seq, p[j]->aggs);
		while ((a = hash_seq_search(&seq)) != NULL)
			(void) hash_search(keys, &a->key, HASH_ENTER, NULL);
	}

	hash_seq_init(&seq, keys);
	while ((k = hash_seq_search(&seq)) != NULL)
	{
		Datum		values[28];
		bool		nulls[28];
		int			i = 0;
		PeriodStats  *a[2];
		double		pct[2][3];

		memset(nulls, 0, sizeof(nulls));
		put_window_key(values, nulls, &i, k, texts, true, sees_all, reader);
		for (int j = 0; j < 2; j++)
		{
			a[j] = hash_search(p[j]->aggs, k, HASH_FIND, NULL);
			if (a[j])
				hist_percentiles(&a[j]->hist, (const double[]) {0.50, 0.95, 0.99}, 3,
								 0.0, DBL_MAX, pct[j]);
			else
				pct[j][0] = pct[j][1] = pct[j][2] = -1;
		}
		for (int j = 0; j < 2; j++)
			values[i++] = Int64GetDatumFast(a[j] ? a[j]->c.calls : (int64) 0);
		for (int j = 0; j < 2; j++)
			values[i++] = Float8GetDatumFast(a[j] ? a[j]->c.total_exec : 0.0);
		for (int j = 0; j < 2; j++)
		{
			if (a[j] && a[j]->c.calls > 0)
				values[i] = Float8GetDatumFast(a[j]->c.total_exec / a[j]->c.calls);
			else
				nulls[i] = true;
			i++;
		}
		for (int q = 0; q < 3; q++)
			for (int j = 0; j < 2; j++)
			{
				values[i] = pct_datum(pct[j][q], &nulls[i]);
				i++;
			}
		for (int j = 0; j < 2; j++)
			values[i++] = Int64GetDatumFast(a[j] ? a[j]->c.rows : (int64) 0);
		for (int j = 0; j < 2; j++)
			values[i++] = Int64GetDatumFast(a[j] ? a[j]->c.shared_blks_read : (int64) 0);
		for (int j = 0; j < 2; j++)
			values[i++] = Float8GetDatumFast(a[j] ? a[j]->c.lock_wait_ms : 0.0);
		if (pct[0][1] > 0 && pct[1][1] >= 0)
			values[i] = Float8GetDatumFast(pct[1][1] / pct[0][1]);
		else
			nulls[i] = true;
		i++;
		for (int j = 0; j < 2; j++)
			values[i++] = a[j] ? planids_array(a[j]->planids, a[j]->nplanids) :
				planids_array(NULL, 0);
		if (rsinfo->setDesc->natts > 26)	/* 1.5 */
			for (int j = 0; j < 2; j++)
				values[i++] = Int64GetDatumFast(a[j] ? a[j]->c.errors : (int64) 0);
		Assert(i == rsinfo->setDesc->natts);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * latdiag_baseline_save(name, period): keep the statements of the windows
 * of the last `period` (NULL: every kept window) as a named baseline.
 */
Datum
latdiag_baseline_save(PG_FUNCTION_ARGS)
{
	const char *fname = "latdiag_baseline_save";
	char	   *name;
	TimestampTz from = DT_NOBEGIN;

	store_require_ready();
	name = text_arg(fcinfo, 0, fname, "name");
	if (!PG_ARGISNULL(1))
		from = before_now(GetCurrentTimestamp(), interval_arg(fcinfo, 1, fname, "period"));
	PG_RETURN_INT32(windows_baseline_save(name, from, DT_NOEND));
}

/* latdiag_baseline_drop(name): forget a baseline. */
Datum
latdiag_baseline_drop(PG_FUNCTION_ARGS)
{
	store_require_ready();
	windows_baseline_drop(text_arg(fcinfo, 0, "latdiag_baseline_drop", "name"));
	PG_RETURN_VOID();
}

/* SRF behind the latdiag_baselines view. */
Datum
latdiag_baselines(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	BaselineRow *rows;
	int			n;

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);
	rows = windows_baselines(&n);
	for (int r = 0; r < n; r++)
	{
		Datum		values[6];
		bool		nulls[6] = {false};

		values[0] = CStringGetTextDatum(rows[r].name);
		values[1] = TimestampTzGetDatum(rows[r].created);
		values[2] = TimestampTzGetDatum(rows[r].period_start);
		values[3] = TimestampTzGetDatum(rows[r].period_end);
		values[4] = Int32GetDatum(rows[r].statements);
		values[5] = Int64GetDatumFast(rows[r].calls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * SRF behind latdiag_query_shapes: one row per statement and flagged shape
 * (deep_offset, unbounded_read) with the executions that showed it.
 */
Datum
latdiag_query_shapes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			reader = GetUserId();
	bool		sees_all;
	StoreRow   *rows;
	int			nrows;

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);
	sees_all = reader_sees_all();
	rows = store_read(&nrows, true);

	for (int r = 0; r < nrows; r++)
	{
		StoreRow   *row = &rows[r];
		bool		visible = sees_all || row->key.userid == reader;

		for (int shape = STORE_SHAPE_DEEP_OFFSET; shape <= STORE_SHAPE_UNBOUNDED; shape++)
		{
			const StoreShapes *sh = &row->shapes;
			bool		deep = shape == STORE_SHAPE_DEEP_OFFSET;
			int64		executions = deep ? sh->offset_calls : sh->unbounded_calls;
			Datum		values[11];
			bool		nulls[11];
			int			i = 0;

			if (executions == 0)
				continue;
			memset(nulls, 0, sizeof(nulls));
			values[i++] = ObjectIdGetDatum(row->key.userid);
			values[i++] = ObjectIdGetDatum(row->key.dbid);
			values[i++] = BoolGetDatum(row->key.toplevel);
			put_queryid(values, nulls, &i, row->key.queryid, visible);
			put_private_text(values, nulls, &i, row->text, row->text_len, visible);
			values[i++] = CStringGetTextDatum(deep ? "deep_offset" : "unbounded_read");
			values[i++] = Int64GetDatumFast(executions);
			values[i++] = Int64GetDatumFast(row->c.calls);
			values[i++] = Int64GetDatumFast(deep ? sh->max_offset : sh->max_unbounded_rows);
			values[i++] = Float8GetDatumFast(deep ? sh->offset_time : sh->unbounded_time);
			values[i++] = TimestampTzGetDatum(row->c.first_seen);
			Assert(i == 11);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}
