/*
 * sources.c: who sends each statement, per source.
 *
 * A SOURCE is the session's application_name plus the sqlcommenter tags
 * service, controller, route, action and framework of the statement, when
 * its text carries a comment (slowexec.c parses it).  Comments are not part
 * of the query id, so one statement sent by three services is one statement
 * with three sources.  Strings are bounded: application_name to 63 bytes,
 * each tag value to SOURCE_TAG_LEN - 1 (cut at a character boundary by the
 * parser); other keys are ignored here (latdiag_slow_executions keeps them).
 *
 * STORE.  One bounded table (table.c) of latdiag.max_sources entries keyed
 * by (userid, dbid, queryid, toplevel, source id), where the source id is a
 * 64-bit hash of the source's strings; the strings themselves are kept in
 * the entry when it is created.  Two different sources with the same id (a
 * chance of about n^2 / 2^65) would share one entry.  Each entry holds
 * calls, times, errors, the time of the last execution and a coarse
 * histogram (one bucket per power of two) for p95.  When full, the
 * least-used entries are evicted and counted (latdiag_info).  Locking is
 * table.c's: on the query path only the entry's spinlock while the
 * backend's cache knows the entry, the table's LWLock otherwise.
 *
 * COST.  Per execution: a look at both ends of the text for a comment, and
 * the source's id in the key of the backend's batch (pending.c), which
 * sources_apply_batch adds to the table when it is flushed; one table update
 * only for an execution recorded directly (which creates and names the
 * entry the batch adds to).  The source of a statement without a comment
 * (its id, strings) is computed once per application_name change, not per
 * execution: an assign hook chained to application_name marks it stale
 * (where the setting's record cannot be found, the name is compared at
 * each execution instead).  Tags are parsed only for a text that starts or
 * ends with a comment.
 *
 * ERRORS.  Failed executions are counted per source from the abort
 * callback of errors.c, with the tags it already parsed.
 *
 * PERSISTENCE.  Saved at clean shutdown and by checkpoints like the other
 * stores (latdiag.save), and reloaded at start.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/guc.h"

#include "compat.h"
#include "guc.h"
#include "pending.h"
#include "sources.h"
#include "table.h"

#define SOURCES_FILE			PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag_sources.stat"
#define SOURCES_FILE_VERSION	1

const char *const source_tag_names[SOURCE_NTAGS] = {
	"service", "controller", "route", "action", "framework"
};

typedef struct SourceKey
{
	Oid			userid;			/* TableKeyPrefix */
	Oid			dbid;
	uint64		queryid;
	uint64		source;			/* source id: hash of its strings */
	int32		toplevel;
	int32		pad;			/* zero */
} SourceKey;

/* A source: its strings and its id. */
typedef struct SourceDesc
{
	uint64		id;
	char		app[SOURCE_NAME_LEN];
	bool		has_tag[SOURCE_NTAGS];
	char		tags[SOURCE_NTAGS][SOURCE_TAG_LEN];
} SourceDesc;

typedef struct SourceEntry
{
	int64		calls;
	double		total_ms;
	double		min_ms;
	double		max_ms;
	int64		errors;
	double		error_ms;
	TimestampTz last_seen;
	uint32		hist[SOURCE_HIST_BUCKETS];
	bool		named;			/* the strings are filled in */
	char		app[SOURCE_NAME_LEN];
	bool		has_tag[SOURCE_NTAGS];
	char		tags[SOURCE_NTAGS][SOURCE_TAG_LEN];
} SourceEntry;

static TableDef sources_def;
static Table *sources_table = NULL;

/*
 * The source of this backend's statements without a comment; invalidated
 * by application_name's assign hook, recomputed at the next execution.
 */
static SourceDesc app_source;
static bool app_source_valid = false;
static GucStringAssignHook prev_assign_application_name = NULL;
static bool app_hook_installed = false;

static const TableDef *
sources_table_def(void)
{
	sources_def.name = "postgres_latdiag sources";
	sources_def.key_size = sizeof(SourceKey);
	sources_def.data_size = sizeof(SourceEntry);
	sources_def.max_entries = latdiag_max_sources;
	sources_def.max_text = 0;
	sources_def.file = SOURCES_FILE;
	sources_def.file_version = SOURCES_FILE_VERSION;
	sources_def.save = &latdiag_save;
	return &sources_def;
}

/* Ask for the table's memory; from shmem_request_hook. */
void
sources_shmem_request(void)
{
	table_request(sources_table_def());
}

/* Attach to (or create) the table; from shmem_startup_hook. */
void
sources_shmem_startup(void)
{
	sources_table = table_attach(sources_table_def());
}

Size
sources_shmem_size(void)
{
	return table_shmem_size(sources_table_def());
}

