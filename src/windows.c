/*
 * windows.c: time windows, baselines and regressions.
 *
 * DERIVATION.  The sampler worker (locks.c) calls windows_worker_tick() on
 * every wake-up.  Every latdiag.window_interval (windows end on multiples of
 * it) it copies the query store's counters and histograms, the lock-wait
 * store's totals and the plans store's call counts, and subtracts the copy
 * it kept in its own memory at the previous window: the difference is what
 * each statement did in the window.  An entry that is new, or whose calls
 * went down (evicted or reset, then created again), counts from zero.  The
 * query path does nothing for windows.
 *
 * TABLES (table.c, so bounded, saved at shutdown and at checkpoints):
 *   windows   (userid, dbid, queryid, toplevel, seq) -> counters, plan ids
 *             and a sparse histogram, for the window_max_queries statements
 *             of each window with the most execution time, plus one "other"
 *             row (key 0, 0, 0) summing the rest; max_windows windows.
 *   totals    seq -> the window's start, end, server totals and full
 *             histogram (p50/p95/p99 over all statements).
 *   baselines (userid, dbid, queryid, toplevel, id) -> as windows, summed
 *             over the saved period; id is a hash of the name.
 *   names     name -> id, when, period, statements.
 * Only the worker writes windows and totals; when it writes window n it
 * first removes the rows of window n - max_windows, so the tables never
 * evict.  Backends write baselines (serialized by an advisory lock) and
 * remove rows on reset.
 *
 * SPARSE HISTOGRAMS.  A window row's histogram is the list of its non-empty
 * buckets of histogram.c, each as two varints (gap from the previous
 * non-empty bucket, count) in WINDOW_HIST_BYTES bytes: 2 or 3 bytes a bucket,
 * so 80 to 120 non-empty buckets (4.5 to 6.5 powers of two fully occupied)
 * keep the full 1.93% resolution.  A statement whose window has more is
 * made to fit by merging the pair of neighbouring non-empty buckets with
 * the smallest sum into the heavier of the two, repeatedly: the dense part
 * of the distribution, where percentiles fall, keeps its resolution and the
 * few executions of sparse tails move by a bucket or more
 * (WindowCounters.hist_merges counts the merges).  The totals row keeps the
 * full 512 buckets.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "guc.h"
#include "locks.h"
#include "plans.h"
#include "store.h"
#include "table.h"
#include "windows.h"

#define WINDOWS_FILE		PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag_windows.stat"
#define TOTALS_FILE			PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag_window_totals.stat"
#define BASELINES_FILE		PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag_baselines.stat"
#define NAMES_FILE			PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag_baseline_names.stat"
#define WINDOWS_FILE_VERSION 2	/* 2: errors per window (1.5) */

/* regressions: see doc/design.md, "Regressions" */
#define REG_MIN_CALLS		20		/* on each side */
#define REG_MIN_FACTOR		1.5		/* recent p95 or mean over the baseline's */
#define REG_P0				0.05	/* executions above the baseline p95 when nothing changed */
#define REG_MAX_P_VALUE		1e-4	/* binomial test */
#define REG_BAD_FRACTION	0.25	/* a window this far above the baseline p95 is bad */
#define REG_MIN_ERRORS		5		/* cause "more errors": at least this many recent errors, */
#define REG_MIN_ERROR_RATE	0.05	/* failing at least this share of executions, twice the baseline's */
#define BASELINE_LOCK_KEY	INT64CONST(0x4C44474241534531)	/* advisory lock of saves */

typedef struct WindowRowData
{
	WindowCounters c;
	int32		hist_len;
	uint8		hist[WINDOW_HIST_BYTES];
} WindowRowData;

typedef struct TotalKey
{
	uint32		seq;
} TotalKey;

typedef struct TotalData
{
	WindowCounters c;
	int32		other_statements;
	int64		other_calls;
	LatdiagHistogram hist;
} TotalData;

typedef struct BaselineNameKey
{
	char		name[NAMEDATALEN];
} BaselineNameKey;

typedef struct BaselineName
{
	uint32		id;
	TimestampTz created;
	TimestampTz period_start;
	TimestampTz period_end;
	int32		statements;
	int64		calls;
	double		seconds;		/* covered by the saved period's windows */
} BaselineName;

static TableDef windows_def;
static TableDef totals_def;
static TableDef baselines_def;
static TableDef names_def;
static Table *windows_table = NULL;
static Table *totals_table = NULL;
static Table *baselines_table = NULL;
static Table *names_table = NULL;

static const TableDef *
windows_table_def(void)
{
	windows_def.name = "postgres_latdiag windows";
	windows_def.key_size = sizeof(WindowKey);
	windows_def.data_size = sizeof(WindowRowData);
	windows_def.max_entries = latdiag_max_windows * (latdiag_window_max_queries + 1);
	windows_def.max_text = 0;
	windows_def.file = WINDOWS_FILE;
	windows_def.file_version = WINDOWS_FILE_VERSION;
	windows_def.save = &latdiag_save;
	return &windows_def;
}

static const TableDef *
totals_table_def(void)
{
	totals_def.name = "postgres_latdiag window totals";
	totals_def.key_size = sizeof(TotalKey);
	totals_def.data_size = sizeof(TotalData);
	totals_def.max_entries = latdiag_max_windows;
	totals_def.max_text = 0;
	totals_def.file = TOTALS_FILE;
	totals_def.file_version = WINDOWS_FILE_VERSION;
	totals_def.save = &latdiag_save;
	return &totals_def;
}

static const TableDef *
baselines_table_def(void)
{
	baselines_def.name = "postgres_latdiag baselines";
	baselines_def.key_size = sizeof(WindowKey);
	baselines_def.data_size = sizeof(WindowRowData);
	baselines_def.max_entries = latdiag_max_baselines * (latdiag_window_max_queries + 1);
	baselines_def.max_text = 0;
	baselines_def.file = BASELINES_FILE;
	baselines_def.file_version = WINDOWS_FILE_VERSION;
	baselines_def.save = &latdiag_save;
	return &baselines_def;
}

