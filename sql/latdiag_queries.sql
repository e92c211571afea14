-- latdiag_queries: one row per (userid, dbid, queryid, toplevel), normalized text.
SELECT latdiag_reset();
CREATE TABLE lq (a int, b text);
INSERT INTO lq SELECT g, 'v' || g FROM generate_series(1, 100) g;
SELECT count(*) FROM lq WHERE a > 10;
SELECT count(*) FROM lq WHERE a > 50;
SELECT * FROM lq WHERE a = -5 AND b = 'zz';
SELECT 'literal' AS x, 42 AS y, 1.5 AS z;
UPDATE lq SET b = 'w' WHERE a <= 3;
-- two statements in one query string are two entries, each with its own text
SELECT 1 AS first_of_two \; SELECT 2, 3 AS second_of_two;

SELECT query, calls, rows, toplevel, query_truncated
  FROM latdiag_queries
  WHERE query NOT LIKE '%latdiag%'
  ORDER BY query COLLATE "C";

-- the derived columns agree with each other
SELECT calls = 2 AS two_calls,
       rows = 2 AS two_rows,
       min_exec_time <= mean_exec_time AND mean_exec_time <= max_exec_time AS mean_between,
       p50_exec_time <= p90_exec_time AND p90_exec_time <= p95_exec_time
         AND p95_exec_time <= p99_exec_time AND p99_exec_time <= p999_exec_time AS pct_ordered,
       p50_exec_time BETWEEN min_exec_time AND max_exec_time AS p50_in_range,
       p999_exec_time <= max_exec_time AS p999_le_max,
       abs(total_exec_time - mean_exec_time * calls) < 1e-6 AS total_is_mean_times_calls,
       stddev_exec_time >= 0 AS stddev_ok,
       plans = 2 AS planned_twice,
       total_plan_time > 0 AS plan_time_counted,
       shared_blks_hit > 0 AS read_buffers,
       first_seen <= last_seen AS seen_in_order,
       dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AS right_db,
       userid = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS right_user
  FROM latdiag_queries WHERE query = 'SELECT count(*) FROM lq WHERE a > $1';

-- writes count WAL; the UPDATE changed 3 rows
SELECT rows, wal_records > 0 AS wrote_wal, wal_bytes > 0 AS wal_bytes
  FROM latdiag_queries WHERE query LIKE 'UPDATE lq%';

-- queryid is the core query identifier (the one EXPLAIN VERBOSE and pg_stat_statements show)
CREATE FUNCTION core_queryid(sql text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  EXECUTE 'EXPLAIN (VERBOSE, FORMAT JSON) ' || sql INTO plan;
  RETURN (plan -> 0 ->> 'Query Identifier')::bigint;
END $$;
SELECT queryid = core_queryid('SELECT count(*) FROM lq WHERE a > 99') AS same_queryid
  FROM latdiag_queries WHERE query = 'SELECT count(*) FROM lq WHERE a > $1' AND toplevel;

-- utility statements are tracked with their text as written
SELECT calls, query FROM latdiag_queries WHERE query LIKE 'CREATE TABLE lq%';

-- a text longer than latdiag.max_query_length is cut there and flagged
DO $$ BEGIN
  -- (an OR chain: 18 and later squash an IN list of constants into one $n)
  EXECUTE 'SELECT count(*) FROM lq WHERE '
    || (SELECT string_agg('a = ' || g, ' OR ') FROM generate_series(1, 500) g);
END $$;
SELECT query_truncated, length(query) AS stored_length,
       (SELECT setting FROM pg_settings WHERE name = 'latdiag.max_query_length') AS max_length,
       left(query, 50) AS starts_with
  FROM latdiag_queries WHERE query LIKE 'SELECT count(*) FROM lq WHERE a = $1 OR a = $2 OR%';
SELECT truncated_texts FROM latdiag_info;

-- showtext => false leaves the text out
SELECT count(*) > 0 AS rows_without_text, bool_and(query IS NULL) AS all_null
  FROM latdiag_queries(false);

-- pg_stat_statements' counters of the server's version: NULL exactly where
-- the server has no such figure (17: split block times, JIT deforming; 18:
-- parallel workers, wal_buffers_full; 19: generic/custom plan calls)
SELECT bool_and((shared_blk_read_time IS NULL) = (current_setting('server_version_num')::int < 170000)
            AND (local_blk_write_time IS NULL) = (current_setting('server_version_num')::int < 170000)
            AND (jit_deform_count IS NULL) = (current_setting('server_version_num')::int < 170000)
            AND (parallel_workers_launched IS NULL) = (current_setting('server_version_num')::int < 180000)
            AND (wal_buffers_full IS NULL) = (current_setting('server_version_num')::int < 180000)
            AND (generic_plan_calls IS NULL) = (current_setting('server_version_num')::int < 190000))
         AS nulls_follow_the_server,
       bool_and(temp_blk_read_time >= 0 AND jit_functions >= 0 AND stats_since = first_seen
                AND minmax_stats_since >= stats_since) AS always_there
  FROM latdiag_queries;
-- a parallel plan's workers are counted where the server counts them
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT count(*) AS in_parallel FROM lq WHERE b <> 'none';
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT coalesce(parallel_workers_to_launch >= 1, true) AS workers_to_launch,
       coalesce(parallel_workers_launched <= parallel_workers_to_launch, true) AS launched_at_most
  FROM latdiag_queries WHERE query LIKE 'SELECT count(*) AS in_parallel FROM lq%';

-- latdiag_reset(..., minmax_only => true) forgets min and max only
SELECT queryid AS lq_queryid FROM latdiag_queries
 WHERE query = 'SELECT count(*) FROM lq WHERE a > $1' AND toplevel \gset
SELECT latdiag_reset(0, 0, :lq_queryid, true);
SELECT calls, min_exec_time = 0 AS min_zero, max_exec_time = 0 AS max_zero,
       minmax_stats_since > stats_since AS minmax_since_later
  FROM latdiag_queries WHERE queryid = :lq_queryid AND toplevel;
SELECT count(*) FROM lq WHERE a > 70;
SELECT calls, min_exec_time > 0 AND min_exec_time = max_exec_time AS min_is_max_again
  FROM latdiag_queries WHERE queryid = :lq_queryid AND toplevel;
SELECT latdiag_reset(0, 0, :lq_queryid, NULL);
SELECT latdiag_reset(0, 0, :lq_queryid, false);
SELECT count(*) AS gone FROM latdiag_queries WHERE queryid = :lq_queryid;

DROP TABLE lq;
DROP FUNCTION core_queryid(text);
