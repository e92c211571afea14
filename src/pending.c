/*
 * pending.c: finished executions batched per backend.
 *
 * THE SINGLE PLACE where a finished execution's figures are recorded is
 * hooks.c's ExecutorEnd: it calls pending_record() first and, when that
 * declines, records the execution directly in every store (store_record,
 * plans_record, scans) as before, then primes a batch with pending_prime().
 *
 * WHAT IS BATCHED.  Executions of a (user, database, statement, toplevel,
 * source) whose previous execution in this backend ran the same plan, was
 * recorded directly (so the statement's entry, its plan's entry and text and
 * its source's entry exist and the plan has no large-table seq scan to
 * count), and that are themselves not slow (no snapshot, no slow-execution
 * record), not a flagged query shape (deep OFFSET, unbounded read: counted
 * in the query store directly), used no JIT and no parallel workers, and fit
 * the batch's window of histogram buckets.  Anything else goes the direct
 * way, after the statement's batches of another plan (any source) are
 * flushed (so that plan changes are seen in order).  The source (sources.c:
 * application_name and sqlcommenter tags) is part of the batch's key, as its
 * id: one statement sent by two sources from one backend has two batches.
 *
 * WHERE.  Each backend owns a slot in shared memory (indexed by its proc
 * number) holding up to PEND_ENTRIES batches: calls, rows, time sums, min,
 * max, buffer and WAL sums, a window of histogram buckets.  Adding an execution
 * takes only the slot's spinlock, which nobody else wants in the common
 * case: no LWLock, no shared hash lookup, no entry spinlock, no plan-table
 * update.
 *
 * FLUSH.  A flush moves a slot's batches out under its spinlock and adds
 * them to the stores (store_apply_batch, plans_apply_batch,
 * sources_apply_batch) outside it.  Any process may flush any slot:
 *   - every reader of the query, plan or source store (the views,
 *     latdiag_info, the window worker, a checkpoint, a reset) first
 *     flushes all slots:
 *     every finished execution is visible to every reader at once;
 *   - the sampler worker flushes, at each tick (latdiag.lock_sample_interval,
 *     at most 1 s apart), every slot whose oldest batched execution started
 *     PEND_MAX_AGE_MS or more ago, and all slots before a checkpoint;
 *   - the owner flushes when its slot is full, and at exit
 *     (before_shmem_exit).
 * So a backend that goes idle never sits on its figures: they reach the
 * stores within 1 s plus one sampler tick, whatever the backend does.  A
 * backend killed with SIGKILL makes the postmaster reinitialize shared
 * memory: the stores are then reloaded from the last checkpoint file, which
 * includes every batch flushed before it (nothing more is lost than before
 * batching).
 *
 * MERGING.  Sums add; min and max combine; the mean and the sum of squared
 * deviations (stddev) combine with Chan et al.'s parallel formula.  A plan
 * change between two backends' batches is recorded when a batch is flushed
 * (the store's last plan differs from the batch's), so a switch back and
 * forth between backends within one flush interval counts once per flush.
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "compat.h"
#include "histogram.h"
#include "measure.h"
#include "pending.h"
#include "plans.h"
#include "sources.h"
#include "store.h"

#define PEND_ENTRIES	16		/* batches per backend */
#define PEND_MAX_AGE_MS	1000	/* the sampler flushes older batches */

typedef struct PendSlot
{
	slock_t		mutex;			/* guards everything below */
	int32		n;				/* batches in use */
	TimestampTz oldest;			/* start of the first execution batched; 0 */
	PendBatch	b[PEND_ENTRIES];
} PendSlot;

typedef struct PendShared
{
	int32		nslots;
	pg_atomic_uint64 flushes;	/* batches flushed since start */
	PendSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} PendShared;

static PendShared *pend = NULL;
static PendSlot *my_slot = NULL;
static bool my_slot_checked = false;

static Size
pending_size(void)
{
	return add_size(offsetof(PendShared, slots),
					mul_size(MaxBackends, sizeof(PendSlot)));
}

/* Ask for the slots' memory; from shmem_request_hook. */
void
pending_shmem_request(void)
{
	RequestAddinShmemSpace(pending_size());
}

/* Attach the slots; from shmem_startup_hook. */
void
pending_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pend = ShmemInitStruct("postgres_latdiag pending", pending_size(), &found);
	if (!found)
	{
		pend->nslots = MaxBackends;
		pg_atomic_init_u64(&pend->flushes, 0);
		for (int i = 0; i < MaxBackends; i++)
		{
			SpinLockInit(&pend->slots[i].mutex);
			pend->slots[i].n = 0;
			pend->slots[i].oldest = 0;
		}
	}
	LWLockRelease(AddinShmemInitLock);
	my_slot = NULL;
	my_slot_checked = false;
}