static const TableDef *
names_table_def(void)
{
	names_def.name = "postgres_latdiag baseline names";
	names_def.key_size = sizeof(BaselineNameKey);
	names_def.data_size = sizeof(BaselineName);
	names_def.max_entries = latdiag_max_baselines;
	names_def.max_text = 0;
	names_def.file = NAMES_FILE;
	names_def.file_version = WINDOWS_FILE_VERSION;
	names_def.save = &latdiag_save;
	return &names_def;
}

/* Ask for the tables' memory and locks; from shmem_request_hook. */
void
windows_shmem_request(void)
{
	table_request(windows_table_def());
	table_request(totals_table_def());
	table_request(baselines_table_def());
	table_request(names_table_def());
}

/* Attach the tables; from shmem_startup_hook. */
void
windows_shmem_startup(void)
{
	windows_table = table_attach(windows_table_def());
	totals_table = table_attach(totals_table_def());
	baselines_table = table_attach(baselines_table_def());
	names_table = table_attach(names_table_def());
}

/* Shared memory of the four tables (the formula in doc/design.md). */
Size
windows_shmem_size(void)
{
	Size		size = table_shmem_size(windows_table_def());

	size = add_size(size, table_shmem_size(totals_table_def()));
	size = add_size(size, table_shmem_size(baselines_table_def()));
	return add_size(size, table_shmem_size(names_table_def()));
}

/* ---------------------------------------------------- sparse histograms */

