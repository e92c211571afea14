/*
 * table.c: bounded shared tables.
 *
 * LAYOUT.  Each table is one shared-memory area, sized at start from its
 * TableDef (N = max_entries, L = max_text), never grown:
 *
 *   TableShared       header: lock, counters, free-slot stack (N int32)
 *   EvictCandidate[N] scratch for eviction, used only under the exclusive
 *                     lock, so that eviction allocates nothing
 *   slots             N fixed-size records: TableSlot header (spinlock,
 *                     generation, usage, text length), key, data, text (L+1)
 *   hash table        key -> slot number (ShmemInitHash, N entries)
 *
 * LOCKING.  Two kinds of lock, always taken in this order:
 *
 *   1. TableShared.lock (LWLock, a tranche named after the table) guards the
 *      hash table, the free-slot stack, each slot's key and text, and the
 *      header counters.  Shared to look an entry up or to read; exclusive to
 *      create, evict or remove entries.  Nothing is allocated under it.
 *   2. TableSlot.mutex (spinlock) guards the slot's generation, usage and
 *      data.  Held for a few additions; no other lock is taken under it.
 *
 * THE HOT PATH takes no LWLock.  Each backend caches, per key, the slot
 * number and the slot's generation.  A slot's generation is set to a new
 * unique value when the slot is given to a key and to 0 when it is freed,
 * both under the slot's spinlock; table_lock() checks, under that spinlock,
 * that the generation still matches the cached one.  A stale cache entry can
 * therefore never reach another key's data, and a slot cannot be freed while
 * someone holds its spinlock.  On a miss the key is looked up under the
 * shared lock and the cache refilled.
 *
 * EVICTION.  When no slot is free, every entry's usage decays by 1% and the
 * least-used 5% (at least 10) are freed and counted.  Callers add usage as
 * they touch entries; a new entry starts at the median usage of the last
 * pass, so that it is not the next victim.
 *
 * PERSISTENCE.  A table with a file is written by the postmaster at clean
 * shutdown (header, entries, CRC-32C) and read back at start; a file that
 * fails any check is ignored with a LOG line.  A checkpoint
 * (table_checkpoint_all, from the sampler worker every
 * latdiag.checkpoint_interval) writes the same file while backends run, from
 * a copy taken under the shared lock; after a crash the postmaster loads it.
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "compat.h"
#include "table.h"

#define USAGE_DECAY			0.99	/* decay factor per eviction pass */
#define USAGE_MEDIAN_INIT	10.0	/* assumed median before the first pass */
#define EVICT_PERCENT		5
#define EVICT_MIN			10
#define CACHE_SIZE			256		/* power of two */
#define FILE_MAGIC			0x4C444754	/* "LDGT" */
#define FILE_MAX			((Size) 1 << 30)

#define MAX_TABLES			32

typedef struct TableSlot
{
	slock_t		mutex;			/* guards generation, usage and data */
	uint64		generation;		/* 0 while the slot is free */
	double		usage;
	bool		truncated;		/* text was cut at max_text */
	int32		text_len;
	/* key, data and text follow, each MAXALIGNed */
} TableSlot;

typedef struct HashEntry
{
	int32		slot;			/* follows the key, which is key_size bytes */
} HashEntry;

typedef struct EvictCandidate
{
	int32		slot;
	double		usage;
} EvictCandidate;

typedef struct TableShared
{
	LWLock	   *lock;
	uint64		next_generation;
	int64		evictions;		/* entries evicted since the last stats reset */
	int64		truncated;		/* texts cut since the last stats reset */
	Size		text_bytes;		/* sum over entries of text_len + 1 */
	double		median_usage;	/* usage given to new entries */
	TimestampTz stats_reset;
	pg_atomic_uint64 resets;	/* table_reset calls since start */
	pg_atomic_uint64 frees;		/* entries freed since start */
	int32		nfree;
	int32		free_slots[FLEXIBLE_ARRAY_MEMBER];
} TableShared;

/* One backend's memory of where a key lives; the key follows. */
typedef struct CacheEntry
{
	uint64		generation;		/* 0 = empty */
	int32		slot;
} CacheEntry;

struct Table
{
	const TableDef *def;
	TableShared *shared;
	HTAB	   *hash;
	EvictCandidate *scratch;
	char	   *slots;
	Size		slot_size;
	Size		key_off;
	Size		data_off;
	Size		text_off;
	Size		hash_entry_size;
	Size		cache_entry_size;
	char	   *cache;			/* CACHE_SIZE entries */
	bool		holds_lock;		/* table_lock returned with the LWLock held */
};

