/* postgres_latdiag--1.2--1.3.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION postgres_latdiag UPDATE TO '1.3'" to load this file. \quit

-- ---------------------------------------------------------------- lock waits

-- latdiag_queries gains lock_waits and lock_wait_time
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
    OUT lock_wait_time float8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_queries'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_queries AS
  SELECT * FROM latdiag_queries(true);
GRANT SELECT ON latdiag_queries TO PUBLIC;

-- latdiag_info gains the N+1 and lock-wait stores
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
    OUT lock_waits_dropped int8
)
RETURNS record
AS 'MODULE_PATHNAME', 'latdiag_info'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_info AS
  SELECT * FROM latdiag_info();
GRANT SELECT ON latdiag_info TO PUBLIC;

-- Every (statement, lock, blocker statement) with the lock waits recorded.
CREATE FUNCTION latdiag_lock_waits_all(
    OUT dbid oid,
    OUT userid oid,
    OUT queryid bigint,
    OUT query text,
    OUT locktype text,
    OUT mode text,
    OUT relid oid,
    OUT relname text,
    OUT waits int8,
    OUT cancelled int8,
    OUT total_wait_time float8,
    OUT max_wait_time float8,
    OUT mean_wait_time float8,
    OUT blocker_queryid bigint,
    OUT blocker_query text,
    OUT blocker_state text,
    OUT last_seen timestamptz,
    OUT blocker_pid int4,
    OUT max_blocker_xact_age float8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_lock_waits'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- The statements that waited longest first.
CREATE VIEW latdiag_lock_waits AS
  SELECT * FROM latdiag_lock_waits_all()
   ORDER BY total_wait_time DESC, waits DESC;
GRANT SELECT ON latdiag_lock_waits TO PUBLIC;

-- Forget the lock waits matching (userid, dbid, queryid); 0 matches any value.
CREATE FUNCTION latdiag_lock_waits_reset(userid oid DEFAULT 0, dbid oid DEFAULT 0,
                                         queryid bigint DEFAULT 0)
RETURNS void
AS 'MODULE_PATHNAME', 'latdiag_lock_waits_reset'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;
REVOKE ALL ON FUNCTION latdiag_lock_waits_reset(oid, oid, bigint) FROM PUBLIC;

-- Who blocks whom right now: each waiting backend under the backend that
-- blocks it (pg_blocking_pids), the chains' heads (blocking, not waiting)
-- at depth 0.  Ordered by path, so that it reads as a tree.  A backend
-- blocked by several appears under each.  Query texts follow
-- pg_stat_activity's privacy.
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
       a.query
  FROM tree t
  LEFT JOIN pg_stat_activity a ON a.pid = t.pid
  LEFT JOIN awaited l ON l.pid = t.pid AND t.depth > 0
 ORDER BY t.path;
GRANT SELECT ON latdiag_lock_tree TO PUBLIC;

-- ---------------------------------------------------------------- N+1

-- N+1 patterns: one row per (user, database, kind, level, parent, child).
CREATE FUNCTION latdiag_n_plus_one(
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
AS 'MODULE_PATHNAME', 'latdiag_n_plus_one'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- The costliest patterns first.
CREATE VIEW latdiag_n_plus_one AS
  SELECT * FROM latdiag_n_plus_one()
  ORDER BY total_round_trip_time DESC;
GRANT SELECT ON latdiag_n_plus_one TO PUBLIC;
