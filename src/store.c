/*
 * store.c: the query store.
 *
 * One bounded shared table (table.c) keyed by (userid, dbid, queryid,
 * toplevel).  Each entry holds pg_stat_statements' counters, a latency
 * histogram (histogram.c) and the normalized text, cut at
 * latdiag.max_query_length.  The table's locking protocol applies: the
 * per-execution update takes only the entry's spinlock.  A backend never
 * holds this table's locks while taking another table's.
 *
 * An entry is created when a statement is first parse-analyzed, so that its
 * normalized text can be built from the jumbler's constant locations.  An
 * execution whose entry has gone since (evicted, reset, or prepared before)
 * creates it again with the statement's text as written, as
 * pg_stat_statements does.
 */
#include "postgres.h"

#include "access/xact.h"
#include "jit/jit.h"
#include "miscadmin.h"
#include "pgstat.h"

#include "guc.h"
#include "normalize.h"
#include "pending.h"
#include "snapshots.h"
#include "store.h"
#include "table.h"

#define STORE_FILE			PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag.stat"
#define STORE_FILE_VERSION	3	/* 2: the counters of 1.4; 3: shapes, tail p99 (1.5) */
#define USAGE_EXEC			1.0		/* usage added per call */

static TableDef store_def;
static Table *store = NULL;

/* The table's definition, from the settings. */
static const TableDef *
store_table_def(void)
{
	store_def.name = "postgres_latdiag queries";
	store_def.key_size = sizeof(StoreKey);
	store_def.data_size = sizeof(StoreData);
	store_def.max_entries = latdiag_max_queries;
	store_def.max_text = latdiag_max_query_length;
	store_def.file = STORE_FILE;
	store_def.file_version = STORE_FILE_VERSION;
	store_def.save = &latdiag_save;
	return &store_def;
}

/* Ask for the store's memory and lock; from shmem_request_hook. */
void
store_shmem_request(void)
{
	table_request(store_table_def());
}

/* Attach to (or create) the store; from shmem_startup_hook. */
void
store_shmem_startup(void)
{
	store = table_attach(store_table_def());
}

/* Is the store attached (library preloaded)? */
bool
store_ready(void)
{
	return store != NULL;
}

/* ERROR unless the store is attached. */
void
store_require_ready(void)
{
	if (!store_ready())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("postgres_latdiag must be loaded via shared_preload_libraries"),
				 errhint("Add postgres_latdiag to shared_preload_libraries and restart the server.")));
}

static inline void
key_init(StoreKey *key, uint64 queryid, bool toplevel)
{
	memset(key, 0, sizeof(StoreKey));	/* the hash reads the padding too */
	key->userid = GetUserId();
	key->dbid = MyDatabaseId;
	key->queryid = queryid;
	key->toplevel = toplevel;
}

/*
 * This backend's memo of the longest execution of the statements it recorded
 * last, for arming decisions at ExecutorStart without touching shared memory.
 * Executions that go to the backend's batch (pending.c) do not pass through
 * store_record, and the sampler worker sets the recent p99 in the entry: a
 * memo is read again from the entry once it is SLOW_MEMO_MAX_AGE old (by
 * statement start) or has served SLOW_MEMO_MAX_USES arming decisions.
 */
#define SLOW_MEMO_SIZE 64
#define SLOW_MEMO_MAX_AGE	USECS_PER_SEC
#define SLOW_MEMO_MAX_USES	1000
typedef struct SlowMemo
{
	uint64		queryid;
	Oid			userid;
	bool		toplevel;
	double		max_exec;
	bool		tail_heavy;		/* StoreData.tail_heavy */
	double		tail_p99;		/* StoreData.tail_p99 */
	double		total_exec;
	TimestampTz filled;			/* statement start when filled */
	uint32		uses;			/* arming decisions since */
} SlowMemo;

static SlowMemo slow_memo[SLOW_MEMO_SIZE];

