/*
 * store.h: the shared query store.
 *
 * Entries are keyed by (userid, dbid, queryid, toplevel).  See store.c for
 * the layout and the locking protocol.
 */
#ifndef LATDIAG_STORE_H
#define LATDIAG_STORE_H

#include "executor/instrument.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "histogram.h"

typedef struct StoreKey
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	bool		toplevel;
} StoreKey;

/* What one entry counts.  Times in milliseconds. */
typedef struct StoreCounters
{
	int64		calls;
	int64		rows;
	double		total_exec;
	double		min_exec;
	double		max_exec;
	double		mean_exec;
	double		m2_exec;		/* sum of squared deviations (Welford) */
	int64		plans;
	double		total_plan;
	double		min_plan;
	double		max_plan;
	double		mean_plan;
	double		m2_plan;
	int64		shared_blks_hit;
	int64		shared_blks_read;
	int64		shared_blks_dirtied;
	int64		shared_blks_written;
	int64		local_blks_hit;
	int64		local_blks_read;
	int64		local_blks_dirtied;
	int64		local_blks_written;
	int64		temp_blks_read;
	int64		temp_blks_written;
	double		blk_read_time;
	double		blk_write_time;
	int64		wal_records;
	int64		wal_fpi;
	uint64		wal_bytes;
	TimestampTz first_seen;
	TimestampTz last_seen;
	uint64		last_planid;	/* plan of the last execution */
	/* version 1.4: as pg_stat_statements counts them (see compat.h) */
	double		temp_blk_read_time;
	double		temp_blk_write_time;
	double		shared_blk_read_time;	/* 17 and later */
	double		shared_blk_write_time;
	double		local_blk_read_time;
	double		local_blk_write_time;
	int64		jit_functions;
	double		jit_generation_time;
	int64		jit_inlining_count;
	double		jit_inlining_time;
	int64		jit_optimization_count;
	double		jit_optimization_time;
	int64		jit_emission_count;
	double		jit_emission_time;
	int64		jit_deform_count;	/* 17 and later */
	double		jit_deform_time;
	int64		parallel_workers_to_launch; /* 18 and later */
	int64		parallel_workers_launched;
	int64		wal_buffers_full;
	int64		generic_plan_calls; /* 19 and later */
	int64		custom_plan_calls;
	TimestampTz minmax_stats_since; /* min/max times reset then */
	/* version 1.4: executions that ended in ERROR (not in calls) */
	int64		errors;
	double		error_time;		/* total time until the errors */
	double		min_error;
	double		max_error;
	int64		timeouts;		/* 57014: statement_timeout, cancel */
	int64		deadlocks;		/* 40P01 */
	int64		serialization_failures; /* 40001 */
	int64		lock_timeouts;	/* 55P03 */
} StoreCounters;

/*
 * The durations of failed executions, as histogram buckets: failures are
 * rare and cluster (a timeout fails at the same time every time), so a few
 * (bucket, count) pairs hold them; when all are taken, a new duration joins
 * the pair with the nearest bucket.
 */
#define STORE_FAIL_SLOTS 12
typedef struct StoreFailHist
{
	uint16		bucket[STORE_FAIL_SLOTS];
	uint32		count[STORE_FAIL_SLOTS];	/* 0: slot unused */
} StoreFailHist;

/*
 * Query shapes seen in executions (version 1.5): deep OFFSET pagination and
 * unbounded reads, counted only when an execution is flagged.
 */
typedef struct StoreShapes
{
	int64		offset_calls;	/* executions with OFFSET >= latdiag.large_offset */
	int64		max_offset;
	double		offset_time;	/* their total execution time */
	int64		unbounded_calls;	/* no LIMIT, rows >= latdiag.unbounded_rows */
	int64		max_unbounded_rows;
	double		unbounded_time;
} StoreShapes;

typedef enum StoreShape
{
	STORE_SHAPE_NONE = 0,
	STORE_SHAPE_DEEP_OFFSET,
	STORE_SHAPE_UNBOUNDED
} StoreShape;

