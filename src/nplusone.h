/*
 * nplusone.h: N+1 query patterns, detected in each backend.
 */
#ifndef LATDIAG_NPLUSONE_H
#define LATDIAG_NPLUSONE_H

#include "executor/execdesc.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "compat.h"

/* What an episode was. */
typedef enum NpKind
{
	NP_READ,					/* one read per parent row, distinct parameters */
	NP_DUPLICATE,				/* the same parameters fetched again and again */
	NP_WRITE_LOOP,				/* one INSERT/UPDATE/DELETE per row */
	NP_READ_LOOP				/* distinct reads in a loop, with no parent */
} NpKind;

/* A copy of one entry, as the view reads it. */
typedef struct NpRow
{
	Oid			userid;
	Oid			dbid;
	uint64		child_queryid;
	uint64		parent_queryid; /* 0: the loop has no parent */
	NpKind		kind;
	bool		toplevel;
	int64		episodes;
	int64		child_calls;
	int64		max_calls;
	double		round_trip_ms;	/* first child's start to last child's end */
	double		child_exec_ms;	/* time spent executing the children */
	double		child_rows;
	double		confidence_sum; /* per episode: parent rows vs children */
	double		distinct_sum;	/* per episode: distinct parameter ratio */
	TimestampTz first_seen;
	TimestampTz last_seen;
} NpRow;

extern const char *const np_kind_names[];

extern void nplusone_shmem_request(void);
extern void nplusone_shmem_startup(void);
extern Size nplusone_shmem_size(void);

/* capture, from the hooks */
/*
 * Is a statement run by the server on the client's behalf: inside a trigger
 * (a referential-integrity check, immediate or deferred to commit, or a
 * trigger body, and whatever they call)?  Core counts the trigger functions
 * it is inside (MyTriggerDepth, what pg_trigger_depth() returns; it reads
 * no argument).
 */
static inline bool
nplusone_skip(void)
{
	return DatumGetInt32(pg_trigger_depth(NULL)) > 0;
}
extern void nplusone_note_constants(uint64 queryid, const char *query, int loc,
									int len, CompatJumbleState *jstate);
extern void nplusone_start(uint64 queryid, int level);
extern void nplusone_record(QueryDesc *queryDesc, uint64 queryid, int level,
							double exec_ms, uint64 rows, double end_ms);
extern void nplusone_flush(void);

/* reading and resetting */
extern NpRow *nplusone_read(int *nrows);
extern void nplusone_info(int64 *entries, int64 *evictions, int64 *episodes);
extern void nplusone_reset(Oid userid, Oid dbid, uint64 queryid);

#endif
