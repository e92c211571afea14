-- latdiag_explain_snapshots and latdiag_explain(): EXPLAIN ANALYZE of slow
-- executions.  The first slow execution of a statement arms the next ones.
SET latdiag.snapshot_min_duration = 100;
SET latdiag.snapshot_sample_rate = 0;
CREATE TABLE ls (id int PRIMARY KEY, v int);
INSERT INTO ls SELECT g, g % 10 FROM generate_series(1, 1000) g;
ANALYZE ls;
SELECT latdiag_reset();

-- first slow run: not armed (no sampling), so no snapshot yet
SELECT pg_sleep(0.15) IS NULL AS slept, count(*) FROM ls WHERE v = 5;
SELECT count(*) AS snapshots_after_first FROM latdiag_explain_snapshots;
-- second slow run: armed, captured with actual rows
SELECT pg_sleep(0.15) IS NULL AS slept, count(*) FROM ls WHERE v = 6;
SELECT count(*) AS snapshots,
       bool_and(exec_time >= 100) AS slow,
       bool_and(plan LIKE '%actual rows=%') AS has_actual_rows,
       bool_and(plan LIKE '%Buffers:%') AS has_buffers,
       bool_and(plan NOT LIKE '%actual time=%') AS no_timing_by_default,
       bool_and(query LIKE '%v = 6%') AS query_as_executed,
       bool_and(snapshot_id > 0) AS has_id,
       bool_and(planid = (SELECT planid FROM latdiag_plans p WHERE p.queryid = s.queryid)) AS same_planid
  FROM latdiag_explain_snapshots s;
SELECT queryid AS q_slow FROM latdiag_explain_snapshots \gset
SELECT latdiag_explain(:q_slow) LIKE '%Seq Scan on ls%' AS explain_has_plan;

-- a faster slow run does not replace the slowest one; a slower one does
SELECT exec_time AS first_time FROM latdiag_explain_snapshots \gset
SELECT pg_sleep(0.11) IS NULL AS slept, count(*) FROM ls WHERE v = 7;
SELECT exec_time = :first_time AS kept_slowest, query LIKE '%v = 6%' AS still_v6 FROM latdiag_explain_snapshots;
SET latdiag.snapshot_format = json;
SET latdiag.snapshot_timing = on;
SELECT pg_sleep(0.3) IS NULL AS slept, count(*) FROM ls WHERE v = 8;
SELECT exec_time > :first_time AS replaced, query LIKE '%v = 8%' AS now_v8,
       (plan::json -> 'Plan' ->> 'Node Type') AS top_node,
       (plan::json -> 'Plan' ->> 'Actual Total Time') IS NOT NULL AS has_timing
  FROM latdiag_explain_snapshots;
RESET latdiag.snapshot_format;
RESET latdiag.snapshot_timing;

-- an armed execution that turns out fast stores nothing
SET latdiag.snapshot_sample_rate = 1;
SELECT count(*) FROM ls WHERE v = 1 AND id > 0;
SELECT count(*) AS snapshots FROM latdiag_explain_snapshots;
SET latdiag.snapshot_sample_rate = 0;

-- -1 disables snapshots
SET latdiag.snapshot_min_duration = -1;
SELECT pg_sleep(0.15) IS NULL AS slept, count(*) FROM ls WHERE v > 8;
SELECT count(*) AS snapshots FROM latdiag_explain_snapshots;
SET latdiag.snapshot_min_duration = 100;

-- a plain user sees the normalized text of their own snapshots, no one else's
CREATE ROLE regress_latdiag_snap;
GRANT SELECT ON ls TO regress_latdiag_snap;
SET ROLE regress_latdiag_snap;
SELECT pg_sleep(0.15) IS NULL AS slept, count(*) FROM ls WHERE v = 3 AND id > 1;
SELECT pg_sleep(0.15) IS NULL AS slept, count(*) FROM ls WHERE v = 4 AND id > 1;
SELECT r.rolname = current_user AS own, s.query, s.queryid IS NOT NULL AS has_queryid,
       s.plan = '<insufficient privilege>' AS plan_hidden
  FROM latdiag_explain_snapshots s JOIN pg_roles r ON r.oid = s.userid
 ORDER BY own;
\set VERBOSITY sqlstate
SELECT latdiag_explain(:q_slow);
\set VERBOSITY default
RESET ROLE;
REVOKE SELECT ON ls FROM regress_latdiag_snap;
DROP ROLE regress_latdiag_snap;

-- an execution armed by the random sample only, of a statement never seen slow:
-- its snapshot has per-node rows but no buffer counts (they cost a large scan ~8%)
SET latdiag.snapshot_sample_rate = 1;
SELECT pg_sleep(0.15) IS NULL AS slept, count(*) FROM ls WHERE id > 2 AND v < 3;
SET latdiag.snapshot_sample_rate = 0;
SELECT reason, plan LIKE '%actual rows=%' AS has_actual_rows,
       plan NOT LIKE '%Buffers:%' AS no_buffers
  FROM latdiag_explain_snapshots WHERE query LIKE '%id > 2 AND v < 3%';

-- bad arguments and settings
SELECT latdiag_explain(NULL);
SELECT latdiag_explain(42);
-- (ranges of settings with units: latdiag_guc, whose error wording changed in 16)
SET latdiag.snapshot_sample_rate = 1.5;
SET latdiag.snapshot_format = yaml;
ALTER SYSTEM SET latdiag.max_snapshots = 5;
SELECT snapshots = (SELECT count(*) FROM latdiag_explain_snapshots) AS counted, max_snapshots
  FROM latdiag_info;
DROP TABLE ls;