/* A consistent copy of one entry, as the views read it. */
typedef struct StoreRow
{
	StoreKey	key;
	StoreCounters c;
	bool		truncated;
	int			text_len;
	char	   *text;			/* points into the reader's text buffer */
	double		pct[5];			/* p50 p90 p95 p99 p99.9, -1 when no calls */
	double		pct_all[5];		/* the same over finished and failed executions */
	StoreShapes shapes;
	double		tail_p99;		/* recent p99 as the sampler last computed it; 0: unknown */
} StoreRow;

/* What one finished execution, planning or utility statement measured. */
typedef struct StoreSample
{
	double		ms;
	uint64		rows;
	const BufferUsage *bufusage;	/* may be NULL */
	const WalUsage *walusage;	/* may be NULL */
	int			bucket;			/* executions: hist_bucket(ms) */
	uint64		planid;			/* executions: the plan's id */
	const struct JitInstrumentation *jit;	/* executions: may be NULL */
	int			parallel_workers_to_launch; /* executions */
	int			parallel_workers_launched;
	int8		plan_origin;	/* executions: 1 generic, 2 custom, else 0 */
	int8		shape;			/* executions: a StoreShape */
	int64		shape_value;	/* the offset, or the rows, of a flagged shape */
} StoreSample;

typedef enum StoreSampleKind
{
	STORE_EXEC,					/* an execution: counts a call and its latency */
	STORE_PLAN					/* a planning: counts a plan and its time */
} StoreSampleKind;

/* The data of one entry: guarded by the entry's spinlock. */
typedef struct StoreData
{
	StoreCounters c;
	LatdiagHistogram hist;
	StoreFailHist fail;
	StoreShapes shapes;			/* version 1.5 */
	double		tail_p99;		/* the statement's recent p99 (ms), set by the
								 * sampler worker (store_set_tail); 0: unknown */
	bool		tail_heavy;		/* and it is at least STORE_TAIL_RATIO x p50 */
} StoreData;

/*
 * A statement's tail is heavy (worth arming for tail snapshots, when its p99
 * also reaches latdiag.snapshot_tail_min_duration) when its recent p99 is at
 * least this many times its recent p50: a statement that always takes 100 ms
 * has no tail to explain, and arming all its executions would cost ~10%.
 */
#define STORE_TAIL_RATIO 4.0

/* A copy of one entry with its histogram, for the window worker. */
typedef struct StoreHistRow
{
	StoreKey	key;
	StoreData	d;
} StoreHistRow;

/* shared memory */
extern void store_shmem_request(void);
extern void store_shmem_startup(void);
extern bool store_ready(void);
extern void store_require_ready(void);

/* capture, from the hooks */
extern void store_note_parse(uint64 queryid, bool toplevel, const char *query,
							 int loc, int len, CompatJumbleState *jstate);
extern uint64 store_record(uint64 queryid, bool toplevel, StoreSampleKind kind,
						   const StoreSample *s, const char *query, int loc, int len);
extern int	store_arm_reason(uint64 queryid, bool toplevel);
extern double store_memo_tail(uint64 queryid, bool toplevel, double *total_exec);
extern void store_set_tail(Oid userid, Oid dbid, uint64 queryid, bool toplevel,
						   double p99, bool heavy);
struct PendBatch;
extern uint64 store_apply_batch(const struct PendBatch *b);
extern bool store_record_error(Oid userid, Oid dbid, uint64 queryid,
							   bool toplevel, double ms, int sqlerrcode);

/* reading and resetting, from the SQL functions */
extern StoreRow *store_read(int *nrows, bool with_text);
extern StoreHistRow *store_read_hist(int *nrows);
extern bool store_histogram(uint64 queryid, bool all_users, Oid reader,
							LatdiagHistogram *out);
extern void store_info(int64 *entries, int64 *evictions, int64 *truncated,
					   TimestampTz *stats_reset, Size *shmem);
extern void store_reset(Oid userid, Oid dbid, uint64 queryid);
extern void store_reset_minmax(Oid userid, Oid dbid, uint64 queryid);

#endif
