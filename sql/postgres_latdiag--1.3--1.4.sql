/* postgres_latdiag--1.3--1.4.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION postgres_latdiag UPDATE TO '1.4'" to load this file. \quit

-- Forget only the minimum and maximum times (as pg_stat_statements_reset's
-- minmax_only), or everything matching, as the three-argument form.
CREATE FUNCTION latdiag_reset(userid oid, dbid oid, queryid bigint, minmax_only boolean)
RETURNS void
AS 'MODULE_PATHNAME', 'latdiag_reset_minmax'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;
REVOKE ALL ON FUNCTION latdiag_reset(oid, oid, bigint, boolean) FROM PUBLIC;

-- The plan id core reports for each backend's running statement (18 and
-- later; latdiag sets it to the id latdiag_plans shows), NULL elsewhere.
CREATE FUNCTION latdiag_backend_plans(OUT pid int4, OUT planid bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_backend_plans'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
GRANT EXECUTE ON FUNCTION latdiag_backend_plans() TO PUBLIC;

-- latdiag_lock_tree gains the plan id of each waiting and blocking statement
DROP VIEW latdiag_lock_tree;
CREATE VIEW latdiag_lock_tree AS
WITH RECURSIVE
waiter AS (
  SELECT a.pid, b.blocker
    FROM pg_stat_activity a,
         LATERAL unnest(pg_blocking_pids(a.pid)) AS b(blocker)
   WHERE a.wait_event_type = 'Lock'
),
awaited AS (
  SELECT DISTINCT ON (pid) pid, locktype, mode, relation, waitstart
    FROM pg_locks
   WHERE NOT granted
   ORDER BY pid, waitstart
),
tree AS (
  SELECT h.blocker AS pid, NULL::int4 AS blocked_by, 0 AS depth,
         ARRAY[h.blocker] AS path
    FROM (SELECT DISTINCT blocker FROM waiter w
           WHERE NOT EXISTS (SELECT 1 FROM waiter w2 WHERE w2.pid = w.blocker)) h
  UNION ALL
  SELECT w.pid, w.blocker, t.depth + 1, t.path || w.pid
    FROM tree t JOIN waiter w ON w.blocker = t.pid
   WHERE w.pid <> ALL (t.path)
)
SELECT t.depth,
       t.path,
       repeat('    ', t.depth) || t.pid::text AS tree,
       t.pid,
       t.blocked_by,
       CASE WHEN t.pid = 0 THEN 'prepared transaction' ELSE a.state END AS state,
       l.locktype AS wait_locktype,
       l.mode AS wait_mode,
       l.relation::regclass AS wait_relation,
       extract(epoch FROM (clock_timestamp() - l.waitstart)) * 1000 AS wait_time,
       extract(epoch FROM (clock_timestamp() - a.xact_start)) * 1000 AS xact_age,
       a.usename,
       a.application_name,
       a.query_id AS queryid,
       a.query,
       p.planid
  FROM tree t
  LEFT JOIN pg_stat_activity a ON a.pid = t.pid
  LEFT JOIN latdiag_backend_plans() p ON p.pid = t.pid
  LEFT JOIN awaited l ON l.pid = t.pid AND t.depth > 0
 ORDER BY t.path;
GRANT SELECT ON latdiag_lock_tree TO PUBLIC;

-- ------------------------------------------------------------------------
-- Time windows, baselines and regressions (doc/reference.md, "Windows").
-- ------------------------------------------------------------------------

-- latdiag_info gains the window and baseline tables
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
    OUT max_baselines int8
)
RETURNS record
AS 'MODULE_PATHNAME', 'latdiag_info'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_info AS
  SELECT * FROM latdiag_info();
GRANT SELECT ON latdiag_info TO PUBLIC;

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
    OUT lock_waits int8
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
    OUT other_statements int4
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
    OUT p_value float8
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
    OUT p_value float8
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
    OUT planids_2 bigint[]
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_compare'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;
GRANT EXECUTE ON FUNCTION latdiag_compare(timestamptz, timestamptz, timestamptz, timestamptz) TO PUBLIC;

-- Named baselines: saved distributions that outlive the windows.
CREATE FUNCTION latdiag_baseline_save(name text, period interval DEFAULT NULL)
RETURNS int4
AS 'MODULE_PATHNAME', 'latdiag_baseline_save'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION latdiag_baseline_save(text, interval) FROM PUBLIC;

CREATE FUNCTION latdiag_baseline_drop(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'latdiag_baseline_drop'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION latdiag_baseline_drop(text) FROM PUBLIC;

CREATE FUNCTION latdiag_baselines(
    OUT name text,
    OUT created timestamptz,
    OUT period_start timestamptz,
    OUT period_end timestamptz,
    OUT statements int4,
    OUT calls int8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_baselines'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_baselines AS
  SELECT * FROM latdiag_baselines() ORDER BY created;
GRANT SELECT ON latdiag_baselines TO PUBLIC;

-- ---------------------------------------------------------------- N+1 (issue 17)
-- Every N+1 row, loops without a parent (kind 'read_loop') included; the
-- latdiag_n_plus_one view (and function) leave those out.
CREATE FUNCTION latdiag_n_plus_one_all(
    OUT dbid oid,
    OUT userid oid,
    OUT kind text,
    OUT toplevel bool,
    OUT parent_queryid bigint,
    OUT parent_query text,
    OUT child_queryid bigint,
    OUT child_query text,
    OUT episodes int8,
    OUT child_calls int8,
    OUT avg_calls_per_episode float8,
    OUT max_calls_per_episode int8,
    OUT total_round_trip_time float8,
    OUT child_exec_time float8,
    OUT last_seen timestamptz,
    OUT suggestion text,
    OUT mean_round_trip_time float8,
    OUT rows_per_call float8,
    OUT distinct_ratio float8,
    OUT confidence float8,
    OUT first_seen timestamptz
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_n_plus_one_all'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- latdiag_queries gains the counters pg_stat_statements has on the server's
-- version: temp block times and JIT (15), shared/local block times, JIT
-- deforming, stats_since and minmax_stats_since (17), parallel workers and
-- wal_buffers_full (18), generic and custom plan calls (19).  Where the
-- server has no such figure the column is NULL.
-- (One definition below, with the failure columns too.)
--
-- Failed executions.  latdiag_queries gains the executions that ended in
-- ERROR (not in calls): errors, error_time, the common causes (timeouts
-- 57014, deadlocks 40P01, serialization_failures 40001, lock_timeouts
-- 55P03), and percentiles over finished and failed executions together
-- (p50_all_exec_time ...) next to those of finished ones.
DROP VIEW latdiag_queries;
DROP FUNCTION latdiag_queries(boolean);
CREATE FUNCTION latdiag_queries(IN showtext boolean DEFAULT true,
    OUT userid oid,
    OUT dbid oid,
    OUT toplevel bool,
    OUT queryid bigint,
    OUT query text,
    OUT query_truncated bool,
    OUT calls int8,
    OUT rows int8,
    OUT total_exec_time float8,
    OUT min_exec_time float8,
    OUT max_exec_time float8,
    OUT mean_exec_time float8,
    OUT stddev_exec_time float8,
    OUT p50_exec_time float8,
    OUT p90_exec_time float8,
    OUT p95_exec_time float8,
    OUT p99_exec_time float8,
    OUT p999_exec_time float8,
    OUT plans int8,
    OUT total_plan_time float8,
    OUT min_plan_time float8,
    OUT max_plan_time float8,
    OUT mean_plan_time float8,
    OUT stddev_plan_time float8,
    OUT shared_blks_hit int8,
    OUT shared_blks_read int8,
    OUT shared_blks_dirtied int8,
    OUT shared_blks_written int8,
    OUT local_blks_hit int8,
    OUT local_blks_read int8,
    OUT local_blks_dirtied int8,
    OUT local_blks_written int8,
    OUT temp_blks_read int8,
    OUT temp_blks_written int8,
    OUT blk_read_time float8,
    OUT blk_write_time float8,
    OUT wal_records int8,
    OUT wal_fpi int8,
    OUT wal_bytes numeric,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz,
    OUT plan_count int8,
    OUT lock_waits int8,
    OUT lock_wait_time float8,
    OUT temp_blk_read_time float8,
    OUT temp_blk_write_time float8,
    OUT shared_blk_read_time float8,
    OUT shared_blk_write_time float8,
    OUT local_blk_read_time float8,
    OUT local_blk_write_time float8,
    OUT jit_functions int8,
    OUT jit_generation_time float8,
    OUT jit_inlining_count int8,
    OUT jit_inlining_time float8,
    OUT jit_optimization_count int8,
    OUT jit_optimization_time float8,
    OUT jit_emission_count int8,
    OUT jit_emission_time float8,
    OUT jit_deform_count int8,
    OUT jit_deform_time float8,
    OUT stats_since timestamptz,
    OUT minmax_stats_since timestamptz,
    OUT parallel_workers_to_launch int8,
    OUT parallel_workers_launched int8,
    OUT wal_buffers_full int8,
    OUT generic_plan_calls int8,
    OUT custom_plan_calls int8,
    OUT errors int8,
    OUT error_time float8,
    OUT timeouts int8,
    OUT deadlocks int8,
    OUT serialization_failures int8,
    OUT lock_timeouts int8,
    OUT p50_all_exec_time float8,
    OUT p90_all_exec_time float8,
    OUT p95_all_exec_time float8,
    OUT p99_all_exec_time float8,
    OUT p999_all_exec_time float8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_queries'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_queries AS
  SELECT * FROM latdiag_queries(true);
GRANT SELECT ON latdiag_queries TO PUBLIC;

-- One row per (userid, dbid, queryid, sqlstate): executions that ended in
-- ERROR; queryid NULL for errors raised before the statement had one
-- (syntax errors) or in rows the reader may not identify.
CREATE FUNCTION latdiag_errors(
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT sqlstate text,
    OUT errors int8,
    OUT total_time float8,
    OUT max_time float8,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz,
    OUT message text,
    OUT query text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_errors'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_errors AS
  SELECT * FROM latdiag_errors();
GRANT SELECT ON latdiag_errors TO PUBLIC;

-- The most recent executions slower than latdiag.slow_execution_min_duration
-- or that failed, newest first (latdiag.max_slow_executions of them), with
-- who sent them and the W3C trace context of a sqlcommenter traceparent.
CREATE FUNCTION latdiag_slow_executions(
    OUT finished_at timestamptz,
    OUT duration float8,
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT planid bigint,
    OUT toplevel bool,
    OUT sqlstate text,
    OUT rows int8,
    OUT shared_blks_hit int8,
    OUT shared_blks_read int8,
    OUT lock_wait_time float8,
    OUT pid int4,
    OUT application_name text,
    OUT client_addr text,
    OUT trace_id text,
    OUT parent_span_id text,
    OUT tags jsonb,
    OUT query text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_slow_executions'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_slow_executions AS
  SELECT * FROM latdiag_slow_executions();
GRANT SELECT ON latdiag_slow_executions TO PUBLIC;

-- latdiag_explain_snapshots gains the W3C trace context of the execution it
-- shows, from a sqlcommenter traceparent: from a trace to its plan and back.
DROP VIEW latdiag_explain_snapshots;
DROP FUNCTION latdiag_explain_snapshots();
CREATE FUNCTION latdiag_explain_snapshots(
    OUT snapshot_id int8,
    OUT captured_at timestamptz,
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT planid bigint,
    OUT exec_time float8,
    OUT query text,
    OUT plan text,
    OUT plan_truncated bool,
    OUT trace_id text,
    OUT parent_span_id text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_explain_snapshots'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_explain_snapshots AS
  SELECT * FROM latdiag_explain_snapshots();
GRANT SELECT ON latdiag_explain_snapshots TO PUBLIC;