static inline int
varint_put(uint8 *out, int pos, int cap, uint64 v)
{
	do
	{
		if (pos >= cap)
			return -1;
		out[pos++] = (uint8) ((v & 0x7F) | (v >= 0x80 ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
	return pos;
}

static inline int
varint_get(const uint8 *in, int pos, int len, uint64 *v)
{
	int			shift = 0;

	*v = 0;
	while (pos < len && shift < 64)
	{
		uint8		b = in[pos++];

		*v |= (uint64) (b & 0x7F) << shift;
		if (!(b & 0x80))
			return pos;
		shift += 7;
	}
	return -1;
}

/* Encode the non-empty buckets; the length, or -1 if they do not fit. */
static int
sparse_encode(const uint32 *b, uint8 *out)
{
	int			pos = 0;
	int			prev = -1;

	for (int i = 0; i < HIST_BUCKETS; i++)
	{
		if (b[i] == 0)
			continue;
		pos = varint_put(out, pos, WINDOW_HIST_BYTES, (uint64) (i - prev - 1));
		if (pos < 0)
			return -1;
		pos = varint_put(out, pos, WINDOW_HIST_BYTES, b[i]);
		if (pos < 0)
			return -1;
		prev = i;
	}
	return pos;
}

/*
 * Encode b (which may be changed): merge the lightest pair of neighbouring
 * non-empty buckets into the heavier one until the list fits.  Returns the
 * length; *merges counts the merges.
 */
static int
sparse_encode_fit(uint32 *b, uint8 *out, int16 *merges)
{
	int			len;

	*merges = 0;
	while ((len = sparse_encode(b, out)) < 0)
	{
		int			best_i = -1,
					best_j = -1,
					prev = -1;
		uint64		best = PG_UINT64_MAX;

		for (int i = 0; i < HIST_BUCKETS; i++)
		{
			if (b[i] == 0)
				continue;
			if (prev >= 0 && (uint64) b[prev] + b[i] < best)
			{
				best = (uint64) b[prev] + b[i];
				best_i = prev;
				best_j = i;
			}
			prev = i;
		}
		if (best_i < 0)
			return 0;			/* cannot happen: one bucket always fits */
		if (b[best_i] >= b[best_j])
		{
			b[best_i] = (uint32) Min(best, (uint64) PG_UINT32_MAX);
			b[best_j] = 0;
		}
		else
		{
			b[best_j] = (uint32) Min(best, (uint64) PG_UINT32_MAX);
			b[best_i] = 0;
		}
		if (*merges < PG_INT16_MAX)
			(*merges)++;
	}
	return len;
}

/* Add a sparse histogram's buckets to a full one. */
static void
sparse_add(const uint8 *in, int len, LatdiagHistogram *h)
{
	int			pos = 0;
	int			bucket = -1;

	len = Min(len, WINDOW_HIST_BYTES);
	while (pos < len)
	{
		uint64		gap,
					count;

		if ((pos = varint_get(in, pos, len, &gap)) < 0 ||
			(pos = varint_get(in, pos, len, &count)) < 0)
			return;
		bucket += (int) Min(gap, (uint64) HIST_BUCKETS) + 1;
		if (bucket >= HIST_BUCKETS)
			return;
		h->buckets[bucket] = (uint32) Min((uint64) h->buckets[bucket] + count,
										  (uint64) PG_UINT32_MAX);
	}
}

static void
hist_add(LatdiagHistogram *to, const LatdiagHistogram *from)
{
	for (int i = 0; i < HIST_BUCKETS; i++)
		to->buckets[i] = (uint32) Min((uint64) to->buckets[i] + from->buckets[i],
									  (uint64) PG_UINT32_MAX);
}

/* p50, p95, p99 of a histogram (no exact min/max to clamp to). */
static void
window_percentiles(const LatdiagHistogram *h, double *out)
{
	static const double fractions[3] = {0.50, 0.95, 0.99};

	hist_percentiles(h, fractions, 3, 0.0, DBL_MAX, out);
}

/* ------------------------------------------------------- the worker */

/* The worker's copy of one query-store entry at the previous window. */
typedef struct PrevQuery
{
	StoreKey	key;
	uint32		pass;			/* the last pass that saw it */
	int64		calls;
	int64		rows;
	double		total_exec;
	int64		shared_blks_hit;
	int64		shared_blks_read;
	int64		temp_blks_read;
	int64		temp_blks_written;
	int64		errors;
	LatdiagHistogram hist;
} PrevQuery;

typedef struct PrevLock
{
	TableKeyPrefix key;
	uint32		pass;
	int64		waits;
	double		total_ms;
} PrevLock;

typedef struct PrevPlan
{
	PlanKey		key;
	uint32		pass;
	int64		calls;
} PrevPlan;

/* One statement's change in the window being closed. */
typedef struct Delta
{
	WindowKey	key;
	WindowCounters c;
	LatdiagHistogram hist;
} Delta;

/* (userid, dbid, queryid) -> where its lock waits and plans go. */
typedef struct DeltaLink
{
	TableKeyPrefix key;
	Delta	   *top;			/* toplevel row, if active */
	Delta	   *nested;
	int64		lock_waits;
	double		lock_ms;
	int			nplans;
	uint64		planids[WINDOW_PLANS];
	int64		plan_calls[WINDOW_PLANS];
} DeltaLink;

static HTAB *prev_queries = NULL;
static HTAB *prev_locks = NULL;
static HTAB *prev_plans = NULL;
static MemoryContext worker_cxt = NULL;
static uint32 pass = 0;
static uint32 next_seq = 0;
static TimestampTz window_start = 0;
static TimestampTz window_close = 0;

/* The end of the window that contains now: the next multiple of the interval. */
static TimestampTz
next_boundary(TimestampTz now)
{
	int64		iv = (int64) latdiag_window_interval * USECS_PER_SEC;

	return (now / iv + 1) * iv;
}

static HTAB *
local_hash(const char *name, Size keysize, Size entrysize, long n,
		   MemoryContext cxt)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = cxt;
	return hash_create(name, n, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* Remove the entries of a prev_* map that the last pass did not see. */
static void
forget_unseen(HTAB *map, Size pass_offset)
{
	HASH_SEQ_STATUS seq;
	char	   *e;

	hash_seq_init(&seq, map);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (*(uint32 *) (e + pass_offset) != pass)
			hash_search(map, e, HASH_REMOVE, NULL);
}

/* TableEmitFn: a totals row's sequence number; emits no row. */
static void
max_seq(void *row, const void *key, const void *data, char *text,
		int text_len, bool truncated, void *arg)
{
	uint32		seq = ((const TotalKey *) key)->seq;
	uint32	   *max = (uint32 *) arg;

	if (seq + 1 > *max)
		*max = seq + 1;
}

static int
delta_cmp(const void *a, const void *b)
{
	double		ta = (*(Delta *const *) a)->c.total_exec;
	double		tb = (*(Delta *const *) b)->c.total_exec;

	return (ta < tb) - (ta > tb);
}

static bool
match_old_window(const void *key, void *arg)
{
	return ((const WindowKey *) key)->seq < *(uint32 *) arg;
}

static bool
match_old_total(const void *key, void *arg)
{
	return ((const TotalKey *) key)->seq < *(uint32 *) arg;
}

/* Sum a delta's counters into another (the "other" row, the totals). */
static void
counters_add(WindowCounters *to, const WindowCounters *c)
{
	to->calls += c->calls;
	to->rows += c->rows;
	to->total_exec += c->total_exec;
	to->shared_blks_hit += c->shared_blks_hit;
	to->shared_blks_read += c->shared_blks_read;
	to->temp_blks_read += c->temp_blks_read;
	to->temp_blks_written += c->temp_blks_written;
	to->lock_waits += c->lock_waits;
	to->lock_wait_ms += c->lock_wait_ms;
	to->errors += c->errors;
}

/* Write one row of a window or baseline table. */
static void
write_row(Table *t, const WindowKey *key, const WindowCounters *c,
		  LatdiagHistogram *hist)
{
	WindowRowData row;
	WindowRowData *d;

	memset(&row, 0, sizeof(row));
	row.c = *c;
	row.hist_len = sparse_encode_fit(hist->buckets, row.hist, &row.c.hist_merges);
	d = table_create_lock(t, key, (uint32) key->queryid ^ key->seq, NULL, 0);
	if (d == NULL)
		return;
	memcpy(d, &row, sizeof(row));
	table_unlock(t, d, 1.0);
}

/*
 * Take the store's counters now.  With emit, write the window from
 * window_start to now from their change since the last call.
 */
static void
take_window(TimestampTz now, bool emit)
{
	StoreHistRow *rows;
	int			n;
	Delta	   *deltas;
	Delta	  **order;
	int			ndeltas = 0;
	HTAB	   *links;
	HTAB	   *lock_totals;
	PlanRow    *plans;
	int			nplans;
	HASH_SEQ_STATUS seq;
	LockQueryTotals *lt;
	TotalData	total;
	WindowCounters other;
	LatdiagHistogram other_hist;
	int			kept;

	pass++;
	rows = store_read_hist(&n);
	/* not zeroed: only the pages of the deltas actually used are touched */
	deltas = palloc(sizeof(Delta) * Max(n, 1));
	links = local_hash("latdiag window links", sizeof(TableKeyPrefix),
					   sizeof(DeltaLink), Max(n, 16), CurrentMemoryContext);

	for (int i = 0; i < n; i++)
	{
		StoreHistRow *r = &rows[i];
		const StoreCounters *c = &r->d.c;
		PrevQuery  *p;
		bool		found;
		Delta	   *d;

		p = hash_search(prev_queries, &r->key, HASH_ENTER, &found);
		if (!found || c->calls < p->calls)
		{
			/* new, or evicted/reset and created again: count from zero */
			memset((char *) p + sizeof(StoreKey), 0, sizeof(PrevQuery) - sizeof(StoreKey));
		}
		p->pass = pass;
		if (emit && c->calls > p->calls)
		{
			DeltaLink  *l;
			TableKeyPrefix lk;

			d = &deltas[ndeltas++];
			memset(d, 0, sizeof(Delta));
			d->key.userid = r->key.userid;
			d->key.dbid = r->key.dbid;
			d->key.queryid = r->key.queryid;
			d->key.toplevel = r->key.toplevel;
			d->c.start = window_start;
			d->c.end = now;
			d->c.calls = c->calls - p->calls;
			d->c.rows = Max(c->rows - p->rows, 0);
			d->c.total_exec = Max(c->total_exec - p->total_exec, 0.0);
			d->c.shared_blks_hit = Max(c->shared_blks_hit - p->shared_blks_hit, 0);
			d->c.shared_blks_read = Max(c->shared_blks_read - p->shared_blks_read, 0);
			d->c.temp_blks_read = Max(c->temp_blks_read - p->temp_blks_read, 0);
			d->c.temp_blks_written = Max(c->temp_blks_written - p->temp_blks_written, 0);
			d->c.errors = Max(c->errors - p->errors, 0);
			d->c.statements = 1;
			for (int b = 0; b < HIST_BUCKETS; b++)
				d->hist.buckets[b] = r->d.hist.buckets[b] > p->hist.buckets[b] ?
					r->d.hist.buckets[b] - p->hist.buckets[b] : 0;

			/* the statement's recent p99, for tail snapshots (snapshots.c) */
			{
				double		pct[3];
				bool		heavy;

				window_percentiles(&d->hist, pct);
				/* > 0 once known, even for a statement faster than 1 us */
				pct[2] = Max(pct[2], 0.001);
				heavy = pct[2] >= STORE_TAIL_RATIO * Max(pct[0], 0.0);
				if (pct[2] != r->d.tail_p99 || heavy != r->d.tail_heavy)
					store_set_tail(r->key.userid, r->key.dbid, r->key.queryid,
								   r->key.toplevel, pct[2], heavy);
			}

			memset(&lk, 0, sizeof(lk));
			lk.userid = r->key.userid;
			lk.dbid = r->key.dbid;
			lk.queryid = r->key.queryid;
			l = hash_search(links, &lk, HASH_ENTER, &found);
			if (!found)
				memset((char *) l + sizeof(TableKeyPrefix), 0,
					   sizeof(DeltaLink) - sizeof(TableKeyPrefix));
			if (r->key.toplevel)
				l->top = d;
			else
				l->nested = d;
		}
		p->calls = c->calls;
		p->rows = c->rows;
		p->total_exec = c->total_exec;
		p->shared_blks_hit = c->shared_blks_hit;
		p->shared_blks_read = c->shared_blks_read;
		p->temp_blks_read = c->temp_blks_read;
		p->temp_blks_written = c->temp_blks_written;
		/*
		 * Errors of a window in which the statement never finished count in
		 * the next window in which it does (a window row needs calls).
		 */
		if (!emit || c->calls > p->calls || c->errors < p->errors)
			p->errors = c->errors;
		p->hist = r->d.hist;
	}
	pfree(rows);
	forget_unseen(prev_queries, offsetof(PrevQuery, pass));

	/* lock waits: the change of each statement's totals */
	memset(&total, 0, sizeof(total));
	lock_totals = locks_query_totals();
	hash_seq_init(&seq, lock_totals);
	while ((lt = hash_seq_search(&seq)) != NULL)
	{
		bool		found;
		PrevLock   *p = hash_search(prev_locks, &lt->userid, HASH_ENTER, &found);

		if (!found || lt->waits < p->waits)
			p->waits = 0, p->total_ms = 0;
		p->pass = pass;
		if (emit && lt->waits > p->waits)
		{
			DeltaLink  *l = hash_search(links, &lt->userid, HASH_FIND, NULL);

			total.c.lock_waits += lt->waits - p->waits;
			total.c.lock_wait_ms += Max(lt->total_ms - p->total_ms, 0.0);
			if (l)
			{
				l->lock_waits += lt->waits - p->waits;
				l->lock_ms += Max(lt->total_ms - p->total_ms, 0.0);
			}
		}
		p->waits = lt->waits;
		p->total_ms = lt->total_ms;
	}
	forget_unseen(prev_locks, offsetof(PrevLock, pass));

	/* plans: those whose calls grew, the most used first */
	plans = plans_read(&nplans, false);
	for (int i = 0; i < nplans; i++)
	{
		bool		found;
		PrevPlan   *p = hash_search(prev_plans, &plans[i].key, HASH_ENTER, &found);

		if (!found || plans[i].calls < p->calls)
			p->calls = 0;
		p->pass = pass;
		if (emit && plans[i].calls > p->calls)
		{
			DeltaLink  *l = hash_search(links, &plans[i].key, HASH_FIND, NULL);
			int64		calls = plans[i].calls - p->calls;

			if (l)
			{
				int			k = l->nplans;

				if (k == WINDOW_PLANS)
					k = l->plan_calls[k - 1] < calls ? k - 1 : -1;
				else
					l->nplans++;
				/* insertion by calls, descending */
				for (; k > 0 && l->plan_calls[k - 1] < calls; k--)
				{
					l->planids[k] = l->planids[k - 1];
					l->plan_calls[k] = l->plan_calls[k - 1];
				}
				if (k >= 0)
				{
					l->planids[k] = plans[i].key.planid;
					l->plan_calls[k] = calls;
				}
			}
		}
		p->calls = plans[i].calls;
	}
	pfree(plans);
	forget_unseen(prev_plans, offsetof(PrevPlan, pass));

	if (!emit)
		return;

	/* lock waits and plans go to the toplevel row, else the nested one */
	{
		DeltaLink  *l;

		hash_seq_init(&seq, links);
		while ((l = hash_seq_search(&seq)) != NULL)
		{
			Delta	   *d = l->top ? l->top : l->nested;

			d->c.lock_waits = l->lock_waits;
			d->c.lock_wait_ms = l->lock_ms;
			for (int k = 0; k < l->nplans; k++)
			{
				if (l->top)
					l->top->c.planids[k] = l->planids[k];
				if (l->nested)
					l->nested->c.planids[k] = l->planids[k];
			}
			if (l->top)
				l->top->c.nplanids = l->nplans;
			if (l->nested)
				l->nested->c.nplanids = l->nplans;
		}
	}

	/* the heaviest statements by time are kept, the rest summed */
	order = palloc(sizeof(Delta *) * Max(ndeltas, 1));
	for (int i = 0; i < ndeltas; i++)
		order[i] = &deltas[i];
	qsort(order, ndeltas, sizeof(Delta *), delta_cmp);
	kept = Min(ndeltas, latdiag_window_max_queries);

	total.c.start = window_start;
	total.c.end = now;
	total.c.statements = ndeltas;
	total.other_statements = ndeltas - kept;
	memset(&other, 0, sizeof(other));
	memset(&other_hist, 0, sizeof(other_hist));
	other.start = window_start;
	other.end = now;
	for (int i = 0; i < ndeltas; i++)
	{
		Delta	   *d = order[i];
		int64		lw = total.c.lock_waits;
		double		lms = total.c.lock_wait_ms;

		counters_add(&total.c, &d->c);
		/* lock waits were counted from the lock store, with the unkept */
		total.c.lock_waits = lw;
		total.c.lock_wait_ms = lms;
		hist_add(&total.hist, &d->hist);
		if (i >= kept)
		{
			counters_add(&other, &d->c);
			hist_add(&other_hist, &d->hist);
			other.statements++;
			total.other_calls += d->c.calls;
		}
	}

	/* drop the oldest window, then write this one */
	{
		uint32		seqno = next_seq++;
		uint32		cutoff = seqno >= (uint32) latdiag_max_windows - 1 ?
			seqno - (latdiag_max_windows - 1) : 0;
		TotalKey	tk;
		TotalData  *td;

		table_remove(windows_table, match_old_window, &cutoff);
		table_remove(totals_table, match_old_total, &cutoff);
		for (int i = 0; i < kept; i++)
		{
			order[i]->key.seq = seqno;
			write_row(windows_table, &order[i]->key, &order[i]->c, &order[i]->hist);
		}
		if (other.statements > 0)
		{
			WindowKey	ok;

			memset(&ok, 0, sizeof(ok));
			ok.seq = seqno;
			write_row(windows_table, &ok, &other, &other_hist);
		}
		memset(&tk, 0, sizeof(tk));
		tk.seq = seqno;
		td = table_create_lock(totals_table, &tk, seqno, NULL, 0);
		if (td != NULL)
		{
			memcpy(td, &total, sizeof(total));
			table_unlock(totals_table, td, 1.0);
		}
	}
}

/* Milliseconds until the current window closes (at least 1). */
long
windows_ms_to_close(TimestampTz now)
{
	TimestampTz close = window_close ? Min(window_close, next_boundary(now)) : now;

	return (long) Max((close - now) / 1000 + 1, 1);
}

/*
 * From the sampler's loop: close the window when its end has come.  The
 * first call (worker start) only takes the counters, so the first window
 * after a start begins then.
 */
void
windows_worker_tick(TimestampTz now)
{
	MemoryContext old;
	MemoryContext tmp;
	bool		first = (worker_cxt == NULL);

	if (first)
	{
		void	   *rows;

		worker_cxt = AllocSetContextCreate(TopMemoryContext,
										   "postgres_latdiag windows",
										   ALLOCSET_DEFAULT_SIZES);
		prev_queries = local_hash("latdiag window queries", sizeof(StoreKey),
								  sizeof(PrevQuery), 1024, worker_cxt);
		prev_locks = local_hash("latdiag window locks", sizeof(TableKeyPrefix),
								sizeof(PrevLock), 256, worker_cxt);
		prev_plans = local_hash("latdiag window plans", sizeof(PlanKey),
								sizeof(PrevPlan), 256, worker_cxt);
		/* continue the numbering of the windows kept across a restart */
		old = MemoryContextSwitchTo(worker_cxt);
		(void) table_read(totals_table, 1, false, max_seq, &next_seq, &rows);
		pfree(rows);
		MemoryContextSwitchTo(old);
		window_close = next_boundary(now);
	}
	else
	{
		/* a shorter interval set by reload applies at once */
		if (window_close > next_boundary(now))
			window_close = next_boundary(now);
		if (now < window_close)
			return;
		window_close = next_boundary(now);
	}

	/* the maps live in worker_cxt; everything else of a pass in tmp */
	tmp = AllocSetContextCreate(worker_cxt, "postgres_latdiag window",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);
	take_window(now, !first);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);
	window_start = now;
}

/* ------------------------------------------------------- readers */

typedef struct RawRow
{
	WindowKey	key;
	WindowRowData d;
} RawRow;

static void
emit_raw(void *row, const void *key, const void *data, char *text,
		 int text_len, bool truncated, void *arg)
{
	RawRow	   *r = (RawRow *) row;

	memcpy(&r->key, key, sizeof(WindowKey));
	memcpy(&r->d, data, sizeof(WindowRowData));
}

static void
emit_total(void *row, const void *key, const void *data, char *text,
		   int text_len, bool truncated, void *arg)
{
	WindowTotalRow *r = (WindowTotalRow *) row;
	const TotalData *d = (const TotalData *) data;

	r->seq = ((const TotalKey *) key)->seq;
	r->c = d->c;
	r->other_statements = d->other_statements;
	r->other_calls = d->other_calls;
	window_percentiles(&d->hist, r->pct);
}

/* Every kept window of the server, with p50/p95/p99. */
WindowTotalRow *
windows_read_totals(int *nrows)
{
	void	   *rows;

	*nrows = table_read(totals_table, sizeof(WindowTotalRow), false, emit_total,
						NULL, &rows);
	return (WindowTotalRow *) rows;
}

static RawRow *
read_raw(Table *t, int *nrows)
{
	void	   *rows;

	*nrows = table_read(t, sizeof(RawRow), false, emit_raw, NULL, &rows);
	return (RawRow *) rows;
}

/* Every (window, statement) row kept, with p50/p95/p99. */
WindowQueryRow *
windows_read_queries(int *nrows)
{
	RawRow	   *raw = read_raw(windows_table, nrows);
	WindowQueryRow *out = palloc(sizeof(WindowQueryRow) * Max(*nrows, 1));

	for (int i = 0; i < *nrows; i++)
	{
		LatdiagHistogram h;

		memset(&h, 0, sizeof(h));
		sparse_add(raw[i].d.hist, raw[i].d.hist_len, &h);
		out[i].key = raw[i].key;
		out[i].c = raw[i].d.c;
		window_percentiles(&h, out[i].pct);
	}
	pfree(raw);
	return out;
}

static HTAB *
agg_hash(void)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(WindowKey);
	ctl.entrysize = sizeof(PeriodStats);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create("latdiag window period", 256, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* Add one raw row to its statement's aggregate in p. */
static void
agg_add(WindowPeriod *p, const RawRow *r)
{
	WindowKey	k = r->key;
	PeriodStats  *a;
	bool		found;

	k.seq = 0;
	a = hash_search(p->aggs, &k, HASH_ENTER, &found);
	if (!found)
	{
		memset((char *) a + sizeof(WindowKey), 0, sizeof(PeriodStats) - sizeof(WindowKey));
		a->c.start = r->d.c.start;
		a->c.end = r->d.c.end;
	}
	counters_add(&a->c, &r->d.c);
	a->c.statements += r->d.c.statements;
	a->c.hist_merges = Min(a->c.hist_merges + r->d.c.hist_merges, PG_INT16_MAX);
	a->c.start = Min(a->c.start, r->d.c.start);
	a->c.end = Max(a->c.end, r->d.c.end);
	for (int i = 0; i < r->d.c.nplanids && i < WINDOW_PLANS; i++)
	{
		int			j = 0;

		while (j < a->nplanids && a->planids[j] != r->d.c.planids[i])
			j++;
		if (j == a->nplanids && j < WINDOW_AGG_PLANS)
			a->planids[a->nplanids++] = r->d.c.planids[i];
	}
	sparse_add(r->d.hist, r->d.hist_len, &a->hist);
}

/* Is a window in [from, to)?  Its middle decides. */
static inline bool
window_in(const WindowCounters *c, TimestampTz from, TimestampTz to)
{
	TimestampTz mid = c->start + (c->end - c->start) / 2;

	return mid >= from && mid < to;
}

/* The statements of the windows in [from, to), summed. */
WindowPeriod *
windows_period(TimestampTz from, TimestampTz to)
{
	WindowPeriod *p = palloc0(sizeof(WindowPeriod));
	WindowTotalRow *totals;
	RawRow	   *raw;
	int			n;

	p->aggs = agg_hash();
	totals = windows_read_totals(&n);
	for (int i = 0; i < n; i++)
		if (window_in(&totals[i].c, from, to))
		{
			p->seconds += (double) (totals[i].c.end - totals[i].c.start) / USECS_PER_SEC;
			if (p->nwindows == 0 || totals[i].c.start < p->start)
				p->start = totals[i].c.start;
			if (p->nwindows == 0 || totals[i].c.end > p->end)
				p->end = totals[i].c.end;
			p->nwindows++;
		}
	pfree(totals);
	raw = read_raw(windows_table, &n);
	for (int i = 0; i < n; i++)
		if (window_in(&raw[i].d.c, from, to))
			agg_add(p, &raw[i]);
	pfree(raw);
	return p;
}

/* ------------------------------------------------------- baselines */

static void
name_key(BaselineNameKey *k, const char *name)
{
	memset(k, 0, sizeof(BaselineNameKey));
	memcpy(k->name, name, Min(strlen(name), NAMEDATALEN - 1));
}

static uint32
name_id(const char *name)
{
	uint32		id = hash_bytes((const unsigned char *) name, strlen(name));

	return id == 0 ? 1 : id;
}

static void
check_name(const char *name)
{
	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("baseline name must not be empty")));
	if (strlen(name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("baseline name \"%s\" is too long", name),
				 errdetail("A baseline name has at most %d bytes.", NAMEDATALEN - 1)));
}

/* The baseline's BaselineName, or false. */
static bool
find_name(const char *name, BaselineName *out)
{
	BaselineNameKey		k;
	BaselineName   *d;

	name_key(&k, name);
	d = table_lock(names_table, &k, name_id(name));
	if (d == NULL)
		return false;
	*out = *d;
	table_unlock(names_table, d, 0);
	return out->id != 0;
}

static bool
match_baseline(const void *key, void *arg)
{
	return ((const WindowKey *) key)->seq == *(uint32 *) arg;
}

static bool
match_name(const void *key, void *arg)
{
	return strcmp(((const BaselineNameKey *) key)->name, (const char *) arg) == 0;
}

static int
agg_cmp(const void *a, const void *b)
{
	double		ta = (*(PeriodStats *const *) a)->c.total_exec;
	double		tb = (*(PeriodStats *const *) b)->c.total_exec;

	return (ta < tb) - (ta > tb);
}

/*
 * Save the statements of the windows in [from, to) as a named baseline;
 * returns the number of statements kept.
 */
int
windows_baseline_save(const char *name, TimestampTz from, TimestampTz to)
{
	WindowPeriod *p;
	PeriodStats **order;
	PeriodStats  *a;
	HASH_SEQ_STATUS seq;
	BaselineNameKey		nk;
	BaselineName	nd;
	BaselineName   *d;
	int			n = 0,
				kept;
	int64		entries,
				evictions,
				truncated;
	TimestampTz reset;
	uint32		id = name_id(name);
	WindowCounters other;
	LatdiagHistogram other_hist;

	check_name(name);
	/* one save at a time, so that the count check below holds */
	DirectFunctionCall1(pg_advisory_xact_lock_int8, Int64GetDatum(BASELINE_LOCK_KEY));
	if (find_name(name, &nd))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("baseline \"%s\" already exists", name),
				 errhint("Drop it first with latdiag_baseline_drop(), or choose another name.")));
	table_stats(names_table, &entries, &evictions, &truncated, &reset);
	if (entries >= latdiag_max_baselines)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many baselines: latdiag.max_baselines is %d", latdiag_max_baselines),
				 errhint("Drop one with latdiag_baseline_drop(), or raise latdiag.max_baselines (restart).")));
	{
		BaselineRow *all = windows_baselines(&n);

		for (int i = 0; i < n; i++)
			if (name_id(all[i].name) == id)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_OBJECT),
						 errmsg("baseline name \"%s\" collides with baseline \"%s\"",
								name, all[i].name),
						 errhint("Choose another name.")));
	}

	p = windows_period(from, to);
	if (p->nwindows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("no time window to save as baseline \"%s\"", name),
				 errhint("Windows close every latdiag.window_interval; latdiag_windows lists them.")));

	order = palloc(sizeof(PeriodStats *) * Max(hash_get_num_entries(p->aggs), 1));
	n = 0;
	hash_seq_init(&seq, p->aggs);
	while ((a = hash_seq_search(&seq)) != NULL)
		order[n++] = a;
	qsort(order, n, sizeof(PeriodStats *), agg_cmp);
	kept = 0;
	memset(&other, 0, sizeof(other));
	memset(&other_hist, 0, sizeof(other_hist));
	other.start = p->start;
	other.end = p->end;
	memset(&nd, 0, sizeof(nd));
	for (int i = 0; i < n; i++)
	{
		WindowKey	k = order[i]->key;
		bool		is_other = (k.userid == InvalidOid && k.dbid == InvalidOid &&
								k.queryid == 0);

		nd.calls += order[i]->c.calls;
		if (is_other || kept >= latdiag_window_max_queries)
		{
			counters_add(&other, &order[i]->c);
			hist_add(&other_hist, &order[i]->hist);
			other.statements += is_other ? order[i]->c.statements : 1;
			continue;
		}
		k.seq = id;
		order[i]->c.nplanids = Min(order[i]->nplanids, WINDOW_PLANS);
		memcpy(order[i]->c.planids, order[i]->planids,
			   sizeof(uint64) * order[i]->c.nplanids);
		write_row(baselines_table, &k, &order[i]->c, &order[i]->hist);
		kept++;
	}
	if (other.calls > 0)
	{
		WindowKey	k;

		memset(&k, 0, sizeof(k));
		k.seq = id;
		write_row(baselines_table, &k, &other, &other_hist);
	}

	name_key(&nk, name);
	d = table_create_lock(names_table, &nk, id, NULL, 0);
	if (d != NULL)
	{
		d->id = id;
		d->created = GetCurrentTimestamp();
		d->period_start = p->start;
		d->period_end = p->end;
		d->statements = kept;
		d->calls = nd.calls;
		d->seconds = p->seconds;
		table_unlock(names_table, d, 1.0);
	}
	return kept;
}

