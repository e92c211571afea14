/*
 * locks.c: heavyweight-lock waits per statement, with the blocker.
 *
 * PG15 has no hook around lock waits, so they are sampled.
 *
 * SLOTS.  One shared LockSlot per PGPROC of a backend (MaxBackends of them,
 * indexed by pgprocno).  A slot holds the wait in progress of its backend
 * ("open": lock, start, last time seen, blocker) and up to LOCK_RING
 * finished waits, summed per (lock type, mode, relation, blocker queryid),
 * not yet charged to a statement; "pending" counts them.  A slot belongs to
 * one process (its pid); records of an earlier owner of the PGPROC are
 * discarded when a new owner is seen.
 *
 * SAMPLER.  A background worker wakes every latdiag.lock_sample_interval ms
 * and reads, without any lock, each PGPROC's pid and wait_event_info: a
 * backend waits for a heavyweight lock when its wait event is of class Lock,
 * or, for a wait already seen, while its waitLock is set (between two sleeps
 * of one wait, e.g. for the deadlock check, only the latter is).
 * PGPROC.waitStart is used as the start time of a wait only if it lies
 * between the previous tick and this one (it can be stale in 15),
 * else the middle of the two ticks is used; a change of a trusted waitStart
 * means a new wait.  When a wait is seen for the first time, and only then,
 * the sampler takes every lock-manager partition lock in shared mode once
 * for all the new waits of the tick, reads the awaited lock's tag and mode
 * and finds the blocker (a holder of a conflicting mode, else a waiter ahead
 * in the queue asking for one), releases them, and then reads the blocker's
 * state, top-level queryid, transaction start and query text from the
 * backend status array.  A wait not seen any more is finished at the middle
 * of the last tick that saw it and this one.
 *
 * CHARGING.  When a statement ends (ExecutorEnd, ProcessUtility) its backend
 * reads its slot's pending counter: one load on the common path.  If it is
 * not zero, the backend takes the records under the slot's spinlock (an open
 * wait has necessarily ended: it is finished at the middle of its last
 * sighting and the next tick due) and adds them to the lock-wait store under
 * the statement's queryid.  A wait during parse analysis, before the queryid
 * existed, is thereby charged to its statement.  When a (sub)transaction
 * aborts, the records are charged to the current top-level queryid, and the
 * open one, whose wait was in progress within the last interval, is counted
 * as cancelled (lock_timeout, deadlock, cancel, termination).
 *
 * LOCKING.  Slot spinlock: guards the slot; held for copies, never with
 * another lock.  The sampler holds the lock-manager partition locks (all of
 * them, shared, in index order, as GetLockStatusData does) once per tick
 * with new waits, for one pass over those waits; it takes no ProcArrayLock
 * and no latdiag lock meanwhile.  The lock-wait store is a table.c table:
 * only backends touch it, with its own protocol.
 */
#include "postgres.h"

#include "access/xact.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "compat.h"
#include "guc.h"
#include "locks.h"
#include "pending.h"
#include "table.h"
#include "windows.h"

#define LOCK_TEXT_LEN		512 /* bytes of the blocker's query kept per wait */
#define LOCK_RING			4	/* finished waits kept per backend until charged */
#define LOCKS_FILE			PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag_lock_waits.stat"
#define LOCKS_FILE_VERSION	1
#define LOCKTYPE_UNKNOWN	0xFF

PGDLLEXPORT void latdiag_sampler_main(Datum arg);

/* What a wait was on, and who blocked it. */
typedef struct LockWaitWhat
{
	uint8		locktype;		/* LockTagType, or LOCKTYPE_UNKNOWN */
	uint8		mode;			/* LOCKMODE; 0 if unknown */
	Oid			relid;			/* 0 if none */
	uint64		blocker_queryid;
	Oid			blocker_userid;
	int32		blocker_pid;	/* 0: none found */
	int32		blocker_state;	/* LockBlockerState */
	double		blocker_xact_ms;	/* blocker's transaction age at first sight */
	int32		text_len;
	char		text[LOCK_TEXT_LEN];	/* blocker's query, raw bytes */
} LockWaitWhat;

