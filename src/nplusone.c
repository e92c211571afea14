/*
 * nplusone.c: N+1 query patterns, detected in each backend.
 *
 * Each backend keeps, in its own memory, a ring of the statements it ran
 * last (queryid, nesting level, rows: what a new run needs of its parent)
 * and a few open *runs*: for each recent (queryid, level), the calls since
 * the run began, their first start and last end, rows, the sketch of their
 * constant or parameter values, and the transaction they began in.  A run continues while
 * calls of its statement keep coming at most latdiag.n_plus_one_max_gap
 * apart, whatever else runs in between, so interleaved loops (A B B B A B B
 * B) are a run of A and a run of B.  It ends at the first call after a
 * longer gap, at the end of the transaction block it began in, when the run
 * table is full and it is the least recently used, when this backend reads
 * latdiag_n_plus_one, or when the session ends.  Only then is it judged:
 *
 *   - at least latdiag.n_plus_one_min_calls calls, at least
 *     latdiag.n_plus_one_min_time from the first call's start to the last
 *     call's end (client round trips included), and at least 2 calls per
 *     execution of the parent (a request that runs the same statements once
 *     each, over and over, is not a loop), and at most one unrelated
 *     statement per 4 calls in between (statements of nested loops, whose
 *     parent chain of loop bodies leads to this run, are not unrelated):
 *     an *episode*;
 *   - INSERT, UPDATE, DELETE or MERGE: kind 'write_loop';
 *   - at least 80% distinct parameter values and at most
 *     latdiag.n_plus_one_max_rows rows per call: kind 'read', the N+1;
 *   - fewer than 80% distinct values: kind 'duplicate';
 *   - otherwise (distinct values, many rows each) nothing.
 *
 * The parent is the different statement that started just before the run's
 * first call at the same nesting level.  Rows returned by the parent before
 * and during the run are summed; the closer they are to the number of calls,
 * the higher the episode's confidence.
 *
 * Nothing on the query path touches shared memory: an episode is added to
 * one bounded shared table (table.c), keyed by (userid, dbid, child queryid,
 * parent queryid, kind, toplevel), when it ends.
 *
 * Parameter values: literals of the simple protocol are hashed from the
 * statement's text (from its first constant to its end) in
 * post_parse_analyze; bound parameters (extended protocol, EXECUTE,
 * PL/pgSQL variables) from the executor's ParamListInfo, fetched
 * speculatively (no errors, no side effects).  Distinct values are counted
 * with a 1024-bit linear-counting sketch per run.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "common/hashfn.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "pgstat.h"
#include "port/pg_bitutils.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "utils/lsyscache.h"

#include "guc.h"
#include "nplusone.h"
#include "table.h"

#define NP_FILE			PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag_n_plus_one.stat"
#define NP_FILE_VERSION	1

#define NP_RING			16		/* recent statements remembered */
#define NP_RUNS			16		/* runs open at once */
#define NP_LEVELS		8		/* nesting levels watched */
#define NP_BITS			1024	/* distinct-value sketch, bits per run */
#define NP_MIN_DISTINCT 0.8		/* share of distinct values of an N+1 */
#define NP_MIN_FANOUT	2		/* calls per execution of the parent */
#define NP_MAX_FOREIGN	0.25	/* unrelated statements per call */

const char *const np_kind_names[] = {"read", "duplicate", "write_loop"};

typedef struct NpKey
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;		/* the child */
	uint64		parent_queryid;
	int32		kind;
	bool		toplevel;
	char		pad[3];			/* zero */
} NpKey;

typedef struct NpData
{
	int64		episodes;
	int64		child_calls;
	int64		max_calls;
	double		round_trip_ms;
	double		child_exec_ms;
	double		child_rows;
	double		confidence_sum;
	double		distinct_sum;
	TimestampTz first_seen;
	TimestampTz last_seen;
} NpData;

/*
 * One finished statement, in the ring: what a new run needs to know of its
 * parent.  (Times, value hashes and transactions live in the runs.)
 */
typedef struct NpStatement
{
	uint64		queryid;
	int			level;
	uint64		rows;
} NpStatement;

/* An open run of one statement at one level. */
typedef struct NpRun
{
	bool		write;
	bool		in_block;		/* began inside BEGIN ... COMMIT */
	int			level;
	uint64		queryid;
	uint64		parent_queryid;
	Oid			userid;
	Oid			dbid;
	LocalTransactionId lxid;
	int64		calls;
	double		first_start;
	double		last_end;
	double		exec_ms;
	double		rows;
	double		parent_rows;
	int64		parent_execs;	/* the parent's executions, before and during */
	int64		foreign;		/* other statements during the run, not in its loop */
	uint64		last_used;		/* statement counter, for replacement */
	uint64		bits[NP_BITS / 64];
} NpRun;

