/*
 * snapshots.c: EXPLAIN ANALYZE snapshots of slow executions.
 *
 * Instrumentation must be chosen at ExecutorStart, before the duration is
 * known.  An execution is armed (ROWS and BUFFERS, plus TIMER with
 * latdiag.snapshot_timing) when its statement has already been seen slower
 * than latdiag.snapshot_min_duration, or by a random draw at
 * latdiag.snapshot_sample_rate so that a statement slow for the first time is
 * caught soon.  A statement never seen slow pays one cached lookup.  An armed
 * execution that turns out fast stores nothing.
 *
 * Tail snapshots (1.5): an execution below the threshold is kept too when it
 * is at least latdiag.snapshot_tail_min_duration and slower than its
 * statement's recent p99.  The sampler worker sets each statement's recent p99
 * (the last window it ran in) in its store entry; statements whose p99
 * reaches the floor and STORE_TAIL_RATIO times their p50 (a heavy tail) are
 * armed like slow ones, the others only by the random draw.  Each snapshot
 * records why it was taken: threshold, tail, or sampled (the execution was
 * instrumented by the draw only).
 *
 * One bounded shared table (table.c) keyed by (userid, dbid, queryid,
 * planid) keeps the slowest execution of each plan: a later one replaces it
 * only if slower.  When the table is full, the snapshots of the least
 * important statements go first (usage is the statement's total execution
 * time when the snapshot was taken, then decays like every table's).  Each
 * entry's text is the statement as executed (constants included, cut at
 * latdiag.max_query_length), a NUL, then the plan (cut at
 * latdiag.max_snapshot_length).
 */
#include "postgres.h"

#include <math.h>

#include "commands/explain.h"
#include "common/pg_prng.h"
#include "executor/instrument.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "pgstat.h"

#include "compat.h"
#include "guc.h"
#include "plans.h"
#include "snapshots.h"
#include "store.h"
#include "table.h"

#define SNAPSHOTS_FILE			PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag_snapshots.stat"
#define SNAPSHOTS_FILE_VERSION	3	/* 2: the trace context (1.4); 3: reason (1.5) */

typedef struct SnapKey
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	uint64		planid;
} SnapKey;

typedef struct SnapData
{
	int64		snapshot_id;	/* 0 until filled in */
	TimestampTz captured_at;
	double		exec_ms;
	int32		query_len;
	bool		plan_truncated;
	int8		reason;			/* a SnapReason */
	TraceContext trace;			/* of a sqlcommenter traceparent */
} SnapData;

static TableDef snapshots_def;

/* Executions to skip before the next sampled one, for a sampling rate. */
static int64
sample_gap(double rate)
{
	double		u;

	if (rate >= 1.0)
		return 0;
	u = pg_prng_double(&pg_global_prng_state);	/* [0, 1) */
	return (int64) floor(log1p(-u) / log1p(-rate));
}

static Table *snapshots = NULL;

static const TableDef *
snapshots_table_def(void)
{
	snapshots_def.name = "postgres_latdiag snapshots";
	snapshots_def.key_size = sizeof(SnapKey);
	snapshots_def.data_size = sizeof(SnapData);
	snapshots_def.max_entries = latdiag_max_snapshots;
	snapshots_def.max_text = latdiag_max_query_length + 1 + latdiag_max_snapshot_length;
	snapshots_def.file = SNAPSHOTS_FILE;
	snapshots_def.file_version = SNAPSHOTS_FILE_VERSION;
	snapshots_def.save = &latdiag_save;
	return &snapshots_def;
}

/* Ask for the table's memory; from shmem_request_hook. */
void
snapshots_shmem_request(void)
{
	table_request(snapshots_table_def());
}

/* Attach the table; from shmem_startup_hook. */
void
snapshots_shmem_startup(void)
{
	snapshots = table_attach(snapshots_table_def());
}

/* Shared memory of the table. */
Size
snapshots_shmem_size(void)
{
	return table_shmem_size(snapshots_table_def());
}

/* Executions left before the next sampled one; -1: draw a gap first. */
static int64 sample_countdown = -1;
static double sample_countdown_rate = -1;