/* Finished waits with the same lock and blocker statement, summed. */
typedef struct LockWaitDone
{
	LockWaitWhat what;			/* of the last one */
	int32		waits;
	double		total_ms;
	double		max_ms;
	double		max_blocker_xact_ms;
} LockWaitDone;

typedef struct LockSlot
{
	slock_t		mutex;			/* guards everything below */
	volatile uint32 pending;	/* open + ndone; the owner reads it unlocked */
	int32		pid;			/* the process the records belong to */
	int32		ndone;
	bool		open;			/* a wait in progress, as of last_seen */
	bool		raw_trusted;	/* raw was written for this wait */
	uint64		raw;			/* PGPROC.waitStart that identifies it */
	TimestampTz start;
	TimestampTz start_lo;		/* the tick before it was first seen */
	TimestampTz last_seen;
	TimestampTz last_end;		/* when the last finished wait ended */
	int32		last_done;		/* its record in done[], or -1 */
	LockWaitWhat open_what;
	LockWaitDone done[LOCK_RING];
} LockSlot;

typedef struct LocksShared
{
	pg_atomic_uint64 dropped;	/* waits lost because a ring was full */
	int			nslots;
	LockSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} LocksShared;

/* The store: one entry per statement, lock and blocker statement. */
typedef struct LockWaitKey
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	uint64		blocker_queryid;
	Oid			relid;
	uint8		locktype;
	uint8		mode;
	uint16		pad;			/* zero */
} LockWaitKey;

typedef struct LockWaitData
{
	int64		waits;
	int64		cancelled;
	double		total_ms;
	double		max_ms;
	double		max_blocker_xact_ms;
	Oid			blocker_userid;
	int32		blocker_pid;
	int32		blocker_state;
	TimestampTz last_seen;
} LockWaitData;

/* A wait the sampler sees for the first time in this tick. */
typedef struct NewWait
{
	int			procno;
	int			pid;
	uint32		wait_event_info;
	uint64		raw;
	LockWaitWhat what;
} NewWait;

volatile uint32 *locks_my_pending = NULL;

static LocksShared *locks_shared = NULL;
static LockSlot *my_slot = NULL;
static const uint32 no_pending = 0;
static TableDef locks_def;
static Table *locks_table = NULL;

static const TableDef *
locks_table_def(void)
{
	locks_def.name = "postgres_latdiag lock waits";
	locks_def.key_size = sizeof(LockWaitKey);
	locks_def.data_size = sizeof(LockWaitData);
	locks_def.max_entries = latdiag_max_lock_waits;
	locks_def.max_text = LOCK_TEXT_LEN;
	locks_def.file = LOCKS_FILE;
	locks_def.file_version = LOCKS_FILE_VERSION;
	locks_def.save = &latdiag_save;
	return &locks_def;
}

static Size
slots_size(void)
{
	return add_size(offsetof(LocksShared, slots),
					mul_size(MaxBackends, sizeof(LockSlot)));
}

/* Ask for the slots' and the store's memory; from shmem_request_hook. */
void
locks_shmem_request(void)
{
	RequestAddinShmemSpace(slots_size());
	table_request(locks_table_def());
}

/* Attach the slots and the store; from shmem_startup_hook. */
void
locks_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	locks_shared = ShmemInitStruct("postgres_latdiag lock slots", slots_size(), &found);
	if (!found)
	{
		pg_atomic_init_u64(&locks_shared->dropped, 0);
		locks_shared->nslots = MaxBackends;
		for (int i = 0; i < MaxBackends; i++)
		{
			memset(&locks_shared->slots[i], 0, sizeof(LockSlot));
			SpinLockInit(&locks_shared->slots[i].mutex);
		}
	}
	LWLockRelease(AddinShmemInitLock);
	locks_table = table_attach(locks_table_def());
}

/* Shared memory of the slots and the store. */
Size
locks_shmem_size(void)
{
	return add_size(slots_size(), table_shmem_size(locks_table_def()));
}