/* Shared memory of the slots. */
Size
pending_shmem_size(void)
{
	return pending_size();
}

/* Add the batches flushed from a slot to the stores. */
static void
apply(const PendBatch *b, int n)
{
	for (int i = 0; i < n; i++)
	{
		uint64		previous;

		if (b[i].calls == 0)
			continue;
		previous = store_apply_batch(&b[i]);
		plans_apply_batch(&b[i], previous);
		sources_apply_batch(&b[i]);
	}
	if (pend)
		pg_atomic_fetch_add_u64(&pend->flushes, n);
}

/* Move every batch of a slot out and into the stores. */
static void
flush_slot(PendSlot *s)
{
	PendBatch	copy[PEND_ENTRIES];
	int			n;

	SpinLockAcquire(&s->mutex);
	n = s->n;
	if (n > 0)
		memcpy(copy, s->b, n * sizeof(PendBatch));
	s->n = 0;
	s->oldest = 0;
	SpinLockRelease(&s->mutex);
	if (n > 0)
		apply(copy, n);
}

/* At exit: this backend's batches go to the stores. */
static void
flush_at_exit(int code, Datum arg)
{
	if (my_slot)
		flush_slot(my_slot);
}

/* This backend's slot, or NULL (no slot for this process). */
static inline PendSlot *
get_my_slot(void)
{
	if (likely(my_slot_checked))
		return my_slot;
	my_slot_checked = true;
	if (pend == NULL || MyProc == NULL || compat_my_procno() >= pend->nslots)
		return NULL;
	my_slot = &pend->slots[compat_my_procno()];
	/* an earlier process's batches are as good as ours: flush them */
	flush_slot(my_slot);
	before_shmem_exit(flush_at_exit, (Datum) 0);
	return my_slot;
}

/* Is b a batch of this backend's statement (queryid, toplevel) for userid? */
static inline bool
same_statement(const PendBatch *b, uint64 queryid, bool toplevel, Oid userid)
{
	return b->key.queryid == queryid && b->key.userid == userid &&
		b->key.toplevel == toplevel && b->key.dbid == MyDatabaseId;
}

static inline int
find(PendSlot *s, uint64 queryid, bool toplevel, Oid userid, uint64 source)
{
	for (int i = 0; i < s->n; i++)
	{
		PendBatch  *b = &s->b[i];

		if (same_statement(b, queryid, toplevel, userid) && b->source == source)
			return i;
	}
	return -1;
}

/*
 * An execution of (queryid, toplevel) with plan planid is going to be
 * recorded directly: take out of the slot, whose spinlock the caller holds
 * (released here), the statement's batches of another plan, whatever their
 * source, and the batch at index also (-1: none), and add them to the
 * stores first, so that the stores see the plans in the order they ran.
 */
static pg_noinline void
take_out(PendSlot *s, uint64 queryid, bool toplevel, Oid userid,
		 uint64 planid, int also)
{
	PendBatch	copy[PEND_ENTRIES];
	int			n = 0;

	/* backwards: the last batch moved into a hole has been looked at */
	for (int i = s->n - 1; i >= 0; i--)
	{
		PendBatch  *b = &s->b[i];

		if (i == also ||
			(same_statement(b, queryid, toplevel, userid) && b->planid != planid))
		{
			copy[n++] = *b;
			s->b[i] = s->b[--s->n];
		}
	}
	if (s->n == 0)
		s->oldest = 0;
	SpinLockRelease(&s->mutex);
	if (n > 0)
		apply(copy, n);
}

/*
 * Add a finished execution to its batch if it has one that can take it;
 * false if it must be recorded directly (its batch, if any, is flushed
 * first).  The caller has checked that it is not slow.
 */
