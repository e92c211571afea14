/* postgres_latdiag--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION postgres_latdiag" to load this file. \quit

-- Per-query statistics with latency percentiles.
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
    OUT last_seen timestamptz
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_queries'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_queries AS
  SELECT * FROM latdiag_queries(true);

GRANT SELECT ON latdiag_queries TO PUBLIC;

-- The non-empty latency buckets of one queryid, summed over the entries the
-- caller may see (all users, databases and nesting levels).
CREATE FUNCTION latdiag_latency_histogram(IN queryid bigint,
    OUT lower_ms float8,
    OUT upper_ms float8,
    OUT count int8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_latency_histogram'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;

-- The state of the store itself.
CREATE FUNCTION latdiag_info(
    OUT entries int8,
    OUT max_entries int8,
    OUT evictions int8,
    OUT truncated_texts int8,
    OUT max_query_length int4,
    OUT shmem_bytes int8,
    OUT stats_reset timestamptz
)
RETURNS record
AS 'MODULE_PATHNAME', 'latdiag_info'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_info AS
  SELECT * FROM latdiag_info();

GRANT SELECT ON latdiag_info TO PUBLIC;

-- Reset everything.
CREATE FUNCTION latdiag_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'latdiag_reset_all'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- Reset the entries matching (userid, dbid, queryid); 0 matches any value.
CREATE FUNCTION latdiag_reset(userid oid, dbid oid, queryid bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'latdiag_reset'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;

-- Only superusers may reset, unless they grant it (as pg_stat_statements_reset).
REVOKE ALL ON FUNCTION latdiag_reset() FROM PUBLIC;
REVOKE ALL ON FUNCTION latdiag_reset(oid, oid, bigint) FROM PUBLIC;