/* Empty a slot and give it to pid.  Caller holds its spinlock. */
static void
slot_clear(LockSlot *s, int pid)
{
	s->pid = pid;
	s->open = false;
	s->ndone = 0;
	s->pending = 0;
	s->last_done = -1;
	s->last_end = 0;
}

/* Find this backend's slot; records of an earlier process there are dropped. */
void
locks_attach_backend(void)
{
	LockSlot   *s;

	if (locks_shared == NULL || MyProc == NULL ||
		compat_my_procno() >= locks_shared->nslots)
	{
		locks_my_pending = (volatile uint32 *) &no_pending;
		return;
	}
	s = &locks_shared->slots[compat_my_procno()];
	SpinLockAcquire(&s->mutex);
	if (s->pid != MyProcPid)
		slot_clear(s, MyProcPid);
	SpinLockRelease(&s->mutex);
	my_slot = s;
	locks_my_pending = &s->pending;
}

/* Is anything captured at all right now? */
static inline bool
capturing(void)
{
	return latdiag_enabled && latdiag_track != LATDIAG_TRACK_NONE;
}

/* Milliseconds between two timestamps, never negative. */
static inline double
ms_between(TimestampTz from, TimestampTz to)
{
	return to > from ? (double) (to - from) / 1000.0 : 0.0;
}

/*
 * Charge this backend's recorded waits to (its user, database, queryid):
 * the open one counted as cancelled if asked, unless keep is false (the
 * statement is not tracked), then they are only forgotten.  Returns the
 * wait time charged.
 */
double
locks_charge(uint64 queryid, bool keep, bool cancelled)
{
	double		charged = 0.0;
	LockSlot   *s = my_slot;
	LockWaitDone recs[LOCK_RING + 1];
	int			ncancelled = -1;	/* index of the cancelled record */
	int			n = 0;
	TimestampTz now;
	LockWaitKey key;

	if (s == NULL)
		return 0.0;
	/* an executor shut down during abort: the abort callback will charge */
	if (!cancelled && !IsTransactionState())
		return 0.0;

	now = GetCurrentTimestamp();
	SpinLockAcquire(&s->mutex);
	if (s->pid == MyProcPid)
	{
		for (int i = 0; i < s->ndone; i++)
			recs[n++] = s->done[i];
		if (s->open)
		{
			/* it ended after last_seen, before the next tick was due */
			TimestampTz hi = Min(now, s->last_seen +
								 (TimestampTz) latdiag_lock_sample_interval * 1000);
			TimestampTz end = s->last_seen + (hi - s->last_seen) / 2;

			recs[n].what = s->open_what;
			recs[n].waits = 1;
			recs[n].total_ms = recs[n].max_ms = ms_between(s->start, end);
			recs[n].max_blocker_xact_ms = s->open_what.blocker_xact_ms;
			if (cancelled)
				ncancelled = n;
			n++;
		}
		else if (cancelled && s->last_done >= 0 && s->last_done < s->ndone &&
				 now - s->last_end <=
				 (TimestampTz) Max(2 * latdiag_lock_sample_interval, 50) * 1000)
		{
			/*
			 * The sampler saw the wait end just before this abort: the
			 * lock_timeout or cancel that ended it is what aborts now.
			 */
			ncancelled = s->last_done;
		}
	}
	slot_clear(s, MyProcPid);
	SpinLockRelease(&s->mutex);

	if (!keep || !capturing() || locks_table == NULL)
		return 0.0;
	for (int i = 0; i < n; i++)
		charged += recs[i].total_ms;

	memset(&key, 0, sizeof(key));
	key.userid = GetUserId();
	key.dbid = MyDatabaseId;
	key.queryid = queryid;
	for (int i = 0; i < n; i++)
	{
		LockWaitDone *r = &recs[i];
		uint32		hint;
		LockWaitData *d;

		key.blocker_queryid = r->what.blocker_queryid;
		key.relid = r->what.relid;
		key.locktype = r->what.locktype;
		key.mode = r->what.mode;
		hint = (uint32) (queryid ^ key.blocker_queryid ^ key.relid ^ key.mode);
		d = table_lock(locks_table, &key, hint);
		if (d == NULL)
		{
			/* the blocker's text: cut at a character boundary */
			int			len = pg_mbcliplen(r->what.text, r->what.text_len,
										   r->what.text_len);

			d = table_create_lock(locks_table, &key, hint, r->what.text, len);
			if (d == NULL)
				continue;
		}
		d->waits += r->waits;
		if (i == ncancelled)
			d->cancelled++;		/* one wait: the one in progress or just ended */
		d->total_ms += r->total_ms;
		d->max_ms = Max(d->max_ms, r->max_ms);
		d->max_blocker_xact_ms = Max(d->max_blocker_xact_ms, r->max_blocker_xact_ms);
		d->blocker_userid = r->what.blocker_userid;
		d->blocker_pid = r->what.blocker_pid;
		d->blocker_state = r->what.blocker_state;
		d->last_seen = now;
		table_unlock(locks_table, d, (double) r->waits);
	}
	return charged;
}

