/* postgres_latdiag--1.1--1.2.sql: sequential scans of large tables */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION postgres_latdiag UPDATE TO '1.2'" to load this file. \quit

-- latdiag_info gains the seq-scan store
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
    OUT seq_scan_evictions int8
)
RETURNS record
AS 'MODULE_PATHNAME', 'latdiag_info'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_info AS
  SELECT * FROM latdiag_info();
GRANT SELECT ON latdiag_info TO PUBLIC;

-- Every (statement, table) with a sequential scan of a large table.
CREATE FUNCTION latdiag_seq_scans_all(
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT query text,
    OUT relid oid,
    OUT relname text,
    OUT table_rows float8,
    OUT calls int8,
    OUT rows_scanned float8,
    OUT rows_returned float8,
    OUT selectivity float8,
    OUT measured bool,
    OUT filter text,
    OUT filter_columns text[],
    OUT inner_of_nested_loop bool,
    OUT total_exec_time float8,
    OUT last_seen timestamptz,
    OUT problem bool,
    OUT total_rows_scanned float8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_seq_scans'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- The problems: selective scans (at most latdiag.seq_scan_max_selectivity of
-- the rows read are returned), the most rows read first.
CREATE VIEW latdiag_seq_scans AS
  SELECT dbid, queryid, query, relid, relname, table_rows, calls,
         rows_scanned, rows_returned, selectivity, measured, filter,
         filter_columns, inner_of_nested_loop, total_exec_time, last_seen,
         userid, total_rows_scanned
    FROM latdiag_seq_scans_all()
   WHERE problem
   ORDER BY total_rows_scanned DESC, total_exec_time DESC;
GRANT SELECT ON latdiag_seq_scans TO PUBLIC;
