/*
 * nplusone.c: N+1 query patterns, detected in each backend.
 *
 * Each backend keeps, in its own memory, per nesting level the last few
 * different statements in the order they started (with the rows of their
 * last finished execution), and a few open *runs*:
 * for each recent (queryid, level), the calls since the run began, their
 * first start and last end, rows, the distinct values of their constants or
 * parameters, the transaction they began in, and up to NP_CANDS *candidate
 * parents* with what each did during the run.  A run continues while calls
 * of its statement keep coming at most latdiag.n_plus_one_max_gap apart,
 * whatever else runs in between, so interleaved loops are a run each:
 *
 *     P  U I R R R  U I R R R  ...     orders; per order its user (U) and
 *                                      its items (I); per item its product (R)
 *
 * A run ends at the first call after a longer gap, at the end of the
 * transaction block it began in, when the run table is full and it is the
 * least recently used, when this backend reads latdiag_n_plus_one, or when
 * the session ends.  Only then is it judged.
 *
 * THE PARENT.  The candidates are the different statements that started
 * before the run's first call at the same nesting level, nearest first (for
 * I above: U, then P; for R: I, U, P).  During the run each counts its
 * executions; each execution opens a window, in which the run's calls are
 * matched against the rows that execution returned.  The parent is the
 * nearest candidate the loop ran at least NP_MIN_FANOUT times per execution
 * of and, when its rows are known (not a cursor still open), whose rows
 * match the calls window by window (cand_match at least NP_MIN_MATCH): for
 * I, U runs as often as I does (a sibling, not a driver), so the parent is
 * P; for R it is I.  No such candidate: the run has no parent.
 *
 * EPISODES.  A run is an episode with at least latdiag.n_plus_one_min_calls
 * calls, at least latdiag.n_plus_one_min_time from the first call's start to
 * the last call's end (client round trips included), and at most one
 * unrelated statement per 4 calls in between.  Related are the candidates
 * (the parent running again, the siblings before the run in the parent's
 * loop body) and the statements whose own runs have this run among their
 * candidates, directly or through the candidates' own open runs (nested
 * loops, siblings after it); a connection serving a mix of independent
 * requests runs other statements in between.  Then:
 *
 *   - INSERT, UPDATE, DELETE or MERGE: kind 'write_loop';
 *   - fewer than 80% distinct parameter values: kind 'duplicate';
 *   - at most latdiag.n_plus_one_max_rows rows per call: kind 'read' (the
 *     N+1) with a parent, 'read_loop' without one (only in
 *     latdiag_n_plus_one_all(): nothing on this connection returned the
 *     keys it loops over);
 *   - otherwise (distinct values, many rows each) nothing.
 *
 * The confidence of an episode is the parent's cand_match: the sum over its
 * executions of min(rows, calls that followed) / the sum of max(...), 1 when
 * each execution returned exactly as many rows as the loop then ran calls,
 * 0 without a parent or when its rows are unknown.
 *
 * ONLY WHAT THE CLIENT SENT.  Statements run inside a trigger (the
 * referential-integrity checks of ri_triggers.c, immediate or deferred to
 * commit, and trigger bodies) are neither parents nor children: hooks.c
 * leaves them out (nplusone_skip).
 *
 * RESET.  A run notes the N+1 table's reset count (table_resets, one atomic
 * read) when it begins; a run that began before a latdiag_reset() in any
 * session is never recorded.
 *
 * Nothing on the query path writes shared memory: an episode is added to
 * one bounded shared table (table.c), keyed by (userid, dbid, child queryid,
 * parent queryid, kind, toplevel), when it ends.
 *
 * PARAMETER VALUES.  Literals of the simple protocol are hashed from the
 * statement's text (from its first constant to its end) in
 * post_parse_analyze; bound parameters (extended protocol, EXECUTE,
 * PL/pgSQL variables) from the executor's ParamListInfo, fetched
 * speculatively (no errors, no side effects).  Distinct values are counted
 * exactly up to NP_EXACT (a 64-slot set of 32-bit fingerprints), then with
 * a HyperLogLog of 2^NP_HLL_BITS one-byte registers (standard error 3.3%;
 * exact counting below keeps short loops exact).
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "pgstat.h"
#include "port/pg_bitutils.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"

#include "guc.h"
#include "nplusone.h"
#include "table.h"

#define NP_FILE			PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag_n_plus_one.stat"
#define NP_FILE_VERSION	1

#define NP_RUNS			16		/* runs open at once */
#define NP_LEVELS		8		/* nesting levels watched */
#define NP_CANDS		4		/* candidate parents of a run */
#define NP_EXACT		48		/* distinct values counted exactly */
#define NP_EXACT_SLOTS	64		/* their hash set (power of 2) */
#define NP_HLL_BITS		10		/* then: HyperLogLog of 1024 registers */
#define NP_HLL_REGS		(1 << NP_HLL_BITS)
#define NP_MIN_DISTINCT 0.8		/* share of distinct values of an N+1 */
#define NP_MIN_FANOUT	2		/* calls per execution of the parent */
#define NP_MIN_MATCH	0.6		/* calls vs parent rows, per parent execution */
#define NP_MAX_FOREIGN	0.25	/* unrelated statements per call */

