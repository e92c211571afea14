/*
 * collect.c: read the report's data from every server, one thread per server.
 *
 * Each thread owns its Server and its connection, and copies every result
 * into plain strings (Table), so the renderers never see libpq.  A server that
 * is down, has no extension, or has an older postgres_latdiag without some
 * view is recorded as such; nothing here exits the program.
 */
#include "latdiag.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* Type OIDs (catalog/pg_type_d.h), to type columns in JSON and alignment. */
#define BOOLOID		16
#define INT8OID		20
#define INT2OID		21
#define INT4OID		23
#define OIDOID		26
#define FLOAT4OID	700
#define FLOAT8OID	701
#define NUMERICOID	1700

/* Every statement of the CLI starts with this, so the report can leave out its own queries. */
#define TAG "/* latdiag-cli */ "
#define DBNAME(col) "(SELECT datname FROM pg_catalog.pg_database WHERE oid = " col ") AS database"
#define ONELINE(col) "regexp_replace(btrim(" col "), '\\s+', ' ', 'g')"
#define MS(col, digits, name) "round((" col ")::numeric, " #digits ") AS " name

const char *const finding_names[NUM_FINDINGS] = {"n_plus_one", "seq_scan", "index", "lock", "errors",
"regression", "tail", "deep_offset", "unbounded_read"};

const SectionDef section_defs[NUM_SECTIONS] = {
	{"top_p99", "Top queries by p99 latency (ms)", "latdiag_queries", "latdiag_queries", false, -1},
	{"top_total", "Top queries by total time (ms)", "latdiag_queries", "latdiag_queries", false, -1},
	{"sources", "Sources of the top queries: who sends them", "latdiag_query_sources", "latdiag_query_sources", false, -1},
	{"plan_changes", "Plan flips: queries that switched to a slower plan", "latdiag_plan_changes", "latdiag_plan_changes", false, -1},
	{"seq_scans", "Sequential scans of large tables that return few rows", "latdiag_seq_scans", "latdiag_seq_scans", false, FIND_SEQ_SCAN},
	{"n_plus_one", "N+1 patterns", "latdiag_n_plus_one", "latdiag_n_plus_one", false, FIND_N_PLUS_ONE},
	{"lock_waits", "Lock waits by query", "latdiag_lock_waits", "latdiag_lock_waits", false, FIND_LOCK},
	{"lock_tree", "Lock wait tree now (who blocks whom)", "latdiag_lock_tree", "latdiag_lock_tree", false, -1},
	{"index_candidates", "Index candidates", "latdiag_index_candidates", "latdiag_index_candidates", false, FIND_INDEX},
	{"snapshots", "Slowest EXPLAIN ANALYZE snapshot of each top query", "latdiag_explain_snapshots", "latdiag_explain_snapshots", false, -1},
	{"errors", "Errors: failed executions by statement and SQLSTATE", "latdiag_errors", "latdiag_errors", false, FIND_ERRORS},
	{"slow_executions", "Slow executions: the latest, with trace ids", "latdiag_slow_executions", "latdiag_slow_executions", false, -1},
	{"ranked_findings", "Findings, the most expensive first", "latdiag_findings", "latdiag_findings", false, -1},
	{"regressions", "Regressions: statements significantly slower in the recent windows than in the baseline", "latdiag_regressions", "latdiag_regressions", true, FIND_REGRESSION},
	{"window_compare", "Recent windows against the baseline, by statement (ms)", "latdiag_compare", "latdiag_windows", true, -1},
};

/*
 * The query of each section; $1 is the row limit (--top), except for
 * snapshots, where it is the array of the top queries' queryids.  Columns are
 * the views' documented ones (doc/reference.md, doc/cli.md).
 */
