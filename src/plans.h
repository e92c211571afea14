/*
 * plans.h: plan identity, per-plan statistics and plan changes.
 */
#ifndef LATDIAG_PLANS_H
#define LATDIAG_PLANS_H

#include "executor/execdesc.h"
#include "nodes/plannodes.h"

#include "histogram.h"
#include "scans.h"

typedef struct PlanKey
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	uint64		planid;
} PlanKey;

/* A copy of one plan entry, as the views read it. */
typedef struct PlanRow
{
	PlanKey		key;
	int64		calls;
	double		total_exec;
	double		min_exec;
	double		max_exec;
	double		mean_exec;
	double		pct[3];			/* p50 p95 p99, -1 when no calls */
	TimestampTz first_seen;
	TimestampTz last_seen;
	bool		truncated;
	int			text_len;
	char	   *text;			/* EXPLAIN (COSTS OFF), in the reader's buffer */
} PlanRow;

/* One recorded plan change of a query. */
typedef struct PlanChangeRow
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	uint64		old_planid;
	uint64		new_planid;
	int64		changes;		/* how many times it switched this way */
	TimestampTz changed_at;		/* the last time */
} PlanChangeRow;

extern uint64 plan_id(PlannedStmt *stmt);
extern void plan_id_publish(PlannedStmt *stmt);
extern uint64 plan_id_of(PlannedStmt *stmt);
extern char *plan_explain(QueryDesc *queryDesc, bool analyze, int format,
						  int *len);

extern void plans_shmem_request(void);
extern void plans_shmem_startup(void);
extern Size plans_shmem_size(void);

extern int	plans_record(QueryDesc *queryDesc, uint64 queryid, uint64 planid,
						 uint64 previous_planid, double ms, int bucket,
						 bool *is_new, Oid *scan_relids);
struct PendBatch;
extern void plans_apply_batch(const struct PendBatch *b, uint64 previous_planid);
extern void plans_set_scans(uint64 queryid, uint64 planid, const Oid *relids,
							int nrelids);

extern PlanRow *plans_read(int *nrows, bool with_text);
extern PlanChangeRow *plans_read_changes(int *nrows);
extern void plans_info(int64 *entries, int64 *evictions, int64 *changes,
					   int64 *change_evictions);
extern void plans_reset(Oid userid, Oid dbid, uint64 queryid);

#endif