/* Fill a memo from an entry (locked, or peeked at). */
static inline void
memo_fill(SlowMemo *m, const StoreKey *key, const StoreData *d)
{
	m->queryid = key->queryid;
	m->userid = key->userid;
	m->toplevel = key->toplevel;
	m->max_exec = d->c.max_exec;
	m->tail_heavy = d->tail_heavy;
	m->tail_p99 = d->tail_p99;
	m->total_exec = d->c.total_exec;
	m->filled = GetCurrentStatementStartTimestamp();
	m->uses = 0;
}

/* The queryid is already a hash: its bits pick the cache entry. */
static inline uint32
queryid_hint(uint64 queryid, bool toplevel)
{
	return (uint32) (queryid ^ (queryid >> 31)) ^ toplevel;
}

static inline uint32
key_hint(const StoreKey *key)
{
	return queryid_hint(key->queryid, key->toplevel);
}

/*
 * The statements this backend saw parsed whose entries exist, valid while
 * the store has freed no entry since (known_frees): parsing one of them
 * again needs no lookup.  Direct-mapped by the queryid's bits.
 */
#define KNOWN_SIZE 256
typedef struct KnownEntry
{
	uint64		queryid;		/* 0: empty */
	Oid			userid;
	bool		toplevel;
} KnownEntry;

static KnownEntry known[KNOWN_SIZE];
static uint64 known_frees = 0;

static inline void
known_fill(KnownEntry *k, uint64 queryid, Oid userid, bool toplevel)
{
	k->queryid = queryid;
	k->userid = userid;
	k->toplevel = toplevel;
}

/*
 * A statement was parse-analyzed: make sure it has an entry, building the
 * normalized text only when the entry is new.
 */
void
store_note_parse(uint64 queryid, bool toplevel, const char *query, int loc,
				 int len, CompatJumbleState *jstate)
{
	StoreKey	key;
	uint32		hint = queryid_hint(queryid, toplevel);
	KnownEntry *k = &known[hint % KNOWN_SIZE];
	uint64		frees = table_frees(store);
	Oid			userid = GetUserId();
	StoreData  *d;
	char	   *text;

	if (likely(frees == known_frees))
	{
		if (k->queryid == queryid && k->userid == userid && k->toplevel == toplevel)
			return;
	}
	else
	{
		memset(known, 0, sizeof(known));
		known_frees = frees;
	}
	key_init(&key, queryid, toplevel);
	if ((d = table_lock(store, &key, hint)) != NULL)
	{
		table_unlock(store, d, 0);
		known_fill(k, queryid, userid, toplevel);
		return;
	}

	/* new entry: build its text before taking the exclusive lock */
	if (query == NULL)
	{
		query = "";
		loc = len = 0;
	}
	(void) CleanQuerytext(query, &loc, &len);
	if (jstate != NULL && jstate->clocations_count > 0)
		text = normalize_query(query, loc, &len, jstate);
	else
		text = pnstrdup(query + loc, len);

	d = table_create_lock(store, &key, hint, text, len);
	if (d != NULL)
	{
		if (d->c.first_seen == 0)
			d->c.first_seen = d->c.last_seen = d->c.minmax_stats_since =
				GetCurrentTimestamp();
		table_unlock(store, d, 0);
		/* known only if nothing was evicted to make room for it */
		if (table_frees(store) == known_frees)
			known_fill(k, queryid, userid, toplevel);
	}
	pfree(text);
}

/* Add what JIT did for one execution (as pg_stat_statements counts it). */
static void
jit_add(StoreCounters *c, const JitInstrumentation *j)
{
	double		deform = compat_jit_deform_ms(j);

	c->jit_functions += j->created_functions;
	c->jit_generation_time += INSTR_TIME_GET_MILLISEC(j->generation_counter);
	if (deform > 0)
		c->jit_deform_count++;
	c->jit_deform_time += deform;
	if (INSTR_TIME_GET_MILLISEC(j->inlining_counter) > 0)
		c->jit_inlining_count++;
	c->jit_inlining_time += INSTR_TIME_GET_MILLISEC(j->inlining_counter);
	if (INSTR_TIME_GET_MILLISEC(j->optimization_counter) > 0)
		c->jit_optimization_count++;
	c->jit_optimization_time += INSTR_TIME_GET_MILLISEC(j->optimization_counter);
	if (INSTR_TIME_GET_MILLISEC(j->emission_counter) > 0)
		c->jit_emission_count++;
	c->jit_emission_time += INSTR_TIME_GET_MILLISEC(j->emission_counter);
}

