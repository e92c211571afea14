/* postgres_latdiag--1.0--1.1.sql: plans, plan changes and EXPLAIN ANALYZE snapshots */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION postgres_latdiag UPDATE TO '1.1'" to load this file. \quit

-- latdiag_queries gains plan_count
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
    OUT plan_count int8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_queries'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_queries AS
  SELECT * FROM latdiag_queries(true);
GRANT SELECT ON latdiag_queries TO PUBLIC;

-- latdiag_info gains the plan and snapshot stores
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
    OUT snapshot_evictions int8
)
RETURNS record
AS 'MODULE_PATHNAME', 'latdiag_info'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_info AS
  SELECT * FROM latdiag_info();
GRANT SELECT ON latdiag_info TO PUBLIC;

-- One row per (userid, dbid, queryid, planid).
CREATE FUNCTION latdiag_plans(IN showtext boolean DEFAULT true,
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT planid bigint,
    OUT calls int8,
    OUT total_exec_time float8,
    OUT min_exec_time float8,
    OUT max_exec_time float8,
    OUT mean_exec_time float8,
    OUT p50_exec_time float8,
    OUT p95_exec_time float8,
    OUT p99_exec_time float8,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz,
    OUT plan text,
    OUT plan_truncated bool
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_plans'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_plans AS
  SELECT * FROM latdiag_plans(true);
GRANT SELECT ON latdiag_plans TO PUBLIC;

-- Every switch of a query from one plan to another, slower or not.
CREATE FUNCTION latdiag_plan_changes_all(
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT query text,
    OUT old_planid bigint,
    OUT new_planid bigint,
    OUT old_mean_exec_time float8,
    OUT new_mean_exec_time float8,
    OUT old_p95_exec_time float8,
    OUT new_p95_exec_time float8,
    OUT changed_at timestamptz,
    OUT changes int8,
    OUT old_calls int8,
    OUT new_calls int8,
    OUT slower bool
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_plan_changes'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- The switches to a plan that is slower than the one it replaced.
CREATE VIEW latdiag_plan_changes AS
  SELECT userid, dbid, queryid, query, old_planid, new_planid,
         old_mean_exec_time, new_mean_exec_time,
         old_p95_exec_time, new_p95_exec_time,
         changed_at, changes, old_calls, new_calls
    FROM latdiag_plan_changes_all()
   WHERE slower;
GRANT SELECT ON latdiag_plan_changes TO PUBLIC;

-- EXPLAIN ANALYZE of the slowest execution of each (query, plan).
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
    OUT plan_truncated bool
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_explain_snapshots'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_explain_snapshots AS
  SELECT * FROM latdiag_explain_snapshots();
GRANT SELECT ON latdiag_explain_snapshots TO PUBLIC;

-- The plan of the slowest snapshot of a query.
CREATE FUNCTION latdiag_explain(queryid bigint)
RETURNS text
AS 'MODULE_PATHNAME', 'latdiag_explain'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;