/*
 * Is this execution one of the random sample that is armed anyway?  Each
 * execution is sampled with probability latdiag.snapshot_sample_rate; the
 * gaps between sampled ones are drawn from the matching geometric
 * distribution, so that an unsampled execution costs a decrement, not a
 * random number.
 */
bool
snapshots_sampled(void)
{
	double		rate = latdiag_snapshot_sample_rate;

	if (rate <= 0)
		return false;
	if (rate != sample_countdown_rate)
	{
		sample_countdown_rate = rate;	/* the setting changed: new gap */
		sample_countdown = -1;
	}
	if (sample_countdown > 0)
	{
		sample_countdown--;
		return false;
	}
	if (sample_countdown < 0)
	{
		sample_countdown = sample_gap(rate);
		return snapshots_sampled();
	}
	sample_countdown = sample_gap(rate);
	return true;
}

/*
 * The instrumentation an execution armed for reason why gets.  One armed by
 * the random draw only (not known to be slow) counts rows, and times nodes
 * if latdiag.snapshot_timing asks: per-node buffer counts would cost it
 * about 10% more on a large scan, for an execution that is most likely fast.
 */
int
snapshots_instrument_options(int why)
{
	return INSTRUMENT_ROWS |
		(why == SNAP_REASON_SAMPLED ? 0 : INSTRUMENT_BUFFERS) |
		(latdiag_snapshot_timing ? INSTRUMENT_TIMER : 0);
}

/*
 * Why the execution running at each executor level was armed, when it was
 * (levels beyond the array share its last slot: a deeper statement armed by
 * the draw may then be labelled by its own reason).
 */
#define ARMED_LEVELS 8
static const QueryDesc *armed_desc[ARMED_LEVELS];
static int8 armed_reason[ARMED_LEVELS];

/* Note why an execution was armed (at ExecutorStart). */
void
snapshots_note_armed(QueryDesc *queryDesc, int level, int reason)
{
	level = Min(level, ARMED_LEVELS - 1);
	armed_desc[level] = queryDesc;
	armed_reason[level] = (int8) reason;
}

/* The name of a SnapReason, as latdiag_explain_snapshots shows it. */
const char *
snapshots_reason_name(int reason)
{
	switch (reason)
	{
		case SNAP_REASON_THRESHOLD:
			return "threshold";
		case SNAP_REASON_TAIL:
			return "tail";
		case SNAP_REASON_SAMPLED:
			return "sampled";
	}
	return "threshold";			/* snapshots saved before 1.5 */
}

static uint32
key_hint(const SnapKey *key)
{
	return (uint32) (key->planid ^ key->queryid ^ (key->planid >> 32));
}

static bool
key_equals(const void *key, void *arg)
{
	return memcmp(key, arg, sizeof(SnapKey)) == 0;
}

/*
 * An execution ended: if it was instrumented and slow (the threshold), or in
 * its statement's tail (the floor, and slower than its recent p99), keep its
 * EXPLAIN ANALYZE unless a slower one of the same plan is kept already.
 * Called after store_record, whose memo gives the recent p99 and the
 * statement's total time.
 */
