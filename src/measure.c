/*
 * measure.c: the time, buffer and WAL use of one execution.
 *
 * pg_stat_statements (and latdiag until 1.5) asks the executor for total-time
 * instrumentation with INSTRUMENT_ALL: an Instrumentation allocated per
 * execution, and around ExecutorRun and ExecutorFinish a copy of the buffer
 * and WAL counters, a clock read and a difference, then InstrEndLoop.  When
 * no other module shares it, latdiag does the same work itself for less: an
 * entry in a fixed per-backend stack instead of an allocation, and the same
 * snapshot and difference around each ExecutorRun and ExecutorFinish, in the
 * hooks that already wrap them.  The figures are the same: time, buffers and
 * WAL inside ExecutorRun and ExecutorFinish only, nested statements
 * included, the time between two fetches of a portal excluded.
 *
 * WHEN THE EXECUTOR'S INSTRUMENTATION IS USED.  When a module inside our
 * ExecutorStart hook set it up (pg_stat_statements loaded before latdiag,
 * auto_explain), latdiag reads it as before.  Before 19, a module whose hook
 * runs outside ours allocates totaltime only if it is still NULL and then
 * reads what it finds: latdiag therefore measures cheaply only when its hook
 * is the outermost one (else it allocates INSTRUMENT_ALL, as before).  In 19
 * every module asks before standard_ExecutorStart (query_instr_options), so
 * a query_instr present afterwards means someone asked.  When the stack is
 * full (more than MEASURE_DEPTH tracked executions in progress), the
 * executor's instrumentation is used.
 *
 * STACK.  An entry is pushed at ExecutorStart and removed at ExecutorEnd.
 * An execution that fails never reaches ExecutorEnd: its entry stays until
 * the next push in another transaction (every executor of a transaction has
 * ended when it ends, holdable cursors included: they are materialized at
 * commit), which pops the entries of older transactions off the top.  An
 * entry matches its QueryDesc and EState, so a stale one is never taken
 * for a new execution: lookups start from the top.
 */
#include "postgres.h"

#include "executor/executor.h"
#include "storage/proc.h"
#include "utils/memutils.h"

#include "compat.h"
#include "measure.h"

ExecMeasure measure_stack[MEASURE_DEPTH];
const BufferUsage measure_zero_buf;
const WalUsage measure_zero_wal;
int			measure_depth = 0;

/*
 * Before standard_ExecutorStart, for a tracked execution: when the stack is
 * full, ask for the executor's instrumentation (19 asks before the start).
 */
void
measure_before_start(QueryDesc *qd)
{
	if (measure_depth >= MEASURE_DEPTH)
		compat_query_instr_before_start(qd);
}

/*
 * After standard_ExecutorStart, for a tracked execution: use the executor's
 * instrumentation if someone set it up, else measure cheaply if nobody can
 * read it later, else set it up as pg_stat_statements does.
 */
void
measure_after_start(QueryDesc *qd, bool outermost)
{
	ExecMeasure *m;
	LocalTransactionId lxid = compat_my_lxid();

	if (compat_query_instr(qd) != NULL)
		return;
	/* executions of an ended transaction have all ended or failed */
	while (measure_depth > 0 && measure_stack[measure_depth - 1].lxid != lxid)
		measure_depth--;
	if (measure_depth >= MEASURE_DEPTH ||
		(COMPAT_QUERY_INSTR_SHARED_AFTER_START && !outermost))
	{
		compat_query_instr_after_start(qd);
		return;
	}
	m = &measure_stack[measure_depth++];
	m->lxid = lxid;
	m->qd = qd;
	m->estate = qd->estate;
	m->running = m->ended = m->folded = false;
	INSTR_TIME_SET_ZERO(m->total);
	/* buf and wal are zeroed when a second interval folds the first */
}

/* measure_find, below the top of the stack. */
ExecMeasure *
measure_find_slow(QueryDesc *qd)
{
	for (int i = measure_depth - 1; i >= 0; i--)
		if (measure_stack[i].qd == qd && measure_stack[i].estate == qd->estate)
			return &measure_stack[i];
	return NULL;
}

