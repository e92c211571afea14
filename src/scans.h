/*
 * scans.h: sequential scans of large tables, per statement.
 */
#ifndef LATDIAG_SCANS_H
#define LATDIAG_SCANS_H

#include "executor/execdesc.h"

#define SCANS_PER_PLAN	8		/* large-table seq scans remembered per plan */

/* A copy of one entry, as the view reads it. */
typedef struct ScanRow
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	Oid			relid;
	double		table_rows;
	int64		calls;
	double		rows_scanned;	/* per execution */
	double		rows_returned;	/* per execution */
	bool		measured;		/* from instrumented executions, not estimates */
	bool		inner_of_nested_loop;
	double		total_exec;
	TimestampTz last_seen;
	char	   *filter;			/* NULL if none */
	char	   *columns;		/* column names separated by SCAN_COLUMN_SEP */
} ScanRow;

#define SCAN_COLUMN_SEP '\x1f'

extern void scans_shmem_request(void);
extern void scans_shmem_startup(void);
extern Size scans_shmem_size(void);

extern int	scans_on_new_plan(QueryDesc *queryDesc, uint64 queryid, Oid *relids);
extern void scans_record(QueryDesc *queryDesc, uint64 queryid, const Oid *relids,
						 int nrelids, double ms);

extern ScanRow *scans_read(int *nrows);
extern void scans_info(int64 *entries, int64 *evictions);
extern void scans_reset(Oid userid, Oid dbid, uint64 queryid);

#endif