typedef struct FileHeader
{
	uint32		magic;
	uint32		version;
	uint32		key_size;
	uint32		data_size;
	int32		nentries;
	int32		pad;
	int64		evictions;
	int64		truncated;
	double		median_usage;
	TimestampTz stats_reset;
} FileHeader;

typedef struct FileEntry
{
	double		usage;
	int32		truncated;
	int32		text_len;
	/* key, data and text follow, unaligned */
} FileEntry;

#define SLOT(t, i)		((TableSlot *) ((t)->slots + (Size) (i) * (t)->slot_size))
#define SLOT_KEY(t, s)	((char *) (s) + (t)->key_off)
#define SLOT_DATA(t, s) ((char *) (s) + (t)->data_off)
#define SLOT_TEXT(t, s) ((char *) (s) + (t)->text_off)
#define DATA_SLOT(t, d) ((TableSlot *) ((char *) (d) - (t)->data_off))
#define CACHE(t, i)		((CacheEntry *) ((t)->cache + (Size) (i) * (t)->cache_entry_size))
#define CACHE_KEY(c)	((char *) (c) + MAXALIGN(sizeof(CacheEntry)))

static void table_save(Table *t);
static void table_save_all(int code, Datum arg);
static bool save_registered = false;	/* table_save_all is registered */
static void table_reset_stats(Table *t);

/* every table attached in this process, for checkpoints */
static Table *tables[MAX_TABLES];
static int	ntables = 0;
static void table_load(Table *t);

/* Offsets and sizes that follow from the definition. */
static void
table_layout(const TableDef *def, Table *t)
{
	t->def = def;
	t->key_off = MAXALIGN(sizeof(TableSlot));
	t->data_off = t->key_off + MAXALIGN(def->key_size);
	t->text_off = t->data_off + MAXALIGN(def->data_size);
	t->slot_size = MAXALIGN(t->text_off + (def->max_text > 0 ? def->max_text + 1 : 0));
	t->hash_entry_size = MAXALIGN(def->key_size) + sizeof(HashEntry);
	t->cache_entry_size = MAXALIGN(sizeof(CacheEntry)) + MAXALIGN(def->key_size);
}

static Size
header_size(const TableDef *def)
{
	return MAXALIGN(add_size(offsetof(TableShared, free_slots),
							 mul_size(def->max_entries, sizeof(int32))));
}

static Size
scratch_size(const TableDef *def)
{
	return MAXALIGN(mul_size(def->max_entries, sizeof(EvictCandidate)));
}

/* Shared memory one table needs (the formula in doc/design.md). */
Size
table_shmem_size(const TableDef *def)
{
	Table		t;
	Size		size;

	table_layout(def, &t);
	size = add_size(header_size(def), scratch_size(def));
	size = add_size(size, mul_size(def->max_entries, t.slot_size));
	size = add_size(size, hash_estimate_size(def->max_entries, t.hash_entry_size));
	return size;
}

/* Ask for the table's memory and lock; from shmem_request_hook. */
void
table_request(const TableDef *def)
{
	RequestAddinShmemSpace(table_shmem_size(def));
	RequestNamedLWLockTranche(def->name, 1);
}

