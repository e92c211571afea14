/*
 * snapshots.h: EXPLAIN ANALYZE snapshots of slow executions.
 */
#ifndef LATDIAG_SNAPSHOTS_H
#define LATDIAG_SNAPSHOTS_H

#include "executor/execdesc.h"

#include "slowexec.h"

/* Why a snapshot was taken (latdiag_explain_snapshots.reason). */
typedef enum SnapReason
{
	SNAP_REASON_NONE = 0,
	SNAP_REASON_THRESHOLD,		/* at least latdiag.snapshot_min_duration */
	SNAP_REASON_TAIL,			/* slower than its statement's recent p99 */
	SNAP_REASON_SAMPLED			/* armed by the random draw only */
} SnapReason;

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
	int			reason;			/* a SnapReason */
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

/*
 * Is an execution of ms milliseconds worth a snapshot (the threshold, or the
 * floor of the tail rule; snapshots_consider checks the rest)?
 */
static inline bool
snapshots_may_keep(double ms, int min_duration, int tail_min_duration)
{
	return min_duration >= 0 &&
		(ms >= min_duration || (tail_min_duration >= 0 && ms >= tail_min_duration));
}

extern bool snapshots_sampled(void);
extern int	snapshots_instrument_options(int why);
extern void snapshots_note_armed(QueryDesc *queryDesc, int level, int reason);
extern void snapshots_consider(QueryDesc *queryDesc, uint64 queryid,
							   uint64 planid, double ms, bool toplevel,
							   int level);
extern const char *snapshots_reason_name(int reason);

extern SnapshotRow *snapshots_read(int *nrows);
extern void snapshots_info(int64 *entries, int64 *evictions);
extern void snapshots_reset(Oid userid, Oid dbid, uint64 queryid);

#endif
