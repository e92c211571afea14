/*
 * store.c: the shared query store.
 *
 * LAYOUT.  One shared-memory area, sized at start from latdiag.max_queries (N)
 * and latdiag.max_query_length (L), never grown:
 *
 *   StoreShared       the header: lock, global counters, free-slot stack (N)
 *   EvictCandidate[N] scratch space for eviction, used only under the
 *                     exclusive lock, so that eviction allocates nothing
 *   StoreSlot[N]      fixed-size records: spinlock, generation, key,
 *                     counters, latency histogram (2 KiB) and the text (L+1)
 *   hash table        StoreKey -> slot number (ShmemInitHash, N entries)
 *
 * store_shmem_size() is the formula; doc/design.md explains it.
 *
 * LOCKING.  Two kinds of lock, always taken in this order:
 *
 *   1. shared->lock (LWLock, tranche "postgres_latdiag") guards the hash
 *      table, the free-slot stack, each slot's key and text, and the header
 *      counters.  Taken shared to look an entry up or to read the views;
 *      exclusive to create, evict or reset entries.
 *   2. slot->mutex (spinlock) guards the slot's generation, counters and
 *      histogram.  No other lock is taken while it is held, and the work done
 *      under it is a few additions.
 *
 * THE HOT PATH takes no LWLock.  Each backend caches, per key, the slot number
 * and the slot's generation.  A slot's generation is set to a new unique value
 * when the slot is given to a key and to 0 when it is freed, both under the
 * slot's spinlock; an update first checks, under that spinlock, that the
 * generation still matches the cached one.  A stale cache entry therefore can
 * never update the wrong entry, and a slot cannot be freed while an update is
 * running on it.  On a miss the backend looks the key up under the shared
 * lock and refills its cache.
 *
 * EVICTION.  When no slot is free, the usage of every entry decays by 1%, and
 * the least-used 5% (at least 10) are freed; each freed entry counts in
 * latdiag_info.evictions.  A call adds 1 to usage; a new entry starts at the
 * median usage of the last pass, so that it is not the next victim.
 *
 * PERSISTENCE.  At clean shutdown the postmaster writes all entries to
 * pg_stat/latdiag.stat (CRC-checked), and reads them back at start, when
 * latdiag.save is on.  A file that fails any check is ignored with a LOG line.
 */
#include "postgres.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/hsearch.h"

#include "guc.h"
#include "normalize.h"
#include "store.h"

#define STORE_FILE			PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag.stat"
#define STORE_FILE_TMP		STORE_FILE ".tmp"
#define STORE_FILE_MAGIC	0x4C444731	/* "LDG1" */
#define STORE_FILE_VERSION	1
#define STORE_FILE_MAX		((Size) 1 << 30)

#define USAGE_EXEC			1.0		/* usage added per call */
#define USAGE_DECAY			0.99	/* decay factor per eviction pass */
#define USAGE_MEDIAN_INIT	10.0	/* assumed median before the first pass */
#define EVICT_PERCENT		5
#define EVICT_MIN			10
#define LOCAL_CACHE_SIZE	256		/* power of two */

typedef struct StoreSlot
{
	slock_t		mutex;			/* guards generation, c and hist */
	uint64		generation;		/* 0 while the slot is free */
	StoreKey	key;
	StoreCounters c;
	LatdiagHistogram hist;
	bool		truncated;		/* text was cut at max_query_length */
	int32		text_len;
	char		text[FLEXIBLE_ARRAY_MEMBER];
} StoreSlot;

typedef struct StoreHashEntry
{
	StoreKey	key;			/* hash key, must be first */
	int32		slot;
} StoreHashEntry;

typedef struct EvictCandidate
{
	int32		slot;
	double		usage;
} EvictCandidate;

typedef struct StoreShared
{
	LWLock	   *lock;
	uint64		next_generation;
	int64		evictions;		/* entries evicted since the last full reset */
	int64		truncated_texts;	/* entries whose text was cut */
	Size		text_bytes;		/* sum over entries of text_len + 1 */
	double		median_usage;	/* usage given to new entries */
	TimestampTz stats_reset;
	int32		nfree;
	int32		free_slots[FLEXIBLE_ARRAY_MEMBER];
} StoreShared;

/* One backend's memory of where a key lives. */
typedef struct LocalCacheEntry
{
	uint64		queryid;
	Oid			userid;
	bool		toplevel;
	int32		slot;
	uint64		generation;		/* 0 = empty */
} LocalCacheEntry;

