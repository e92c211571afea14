/*
 * windows.h: time windows, baselines and regressions.
 *
 * The sampler worker closes a window every latdiag.window_interval from the
 * change in the query store's cumulative counters since the previous window
 * (the query path pays nothing).  Windows and named baselines live in
 * bounded shared tables (table.c), saved like every store.  See windows.c.
 */
#ifndef LATDIAG_WINDOWS_H
#define LATDIAG_WINDOWS_H

#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "histogram.h"

#define WINDOW_PLANS		4	/* plan ids kept per statement and window */
#define WINDOW_AGG_PLANS	16	/* plan ids kept per statement and period */
#define WINDOW_HIST_BYTES	240 /* sparse histogram of a statement's window */

/*
 * A statement in a window (seq = the window's number) or in a baseline (seq
 * = the baseline's id).  userid = dbid = queryid = 0 is the "other" row: the
 * statements not kept, summed.  Starts with TableKeyPrefix.
 */
typedef struct WindowKey
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	bool		toplevel;
	uint32		seq;
} WindowKey;

/* What a statement did in a window or a period; times in ms. */
typedef struct WindowCounters
{
	TimestampTz start;
	TimestampTz end;
	int64		calls;
	int64		rows;
	double		total_exec;
	int64		shared_blks_hit;
	int64		shared_blks_read;
	int64		temp_blks_read;
	int64		temp_blks_written;
	int64		lock_waits;
	double		lock_wait_ms;
	int32		statements;		/* "other" row: statements folded into it */
	int16		nplanids;
	int16		hist_merges;	/* neighbouring buckets merged to fit */
	uint64		planids[WINDOW_PLANS];
	int64		errors;			/* executions that ended in ERROR (1.5) */
} WindowCounters;

/* One window of the whole server. */
typedef struct WindowTotalRow
{
	uint32		seq;
	WindowCounters c;			/* statements = active statements */
	int32		other_statements;
	int64		other_calls;
	double		pct[3];			/* p50 p95 p99; -1 if no calls */
} WindowTotalRow;

/* One statement in one window, or in one baseline. */
typedef struct WindowQueryRow
{
	WindowKey	key;
	WindowCounters c;
	double		pct[3];
} WindowQueryRow;

/* A statement summed over a period (windows or a baseline). */
typedef struct PeriodStats
{
	WindowKey	key;			/* seq = 0 */
	WindowCounters c;			/* start/end: first and last window */
	int			nplanids;
	uint64		planids[WINDOW_AGG_PLANS];
	LatdiagHistogram hist;
} PeriodStats;

/* A period: its statements and the length of time its windows cover. */
typedef struct WindowPeriod
{
	HTAB	   *aggs;			/* WindowKey -> PeriodStats */
	double		seconds;		/* covered by its windows */
	int			nwindows;
	TimestampTz start;
	TimestampTz end;
} WindowPeriod;

/* One statement found worse than its baseline. */
typedef struct RegressionRow
{
	WindowKey	key;
	int64		recent_calls;
	int64		baseline_calls;
	int64		recent_errors;
	int64		baseline_errors;
	double		recent_pct[3];	/* p50 p95 p99 */
	double		baseline_pct[3];
	double		recent_mean;
	double		baseline_mean;
	double		factor;			/* recent p95 / baseline p95 */
	double		p_value;
	TimestampTz since;
	int			ncauses;
	const char *causes[6];
} RegressionRow;

/* A named baseline. */
typedef struct BaselineRow
{
	char		name[NAMEDATALEN];
	TimestampTz created;
	TimestampTz period_start;
	TimestampTz period_end;
	int32		statements;
	int64		calls;
} BaselineRow;

/* shared memory */
extern void windows_shmem_request(void);
extern void windows_shmem_startup(void);
extern Size windows_shmem_size(void);

/* the sampler worker */
extern void windows_worker_tick(TimestampTz now);
extern long windows_ms_to_close(TimestampTz now);

/* readers */
extern WindowTotalRow *windows_read_totals(int *nrows);
extern WindowQueryRow *windows_read_queries(int *nrows);
extern WindowPeriod *windows_period(TimestampTz from, TimestampTz to);
extern WindowPeriod *windows_baseline_period(const char *name);
extern RegressionRow *windows_regressions(WindowPeriod *recent,
										  WindowPeriod *baseline, int *nrows);

/* baselines */
extern int	windows_baseline_save(const char *name, TimestampTz from, TimestampTz to);
extern void windows_baseline_drop(const char *name);
extern bool windows_baseline_exists(const char *name);
extern BaselineRow *windows_baselines(int *nrows);

extern void windows_info(int64 *windows, int64 *rows, int64 *baselines);
extern void windows_reset(Oid userid, Oid dbid, uint64 queryid);

#endif
