-- Time windows, baselines and regressions: objects, settings, bad input,
-- privileges.  The test server closes a window every 10 s (test/latdiag.conf).
SELECT name, setting, unit, context FROM pg_settings
 WHERE name IN ('latdiag.window_interval', 'latdiag.max_windows',
                'latdiag.window_max_queries', 'latdiag.max_baselines')
 ORDER BY name COLLATE "C";
-- true once a window that ends after this call has closed (at most 30 s)
CREATE FUNCTION lw_wait_window() RETURNS bool LANGUAGE plpgsql AS $$
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
SELECT 'window probe' AS win, 1 AS one;
SELECT 'window probe' AS win, 2 AS one;
SELECT 'window probe' AS win, 3 AS one;
-- a statement that fails once, then finishes (an error whose window has no
-- finished execution of its statement counts in the next one that has)
SELECT 10 / x AS q FROM (VALUES (0)) v(x);
SELECT 10 / x AS q FROM (VALUES (2)) v(x);
SELECT lw_wait_window() AS window_closed;

-- the server's windows
SELECT count(*) > 0 AS has_windows,
       bool_and(window_end > window_start) AS ends_after_start,
       bool_and(calls >= 0 AND statements >= 0 AND other_statements = 0) AS counts_sane,
       bool_and(calls = 0 OR p50_exec_time <= p95_exec_time AND p95_exec_time <= p99_exec_time) AS percentiles_ordered,
       sum(errors) >= 1 AS has_errors
  FROM latdiag_windows;
-- the probe's windows: three calls, one row each, a plan, percentiles
SELECT sum(calls) AS calls, sum(rows) AS rows, bool_and(toplevel) AS toplevel,
       bool_and(queryid IS NOT NULL) AS has_queryid,
       bool_and(cardinality(planids) = 1) AS one_plan,
       bool_and(p50_exec_time > 0 AND p50_exec_time <= p99_exec_time) AS has_percentiles,
       bool_and(NOT is_other AND other_statements IS NULL) AS not_other
  FROM latdiag_query_windows WHERE query = 'SELECT $1 AS win, $2 AS one';
SELECT count(*) = 0 AS no_text FROM latdiag_query_windows(false) WHERE query IS NOT NULL;
-- errors per window: the failed execution is counted, apart from calls
SELECT sum(calls) AS calls, sum(errors) AS errors
  FROM latdiag_query_windows WHERE query LIKE 'SELECT $1 / x AS q FROM%';
SELECT bool_and(errors = 0) AS probe_no_errors
  FROM latdiag_query_windows WHERE query = 'SELECT $1 AS win, $2 AS one';
SELECT windows > 0 AS has_windows, max_windows, window_rows > 0 AS has_rows,
       max_window_rows, baselines, max_baselines
  FROM latdiag_info;

-- comparing a period with itself: same calls, factor 1
SELECT calls_1 = calls_2 AS same_calls, factor = 1 AS factor_one,
       planids_1 = planids_2 AS same_plans, errors_1 = errors_2 AS same_errors
  FROM latdiag_compare(now() - interval '1 hour', now() + interval '1 hour',
                       now() - interval '1 hour', now() + interval '1 hour')
 WHERE query = 'SELECT $1 AS win, $2 AS one';
-- nothing regressed
SELECT count(*) >= 0 AS reads FROM latdiag_regressions;
SELECT count(*) >= 0 AS reads FROM latdiag_regressions('10 seconds', '1 hour');

-- baselines
SELECT latdiag_baseline_save('before deploy') > 0 AS saved;
SELECT name, statements > 0 AS has_statements, calls > 0 AS has_calls,
       period_start < period_end AS has_period
  FROM latdiag_baselines;
SELECT count(*) >= 0 AS reads FROM latdiag_regressions('5 minutes', 'before deploy');
SELECT latdiag_baseline_save('last minute', '1 minute') > 0 AS saved;
SELECT name FROM latdiag_baselines ORDER BY name COLLATE "C";
SELECT latdiag_baseline_drop('last minute');

-- bad input
SELECT latdiag_baseline_save('before deploy');
SELECT latdiag_baseline_save('');
SELECT latdiag_baseline_save(repeat('x', 64));
SELECT latdiag_baseline_save(NULL);
SELECT latdiag_baseline_save('negative', '-1 minute');
SELECT latdiag_baseline_drop('no such baseline');
SELECT count(*) FROM latdiag_regressions('5 minutes', 'no such baseline');
SELECT count(*) FROM latdiag_regressions('0 seconds', '1 hour'::interval);
SELECT count(*) FROM latdiag_regressions('-5 minutes', '1 hour'::interval);
SELECT count(*) FROM latdiag_regressions('5 minutes', '-1 hour'::interval);
SELECT count(*) FROM latdiag_regressions(NULL, '1 hour'::interval);
SELECT count(*) FROM latdiag_regressions('5 minutes', NULL::text);
SELECT count(*) FROM latdiag_regressions('5 minutes', '-1 hour');
SELECT count(*) FROM latdiag_regressions('5 minutes', '1 fortnight');
SELECT count(*) FROM latdiag_compare(now(), now() - interval '1 hour', now() - interval '1 hour', now());
SELECT count(*) FROM latdiag_compare(now() - interval '1 hour', now(), now(), now());
SELECT count(*) FROM latdiag_compare(NULL, now(), now() - interval '1 hour', now());

-- privileges: others' texts and queryids are hidden; saving needs a grant
CREATE ROLE regress_latdiag_carol;
SET ROLE regress_latdiag_carol;
SELECT 'carol probe' AS carol;
RESET ROLE;
SELECT lw_wait_window() AS window_closed;
SET ROLE regress_latdiag_carol;
SELECT own, query, queryid IS NOT NULL AS has_queryid
  FROM (SELECT userid = 'regress_latdiag_carol'::regrole AS own, query, queryid
          FROM latdiag_query_windows
         WHERE query IN ('SELECT $1 AS carol', '<insufficient privilege>')) s
 GROUP BY 1, 2, 3 ORDER BY own, query COLLATE "C";
SELECT count(*) >= 0 AS reads FROM latdiag_regressions;
SELECT count(*) >= 0 AS reads FROM latdiag_baselines;
SELECT latdiag_baseline_save('carol');
SELECT latdiag_baseline_drop('before deploy');
RESET ROLE;
SELECT latdiag_baseline_drop('before deploy');

-- latdiag_reset() forgets windows and baselines
SELECT latdiag_baseline_save('to be reset') > 0 AS saved;
SELECT latdiag_reset();
SELECT count(*) AS windows FROM latdiag_windows;
SELECT count(*) AS rows FROM latdiag_query_windows;
SELECT count(*) AS baselines FROM latdiag_baselines;
DROP ROLE regress_latdiag_carol;
DROP FUNCTION lw_wait_window();
