/*
 * locks.h: heavyweight-lock waits per statement, with the blocker.
 *
 * A sampler background worker records each backend's lock waits in that
 * backend's shared slot; the backend charges them to its statement when the
 * statement ends (or as cancelled when it fails).  See locks.c.
 */
#ifndef LATDIAG_LOCKS_H
#define LATDIAG_LOCKS_H

#include "utils/hsearch.h"
#include "utils/timestamp.h"

/* A copy of one entry of the lock-wait store, as the view reads it. */
typedef struct LockWaitRow
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	uint8		locktype;		/* LockTagType */
	uint8		mode;			/* LOCKMODE */
	Oid			relid;
	uint64		blocker_queryid;
	Oid			blocker_userid;
	int32		blocker_pid;	/* of the last wait */
	int			blocker_state;	/* LockBlockerState of the last wait */
	int64		waits;
	int64		cancelled;
	double		total_ms;
	double		max_ms;
	double		max_blocker_xact_ms;
	TimestampTz last_seen;
	char	   *blocker_text;	/* as pg_stat_activity showed it; NULL if none */
} LockWaitRow;

/* What the blocker was doing, as pg_stat_activity.state says it. */
typedef enum LockBlockerState
{
	BLOCKER_UNKNOWN = 0,		/* not found (ended, or no blocker seen) */
	BLOCKER_ACTIVE,
	BLOCKER_IDLE,
	BLOCKER_IDLE_IN_XACT,
	BLOCKER_IDLE_IN_XACT_ABORTED,
	BLOCKER_FASTPATH,
	BLOCKER_DISABLED,			/* track_activities = off */
	BLOCKER_PREPARED			/* a prepared transaction */
} LockBlockerState;

/* Per-(userid, dbid, queryid) totals, for latdiag_queries. */
typedef struct LockQueryTotals
{
	Oid			userid;			/* the key: TableKeyPrefix */
	Oid			dbid;
	uint64		queryid;
	int64		waits;
	double		total_ms;
} LockQueryTotals;

/* The backend's "records pending" counter in its slot; NULL until attached. */
extern PGDLLIMPORT volatile uint32 *locks_my_pending;

extern void locks_shmem_request(void);
extern void locks_shmem_startup(void);
extern Size locks_shmem_size(void);
extern void locks_register_sampler(void);
extern void locks_on_abort(void);

extern void locks_attach_backend(void);
extern double locks_charge(uint64 queryid, bool keep, bool cancelled);

/*
 * A statement ends: charge the lock waits the sampler recorded for this
 * backend to it.  The common case is one load and one test.  A statement
 * that is not tracked discards them at the top level (so that they are not
 * charged to the next statement) and leaves them to its caller when nested.
 * Returns the wait time charged.
 */
static inline double
locks_statement_end(uint64 queryid, bool tracked, bool toplevel)
{
	if (unlikely(locks_my_pending == NULL))
		locks_attach_backend();
	if (unlikely(*locks_my_pending != 0) && (tracked || toplevel))
		return locks_charge(queryid, tracked, false);
	return 0.0;
}

extern LockWaitRow *locks_read(int *nrows, bool with_text);
extern HTAB *locks_query_totals(void);
extern const char *locks_state_name(int state);
extern void locks_info(int64 *entries, int64 *evictions, int64 *dropped);
extern void locks_reset(Oid userid, Oid dbid, uint64 queryid);

#endif
