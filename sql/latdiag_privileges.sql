-- Privileges: others' texts and queryids stay hidden unless pg_read_all_stats.
SELECT latdiag_reset();
CREATE ROLE regress_latdiag_alice;
CREATE ROLE regress_latdiag_bob;
SELECT 'superuser secret' AS su_query, 1 AS x;

SET ROLE regress_latdiag_alice;
SELECT 'alice secret' AS alice_query;
-- alice sees her own text and queryid, and only counters of the others
SELECT own, query, has_queryid, count(*) AS entries FROM (
  SELECT r.rolname = 'regress_latdiag_alice' AS own, q.query, q.queryid IS NOT NULL AS has_queryid
    FROM latdiag_queries q JOIN pg_roles r ON r.oid = q.userid
    WHERE q.query LIKE 'SELECT $1 AS %\_query%' OR q.query = '<insufficient privilege>') s
  GROUP BY own, query, has_queryid ORDER BY own, query COLLATE "C";
SELECT count(*) > 0 AS others_counted FROM latdiag_queries WHERE query = '<insufficient privilege>' AND calls > 0;
-- her own histogram works, the superuser's does not exist for her
SELECT sum(count) AS own_histogram FROM latdiag_latency_histogram(
  (SELECT queryid FROM latdiag_queries WHERE query LIKE 'SELECT $1 AS alice_query'));
RESET ROLE;
SELECT queryid AS su_queryid FROM latdiag_queries WHERE query LIKE 'SELECT $1 AS su_query%' \gset
-- (the error names the queryid, which differs between versions: it is replaced)
CREATE FUNCTION lp_histogram_error(q bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  hint text;
BEGIN
  PERFORM * FROM latdiag_latency_histogram(q);
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
  RETURN format('%s: %s HINT: %s', SQLSTATE, replace(SQLERRM, q::text, '<queryid>'), hint);
END $$;
SET ROLE regress_latdiag_alice;
SELECT lp_histogram_error(:su_queryid);
-- plain users may neither reset nor turn capture off
SELECT latdiag_reset();
SELECT latdiag_reset(0, 0, 0);
SET latdiag.enabled = off;
SET latdiag.track = 'none';
RESET ROLE;

-- pg_read_all_stats sees everything
GRANT pg_read_all_stats TO regress_latdiag_bob;
SET ROLE regress_latdiag_bob;
SELECT q.query FROM latdiag_queries q
  WHERE q.query LIKE 'SELECT $1 AS %\_query%' ORDER BY q.query COLLATE "C";
SELECT count(*) AS hidden_rows FROM latdiag_queries WHERE query = '<insufficient privilege>';
RESET ROLE;

-- a granted reset works for a plain user
GRANT EXECUTE ON FUNCTION latdiag_reset() TO regress_latdiag_alice;
SET ROLE regress_latdiag_alice;
SELECT latdiag_reset();
RESET ROLE;
SELECT count(*) AS left_after_reset FROM latdiag_queries WHERE query LIKE 'SELECT $1 AS %\_query%';
REVOKE EXECUTE ON FUNCTION latdiag_reset() FROM regress_latdiag_alice;

-- Every view and every argument-free set-returning function of the extension,
-- found in the catalog (so views added later are covered without a line here):
-- in other users' rows, a plain user sees no queryid, no text with constants
-- (plans, snapshots, seq-scan filters) and no statement text.
SELECT current_user AS su \gset
SET latdiag.snapshot_min_duration = 0;
SET latdiag.snapshot_sample_rate = 1;
SET latdiag.large_table_rows = 100;
CREATE TABLE lp_t (id int PRIMARY KEY, b text, v int);
INSERT INTO lp_t SELECT g, 'b' || g, g % 10 FROM generate_series(1, 5000) g;
CREATE INDEX ON lp_t (b);
ANALYZE lp_t;
GRANT SELECT ON lp_t TO regress_latdiag_alice;
-- per source, in the rows of the role that ran a statement with the secret:
-- are there any, and do any of them show a hidden text, a queryid, or the
-- secret anywhere in the row
CREATE FUNCTION lp_visibility(owner name, secret text)
RETURNS TABLE (source text, rows bool, hidden bool, queryid_shown bool, secret_shown bool)
LANGUAGE plpgsql AS $$
DECLARE
  src text;
BEGIN
  FOR src IN
    SELECT quote_ident(c.relname) FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
     WHERE d.refclassid = 'pg_extension'::regclass AND d.classid = 'pg_class'::regclass
       AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'postgres_latdiag')
       AND c.relkind = 'v'
       -- statements appear there only once a window closes (every 10 s here):
       -- latdiag_windows.sql checks their privacy after waiting for one
       AND c.relname NOT IN ('latdiag_query_windows', 'latdiag_regressions')
    UNION ALL
    SELECT quote_ident(p.proname) || '()' FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
     WHERE d.refclassid = 'pg_extension'::regclass AND d.classid = 'pg_proc'::regclass
       AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'postgres_latdiag')
       AND p.proretset AND p.pronargs = p.pronargdefaults
       AND p.proname NOT IN ('latdiag_query_windows', 'latdiag_regressions')
    ORDER BY 1
  LOOP
    RETURN QUERY EXECUTE format($q$
      SELECT %L::text, count(*) > 0,
             count(*) FILTER (WHERE EXISTS (SELECT FROM jsonb_each(j) e
                                             WHERE e.value = to_jsonb('<insufficient privilege>'::text))) > 0,
             count(*) FILTER (WHERE j->>'queryid' IS NOT NULL) > 0,
             count(*) FILTER (WHERE strpos(j::text, $2) > 0) > 0
        FROM (SELECT to_jsonb(s) AS j FROM %s s) x
       WHERE j ? 'userid' AND (j->>'userid')::oid = (SELECT oid FROM pg_roles WHERE rolname = $1)
    $q$, src, src) USING owner, secret;
  END LOOP;