/* Count a flagged query shape (deep offset, unbounded read). */
static void
shape_add(StoreShapes *sh, const StoreSample *smp)
{
	if (smp->shape == STORE_SHAPE_DEEP_OFFSET)
	{
		sh->offset_calls++;
		sh->max_offset = Max(sh->max_offset, smp->shape_value);
		sh->offset_time += smp->ms;
	}
	else if (smp->shape == STORE_SHAPE_UNBOUNDED)
	{
		sh->unbounded_calls++;
		sh->max_unbounded_rows = Max(sh->max_unbounded_rows, smp->shape_value);
		sh->unbounded_time += smp->ms;
	}
}

static inline void add_usage(StoreCounters *c, const BufferUsage *b,
							 const WalUsage *w);

/*
 * Add one sample to an entry and return the plan its previous execution
 * used (0 if none).  Caller holds the entry's spinlock.
 */
static inline uint64
accumulate(StoreData *d, StoreSampleKind kind, const StoreSample *smp)
{
	StoreCounters *c = &d->c;
	uint64		previous_planid = 0;

	if (kind == STORE_EXEC)
	{
		previous_planid = c->last_planid;
		c->last_planid = smp->planid;
		c->calls++;
		c->rows += smp->rows;
		timing_add(c->calls, smp->ms, &c->total_exec, &c->min_exec,
				   &c->max_exec, &c->mean_exec, &c->m2_exec);
		hist_count(&d->hist, smp->bucket);
	}
	else
	{
		c->plans++;
		timing_add(c->plans, smp->ms, &c->total_plan, &c->min_plan,
				   &c->max_plan, &c->mean_plan, &c->m2_plan);
	}
	add_usage(c, smp->bufusage, smp->walusage);
	if (kind == STORE_EXEC)
	{
		if (smp->jit)
			jit_add(c, smp->jit);
		c->parallel_workers_to_launch += smp->parallel_workers_to_launch;
		c->parallel_workers_launched += smp->parallel_workers_launched;
		if (smp->plan_origin == 1)
			c->generic_plan_calls++;
		else if (smp->plan_origin == 2)
			c->custom_plan_calls++;
		if (unlikely(smp->shape != STORE_SHAPE_NONE))
			shape_add(&d->shapes, smp);
	}
	c->last_seen = GetCurrentStatementStartTimestamp();
	return previous_planid;
}

/* Add buffer and WAL use (either may be NULL) to an entry's counters. */
static inline void
add_usage(StoreCounters *c, const BufferUsage *b, const WalUsage *w)
{
	if (b)
	{

		c->shared_blks_hit += b->shared_blks_hit;
		c->shared_blks_read += b->shared_blks_read;
		c->shared_blks_dirtied += b->shared_blks_dirtied;
		c->shared_blks_written += b->shared_blks_written;
		c->local_blks_hit += b->local_blks_hit;
		c->local_blks_read += b->local_blks_read;
		c->local_blks_dirtied += b->local_blks_dirtied;
		c->local_blks_written += b->local_blks_written;
		c->temp_blks_read += b->temp_blks_read;
		c->temp_blks_written += b->temp_blks_written;
		c->blk_read_time += compat_blk_read_time(b);
		c->blk_write_time += compat_blk_write_time(b);
		c->temp_blk_read_time += INSTR_TIME_GET_MILLISEC(b->temp_blk_read_time);
		c->temp_blk_write_time += INSTR_TIME_GET_MILLISEC(b->temp_blk_write_time);
		c->shared_blk_read_time += compat_shared_blk_read_time(b);
		c->shared_blk_write_time += compat_shared_blk_write_time(b);
		c->local_blk_read_time += compat_local_blk_read_time(b);
		c->local_blk_write_time += compat_local_blk_write_time(b);
	}
	if (w)
	{
		c->wal_records += w->wal_records;
		c->wal_fpi += w->wal_fpi;
		c->wal_bytes += w->wal_bytes;
		c->wal_buffers_full += compat_wal_buffers_full(w);
	}
}