static const char *const section_sql[NUM_SECTIONS] = {
	/* SEC_TOP_P99 */
	TAG "SELECT queryid, " DBNAME("dbid") ", calls, "
	MS("p50_exec_time", 2, "p50_ms") ", " MS("p95_exec_time", 2, "p95_ms") ", "
	MS("p99_exec_time", 2, "p99_ms") ", " MS("max_exec_time", 2, "max_ms") ", "
	MS("mean_exec_time", 2, "mean_ms") ", " MS("total_exec_time", 1, "total_ms") ", "
	ONELINE("query") " AS query "
	"FROM latdiag_queries WHERE toplevel AND calls > 0 "
	"AND coalesce(query, '') NOT LIKE '/* latdiag-cli */%' "
	"ORDER BY p99_exec_time DESC NULLS LAST, calls DESC LIMIT $1",
	/* SEC_TOP_TOTAL */
	TAG "SELECT queryid, " DBNAME("dbid") ", calls, "
	MS("total_exec_time", 1, "total_ms") ", " MS("mean_exec_time", 2, "mean_ms") ", "
	MS("p50_exec_time", 2, "p50_ms") ", " MS("p95_exec_time", 2, "p95_ms") ", "
	MS("p99_exec_time", 2, "p99_ms") ", " ONELINE("query") " AS query "
	"FROM latdiag_queries WHERE toplevel AND calls > 0 "
	"AND coalesce(query, '') NOT LIKE '/* latdiag-cli */%' "
	"ORDER BY total_exec_time DESC NULLS LAST, calls DESC LIMIT $1",
	/* SEC_SOURCES: $1 is the array of the top queries' queryids, in their order */
	TAG "SELECT queryid, " DBNAME("dbid") ", application_name, service, controller, route, "
	"action, framework, calls, errors, " MS("p95_exec_time", 2, "p95_ms") ", "
	MS("mean_exec_time", 2, "mean_ms") ", " MS("total_exec_time", 1, "total_ms") ", last_seen "
	"FROM (SELECT *, row_number() OVER (PARTITION BY dbid, queryid "
	"ORDER BY total_exec_time DESC, errors DESC) AS n FROM latdiag_query_sources(false) "
	"WHERE toplevel AND queryid = ANY ($1::bigint[])) AS s WHERE n <= 10 "
	"ORDER BY array_position($1::bigint[], queryid), total_exec_time DESC, errors DESC",
	/* SEC_PLAN_CHANGES */
	TAG "SELECT queryid, " DBNAME("dbid") ", "
	MS("old_mean_exec_time", 2, "old_mean_ms") ", " MS("new_mean_exec_time", 2, "new_mean_ms") ", "
	MS("old_p95_exec_time", 2, "old_p95_ms") ", " MS("new_p95_exec_time", 2, "new_p95_ms") ", "
	"old_calls, new_calls, changes, changed_at, old_planid, new_planid, "
	ONELINE("query") " AS query "
	"FROM latdiag_plan_changes "
	"ORDER BY new_mean_exec_time / greatest(old_mean_exec_time, 0.001) DESC LIMIT $1",
	/* SEC_SEQ_SCANS */
	TAG "SELECT relname, queryid, " DBNAME("dbid") ", calls, "
	"round(rows_scanned::numeric) AS rows_scanned, "
	"round(rows_returned::numeric, 1) AS rows_returned, "
	"round(selectivity::numeric, 4) AS selectivity, measured, inner_of_nested_loop, "
	"array_to_string(filter_columns, ', ') AS filter_columns, filter, "
	MS("total_exec_time", 1, "total_ms") ", " ONELINE("query") " AS query "
	"FROM latdiag_seq_scans LIMIT $1",
	/* SEC_N_PLUS_ONE */
	TAG "SELECT kind, toplevel, parent_queryid, child_queryid, " DBNAME("dbid") ", "
	"episodes, child_calls, round(avg_calls_per_episode::numeric, 1) AS avg_calls_per_episode, "
	"max_calls_per_episode, " MS("total_round_trip_time", 1, "total_round_trip_ms") ", "
	MS("child_exec_time", 1, "child_exec_ms") ", last_seen, "
	ONELINE("parent_query") " AS parent_query, " ONELINE("child_query") " AS child_query, "
	"suggestion FROM latdiag_n_plus_one "
	"ORDER BY total_round_trip_time DESC NULLS LAST LIMIT $1",
	/* SEC_LOCK_WAITS */
	TAG "SELECT queryid, " DBNAME("dbid") ", locktype, mode, relname, waits, cancelled, "
	MS("total_wait_time", 1, "total_wait_ms") ", " MS("max_wait_time", 1, "max_wait_ms") ", "
	MS("mean_wait_time", 1, "mean_wait_ms") ", blocker_queryid, blocker_state, last_seen, "
	ONELINE("query") " AS query, " ONELINE("blocker_query") " AS blocker_query "
	"FROM latdiag_lock_waits ORDER BY total_wait_time DESC NULLS LAST LIMIT $1",
	/* SEC_LOCK_TREE: every column, as the view orders them; the tree, not a top N */
	TAG "SELECT * FROM latdiag_lock_tree LIMIT 10 * $1::int",
	/* SEC_INDEX_CANDIDATES */
	TAG "SELECT relname, array_to_string(columns, ', ') AS columns, calls, "
	"round(est_cost_before::numeric, 1) AS est_cost_before, "
	"round(est_cost_after::numeric, 1) AS est_cost_after, "
	"round(est_improvement::numeric, 3) AS est_improvement, est_size_bytes, "
	"write_overhead, index_def, array_to_string(queryids, ', ') AS queryids, reason, "
	DBNAME("dbid") " FROM latdiag_index_candidates "
	"ORDER BY calls * (est_cost_before - est_cost_after) DESC NULLS LAST LIMIT $1",
	/* SEC_SNAPSHOTS */
	TAG "SELECT * FROM (SELECT DISTINCT ON (queryid) queryid, " DBNAME("dbid") ", "
	MS("exec_time", 1, "exec_ms") ", captured_at, planid, plan_truncated, "
	ONELINE("query") " AS query, plan FROM latdiag_explain_snapshots "
	"WHERE queryid = ANY ($1::bigint[]) ORDER BY queryid, exec_time DESC) AS s "
	"ORDER BY exec_ms DESC",
	/* SEC_ERRORS */
	TAG "SELECT sqlstate, queryid, " DBNAME("dbid") ", errors, "
	MS("total_time", 1, "total_ms") ", " MS("max_time", 2, "max_ms") ", "
	"last_seen, " ONELINE("message") " AS message, " ONELINE("query") " AS query "
	"FROM latdiag_errors ORDER BY errors DESC, max_time DESC LIMIT $1",
	/* SEC_SLOW_EXECUTIONS */
	TAG "SELECT finished_at, " MS("duration", 2, "duration_ms") ", sqlstate, queryid, "
	DBNAME("dbid") ", planid, rows, " MS("lock_wait_time", 2, "lock_wait_ms") ", pid, "
	"application_name, client_addr, trace_id, parent_span_id, tags::text AS tags, "
	ONELINE("query") " AS query "
	"FROM latdiag_slow_executions "
	"WHERE coalesce(query, '') NOT LIKE '/* latdiag-cli */%' "
	"ORDER BY finished_at DESC LIMIT $1",
	/* SEC_FINDINGS */
	TAG "SELECT kind, severity, round(est_ms_per_hour::numeric) AS est_ms_per_hour, "
	"queryid, " DBNAME("dbid") ", evidence, fix, detail_view, " ONELINE("query") " AS query "
	"FROM latdiag_findings "
	"WHERE coalesce(query, '') NOT LIKE '/* latdiag-cli */%' "
	"ORDER BY est_ms_per_hour DESC NULLS LAST LIMIT $1",
	/* SEC_REGRESSIONS: $2 the recent period, $3 the baseline before it */
	TAG "SELECT queryid, " DBNAME("dbid") ", recent_calls, baseline_calls, "
	MS("baseline_p95", 2, "baseline_p95_ms") ", " MS("recent_p95", 2, "recent_p95_ms") ", "
	MS("recent_p99", 2, "recent_p99_ms") ", round(factor::numeric, 2) AS factor, since, "
	"likely_cause, nullif(array_to_string(causes, ', '), '') AS causes, " ONELINE("query") " AS query "
	"FROM latdiag_regressions($2::interval, $3::interval) "
	"ORDER BY factor DESC NULLS LAST LIMIT $1",
	/* SEC_WINDOW_COMPARE: the windows of the recent period against those of the baseline before it */
	TAG "SELECT queryid, " DBNAME("dbid") ", calls_1 AS baseline_calls, calls_2 AS recent_calls, "
	MS("p95_exec_time_1", 2, "baseline_p95_ms") ", " MS("p95_exec_time_2", 2, "recent_p95_ms") ", "
	MS("p99_exec_time_1", 2, "baseline_p99_ms") ", " MS("p99_exec_time_2", 2, "recent_p99_ms") ", "
	"round(factor::numeric, 2) AS factor, "
	"b.planid IS NOT NULL AND r.planid IS DISTINCT FROM b.planid AS other_plan, "
	MS("lock_wait_time_2", 1, "recent_lock_wait_ms") ", " ONELINE("query") " AS query "
	"FROM latdiag_compare(now() - $2::interval - $3::interval, now() - $2::interval, "
	"now() - $2::interval, now()) "
	"LEFT JOIN " LATDIAG_USUAL_PLAN(LATDIAG_WINDOW_MIDDLE " >= now() - $2::interval")
	" AS r USING (userid, dbid, queryid, toplevel) "
	"LEFT JOIN " LATDIAG_USUAL_PLAN(LATDIAG_WINDOW_MIDDLE " < now() - $2::interval AND "
									LATDIAG_WINDOW_MIDDLE " >= now() - $2::interval - $3::interval")
	" AS b USING (userid, dbid, queryid, toplevel) "
	"WHERE calls_2 > 0 AND queryid IS NOT NULL "
	"AND coalesce(query, '') NOT LIKE '/* latdiag-cli */%' "
	"ORDER BY factor DESC NULLS LAST, total_exec_time_2 DESC LIMIT $1",
};

