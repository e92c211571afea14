/*
 * latdiag.h: shared declarations of the `latdiag` command-line report.
 *
 * The report is built in two steps.  collect.c connects to every server (one
 * thread each), checks which views its postgres_latdiag version has and reads
 * each section into plain string tables (Server).  The renderers (render_text.c
 * for text and markdown, render_json.c, render_html.c) then print the merged
 * report of all servers; they never touch a connection.
 */
#ifndef LATDIAG_CLI_H
#define LATDIAG_CLI_H

#include <stdbool.h>
#include <stdio.h>

#define LATDIAG_CLI_VERSION "1.5"
/* Version of the JSON shape (doc/cli.md); bumped only on incompatible change. */
#define LATDIAG_JSON_VERSION 1

/* Kind of a column, for alignment and JSON typing. */
typedef enum ColKind
{
	COL_TEXT,
	COL_NUM,					/* integer, float or numeric */
	COL_ID,						/* 64-bit identifier: a string in JSON */
	COL_BOOL
} ColKind;

/* A query result copied out of libpq: values are NULL for SQL NULL. */
typedef struct Table
{
	int			ncols;
	char	  **cols;
	ColKind    *kinds;
	int			nrows;
	char	 ***vals;			/* vals[row][col] */
} Table;

/* The finding kinds --fail-on knows. */
typedef enum Finding
{
	FIND_N_PLUS_ONE,
	FIND_SEQ_SCAN,
	FIND_INDEX,
	FIND_LOCK,
	FIND_ERRORS,
	FIND_REGRESSION,			/* the rows of latdiag_regressions (1.4), always */
	/* version 1.5: counted from latdiag_findings only */
	FIND_TAIL,
	FIND_DEEP_OFFSET,
	FIND_UNBOUNDED_READ,
	NUM_FINDINGS
} Finding;

/* The first finding that older servers (no latdiag_findings) cannot count. */
#define FIND_FIRST_RANKED_ONLY FIND_TAIL

/* Report sections, in print order. */
typedef enum SectionId
{
	SEC_TOP_P99,
	SEC_TOP_TOTAL,
	SEC_SOURCES,
	SEC_PLAN_CHANGES,
	SEC_SEQ_SCANS,
	SEC_N_PLUS_ONE,
	SEC_LOCK_WAITS,
	SEC_LOCK_TREE,
	SEC_INDEX_CANDIDATES,
	SEC_SNAPSHOTS,
	SEC_ERRORS,
	SEC_SLOW_EXECUTIONS,
	SEC_FINDINGS,				/* latdiag_findings: printed under "Findings" */
	SEC_REGRESSIONS,			/* printed first when it has rows (section_order) */
	SEC_WINDOW_COMPARE,
	NUM_SECTIONS
} SectionId;

typedef enum SecStatus
{
	SS_SKIPPED,					/* the server could not be read at all */
	SS_OK,
	SS_MISSING,					/* the view does not exist in this version */
	SS_ERROR					/* the query failed */
} SecStatus;

typedef struct SectionDef
{
	const char *key;			/* JSON key, also the HTML anchor */
	const char *title;
	const char *object;			/* the view or function it reads */
	const char *check;			/* argument of to_regclass/to_regprocedure */
	bool		is_function;
	int			finding;		/* a Finding, or -1 */
} SectionDef;

extern const SectionDef section_defs[NUM_SECTIONS];
extern const char *const finding_names[NUM_FINDINGS];

typedef struct SectionResult
{
	SecStatus	status;
	char	   *message;		/* why not OK */
	Table	   *table;
} SectionResult;

/* The latency histogram of one top query. */
typedef struct Histogram
{
	char	   *queryid;
	char	   *query;
	double		p50,
				p95,
				p99;
	int			nbuckets;
	double	   *lower;
	double	   *upper;
	double	   *count;
} Histogram;

/* One time window of a timeline (times in seconds since the epoch, UTC). */
typedef struct TimePoint
{
	double		start,
				end;
	double		calls;
	double		p50,
				p95,
				p99;			/* ms; < 0: no calls */
	bool		plan_change;	/* a plan id not seen in earlier windows of the period */
} TimePoint;

/* The windows of the server (queryid NULL) or of one top statement. */
typedef struct Series
{
	char	   *queryid;
	char	   *query;
	int			npoints;
	TimePoint  *points;
	double		regressed_since;	/* latdiag_regressions.since, epoch; 0: not flagged */
} Series;