/* Attach to (or create) the table; from shmem_startup_hook. */
Table *
table_attach(const TableDef *def)
{
	Table	   *t = MemoryContextAllocZero(TopMemoryContext, sizeof(Table));
	char		name[NAMEDATALEN * 2];
	char	   *area;
	bool		found;
	HASHCTL		info;

	table_layout(def, t);
	t->cache = MemoryContextAllocZero(TopMemoryContext,
									  CACHE_SIZE * t->cache_entry_size);

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);

	snprintf(name, sizeof(name), "%s table", def->name);
	area = ShmemInitStruct(name, header_size(def) + scratch_size(def) +
						   mul_size(def->max_entries, t->slot_size), &found);
	t->shared = (TableShared *) area;
	t->scratch = (EvictCandidate *) (area + header_size(def));
	t->slots = area + header_size(def) + scratch_size(def);

	if (!found)
	{
		TableShared *sh = t->shared;

		sh->lock = &(GetNamedLWLockTranche(def->name))->lock;
		sh->next_generation = 0;
		sh->evictions = 0;
		sh->truncated = 0;
		sh->text_bytes = 0;
		sh->median_usage = USAGE_MEDIAN_INIT;
		sh->stats_reset = GetCurrentTimestamp();
		pg_atomic_init_u64(&sh->resets, 0);
		pg_atomic_init_u64(&sh->frees, 0);
		sh->nfree = def->max_entries;
		for (int i = 0; i < def->max_entries; i++)
		{
			TableSlot  *s = SLOT(t, i);

			/* hand out low slot numbers first */
			sh->free_slots[i] = def->max_entries - 1 - i;
			SpinLockInit(&s->mutex);
			s->generation = 0;
		}
	}

	memset(&info, 0, sizeof(info));
	info.keysize = def->key_size;
	info.entrysize = t->hash_entry_size;
	snprintf(name, sizeof(name), "%s hash", def->name);
	t->hash = compat_shmem_init_hash(name, def->max_entries, &info,
									 HASH_ELEM | HASH_BLOBS);

	LWLockRelease(AddinShmemInitLock);

	/* remember it; after a crash restart, the new attachment replaces the old */
	{
		int			i = 0;

		while (i < ntables && tables[i]->def != def)
			i++;
		if (i < MAX_TABLES)
		{
			tables[i] = t;
			ntables = Max(ntables, i + 1);
		}
	}

	/*
	 * The postmaster (or a single-user backend) saves and loads the file.
	 * One exit callback saves every table: the slots for them are few
	 * (MAX_ON_EXITS), and a single-user backend uses many of its own.
	 */
	if (def->file && !IsUnderPostmaster)
	{
		if (!save_registered)
		{
			on_shmem_exit(table_save_all, (Datum) 0);
			save_registered = true;
		}
		if (!found)
			table_load(t);
	}
	return t;
}

static inline HashEntry *
hash_entry_payload(Table *t, void *e)
{
	return (HashEntry *) ((char *) e + MAXALIGN(t->def->key_size));
}

static inline CacheEntry *
cache_for(Table *t, uint32 hint)
{
	return CACHE(t, hint & (CACHE_SIZE - 1));
}

static inline bool
cache_matches(Table *t, CacheEntry *c, const void *key)
{
	const uint64 *a = (const uint64 *) CACHE_KEY(c);
	const uint64 *b = (const uint64 *) key;

	if (c->generation == 0)
		return false;
	/* keys are MAXALIGNed in the cache; callers' keys hold 64-bit fields */
	if (t->def->key_size == 24)
		return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
	return memcmp(a, b, t->def->key_size) == 0;
}

static inline void
cache_fill(Table *t, CacheEntry *c, const void *key, int32 slot, uint64 generation)
{
	memcpy(CACHE_KEY(c), key, t->def->key_size);
	c->slot = slot;
	c->generation = generation;
}

/*
 * The key's data if this backend's cache says where it is, read without any
 * lock: a hint (possibly stale, possibly torn), good for decisions that may
 * be wrong now and then.  NULL if not cached.
 */
const void *
table_peek(Table *t, const void *key, uint32 hint)
{
	CacheEntry *c = cache_for(t, hint);

	if (!cache_matches(t, c, key) ||
		*((volatile uint64 *) &SLOT(t, c->slot)->generation) != c->generation)
		return NULL;
	return SLOT_DATA(t, SLOT(t, c->slot));
}

/*
 * Find key and return its data with the slot's spinlock held, or NULL if the
 * key has no entry.  Release with table_unlock().
 */
void *
table_lock(Table *t, const void *key, uint32 hint)
{
	CacheEntry *c = cache_for(t, hint);
	TableSlot  *s;
	void	   *e;
	int32		slot;

	/* hot path: the cached slot, under its spinlock only */
	if (cache_matches(t, c, key))
	{
		s = SLOT(t, c->slot);
		SpinLockAcquire(&s->mutex);
		if (s->generation == c->generation)
		{
			t->holds_lock = false;
			return SLOT_DATA(t, s);
		}
		SpinLockRelease(&s->mutex);
		c->generation = 0;
	}

	LWLockAcquire(t->shared->lock, LW_SHARED);
	e = hash_search(t->hash, key, HASH_FIND, NULL);
	if (e == NULL)
	{
		LWLockRelease(t->shared->lock);
		return NULL;
	}
	slot = hash_entry_payload(t, e)->slot;
	s = SLOT(t, slot);
	SpinLockAcquire(&s->mutex);
	cache_fill(t, c, key, slot, s->generation);
	t->holds_lock = true;
	return SLOT_DATA(t, s);
}