/*
 * Record one execution or planning of a statement, and return the plan id
 * of its previous execution (0 if none).  If its entry has gone, it is
 * created again with the statement's text as written.
 */
uint64
store_record(uint64 queryid, bool toplevel, StoreSampleKind kind,
			 const StoreSample *smp, const char *query, int loc, int len)
{
	StoreKey	key;
	uint32		hint;
	StoreData  *d;
	uint64		previous_planid;

	key_init(&key, queryid, toplevel);
	hint = key_hint(&key);
	d = table_lock(store, &key, hint);
	if (d == NULL)
	{
		if (query == NULL)
		{
			query = "";
			loc = len = 0;
		}
		query = CleanQuerytext(query, &loc, &len);
		d = table_create_lock(store, &key, hint, query, len);
		if (d == NULL)
			return 0;
		if (d->c.first_seen == 0)
			d->c.first_seen = d->c.minmax_stats_since = GetCurrentTimestamp();
	}
	previous_planid = accumulate(d, kind, smp);
	if (kind == STORE_EXEC)
	{
		SlowMemo   *m = &slow_memo[hint % SLOW_MEMO_SIZE];

		memo_fill(m, &key, d);
	}
	table_unlock(store, d, kind == STORE_EXEC ? USAGE_EXEC : 0);
	return previous_planid;
}

/*
 * Add a backend's batch of executions (pending.c) to its entry, created
 * again without a text if it has gone since; return the plan of the
 * entry's previous execution (0 if none).
 */
uint64
store_apply_batch(const PendBatch *b)
{
	uint32		hint = key_hint(&b->key);
	StoreData  *d;
	StoreCounters *c;
	uint64		previous_planid;
	double		n_a,
				n_b = (double) b->calls,
				mean_b,
				m2_b;

	if (store == NULL || b->calls <= 0)
		return 0;
	d = table_lock(store, &b->key, hint);
	if (d == NULL)
	{
		d = table_create_lock(store, &b->key, hint, "", 0);
		if (d == NULL)
			return 0;
		if (d->c.first_seen == 0)
			d->c.first_seen = d->c.minmax_stats_since = GetCurrentTimestamp();
	}
	c = &d->c;
	previous_planid = c->last_planid;
	c->last_planid = b->planid;

	/* mean and squared deviations: Chan et al.'s pairwise combination */
	n_a = (double) c->calls;
	mean_b = b->total / n_b;
	m2_b = Max(b->sumsq - b->total * mean_b, 0.0);
	if (c->calls == 0)
	{
		c->mean_exec = mean_b;
		c->m2_exec = m2_b;
	}
	else
	{
		double		delta = mean_b - c->mean_exec;

		c->mean_exec += delta * n_b / (n_a + n_b);
		c->m2_exec += m2_b + delta * delta * n_a * n_b / (n_a + n_b);
	}
	/* max == 0: the first sample since min and max were reset */
	if (c->calls == 0 || c->max_exec == 0 || b->min < c->min_exec)
		c->min_exec = b->min;
	if (c->calls == 0 || b->max > c->max_exec)
		c->max_exec = b->max;
	c->calls += b->calls;
	c->rows += b->rows;
	c->total_exec += b->total;
	for (int i = b->lo; i <= b->hi && b->base >= 0; i++)
		if (b->count[i] != 0 && b->base + i < HIST_BUCKETS)
			hist_count_n(&d->hist, b->base + i, b->count[i]);
	add_usage(c, &b->buf, &b->wal);
	c->generic_plan_calls += b->generic_calls;
	c->custom_plan_calls += b->custom_calls;
	if (b->last_seen > c->last_seen)
		c->last_seen = b->last_seen;
	table_unlock(store, d, USAGE_EXEC * n_b);
	return previous_planid;
}

