/*
 * table.h: bounded shared tables, the mechanism under every store.
 *
 * A table maps a fixed-size key to a slot holding fixed-size data and an
 * optional text.  It is sized at start, never grows, evicts its least-used
 * entries when full, and can be saved at clean shutdown.  See table.c for
 * the layout and the locking protocol.
 */
#ifndef LATDIAG_TABLE_H
#define LATDIAG_TABLE_H

#include "utils/timestamp.h"

typedef struct TableDef
{
	const char *name;			/* shared memory names and LWLock tranche */
	Size		key_size;		/* the hash key: callers zero its padding */
	Size		data_size;		/* per-entry data, guarded by the slot spinlock */
	int			max_entries;
	int			max_text;		/* bytes of text per entry; 0 for none */
	const char *file;			/* saved at shutdown if not NULL */
	uint32		file_version;	/* bump when key or data layout changes */
	const bool *save;			/* the setting that turns saving on */
} TableDef;

typedef struct Table Table;		/* a backend's handle */

/* Called for each entry by table_read, under the table's shared lock. */
typedef void (*TableEmitFn) (void *row, const void *key, const void *data,
							 char *text, int text_len, bool truncated,
							 void *arg);

/* Called by table_remove (exclusive lock) and table_read_match (shared) for each entry. */
typedef bool (*TableMatchFn) (const void *key, void *arg);

/* Every latdiag table's key starts with these fields. */
typedef struct TableKeyPrefix
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
} TableKeyPrefix;

/* set-up, from the shared-memory hooks */
extern Size table_shmem_size(const TableDef *def);
extern void table_request(const TableDef *def);
extern Table *table_attach(const TableDef *def);

/* the query path */
extern const void *table_peek(Table *t, const void *key, uint32 hint);
extern void *table_lock(Table *t, const void *key, uint32 hint);
extern void *table_create_lock(Table *t, const void *key, uint32 hint,
							   const char *text, int len);
extern void table_unlock(Table *t, void *data, double usage);
extern uint64 table_entry_id(Table *t, const void *data);

/* readers and resets */
extern int	table_read(Table *t, Size row_size, bool with_text,
					   TableEmitFn emit, void *arg, void **rows);
extern int	table_read_match(Table *t, Size row_size, bool with_text,
							 TableMatchFn match, void *match_arg,
							 TableEmitFn emit, void *arg, void **rows);
extern int	table_remove(Table *t, TableMatchFn match, void *arg);
extern void table_stats(Table *t, int64 *entries, int64 *evictions,
						int64 *truncated, TimestampTz *stats_reset);
extern bool table_reset(Table *t, Oid userid, Oid dbid, uint64 queryid);
extern uint64 table_resets(Table *t);
extern uint64 table_frees(Table *t);

/* Called by table_update for each matching entry, under its spinlock. */
typedef void (*TableUpdateFn) (void *data, void *arg);
extern int	table_update(Table *t, Oid userid, Oid dbid, uint64 queryid,
						 TableUpdateFn update, void *arg);

/* persistence while running */
extern int	table_checkpoint_all(void);

#endif