typedef struct FileHeader
{
	uint32		magic;
	uint32		version;
	uint32		hist_buckets;
	uint32		hist_per_octave;
	uint32		counters_size;
	int32		nentries;
	int64		evictions;
	int64		truncated_texts;
	double		median_usage;
	TimestampTz stats_reset;
} FileHeader;

typedef struct FileEntry
{
	StoreKey	key;
	StoreCounters c;
	LatdiagHistogram hist;
	int32		truncated;
	int32		text_len;
} FileEntry;

static StoreShared *shared = NULL;
static HTAB *store_hash = NULL;
static EvictCandidate *scratch = NULL;
static char *slots_base = NULL;
static Size slot_stride = 0;
static LocalCacheEntry local_cache[LOCAL_CACHE_SIZE];

#define SLOT(i) ((StoreSlot *) (slots_base + (Size) (i) * slot_stride))

static void store_shutdown(int code, Datum arg);
static void store_load(void);

/* Size of one slot, text included. */
static Size
slot_size(void)
{
	return MAXALIGN(offsetof(StoreSlot, text) + latdiag_max_query_length + 1);
}

static Size
header_size(void)
{
	return MAXALIGN(add_size(offsetof(StoreShared, free_slots),
							 mul_size(latdiag_max_queries, sizeof(int32))));
}

static Size
scratch_size(void)
{
	return MAXALIGN(mul_size(latdiag_max_queries, sizeof(EvictCandidate)));
}

/* Shared memory the store needs: the formula documented in doc/design.md. */
Size
store_shmem_size(void)
{
	Size		size = header_size();

	size = add_size(size, scratch_size());
	size = add_size(size, mul_size(latdiag_max_queries, slot_size()));
	size = add_size(size, hash_estimate_size(latdiag_max_queries,
											 sizeof(StoreHashEntry)));
	return size;
}

/* Ask for the store's memory and lock; from shmem_request_hook. */
void
store_shmem_request(void)
{
	RequestAddinShmemSpace(store_shmem_size());
	RequestNamedLWLockTranche("postgres_latdiag", 1);
}

/* Attach to (or create) the store; from shmem_startup_hook. */
void
store_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;
	char	   *area;
	Size		area_size;

	shared = NULL;
	store_hash = NULL;
	slot_stride = slot_size();
	area_size = header_size() + scratch_size() +
		mul_size(latdiag_max_queries, slot_stride);

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);

	area = ShmemInitStruct("postgres_latdiag store", area_size, &found);
	shared = (StoreShared *) area;
	scratch = (EvictCandidate *) (area + header_size());
	slots_base = area + header_size() + scratch_size();

	if (!found)
	{
		shared->lock = &(GetNamedLWLockTranche("postgres_latdiag"))->lock;
		shared->next_generation = 0;
		shared->evictions = 0;
		shared->truncated_texts = 0;
		shared->text_bytes = 0;
		shared->median_usage = USAGE_MEDIAN_INIT;
		shared->stats_reset = GetCurrentTimestamp();
		/* hand out low slot numbers first */
		shared->nfree = latdiag_max_queries;
		for (int i = 0; i < latdiag_max_queries; i++)
		{
			StoreSlot  *s = SLOT(i);

			shared->free_slots[i] = latdiag_max_queries - 1 - i;
			SpinLockInit(&s->mutex);
			s->generation = 0;
		}
	}

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(StoreKey);
	info.entrysize = sizeof(StoreHashEntry);
	store_hash = ShmemInitHash("postgres_latdiag hash",
							   latdiag_max_queries, latdiag_max_queries,
							   &info, HASH_ELEM | HASH_BLOBS);

	LWLockRelease(AddinShmemInitLock);

	/* the postmaster (or a single-user backend) saves and loads the file */
	if (!IsUnderPostmaster)
		on_shmem_exit(store_shutdown, (Datum) 0);
	if (!found && !IsUnderPostmaster)
		store_load();
}