const char *const np_kind_names[] = {"read", "duplicate", "write_loop", "read_loop"};

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
 * A candidate parent of a run, and what it did from just before the run on.
 * Each of its executions opens a *window* that lasts until the next one: the
 * run's calls in a window are matched against the rows of the execution
 * that opened it.
 */
typedef struct NpCand
{
	uint64		queryid;
	int64		execs;
	bool		rows_known;		/* false: a cursor still open (PL/pgSQL FOR) */
	double		win_rows;		/* rows of the execution that opened the window */
	double		win_calls;		/* the run's calls in the window */
	double		match_min;		/* sum over closed windows of min(rows, calls) */
	double		match_max;		/* ... and of max(rows, calls) */
	int32		windows;		/* closed windows with rows or calls */
	int32		exact;			/* ... of which calls == rows */
} NpCand;

/* An open run of one statement at one level. */
typedef struct NpRun
{
	bool		write;
	bool		in_block;		/* began inside BEGIN ... COMMIT */
	bool		sketching;		/* more than NP_EXACT distinct values: hll */
	int			level;
	int			ncands;
	int			ndistinct;		/* exact distinct values, while !sketching */
	uint64		queryid;
	Oid			userid;
	Oid			dbid;
	LocalTransactionId lxid;
	uint64		resets;			/* table_resets() when the run began */
	int64		calls;
	double		first_start;
	double		last_end;
	double		exec_ms;
	double		rows;
	int64		foreign;		/* other statements during the run, not in its loop */
	uint64		last_used;		/* statement counter, for replacement */
	NpCand		cands[NP_CANDS];	/* nearest first */
	uint32		exact[NP_EXACT_SLOTS];	/* fingerprints; 0 = empty */
	/* everything above is zeroed when a run begins; the registers on demand */
	uint8		hll[NP_HLL_REGS];
} NpRun;

static TableDef np_def;
static Table *np_table = NULL;

static NpRun run_slots[NP_RUNS];
static NpRun *runs[NP_RUNS];	/* the open ones first */
static int	nruns = 0;
static uint64 statements = 0;
static bool exit_flush_registered = false;

/*
 * Per level: the last different statements in the order they started, the
 * latest first (the run's own statement and its NP_CANDS candidates), and
 * the rows of each one's last execution since it started there; -1 while it
 * has not finished (a cursor, such as a PL/pgSQL FOR query, runs on).
 */