/*
 * Abort of a (sub)transaction: its waits go to the current statement
 * (hooks.c's transaction callbacks).
 */
void
locks_on_abort(void)
{
	if (locks_my_pending == NULL)
		locks_attach_backend();
	if (*locks_my_pending != 0)
		(void) locks_charge(pgstat_get_my_query_id(), true, true);
}

/* Start the sampler with the server; from _PG_init. */
void
locks_register_sampler(void)
{
	BackgroundWorker w;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_ConsistentState;
	w.bgw_restart_time = 1;		/* seconds: back soon after a crash */
	snprintf(w.bgw_library_name, BGW_MAXLEN, "postgres_latdiag");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "latdiag_sampler_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "postgres_latdiag sampler");
	snprintf(w.bgw_type, BGW_MAXLEN, "postgres_latdiag sampler");
	RegisterBackgroundWorker(&w);
}

/* ---------------------------------------------------------------- sampler */

/* Add a finished wait to the slot's ring.  Caller holds the spinlock. */
static void
slot_finish(LockSlot *s, TimestampTz end)
{
	LockWaitWhat *w = &s->open_what;
	double		ms = ms_between(s->start, end);
	LockWaitDone *d = NULL;

	s->open = false;
	for (int i = 0; i < s->ndone; i++)
		if (s->done[i].what.locktype == w->locktype && s->done[i].what.mode == w->mode &&
			s->done[i].what.relid == w->relid &&
			s->done[i].what.blocker_queryid == w->blocker_queryid)
			d = &s->done[i];
	if (d == NULL)
	{
		if (s->ndone == LOCK_RING)
		{
			s->pending--;
			pg_atomic_fetch_add_u64(&locks_shared->dropped, 1);
			s->last_done = -1;
			return;
		}
		d = &s->done[s->ndone++];
		d->waits = 0;
		d->total_ms = d->max_ms = d->max_blocker_xact_ms = 0;
	}
	else
		s->pending--;			/* merged: one record fewer */
	memcpy(&d->what, w, offsetof(LockWaitWhat, text) + w->text_len);
	d->waits++;
	d->total_ms += ms;
	d->max_ms = Max(d->max_ms, ms);
	d->max_blocker_xact_ms = Max(d->max_blocker_xact_ms, w->blocker_xact_ms);
	s->last_done = (int32) (d - s->done);
	s->last_end = end;
}

/* The relation a lock is on, or 0. */
static Oid
tag_relid(const LOCKTAG *tag)
{
	switch ((LockTagType) tag->locktag_type)
	{
		case LOCKTAG_RELATION:
		case LOCKTAG_RELATION_EXTEND:
		case LOCKTAG_PAGE:
		case LOCKTAG_TUPLE:
			return (Oid) tag->locktag_field2;
		default:
			return InvalidOid;
	}
}