void
snapshots_consider(QueryDesc *queryDesc, uint64 queryid, uint64 planid,
				   double ms, bool toplevel, int level)
{
	SnapKey key;
	uint32		hint;
	SnapData *d;
	bool		existed = false;
	const char *query = queryDesc->sourceText ? queryDesc->sourceText : "";
	int			qloc = queryDesc->plannedstmt->stmt_location;
	int			qlen = queryDesc->plannedstmt->stmt_len;
	char	   *plan;
	int			plen;
	bool		plan_truncated = false;
	char	   *text;
	TraceContext trace;
	int			reason;
	double		importance;
	double		p99;
	int			slot = Min(level, ARMED_LEVELS - 1);

	if (queryDesc->planstate == NULL || queryDesc->planstate->instrument == NULL)
		return;
	p99 = store_memo_tail(queryid, toplevel, &importance);
	if (snapshots_is_slow(ms, latdiag_snapshot_min_duration))
		reason = SNAP_REASON_THRESHOLD;
	else if (snapshots_is_slow(ms, latdiag_snapshot_tail_min_duration) &&
			 p99 > 0 && ms > p99)
		reason = SNAP_REASON_TAIL;
	else
		return;
	if (armed_desc[slot] == queryDesc)
	{
		if (armed_reason[slot] == SNAP_REASON_SAMPLED)
			reason = SNAP_REASON_SAMPLED;
		armed_desc[slot] = NULL;
	}
	importance = Max(importance, ms);

	memset(&key, 0, sizeof(key));
	key.userid = GetUserId();
	key.dbid = MyDatabaseId;
	key.queryid = queryid;
	key.planid = planid;
	hint = key_hint(&key);

	if ((d = table_lock(snapshots, &key, hint)) != NULL)
	{
		bool		slower = ms > d->exec_ms;

		table_unlock(snapshots, d, 0);
		if (!slower)
			return;
		existed = true;
	}

	/* build the texts before taking any lock */
	(void) trace_context_parse(query, (int) strlen(query), &trace);
	plan = plan_explain(queryDesc, true, latdiag_snapshot_format, &plen);
	if (plen > latdiag_max_snapshot_length)
	{
		plen = pg_mbcliplen(plan, plen, latdiag_max_snapshot_length);
		plan_truncated = true;
	}
	query = CleanQuerytext(query, &qloc, &qlen);
	if (qlen > latdiag_max_query_length)
		qlen = pg_mbcliplen(query, qlen, latdiag_max_query_length);
	text = palloc(qlen + 1 + plen + 1);
	memcpy(text, query, qlen);
	text[qlen] = '\0';
	memcpy(text + qlen + 1, plan, plen);
	text[qlen + 1 + plen] = '\0';

	if (existed)
		(void) table_remove(snapshots, key_equals, &key);
	d = table_create_lock(snapshots, &key, hint, text, qlen + 1 + plen);
	if (d != NULL)
	{
		/* someone else got there first: keep theirs, text and data agree */
		if (d->snapshot_id == 0)
		{
			d->snapshot_id = (int64) table_entry_id(snapshots, d);
			d->captured_at = GetCurrentTimestamp();
			d->exec_ms = ms;
			d->query_len = qlen;
			d->plan_truncated = plan_truncated;
			d->reason = (int8) reason;
			d->trace = trace;
		}
		table_unlock(snapshots, d, importance);
	}
	pfree(text);
	pfree(plan);
}

/* table_read callback: one SnapshotRow. */
static void
emit_snapshot(void *row, const void *key, const void *data, char *text,
			  int text_len, bool truncated, void *arg)
{
	SnapshotRow *r = (SnapshotRow *) row;
	const SnapKey *k = (const SnapKey *) key;
	const SnapData *d = (const SnapData *) data;

	r->snapshot_id = d->snapshot_id;
	r->captured_at = d->captured_at;
	r->userid = k->userid;
	r->dbid = k->dbid;
	r->queryid = k->queryid;
	r->planid = k->planid;
	r->exec_ms = d->exec_ms;
	r->plan_truncated = d->plan_truncated;
	r->reason = d->reason;
	r->trace = d->trace;
	r->query = text;
	r->plan = (d->query_len < text_len) ? text + d->query_len + 1 : text + text_len;
}

/* Copy every snapshot out (entries still being filled in are left out). */
SnapshotRow *
snapshots_read(int *nrows)
{
	void	   *rows;
	SnapshotRow *r;
	int			n,
				kept = 0;

	n = table_read(snapshots, sizeof(SnapshotRow), true, emit_snapshot, NULL, &rows);
	r = (SnapshotRow *) rows;
	for (int i = 0; i < n; i++)
		if (r[i].snapshot_id != 0)
			r[kept++] = r[i];
	*nrows = kept;
	return r;
}

/* Entry and eviction counts, for latdiag_info. */
void
snapshots_info(int64 *entries, int64 *evictions)
{
	int64		truncated;
	TimestampTz reset;

	table_stats(snapshots, entries, evictions, &truncated, &reset);
}

/* Remove the snapshots matching (userid, dbid, queryid); 0 = any. */
void
snapshots_reset(Oid userid, Oid dbid, uint64 queryid)
{
	(void) table_reset(snapshots, userid, dbid, queryid);
}