/*
 * Per-finding count of everything the view holds (not only the top N), on
 * servers without latdiag_findings; the regressions always ($1 the recent
 * period, $2 the baseline: --since).
 */
static const char *const finding_sql[FIND_FIRST_RANKED_ONLY] = {
	TAG "SELECT count(*) FROM latdiag_n_plus_one",
	TAG "SELECT count(*) FROM latdiag_seq_scans",
	TAG "SELECT count(*) FROM latdiag_index_candidates",
	TAG "SELECT count(*) FROM latdiag_lock_waits",
	TAG "SELECT count(*) FROM latdiag_errors",
	TAG "SELECT count(*) FROM latdiag_regressions($1::interval, $2::interval)",
};
static const SectionId finding_section[NUM_FINDINGS] = {
	SEC_N_PLUS_ONE, SEC_SEQ_SCANS, SEC_INDEX_CANDIDATES, SEC_LOCK_WAITS, SEC_ERRORS,
	SEC_REGRESSIONS, SEC_FINDINGS, SEC_FINDINGS, SEC_FINDINGS
};

/*
 * Every finding counted from latdiag_findings (1.5), in Finding order: the
 * first five count the same rows as the views above (lock: the waits, not
 * their blockers; errors: errors and timeouts).  Not the regressions: they
 * are latdiag_regressions' rows over --since (finding_sql), so that
 * --fail-on regression and the Regressions section agree; the ranked list
 * still shows latdiag_findings' plan_regression and plan_change rows.
 */
