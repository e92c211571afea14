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
DROP TABLE lq;
DROP FUNCTION core_queryid(text);