/* Count a failure's duration in the entry's failure buckets. */
static void
fail_count(StoreFailHist *f, int bucket)
{
	int			nearest = -1;

	for (int i = 0; i < STORE_FAIL_SLOTS; i++)
	{
		if (f->count[i] == 0 || f->bucket[i] == bucket)
		{
			f->bucket[i] = (uint16) bucket;
			if (f->count[i] != PG_UINT32_MAX)
				f->count[i]++;
			return;
		}
		if (nearest < 0 ||
			abs((int) f->bucket[i] - bucket) < abs((int) f->bucket[nearest] - bucket))
			nearest = i;
	}
	if (f->count[nearest] != PG_UINT32_MAX)
		f->count[nearest]++;
}

/*
 * Count an execution that ended in ERROR after ms milliseconds against its
 * statement's existing entry (calls do not change); false if there is none.
 * Called from abort callbacks: takes no lock but the table's, allocates
 * nothing and raises no error.
 */
bool
store_record_error(Oid userid, Oid dbid, uint64 queryid, bool toplevel,
				   double ms, int sqlerrcode)
{
	StoreKey	key;
	StoreData  *d;
	StoreCounters *c;

	if (store == NULL)
		return false;
	memset(&key, 0, sizeof(StoreKey));
	key.userid = userid;
	key.dbid = dbid;
	key.queryid = queryid;
	key.toplevel = toplevel;
	d = table_lock(store, &key, key_hint(&key));
	if (d == NULL)
		return false;
	c = &d->c;
	c->errors++;
	c->error_time += ms;
	if (c->errors == 1 || ms < c->min_error)
		c->min_error = ms;
	if (c->errors == 1 || ms > c->max_error)
		c->max_error = ms;
	switch (sqlerrcode)
	{
		case ERRCODE_QUERY_CANCELED:
			c->timeouts++;
			break;
		case ERRCODE_T_R_DEADLOCK_DETECTED:
			c->deadlocks++;
			break;
		case ERRCODE_T_R_SERIALIZATION_FAILURE:
			c->serialization_failures++;
			break;
		case ERRCODE_LOCK_NOT_AVAILABLE:
			c->lock_timeouts++;
			break;
	}
	fail_count(&d->fail, hist_bucket(ms));
	c->last_seen = GetCurrentTimestamp();
	table_unlock(store, d, USAGE_EXEC);
	return true;
}

/*
 * Why should this execution be instrumented for a snapshot
 * (SNAP_REASON_THRESHOLD: its statement has been seen slower than
 * latdiag.snapshot_min_duration; SNAP_REASON_TAIL: its recent p99, as the
 * sampler worker last computed it, reaches latdiag.snapshot_tail_min_duration
 * and STORE_TAIL_RATIO times its p50;
 * else SNAP_REASON_NONE)?  A hint, which is all arming needs: first from this
 * backend's memo of the entries it recorded or looked at last (at most 1 s
 * or SLOW_MEMO_MAX_USES decisions old: another backend's slow run, a batch
 * flushed, a new recent p99 are seen within that), else from the slot cache,
 * without a lock (and the memo is filled from it).
 */