/* Is there a baseline of that name? */
bool
windows_baseline_exists(const char *name)
{
	BaselineName nd;

	return strlen(name) < NAMEDATALEN && find_name(name, &nd);
}

/* Forget a named baseline; ERROR if there is none. */
void
windows_baseline_drop(const char *name)
{
	BaselineName	nd;

	check_name(name);
	if (!find_name(name, &nd))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("baseline \"%s\" does not exist", name),
				 errhint("latdiag_baselines lists the saved baselines.")));
	(void) table_remove(baselines_table, match_baseline, &nd.id);
	(void) table_remove(names_table, match_name, (void *) name);
}

static void
emit_name(void *row, const void *key, const void *data, char *text,
		  int text_len, bool truncated, void *arg)
{
	BaselineRow *r = (BaselineRow *) row;
	const BaselineName *d = (const BaselineName *) data;

	memcpy(r->name, ((const BaselineNameKey *) key)->name, NAMEDATALEN);
	r->created = d->created;
	r->period_start = d->period_start;
	r->period_end = d->period_end;
	r->statements = d->statements;
	r->calls = d->calls;
}

/* Every saved baseline. */
BaselineRow *
windows_baselines(int *nrows)
{
	void	   *rows;

	*nrows = table_read(names_table, sizeof(BaselineRow), false, emit_name,
						NULL, &rows);
	return (BaselineRow *) rows;
}