/*
 * The relation of a tuple lock proc holds, or 0: a row-lock wait is on the
 * row's transaction, while the waiter holds the row's tuple lock.  Caller
 * holds every partition lock.
 */
static Oid
held_tuple_relid(PGPROC *proc)
{
	for (int p = 0; p < NUM_LOCK_PARTITIONS; p++)
	{
		for (PROCLOCK *pl = compat_proc_lock_next(proc, p, NULL); pl;
			 pl = compat_proc_lock_next(proc, p, pl))
		{
			LOCK	   *l = pl->tag.myLock;

			if (l->tag.locktag_type == LOCKTAG_TUPLE && pl->holdMask != 0)
				return (Oid) l->tag.locktag_field2;
		}
	}
	return InvalidOid;
}

/*
 * The process that blocks waiter on lock: a holder of a conflicting mode,
 * else a waiter ahead in the queue asking for one (as pg_blocking_pids
 * decides).  Caller holds every partition lock.
 */
static PGPROC *
find_blocker(PGPROC *waiter, LOCK *lock, LOCKMODE mode)
{
	LOCKMASK	conflict = GetLocksMethodTable(lock)->conflictTab[mode];
	PGPROC	   *leader = waiter->lockGroupLeader ? waiter->lockGroupLeader : waiter;
	for (PROCLOCK *pl = compat_lock_holder_next(lock, NULL); pl;
		 pl = compat_lock_holder_next(lock, pl))
	{
		if (pl->groupLeader != leader && (pl->holdMask & conflict) != 0)
			return pl->tag.myProc;
	}
	for (PGPROC *p = compat_lock_waiter_next(lock, NULL); p && p != waiter;
		 p = compat_lock_waiter_next(lock, p))
	{
		PGPROC	   *pleader = p->lockGroupLeader ? p->lockGroupLeader : p;

		if (pleader != leader && (conflict & LOCKBIT_ON(p->waitLockMode)) != 0)
			return p;
	}
	return NULL;
}

/* pg_stat_activity's state of a backend status entry. */
static int
blocker_state(BackendState st)
{
	switch (st)
	{
		case STATE_RUNNING:
			return BLOCKER_ACTIVE;
		case STATE_IDLE:
			return BLOCKER_IDLE;
		case STATE_IDLEINTRANSACTION:
			return BLOCKER_IDLE_IN_XACT;
		case STATE_IDLEINTRANSACTION_ABORTED:
			return BLOCKER_IDLE_IN_XACT_ABORTED;
		case STATE_FASTPATH:
			return BLOCKER_FASTPATH;
		case STATE_DISABLED:
			return BLOCKER_DISABLED;
		default:
			return BLOCKER_UNKNOWN;
	}
}

/*
 * Describe the new waits: lock, mode, relation and blocker under the
 * partition locks (one pass), then the blockers from the backend status
 * array, then open them in their slots.
 */
