-- postgres_latdiag demo: print the diagnosis of the workload that just ran.
\set ON_ERROR_STOP on
\pset footer off
\pset null '-'
\timing off

\echo
\echo '=== postgres_latdiag: top 10 queries by p99 latency (times in ms) ==='
\echo
SELECT calls,
       round(p50_exec_time::numeric, 2)  AS p50,
       round(p95_exec_time::numeric, 2)  AS p95,
       round(p99_exec_time::numeric, 2)  AS p99,
       round(max_exec_time::numeric, 2)  AS max,
       round(mean_exec_time::numeric, 2) AS mean,
       CASE WHEN p50_exec_time > 0
            THEN round((p99_exec_time / p50_exec_time)::numeric)::text || 'x'
       END AS "p99/p50",
       CASE WHEN length(q) > 80 THEN left(q, 77) || '...' ELSE q END AS query
  FROM (SELECT *, regexp_replace(btrim(query), '\s+', ' ', 'g') AS q
          FROM latdiag_queries
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND toplevel) AS l
 ORDER BY p99_exec_time DESC NULLS LAST, calls DESC
 LIMIT 10;

-- The query with the widest tail (largest p99/p50 among frequent queries).
SELECT queryid AS tail_queryid,
       left(regexp_replace(btrim(query), '\s+', ' ', 'g'), 70) AS tail_query
  FROM latdiag_queries
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND toplevel AND calls >= 100 AND p50_exec_time > 0
 ORDER BY p99_exec_time / p50_exec_time DESC
 LIMIT 1 \gset

\if :{?tail_queryid}
\echo
\echo '=== latency histogram of the query with the widest tail ==='
\echo :tail_query
\echo
-- latdiag_latency_histogram has 18 buckets per power of two; regroup them
-- by power of two for display. Bars are log-scaled so the tail is visible.
SELECT lower_ms AS "from ms", upper_ms AS "to ms", count,
       repeat('#', greatest(1, round(50 * ln(1 + count) / ln(1 + max(count) OVER ()))::int))
         AS "distribution (log scale)"
  FROM (SELECT round(2 ^ floor(log(2, greatest(lower_ms, 0.001)::numeric)), 3)::float8     AS lower_ms,
               round(2 ^ (floor(log(2, greatest(lower_ms, 0.001)::numeric)) + 1), 3)::float8 AS upper_ms,
               sum(count) AS count
          FROM latdiag_latency_histogram(:tail_queryid)
         WHERE count > 0
         GROUP BY 1, 2) AS h
 ORDER BY lower_ms;
\endif

\echo
\echo '=== sequential scans of large tables that return few rows (worst first) ==='
\echo
SELECT relname, calls, round(rows_scanned) AS rows_read, round(rows_returned::numeric, 1) AS rows_kept,
       CASE WHEN measured THEN 'measured' ELSE 'estimated' END AS counts,
       filter_columns AS columns, inner_of_nested_loop AS per_outer_row,
       left(regexp_replace(btrim(query), '\s+', ' ', 'g'), 60) AS query
  FROM latdiag_seq_scans
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 LIMIT 5;

\echo
\echo '=== plan changes: queries that switched to a slower plan ==='
\echo
SELECT round(old_mean_exec_time::numeric, 2) AS old_mean,
       round(new_mean_exec_time::numeric, 2) AS new_mean,
       changes, changed_at::time(0) AS last_change,
       left(regexp_replace(btrim(query), '\s+', ' ', 'g'), 70) AS query
  FROM latdiag_plan_changes
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY new_mean_exec_time / greatest(old_mean_exec_time, 0.001) DESC
 LIMIT 5;

-- The slowest EXPLAIN ANALYZE snapshot of the query with the worst p99.
SELECT s.queryid AS snap_queryid, round(s.exec_time::numeric, 1) AS snap_ms,
       left(regexp_replace(btrim(s.query), '\s+', ' ', 'g'), 100) AS snap_query
  FROM latdiag_explain_snapshots s
 WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY s.exec_time DESC
 LIMIT 1 \gset
\if :{?snap_queryid}
\echo
\echo '=== EXPLAIN ANALYZE of the slowest captured execution (' :snap_ms 'ms) ==='
\echo :snap_query
\echo
\pset format unaligned
\pset tuples_only on
SELECT latdiag_explain(:snap_queryid);
\pset tuples_only off
\pset format aligned
\endif

\echo
\echo '=== store (latdiag_info) ==='
\echo
\x on
SELECT * FROM latdiag_info;
\x off
