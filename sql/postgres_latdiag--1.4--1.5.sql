/* postgres_latdiag--1.4--1.5.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION postgres_latdiag UPDATE TO '1.5'" to load this file. \quit

-- ------------------------------------------------------------------------
-- Time windows count failed executions (issue 14): latdiag_windows and
-- latdiag_query_windows gain errors, latdiag_regressions recent_errors and
-- baseline_errors (and the likely cause "more errors"), latdiag_compare
-- errors_1 and errors_2.
-- ------------------------------------------------------------------------
DROP VIEW latdiag_regressions;
DROP FUNCTION latdiag_regressions(interval, interval);
DROP FUNCTION latdiag_regressions(interval, text);
DROP VIEW latdiag_query_windows;
DROP FUNCTION latdiag_query_windows(boolean);
DROP VIEW latdiag_windows;
DROP FUNCTION latdiag_windows();
DROP FUNCTION latdiag_compare(timestamptz, timestamptz, timestamptz, timestamptz);

-- One row per kept window, for the whole server.
CREATE FUNCTION latdiag_windows(
    OUT window_start timestamptz,
    OUT window_end timestamptz,
    OUT calls int8,
    OUT total_exec_time float8,
    OUT mean_exec_time float8,
    OUT p50_exec_time float8,
    OUT p95_exec_time float8,
    OUT p99_exec_time float8,
    OUT statements int4,
    OUT lock_wait_time float8,
    OUT other_statements int4,
    OUT other_calls int8,
    OUT rows int8,
    OUT shared_blks_hit int8,
    OUT shared_blks_read int8,
    OUT lock_waits int8,
    OUT errors int8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_windows'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_windows AS
  SELECT * FROM latdiag_windows() ORDER BY window_start;
GRANT SELECT ON latdiag_windows TO PUBLIC;

-- One row per (window, statement); the statements not kept are one "other" row.
CREATE FUNCTION latdiag_query_windows(IN showtext boolean DEFAULT true,
    OUT window_start timestamptz,
    OUT window_end timestamptz,
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT toplevel bool,
    OUT query text,
    OUT calls int8,
    OUT total_exec_time float8,
    OUT mean_exec_time float8,
    OUT p50_exec_time float8,
    OUT p95_exec_time float8,
    OUT p99_exec_time float8,
    OUT rows int8,
    OUT shared_blks_hit int8,
    OUT shared_blks_read int8,
    OUT temp_blks_read int8,
    OUT temp_blks_written int8,
    OUT lock_waits int8,
    OUT lock_wait_time float8,
    OUT planids bigint[],
    OUT is_other bool,
    OUT other_statements int4,
    OUT errors int8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_query_windows'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_query_windows AS
  SELECT * FROM latdiag_query_windows(true);
GRANT SELECT ON latdiag_query_windows TO PUBLIC;

-- Statements whose recent windows are significantly worse than their baseline.
CREATE FUNCTION latdiag_regressions(
    IN recent interval DEFAULT '5 minutes',
    IN baseline interval DEFAULT '1 hour',
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT toplevel bool,
    OUT query text,
    OUT recent_calls int8,
    OUT baseline_calls int8,
    OUT recent_p50 float8,
    OUT recent_p95 float8,
    OUT recent_p99 float8,
    OUT recent_mean float8,
    OUT baseline_p50 float8,
    OUT baseline_p95 float8,
    OUT baseline_p99 float8,
    OUT baseline_mean float8,
    OUT factor float8,
    OUT since timestamptz,
    OUT likely_cause text,
    OUT causes text[],
    OUT p_value float8,
    OUT recent_errors int8,
    OUT baseline_errors int8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_regressions'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;
GRANT EXECUTE ON FUNCTION latdiag_regressions(interval, interval) TO PUBLIC;

CREATE FUNCTION latdiag_regressions(
    IN recent interval,
    IN baseline text,
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT toplevel bool,
    OUT query text,
    OUT recent_calls int8,
    OUT baseline_calls int8,
    OUT recent_p50 float8,
    OUT recent_p95 float8,
    OUT recent_p99 float8,
    OUT recent_mean float8,
    OUT baseline_p50 float8,
    OUT baseline_p95 float8,
    OUT baseline_p99 float8,
    OUT baseline_mean float8,
    OUT factor float8,
    OUT since timestamptz,
    OUT likely_cause text,
    OUT causes text[],
    OUT p_value float8,
    OUT recent_errors int8,
    OUT baseline_errors int8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_regressions_baseline'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;
GRANT EXECUTE ON FUNCTION latdiag_regressions(interval, text) TO PUBLIC;

CREATE VIEW latdiag_regressions AS
  SELECT * FROM latdiag_regressions('5 minutes'::interval, '1 hour'::interval)
   ORDER BY factor DESC;
GRANT SELECT ON latdiag_regressions TO PUBLIC;


-- Two periods among the kept windows, side by side per statement.
CREATE FUNCTION latdiag_compare(
    IN from1 timestamptz,
    IN to1 timestamptz,
    IN from2 timestamptz,
    IN to2 timestamptz,
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT toplevel bool,
    OUT query text,
    OUT calls_1 int8,
    OUT calls_2 int8,
    OUT total_exec_time_1 float8,
    OUT total_exec_time_2 float8,
    OUT mean_exec_time_1 float8,
    OUT mean_exec_time_2 float8,
    OUT p50_exec_time_1 float8,
    OUT p50_exec_time_2 float8,
    OUT p95_exec_time_1 float8,
    OUT p95_exec_time_2 float8,
    OUT p99_exec_time_1 float8,
    OUT p99_exec_time_2 float8,
    OUT rows_1 int8,
    OUT rows_2 int8,
    OUT shared_blks_read_1 int8,
    OUT shared_blks_read_2 int8,
    OUT lock_wait_time_1 float8,
    OUT lock_wait_time_2 float8,
    OUT factor float8,
    OUT planids_1 bigint[],
    OUT planids_2 bigint[],
    OUT errors_1 int8,
    OUT errors_2 int8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_compare'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;
GRANT EXECUTE ON FUNCTION latdiag_compare(timestamptz, timestamptz, timestamptz, timestamptz) TO PUBLIC;

-- ------------------------------------------------------------------------
-- Who sent it: per-source aggregates (issue 15).
-- ------------------------------------------------------------------------

-- One row per (userid, dbid, queryid, toplevel, source): a source is the
-- application_name plus the sqlcommenter service/controller/route/action/
-- framework tags of the statement's comment (NULL when absent).
CREATE FUNCTION latdiag_query_sources(IN showtext boolean DEFAULT true,
    OUT userid oid,
    OUT dbid oid,
    OUT toplevel bool,
    OUT queryid bigint,
    OUT application_name text,
    OUT service text,
    OUT controller text,
    OUT route text,
    OUT action text,
    OUT framework text,
    OUT calls int8,
    OUT total_exec_time float8,
    OUT mean_exec_time float8,
    OUT min_exec_time float8,
    OUT max_exec_time float8,
    OUT p95_exec_time float8,
    OUT errors int8,
    OUT error_time float8,
    OUT last_seen timestamptz,
    OUT query text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_query_sources'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_query_sources AS
  SELECT * FROM latdiag_query_sources(true);
GRANT SELECT ON latdiag_query_sources TO PUBLIC;

-- latdiag_info gains the source table and the error table's counts
DROP VIEW latdiag_info;
DROP FUNCTION latdiag_info();
CREATE FUNCTION latdiag_info(
    OUT entries int8,
    OUT max_entries int8,
    OUT evictions int8,
    OUT truncated_texts int8,
    OUT max_query_length int4,
    OUT shmem_bytes int8,
    OUT stats_reset timestamptz,
    OUT plans int8,
    OUT max_plans int8,
    OUT plan_evictions int8,
    OUT plan_changes int8,
    OUT plan_change_evictions int8,
    OUT snapshots int8,
    OUT max_snapshots int8,
    OUT snapshot_evictions int8,
    OUT seq_scans int8,
    OUT max_seq_scans int8,
    OUT seq_scan_evictions int8,
    OUT n_plus_one int8,
    OUT max_n_plus_one int8,
    OUT n_plus_one_evictions int8,
    OUT n_plus_one_episodes int8,
    OUT lock_waits int8,
    OUT max_lock_waits int8,
    OUT lock_wait_evictions int8,
    OUT lock_waits_dropped int8,
    OUT windows int8,
    OUT max_windows int8,
    OUT window_rows int8,
    OUT max_window_rows int8,
    OUT baselines int8,
    OUT max_baselines int8,
    OUT sources int8,
    OUT max_sources int8,
    OUT source_evictions int8,
    OUT error_entries int8,
    OUT max_errors int8,
    OUT error_evictions int8
)
RETURNS record
AS 'MODULE_PATHNAME', 'latdiag_info'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_info AS
  SELECT * FROM latdiag_info();
GRANT SELECT ON latdiag_info TO PUBLIC;

-- ------------------------------------------------------------------------
-- Diagnosis: query shapes, tail snapshots, ranked findings (issue 16).
-- ------------------------------------------------------------------------