/* Is the store attached (library preloaded)? */
bool
store_ready(void)
{
	return shared != NULL && store_hash != NULL;
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

static inline LocalCacheEntry *
cache_entry(const StoreKey *key)
{
	uint64		h = key->queryid ^ (key->queryid >> 31) ^ key->toplevel;

	return &local_cache[h & (LOCAL_CACHE_SIZE - 1)];
}

static inline bool
cache_matches(const LocalCacheEntry *c, const StoreKey *key)
{
	/* dbid never changes within a backend */
	return c->generation != 0 && c->queryid == key->queryid &&
		c->userid == key->userid && c->toplevel == key->toplevel;
}

static inline void
cache_fill(LocalCacheEntry *c, const StoreKey *key, int32 slot, uint64 generation)
{
	c->queryid = key->queryid;
	c->userid = key->userid;
	c->toplevel = key->toplevel;
	c->slot = slot;
	c->generation = generation;
}

/*
 * Give a free slot to key with the given text.  Caller holds the exclusive
 * lock (or is the postmaster at start) and has made sure a slot is free.
 * Returns the slot number, or -1 if the hash table refused the key.
 */
static int32
slot_install(const StoreKey *key, const char *text, int len)
{
	StoreHashEntry *e;
	StoreSlot  *s;
	int32		slot;
	bool		found;
	int			n = len;

	Assert(shared->nfree > 0);
	e = hash_search(store_hash, key, HASH_ENTER_NULL, &found);
	if (e == NULL)
		return -1;
	Assert(!found);
	slot = shared->free_slots[--shared->nfree];
	e->slot = slot;

	/* generation is 0, so nobody reads or writes these fields meanwhile */
	s = SLOT(slot);
	s->key = *key;
	memset(&s->c, 0, sizeof(StoreCounters));
	memset(&s->hist, 0, sizeof(LatdiagHistogram));
	s->c.usage = shared->median_usage;
	s->c.first_seen = s->c.last_seen = GetCurrentTimestamp();
	s->truncated = false;
	if (n > latdiag_max_query_length)
	{
		n = pg_mbcliplen(text, len, latdiag_max_query_length);
		s->truncated = true;
		shared->truncated_texts++;
	}
	memcpy(s->text, text, n);
	s->text[n] = '\0';
	s->text_len = n;
	shared->text_bytes += n + 1;

	SpinLockAcquire(&s->mutex);
	s->generation = ++shared->next_generation;
	SpinLockRelease(&s->mutex);
	return slot;
}

/* Free one slot and remove its key.  Caller holds the exclusive lock. */
static void
slot_free(int32 slot)
{
	StoreSlot  *s = SLOT(slot);

	hash_search(store_hash, &s->key, HASH_REMOVE, NULL);
	SpinLockAcquire(&s->mutex);
	s->generation = 0;
	SpinLockRelease(&s->mutex);
	shared->text_bytes -= s->text_len + 1;
	shared->free_slots[shared->nfree++] = slot;
}

static int
candidate_cmp(const void *a, const void *b)
{
	double		ua = ((const EvictCandidate *) a)->usage;
	double		ub = ((const EvictCandidate *) b)->usage;

	return (ua > ub) - (ua < ub);
}

/*
 * Decay every entry's usage and free the least-used 5% (at least 10).
 * Caller holds the exclusive lock.  Allocates nothing.
 */
static void
evict(void)
{
	HASH_SEQ_STATUS seq;
	StoreHashEntry *e;
	int			n = 0;
	int			victims;

	hash_seq_init(&seq, store_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		StoreSlot  *s = SLOT(e->slot);

		SpinLockAcquire(&s->mutex);
		s->c.usage *= USAGE_DECAY;
		scratch[n].usage = s->c.usage;
		SpinLockRelease(&s->mutex);
		scratch[n].slot = e->slot;
		n++;
	}
	if (n == 0)
		return;
	qsort(scratch, n, sizeof(EvictCandidate), candidate_cmp);
	shared->median_usage = scratch[n / 2].usage;

	victims = Min(n, Max(EVICT_MIN, n * EVICT_PERCENT / 100));
	for (int i = 0; i < victims; i++)
		slot_free(scratch[i].slot);
	shared->evictions += victims;
}

/*
 * Find key, creating it with the given text if missing.  Returns with the
 * exclusive lock held if it had to create, else with the shared lock held;
 * *slot is -1 only if the hash table refused a new key.
 */
static void
entry_find_or_create(const StoreKey *key, const char *text, int len, int32 *slot)
{
	StoreHashEntry *e;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	e = hash_search(store_hash, key, HASH_FIND, NULL);
	if (e != NULL)
	{
		*slot = e->slot;
		return;
	}
	if (shared->nfree == 0)
		evict();
	*slot = slot_install(key, text, len);
}

/*
 * A statement was parse-analyzed: make sure it has an entry, building the
 * normalized text only when the entry is new.
 */
void
store_note_parse(uint64 queryid, bool toplevel, const char *query, int loc,
				 int len, JumbleState *jstate)
{
	StoreKey	key;
	LocalCacheEntry *c;
	StoreHashEntry *e;
	char	   *text;
	int32		slot;

	key_init(&key, queryid, toplevel);
	c = cache_entry(&key);

	/* an unlocked read: only a hint that the entry still exists */
	if (cache_matches(c, &key) &&
		*((volatile uint64 *) &SLOT(c->slot)->generation) == c->generation)
		return;

	LWLockAcquire(shared->lock, LW_SHARED);
	e = hash_search(store_hash, &key, HASH_FIND, NULL);
	if (e != NULL)
	{
		/* the generation only changes under the exclusive lock */
		cache_fill(c, &key, e->slot, SLOT(e->slot)->generation);
		LWLockRelease(shared->lock);
		return;
	}
	LWLockRelease(shared->lock);

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

	entry_find_or_create(&key, text, len, &slot);
	if (slot >= 0)
		cache_fill(c, &key, slot, SLOT(slot)->generation);
	LWLockRelease(shared->lock);
	pfree(text);
}

/* Add one sample to a slot.  Caller holds the slot's spinlock. */
static inline void
slot_accumulate(StoreSlot *s, StoreSampleKind kind, const StoreSample *smp,
				int bucket)
{
	StoreCounters *c = &s->c;

	if (kind == STORE_EXEC)
	{
		double		old_mean = c->mean_exec;

		c->calls++;
		c->rows += smp->rows;
		c->total_exec += smp->ms;
		if (c->calls == 1 || smp->ms < c->min_exec)
			c->min_exec = smp->ms;
		if (c->calls == 1 || smp->ms > c->max_exec)
			c->max_exec = smp->ms;
		c->mean_exec += (smp->ms - old_mean) / c->calls;
		c->m2_exec += (smp->ms - old_mean) * (smp->ms - c->mean_exec);
		c->usage += USAGE_EXEC;
		if (likely(s->hist.buckets[bucket] != PG_UINT32_MAX))
			s->hist.buckets[bucket]++;
	}
	else
	{
		double		old_mean = c->mean_plan;

		c->plans++;
		c->total_plan += smp->ms;
		if (c->plans == 1 || smp->ms < c->min_plan)
			c->min_plan = smp->ms;
		if (c->plans == 1 || smp->ms > c->max_plan)
			c->max_plan = smp->ms;
		c->mean_plan += (smp->ms - old_mean) / c->plans;
		c->m2_plan += (smp->ms - old_mean) * (smp->ms - c->mean_plan);
	}
	if (smp->bufusage)
	{
		const BufferUsage *b = smp->bufusage;

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
		c->blk_read_time += INSTR_TIME_GET_MILLISEC(b->blk_read_time);
		c->blk_write_time += INSTR_TIME_GET_MILLISEC(b->blk_write_time);
	}
	if (smp->walusage)
	{
		c->wal_records += smp->walusage->wal_records;
		c->wal_fpi += smp->walusage->wal_fpi;
		c->wal_bytes += smp->walusage->wal_bytes;
	}
	c->last_seen = GetCurrentStatementStartTimestamp();
}

/*
 * Record one execution or planning of a statement.  The entry normally exists
 * since parse analysis; if it was evicted since (or the statement was
 * prepared before), it is created again with the statement's text as written.
 */
void
store_record(uint64 queryid, bool toplevel, StoreSampleKind kind,
			 const StoreSample *smp, const char *query, int loc, int len)
{
	StoreKey	key;
	LocalCacheEntry *c;
	StoreHashEntry *e;
	StoreSlot  *s;
	int32		slot;
	int			bucket = kind == STORE_EXEC ? hist_bucket(smp->ms) : 0;

	key_init(&key, queryid, toplevel);
	c = cache_entry(&key);

	/* hot path: the cached slot, under its spinlock only */
	if (cache_matches(c, &key))
	{
		s = SLOT(c->slot);
		SpinLockAcquire(&s->mutex);
		if (s->generation == c->generation)
		{
			slot_accumulate(s, kind, smp, bucket);
			SpinLockRelease(&s->mutex);
			return;
		}
		SpinLockRelease(&s->mutex);
		c->generation = 0;
	}

	LWLockAcquire(shared->lock, LW_SHARED);
	e = hash_search(store_hash, &key, HASH_FIND, NULL);
	if (e != NULL)
		slot = e->slot;
	else
	{
		LWLockRelease(shared->lock);
		if (query == NULL)
		{
			query = "";
			loc = len = 0;
		}
		query = CleanQuerytext(query, &loc, &len);
		entry_find_or_create(&key, query, len, &slot);
		if (slot < 0)
		{
			LWLockRelease(shared->lock);
			return;
		}
	}
	s = SLOT(slot);
	SpinLockAcquire(&s->mutex);
	cache_fill(c, &key, slot, s->generation);
	slot_accumulate(s, kind, smp, bucket);
	SpinLockRelease(&s->mutex);
	LWLockRelease(shared->lock);
}

/*
 * Copy every entry out of the store, with percentiles computed.  Texts go to
 * one buffer sized before the lock is taken, so that nothing is allocated
 * while the lock is held.  Returns a palloc'd array.
 */
StoreRow *
store_read(int *nrows, bool with_text)
{
	static const double fractions[5] = {0.50, 0.90, 0.95, 0.99, 0.999};
	StoreRow   *rows;
	char	   *texts = NULL;
	Size		text_cap = 0;
	HASH_SEQ_STATUS seq;
	StoreHashEntry *e;
	int			n = 0;
	Size		used = 0;

	rows = palloc(sizeof(StoreRow) * latdiag_max_queries);
	for (;;)
	{
		Size		need;

		LWLockAcquire(shared->lock, LW_SHARED);
		need = with_text ? shared->text_bytes : 0;
		if (need <= text_cap)
			break;
		LWLockRelease(shared->lock);
		if (texts)
			pfree(texts);
		text_cap = need + 64 * 1024;	/* room for growth before we relock */
		texts = palloc(text_cap);
	}

	hash_seq_init(&seq, store_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		StoreSlot  *s = SLOT(e->slot);
		StoreRow   *r = &rows[n++];
		LatdiagHistogram hist;

		r->key = s->key;
		r->truncated = s->truncated;
		r->text_len = s->text_len;
		r->text = NULL;
		if (with_text)
		{
			r->text = texts + used;
			memcpy(r->text, s->text, s->text_len + 1);
			used += s->text_len + 1;
		}
		SpinLockAcquire(&s->mutex);
		r->c = s->c;
		memcpy(&hist, &s->hist, sizeof(LatdiagHistogram));
		SpinLockRelease(&s->mutex);
		hist_percentiles(&hist, fractions, 5, r->c.min_exec, r->c.max_exec,
						 r->pct);
	}
	LWLockRelease(shared->lock);

	*nrows = n;
	return rows;
}

/*
 * Sum the histograms of the entries with this queryid that the reader may
 * see (all of them, or those of userid reader).  False if none matched.
 */
bool
store_histogram(uint64 queryid, bool all_users, Oid reader, LatdiagHistogram *out)
{
	HASH_SEQ_STATUS seq;
	StoreHashEntry *e;
	bool		matched = false;

	memset(out, 0, sizeof(LatdiagHistogram));
	LWLockAcquire(shared->lock, LW_SHARED);
	hash_seq_init(&seq, store_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		StoreSlot  *s;

		if (e->key.queryid != queryid || (!all_users && e->key.userid != reader))
			continue;
		s = SLOT(e->slot);
		matched = true;
		SpinLockAcquire(&s->mutex);
		for (int i = 0; i < HIST_BUCKETS; i++)
		{
			uint64		sum = (uint64) out->buckets[i] + s->hist.buckets[i];

			out->buckets[i] = (uint32) Min(sum, (uint64) PG_UINT32_MAX);
		}
		SpinLockRelease(&s->mutex);
	}
	LWLockRelease(shared->lock);
	return matched;
}

/* The store's own figures, for latdiag_info. */
void
store_info(int64 *entries, int64 *evictions, int64 *truncated,
		   TimestampTz *stats_reset, Size *shmem)
{
	LWLockAcquire(shared->lock, LW_SHARED);
	*entries = hash_get_num_entries(store_hash);
	*evictions = shared->evictions;
	*truncated = shared->truncated_texts;
	*stats_reset = shared->stats_reset;
	LWLockRelease(shared->lock);
	*shmem = store_shmem_size();
}

/*
 * Remove the entries matching (userid, dbid, queryid), 0 matching anything.
 * With all three 0, also reset the store's own counters and stats_reset.
 */
void
store_reset(Oid userid, Oid dbid, uint64 queryid)
{
	HASH_SEQ_STATUS seq;
	StoreHashEntry *e;
	bool		all = (userid == InvalidOid && dbid == InvalidOid && queryid == 0);

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, store_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if ((userid != InvalidOid && e->key.userid != userid) ||
			(dbid != InvalidOid && e->key.dbid != dbid) ||
			(queryid != 0 && e->key.queryid != queryid))
			continue;
		/* dynahash allows removing the element just returned by a scan */
		slot_free(e->slot);
	}
	if (all)
	{
		shared->evictions = 0;
		shared->truncated_texts = 0;
		shared->median_usage = USAGE_MEDIAN_INIT;
		shared->stats_reset = GetCurrentTimestamp();
	}
	LWLockRelease(shared->lock);
}

