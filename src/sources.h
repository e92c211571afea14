/*
 * sources.h: who sends each statement, per source.
 *
 * A source is the session's application_name plus the sqlcommenter tags
 * service, controller, route, action and framework when the statement's
 * text carries a comment.  One shared table keyed by (userid, dbid,
 * queryid, toplevel, source) holds calls, times, a coarse histogram and
 * errors (latdiag.max_sources entries).  See sources.c.
 */
#ifndef LATDIAG_SOURCES_H
#define LATDIAG_SOURCES_H

#include "utils/timestamp.h"

#include "histogram.h"
#include "slowexec.h"

#define SOURCE_NAME_LEN		64		/* application_name, as NAMEDATALEN */
#define SOURCE_TAG_LEN		96		/* each tag value kept (longer: cut) */
#define SOURCE_NTAGS		5		/* service, controller, route, action, framework */
#define SOURCE_HIST_BUCKETS 32		/* one per power of two from HIST_MIN_MS */

/* A copy of one entry, as the view reads it. */
typedef struct SourceRow
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;		/* 0: an error before the statement had one */
	bool		toplevel;
	int64		calls;
	double		total_ms;
	double		min_ms;
	double		max_ms;
	double		p95_ms;			/* -1: no finished execution */
	int64		errors;
	double		error_ms;
	TimestampTz last_seen;
	char		application_name[SOURCE_NAME_LEN];
	bool		has_tag[SOURCE_NTAGS];
	char		tags[SOURCE_NTAGS][SOURCE_TAG_LEN];
} SourceRow;

extern const char *const source_tag_names[SOURCE_NTAGS];

extern void sources_shmem_request(void);
extern void sources_shmem_startup(void);
extern Size sources_shmem_size(void);
extern void sources_install(void);

extern uint64 sources_record(uint64 queryid, bool toplevel, double ms,
							  int bucket, const char *source_text);
extern uint64 sources_source_id(const char *source_text);
struct PendBatch;
extern void sources_apply_batch(const struct PendBatch *b);
extern void sources_record_error(Oid userid, uint64 queryid, bool toplevel,
								 double ms, const SqlcTags *tags);

extern SourceRow *sources_read(int *nrows);
extern void sources_info(int64 *entries, int64 *evictions);
extern void sources_reset(Oid userid, Oid dbid, uint64 queryid);

#endif