/* The id of a source: a hash of its strings, absent tags told apart from "". */
static uint64
source_id(const SourceDesc *d)
{
	uint64		h = hash_bytes_extended((const unsigned char *) d->app,
										(int) strlen(d->app), 0);

	for (int i = 0; i < SOURCE_NTAGS; i++)
	{
		if (!d->has_tag[i])
			continue;
		h = hash_combine64(h, (uint64) (i + 1));
		h = hash_combine64(h, hash_bytes_extended((const unsigned char *) d->tags[i],
												  (int) strlen(d->tags[i]), i + 1));
	}
	return h;
}

/* application_name as a source's name: at most SOURCE_NAME_LEN - 1 bytes. */
static void
copy_app_name(char *dst)
{
	const char *an = application_name ? application_name : "";
	int			len = (int) strnlen(an, SOURCE_NAME_LEN - 1);

	/* application_name is ASCII (its check hook cleans it) */
	memcpy(dst, an, len);
	dst[len] = '\0';
}

/* Recompute the source of statements without tags. */
static pg_noinline const SourceDesc *
app_source_refresh(void)
{
	memset(&app_source, 0, sizeof(app_source));
	copy_app_name(app_source.app);
	app_source.id = source_id(&app_source);
	/* without the hook, compare the name at every execution */
	app_source_valid = app_hook_installed;
	return &app_source;
}

/*
 * The source of a statement without tags: recomputed only when
 * application_name has changed (its assign hook says so).
 */
static inline const SourceDesc *
current_app_source(void)
{
	if (likely(app_source_valid))
		return &app_source;
	if (!app_hook_installed && app_source.id != 0 &&
		strncmp(application_name ? application_name : "", app_source.app,
				SOURCE_NAME_LEN - 1) == 0)
		return &app_source;
	return app_source_refresh();
}

/* application_name's assign hook, chained after core's. */
static void
sources_assign_application_name(const char *newval, void *extra)
{
	if (prev_assign_application_name)
		prev_assign_application_name(newval, extra);
	app_source_valid = false;
}

/*
 * Chain an assign hook to application_name, so that a change is noticed
 * once, not compared at each execution; from _PG_init.
 */
void
sources_install(void)
{
	GucStringAssignHook *hook = compat_string_guc_assign_hook("application_name");

	if (hook == NULL)
		return;					/* fall back to comparing the name */
	prev_assign_application_name = *hook;
	*hook = sources_assign_application_name;
	app_hook_installed = true;
}

/* A blank for the comment test: space and the control characters. */
static inline bool
is_blank(char c)
{
	return (unsigned char) c <= ' ';
}

/*
 * Does the text start or end (before or after a final semicolon) with a
 * comment?  Only the ends are looked at.
 */
static inline bool
text_has_comment(const char *text)
{
	const char *p = text;
	int			e;

	while (unlikely(is_blank(*p)) && *p != '\0')
		p++;
	if (unlikely(p[0] == '/' && p[1] == '*'))
		return true;
	e = (int) strlen(text);
	while (e > 0 && (is_blank(text[e - 1]) || text[e - 1] == ';'))
		e--;
	return e >= 4 && text[e - 1] == '/' && text[e - 2] == '*';
}

/*
 * The source of sqlcommenter tags: the application's, plus the known tags.
 * False when none of the known tags is there (the application's source).
 */
static bool
source_from_tags(const SqlcTags *tags, SourceDesc *d)
{
	const char *p = tags->buf;
	bool		any = false;

	memset(d, 0, sizeof(*d));
	for (int t = 0; t < tags->ntags; t++)
	{
		const char *v = p + strlen(p) + 1;

		for (int i = 0; i < SOURCE_NTAGS; i++)
		{
			if (!d->has_tag[i] && strcmp(p, source_tag_names[i]) == 0)
			{
				/* the parser already cut it at a character boundary */
				size_t		n = strnlen(v, SOURCE_TAG_LEN - 1);

				memcpy(d->tags[i], v, n);
				d->tags[i][n] = '\0';
				d->has_tag[i] = true;
				any = true;
			}
		}
		p = v + strlen(v) + 1;
	}
	if (!any)
		return false;
	memcpy(d->app, current_app_source()->app, SOURCE_NAME_LEN);
	d->id = source_id(d);
	return true;
}

/*
 * The source of a query string that starts or ends with a comment: its tags
 * parsed into a backend-local buffer (kept off the caller's stack), or the
 * application's source if it has none of the known ones.
 */
static pg_noinline const SourceDesc *
tagged_source(const char *text)
{
	static SqlcTags tags;
	static SourceDesc tagged;

	if (sqlc_parse(text, (int) strlen(text), &tags) > 0 &&
		source_from_tags(&tags, &tagged))
		return &tagged;
	return current_app_source();
}