/* fwrite that also feeds the CRC; false on a short write. */
static bool
write_crc(FILE *f, pg_crc32c *crc, const void *p, Size len)
{
	COMP_CRC32C(*crc, p, len);
	return fwrite(p, 1, len, f) == len;
}

/*
 * on_shmem_exit callback in the postmaster: save the store at clean
 * shutdown.  No backend runs any more, so no lock is needed.
 */
static void
store_shutdown(int code, Datum arg)
{
	FILE	   *f;
	FileHeader hdr;
	HASH_SEQ_STATUS seq;
	StoreHashEntry *e;
	pg_crc32c	crc;
	bool		ok = true;

	/*
	 * A postmaster that exits with an error keeps nothing.  Like
	 * pg_stat_statements, a fast or immediate shutdown exits normally and
	 * saves; after a backend crash, shared memory is reinitialized and what
	 * it held is lost.
	 */
	if (code != 0 || !store_ready())
		return;
	if (!latdiag_save)
	{
		unlink(STORE_FILE);
		return;
	}

	f = AllocateFile(STORE_FILE_TMP, PG_BINARY_W);
	if (f == NULL)
		goto error;

	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = STORE_FILE_MAGIC;
	hdr.version = STORE_FILE_VERSION;
	hdr.hist_buckets = HIST_BUCKETS;
	hdr.hist_per_octave = HIST_PER_OCTAVE;
	hdr.counters_size = sizeof(StoreCounters);
	hdr.nentries = hash_get_num_entries(store_hash);
	hdr.evictions = shared->evictions;
	hdr.truncated_texts = shared->truncated_texts;
	hdr.median_usage = shared->median_usage;
	hdr.stats_reset = shared->stats_reset;

	INIT_CRC32C(crc);
	ok = write_crc(f, &crc, &hdr, sizeof(hdr));
	hash_seq_init(&seq, store_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		StoreSlot  *s = SLOT(e->slot);
		FileEntry	fe;

		if (!ok)
			continue;			/* finish the scan, the file is discarded */
		memset(&fe, 0, sizeof(fe));
		fe.key = s->key;
		fe.c = s->c;
		fe.hist = s->hist;
		fe.truncated = s->truncated;
		fe.text_len = s->text_len;
		ok = write_crc(f, &crc, &fe, sizeof(fe)) &&
			write_crc(f, &crc, s->text, s->text_len);
	}
	FIN_CRC32C(crc);
	if (!ok || fwrite(&crc, sizeof(crc), 1, f) != 1)
		goto error;
	if (FreeFile(f))
	{
		f = NULL;
		goto error;
	}
	(void) durable_rename(STORE_FILE_TMP, STORE_FILE, LOG);
	return;

error:
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("postgres_latdiag: could not write file \"%s\": %m",
					STORE_FILE_TMP)));
	if (f)
		FreeFile(f);
	unlink(STORE_FILE_TMP);
}

