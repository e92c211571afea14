-- Query shapes (deep OFFSET, unbounded reads), tail snapshots and the ranked
-- findings (latdiag_query_shapes, latdiag_explain_snapshots.reason,
-- latdiag_findings).  Counts and booleans only.
SET latdiag.snapshot_sample_rate = 0;
SELECT name, setting, unit, min_val, max_val, context FROM pg_settings
 WHERE name IN ('latdiag.large_offset', 'latdiag.unbounded_rows',
                'latdiag.snapshot_tail_min_duration')
 ORDER BY name COLLATE "C";
SET latdiag.large_offset = -2;
SET latdiag.unbounded_rows = 'many';
SET latdiag.snapshot_tail_min_duration = '1min';
SHOW latdiag.snapshot_tail_min_duration;
RESET latdiag.snapshot_tail_min_duration;
CREATE TABLE lf (id int PRIMARY KEY, v int, pad text);
INSERT INTO lf SELECT g, g % 100, 'x' FROM generate_series(1, 20000) g;
ANALYZE lf;
SELECT latdiag_reset();

-- a Limit below the top of the plan (a subquery) is not the page a client
-- asked for: not flagged
SELECT count(*) FROM (SELECT id FROM lf ORDER BY id LIMIT 10 OFFSET 5000) s;
-- deep offsets fire (a constant, and a parameter evaluated at run time) ...
SELECT id FROM lf ORDER BY id LIMIT 1 OFFSET 5000;
PREPARE lf_page(int) AS SELECT id FROM lf WHERE v >= 0 ORDER BY id LIMIT 1 OFFSET $1;
EXECUTE lf_page(2000);
EXECUTE lf_page(3000);
EXECUTE lf_page(10);
-- ... shallow ones do not
SELECT id FROM lf WHERE v > 0 ORDER BY id LIMIT 1 OFFSET 10;
SELECT id FROM lf WHERE v > 1 ORDER BY id LIMIT 1 OFFSET 999;
-- unbounded reads fire; LIMITed and small reads do not
SELECT count(*) FROM lf;
SELECT count(*) >= 0 AS fetched FROM (SELECT * FROM lf) s;
\o /dev/null
SELECT * FROM lf WHERE v >= 0;
SELECT * FROM lf WHERE v >= 0 LIMIT 100000;
SELECT * FROM lf WHERE id <= 500;
\o
SELECT shape, left(query, 45) AS query, executions, calls, max_per_call,
       total_time >= 0 AS timed, suggestion LIKE '%keyset%' AS says_keyset,
       suggestion LIKE '%aggregate%' AS says_aggregate
  FROM latdiag_query_shapes
 ORDER BY shape COLLATE "C", query COLLATE "C";
-- the shallow offsets, the subquery's and the bounded reads are recorded, but not flagged
SELECT left(query, 60) AS not_flagged FROM latdiag_queries q
 WHERE query ~ '(OFFSET|LIMIT|id <=) \$' AND query LIKE '%FROM lf%'
   AND NOT EXISTS (SELECT 1 FROM latdiag_query_shapes s WHERE s.queryid = q.queryid)
 ORDER BY left(query, 60) COLLATE "C";
-- the rules can be switched off
SET latdiag.large_offset = -1;
SET latdiag.unbounded_rows = -1;
SELECT id FROM lf ORDER BY id LIMIT 1 OFFSET 6000;
\o /dev/null
SELECT * FROM lf WHERE v >= 0;
\o
SELECT count(*) AS still_two, sum(executions) AS executions FROM latdiag_query_shapes
 WHERE query LIKE 'SELECT id FROM lf ORDER BY id LIMIT $1 OFFSET $2' OR query = 'SELECT * FROM lf WHERE v >= $1';
RESET latdiag.large_offset;
RESET latdiag.unbounded_rows;

-- tail snapshots: a statement mostly at 0 ms with a few 50 ms executions has
-- a recent p99 above the 10 ms floor (once the sampler closes a window); its
-- next execution slower than that p99 gets a 'tail' snapshot, though far below
-- latdiag.snapshot_min_duration.  A never-slow statement gets none.
CREATE FUNCTION lf_wait_window() RETURNS bool LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
BEGIN
  FOR i IN 1..300 LOOP
    IF EXISTS (SELECT 1 FROM latdiag_windows() WHERE window_end > t0) THEN
      RETURN true;
    END IF;
    PERFORM pg_sleep(0.1);
  END LOOP;
  RETURN false;
END $$;
SELECT latdiag_reset();
CREATE FUNCTION lf_run(n int, sleep float8) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    PERFORM pg_sleep(sleep);
    PERFORM count(*) FROM lf WHERE id = i;
  END LOOP;
END $$;
SELECT lf_run(150, 0);
SELECT lf_run(5, 0.05);
SELECT lf_wait_window() AS window_closed;
SELECT count(*) AS snapshots_before FROM latdiag_explain_snapshots;
-- this backend learns the new p99 at its next execution, then arms the statement
SELECT lf_run(3, 0);
SELECT lf_run(1, 0.08);
SELECT reason, count(*) AS snapshots, bool_and(exec_time >= 10) AS above_floor,
       bool_and(exec_time < 1000) AS below_threshold,
       bool_and(plan LIKE '%Result%') AS has_plan
  FROM latdiag_explain_snapshots GROUP BY reason ORDER BY reason COLLATE "C";
SELECT count(*) AS never_slow_snapshots FROM latdiag_explain_snapshots s
  JOIN latdiag_queries q USING (queryid) WHERE q.query LIKE '%FROM lf WHERE id = $1%';
-- an armed fast execution keeps nothing
SELECT lf_run(3, 0);
SELECT count(*) AS still_one FROM latdiag_explain_snapshots;
-- -1 disables the tail rule
SET latdiag.snapshot_tail_min_duration = -1;
SELECT lf_run(1, 0.2);
SELECT count(*) AS still_one FROM latdiag_explain_snapshots;
RESET latdiag.snapshot_tail_min_duration;

-- the findings of a mixed workload, the most expensive first
SELECT latdiag_reset();
CREATE TABLE lf_big (id int, v int);
INSERT INTO lf_big SELECT g, g % 1000 FROM generate_series(1, 50000) g;
ANALYZE lf_big;
SELECT count(*) FROM lf_big WHERE v = 7;
SELECT count(*) FROM lf_big WHERE v = 8;
SELECT id FROM lf ORDER BY id LIMIT 1 OFFSET 5000;
\o /dev/null
SELECT * FROM lf WHERE v >= 0;
\o
SET statement_timeout = '300ms';
SELECT pg_sleep(2);
SELECT pg_sleep(2);
RESET statement_timeout;
SELECT kind, severity IN ('high', 'medium', 'low') AS severity_ok,
       queryid IS NOT NULL AS has_queryid, evidence <> '' AS has_evidence,
       fix <> '' AS has_fix, est_ms_per_hour > 0 AS costs, detail_view
  FROM latdiag_findings
 WHERE kind IN ('seq_scan', 'deep_offset', 'unbounded_read', 'timeout', 'missing_index')
 ORDER BY kind COLLATE "C";
SELECT kind AS most_expensive FROM latdiag_findings LIMIT 1;
SELECT bool_and(est_ms_per_hour <= prev) AS ranked
  FROM (SELECT est_ms_per_hour, lag(est_ms_per_hour, 1, 'infinity') OVER () AS prev
          FROM latdiag_findings) s;
DROP FUNCTION lf_run(int, float8);
DROP FUNCTION lf_wait_window();
DEALLOCATE lf_page;
DROP TABLE lf, lf_big;
RESET latdiag.snapshot_sample_rate;