/* Coarse bucket: one per power of two from HIST_MIN_MS. */
static inline int
coarse_bucket(int bucket)
{
	int			b = bucket / HIST_PER_OCTAVE;

	return b < SOURCE_HIST_BUCKETS ? b : SOURCE_HIST_BUCKETS - 1;
}

/* The key and cache hint of (queryid, toplevel, source) for a user and database. */
static inline uint32
source_key(SourceKey *key, Oid userid, Oid dbid, uint64 queryid, bool toplevel,
		   uint64 source)
{
	memset(key, 0, sizeof(*key));
	key->userid = userid;
	key->dbid = dbid;
	key->queryid = queryid;
	key->source = source;
	key->toplevel = toplevel;
	return (uint32) (queryid ^ (queryid >> 32) ^ source ^ (source >> 32)) ^
		(uint32) toplevel;
}

/* Fill in an entry's strings. */
static void
source_name(SourceEntry *e, const SourceDesc *d)
{
	memcpy(e->app, d->app, SOURCE_NAME_LEN);
	memcpy(e->has_tag, d->has_tag, sizeof(e->has_tag));
	memcpy(e->tags, d->tags, sizeof(e->tags));
	e->named = true;
}

/* Create the entry of key, naming it; NULL if the table refused. */
static pg_noinline SourceEntry *
source_create(const SourceKey *key, uint32 hint, const SourceDesc *d)
{
	SourceEntry *e = table_create_lock(sources_table, key, hint, NULL, 0);

	if (e != NULL && !e->named)
		source_name(e, d);
	return e;
}

/* Add one execution (finished: bucket >= 0; failed: bucket < 0). */
static inline void
source_add(Oid userid, uint64 queryid, bool toplevel, const SourceDesc *d,
		   double ms, int bucket)
{
	SourceKey	key;
	SourceEntry *e;
	uint32		hint = source_key(&key, userid, MyDatabaseId, queryid, toplevel,
								  d->id);

	e = table_lock(sources_table, &key, hint);
	if (unlikely(e == NULL))
	{
		e = source_create(&key, hint, d);
		if (e == NULL)
			return;
	}
	else if (unlikely(!e->named))
		source_name(e, d);		/* created again by a batch (see below) */
	if (bucket >= 0)
	{
		int			b = coarse_bucket(bucket);

		e->calls++;
		e->total_ms += ms;
		if (e->calls == 1 || ms < e->min_ms)
			e->min_ms = ms;
		if (ms > e->max_ms)
			e->max_ms = ms;
		if (likely(e->hist[b] != PG_UINT32_MAX))
			e->hist[b]++;
	}
	else
	{
		e->errors++;
		e->error_ms += ms;
	}
	e->last_seen = GetCurrentStatementStartTimestamp();
	table_unlock(sources_table, e, 1.0);
}

/* The source of a query string: its tags', else the application's. */
static inline const SourceDesc *
source_of_text(const char *source_text)
{
	if (source_text && unlikely(text_has_comment(source_text)))
		return tagged_source(source_text);
	return current_app_source();
}

/*
 * The id of the source of an execution of a statement from source_text,
 * for the backend's batch (pending.c); 0 when sources are not kept.  The
 * batch that takes it was primed by sources_record, which made the entry.
 */
uint64
sources_source_id(const char *source_text)
{
	if (unlikely(sources_table == NULL))
		return 0;
	return source_of_text(source_text)->id;
}

/*
 * Add a backend's batch of executions (pending.c), all of one source, to
 * the source's entry.  An entry evicted since the batch was primed is
 * created again without its strings (the view shows an empty
 * application_name) until the next execution recorded directly names it.
 */
void
sources_apply_batch(const PendBatch *b)
{
	SourceKey	key;
	SourceEntry *e;
	uint32		hint;

	if (sources_table == NULL || b->calls <= 0 || b->source == 0)
		return;
	hint = source_key(&key, b->key.userid, b->key.dbid, b->key.queryid,
					  b->key.toplevel, b->source);
	e = table_lock(sources_table, &key, hint);
	if (e == NULL)
	{
		e = table_create_lock(sources_table, &key, hint, NULL, 0);
		if (e == NULL)
			return;
	}
	if (e->calls == 0 || b->min < e->min_ms)
		e->min_ms = b->min;
	if (b->max > e->max_ms)
		e->max_ms = b->max;
	e->calls += b->calls;
	e->total_ms += b->total;
	for (int i = b->lo; i <= b->hi && b->base >= 0; i++)
	{
		int			c;
		uint64		sum;

		if (b->count[i] == 0)
			continue;
		c = coarse_bucket(b->base + i);
		sum = (uint64) e->hist[c] + b->count[i];
		e->hist[c] = (uint32) Min(sum, (uint64) PG_UINT32_MAX);
	}
	if (b->last_seen > e->last_seen)
		e->last_seen = b->last_seen;
	table_unlock(sources_table, e, (double) b->calls);
}