/* LOG why the saved file is not used, and remove it. */
static void
ignore_file(const char *why)
{
	ereport(LOG,
			(errmsg("postgres_latdiag: ignoring saved statistics file \"%s\": %s",
					STORE_FILE, why)));
	unlink(STORE_FILE);
}

/*
 * Load the file saved at the last clean shutdown, in the postmaster at
 * start.  The whole file is checked (size, magic, version, layout, CRC and
 * every entry's bounds) before anything is installed.
 */
static void
store_load(void)
{
	FILE	   *f;
	struct stat st;
	char	   *buf;
	FileHeader hdr;
	pg_crc32c	crc,
				file_crc;
	Size		pos,
				size;
	int			installed = 0,
				skipped = 0;

	f = AllocateFile(STORE_FILE, PG_BINARY_R);
	if (f == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("postgres_latdiag: could not read file \"%s\": %m",
							STORE_FILE)));
		return;
	}
	if (!latdiag_save)
	{
		FreeFile(f);
		unlink(STORE_FILE);
		return;
	}
	if (fstat(fileno(f), &st) != 0 || st.st_size > STORE_FILE_MAX)
	{
		FreeFile(f);
		ignore_file("unreadable or too large");
		return;
	}
	size = st.st_size;
	buf = palloc(Max(size, 1));
	if (fread(buf, 1, size, f) != size)
	{
		FreeFile(f);
		pfree(buf);
		ignore_file("short read");
		return;
	}
	FreeFile(f);

	if (size < sizeof(FileHeader) + sizeof(pg_crc32c))
	{
		pfree(buf);
		ignore_file("file is too short");
		return;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.magic != STORE_FILE_MAGIC)
	{
		pfree(buf);
		ignore_file("not a postgres_latdiag statistics file");
		return;
	}
	if (hdr.version != STORE_FILE_VERSION ||
		hdr.hist_buckets != HIST_BUCKETS ||
		hdr.hist_per_octave != HIST_PER_OCTAVE ||
		hdr.counters_size != sizeof(StoreCounters))
	{
		char		why[160];

		if (hdr.version != STORE_FILE_VERSION)
			snprintf(why, sizeof(why), "format version %u, expected %u",
					 hdr.version, STORE_FILE_VERSION);
		else
			snprintf(why, sizeof(why),
					 "layout (%u buckets, %u per octave, %u-byte counters) differs from this build's (%d, %d, %zu)",
					 hdr.hist_buckets, hdr.hist_per_octave, hdr.counters_size,
					 HIST_BUCKETS, HIST_PER_OCTAVE, sizeof(StoreCounters));
		pfree(buf);
		ignore_file(why);
		return;
	}
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, buf, size - sizeof(pg_crc32c));
	FIN_CRC32C(crc);
	memcpy(&file_crc, buf + size - sizeof(pg_crc32c), sizeof(pg_crc32c));
	if (!EQ_CRC32C(crc, file_crc) || hdr.nentries < 0)
	{
		pfree(buf);
		ignore_file("checksum mismatch");
		return;
	}

	/* check every entry's bounds before installing any */
	pos = sizeof(FileHeader);
	for (int i = 0; i < hdr.nentries; i++)
	{
		FileEntry	fe;

		if (pos + sizeof(FileEntry) > size - sizeof(pg_crc32c))
			break;
		memcpy(&fe, buf + pos, sizeof(fe));
		if (fe.text_len < 0 || fe.text_len > 1024 * 1024 ||
			pos + sizeof(FileEntry) + fe.text_len > size - sizeof(pg_crc32c))
			break;
		pos += sizeof(FileEntry) + fe.text_len;
		installed++;
	}
	if (installed != hdr.nentries || pos != size - sizeof(pg_crc32c))
	{
		pfree(buf);
		ignore_file("entries do not match the header");
		return;
	}

	installed = 0;
	pos = sizeof(FileHeader);
	for (int i = 0; i < hdr.nentries; i++)
	{
		FileEntry	fe;
		int32		slot;

		memcpy(&fe, buf + pos, sizeof(fe));
		if (shared->nfree > 0 &&
			(slot = slot_install(&fe.key, buf + pos + sizeof(FileEntry),
								 fe.text_len)) >= 0)
		{
			StoreSlot  *s = SLOT(slot);

			s->c = fe.c;
			s->hist = fe.hist;
			s->truncated |= (fe.truncated != 0);
			installed++;
		}
		else
			skipped++;
		pos += sizeof(FileEntry) + fe.text_len;
	}
	shared->evictions = hdr.evictions + skipped;
	shared->truncated_texts += hdr.truncated_texts;
	shared->median_usage = hdr.median_usage;
	shared->stats_reset = hdr.stats_reset;
	pfree(buf);
	unlink(STORE_FILE);

	ereport(LOG,
			(errmsg("postgres_latdiag: loaded %d saved entries%s", installed,
					skipped ? " (the rest did not fit in latdiag.max_queries)" : "")));
}
