/*
 * guc.c: definitions of the latdiag.* settings.
 *
 * Settings that size shared memory are PGC_POSTMASTER; the ones that only
 * change what is captured are PGC_SUSET, so that an ordinary user cannot hide
 * their queries from the DBA.  Every numeric setting carries a range, so an
 * out-of-range value is rejected when it is SET.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "compat.h"
#include "guc.h"

bool		latdiag_enabled = true;
int			latdiag_max_queries = 5000;
int			latdiag_max_query_length = 2048;
int			latdiag_track = LATDIAG_TRACK_TOP;
int			latdiag_track_max_level = 0;
bool		latdiag_track_utility = true;
bool		latdiag_track_planning = false;
bool		latdiag_save = true;
int			latdiag_max_plans = 1000;
int			latdiag_max_plan_length = 4096;
int			latdiag_max_snapshots = 100;
int			latdiag_max_snapshot_length = 32768;
int			latdiag_snapshot_min_duration = 1000;
int			latdiag_snapshot_format = EXPLAIN_FORMAT_TEXT;
bool		latdiag_snapshot_timing = false;
double		latdiag_snapshot_sample_rate = 0.01;
int			latdiag_snapshot_tail_min_duration = 10;
int			latdiag_large_offset = 1000;
int			latdiag_unbounded_rows = 10000;
int			latdiag_max_seq_scans = 1000;
int			latdiag_large_table_rows = 10000;
double		latdiag_seq_scan_max_selectivity = 0.1;
int			latdiag_max_n_plus_one = 1000;
int			latdiag_checkpoint_interval = 300;
int			latdiag_lock_sample_interval = 10;
int			latdiag_max_lock_waits = 1000;
int			latdiag_max_errors = 1000;
int			latdiag_max_sources = 5000;
int			latdiag_max_slow_executions = 1000;
int			latdiag_slow_execution_min_duration = 100;
double		latdiag_index_min_improvement = 0.5;
int			latdiag_report_interval = 0;
char	   *latdiag_report_database = NULL;
int			latdiag_window_interval = 60;
int			latdiag_max_windows = 60;
int			latdiag_window_max_queries = 500;
int			latdiag_max_baselines = 8;
int			latdiag_max_param_samples = 1000;
int			latdiag_n_plus_one_min_calls = 5;
int			latdiag_n_plus_one_min_time = 50;
int			latdiag_n_plus_one_max_gap = 100;
int			latdiag_n_plus_one_max_rows = 10;

static const struct config_enum_entry track_options[] =
{
	{"none", LATDIAG_TRACK_NONE, false},
	{"top", LATDIAG_TRACK_TOP, false},
	{"all", LATDIAG_TRACK_ALL, false},
	{NULL, 0, false}
};

static const struct config_enum_entry format_options[] =
{
	{"text", EXPLAIN_FORMAT_TEXT, false},
	{"json", EXPLAIN_FORMAT_JSON, false},
	{NULL, 0, false}
};

/*
 * latdiag.enabled and latdiag.track, folded into the deepest nesting level
 * tracked (-1: none), so that the hooks test one integer per statement.
 */
static void
update_track_max_level(bool enabled, int track)
{
	latdiag_track_max_level = !enabled || track == LATDIAG_TRACK_NONE ? -1 :
		track == LATDIAG_TRACK_TOP ? 0 : INT_MAX;
}

static void
assign_enabled(bool newval, void *extra)
{
	update_track_max_level(newval, latdiag_track);
}

static void
assign_track(int newval, void *extra)
{
	update_track_max_level(latdiag_enabled, newval);
}

