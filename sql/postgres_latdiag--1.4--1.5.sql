/* postgres_latdiag--1.4--1.5.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION postgres_latdiag UPDATE TO '1.5'" to load this file. \quit

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