/* Add usage to the entry and release what table_lock took. */
void
table_unlock(Table *t, void *data, double usage)
{
	TableSlot  *s = DATA_SLOT(t, data);

	s->usage += usage;
	SpinLockRelease(&s->mutex);
	if (t->holds_lock)
	{
		LWLockRelease(t->shared->lock);
		t->holds_lock = false;
	}
}

/*
 * A number that identifies this entry for as long as it exists, unique over
 * the table's life: its slot's generation.  Caller holds the entry's lock.
 */
uint64
table_entry_id(Table *t, const void *data)
{
	return DATA_SLOT(t, data)->generation;
}

/* Free one slot and remove its key.  Caller holds the exclusive lock. */
static void
slot_free(Table *t, int32 slot)
{
	TableSlot  *s = SLOT(t, slot);

	hash_search(t->hash, SLOT_KEY(t, s), HASH_REMOVE, NULL);
	SpinLockAcquire(&s->mutex);
	s->generation = 0;
	SpinLockRelease(&s->mutex);
	t->shared->text_bytes -= s->text_len + 1;
	t->shared->free_slots[t->shared->nfree++] = slot;
	pg_atomic_fetch_add_u64(&t->shared->frees, 1);
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
evict(Table *t)
{
	HASH_SEQ_STATUS seq;
	void	   *e;
	int			n = 0;
	int			victims;

	hash_seq_init(&seq, t->hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		int32		slot = hash_entry_payload(t, e)->slot;
		TableSlot  *s = SLOT(t, slot);

		SpinLockAcquire(&s->mutex);
		s->usage *= USAGE_DECAY;
		t->scratch[n].usage = s->usage;
		SpinLockRelease(&s->mutex);
		t->scratch[n].slot = slot;
		n++;
	}
	if (n == 0)
		return;
	qsort(t->scratch, n, sizeof(EvictCandidate), candidate_cmp);
	t->shared->median_usage = t->scratch[n / 2].usage;

	victims = Min(n, Max(EVICT_MIN, n * EVICT_PERCENT / 100));
	for (int i = 0; i < victims; i++)
		slot_free(t, t->scratch[i].slot);
	t->shared->evictions += victims;
}

/*
 * Give a free slot to key, with zeroed data and the given text.  Caller
 * holds the exclusive lock (or is the postmaster at start) and made sure a
 * slot is free.  Returns the slot number, or -1 if the hash table refused.
 */
static int32
slot_install(Table *t, const void *key, const char *text, int len)
{
	TableShared *sh = t->shared;
	TableSlot  *s;
	void	   *e;
	int32		slot;
	bool		found;
	int			n = Max(len, 0);

	Assert(sh->nfree > 0);
	e = hash_search(t->hash, key, HASH_ENTER_NULL, &found);
	if (e == NULL)
		return -1;
	Assert(!found);
	slot = sh->free_slots[--sh->nfree];
	hash_entry_payload(t, e)->slot = slot;

	/* generation is 0, so nobody reads or writes the slot meanwhile */
	s = SLOT(t, slot);
	memcpy(SLOT_KEY(t, s), key, t->def->key_size);
	memset(SLOT_DATA(t, s), 0, t->def->data_size);
	s->usage = sh->median_usage;
	s->truncated = false;
	if (n > t->def->max_text)
	{
		n = t->def->max_text > 0 ? pg_mbcliplen(text, len, t->def->max_text) : 0;
		s->truncated = true;
		sh->truncated++;
	}
	if (t->def->max_text > 0)
	{
		memcpy(SLOT_TEXT(t, s), text, n);
		SLOT_TEXT(t, s)[n] = '\0';
	}
	s->text_len = n;
	sh->text_bytes += n + 1;

	SpinLockAcquire(&s->mutex);
	s->generation = ++sh->next_generation;
	SpinLockRelease(&s->mutex);
	return slot;
}

/*
 * Find key, creating it with the given text (and zeroed data) if missing, and
 * return its data with the slot's spinlock held; release with table_unlock().
 * Evicts if the table is full.  NULL only if the hash table refused the key.
 */
void *
table_create_lock(Table *t, const void *key, uint32 hint, const char *text, int len)
{
	CacheEntry *c = cache_for(t, hint);
	TableSlot  *s;
	void	   *e;
	int32		slot;

	LWLockAcquire(t->shared->lock, LW_EXCLUSIVE);
	e = hash_search(t->hash, key, HASH_FIND, NULL);
	if (e != NULL)
		slot = hash_entry_payload(t, e)->slot;
	else
	{
		if (t->shared->nfree == 0)
			evict(t);
		slot = slot_install(t, key, text, len);
		if (slot < 0)
		{
			LWLockRelease(t->shared->lock);
			return NULL;
		}
	}
	s = SLOT(t, slot);
	SpinLockAcquire(&s->mutex);
	cache_fill(t, c, key, slot, s->generation);
	t->holds_lock = true;
	return SLOT_DATA(t, s);
}

/*
 * Copy every entry out: emit() is called for each with a copy of its data
 * (taken under the slot's spinlock), its key and its text (copied into one
 * buffer sized before the lock is taken), and fills in one row of row_size
 * bytes.  Nothing is allocated while the lock is held.  Returns the number
 * of rows; *rows is a palloc'd array.
 */
int
table_read(Table *t, Size row_size, bool with_text, TableEmitFn emit,
		   void *arg, void **rows)
{
	return table_read_match(t, row_size, with_text, NULL, NULL, emit, arg, rows);
}

/*
 * table_read of the entries match() accepts (every entry if match is NULL):
 * the others are skipped before their data is copied, so a reader of a few
 * entries does not copy the whole table.
 */
int
table_read_match(Table *t, Size row_size, bool with_text, TableMatchFn match,
				 void *match_arg, TableEmitFn emit, void *arg, void **rows)
{
	char	   *out = palloc(mul_size(Max(t->def->max_entries, 1), row_size));
	char	   *data = palloc(Max(t->def->data_size, 1));
	char	   *texts = NULL;
	Size		text_cap = 0;
	Size		used = 0;
	HASH_SEQ_STATUS seq;
	void	   *e;
	int			n = 0;

	with_text = with_text && t->def->max_text > 0;
	for (;;)
	{
		Size		need;

		LWLockAcquire(t->shared->lock, LW_SHARED);
		need = with_text ? t->shared->text_bytes : 0;
		if (need <= text_cap)
			break;
		LWLockRelease(t->shared->lock);
		if (texts)
			pfree(texts);
		text_cap = need + 64 * 1024;	/* room for growth before we relock */
		texts = palloc(text_cap);
	}

	hash_seq_init(&seq, t->hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		TableSlot  *s = SLOT(t, hash_entry_payload(t, e)->slot);
		char	   *text = NULL;

		if (match && !match(SLOT_KEY(t, s), match_arg))
			continue;
		if (with_text)
		{
			text = texts + used;
			memcpy(text, SLOT_TEXT(t, s), s->text_len + 1);
			used += s->text_len + 1;
		}
		SpinLockAcquire(&s->mutex);
		memcpy(data, SLOT_DATA(t, s), t->def->data_size);
		SpinLockRelease(&s->mutex);
		emit(out + (Size) n * row_size, SLOT_KEY(t, s), data, text,
			 s->text_len, s->truncated, arg);
		n++;
	}
	LWLockRelease(t->shared->lock);

	pfree(data);
	*rows = out;
	return n;
}

/* Remove the entries match() accepts; returns how many. */
int
table_remove(Table *t, TableMatchFn match, void *arg)
{
	HASH_SEQ_STATUS seq;
	void	   *e;
	int			n = 0;

	LWLockAcquire(t->shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, t->hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (match && !match(e, arg))
			continue;
		/* dynahash allows removing the element just returned by a scan */
		slot_free(t, hash_entry_payload(t, e)->slot);
		n++;
	}
	LWLockRelease(t->shared->lock);
	return n;
}

/*
 * TableMatchFn for keys starting with TableKeyPrefix: matches when each of
 * arg's fields is 0 or equal.
 */
static bool
table_match_prefix(const void *key, void *arg)
{
	const TableKeyPrefix *k = (const TableKeyPrefix *) key;
	const TableKeyPrefix *m = (const TableKeyPrefix *) arg;

	return (m->userid == InvalidOid || k->userid == m->userid) &&
		(m->dbid == InvalidOid || k->dbid == m->dbid) &&
		(m->queryid == 0 || k->queryid == m->queryid);
}

/*
 * Change the data of the entries whose key starts with (userid, dbid,
 * queryid), 0 meaning any, in place: update runs under the table's shared
 * lock and the entry's spinlock, so it must be short and allocation-free.
 */
int
table_update(Table *t, Oid userid, Oid dbid, uint64 queryid,
			 TableUpdateFn update, void *arg)
{
	TableKeyPrefix m = {userid, dbid, queryid};
	HASH_SEQ_STATUS seq;
	void	   *e;
	int			n = 0;

	LWLockAcquire(t->shared->lock, LW_SHARED);
	hash_seq_init(&seq, t->hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		TableSlot  *s;

		if (!table_match_prefix(e, &m))
			continue;
		s = SLOT(t, hash_entry_payload(t, e)->slot);
		SpinLockAcquire(&s->mutex);
		update(SLOT_DATA(t, s), arg);
		SpinLockRelease(&s->mutex);
		n++;
	}
	LWLockRelease(t->shared->lock);
	return n;
}

/*
 * Remove the entries whose key starts with (userid, dbid, queryid), 0 meaning
 * any; with all three 0, also zero the eviction and truncation counts.
 * Returns true for that full reset.
 */
bool
table_reset(Table *t, Oid userid, Oid dbid, uint64 queryid)
{
	TableKeyPrefix m = {userid, dbid, queryid};
	bool		all = (userid == InvalidOid && dbid == InvalidOid && queryid == 0);

	pg_atomic_fetch_add_u64(&t->shared->resets, 1);
	(void) table_remove(t, table_match_prefix, &m);
	if (all)
		table_reset_stats(t);
	return all;
}

/*
 * How many times the table was reset (fully or in part) since the server
 * started: one atomic read, no lock.  A backend compares two readings to
 * learn whether a reset happened in between.
 */
uint64
table_resets(Table *t)
{
	return pg_atomic_read_u64(&t->shared->resets);
}

/*
 * Entries freed since start (evicted, reset or removed): a key this backend
 * saw in the table is still there while this count has not moved.
 */
uint64
table_frees(Table *t)
{
	return pg_atomic_read_u64(&t->shared->frees);
}

/* The table's own figures. */
void
table_stats(Table *t, int64 *entries, int64 *evictions, int64 *truncated,
			TimestampTz *stats_reset)
{
	LWLockAcquire(t->shared->lock, LW_SHARED);
	*entries = hash_get_num_entries(t->hash);
	*evictions = t->shared->evictions;
	*truncated = t->shared->truncated;
	*stats_reset = t->shared->stats_reset;
	LWLockRelease(t->shared->lock);
}

/* Zero the eviction and truncation counts and move stats_reset. */
static void
table_reset_stats(Table *t)
{
	LWLockAcquire(t->shared->lock, LW_EXCLUSIVE);
	t->shared->evictions = 0;
	t->shared->truncated = 0;
	t->shared->median_usage = USAGE_MEDIAN_INIT;
	t->shared->stats_reset = GetCurrentTimestamp();
	LWLockRelease(t->shared->lock);
}


/*
 * The table as its file holds it (header, entries, no CRC), copied into
 * palloc'd memory.  With lock, under the table's shared lock and each slot's
 * spinlock, so that it can run while backends update the table; the buffer
 * is sized before the lock is taken, so nothing is allocated under it.
 * Without lock (the postmaster at shutdown, when no backend runs), directly.
 */
static char *
table_image(Table *t, bool lock, Size *len)
{
	const TableDef *def = t->def;
	Size		fixed = sizeof(FileEntry) + def->key_size + def->data_size;
	Size		cap = 0;
	Size		pos;
	char	   *buf = NULL;
	FileHeader	hdr;
	HASH_SEQ_STATUS seq;
	void	   *e;

	for (;;)
	{
		Size		need;

		if (lock)
			LWLockAcquire(t->shared->lock, LW_SHARED);
		need = sizeof(FileHeader) + hash_get_num_entries(t->hash) * fixed +
			t->shared->text_bytes;
		if (need <= cap)
			break;
		if (lock)
			LWLockRelease(t->shared->lock);
		if (buf)
			pfree(buf);
		cap = need + 64 * 1024; /* room for growth before we relock */
		buf = palloc(cap);
	}

	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = FILE_MAGIC;
	hdr.version = def->file_version;
	hdr.key_size = def->key_size;
	hdr.data_size = def->data_size;
	hdr.nentries = hash_get_num_entries(t->hash);
	hdr.evictions = t->shared->evictions;
	hdr.truncated = t->shared->truncated;
	hdr.median_usage = t->shared->median_usage;
	hdr.stats_reset = t->shared->stats_reset;
	memcpy(buf, &hdr, sizeof(hdr));
	pos = sizeof(hdr);

	hash_seq_init(&seq, t->hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		TableSlot  *s = SLOT(t, hash_entry_payload(t, e)->slot);
		FileEntry	fe;
		char	   *entry = buf + pos;

		memset(&fe, 0, sizeof(fe));
		fe.truncated = s->truncated;
		fe.text_len = def->max_text > 0 ? s->text_len : 0;
		memcpy(entry + sizeof(FileEntry), SLOT_KEY(t, s), def->key_size);
		if (lock)
			SpinLockAcquire(&s->mutex);
		fe.usage = s->usage;
		memcpy(entry + sizeof(FileEntry) + def->key_size, SLOT_DATA(t, s),
			   def->data_size);
		if (lock)
			SpinLockRelease(&s->mutex);
		memcpy(entry, &fe, sizeof(fe));
		memcpy(entry + fixed, SLOT_TEXT(t, s), fe.text_len);
		pos += fixed + fe.text_len;
	}
	if (lock)
		LWLockRelease(t->shared->lock);
	*len = pos;
	return buf;
}

/*
 * Write the table's file: image, then CRC-32C, to a temporary file renamed
 * over the old one.  Returns false (after a LOG line) on failure.
 */
static bool
table_write(Table *t, bool lock)
{
	const TableDef *def = t->def;
	char		tmp[MAXPGPATH];
	FILE	   *f;
	char	   *buf;
	Size		len;
	pg_crc32c	crc;

	buf = table_image(t, lock, &len);
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, buf, len);
	FIN_CRC32C(crc);

	snprintf(tmp, sizeof(tmp), "%s.tmp", def->file);
	f = AllocateFile(tmp, PG_BINARY_W);
	if (f == NULL ||
		fwrite(buf, 1, len, f) != len ||
		fwrite(&crc, sizeof(crc), 1, f) != 1 ||
		FreeFile(f) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("postgres_latdiag: could not write file \"%s\": %m", tmp)));
		if (f)
			FreeFile(f);
		unlink(tmp);
		pfree(buf);
		return false;
	}
	pfree(buf);
	return durable_rename(tmp, def->file, LOG) == 0;
}