END $$;
SELECT latdiag_reset();
-- the superuser's statement with a secret constant: an index plan, then a
-- seq-scan plan (a plan change, a filtered seq scan), snapshots of both
SELECT id FROM lp_t WHERE b = 'zqsecret_su';
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT id FROM lp_t WHERE b = 'zqsecret_su';
SELECT id FROM lp_t WHERE b = 'zqsecret_su';
RESET enable_indexscan;
RESET enable_bitmapscan;
SET ROLE regress_latdiag_alice;
SELECT id FROM lp_t WHERE b = 'zqsecret_alice' AND v >= 0;
SELECT * FROM lp_visibility(:'su', 'zqsecret_su');
-- her own snapshot: the normalized text, not the one with constants; her own
-- plans keep their constants (documented)
SELECT bool_and(query NOT LIKE '%zqsecret_alice%') AS own_query_normalized,
       bool_and(plan LIKE '%zqsecret_alice%') AS own_plan_shown
  FROM latdiag_explain_snapshots
 WHERE userid = (SELECT oid FROM pg_roles WHERE rolname = current_user)
   AND queryid = (SELECT queryid FROM latdiag_queries WHERE query = 'SELECT id FROM lp_t WHERE b = $1 AND v >= $2');
RESET ROLE;
SELECT queryid AS su_secret_queryid FROM latdiag_queries WHERE query LIKE 'SELECT id FROM lp_t WHERE b = $1' \gset
SET ROLE regress_latdiag_alice;
\set VERBOSITY sqlstate
SELECT latdiag_explain(:su_secret_queryid);
SELECT count(*) FROM latdiag_latency_histogram(:su_secret_queryid);
\set VERBOSITY default
RESET ROLE;
SET ROLE regress_latdiag_bob;
SELECT * FROM lp_visibility(:'su', 'zqsecret_su');
SELECT latdiag_explain(:su_secret_queryid) LIKE '%zqsecret_su%' AS bob_sees_su_plan;
RESET ROLE;
-- functions that change state (resets, recording a report, saving or dropping
-- a baseline), current and
-- future: none is executable by a plain role (as pg_stat_statements_reset);
-- every other function is
SELECT (p.proname LIKE '%reset%' OR p.proname LIKE 'latdiag\_record\_%'
        OR p.proname IN ('latdiag_baseline_save', 'latdiag_baseline_drop')) AS changes_state,
       bool_or(has_function_privilege('regress_latdiag_alice', p.oid, 'EXECUTE')) AS alice_may_run_some,
       bool_and(has_function_privilege('regress_latdiag_alice', p.oid, 'EXECUTE')) AS alice_may_run_all
  FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.classid = 'pg_proc'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'postgres_latdiag')
 GROUP BY 1 ORDER BY 1;
RESET latdiag.snapshot_min_duration;
RESET latdiag.snapshot_sample_rate;
RESET latdiag.large_table_rows;
REVOKE SELECT ON lp_t FROM regress_latdiag_alice;
DROP FUNCTION lp_visibility(name, text);
DROP FUNCTION lp_histogram_error(bigint);
DROP TABLE lp_t;
DROP ROLE regress_latdiag_alice;
DROP ROLE regress_latdiag_bob;
