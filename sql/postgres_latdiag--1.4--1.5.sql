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

-- ------------------------------------------------------------------------
-- Diagnosis: query shapes, tail snapshots, ranked findings (issue 16).
-- ------------------------------------------------------------------------