/*
 * At exit of the postmaster: save the table at clean
 * shutdown (no backend runs any more, so no lock is needed).  Like
 * pg_stat_statements, a fast or immediate shutdown exits normally and saves;
 * after a backend crash shared memory is reinitialized, and the file of the
 * last checkpoint (if any) is loaded into it.
 */
static void
table_save(Table *t)
{
	if (t->def->save && !*t->def->save)
	{
		unlink(t->def->file);
		return;
	}
	(void) table_write(t, false);
}

/*
 * The on_shmem_exit callback: table_save() for every table with a file.
 * After a crash (code != 0) the postmaster reinitializes shared memory and
 * attaches the tables again, which registers the callback again.
 */
static void
table_save_all(int code, Datum arg)
{
	save_registered = false;
	if (code != 0)
		return;
	for (int i = 0; i < ntables; i++)
		if (tables[i]->def->file)
			table_save(tables[i]);
}

/*
 * Checkpoint every saved table now, while backends run: a crash then loses
 * only what changed since.  Returns the number of tables written.
 */
int
table_checkpoint_all(void)
{
	int			n = 0;

	for (int i = 0; i < ntables; i++)
	{
		Table	   *t = tables[i];

		if (t->def->file == NULL || (t->def->save && !*t->def->save))
			continue;
		if (table_write(t, true))
			n++;
	}
	return n;
}