bool
pending_record(uint64 queryid, bool toplevel, uint64 source,
			   const StoreSample *smp, const ExecFigures *f)
{
	PendSlot   *s = get_my_slot();
	PendBatch  *b;
	Oid			userid = GetUserId();
	int			i,
				j;

	if (s == NULL || smp->jit != NULL ||
		smp->parallel_workers_to_launch != 0 || smp->parallel_workers_launched != 0)
		return false;

	SpinLockAcquire(&s->mutex);
	i = find(s, queryid, toplevel, userid, source);
	if (i < 0)
	{
		take_out(s, queryid, toplevel, userid, smp->planid, -1);
		return false;
	}
	b = &s->b[i];
	if (b->base < 0)
	{
		b->base = Max(smp->bucket - PEND_BELOW, 0);
		b->lo = b->hi = smp->bucket - b->base;
	}
	j = smp->bucket - b->base;
	if (b->planid != smp->planid || j < 0 || j >= PEND_SPAN ||
		b->count[j] == PG_UINT16_MAX)
	{
		/* take the batch out and record it before this execution */
		take_out(s, queryid, toplevel, userid, smp->planid, i);
		return false;
	}
	b->count[j]++;
	if (j < b->lo)
		b->lo = j;
	if (j > b->hi)
		b->hi = j;
	b->calls++;
	b->rows += smp->rows;
	b->total += smp->ms;
	b->sumsq += smp->ms * smp->ms;
	if (b->calls == 1 || smp->ms < b->min)
		b->min = smp->ms;
	if (b->calls == 1 || smp->ms > b->max)
		b->max = smp->ms;
	if (smp->plan_origin == 1)
		b->generic_calls++;
	else if (smp->plan_origin == 2)
		b->custom_calls++;
	b->last_seen = GetCurrentStatementStartTimestamp();
	BufferUsageAccumDiff(&b->buf, f->buf_end, f->buf_start);
	WalUsageAccumDiff(&b->wal, f->wal_end, f->wal_start);
	if (f->buf_folded)
	{
		BufferUsageAccumDiff(&b->buf, f->buf_folded, &measure_zero_buf);
		WalUsageAccumDiff(&b->wal, f->wal_folded, &measure_zero_wal);
	}
	if (s->oldest == 0)
		s->oldest = b->last_seen;
	SpinLockRelease(&s->mutex);
	return true;
}

/*
 * An execution of (queryid, toplevel) with plan planid is going to be
 * recorded directly without being offered to pending_record (slow, flagged
 * shape): flush the statement's batches of another plan first.
 */
void
pending_settle(uint64 queryid, bool toplevel, uint64 planid)
{
	PendSlot   *s = get_my_slot();

	/* only this backend adds batches to its slot */
	if (s == NULL || *((volatile int32 *) &s->n) == 0)
		return;
	SpinLockAcquire(&s->mutex);
	take_out(s, queryid, toplevel, GetUserId(), planid, -1);
}

/*
 * An execution was recorded directly, with its plan's entry in place and
 * nothing else to count for it: batch the next ones of this statement and
 * plan.  A full slot is flushed first.
 */
void
pending_prime(uint64 queryid, bool toplevel, uint64 source, uint64 planid)
{
	PendSlot   *s = get_my_slot();
	Oid			userid = GetUserId();
	PendBatch  *b;

	if (s == NULL)
		return;
	SpinLockAcquire(&s->mutex);
	if (find(s, queryid, toplevel, userid, source) >= 0)
	{
		/* pending_record took out any batch it declined: a concurrent prime */
		SpinLockRelease(&s->mutex);
		return;
	}
	if (s->n == PEND_ENTRIES)
	{
		SpinLockRelease(&s->mutex);
		flush_slot(s);
		SpinLockAcquire(&s->mutex);
	}
	if (s->n < PEND_ENTRIES)
	{
		b = &s->b[s->n++];
		memset(b, 0, sizeof(PendBatch));
		b->key.userid = userid;
		b->key.dbid = MyDatabaseId;
		b->key.queryid = queryid;
		b->key.toplevel = toplevel;
		b->source = source;
		b->planid = planid;
		b->base = -1;
	}
	SpinLockRelease(&s->mutex);
}

/* Flush every backend's batches (a reader wants them all). */
void
pending_flush_all(void)
{
	if (pend == NULL)
		return;
	for (int i = 0; i < pend->nslots; i++)
	{
		PendSlot   *s = &pend->slots[i];

		/* an unlocked look: a slot being filled right now is the owner's */
		if (*((volatile int32 *) &s->n) > 0)
			flush_slot(s);
	}
}

/* Flush the slots whose oldest batched execution is PEND_MAX_AGE_MS old. */
void
pending_flush_stale(TimestampTz now)
{
	if (pend == NULL)
		return;
	for (int i = 0; i < pend->nslots; i++)
	{
		PendSlot   *s = &pend->slots[i];
		TimestampTz oldest = *((volatile TimestampTz *) &s->oldest);

		if (oldest != 0 && now - oldest >= (int64) PEND_MAX_AGE_MS * 1000)
			flush_slot(s);
	}
}

/* Batches flushed since start, for latdiag_info. */
int64
pending_flushes(void)
{
	return pend ? (int64) pg_atomic_read_u64(&pend->flushes) : 0;
}