/*
 * A later interval of an execution begins (a cursor's next fetch, its
 * ExecutorFinish): keep what the earlier ones used.
 */
void
measure_fold(ExecMeasure *m)
{
	if (!m->folded)
	{
		memset(&m->buf, 0, sizeof(m->buf));
		memset(&m->wal, 0, sizeof(m->wal));
		m->folded = true;
	}
	BufferUsageAccumDiff(&m->buf, &m->buf_end, &m->buf_start);
	WalUsageAccumDiff(&m->wal, &m->wal_end, &m->wal_start);
}

/* Is this execution measured, one way or the other? */
bool
measure_active(QueryDesc *qd)
{
	return compat_query_instr(qd) != NULL || measure_find(qd) != NULL;
}

/*
 * At ExecutorEnd: the figures of the execution, and its entry removed.
 * False if it was not measured (not tracked when it started).  The figures
 * point into the entry or the executor's instrumentation: use them before
 * another execution starts.
 */
bool
measure_end(QueryDesc *qd, ExecFigures *f)
{
	Instrumentation *qi = compat_query_instr(qd);
	ExecMeasure *m;

	if (qi != NULL)
	{
		/* make sure the totals are final; harmless if already done */
		compat_query_instr_finish(qi);
		f->ms = compat_query_instr_total_ms(qi);
		f->end_ms = 0;
		f->buf_end = &qi->bufusage;
		f->buf_start = &measure_zero_buf;
		f->buf_folded = NULL;
		f->wal_end = &qi->walusage;
		f->wal_start = &measure_zero_wal;
		f->wal_folded = NULL;
		return true;
	}
	m = measure_find(qd);
	if (m == NULL || m->estate != qd->estate)
		return false;
	measure_run_end(m);
	f->ms = INSTR_TIME_GET_MILLISEC(m->total);
	f->end_ms = m->ended ? INSTR_TIME_GET_MILLISEC(m->last_end) : 0;
	if (m->ended)
	{
		f->buf_end = &m->buf_end;
		f->buf_start = &m->buf_start;
		f->wal_end = &m->wal_end;
		f->wal_start = &m->wal_start;
	}
	else
	{
		f->buf_end = f->buf_start = &measure_zero_buf;
		f->wal_end = f->wal_start = &measure_zero_wal;
	}
	f->buf_folded = m->folded ? &m->buf : NULL;
	f->wal_folded = m->folded ? &m->wal : NULL;
	/* remove it, and the free entries it leaves on top */
	m->qd = NULL;
	while (measure_depth > 0 && measure_stack[measure_depth - 1].qd == NULL)
		measure_depth--;
	return true;
}

/* An execution's buffer and WAL use, from its figures. */
void
measure_usage(const ExecFigures *f, BufferUsage *buf, WalUsage *wal)
{
	memset(buf, 0, sizeof(BufferUsage));
	memset(wal, 0, sizeof(WalUsage));
	BufferUsageAccumDiff(buf, f->buf_end, f->buf_start);
	WalUsageAccumDiff(wal, f->wal_end, f->wal_start);
	if (f->buf_folded)
	{
		BufferUsageAccumDiff(buf, f->buf_folded, &measure_zero_buf);
		WalUsageAccumDiff(wal, f->wal_folded, &measure_zero_wal);
	}
}

/* Time so far of an execution that is still running (or just failed). */
double
measure_elapsed_ms(QueryDesc *qd)
{
	Instrumentation *qi = compat_query_instr(qd);
	ExecMeasure *m;
	double		ms;

	if (qi != NULL)
		return compat_query_instr_elapsed_ms(qi);
	m = measure_find(qd);
	if (m == NULL)
		return 0.0;
	ms = INSTR_TIME_GET_MILLISEC(m->total);
	if (m->running)
	{
		instr_time	now;

		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, m->started);
		ms += INSTR_TIME_GET_MILLISEC(now);
	}
	return ms;
}