/* LOG why the saved file is not used, and remove it. */
static void
ignore_file(const TableDef *def, const char *why)
{
	ereport(LOG,
			(errmsg("postgres_latdiag: ignoring saved statistics file \"%s\": %s",
					def->file, why)));
	unlink(def->file);
}

/*
 * Load the file saved at the last clean shutdown, in the postmaster at
 * start.  The whole file is checked (size, magic, version, layout, CRC and
 * every entry's bounds) before anything is installed.
 */
static void
table_load(Table *t)
{
	const TableDef *def = t->def;
	FILE	   *f;
	struct stat st;
	char	   *buf;
	FileHeader	hdr;
	pg_crc32c	crc,
				file_crc;
	Size		pos,
				size,
				end,
				fixed = sizeof(FileEntry) + def->key_size + def->data_size;
	int			installed = 0,
				skipped = 0;
	char		why[200];

	f = AllocateFile(def->file, PG_BINARY_R);
	if (f == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("postgres_latdiag: could not read file \"%s\": %m",
							def->file)));
		return;
	}
	if (def->save && !*def->save)
	{
		FreeFile(f);
		unlink(def->file);
		return;
	}
	if (fstat(fileno(f), &st) != 0 || st.st_size > FILE_MAX)
	{
		FreeFile(f);
		ignore_file(def, "unreadable or too large");
		return;
	}
	size = st.st_size;
	buf = palloc(Max(size, 1));
	if (fread(buf, 1, size, f) != size)
	{
		FreeFile(f);
		pfree(buf);
		ignore_file(def, "short read");
		return;
	}
	FreeFile(f);

	why[0] = '\0';
	if (size < sizeof(FileHeader) + sizeof(pg_crc32c))
		snprintf(why, sizeof(why), "file is too short");
	else
	{
		memcpy(&hdr, buf, sizeof(hdr));
		if (hdr.magic != FILE_MAGIC)
			snprintf(why, sizeof(why), "not a postgres_latdiag statistics file");
		else if (hdr.version != def->file_version)
			snprintf(why, sizeof(why), "format version %u, expected %u",
					 hdr.version, def->file_version);
		else if (hdr.key_size != def->key_size || hdr.data_size != def->data_size)
			snprintf(why, sizeof(why),
					 "entry layout (%u-byte keys, %u-byte data) differs from this build's (%zu, %zu)",
					 hdr.key_size, hdr.data_size, def->key_size, def->data_size);
		else
		{
			INIT_CRC32C(crc);
			COMP_CRC32C(crc, buf, size - sizeof(pg_crc32c));
			FIN_CRC32C(crc);
			memcpy(&file_crc, buf + size - sizeof(pg_crc32c), sizeof(pg_crc32c));
			if (!EQ_CRC32C(crc, file_crc) || hdr.nentries < 0)
				snprintf(why, sizeof(why), "checksum mismatch");
		}
	}
	if (why[0] == '\0')
	{
		/* check every entry's bounds before installing any */
		end = size - sizeof(pg_crc32c);
		pos = sizeof(FileHeader);
		for (int i = 0; i < hdr.nentries; i++)
		{
			FileEntry	fe;

			if (pos + fixed > end)
				break;
			memcpy(&fe, buf + pos, sizeof(fe));
			if (fe.text_len < 0 || fe.text_len > 1024 * 1024 ||
				pos + fixed + fe.text_len > end)
				break;
			pos += fixed + fe.text_len;
			installed++;
		}
		if (installed != hdr.nentries || pos != end)
			snprintf(why, sizeof(why), "entries do not match the header");
	}
	if (why[0] != '\0')
	{
		pfree(buf);
		ignore_file(def, why);
		return;
	}

	installed = 0;
	pos = sizeof(FileHeader);
	for (int i = 0; i < hdr.nentries; i++)
	{
		FileEntry	fe;
		const char *key = buf + pos + sizeof(FileEntry);
		const char *data = key + def->key_size;
		const char *text = data + def->data_size;
		int32		slot;

		memcpy(&fe, buf + pos, sizeof(fe));
		if (t->shared->nfree > 0 &&
			(slot = slot_install(t, key, text, fe.text_len)) >= 0)
		{
			TableSlot  *s = SLOT(t, slot);

			memcpy(SLOT_DATA(t, s), data, def->data_size);
			s->usage = fe.usage;
			s->truncated |= (fe.truncated != 0);
			installed++;
		}
		else
			skipped++;
		pos += fixed + fe.text_len;
	}
	t->shared->evictions = hdr.evictions + skipped;
	t->shared->truncated += hdr.truncated;
	t->shared->median_usage = hdr.median_usage;
	t->shared->stats_reset = hdr.stats_reset;
	pfree(buf);
	unlink(def->file);

	ereport(LOG,
			(errmsg("postgres_latdiag: loaded %d saved entries from \"%s\"%s",
					installed, def->file,
					skipped ? " (the rest did not fit)" : "")));
}
