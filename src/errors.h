/*
 * errors.h: executions that end in ERROR, per statement and SQLSTATE.
 *
 * The hooks note a failed execution where they already catch errors (the
 * PG_TRY that restores the nesting level); the abort callbacks record what
 * was noted.  See errors.c.
 */
#ifndef LATDIAG_ERRORS_H
#define LATDIAG_ERRORS_H

#include "access/xact.h"
#include "utils/timestamp.h"

#define ERRORS_MESSAGE_LEN	256 /* bytes of the last message kept per entry */

/* A copy of one entry of the error store, as the view reads it. */
typedef struct ErrorRow
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;		/* 0: the error came before a query id */
	int			sqlerrcode;
	int64		errors;
	double		total_ms;
	double		max_ms;
	TimestampTz first_seen;
	TimestampTz last_seen;
	int			message_len;	/* 0: no message seen */
	char		message[ERRORS_MESSAGE_LEN];
} ErrorRow;

extern void errors_shmem_request(void);
extern void errors_shmem_startup(void);
extern Size errors_shmem_size(void);
extern void errors_install(void);
/* failures noted in this transaction, not yet recorded at its end */
extern PGDLLIMPORT int errors_npending;

extern void errors_xact_event(XactEvent event);
extern void errors_subxact_abort(void);

extern void errors_note(uint64 queryid, bool toplevel, double ms, uint64 planid,
						const char *source, int loc, int len);

extern ErrorRow *errors_read(int *nrows);
extern void errors_info(int64 *entries, int64 *evictions);
extern void errors_reset(Oid userid, Oid dbid, uint64 queryid);

#endif
