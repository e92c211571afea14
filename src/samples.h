/*
 * samples.h: actual parameter values of statements, for the index advisor.
 *
 * One bounded shared table (latdiag.max_param_samples entries) keyed by
 * (userid, dbid, queryid): the statement's text as one slow or sampled
 * execution ran it (its constants) and the values bound to its parameters,
 * plus, per value position, a vote over the captured executions telling
 * whether the same value comes back in most of them.  See samples.c.
 */
#ifndef LATDIAG_SAMPLES_H
#define LATDIAG_SAMPLES_H

#include "executor/execdesc.h"
#include "utils/timestamp.h"

#define SAMPLE_SLOTS	16		/* value positions voted on per statement */
#define SAMPLE_TEXT		1536	/* bytes: statement text and bound values */

/* A copy of one entry, as readers get it. */
typedef struct SampleRow
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	int64		captures;		/* executions captured */
	TimestampTz sampled_at;		/* when the kept sample ran */
	double		sample_ms;		/* how long it ran */
	int			nslots;			/* positions voted on */
	int			nparams;		/* bound parameters (slots 0 .. nparams-1) */
	double		share[SAMPLE_SLOTS];	/* captures with the kept value, lower bound */
	char	   *statement;		/* the text as it ran (constants included) */
	int			nbound;
	Oid		   *bound_types;	/* bound parameter i+1: type, NULL or text */
	bool	   *bound_nulls;
	char	  **bound_values;
} SampleRow;

/* One $n of a normalized text, matched with the kept sample. */
typedef struct SampleValue
{
	bool		known;			/* the sample has a value for it */
	Oid			type;			/* UNKNOWNOID: as written, type to infer */
	bool		isnull;
	char	   *value;			/* input-function text */
	int			slot;			/* vote position, -1 if none */
} SampleValue;

extern void samples_shmem_request(void);
extern void samples_shmem_startup(void);
extern Size samples_shmem_size(void);

/* capture, from ExecutorEnd (slow or sampled executions only) */
extern void samples_capture(QueryDesc *queryDesc, uint64 queryid, double ms);

/* readers */
extern SampleRow *samples_read(Oid dbid, int *nrows);
extern SampleValue *samples_align(const char *normalized, const SampleRow *r,
								  int *nvalues);
extern void samples_info(int64 *entries, int64 *evictions);
extern void samples_reset(Oid userid, Oid dbid, uint64 queryid);

#endif
