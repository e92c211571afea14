-- latdiag_plans: one row per (userid, dbid, queryid, planid); plan ids ignore
-- constants and follow the plan's shape; the plan text is captured once.
SELECT latdiag_reset();
CREATE TABLE lp (id int PRIMARY KEY, v int, pad text);
INSERT INTO lp SELECT g, g % 100, repeat('x', 50) FROM generate_series(1, 5000) g;
ANALYZE lp;
SELECT latdiag_reset();

-- the same statement with other constants and the same plan: one planid
SELECT v FROM lp WHERE id = 1;
SELECT v FROM lp WHERE id = 2;
SELECT v FROM lp WHERE id = 3;
SELECT queryid AS q_by_id FROM latdiag_queries WHERE query = 'SELECT v FROM lp WHERE id = $1' \gset
SELECT count(*) AS plans, sum(calls) AS calls FROM latdiag_plans WHERE queryid = :q_by_id;

-- without index scans the plan changes, and so does the planid
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT v FROM lp WHERE id = 4;
SELECT v FROM lp WHERE id = 5;
RESET enable_indexscan;
RESET enable_bitmapscan;
-- and back to the index
SELECT v FROM lp WHERE id = 6;
SELECT count(*) AS plans, count(DISTINCT planid) AS planids FROM latdiag_plans WHERE queryid = :q_by_id;
-- the text is the first execution's EXPLAIN (COSTS OFF), constants as first seen
SELECT calls, plan, plan_truncated FROM latdiag_plans WHERE queryid = :q_by_id ORDER BY first_seen, plan COLLATE "C";
SELECT plan_count FROM latdiag_queries WHERE queryid = :q_by_id;

-- per-plan figures are consistent
SELECT bool_and(min_exec_time <= mean_exec_time AND mean_exec_time <= max_exec_time) AS mean_between,
       bool_and(p50_exec_time <= p95_exec_time AND p95_exec_time <= p99_exec_time) AS pct_ordered,
       bool_and(abs(total_exec_time - mean_exec_time * calls) < 1e-6) AS totals,
       bool_and(first_seen <= last_seen) AS seen_order
  FROM latdiag_plans WHERE queryid = :q_by_id;

-- plan changes: index -> seq scan (slower: listed), seq scan -> index (faster: not listed)
SELECT changes, old_calls, new_calls,
       old_mean_exec_time < new_mean_exec_time AS new_is_slower,
       old_p95_exec_time IS NOT NULL AND new_p95_exec_time IS NOT NULL AS has_p95,
       query
  FROM latdiag_plan_changes WHERE queryid = :q_by_id;
SELECT count(*) AS all_switches, count(*) FILTER (WHERE slower) AS slower_switches
  FROM latdiag_plan_changes_all() WHERE queryid = :q_by_id;
SELECT (SELECT plan FROM latdiag_plans WHERE planid = c.old_planid) AS old_plan,
       (SELECT plan FROM latdiag_plans WHERE planid = c.new_planid) AS new_plan
  FROM latdiag_plan_changes c WHERE queryid = :q_by_id;

-- a join, a subplan and a sort have their own shapes; constants never matter
SELECT count(*) FROM lp a JOIN lp b ON a.id = b.v WHERE a.v < 3;
SELECT count(*) FROM lp a JOIN lp b ON a.id = b.v WHERE a.v < 7;
SELECT count(*) FROM lp WHERE v IN (SELECT v FROM lp WHERE id < 10);
SELECT id FROM lp ORDER BY v DESC, id LIMIT 3;
SELECT q.query, count(p.planid) AS plans
  FROM latdiag_queries q JOIN latdiag_plans p USING (userid, dbid, queryid)
 WHERE q.query LIKE 'SELECT % lp %' AND q.query NOT LIKE '%latdiag%' AND q.queryid <> :q_by_id
 GROUP BY q.query ORDER BY q.query COLLATE "C";

-- showtext => false leaves the plan out; info counts the plans
SELECT bool_and(plan IS NULL) AS no_text FROM latdiag_plans(false);
SELECT plans = (SELECT count(*) FROM latdiag_plans) AS plans_match, max_plans, plan_evictions
  FROM latdiag_info;
-- resetting a query resets its plans too
SELECT latdiag_reset(0, 0, :q_by_id);
SELECT count(*) AS plans_left FROM latdiag_plans WHERE queryid = :q_by_id;
DROP TABLE lp;

-- 18 and later: core reports the running statement's plan id, which latdiag
-- sets to its own (the id in latdiag_plans); NULL before 18
SELECT coalesce(planid::text, '') AS running_planid
  FROM latdiag_backend_plans() WHERE pid = pg_backend_pid() \gset
SELECT (:'running_planid' <> '') = (current_setting('server_version_num')::int >= 180000)
         AS reported_as_server,
       :'running_planid' = '' OR EXISTS (SELECT 1 FROM latdiag_plans
                                          WHERE planid = nullif(:'running_planid', '')::bigint)
         AS same_as_latdiag_plans;
SELECT count(*) > 0 AS backends_listed FROM latdiag_backend_plans();
