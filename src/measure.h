/*
 * measure.h: the time, buffer and WAL use of one execution.
 *
 * An execution is measured one of two ways (see measure.c):
 *   - with the executor's own total-time instrumentation (QueryDesc.totaltime,
 *     query_instr in 19), when another module asked for it or may read it;
 *   - else cheaply, by latdiag alone: two clock reads and a buffer/WAL
 *     snapshot around each ExecutorRun and ExecutorFinish, kept in a small
 *     per-backend stack of the executions in progress.
 * Either way the figures cover ExecutorRun and ExecutorFinish only, as
 * pg_stat_statements counts them.
 */
#ifndef LATDIAG_MEASURE_H
#define LATDIAG_MEASURE_H

#include "executor/execdesc.h"
#include "nodes/execnodes.h"
#include "executor/instrument.h"
#include "portability/instr_time.h"
#include "storage/lock.h"

/* One execution in progress, measured cheaply. */
typedef struct ExecMeasure
{
	LocalTransactionId lxid;	/* the transaction it runs in */
	QueryDesc  *qd;				/* NULL: a free entry */
	EState	   *estate;
	bool		running;		/* inside ExecutorRun or ExecutorFinish */
	bool		ended;			/* an interval ended: buf_end is set */
	bool		folded;			/* buf holds earlier intervals */
	instr_time	started;
	instr_time	total;
	instr_time	last_end;		/* clock when the last interval ended */
	BufferUsage buf_start;		/* counters when the last interval began */
	WalUsage	wal_start;
	BufferUsage buf_end;		/* ... and when it ended */
	WalUsage	wal_end;
	BufferUsage buf;			/* the intervals before it, when folded */
	WalUsage	wal;
} ExecMeasure;

/*
 * What an execution measured, at ExecutorEnd.  Its buffer use is
 * buf_end - buf_start, plus buf_folded if not NULL (the same for WAL):
 * a batch adds that to its sums directly (measure_usage() computes it).
 */
typedef struct ExecFigures
{
	double		ms;
	double		end_ms;			/* monotonic clock (ms) at its end; 0: not read */
	const BufferUsage *buf_end;
	const BufferUsage *buf_start;
	const BufferUsage *buf_folded;
	const WalUsage *wal_end;
	const WalUsage *wal_start;
	const WalUsage *wal_folded;
} ExecFigures;

#define MEASURE_DEPTH 8			/* executions measured cheaply at once */

extern PGDLLIMPORT int measure_depth;

extern void measure_before_start(QueryDesc *qd);
extern void measure_after_start(QueryDesc *qd, bool outermost);
extern ExecMeasure *measure_find_slow(QueryDesc *qd);
extern void measure_fold(ExecMeasure *m);
extern bool measure_end(QueryDesc *qd, ExecFigures *f);
extern void measure_usage(const ExecFigures *f, BufferUsage *buf, WalUsage *wal);
extern bool measure_active(QueryDesc *qd);
extern double measure_elapsed_ms(QueryDesc *qd);

extern PGDLLIMPORT const BufferUsage measure_zero_buf;
extern PGDLLIMPORT const WalUsage measure_zero_wal;
extern PGDLLIMPORT ExecMeasure measure_stack[MEASURE_DEPTH];

/* The cheap measurement of an execution in progress, or NULL. */
static inline ExecMeasure *
measure_find(QueryDesc *qd)
{
	if (likely(measure_depth == 0))
		return NULL;
	if (likely(measure_stack[measure_depth - 1].qd == qd))
		return &measure_stack[measure_depth - 1];
	return measure_find_slow(qd);
}

/* ExecutorRun or ExecutorFinish begins. */
static inline void
measure_run_begin(ExecMeasure *m)
{
	if (unlikely(m->ended))
		measure_fold(m);		/* a later interval */
	m->buf_start = pgBufferUsage;
	m->wal_start = pgWalUsage;
	INSTR_TIME_SET_CURRENT(m->started);
	m->running = true;
}

/* ExecutorRun or ExecutorFinish ends, normally or by an error. */
static inline void
measure_run_end(ExecMeasure *m)
{
	instr_time	now;

	if (!m->running)
		return;
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_ACCUM_DIFF(m->total, now, m->started);
	m->last_end = now;
	m->buf_end = pgBufferUsage;
	m->wal_end = pgWalUsage;
	m->running = false;
	m->ended = true;
}

#endif