static const char *const findings_count_sql =
	TAG "SELECT count(*) FILTER (WHERE kind = 'n_plus_one'), "
	"count(*) FILTER (WHERE kind = 'seq_scan'), "
	"count(*) FILTER (WHERE kind = 'missing_index'), "
	"count(*) FILTER (WHERE kind = 'lock_wait'), "
	"count(*) FILTER (WHERE kind IN ('error', 'timeout')), "
	"NULL AS regression, "
	"count(*) FILTER (WHERE kind = 'tail_latency'), "
	"count(*) FILTER (WHERE kind = 'deep_offset'), "
	"count(*) FILTER (WHERE kind = 'unbounded_read') "
	"FROM latdiag_findings";

/* malloc that exits on failure (a report tool has nothing to fall back to). */
void *
xmalloc(size_t n)
{
	void	   *p = calloc(1, n ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "latdiag: out of memory\n");
		exit(1);
	}
	return p;
}

/* strdup that exits on failure; NULL stays NULL. */
char *
xstrdup(const char *s)
{
	char	   *p;

	if (s == NULL)
		return NULL;
	p = xmalloc(strlen(s) + 1);
	strcpy(p, s);
	return p;
}

/* sprintf into a new string. */
char *
xprintf(const char *fmt,...)
{
	va_list		ap;
	int			n;
	char	   *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	p = xmalloc(n + 1);
	va_start(ap, fmt);
	vsnprintf(p, n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* Name of a server status, as the report and the JSON print it. */
const char *
server_status_name(ServerStatus s)
{
	switch (s)
	{
		case SRV_OK:
			return "ok";
		case SRV_DOWN:
			return "down";
		case SRV_NO_EXTENSION:
			return "no_extension";
		case SRV_NOT_LOADED:
			return "not_loaded";
		case SRV_ERROR:
			return "error";
	}
	return "error";
}

/* Column kind of a result column, from its type. */
static ColKind
kind_of(const PGresult *res, int col)
{
	const char *name = PQfname(res, col);
	size_t		len = strlen(name);

	switch (PQftype(res, col))
	{
		case BOOLOID:
			return COL_BOOL;
		case INT8OID:
			if ((len >= 7 && strcmp(name + len - 7, "queryid") == 0) ||
				(len >= 6 && strcmp(name + len - 6, "planid") == 0))
				return COL_ID;
			return COL_NUM;
		case INT2OID:
		case INT4OID:
		case OIDOID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			return COL_NUM;
		default:
			return COL_TEXT;
	}
}

/* Copy a tuples result into a Table. */
static Table *
table_from_result(const PGresult *res)
{
	Table	   *t = xmalloc(sizeof(Table));
	int			r,
				c;

	t->ncols = PQnfields(res);
	t->nrows = PQntuples(res);
	t->cols = xmalloc(sizeof(char *) * t->ncols);
	t->kinds = xmalloc(sizeof(ColKind) * t->ncols);
	for (c = 0; c < t->ncols; c++)
	{
		t->cols[c] = xstrdup(PQfname(res, c));
		t->kinds[c] = kind_of(res, c);
	}
	t->vals = xmalloc(sizeof(char **) * t->nrows);
	for (r = 0; r < t->nrows; r++)
	{
		t->vals[r] = xmalloc(sizeof(char *) * t->ncols);
		for (c = 0; c < t->ncols; c++)
			t->vals[r][c] = PQgetisnull(res, r, c) ? NULL :
				xstrdup(PQgetvalue(res, r, c));
	}
	return t;
}

/* Run a query with up to three text parameters; NULL result and *err set on failure. */
static PGresult *
run3(PGconn *conn, const char *sql, int nparams, const char *p1, const char *p2,
	 const char *p3, char **err)
{
	const char *params[3];
	PGresult   *res;

	params[0] = p1;
	params[1] = p2;
	params[2] = p3;
	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		if (err)
			*err = one_line(PQresultErrorMessage(res));
		PQclear(res);
		return NULL;
	}
	return res;
}

static PGresult *
run(PGconn *conn, const char *sql, int nparams, const char *p1, const char *p2,
	char **err)
{
	return run3(conn, sql, nparams, p1, p2, NULL, err);
}

/* The baseline period before the recent one: every kept window with --since, else the view's hour. */
static const char *
baseline_period(const Report *rep)
{
	return rep->since > 0 ? "100 years" : "1 hour";
}

/* Read a section's table into srv->sections[id]. */
static void
read_section(PGconn *conn, Server *srv, SectionId id, const char *param, const Report *rep)
{
	SectionResult *sr = &srv->sections[id];
	char	   *err = NULL;
	bool		windows = id == SEC_REGRESSIONS || id == SEC_WINDOW_COMPARE;
	PGresult   *res = run3(conn, section_sql[id], windows ? 3 : 1, param,
						   rep->recent, baseline_period(rep), &err);

	if (res == NULL)
	{
		sr->status = SS_ERROR;
		sr->message = err;
		return;
	}
	sr->status = SS_OK;
	sr->table = table_from_result(res);
	PQclear(res);
}

/* The distinct queryids of the top sections, as a bigint[] literal and a list. */
static char *
top_queryids(Server *srv, char ***ids, int *nids)
{
	size_t		cap = 2;
	char	   *lit;
	int			s,
				r,
				i;
	static const SectionId tops[] = {SEC_TOP_P99, SEC_TOP_TOTAL};

	*ids = NULL;
	*nids = 0;
	for (s = 0; s < 2; s++)
	{
		Table	   *t = srv->sections[tops[s]].table;

		if (t)
			cap += (size_t) t->nrows * 22;
	}
	lit = xmalloc(cap + 1);
	*ids = xmalloc(sizeof(char *) * (cap / 2 + 1));
	strcpy(lit, "{");
	for (s = 0; s < 2; s++)
	{
		Table	   *t = srv->sections[tops[s]].table;

		if (t == NULL)
			continue;
		for (r = 0; r < t->nrows; r++)
		{
			const char *q = t->vals[r][table_col(t, "queryid")];
			bool		seen = false;

			if (q == NULL)		/* another user's statement */
				continue;
			for (i = 0; i < *nids; i++)
				if (strcmp((*ids)[i], q) == 0)
					seen = true;
			if (seen)
				continue;
			(*ids)[(*nids)++] = (char *) q;
			if (*nids > 1)
				strcat(lit, ",");
			strcat(lit, q);
		}
	}
	strcat(lit, "}");
	return lit;
}

/* The latency histogram of every top query, with its percentiles. */
static void
read_histograms(PGconn *conn, Server *srv, char **ids, int nids)
{
	Table	   *top = srv->sections[SEC_TOP_P99].table;
	Table	   *tot = srv->sections[SEC_TOP_TOTAL].table;
	int			i;

	srv->hists = xmalloc(sizeof(Histogram) * (nids + 1));
	for (i = 0; i < nids; i++)
	{
		PGresult   *res;
		Histogram  *h = &srv->hists[srv->nhists];
		Table	   *src = NULL;
		int			row = -1,
					r,
					b;

		res = run(conn, TAG "SELECT lower_ms, upper_ms, count FROM latdiag_latency_histogram($1::bigint)",
				  1, ids[i], NULL, NULL);
		if (res == NULL)
			continue;
		/* The row that named it, for the text and the percentiles. */
		for (r = 0; top && r < top->nrows && row < 0; r++)
			if (top->vals[r][0] && strcmp(top->vals[r][0], ids[i]) == 0)
				src = top, row = r;
		for (r = 0; tot && r < tot->nrows && row < 0; r++)
			if (tot->vals[r][0] && strcmp(tot->vals[r][0], ids[i]) == 0)
				src = tot, row = r;
		h->queryid = xstrdup(ids[i]);
		if (src)
		{
			const char *v;

			h->query = xstrdup(src->vals[row][table_col(src, "query")]);
			v = src->vals[row][table_col(src, "p50_ms")];
			h->p50 = v ? atof(v) : -1;
			v = src->vals[row][table_col(src, "p95_ms")];
			h->p95 = v ? atof(v) : -1;
			v = src->vals[row][table_col(src, "p99_ms")];
			h->p99 = v ? atof(v) : -1;
		}
		h->nbuckets = PQntuples(res);
		h->lower = xmalloc(sizeof(double) * (h->nbuckets + 1));
		h->upper = xmalloc(sizeof(double) * (h->nbuckets + 1));
		h->count = xmalloc(sizeof(double) * (h->nbuckets + 1));
		for (b = 0; b < h->nbuckets; b++)
		{
			h->lower[b] = atof(PQgetvalue(res, b, 0));
			h->upper[b] = atof(PQgetvalue(res, b, 1));
			h->count[b] = atof(PQgetvalue(res, b, 2));
		}
		PQclear(res);
		srv->nhists++;
	}
}

/* Which of the sections' objects exist, in the extension's schema. */
static bool
check_objects(PGconn *conn, Server *srv, const char *schema, bool exists[NUM_SECTIONS],
			  bool *has_index_report)
{
	char	   *sql;
	char	   *cols = xstrdup("");
	char	   *err = NULL;
	PGresult   *res;
	int			i;

	for (i = 0; i < NUM_SECTIONS; i++)
	{
		char	   *next = xprintf("%s to_regclass(quote_ident($1) || '.%s') IS NOT NULL,",
								   cols, section_defs[i].check);

		free(cols);
		cols = next;
	}
	sql = xprintf(TAG "SELECT %s to_regprocedure(quote_ident($1) || '.latdiag_index_report(text)') IS NOT NULL",
				  cols);
	res = run(conn, sql, 1, schema, NULL, &err);
	free(sql);
	free(cols);
	if (res == NULL)
	{
		srv->status = SRV_ERROR;
		srv->message = err;
		return false;
	}
	for (i = 0; i < NUM_SECTIONS; i++)
		exists[i] = strcmp(PQgetvalue(res, 0, i), "t") == 0;
	*has_index_report = strcmp(PQgetvalue(res, 0, NUM_SECTIONS), "t") == 0;
	PQclear(res);
	return true;
}

/* Everything about one server, on an open connection. */
static void
collect_connected(PGconn *conn, Server *srv, const Report *rep)
{
	PGresult   *res;
	char	   *err = NULL;
	char	   *schema;
	char		topbuf[16];
	bool		exists[NUM_SECTIONS];
	bool		has_index_report = false;
	char	  **ids;
	int			nids,
				i;
	char	   *lit;

	srv->server_version = xstrdup(PQparameterStatus(conn, "server_version"));
	/* Do not count our own statements (a superuser-only setting). */
	if (PQparameterStatus(conn, "is_superuser") &&
		strcmp(PQparameterStatus(conn, "is_superuser"), "on") == 0)
		PQclear(PQexec(conn, TAG "SET latdiag.enabled = off"));
	PQclear(PQexec(conn, TAG "SET statement_timeout = '60s'"));

	res = run(conn, TAG "SELECT e.extversion, n.nspname FROM pg_catalog.pg_extension e "
			  "JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
			  "WHERE e.extname = 'postgres_latdiag'", 0, NULL, NULL, &err);
	if (res == NULL)
	{
		srv->status = SRV_ERROR;
		srv->message = err;
		return;
	}
	if (PQntuples(res) == 0)
	{
		srv->status = SRV_NO_EXTENSION;
		srv->message = xprintf("extension postgres_latdiag is not installed in database \"%s\"",
							   PQdb(conn));
		PQclear(res);
		return;
	}
	srv->ext_version = xstrdup(PQgetvalue(res, 0, 0));
	schema = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);

	/* Unqualified names resolve in the extension's schema, after pg_catalog. */
	res = run(conn, TAG "SELECT pg_catalog.set_config('search_path', "
			  "'pg_catalog, ' || pg_catalog.quote_ident($1), false)", 1, schema, NULL, &err);
	if (res == NULL)
	{
		srv->status = SRV_ERROR;
		srv->message = err;
		free(schema);
		return;
	}
	PQclear(res);

	res = run(conn, TAG "SELECT * FROM latdiag_info", 0, NULL, NULL, &err);
	if (res == NULL)
	{
		srv->status = strstr(err, "shared_preload_libraries") ? SRV_NOT_LOADED : SRV_ERROR;
		srv->message = err;
		free(schema);
		return;
	}
	srv->info = table_from_result(res);
	PQclear(res);

	if (!check_objects(conn, srv, schema, exists, &has_index_report))
	{
		free(schema);
		return;
	}
	free(schema);
	srv->status = SRV_OK;

	/* --since further back than the server keeps windows: nothing else is read. */
	if (exists[SEC_REGRESSIONS] && rep->since > 0 && !check_since(conn, srv, rep))
		return;

	snprintf(topbuf, sizeof(topbuf), "%d", rep->top);
	for (i = 0; i < NUM_SECTIONS; i++)
	{
		if (!exists[i])
		{
			srv->sections[i].status = SS_MISSING;
			srv->sections[i].message =
				xprintf("not available (postgres_latdiag version %s has no %s)",
						srv->ext_version, section_defs[i].object);
			continue;
		}
		if (i != SEC_SNAPSHOTS && i != SEC_SOURCES)
			read_section(conn, srv, (SectionId) i, topbuf, rep);
	}

	/* Histograms and snapshots of the top queries. */
	lit = top_queryids(srv, &ids, &nids);
	if (exists[SEC_SNAPSHOTS])
		read_section(conn, srv, SEC_SNAPSHOTS, lit, rep);
	if (exists[SEC_SOURCES])
		read_section(conn, srv, SEC_SOURCES, lit, rep);
	read_histograms(conn, srv, ids, nids);
	free(lit);
	free(ids);

	for (i = 0; i < NUM_FINDINGS; i++)
		srv->findings[i] = -1;
	/* from latdiag_findings when the server has it, else view by view */
	if (srv->sections[SEC_FINDINGS].status == SS_OK &&
		(res = run(conn, findings_count_sql, 0, NULL, NULL, NULL)) != NULL)
	{
		for (i = 0; i < NUM_FINDINGS; i++)
			if (i != FIND_REGRESSION)
				srv->findings[i] = atol(PQgetvalue(res, 0, i));
		PQclear(res);
	}
	else
	{
		for (i = 0; i < FIND_REGRESSION; i++)
		{
			if (srv->sections[finding_section[i]].status != SS_OK)
				continue;
			res = run(conn, finding_sql[i], 0, NULL, NULL, NULL);
			if (res)
			{
				srv->findings[i] = atol(PQgetvalue(res, 0, 0));
				PQclear(res);
			}
		}
	}
	/* the regressions: always the Regressions section's rows, over --since */
	if (srv->sections[SEC_REGRESSIONS].status == SS_OK &&
		(res = run(conn, finding_sql[FIND_REGRESSION], 2, rep->recent,
				   baseline_period(rep), NULL)) != NULL)
	{
		srv->findings[FIND_REGRESSION] = atol(PQgetvalue(res, 0, 0));
		PQclear(res);
	}

	if (exists[SEC_WINDOW_COMPARE])
		collect_timeline(conn, srv, rep);
	else
		srv->timeline_message =
			xprintf("not available (postgres_latdiag version %s has no time windows; 1.4 or later)",
					srv->ext_version);

	if (has_index_report)
	{
		const char *fmt = rep->format == FMT_MARKDOWN ? "markdown" :
			rep->format == FMT_JSON ? "json" : "text";

		res = run(conn, TAG "SELECT latdiag_index_report($1)", 1, fmt, NULL, &err);
		if (res)
		{
			srv->index_report = xstrdup(PQgetvalue(res, 0, 0));
			PQclear(res);
		}
		else
			srv->index_report = xprintf("latdiag_index_report failed: %s", err);
	}
}

