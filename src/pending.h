/*
 * pending.h: finished executions batched per backend, flushed to the query
 * and plan stores.  See pending.c.
 */
#ifndef LATDIAG_PENDING_H
#define LATDIAG_PENDING_H

#include "executor/instrument.h"
#include "utils/timestamp.h"

#include "measure.h"
#include "store.h"

/*
 * A batch counts its executions' latencies in a window of PEND_SPAN
 * consecutive histogram buckets (7 octaves: from 1/12 to 10 times its first
 * execution's latency); one outside is recorded directly.
 */
#define PEND_SPAN		128
#define PEND_BELOW		64		/* buckets below the first execution's */

/* The executions of one (statement, source, plan) not yet in the stores. */
typedef struct PendBatch
{
	StoreKey	key;			/* padding zeroed */
	uint64		source;			/* source id (sources.c); 0: none */
	uint64		planid;
	int64		calls;
	int64		rows;
	double		total;			/* milliseconds */
	double		sumsq;			/* sum of squared milliseconds */
	double		min;
	double		max;
	int64		generic_calls;
	int64		custom_calls;
	TimestampTz last_seen;
	BufferUsage buf;
	WalUsage	wal;
	int16		base;			/* histogram bucket of count[0]; -1: unset */
	uint8		lo;				/* the counts in use: lo .. hi */
	uint8		hi;
	uint16		count[PEND_SPAN];
} PendBatch;

extern void pending_shmem_request(void);
extern void pending_shmem_startup(void);
extern Size pending_shmem_size(void);

/* the query path, from ExecutorEnd */
extern bool pending_record(uint64 queryid, bool toplevel, uint64 source,
						   const StoreSample *smp, const ExecFigures *f);
extern void pending_settle(uint64 queryid, bool toplevel, uint64 planid);
extern void pending_prime(uint64 queryid, bool toplevel, uint64 source,
						  uint64 planid);

/* flushing */
extern void pending_flush_all(void);
extern void pending_flush_stale(TimestampTz now);
extern int64 pending_flushes(void);

#endif