int
store_arm_reason(uint64 queryid, bool toplevel)
{
	StoreKey	key;
	const StoreData *d;
	uint32		hint = queryid_hint(queryid, toplevel);
	SlowMemo   *m = &slow_memo[hint % SLOW_MEMO_SIZE];
	Oid			userid = GetUserId();
	double		max_exec,
				tail_p99;
	bool		tail_heavy;

	if (m->queryid == queryid && m->toplevel == toplevel && m->userid == userid &&
		likely(++m->uses < SLOW_MEMO_MAX_USES) &&
		likely(GetCurrentStatementStartTimestamp() - m->filled < SLOW_MEMO_MAX_AGE))
	{
		max_exec = m->max_exec;
		tail_heavy = m->tail_heavy;
		tail_p99 = m->tail_p99;
	}
	else
	{
		key_init(&key, queryid, toplevel);
		d = table_peek(store, &key, key_hint(&key));
		if (d == NULL || d->c.calls == 0)
			return SNAP_REASON_NONE;
		memo_fill(m, &key, d);
		max_exec = m->max_exec;
		tail_heavy = m->tail_heavy;
		tail_p99 = m->tail_p99;
	}
	if (snapshots_is_slow(max_exec, latdiag_snapshot_min_duration))
		return SNAP_REASON_THRESHOLD;
	if (tail_heavy && snapshots_is_slow(tail_p99, latdiag_snapshot_tail_min_duration))
		return SNAP_REASON_TAIL;
	return SNAP_REASON_NONE;
}

/*
 * The recent p99 (0: unknown) and total execution time of a statement this
 * backend has just recorded (store_record fills the memo), for the tail rule
 * and the importance of a snapshot; -1 if the memo holds another statement.
 */
double
store_memo_tail(uint64 queryid, bool toplevel, double *total_exec)
{
	SlowMemo   *m = &slow_memo[queryid_hint(queryid, toplevel) % SLOW_MEMO_SIZE];

	if (m->queryid == queryid && m->toplevel == toplevel && m->userid == GetUserId())
	{
		*total_exec = m->total_exec;
		return m->tail_p99;
	}
	*total_exec = 0;
	return -1;
}

/*
 * Set a statement's recent p99, from the sampler worker when it closes a
 * window in which the statement ran.
 */
void
store_set_tail(Oid userid, Oid dbid, uint64 queryid, bool toplevel, double p99,
			   bool heavy)
{
	StoreKey	key;
	StoreData  *d;

	if (store == NULL)
		return;
	memset(&key, 0, sizeof(StoreKey));
	key.userid = userid;
	key.dbid = dbid;
	key.queryid = queryid;
	key.toplevel = toplevel;
	d = table_lock(store, &key, key_hint(&key));
	if (d == NULL)
		return;
	d->tail_p99 = p99;
	d->tail_heavy = heavy;
	table_unlock(store, d, 0);
}

/* table_read callback: one StoreRow with its percentiles. */
static void
emit_row(void *row, const void *key, const void *data, char *text,
		 int text_len, bool truncated, void *arg)
{
	static const double fractions[5] = {0.50, 0.90, 0.95, 0.99, 0.999};
	StoreRow   *r = (StoreRow *) row;
	const StoreData *d = (const StoreData *) data;

	memcpy(&r->key, key, sizeof(StoreKey));
	r->c = d->c;
	r->truncated = truncated;
	r->text_len = text_len;
	r->text = text;
	r->shapes = d->shapes;
	r->tail_p99 = d->tail_p99;
	hist_percentiles(&d->hist, fractions, 5, d->c.min_exec, d->c.max_exec,
					 r->pct);
	if (d->c.errors == 0)
		memcpy(r->pct_all, r->pct, sizeof(r->pct));
	else
	{
		LatdiagHistogram all = d->hist;
		double		lo = d->c.min_error,
					hi = d->c.max_error;

		for (int i = 0; i < STORE_FAIL_SLOTS; i++)
		{
			uint64		sum = (uint64) all.buckets[d->fail.bucket[i]] + d->fail.count[i];

			all.buckets[d->fail.bucket[i]] = (uint32) Min(sum, (uint64) PG_UINT32_MAX);
		}
		if (d->c.calls > 0)
		{
			lo = Min(lo, d->c.min_exec);
			hi = Max(hi, d->c.max_exec);
		}
		hist_percentiles(&all, fractions, 5, lo, hi, r->pct_all);
	}
}

/* Copy every entry out of the store, with percentiles computed. */
StoreRow *
store_read(int *nrows, bool with_text)
{
	void	   *rows;

	pending_flush_all();

	*nrows = table_read(store, sizeof(StoreRow), with_text, emit_row, NULL, &rows);
	return (StoreRow *) rows;
}