/* Thread body: connect to one server and read it. */
static void *
collect_server(void *arg)
{
	void	  **a = arg;
	Server	   *srv = a[0];
	const Report *rep = a[1];
	PGconn	   *conn;
	int			i;

	for (i = 0; i < NUM_FINDINGS; i++)
		srv->findings[i] = -1;
	{
		/* The DSN is expanded first; UTF8 for the report, our name unless the DSN has one. */
		const char *const keys[] = {"dbname", "client_encoding", "fallback_application_name", NULL};
		const char *const vals[] = {srv->dsn, "UTF8", "latdiag", NULL};

		conn = PQconnectdbParams(keys, vals, 1);
	}
	if (conn == NULL)
	{
		srv->status = SRV_DOWN;
		srv->message = xstrdup("out of memory");
		srv->label = xstrdup(srv->dsn);
		return NULL;
	}
	/* host:port/dbname; never the password */
	srv->label = xprintf("%s:%s/%s", PQhost(conn) ? PQhost(conn) : "?",
						 PQport(conn) ? PQport(conn) : "?",
						 PQdb(conn) ? PQdb(conn) : "?");
	if (PQstatus(conn) != CONNECTION_OK)
	{
		srv->status = SRV_DOWN;
		srv->message = one_line(PQerrorMessage(conn));
	}
	else
		collect_connected(conn, srv, rep);
	PQfinish(conn);
	return NULL;
}