static uint64 started[NP_LEVELS][NP_CANDS + 1];
static int64 started_rows[NP_LEVELS][NP_CANDS + 1];

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
 * A hash of a statement's text from its first constant on: FNV-1a with a
 * final mix for the short texts of OLTP statements (cheaper than a general
 * hash's set-up), hash_bytes_extended beyond 32 bytes.
 */
static inline uint64
text_hash(const unsigned char *p, int n)
{
	uint64		h = UINT64CONST(0xcbf29ce484222325);

	if (n > 32)
		return hash_bytes_extended(p, n, 0);
	for (int i = 0; i < n; i++)
		h = (h ^ p[i]) * UINT64CONST(0x100000001b3);
	/* murmur3's finalizer: FNV leaves the high bits (HyperLogLog's) poorly mixed */
	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
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
	if (first == INT_MAX || first < loc || (len > 0 && first >= loc + len))
		return;
	/* len 0: the statement runs to the end of the string */
	const_hash = text_hash((const unsigned char *) query + first,
						   len > 0 ? loc + len - first :
						   (int) strlen(query + first)) | 1;
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

/* Add a 32-bit fingerprint to a run's HyperLogLog. */
static inline void
hll_add(NpRun *r, uint32 fp)
{
	uint32		rest = fp << NP_HLL_BITS;
	uint8		rank = rest == 0 ? (32 - NP_HLL_BITS + 1) :
		(uint8) (32 - pg_leftmost_one_pos32(rest));
	uint8	   *reg = &r->hll[fp >> (32 - NP_HLL_BITS)];

	if (*reg < rank)
		*reg = rank;
}

/*
 * Count one value: exactly in the hash set while it holds at most NP_EXACT
 * values, then in the HyperLogLog (which gets the set's values first).
 */
static inline void
distinct_add(NpRun *r, uint64 hash)
{
	uint32		fp = (uint32) (hash >> 32);
	int			i;

	if (fp == 0)
		fp = 1;
	if (r->sketching)
	{
		hll_add(r, fp);
		return;
	}
	for (i = fp & (NP_EXACT_SLOTS - 1); r->exact[i] != 0; i = (i + 1) & (NP_EXACT_SLOTS - 1))
		if (r->exact[i] == fp)
			return;
	if (r->ndistinct < NP_EXACT)
	{
		r->exact[i] = fp;
		r->ndistinct++;
		return;
	}
	memset(r->hll, 0, sizeof(r->hll));
	for (int j = 0; j < NP_EXACT_SLOTS; j++)
		if (r->exact[j] != 0)
			hll_add(r, r->exact[j]);
	hll_add(r, fp);
	r->sketching = true;
}

/*
 * Distinct values seen by a run: the exact count, or the HyperLogLog
 * estimate (Flajolet et al. 2007) with linear counting over the empty
 * registers below 2.5 registers per value and the 32-bit large-range
 * correction.
 */
static double
run_distinct(const NpRun *r)
{
	double		m = NP_HLL_REGS;
	double		sum = 0.0;
	double		e;
	int			zeros = 0;

	if (!r->sketching)
		return r->ndistinct;
	for (int j = 0; j < NP_HLL_REGS; j++)
	{
		/* 2^-rank, rank <= 23: exact as a double, no ldexp() per register */
		sum += 1.0 / (double) (UINT64CONST(1) << r->hll[j]);
		zeros += (r->hll[j] == 0);
	}
	e = (0.7213 / (1.0 + 1.079 / m)) * m * m / sum;
	if (e <= 2.5 * m && zeros > 0)
		e = m * log(m / zeros);
	else if (e > 4294967296.0 / 30.0)
		e = -4294967296.0 * log(1.0 - e / 4294967296.0);
	return Min((double) r->calls, e);
}

/* Close a candidate's current window. */
static inline void
cand_window_close(NpCand *c)
{
	c->match_min += Min(c->win_rows, c->win_calls);
	c->match_max += Max(c->win_rows, c->win_calls);
	if (c->win_rows > 0 || c->win_calls > 0)
	{
		c->windows++;
		c->exact += (c->win_rows == c->win_calls);
	}
	c->win_calls = 0;
}

/*
 * How well a candidate's rows match the run's calls, execution by
 * execution: sum of min(rows, calls) / sum of max(rows, calls) over its
 * windows, 1 when every execution returned exactly as many rows as the loop
 * then ran calls; 0 when its rows are unknown.
 */
static double
cand_match(const NpCand *c)
{
	double		mn = c->match_min + Min(c->win_rows, c->win_calls);
	double		mx = c->match_max + Max(c->win_rows, c->win_calls);

	return (c->rows_known && mx > 0) ? mn / mx : 0.0;
}

/*
 * Do a candidate's rows drive the loop?  Unknown rows (a cursor): yes.
 * Else its rows must match the calls that followed each execution
 * (cand_match at least NP_MIN_MATCH) and, over several executions, match
 * them exactly in at least two thirds of them: a page's loop runs one call
 * per row every time, while in a mix of independent requests a statement
 * that happens to run between rarer ones shows a varying number of calls.
 */
static bool
cand_drives(const NpCand *c)
{
	int32		windows = c->windows;
	int32		exact = c->exact;

	if (!c->rows_known)
		return true;
	if (cand_match(c) < NP_MIN_MATCH)
		return false;
	if (c->win_rows > 0 || c->win_calls > 0)
	{
		windows++;
		exact += (c->win_rows == c->win_calls);
	}
	return windows <= 1 || exact * 3 >= windows * 2;
}

/*
 * The run's parent among its candidates (index), or -1: the nearest one the
 * loop ran at least NP_MIN_FANOUT times per execution of and whose rows
 * drive it (cand_drives).
 */
static int
run_parent(const NpRun *r)
{
	for (int i = 0; i < r->ncands; i++)
	{
		const NpCand *c = &r->cands[i];

		if (r->calls >= NP_MIN_FANOUT * c->execs && cand_drives(c))
			return i;
	}
	return -1;
}

/* Add one finished episode to the shared table. */
static void
episode_add(const NpRun *r, const NpCand *parent, NpKind kind,
			double distinct_ratio)
{
	NpKey		key;
	NpData	   *d;
	double		confidence = 0.0;
	TimestampTz now;
	uint32		hint;

	if (np_table == NULL)
		return;
	memset(&key, 0, sizeof(key));
	key.userid = r->userid;
	key.dbid = r->dbid;
	key.queryid = r->queryid;
	key.parent_queryid = parent ? parent->queryid : 0;
	key.kind = kind;
	key.toplevel = (r->level == 0);
	hint = (uint32) (key.queryid ^ key.parent_queryid);

	if (parent)
		confidence = cand_match(parent);

	now = GetCurrentTimestamp();
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

/* End a run: judge it, record it if it is an episode. */
static void
run_close(NpRun *r)
{
	double		distinct_ratio;
	NpKind		kind;
	int			parent;

	if (r->calls < latdiag_n_plus_one_min_calls ||
		r->last_end - r->first_start < latdiag_n_plus_one_min_time ||
		r->foreign > r->calls * NP_MAX_FOREIGN)
		return;
	/* begun before a latdiag_reset(): forgotten with everything else */
	if (np_table == NULL || table_resets(np_table) != r->resets)
		return;

	parent = run_parent(r);
	distinct_ratio = run_distinct(r) / r->calls;
	if (r->write)
		kind = NP_WRITE_LOOP;
	else if (distinct_ratio < NP_MIN_DISTINCT)
		kind = NP_DUPLICATE;
	else if (r->rows / r->calls <= latdiag_n_plus_one_max_rows)
		kind = parent >= 0 ? NP_READ : NP_READ_LOOP;
	else
		return;					/* a loop of bulk fetches: not N+1 */
	episode_add(r, parent >= 0 ? &r->cands[parent] : NULL, kind, distinct_ratio);
}

/* Index of queryid among r's candidates, or -1. */
static inline int
cand_index(const NpRun *r, uint64 queryid)
{
	for (int i = 0; i < r->ncands; i++)
		if (r->cands[i].queryid == queryid)
			return i;
	return -1;
}

/* The open run of queryid at level, or NULL. */
static NpRun *
run_find(uint64 queryid, int level)
{
	for (int i = 0; i < nruns; i++)
		if (runs[i]->queryid == queryid && runs[i]->level == level)
			return runs[i];
	return NULL;
}

/*
 * The loops a statement's run belongs to: its candidates, and theirs (the
 * candidates of their open runs at the same level).  A run whose statement
 * is among them has this statement in its loop: a nested loop, or a sibling
 * loop that runs after it in the same loop body.  In a mix of independent
 * requests the statements that happen to precede a run are other requests,
 * and the run stays foreign to them unless it started right after them.
 */
static int
run_ancestors(const NpRun *run, uint64 *ids)
{
	int			n = 0;

	for (int i = 0; i < run->ncands; i++)
		ids[n++] = run->cands[i].queryid;
	for (int i = 0; i < run->ncands; i++)
	{
		NpRun	   *up = run_find(run->cands[i].queryid, run->level);

		if (up == NULL || up == run)
			continue;
		for (int j = 0; j < up->ncands; j++)
			ids[n++] = up->cands[j].queryid;
	}
	return n;
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
		run_close(runs[i]);
	nruns = 0;
}

/* A statement is starting at this nesting level (ExecutorStart). */
void
nplusone_start(uint64 queryid, int level)
{
	uint64	   *s;
	int64	   *rows;
	int			i;

	if (level >= NP_LEVELS)
		return;
	s = started[level];
	if (s[0] == queryid)
		return;
	/* move it to the front; the others keep their order */
	rows = started_rows[level];
	for (i = 1; i < NP_CANDS; i++)
		if (s[i] == queryid)
			break;
	for (; i > 0; i--)
	{
		s[i] = s[i - 1];
		rows[i] = rows[i - 1];
	}
	s[0] = queryid;
	rows[0] = -1;
}

/* Open a run for a statement that just finished; its candidate parents. */
static NpRun *
run_open(QueryDesc *queryDesc, uint64 queryid, int level, double start,
		 LocalTransactionId lxid)
{
	NpRun	   *r;
	int			pos;

	if (runs[0] == NULL)
		for (int i = 0; i < NP_RUNS; i++)
			runs[i] = &run_slots[i];

	/* a new run; the least recently used one makes room if needed */
	if (nruns < NP_RUNS)
		r = runs[nruns++];
	else
	{
		r = runs[0];
		for (int i = 1; i < NP_RUNS; i++)
			if (runs[i]->last_used < r->last_used)
				r = runs[i];
		run_close(r);
	}
	memset(r, 0, offsetof(NpRun, hll));
	r->write = queryDesc->operation != CMD_SELECT;
	r->level = level;
	r->queryid = queryid;
	r->userid = GetUserId();
	r->dbid = MyDatabaseId;
	r->in_block = IsTransactionBlock();
	r->lxid = lxid;
	r->resets = np_table ? table_resets(np_table) : 0;
	r->first_start = start;

	/* the statements that started before this one, nearest first */
	for (pos = 0; pos <= NP_CANDS; pos++)
		if (started[level][pos] == queryid)
			break;
	for (int i = pos + 1; i <= NP_CANDS && started[level][i] != 0; i++)
	{
		NpCand	   *c = &r->cands[r->ncands++];
		int64		rows = started_rows[level][i];

		c->queryid = started[level][i];
		c->execs = 1;
		c->rows_known = rows >= 0;
		c->win_rows = Max(rows, 0);
	}
	return r;
}

/*
 * A statement finished (ExecutorEnd): note its rows, add it to the runs.
 * end_ms: the monotonic clock (ms) when it ended, if the caller read it
 * (0: read here).
 */
void
nplusone_record(QueryDesc *queryDesc, uint64 queryid, int level,
				double exec_ms, uint64 rows, double end_ms)
{
	double		end;
	double		start;
	double		gap = latdiag_n_plus_one_max_gap;
	LocalTransactionId lxid = compat_my_lxid();
	NpRun	   *match = NULL;
	uint64		hash;
	uint64		ancestors[NP_CANDS * (NP_CANDS + 1)];
	int			nancestors = -1;	/* not looked up yet */

	if (level >= NP_LEVELS)
		return;
	if (!exit_flush_registered)
	{
		before_shmem_exit(flush_at_exit, (Datum) 0);
		exit_flush_registered = true;
	}

	end = end_ms > 0 ? end_ms : now_ms();
	start = end - exec_ms;
	hash = values_hash(queryDesc, queryid);
	statements++;

	/* the rows of its execution, for the runs it will be a candidate of */
	for (int i = 0; i <= NP_CANDS; i++)
		if (started[level][i] == queryid)
		{
			started_rows[level][i] = (int64) rows;
			break;
		}

	/*
	 * The open runs (runs[0 .. nruns-1]): end the stale ones, find this
	 * statement's.
	 */
	for (int i = 0; i < nruns; i++)
	{
		NpRun	   *r = runs[i];

		if (start - r->last_end > gap || (r->in_block && r->lxid != lxid))
		{
			run_close(r);
			/* keep the open runs together */
			runs[i] = runs[--nruns];
			runs[nruns] = r;
			i--;
			continue;
		}
		if (r->queryid == queryid && r->level == level)
			match = r;
	}
	if (match == NULL)
		match = run_open(queryDesc, queryid, level, start, lxid);
	match->calls++;
	match->last_end = end;
	match->exec_ms += exec_ms;
	match->rows += rows;
	match->last_used = statements;
	distinct_add(match, hash);
	for (int i = 0; i < match->ncands; i++)
		match->cands[i].win_calls++;

	/*
	 * For the other runs at this level, this statement is one of their
	 * candidate parents running again (the outer loop, or a sibling), part
	 * of their loop (it descends from them), or foreign.
	 */
	for (int i = 0; i < nruns; i++)
	{
		NpRun	   *r = runs[i];
		int			c;
		bool		related = false;

		if (r == match || r->level != level)
			continue;
		c = cand_index(r, queryid);
		if (c >= 0)
		{
			/* the candidate ran again: a new window */
			cand_window_close(&r->cands[c]);
			r->cands[c].win_rows = rows;
			r->cands[c].execs++;
			continue;
		}
		if (nancestors < 0)
			nancestors = run_ancestors(match, ancestors);
		for (int j = 0; j < nancestors && !related; j++)
			related = (ancestors[j] == r->queryid);
		if (!related)
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