/* A named baseline's statements as a period; ERROR if there is none. */
WindowPeriod *
windows_baseline_period(const char *name)
{
	WindowPeriod *p = palloc0(sizeof(WindowPeriod));
	BaselineName	nd;
	RawRow	   *raw;
	int			n;

	check_name(name);
	if (!find_name(name, &nd))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("baseline \"%s\" does not exist", name),
				 errhint("latdiag_baselines lists the saved baselines; to compare with a period, pass an interval (e.g. '1 hour'::interval).")));
	p->aggs = agg_hash();
	p->seconds = nd.seconds;
	p->start = nd.period_start;
	p->end = nd.period_end;
	p->nwindows = 1;
	raw = read_raw(baselines_table, &n);
	for (int i = 0; i < n; i++)
		if (raw[i].key.seq == nd.id)
			agg_add(p, &raw[i]);
	pfree(raw);
	return p;
}

/* ------------------------------------------------------- regressions */

/* P(X >= k) for X ~ Binomial(n, p). */
static double
binomial_tail(int64 n, int64 k, double p)
{
	double		sum = 0.0;
	double		lgn = lgamma((double) n + 1);

	if (k <= 0)
		return 1.0;
	if (k > n)
		return 0.0;
	if (k <= n * p)
		return 1.0;				/* at or below the mean: not significant anyway */
	if (n > 100000)
	{
		/* normal approximation with continuity correction */
		double		mu = n * p,
					sd = sqrt(n * p * (1 - p));

		return 0.5 * erfc(((k - 0.5) - mu) / (sd * M_SQRT2));
	}
	for (int64 i = k; i <= n; i++)
	{
		double		lt = lgn - lgamma((double) i + 1) -
			lgamma((double) (n - i) + 1) + i * log(p) + (n - i) * log1p(-p);
		double		term = exp(lt);

		sum += term;
		if (term < sum * 1e-17)
			break;				/* past the mean, terms only shrink */
	}
	return Min(sum, 1.0);
}