static void
describe_new_waits(NewWait *nw, int n, TimestampTz prev, TimestampTz now)
{
	bool		want_status = false;

	for (int i = 0; i < NUM_LOCK_PARTITIONS; i++)
		LWLockAcquire(LockHashPartitionLockByIndex(i), LW_SHARED);
	for (int i = 0; i < n; i++)
	{
		PGPROC	   *proc = GetPGProcByNumber(nw[i].procno);
		LOCK	   *lock = proc->waitLock;
		LockWaitWhat *w = &nw[i].what;

		memset(w, 0, offsetof(LockWaitWhat, text));
		w->locktype = (nw[i].wait_event_info & 0xFF000000) == PG_WAIT_LOCK ?
			(uint8) (nw[i].wait_event_info & 0xFF) : LOCKTYPE_UNKNOWN;
		if (lock != NULL && proc->pid == nw[i].pid)
		{
			PGPROC	   *b = find_blocker(proc, lock, proc->waitLockMode);

			w->locktype = lock->tag.locktag_type;
			w->mode = (uint8) proc->waitLockMode;
			w->relid = tag_relid(&lock->tag);
			if (w->relid == InvalidOid &&
				(w->locktype == LOCKTAG_TRANSACTION ||
				 w->locktype == LOCKTAG_VIRTUALTRANSACTION ||
				 w->locktype == LOCKTAG_SPECULATIVE_TOKEN))
				w->relid = held_tuple_relid(proc);
			if (b != NULL)
			{
				if (b->lockGroupLeader)
					b = b->lockGroupLeader;
				w->blocker_pid = b->pid;
				if (b->pid == 0)
					w->blocker_state = BLOCKER_PREPARED;
				else
					want_status = true;
			}
		}
	}
	for (int i = NUM_LOCK_PARTITIONS; --i >= 0;)
		LWLockRelease(LockHashPartitionLockByIndex(i));

	/* what the blockers were doing: one copy of the status array */
	if (want_status)
	{
		int			nbe = pgstat_fetch_stat_numbackends();

		for (int b = 1; b <= nbe; b++)
		{
			LocalPgBackendStatus *l = compat_local_beentry(b);
			PgBackendStatus *be = l ? &l->backendStatus : NULL;

			if (be == NULL || be->st_procpid == 0)
				continue;
			for (int i = 0; i < n; i++)
			{
				LockWaitWhat *w = &nw[i].what;

				if (w->blocker_pid != be->st_procpid || w->blocker_state != BLOCKER_UNKNOWN)
					continue;
				w->blocker_state = blocker_state(be->st_state);
				w->blocker_queryid = be->st_query_id;
				w->blocker_userid = be->st_userid;
				if (be->st_xact_start_timestamp != 0)
					w->blocker_xact_ms = ms_between(be->st_xact_start_timestamp, now);
				if (be->st_activity_raw)
				{
					w->text_len = strnlen(be->st_activity_raw,
										  Min(LOCK_TEXT_LEN - 1,
											  pgstat_track_activity_query_size - 1));
					memcpy(w->text, be->st_activity_raw, w->text_len);
				}
				w->text[w->text_len] = '\0';
			}
		}
		pgstat_clear_backend_activity_snapshot();
	}

	for (int i = 0; i < n; i++)
	{
		LockSlot   *s = &locks_shared->slots[nw[i].procno];
		uint64		raw = nw[i].raw;
		bool		trusted = raw != 0 && raw >= prev && raw <= now;

		SpinLockAcquire(&s->mutex);
		if (s->pid != nw[i].pid)
			slot_clear(s, nw[i].pid);	/* a new process in this PGPROC */
		s->open = true;
		s->raw = raw;
		s->raw_trusted = trusted;
		if (trusted)
			s->start = (TimestampTz) raw;
		else
			s->start = prev == 0 ? now : prev + (now - prev) / 2;
		s->start_lo = prev;
		s->last_seen = now;
		memcpy(&s->open_what, &nw[i].what,
			   offsetof(LockWaitWhat, text) + nw[i].what.text_len + 1);
		s->pending++;
		SpinLockRelease(&s->mutex);
	}
}

/*
 * One pass over the backends.  prev: the last tick's time (0 at first).
 * was_open: the sampler's own memory of which slots have an open wait (only
 * the sampler opens one; a stale "true" costs one look at the slot), so that
 * an idle backend costs two cache lines of its PGPROC, not its slot's.
 */
