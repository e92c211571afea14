/* postgres_latdiag 1.2 -> 1.3 */
\echo Use "ALTER EXTENSION postgres_latdiag UPDATE TO '1.3'" to load this file. \quit

-- latdiag_info gains the N+1 store
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
    OUT n_plus_one_episodes int8
)
RETURNS record
AS 'MODULE_PATHNAME', 'latdiag_info'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_info AS
  SELECT * FROM latdiag_info();
GRANT SELECT ON latdiag_info TO PUBLIC;

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