/* The bucket holding a histogram's nearest-rank fraction. */
static int
rank_bucket(const LatdiagHistogram *h, double fraction)
{
	uint64		total = hist_total(h);
	uint64		rank = (uint64) ceil(fraction * (double) total - 1e-9);
	uint64		cum = 0;

	rank = Max(rank, 1);
	for (int b = 0; b < HIST_BUCKETS; b++)
	{
		cum += h->buckets[b];
		if (cum >= rank)
			return b;
	}
	return HIST_BUCKETS - 1;
}

static uint64
count_above(const LatdiagHistogram *h, int bucket)
{
	uint64		n = 0;

	for (int b = bucket + 1; b < HIST_BUCKETS; b++)
		n += h->buckets[b];
	return n;
}

static bool
has_plan(const PeriodStats *a, uint64 planid)
{
	for (int i = 0; i < a->nplanids; i++)
		if (a->planids[i] == planid)
			return true;
	return false;
}

/* Why r got slower than b, in order of likelihood; see doc/design.md. */
static void
likely_causes(RegressionRow *out, const PeriodStats *r, double r_seconds,
			  const PeriodStats *b, double b_seconds)
{
	double		r_mean = r->c.total_exec / r->c.calls;
	double		b_mean = b->c.total_exec / b->c.calls;
	double		added = r_mean - b_mean;
	double		r_lock = r->c.lock_wait_ms / r->c.calls;
	double		b_lock = b->c.lock_wait_ms / b->c.calls;
	double		r_rows = (double) r->c.rows / r->c.calls;
	double		b_rows = (double) b->c.rows / b->c.calls;
	double		r_read = (double) r->c.shared_blks_read / r->c.calls;
	double		b_read = (double) b->c.shared_blks_read / b->c.calls;
	double		r_frac = (double) r->c.shared_blks_read /
		Max(r->c.shared_blks_read + r->c.shared_blks_hit, 1);
	double		b_frac = (double) b->c.shared_blks_read /
		Max(b->c.shared_blks_read + b->c.shared_blks_hit, 1);
	/* the share of executions that failed */
	double		r_err = (double) r->c.errors / (r->c.calls + r->c.errors);
	double		b_err = (double) b->c.errors / (b->c.calls + b->c.errors);

	out->ncauses = 0;
	if (b->nplanids > 0)
		for (int i = 0; i < r->nplanids; i++)
			if (!has_plan(b, r->planids[i]))
			{
				out->causes[out->ncauses++] = "plan change";
				break;
			}
	if (added > 0 && r_lock - b_lock >= 0.3 * added)
		out->causes[out->ncauses++] = "lock waits";
	if (r_rows >= 2 * b_rows && r_rows - b_rows >= 1)
		out->causes[out->ncauses++] = "more rows";
	if (r_read >= 2 * b_read && r_read - b_read >= 1 && r_frac >= b_frac + 0.2)
		out->causes[out->ncauses++] = "cache misses";
	if (r_seconds > 0 && b_seconds > 0 &&
		r->c.calls / r_seconds >= 2 * (b->c.calls / b_seconds))
		out->causes[out->ncauses++] = "more calls";
	if (r->c.errors >= REG_MIN_ERRORS && r_err >= REG_MIN_ERROR_RATE && r_err >= 2 * b_err)
		out->causes[out->ncauses++] = "more errors";
}