static void
sampler_tick(NewWait *nw, bool *was_open, TimestampTz prev, TimestampTz now)
{
	int			n = 0;

	for (int i = 0; i < locks_shared->nslots; i++)
	{
		volatile PGPROC *proc = GetPGProcByNumber(i);
		LockSlot   *s;
		int			pid = proc->pid;
		uint32		wei;
		bool		waiting;
		uint64		raw;

		if (pid == 0 && !was_open[i])
			continue;
		wei = proc->wait_event_info;

		/*
		 * The wait event is set only while the backend sleeps; between two
		 * sleeps of one wait (deadlock check) only waitLock says it waits.
		 */
		waiting = pid != 0 && pid != MyProcPid &&
			((wei & 0xFF000000) == PG_WAIT_LOCK ||
			 (was_open[i] && proc->waitLock != NULL));
		if (!waiting && !was_open[i])
			continue;
		s = &locks_shared->slots[i];
		raw = waiting ? pg_atomic_read_u64((pg_atomic_uint64 *) &proc->waitStart) : 0;

		SpinLockAcquire(&s->mutex);
		if (s->open && waiting && s->pid == pid &&
			(raw == s->raw || raw == 0 || !s->raw_trusted))
		{
			/* the same wait goes on; learn its start if it was not known */
			if (!s->raw_trusted && raw != s->raw && raw != 0 &&
				raw >= s->start_lo && raw <= now)
			{
				s->raw = raw;
				s->start = raw;
				s->raw_trusted = true;
			}
			s->last_seen = now;
			waiting = false;
		}
		else if (s->open)
		{
			/* ended between last_seen and now (or where the next one began) */
			TimestampTz end = s->last_seen + (now - s->last_seen) / 2;

			if (waiting && s->pid == pid && raw > s->last_seen && raw < end)
				end = raw;
			slot_finish(s, end);
		}
		was_open[i] = s->open;
		SpinLockRelease(&s->mutex);

		if (waiting)
		{
			nw[n].procno = i;
			nw[n].pid = pid;
			nw[n].wait_event_info = wei;
			nw[n].raw = raw;
			n++;
		}
	}
	if (n > 0)
		describe_new_waits(nw, n, prev, now);
	for (int i = 0; i < n; i++)
		was_open[nw[i].procno] = true;
}

/*
 * Checkpoint the saved statistics when latdiag.checkpoint_interval has
 * passed since the last one (or since the worker started).  The sampler
 * does it because it is always running; a checkpoint copies each table under
 * its shared lock and writes it outside (table.c).
 */
static void
maybe_checkpoint(TimestampTz *last, MemoryContext cxt)
{
	TimestampTz now = GetCurrentTimestamp();
	MemoryContext old;

	if (latdiag_checkpoint_interval <= 0 || !latdiag_save)
	{
		*last = now;
		return;
	}
	if (now - *last < (int64) latdiag_checkpoint_interval * USECS_PER_SEC)
		return;
	old = MemoryContextSwitchTo(cxt);
	pending_flush_all();		/* the backends' batches are in the file too */
	(void) table_checkpoint_all();
	MemoryContextSwitchTo(old);
	MemoryContextReset(cxt);
	*last = now;
}

/* Main loop of the sampler background worker. */
void
latdiag_sampler_main(Datum arg)
{
	MemoryContext cxt;
	NewWait    *nw;
	bool	   *was_open;
	TimestampTz prev = 0;
	TimestampTz last_checkpoint = GetCurrentTimestamp();

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* no database: only to show in pg_stat_activity */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	cxt = AllocSetContextCreate(TopMemoryContext, "postgres_latdiag sampler",
								ALLOCSET_DEFAULT_SIZES);
	nw = MemoryContextAlloc(TopMemoryContext,
							mul_size(Max(locks_shared->nslots, 1), sizeof(NewWait)));
	/* after a restart of the sampler alone, slots may still be open */
	was_open = MemoryContextAllocZero(TopMemoryContext, Max(locks_shared->nslots, 1));
	for (int i = 0; i < locks_shared->nslots; i++)
		was_open[i] = locks_shared->slots[i].open;

	for (;;)
	{
		bool		on = latdiag_enabled && latdiag_lock_sample_interval > 0;

		/* wake for the next window too (a long sample interval) */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(on ? latdiag_lock_sample_interval : 1000L,
							 windows_ms_to_close(GetCurrentTimestamp())),
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		pending_flush_stale(GetCurrentTimestamp());
		maybe_checkpoint(&last_checkpoint, cxt);
		windows_worker_tick(GetCurrentTimestamp());
		if (!on)
		{
			prev = 0;
			continue;
		}
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);
			TimestampTz now = GetCurrentTimestamp();

			sampler_tick(nw, was_open, prev, now);
			prev = now;
			MemoryContextSwitchTo(old);
			MemoryContextReset(cxt);
		}
	}
}