static TableDef np_def;
static Table *np_table = NULL;

static NpStatement ring[NP_RING];
static int	ring_next = 0;
static NpRun runs[NP_RUNS];		/* the open ones first */
static int	nruns = 0;
static uint64 statements = 0;
static bool exit_flush_registered = false;

/* Per level: the statement started last, and the different one before it. */
static uint64 started[NP_LEVELS];
static uint64 started_before[NP_LEVELS];

/* Hash of the literals of the statement parsed last. */
static uint64 const_queryid = 0;
static uint64 const_hash = 0;

static const TableDef *
np_table_def(void)
{
	np_def.name = "postgres_latdiag n+1";
	np_def.key_size = sizeof(NpKey);
	np_def.data_size = sizeof(NpData);
	np_def.max_entries = latdiag_max_n_plus_one;
	np_def.max_text = 0;		/* texts come from the query store */
	np_def.file = NP_FILE;
	np_def.file_version = NP_FILE_VERSION;
	np_def.save = &latdiag_save;
	return &np_def;
}

/* Ask for the table's memory; from shmem_request_hook. */
void
nplusone_shmem_request(void)
{
	table_request(np_table_def());
}

/* Attach the table; from shmem_startup_hook. */
void
nplusone_shmem_startup(void)
{
	np_table = table_attach(np_table_def());
}

/* Shared memory of the table. */
Size
nplusone_shmem_size(void)
{
	return table_shmem_size(np_table_def());
}

/* Milliseconds on the monotonic clock. */
static inline double
now_ms(void)
{
	instr_time	t;

	INSTR_TIME_SET_CURRENT(t);
	return INSTR_TIME_GET_MILLISEC(t);
}

/*
 * Remember a hash of a statement's literals: its text from the first
 * constant to its end.  Two executions of one queryid with the same hash ran
 * with the same constants.
 */
void
nplusone_note_constants(uint64 queryid, const char *query, int loc, int len,
						CompatJumbleState *jstate)
{
	int			first = INT_MAX;

	const_queryid = queryid;
	const_hash = 0;
	if (jstate == NULL || jstate->clocations_count == 0 || query == NULL)
		return;
	for (int i = 0; i < jstate->clocations_count; i++)
	{
		/* a $n of the text is the same in every call: its value is a parameter */
		if (!compat_location_is_param(&jstate->clocations[i]))
			first = Min(first, jstate->clocations[i].location);
	}
	if (loc < 0)
		loc = 0;
	if (len <= 0)
		len = strlen(query + loc);
	if (first < loc || first >= loc + len)
		return;
	const_hash = hash_bytes_extended((const unsigned char *) query + first,
									 loc + len - first, 0) | 1;
}

/* A hash of one parameter's value. */
static uint64
param_hash(ParamExternData *prm)
{
	int16		typlen;
	bool		typbyval;

	if (prm->isnull)
		return 0x9e3779b97f4a7c15ULL;
	if (!OidIsValid(prm->ptype))
		return (uint64) prm->value;
	get_typlenbyval(prm->ptype, &typlen, &typbyval);
	if (typbyval)
		return hash_bytes_extended((const unsigned char *) &prm->value,
								   sizeof(Datum), 0);
	if (typlen == -1)
	{
		struct varlena *v = (struct varlena *) DatumGetPointer(prm->value);

		return hash_bytes_extended((const unsigned char *) VARDATA_ANY(v),
								   VARSIZE_ANY_EXHDR(v), 0);
	}
	if (typlen == -2)
		return hash_bytes_extended((const unsigned char *) DatumGetPointer(prm->value),
								   strlen(DatumGetCString(prm->value)), 0);
	return hash_bytes_extended((const unsigned char *) DatumGetPointer(prm->value),
							   typlen, 0);
}

/* A hash of the values an execution ran with: literals and parameters. */
static uint64
values_hash(QueryDesc *queryDesc, uint64 queryid)
{
	ParamListInfo params = queryDesc->params;
	uint64		h = (queryid == const_queryid) ? const_hash : 0;

	if (params == NULL || params->numParams <= 0)
		return h;
	for (int i = 0; i < params->numParams; i++)
	{
		ParamExternData *prm;
		ParamExternData workspace;

		if (params->paramFetch != NULL)
			prm = params->paramFetch(params, i + 1, true, &workspace);
		else
			prm = &params->params[i];
		if (prm == NULL)
			continue;
		h = hash_combine64(h, param_hash(prm));
	}
	return h | 1;
}

/* Distinct values seen by a run, estimated by linear counting. */
static double
run_distinct(const NpRun *r)
{
	int			set = 0;
	int			zero;

	for (int i = 0; i < NP_BITS / 64; i++)
		set += pg_popcount64(r->bits[i]);
	zero = NP_BITS - set;
	if (zero == 0)
		return (double) r->calls;
	return Min((double) r->calls, -NP_BITS * log((double) zero / NP_BITS));
}