/*
 * The statements of recent that are significantly worse than in baseline
 * (doc/design.md, "Regressions"), worst first.
 */
RegressionRow *
windows_regressions(WindowPeriod *recent, WindowPeriod *baseline, int *nrows)
{
	long		n = hash_get_num_entries(recent->aggs);
	RegressionRow *out = palloc0(sizeof(RegressionRow) * Max(n, 1));
	HASH_SEQ_STATUS seq;
	PeriodStats  *r;
	RawRow	   *raw = NULL;
	int			nraw = 0;
	int			k = 0;

	hash_seq_init(&seq, recent->aggs);
	while ((r = hash_seq_search(&seq)) != NULL)
	{
		PeriodStats  *b;
		RegressionRow *o = &out[k];
		int			b95;
		uint64		above,
					total;
		double		mean_factor;

		if (r->key.userid == InvalidOid && r->key.dbid == InvalidOid && r->key.queryid == 0)
			continue;			/* the "other" rows */
		b = hash_search(baseline->aggs, &r->key, HASH_FIND, NULL);
		if (b == NULL || r->c.calls < REG_MIN_CALLS || b->c.calls < REG_MIN_CALLS)
			continue;
		total = hist_total(&r->hist);
		if (total == 0 || hist_total(&b->hist) == 0)
			continue;
		window_percentiles(&r->hist, o->recent_pct);
		window_percentiles(&b->hist, o->baseline_pct);
		o->recent_mean = r->c.total_exec / r->c.calls;
		o->baseline_mean = b->c.total_exec / b->c.calls;
		o->factor = o->recent_pct[1] / Max(o->baseline_pct[1], 1e-9);
		mean_factor = o->recent_mean / Max(o->baseline_mean, 1e-9);
		if (o->factor < REG_MIN_FACTOR && mean_factor < REG_MIN_FACTOR)
			continue;
		b95 = rank_bucket(&b->hist, 0.95);
		above = count_above(&r->hist, b95);
		o->p_value = binomial_tail((int64) total, (int64) above, REG_P0);
		if (o->p_value >= REG_MAX_P_VALUE)
			continue;

		o->key = r->key;
		o->recent_calls = r->c.calls;
		o->baseline_calls = b->c.calls;
		o->recent_errors = r->c.errors;
		o->baseline_errors = b->c.errors;
		likely_causes(o, r, recent->seconds, b, baseline->seconds);

		/* since: the first recent window mostly above the baseline's p95 */
		if (raw == NULL)
			raw = read_raw(windows_table, &nraw);
		o->since = 0;
		{
			TimestampTz first = 0;

			for (int i = 0; i < nraw; i++)
			{
				LatdiagHistogram h;
				uint64		t;
				WindowKey	rk = raw[i].key;

				rk.seq = 0;
				if (memcmp(&rk, &r->key, sizeof(WindowKey)) != 0 ||
					raw[i].d.c.start < r->c.start || raw[i].d.c.end > r->c.end)
					continue;
				if (first == 0 || raw[i].d.c.start < first)
					first = raw[i].d.c.start;
				memset(&h, 0, sizeof(h));
				sparse_add(raw[i].d.hist, raw[i].d.hist_len, &h);
				t = hist_total(&h);
				if (t > 0 && count_above(&h, b95) >= REG_BAD_FRACTION * t &&
					(o->since == 0 || raw[i].d.c.start < o->since))
					o->since = raw[i].d.c.start;
			}
			if (o->since == 0)
				o->since = first ? first : r->c.start;
		}
		k++;
	}
	if (raw)
		pfree(raw);
	*nrows = k;
	return out;
}

/* ------------------------------------------------------- info, reset */

/* Windows kept, statement rows kept, baselines kept. */
void
windows_info(int64 *windows, int64 *rows, int64 *baselines)
{
	int64		evictions,
				truncated;
	TimestampTz reset;

	table_stats(totals_table, windows, &evictions, &truncated, &reset);
	table_stats(windows_table, rows, &evictions, &truncated, &reset);
	table_stats(names_table, baselines, &evictions, &truncated, &reset);
}

/*
 * Remove the matching statements' rows from the windows and baselines
 * (0 = any); with all three 0, every window and every baseline.
 */
void
windows_reset(Oid userid, Oid dbid, uint64 queryid)
{
	bool		all = table_reset(windows_table, userid, dbid, queryid);

	(void) table_reset(baselines_table, userid, dbid, queryid);
	if (all)
	{
		/* keys that do not start with (userid, dbid, queryid): remove all */
		(void) table_remove(totals_table, NULL, NULL);
		(void) table_remove(names_table, NULL, NULL);
	}
}
