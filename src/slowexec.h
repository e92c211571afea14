/*
 * slowexec.h: a log of individual slow and failed executions.
 *
 * A bounded ring in shared memory (latdiag.max_slow_executions) of the most
 * recent executions slower than latdiag.slow_execution_min_duration, or
 * that failed, each with who sent it: backend, application_name, client
 * address and the W3C trace context of a sqlcommenter traceparent.  See
 * slowexec.c.
 */
#ifndef LATDIAG_SLOWEXEC_H
#define LATDIAG_SLOWEXEC_H

#include "utils/timestamp.h"

#define SLOWEXEC_TEXT_LEN	1024	/* bytes of the statement kept */
#define SLOWEXEC_NAME_LEN	64		/* application_name, as NAMEDATALEN */
#define SLOWEXEC_CLIENT_LEN 64		/* a client address as text */
#define SQLC_MAX_TAGS		8		/* sqlcommenter tags kept per execution */
#define SQLC_KEY_LEN		32		/* longest key kept (longer: the pair is dropped) */
#define SQLC_VALUE_LEN		96		/* longest value kept (longer: cut) */
#define SQLC_TAGS_LEN		(SQLC_MAX_TAGS * (SQLC_KEY_LEN + SQLC_VALUE_LEN))

/* W3C trace context: 16-byte trace id and 8-byte parent (span) id. */
typedef struct TraceContext
{
	bool		valid;
	uint8		trace_id[16];
	uint8		parent_id[8];
} TraceContext;

/*
 * sqlcommenter tags: ntags (key, value) pairs, URL-decoded, each string
 * NUL-terminated, one after the other in buf.
 */
typedef struct SqlcTags
{
	int			ntags;
	int			len;			/* bytes of buf used */
	char		buf[SQLC_TAGS_LEN];
} SqlcTags;

/* One execution, as the ring holds it and the view reads it. */
typedef struct SlowExecution
{
	TimestampTz finished_at;
	double		ms;
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	uint64		planid;
	bool		toplevel;
	bool		has_counts;		/* rows and blocks known (finished) */
	int32		sqlerrcode;		/* 0: finished */
	int32		pid;
	int64		rows;
	int64		shared_blks_hit;
	int64		shared_blks_read;
	double		lock_wait_ms;	/* -1: unknown */
	TraceContext trace;
	SqlcTags	tags;
	char		application_name[SLOWEXEC_NAME_LEN];
	char		client[SLOWEXEC_CLIENT_LEN];
	int32		text_len;
	char		text[SLOWEXEC_TEXT_LEN];
} SlowExecution;

extern void slowexec_shmem_request(void);
extern void slowexec_shmem_startup(void);
extern Size slowexec_shmem_size(void);

/* Is an execution of ms milliseconds logged (failures always are)? */
static inline bool
slowexec_is_slow(double ms, int min_duration)
{
	return min_duration >= 0 && ms >= min_duration;
}

extern bool trace_context_parse(const char *text, int len, TraceContext *tc);
extern int	sqlc_parse(const char *text, int len, SqlcTags *tags);
extern void slowexec_set_statement(SlowExecution *e, const char *source,
								   int loc, int len);
extern void slowexec_add(SlowExecution *e);

extern SlowExecution *slowexec_read(int *nrows);
extern void slowexec_reset(Oid userid, Oid dbid, uint64 queryid);

#endif