/* Add one finished episode to the shared table. */
static void
episode_add(const NpRun *r, NpKind kind, double distinct_ratio)
{
	NpKey		key;
	NpData	   *d;
	double		confidence = 0.0;
	TimestampTz now = GetCurrentTimestamp();
	uint32		hint;

	if (np_table == NULL)
		return;
	memset(&key, 0, sizeof(key));
	key.userid = r->userid;
	key.dbid = r->dbid;
	key.queryid = r->queryid;
	key.parent_queryid = r->parent_queryid;
	key.kind = kind;
	key.toplevel = (r->level == 0);
	hint = (uint32) (r->queryid ^ r->parent_queryid);

	if (r->parent_queryid != 0 && r->parent_rows > 0)
		confidence = Min(r->parent_rows, (double) r->calls) /
			Max(r->parent_rows, (double) r->calls);

	d = table_lock(np_table, &key, hint);
	if (d == NULL)
		d = table_create_lock(np_table, &key, hint, NULL, 0);
	if (d == NULL)
		return;
	if (d->episodes == 0)
		d->first_seen = now;
	d->episodes++;
	d->child_calls += r->calls;
	d->max_calls = Max(d->max_calls, r->calls);
	d->round_trip_ms += r->last_end - r->first_start;
	d->child_exec_ms += r->exec_ms;
	d->child_rows += r->rows;
	d->confidence_sum += confidence;
	d->distinct_sum += distinct_ratio;
	d->last_seen = now;
	table_unlock(np_table, d, 1.0);
}

/* End a run: judge it, record it if it is an episode, free its place. */
static void
run_close(NpRun *r)
{
	double		distinct_ratio;
	NpKind		kind;

	if (r->calls < latdiag_n_plus_one_min_calls ||
		r->last_end - r->first_start < latdiag_n_plus_one_min_time ||
		r->calls < NP_MIN_FANOUT * r->parent_execs ||
		r->foreign > r->calls * NP_MAX_FOREIGN)
		return;

	distinct_ratio = run_distinct(r) / r->calls;
	if (r->write)
		kind = NP_WRITE_LOOP;
	else if (distinct_ratio < NP_MIN_DISTINCT)
		kind = NP_DUPLICATE;
	else if (r->rows / r->calls <= latdiag_n_plus_one_max_rows)
		kind = NP_READ;
	else
		return;					/* a loop of bulk fetches: not N+1 */
	episode_add(r, kind, distinct_ratio);
}

/* Rows of the most recent finished execution of queryid at level, or 0. */
static uint64
ring_rows(uint64 queryid, int level)
{
	for (int i = 1; i <= NP_RING; i++)
	{
		NpStatement *s = &ring[(ring_next - i + NP_RING) % NP_RING];

		if (s->queryid == queryid && s->level == level)
			return s->rows;
	}
	return 0;
}

/*
 * Does run's statement run inside ancestor's loop: is ancestor its parent,
 * or its parent's parent (among the open runs), up to 4 levels, where each
 * run on the way is a loop body itself (at least one call per execution of
 * its parent)?  In a mix of independent requests, the statements that happen
 * to follow one another are not nested loops, and stay foreign.
 */
static bool
run_descends(const NpRun *run, const NpRun *ancestor)
{
	for (int depth = 0; depth < 4; depth++)
	{
		uint64		parent = run->parent_queryid;
		const NpRun *up = NULL;

		if (parent == 0 || run->calls < run->parent_execs)
			return false;
		if (parent == ancestor->queryid)
			return true;
		for (int i = 0; i < nruns; i++)
			if (runs[i].queryid == parent && runs[i].level == run->level)
				up = &runs[i];
		if (up == NULL)
			return false;
		run = up;
	}
	return false;
}

/* At session end, record the runs still open. */
static void
flush_at_exit(int code, Datum arg)
{
	if (code == 0)
		nplusone_flush();
}

/* End every open run now (the reader wants its own loops counted). */
void
nplusone_flush(void)
{
	for (int i = 0; i < nruns; i++)
		run_close(&runs[i]);
	nruns = 0;
}

/* A statement is starting at this nesting level (ExecutorStart). */
void
nplusone_start(uint64 queryid, int level)
{
	if (level >= NP_LEVELS || started[level] == queryid)
		return;
	started_before[level] = started[level];
	started[level] = queryid;
}

