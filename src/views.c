/*
 * views.c: the SQL-callable functions behind the latdiag_* views.
 *
 * Privacy follows pg_stat_statements: superusers and members of
 * pg_read_all_stats see every row in full; others see the counters of every
 * row, but the text and queryid of their own statements only.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_authid.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "histogram.h"
#include "store.h"

PG_FUNCTION_INFO_V1(latdiag_queries);
PG_FUNCTION_INFO_V1(latdiag_latency_histogram);
PG_FUNCTION_INFO_V1(latdiag_info);
PG_FUNCTION_INFO_V1(latdiag_reset_all);
PG_FUNCTION_INFO_V1(latdiag_reset);

#define QUERIES_COLS 41

/* May the current user see every user's texts? */
static bool
reader_sees_all(void)
{
	return superuser() || has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
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

	store_require_ready();
	InitMaterializedSRF(fcinfo, 0);
	sees_all = reader_sees_all();
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
		if (visible)
			values[i++] = Int64GetDatumFast((int64) row->key.queryid);
		else
			nulls[i++] = true;
		if (!showtext)
			nulls[i++] = true;
		else if (visible)
			values[i++] = PointerGetDatum(cstring_to_text_with_len(row->text,
																   row->text_len));
		else
			values[i++] = CStringGetTextDatum("<insufficient privilege>");
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

/* The row behind the latdiag_info view. */
Datum
latdiag_info(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {false};
	int64		entries,
				evictions,
				truncated;
	TimestampTz stats_reset;
	Size		shmem;

	store_require_ready();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	store_info(&entries, &evictions, &truncated, &stats_reset, &shmem);
	values[0] = Int64GetDatum(entries);
	values[1] = Int64GetDatum(latdiag_max_queries);
	values[2] = Int64GetDatum(evictions);
	values[3] = Int64GetDatum(truncated);
	values[4] = Int32GetDatum(latdiag_max_query_length);
	values[5] = Int64GetDatum((int64) shmem);
	values[6] = TimestampTzGetDatum(stats_reset);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* latdiag_reset(): forget everything. */
Datum
latdiag_reset_all(PG_FUNCTION_ARGS)
{
	store_require_ready();
	store_reset(InvalidOid, InvalidOid, 0);
	PG_RETURN_VOID();
}

/* latdiag_reset(userid, dbid, queryid): forget matching entries; 0 = any. */
Datum
latdiag_reset(PG_FUNCTION_ARGS)
{
	store_require_ready();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("latdiag_reset: userid, dbid and queryid must not be NULL"),
				 errhint("Pass 0 to match any value, or call latdiag_reset() to reset everything.")));
	store_reset(PG_GETARG_OID(0), PG_GETARG_OID(1), (uint64) PG_GETARG_INT64(2));
	PG_RETURN_VOID();
}