typedef enum ServerStatus
{
	SRV_OK,
	SRV_DOWN,					/* could not connect */
	SRV_NO_EXTENSION,			/* postgres_latdiag not created in this database */
	SRV_NOT_LOADED,				/* created, but not in shared_preload_libraries */
	SRV_ERROR					/* anything else */
} ServerStatus;

typedef struct Server
{
	const char *dsn;
	char	   *label;
	ServerStatus status;
	char	   *message;
	char	   *server_version;
	char	   *ext_version;
	Table	   *info;			/* latdiag_info */
	SectionResult sections[NUM_SECTIONS];
	Histogram  *hists;
	int			nhists;
	char	   *index_report;	/* latdiag_index_report(), when it exists */
	long		findings[NUM_FINDINGS]; /* -1: not available */
	/* the timeline (timeline.c): series[0] is the server's; none before 1.4 */
	Series	   *series;
	int			nseries;
	char	   *timeline_message;	/* why there is none */
	double		recent_from;	/* start of the recent period, epoch */
	int			nregression_marks;
	double	   *regression_marks;	/* since of every regression, epoch */
	char	   *since_error;	/* --since reaches beyond the kept windows */
} Server;

typedef enum Format
{
	FMT_TEXT,
	FMT_MARKDOWN,
	FMT_JSON,
	FMT_HTML
} Format;

typedef struct Report
{
	Format		format;
	int			top;
	int			width;			/* text: columns to fit (terminal, else 120); 0: --wide */
	bool		fail_on[NUM_FINDINGS];
	double		since;			/* --since, seconds; 0: not given */
	char		recent[64];		/* the recent period, an interval literal */
	int			nservers;
	Server	   *servers;
	char		generated_at[64];	/* ISO 8601, UTC */
	long		findings[NUM_FINDINGS]; /* summed over servers; -1: nowhere */
	int			exit_code;
} Report;

/*
 * SQL: the plan each statement ran with most (by calls) in the kept windows
 * that satisfy `cond` (columns of latdiag_query_windows), one row per
 * (userid, dbid, queryid, toplevel).  latdiag_compare's planids of a period
 * are in no particular order, a single window's are most used first.
 */
#define LATDIAG_USUAL_PLAN(cond) \
	"(SELECT DISTINCT ON (userid, dbid, queryid, toplevel) userid, dbid, queryid, toplevel, planid " \
	"FROM (SELECT userid, dbid, queryid, toplevel, planids[1] AS planid, sum(calls) AS n " \
	"FROM latdiag_query_windows(false) WHERE NOT is_other AND planids[1] IS NOT NULL AND (" cond ") " \
	"GROUP BY 1, 2, 3, 4, 5) AS s ORDER BY userid, dbid, queryid, toplevel, n DESC)"
#define LATDIAG_WINDOW_MIDDLE "(window_start + (window_end - window_start) / 2)"

/* collect.c */
extern void collect_all(Report *r);
extern const char *server_status_name(ServerStatus s);

/* util (collect.c) */
extern void *xmalloc(size_t n);
extern char *xstrdup(const char *s);
extern char *xprintf(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* escape.c */
extern void html_text(FILE *out, const char *s, int max);
extern void json_string(FILE *out, const char *s);
extern char *one_line(const char *msg);

/* timeline.c */
extern void collect_timeline(void *conn, Server *srv, const Report *rep);
extern bool check_since(void *conn, Server *srv, const Report *rep);
extern void render_timeline_html(FILE *out, const Report *r);
extern void render_timeline_json(FILE *out, const Report *r);
extern Table *timeline_table(const Report *r);

/* merge.c */
extern void section_order(const Report *r, int order[NUM_SECTIONS]);
extern Table *merged_section(const Report *r, SectionId id, bool with_server);
extern void free_table(Table *t);
extern int	table_col(const Table *t, const char *name);

/* exporter.c: `latdiag exporter` (argv[0] is "exporter") */
extern int	exporter_main(int argc, char **argv);

/* top.c: `latdiag top` (argv[0] is "top") */
extern int	top_main(int argc, char **argv);

/* duration.c */
extern bool parse_duration(const char *s, double *secs);
extern char *format_duration(double secs);

/* renderers */
extern void render_text(FILE *out, const Report *r, bool markdown);
extern void render_json(FILE *out, const Report *r);
extern void render_html(FILE *out, const Report *r);

#endif							/* LATDIAG_CLI_H */
