-- latdiag_latency_histogram(queryid): non-empty buckets of one statement.
SELECT latdiag_reset();
SELECT pg_sleep(0.02);
SELECT pg_sleep(0.02);
SELECT pg_sleep(0.2);
SELECT sum(count) AS durations,
       count(*) BETWEEN 2 AND 3 AS two_or_three_buckets,
       bool_and(lower_ms < upper_ms) AS bounds_ordered,
       bool_and(upper_ms / lower_ms < 1.04) AS narrow_buckets,
       bool_or(lower_ms BETWEEN 19 AND 25) AS bucket_near_20ms,
       bool_or(lower_ms BETWEEN 190 AND 260) AS bucket_near_200ms
  FROM latdiag_latency_histogram(
         (SELECT queryid FROM latdiag_queries WHERE query = 'SELECT pg_sleep($1)'));
-- percentiles read from the same histogram (nearest rank over 20, 20, 200 ms;
-- the upper bounds leave room for a loaded machine, which only lengthens sleeps)
SELECT p50_exec_time BETWEEN 19.5 AND 150 AS p50_is_20ms,
       p90_exec_time >= 195 AND p90_exec_time <= max_exec_time AS p90_is_200ms,
       p99_exec_time <= max_exec_time AS p99_le_max
  FROM latdiag_queries WHERE query = 'SELECT pg_sleep($1)';
-- a utility statement's duration lands in its own bucket too
DO $$ BEGIN PERFORM pg_sleep(0.05); END $$;
-- (at least 50 ms, and the bucket holds the statement's own measured time)
SELECT count(*) AS buckets,
       bool_and(h.lower_ms >= 45 AND h.lower_ms <= q.max_exec_time
                AND h.upper_ms >= q.min_exec_time) AS bucket_of_its_time
  FROM latdiag_queries q,
       latdiag_latency_histogram(q.queryid) h
 WHERE q.query LIKE 'DO $$ BEGIN PERFORM pg_sleep(0.05)%';
-- bad arguments
SELECT * FROM latdiag_latency_histogram(NULL);
SELECT * FROM latdiag_latency_histogram(12345);