/* ---------------------------------------------------------------- readers */

/* table_read callback: one LockWaitRow. */
static void
emit_wait(void *row, const void *key, const void *data, char *text,
		  int text_len, bool truncated, void *arg)
{
	LockWaitRow *r = (LockWaitRow *) row;
	const LockWaitKey *k = (const LockWaitKey *) key;
	const LockWaitData *d = (const LockWaitData *) data;

	r->userid = k->userid;
	r->dbid = k->dbid;
	r->queryid = k->queryid;
	r->locktype = k->locktype;
	r->mode = k->mode;
	r->relid = k->relid;
	r->blocker_queryid = k->blocker_queryid;
	r->blocker_userid = d->blocker_userid;
	r->blocker_pid = d->blocker_pid;
	r->blocker_state = d->blocker_state;
	r->waits = d->waits;
	r->cancelled = d->cancelled;
	r->total_ms = d->total_ms;
	r->max_ms = d->max_ms;
	r->max_blocker_xact_ms = d->max_blocker_xact_ms;
	r->last_seen = d->last_seen;
	r->blocker_text = (text && text_len > 0) ? text : NULL;
}

/* Copy every entry of the store out, with the blockers' texts if asked. */
LockWaitRow *
locks_read(int *nrows, bool with_text)
{
	void	   *rows;

	*nrows = table_read(locks_table, sizeof(LockWaitRow), with_text, emit_wait,
						NULL, &rows);
	return (LockWaitRow *) rows;
}

/* A hash (userid, dbid, queryid) -> LockQueryTotals over the store. */
HTAB *
locks_query_totals(void)
{
	HASHCTL		ctl;
	HTAB	   *map;
	LockWaitRow *rows;
	int			n;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(TableKeyPrefix);
	ctl.entrysize = sizeof(LockQueryTotals);
	ctl.hcxt = CurrentMemoryContext;
	map = hash_create("latdiag lock totals", 256, &ctl,
					  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	rows = locks_read(&n, false);
	for (int i = 0; i < n; i++)
	{
		TableKeyPrefix k;
		LockQueryTotals *t;
		bool		found;

		memset(&k, 0, sizeof(k));
		k.userid = rows[i].userid;
		k.dbid = rows[i].dbid;
		k.queryid = rows[i].queryid;
		t = hash_search(map, &k, HASH_ENTER, &found);
		if (!found)
		{
			t->waits = 0;
			t->total_ms = 0;
		}
		t->waits += rows[i].waits;
		t->total_ms += rows[i].total_ms;
	}
	pfree(rows);
	return map;
}

/* pg_stat_activity's word for a LockBlockerState; NULL if unknown. */
const char *
locks_state_name(int state)
{
	switch (state)
	{
		case BLOCKER_ACTIVE:
			return "active";
		case BLOCKER_IDLE:
			return "idle";
		case BLOCKER_IDLE_IN_XACT:
			return "idle in transaction";
		case BLOCKER_IDLE_IN_XACT_ABORTED:
			return "idle in transaction (aborted)";
		case BLOCKER_FASTPATH:
			return "fastpath function call";
		case BLOCKER_DISABLED:
			return "disabled";
		case BLOCKER_PREPARED:
			return "prepared transaction";
		default:
			return NULL;
	}
}

/* Entry, eviction and dropped-wait counts, for latdiag_info. */
void
locks_info(int64 *entries, int64 *evictions, int64 *dropped)
{
	int64		truncated;
	TimestampTz reset;

	table_stats(locks_table, entries, evictions, &truncated, &reset);
	*dropped = (int64) pg_atomic_read_u64(&locks_shared->dropped);
}

/* Remove the entries matching (userid, dbid, queryid); 0 = any. */
void
locks_reset(Oid userid, Oid dbid, uint64 queryid)
{
	if (table_reset(locks_table, userid, dbid, queryid))
		pg_atomic_write_u64(&locks_shared->dropped, 0);
}
