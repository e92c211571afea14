/*
 * snapshots.h: EXPLAIN ANALYZE snapshots of slow executions.
 */
#ifndef LATDIAG_SNAPSHOTS_H
#define LATDIAG_SNAPSHOTS_H

#include "executor/execdesc.h"

#include "slowexec.h"

/* A copy of one snapshot, as the views read it. */
typedef struct SnapshotRow
{
	int64		snapshot_id;
	TimestampTz captured_at;
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	uint64		planid;
	double		exec_ms;
	bool		plan_truncated;
	TraceContext trace;			/* of a sqlcommenter traceparent */
	char	   *query;			/* as executed, with constants */
	char	   *plan;			/* EXPLAIN (ANALYZE, BUFFERS) output */
} SnapshotRow;

extern void snapshots_shmem_request(void);
extern void snapshots_shmem_startup(void);
extern Size snapshots_shmem_size(void);

/* Is an execution of ms milliseconds slow enough for a snapshot? */
static inline bool
snapshots_is_slow(double ms, int min_duration)
{
	return min_duration >= 0 && ms >= min_duration;
}

extern bool snapshots_sampled(void);
extern int	snapshots_instrument_options(void);
extern void snapshots_consider(QueryDesc *queryDesc, uint64 queryid,
							   uint64 planid, double ms);

extern SnapshotRow *snapshots_read(int *nrows);
extern void snapshots_info(int64 *entries, int64 *evictions);
extern void snapshots_reset(Oid userid, Oid dbid, uint64 queryid);

#endif