/* A statement finished (ExecutorEnd): add it to the ring and the runs. */
void
nplusone_record(QueryDesc *queryDesc, uint64 queryid, int level,
				double exec_ms, uint64 rows)
{
	double		end;
	double		start;
	double		gap = latdiag_n_plus_one_max_gap;
	LocalTransactionId lxid = compat_my_lxid();
	NpStatement *s;
	NpRun	   *match = NULL;
	uint64		hash;

	if (level >= NP_LEVELS)
		return;
	if (!exit_flush_registered)
	{
		before_shmem_exit(flush_at_exit, (Datum) 0);
		exit_flush_registered = true;
	}

	end = now_ms();
	start = end - exec_ms;
	hash = values_hash(queryDesc, queryid);
	statements++;

	/* the ring of recent statements */
	s = &ring[ring_next];
	ring_next = (ring_next + 1) % NP_RING;
	s->queryid = queryid;
	s->level = level;
	s->rows = rows;

	/*
	 * The open runs (runs[0 .. nruns-1]): end the stale ones, find this
	 * statement's, count the parent's rows.
	 */
	for (int i = 0; i < nruns; i++)
	{
		NpRun	   *r = &runs[i];

		if (start - r->last_end > gap || (r->in_block && r->lxid != lxid))
		{
			run_close(r);
			runs[i] = runs[--nruns];	/* keep the open runs together */
			i--;
			continue;
		}
		if (r->queryid == queryid && r->level == level)
			match = r;
	}

	if (match == NULL)
	{
		/* a new run; the least recently used one makes room if needed */
		if (nruns < NP_RUNS)
			match = &runs[nruns++];
		else
		{
			match = &runs[0];
			for (int i = 1; i < NP_RUNS; i++)
				if (runs[i].last_used < match->last_used)
					match = &runs[i];
			run_close(match);
		}
		memset(match, 0, sizeof(NpRun));
		match->write = queryDesc->operation != CMD_SELECT;
		match->level = level;
		match->queryid = queryid;
		match->userid = GetUserId();
		match->dbid = MyDatabaseId;
		match->in_block = IsTransactionBlock();
		match->lxid = lxid;
		match->first_start = start;
		if (started_before[level] != queryid && started[level] == queryid)
			match->parent_queryid = started_before[level];
		if (match->parent_queryid != 0)
			match->parent_rows = ring_rows(match->parent_queryid, level);
		match->parent_execs = 1;
	}
	match->calls++;
	match->last_end = end;
	match->exec_ms += exec_ms;
	match->rows += rows;
	match->last_used = statements;
	match->bits[(hash >> 32) % NP_BITS / 64] |= UINT64CONST(1) << ((hash >> 32) % 64);

	/*
	 * For the other runs at this level, this statement is their parent
	 * running again (the outer loop), part of their loop (it descends from
	 * them), or foreign.
	 */
	for (int i = 0; i < nruns; i++)
	{
		NpRun	   *r = &runs[i];

		if (r == match || r->level != level)
			continue;
		if (r->parent_queryid == queryid)
		{
			r->parent_rows += rows;
			r->parent_execs++;
		}
		else if (!run_descends(match, r))
			r->foreign++;
	}
}

/* table_read callback: one NpRow. */
static void
emit_np(void *row, const void *key, const void *data, char *text,
		int text_len, bool truncated, void *arg)
{
	NpRow	   *r = (NpRow *) row;
	const NpKey *k = (const NpKey *) key;
	const NpData *d = (const NpData *) data;

	r->userid = k->userid;
	r->dbid = k->dbid;
	r->child_queryid = k->queryid;
	r->parent_queryid = k->parent_queryid;
	r->kind = (NpKind) k->kind;
	r->toplevel = k->toplevel;
	r->episodes = d->episodes;
	r->child_calls = d->child_calls;
	r->max_calls = d->max_calls;
	r->round_trip_ms = d->round_trip_ms;
	r->child_exec_ms = d->child_exec_ms;
	r->child_rows = d->child_rows;
	r->confidence_sum = d->confidence_sum;
	r->distinct_sum = d->distinct_sum;
	r->first_seen = d->first_seen;
	r->last_seen = d->last_seen;
}

/* Copy every entry out. */
NpRow *
nplusone_read(int *nrows)
{
	void	   *rows;

	*nrows = table_read(np_table, sizeof(NpRow), false, emit_np, NULL, &rows);
	return (NpRow *) rows;
}

/* Entry and eviction counts, for latdiag_info. */
void
nplusone_info(int64 *entries, int64 *evictions, int64 *episodes)
{
	int64		truncated;
	TimestampTz reset;
	NpRow	   *rows;
	int			n;

	table_stats(np_table, entries, evictions, &truncated, &reset);
	*episodes = 0;
	rows = nplusone_read(&n);
	for (int i = 0; i < n; i++)
		*episodes += rows[i].episodes;
	pfree(rows);
}

/* Remove the entries matching (userid, dbid, child queryid); 0 = any. */
void
nplusone_reset(Oid userid, Oid dbid, uint64 queryid)
{
	(void) table_reset(np_table, userid, dbid, queryid);
}