/* Read every server in parallel, then make their labels unique. */
void
collect_all(Report *r)
{
	pthread_t  *th = xmalloc(sizeof(pthread_t) * r->nservers);
	bool	   *started = xmalloc(sizeof(bool) * r->nservers);
	void	 ***args = xmalloc(sizeof(void **) * r->nservers);
	int			i,
				j;

	/* A server that does not answer must not hold up the report forever. */
	setenv("PGCONNECT_TIMEOUT", "10", 0);
	for (i = 0; i < r->nservers; i++)
	{
		args[i] = xmalloc(sizeof(void *) * 2);
		args[i][0] = &r->servers[i];
		args[i][1] = r;
		started[i] = pthread_create(&th[i], NULL, collect_server, args[i]) == 0;
		if (!started[i])
			collect_server(args[i]);
	}
	for (i = 0; i < r->nservers; i++)
	{
		if (started[i])
			pthread_join(th[i], NULL);
		free(args[i]);
	}
	/* Backwards, so that the labels compared with are still the original ones. */
	for (i = r->nservers - 1; i > 0; i--)
	{
		int			n = 1;

		for (j = 0; j < i; j++)
			if (strcmp(r->servers[j].label, r->servers[i].label) == 0)
				n++;
		if (n > 1)
		{
			char	   *l = xprintf("%s#%d", r->servers[i].label, n);

			free(r->servers[i].label);
			r->servers[i].label = l;
		}
	}
	free(th);
	free(started);
	free(args);
}