/* Define every latdiag.* setting; called once from _PG_init. */
void
guc_define(void)
{
	DefineCustomBoolVariable("latdiag.enabled",
							 "Turns all capture by postgres_latdiag on or off.",
							 "When off, the hooks only test this flag and pass through.",
							 &latdiag_enabled,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, assign_enabled, NULL);

	DefineCustomIntVariable("latdiag.max_queries",
							"Maximum number of statements kept in the query store.",
							"When the store is full, the least-used entries are evicted.",
							&latdiag_max_queries,
							5000,
							100,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.max_query_length",
							"Maximum length in bytes of a stored normalized query text.",
							"Longer texts are cut at this length and flagged query_truncated.",
							&latdiag_max_query_length,
							2048,
							256,
							1048576,
							PGC_POSTMASTER,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("latdiag.track",
							 "Which statements postgres_latdiag tracks: none, top (top-level only) or all (nested too).",
							 NULL,
							 &latdiag_track,
							 LATDIAG_TRACK_TOP,
							 track_options,
							 PGC_SUSET,
							 0,
							 NULL, assign_track, NULL);

	DefineCustomBoolVariable("latdiag.track_utility",
							 "Tracks utility statements (DDL, VACUUM, COPY ...).",
							 NULL,
							 &latdiag_track_utility,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("latdiag.track_planning",
							 "Tracks planning time and planning buffer use.",
							 NULL,
							 &latdiag_track_planning,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("latdiag.save",
							 "Saves the query store at clean shutdown and reloads it at start.",
							 NULL,
							 &latdiag_save,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.max_plans",
							"Maximum number of (query, plan) pairs kept, and of plan changes.",
							"When full, the least-used entries are evicted.",
							&latdiag_max_plans,
							1000,
							100,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.max_plan_length",
							"Maximum length in bytes of a stored EXPLAIN (COSTS OFF) plan text.",
							"Longer plans are cut at this length and flagged plan_truncated.",
							&latdiag_max_plan_length,
							4096,
							256,
							1048576,
							PGC_POSTMASTER,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.max_snapshots",
							"Maximum number of EXPLAIN ANALYZE snapshots kept.",
							"When full, the snapshots of the fastest executions are evicted first.",
							&latdiag_max_snapshots,
							100,
							10,
							100000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.max_snapshot_length",
							"Maximum length in bytes of one snapshot's plan.",
							"Longer plans are cut at this length and flagged plan_truncated.",
							&latdiag_max_snapshot_length,
							32768,
							1024,
							10485760,
							PGC_POSTMASTER,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.snapshot_min_duration",
							"Executions at least this long get an EXPLAIN ANALYZE snapshot; -1 disables snapshots.",
							"Later executions of a statement seen this slow are instrumented.",
							&latdiag_snapshot_min_duration,
							1000,
							-1,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("latdiag.snapshot_format",
							 "Format of snapshot plans: text or json.",
							 NULL,
							 &latdiag_snapshot_format,
							 EXPLAIN_FORMAT_TEXT,
							 format_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("latdiag.snapshot_timing",
							 "Collects per-node timings in armed executions (costlier).",
							 "Rows and buffers are always collected.",
							 &latdiag_snapshot_timing,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("latdiag.snapshot_sample_rate",
							 "Fraction of executions of statements never seen slow that are instrumented anyway.",
							 "So that a statement slow for the first time is caught soon; 0 disables sampling.",
							 &latdiag_snapshot_sample_rate,
							 0.01,
							 0.0,
							 1.0,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.snapshot_tail_min_duration",
							"Floor of tail snapshots: an execution slower than its statement's recent p99 and at least this long gets a snapshot; -1 disables them.",
							"Statements whose recent p99 reaches this floor are instrumented; the others only at latdiag.snapshot_sample_rate.",
							&latdiag_snapshot_tail_min_duration,
							10,
							-1,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.large_offset",
							"Executions whose OFFSET is at least this many rows count as deep-offset pagination; -1 disables the rule.",
							"Read from the executed plan's top Limit node (parameters evaluated).",
							&latdiag_large_offset,
							1000,
							-1,
							INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.unbounded_rows",
							"Executions without LIMIT returning at least this many rows count as unbounded reads; -1 disables the rule.",
							NULL,
							&latdiag_unbounded_rows,
							10000,
							-1,
							INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.max_seq_scans",
							"Maximum number of (statement, table) seq-scan entries kept.",
							"When full, the least-used entries are evicted.",
							&latdiag_max_seq_scans,
							1000,
							100,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.large_table_rows",
							"Sequential scans of tables with at least this many rows are attributed to their statements; -1 disables.",
							"Checked when a plan is first seen, against the planner's estimate of the table's rows.",
							&latdiag_large_table_rows,
							10000,
							-1,
							INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomRealVariable("latdiag.seq_scan_max_selectivity",
							 "A sequential scan returning more than this fraction of the rows it reads is not flagged as a problem.",
							 "Above it, reading the table sequentially is usually cheaper than an index.",
							 &latdiag_seq_scan_max_selectivity,
							 0.1,
							 0.0,
							 1.0,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.checkpoint_interval",
							"Time between checkpoints of the saved statistics while the server runs; 0 disables.",
							"A crash then loses only what changed since the last checkpoint. Needs latdiag.save.",
							&latdiag_checkpoint_interval,
							300,
							0,
							86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.max_n_plus_one",
							"Maximum number of N+1 patterns kept (per kind, parent and child statement).",
							"When the table is full, the least-used entries are evicted.",
							&latdiag_max_n_plus_one,
							1000,
							10,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.n_plus_one_min_calls",
							"Calls of one statement in a run that make an N+1 episode.",
							NULL,
							&latdiag_n_plus_one_min_calls,
							5,
							2,
							1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.n_plus_one_min_time",
							"Wall time from the first call's start to the last call's end that makes a run an N+1 episode.",
							"Includes the client round trips between the calls.",
							&latdiag_n_plus_one_min_time,
							50,
							0,
							3600000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.n_plus_one_max_gap",
							"A run of calls of one statement ends when the next call comes later than this after the previous one.",
							NULL,
							&latdiag_n_plus_one_max_gap,
							100,
							1,
							3600000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.n_plus_one_max_rows",
							"Average rows per call above which a loop of reads is not an N+1 pattern.",
							NULL,
							&latdiag_n_plus_one_max_rows,
							10,
							0,
							INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.lock_sample_interval",
							"Interval at which the sampler looks for lock waits; 0 stops it.",
							"Lock wait times are accurate to about one interval.",
							&latdiag_lock_sample_interval,
							10,
							0,
							60000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.max_lock_waits",
							"Maximum number of (statement, lock, blocker statement) lock-wait entries kept.",
							"When full, the least-used entries are evicted.",
							&latdiag_max_lock_waits,
							1000,
							100,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.max_errors",
							"Maximum number of (statement, SQLSTATE) error entries kept.",
							"When full, the least-used entries are evicted.",
							&latdiag_max_errors,
							1000,
							100,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.max_sources",
							"Maximum number of (statement, source) entries kept in latdiag_query_sources.",
							"A source is the application_name plus the sqlcommenter service, controller, route, action and framework tags. When full, the least-used entries are evicted.",
							&latdiag_max_sources,
							5000,
							100,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.max_slow_executions",
							"Number of slow or failed executions kept in latdiag_slow_executions.",
							"The oldest is overwritten; 0 keeps none.",
							&latdiag_max_slow_executions,
							1000,
							0,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.slow_execution_min_duration",
							"Executions at least this long are logged in latdiag_slow_executions; -1 logs failed executions only.",
							NULL,
							&latdiag_slow_execution_min_duration,
							100,
							-1,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomRealVariable("latdiag.index_min_improvement",
							 "Index advice keeps a candidate only if it cuts a statement's estimated cost by at least this fraction.",
							 "0.5 keeps indexes that at least halve the cost.",
							 &latdiag_index_min_improvement,
							 0.5,
							 0.0,
							 1.0,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.report_interval",
							"Interval between index reports recorded by the report worker; 0 turns it off.",
							"The worker calls latdiag_record_index_report() in latdiag.report_database.",
							&latdiag_report_interval,
							0,
							0,
							INT_MAX / 1000,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomStringVariable("latdiag.report_database",
							   "Database in which the report worker records index reports.",
							   NULL,
							   &latdiag_report_database,
							   "postgres",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.window_interval",
							"Length of a time window: the sampler worker closes one this often.",
							"Windows are aligned to multiples of the interval since the epoch.",
							&latdiag_window_interval,
							60,
							10,
							3600,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.max_windows",
							"Number of time windows kept; the oldest is dropped when a new one closes.",
							NULL,
							&latdiag_max_windows,
							60,
							2,
							10080,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.window_max_queries",
							"Statements kept per time window, the heaviest by execution time.",
							"The others are summed into one \"other\" row per window.",
							&latdiag_window_max_queries,
							500,
							10,
							100000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.max_baselines",
							"Number of named baselines kept (latdiag_baseline_save).",
							"Each keeps up to latdiag.window_max_queries statements.",
							&latdiag_max_baselines,
							8,
							1,
							1000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("latdiag.max_param_samples",
							"Number of statements whose actual parameter values are kept for index advice; 0 keeps none.",
							"Values of slow executions, and of sampled executions of plans with large-table seq scans.",
							&latdiag_max_param_samples,
							1000,
							0,
							100000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("latdiag");
}