/* table_read callback: the key and a copy of the data, histogram included. */
static void
emit_hist_row(void *row, const void *key, const void *data, char *text,
			  int text_len, bool truncated, void *arg)
{
	StoreHistRow *r = (StoreHistRow *) row;

	memcpy(&r->key, key, sizeof(StoreKey));
	memcpy(&r->d, data, sizeof(StoreData));
}

/*
 * Copy every entry's counters and histogram out of the store (the window
 * worker derives windows from them); no texts, no percentiles.
 */
StoreHistRow *
store_read_hist(int *nrows)
{
	void	   *rows;

	pending_flush_all();

	*nrows = table_read(store, sizeof(StoreHistRow), false, emit_hist_row, NULL, &rows);
	return (StoreHistRow *) rows;
}

typedef struct HistogramMerge
{
	uint64		queryid;
	bool		all_users;
	Oid			reader;
	bool		matched;
	LatdiagHistogram *out;
} HistogramMerge;

/* table_read callback: add matching entries' buckets; emits no row. */
static void
merge_histogram(void *row, const void *key, const void *data, char *text,
				int text_len, bool truncated, void *arg)
{
	HistogramMerge *m = (HistogramMerge *) arg;
	const StoreKey *k = (const StoreKey *) key;
	const StoreData *d = (const StoreData *) data;

	if (k->queryid != m->queryid || (!m->all_users && k->userid != m->reader))
		return;
	m->matched = true;
	for (int i = 0; i < HIST_BUCKETS; i++)
	{
		uint64		sum = (uint64) m->out->buckets[i] + d->hist.buckets[i];

		m->out->buckets[i] = (uint32) Min(sum, (uint64) PG_UINT32_MAX);
	}
}

/* TableMatchFn: the entries of one queryid (the rest are not copied). */
static bool
match_queryid(const void *key, void *arg)
{
	return ((const StoreKey *) key)->queryid == *(const uint64 *) arg;
}

/*
 * Sum the histograms of the entries with this queryid that the reader may
 * see (all of them, or those of userid reader).  False if none matched.
 */
bool
store_histogram(uint64 queryid, bool all_users, Oid reader, LatdiagHistogram *out)
{
	HistogramMerge m = {queryid, all_users, reader, false, out};
	void	   *rows;

	pending_flush_all();
	memset(out, 0, sizeof(LatdiagHistogram));
	(void) table_read_match(store, 1, false, match_queryid, &queryid,
							merge_histogram, &m, &rows);
	pfree(rows);
	return m.matched;
}

/* The store's own figures, for latdiag_info. */
void
store_info(int64 *entries, int64 *evictions, int64 *truncated,
		   TimestampTz *stats_reset, Size *shmem)
{
	pending_flush_all();
	table_stats(store, entries, evictions, truncated, stats_reset);
	*shmem = table_shmem_size(store_table_def());
}

/*
 * Remove the entries matching (userid, dbid, queryid), 0 matching anything.
 * With all three 0, also reset the store's own counters and stats_reset.
 */
void
store_reset(Oid userid, Oid dbid, uint64 queryid)
{
	pending_flush_all();
	(void) table_reset(store, userid, dbid, queryid);
}

/* TableUpdateFn: forget an entry's minimum and maximum times. */
static void
reset_minmax(void *data, void *arg)
{
	StoreCounters *c = &((StoreData *) data)->c;

	c->min_exec = c->max_exec = 0;
	c->min_plan = c->max_plan = 0;
	c->minmax_stats_since = *(TimestampTz *) arg;
}

/* Forget the minimum and maximum times of the matching entries; 0 = any. */
void
store_reset_minmax(Oid userid, Oid dbid, uint64 queryid)
{
	TimestampTz now = GetCurrentTimestamp();

	pending_flush_all();
	(void) table_update(store, userid, dbid, queryid, reset_minmax, &now);
}