/*
 * A tracked statement finished after ms milliseconds (bucket: its
 * histogram bucket): count it under its source, and return the source's
 * id (0: sources not kept).  source_text is the query string it came from.
 * No allocation, no error.
 */
uint64
sources_record(uint64 queryid, bool toplevel, double ms, int bucket,
			   const char *source_text)
{
	const SourceDesc *d;

	if (unlikely(sources_table == NULL))
		return 0;
	d = source_of_text(source_text);
	source_add(GetUserId(), queryid, toplevel, d, ms, Max(bucket, 0));
	return d->id;
}

/*
 * A tracked statement failed after ms milliseconds; tags are those of its
 * text (parsed when the failure was noted).  From an abort callback: takes
 * only the table's locks, allocates nothing, raises no error.
 */
void
sources_record_error(Oid userid, uint64 queryid, bool toplevel, double ms,
					 const SqlcTags *tags)
{
	const SourceDesc *d;
	static SourceDesc tagged;

	if (sources_table == NULL || MyDatabaseId == InvalidOid)
		return;
	d = current_app_source();
	if (tags && tags->ntags > 0 && source_from_tags(tags, &tagged))
		d = &tagged;
	source_add(userid, queryid, toplevel, d, ms, -1);
}

/* Nearest-rank p95 of a coarse histogram, clamped to [min, max]; -1 if empty. */
static double
coarse_p95(const uint32 *hist, double min_ms, double max_ms)
{
	uint64		total = 0,
				cum = 0,
				rank;

	for (int b = 0; b < SOURCE_HIST_BUCKETS; b++)
		total += hist[b];
	if (total == 0)
		return -1;
	rank = (uint64) ceil(0.95 * (double) total - 1e-9);
	rank = Max(rank, 1);
	for (int b = 0; b < SOURCE_HIST_BUCKETS; b++)
	{
		cum += hist[b];
		if (cum >= rank)
		{
			double		lo = HIST_MIN_MS * pow(2.0, b),
						hi = lo * 2.0,
						v = 2.0 * lo * hi / (lo + hi);	/* harmonic midpoint */

			return Min(Max(v, min_ms), max_ms);
		}
	}
	return max_ms;
}

/* table_read callback: one SourceRow. */
static void
emit_source(void *row, const void *key, const void *data, char *text,
			int text_len, bool truncated, void *arg)
{
	SourceRow  *r = (SourceRow *) row;
	const SourceKey *k = (const SourceKey *) key;
	const SourceEntry *e = (const SourceEntry *) data;

	r->userid = k->userid;
	r->dbid = k->dbid;
	r->queryid = k->queryid;
	r->toplevel = k->toplevel != 0;
	r->calls = e->calls;
	r->total_ms = e->total_ms;
	r->min_ms = e->min_ms;
	r->max_ms = e->max_ms;
	r->p95_ms = coarse_p95(e->hist, e->min_ms, e->max_ms);
	r->errors = e->errors;
	r->error_ms = e->error_ms;
	r->last_seen = e->last_seen;
	memcpy(r->application_name, e->app, SOURCE_NAME_LEN);
	r->application_name[SOURCE_NAME_LEN - 1] = '\0';
	memcpy(r->has_tag, e->has_tag, sizeof(r->has_tag));
	memcpy(r->tags, e->tags, sizeof(r->tags));
	for (int i = 0; i < SOURCE_NTAGS; i++)
		r->tags[i][SOURCE_TAG_LEN - 1] = '\0';
}

/* Copy every entry out. */
SourceRow *
sources_read(int *nrows)
{
	void	   *rows;

	pending_flush_all();		/* the backends' batches first */
	*nrows = table_read(sources_table, sizeof(SourceRow), false, emit_source,
						NULL, &rows);
	return (SourceRow *) rows;
}

/* Entry and eviction counts, for latdiag_info. */
void
sources_info(int64 *entries, int64 *evictions)
{
	int64		truncated;
	TimestampTz reset;

	pending_flush_all();
	table_stats(sources_table, entries, evictions, &truncated, &reset);
}

/* Remove the entries matching (userid, dbid, queryid); 0 = any. */
void
sources_reset(Oid userid, Oid dbid, uint64 queryid)
{
	pending_flush_all();
	(void) table_reset(sources_table, userid, dbid, queryid);
}
