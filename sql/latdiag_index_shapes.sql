-- Index advice from actual values (latdiag_param_samples), partial indexes,
-- computed comparison values, type mismatches and OR across columns.
SET latdiag.snapshot_sample_rate = 0;
-- every execution counts as slow here: its values are sampled
SET latdiag.slow_execution_min_duration = 0;
CREATE TABLE is_orders (id bigint PRIMARY KEY, user_id bigint, status text,
  region int, code char(8), a int, b int, created_at timestamptz,
  shipped_at timestamptz, pad text);
-- status: 1% 'pending', 99% 'done'; region: 20 values, uniform
INSERT INTO is_orders SELECT g, g % 20000,
  CASE WHEN g % 100 = 0 THEN 'pending' ELSE 'done' END, g % 20,
  lpad((g % 50000)::text, 8, '0'), g % 1000, g % 997,
  '2024-01-01'::timestamptz + g * interval '1 min',
  CASE WHEN g % 100 = 1 THEN NULL ELSE '2024-01-01'::timestamptz END, repeat('x', 80)
  FROM generate_series(1, 100000) g;
-- state: 1% 'open', 49% 'closed', 50% 'archived'
CREATE TABLE is_tickets (id bigint, state text, pad text);
INSERT INTO is_tickets SELECT g,
  CASE WHEN g % 100 = 0 THEN 'open' WHEN g % 2 = 0 THEN 'archived' ELSE 'closed' END,
  repeat('y', 80) FROM generate_series(1, 100000) g;
CREATE TABLE is_events (id bigint, user_id bigint, pad text);
INSERT INTO is_events SELECT g, g % 30000, repeat('z', 60) FROM generate_series(1, 100000) g;
ANALYZE is_orders, is_tickets, is_events;
SELECT latdiag_reset();

-- skewed: the rare value, the same in every call
SELECT count(*) FROM is_orders WHERE status = 'pending';
SELECT count(*) FROM is_orders WHERE status = 'pending';
SELECT count(*) FROM is_orders WHERE status = 'pending';
-- IS NULL on 1% of the rows
SELECT count(*) FROM is_orders WHERE shipped_at IS NULL;
SELECT count(*) FROM is_orders WHERE shipped_at IS NULL;
-- a rare value once, common values in most calls: no partial index
SELECT count(*) FROM is_tickets WHERE state = 'closed';
SELECT count(*) FROM is_tickets WHERE state = 'open';
SELECT count(*) FROM is_tickets WHERE state = 'archived';
SELECT count(*) FROM is_tickets WHERE state = 'closed';
-- uniform column, the same value: selective but not skewed, no partial index
SELECT count(*) FROM is_orders WHERE region = 7 AND a < 5;
SELECT count(*) FROM is_orders WHERE region = 7 AND a < 5;
-- computed comparison values, in SELECT and DML
SELECT count(*) FROM is_orders WHERE user_id = 40 + 2;
SELECT count(*) FROM is_orders WHERE user_id = 40 + 3;
DELETE FROM is_events WHERE user_id = 1000000 + 7;
DELETE FROM is_events WHERE user_id = 1000000 + 8;
PREPARE recent(interval) AS
  SELECT count(*) FROM is_orders WHERE created_at > now() - $1;
EXECUTE recent('1 hour');
EXECUTE recent('2 hours');
-- a value of another type than its column's
SELECT count(*) FROM is_orders WHERE id = 4242.0;
PREPARE by_code(text) AS SELECT count(*) FROM is_orders WHERE code = $1;
EXECUTE by_code('00004242');
-- OR across columns, and OR on one column
SELECT count(*) FROM is_orders WHERE a = 5 OR b = 7;
SELECT count(*) FROM is_orders WHERE a = 5 OR a = 7;

-- what was sampled (the texts and values: pg_read_all_stats only)
SELECT s.captures, s.value_shares, s.bound_values, s.statement IS NOT NULL AS has_text,
       s.sample_exec_time >= 0 AS timed, q.query
  FROM latdiag_param_samples s JOIN latdiag_queries q USING (queryid)
 WHERE q.query LIKE '%is\_%' ORDER BY q.query COLLATE "C", s.captures;
SELECT entries > 0 AS has_entries, max_entries, evictions FROM latdiag_param_sample_info();

-- the candidates: judged on the plans of the values actually used
SELECT relname, columns, index_def, judged_plan, calls
  FROM latdiag_index_candidates WHERE relname LIKE 'public.is\_%'
 ORDER BY index_def COLLATE "C";
SELECT index_def,
       reason LIKE '%custom plan with the sampled values%' AS says_custom,
       reason LIKE '%partial index: its predicate matches about _.__% of the rows%' AS partial_rows,
       reason LIKE '%came in 100% or more of 3 sampled executions%' AS same_value
  FROM latdiag_index_candidates WHERE index_def LIKE '% WHERE %' ORDER BY index_def COLLATE "C";
-- a partial index is sized from its rows only
SELECT p.est_size_bytes < f.est_size_bytes / 10 AS partial_is_small
  FROM latdiag_index_candidates p,
       (SELECT est_size_bytes FROM latdiag_index_candidates WHERE columns = '{user_id}'
         AND relname = 'public.is_orders') f
 WHERE p.index_def LIKE '%WHERE (status%';

-- not indexable as written, with the fix
SELECT relname, reason, index_def, calls FROM latdiag_index_advice()
 WHERE kind = 'not_indexable' AND relname LIKE 'public.is\_%' ORDER BY reason COLLATE "C";

-- fires and non-fires on this mixed workload
WITH a AS MATERIALIZED (SELECT * FROM latdiag_index_advice())
SELECT
  count(*) FILTER (WHERE kind = 'candidate' AND index_def LIKE '% WHERE %') AS partial,
  count(*) FILTER (WHERE kind = 'candidate' AND index_def LIKE '% WHERE %'
                   AND (relname = 'public.is_tickets' OR index_def LIKE '%region%')) AS partial_where_not,
  count(*) FILTER (WHERE kind = 'candidate' AND relname = 'public.is_tickets') AS tickets,
  count(*) FILTER (WHERE kind = 'candidate' AND columns = '{user_id}') AS computed_values,
  count(*) FILTER (WHERE kind = 'candidate' AND judged_plan = 'custom') AS judged_custom,
  count(*) FILTER (WHERE kind = 'candidate' AND judged_plan = 'generic') AS judged_generic,
  count(*) FILTER (WHERE kind = 'not_indexable' AND reason LIKE '%type mismatch%') AS type_mismatch,
  count(*) FILTER (WHERE kind = 'not_indexable' AND reason LIKE '%OR across%') AS or_columns,
  count(*) FILTER (WHERE kind = 'not_indexable' AND reason LIKE '%OR across%'
                   AND reason NOT LIKE '%(a, b)%') AS or_where_not
  FROM a WHERE relname LIKE 'public.is\_%';

-- every suggested index can be created, and the planner then uses it
SELECT replace(index_def, ' CONCURRENTLY', '') FROM latdiag_index_candidates
 WHERE relname LIKE 'public.is\_%' ORDER BY index_def COLLATE "C" \gexec
ANALYZE is_orders, is_events;
CREATE FUNCTION is_uses(q text, idx text) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE l text; found bool := false;
BEGIN
  FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    found := found OR position(idx IN l) > 0;
  END LOOP;
  RETURN found;
END $$;
SELECT is_uses($$SELECT count(*) FROM is_orders WHERE status = 'pending'$$, 'is_orders_status_idx') AS pending,
       is_uses($$SELECT count(*) FROM is_orders WHERE shipped_at IS NULL$$, 'is_orders_shipped_at_idx') AS not_shipped,
       is_uses($$SELECT count(*) FROM is_orders WHERE user_id = 40 + 2$$, 'is_orders_user_id_idx') AS computed_select,
       is_uses($$DELETE FROM is_events WHERE user_id = 1000000 + 7$$, 'is_events_user_id_idx') AS computed_delete,
       is_uses($$SELECT count(*) FROM is_orders WHERE region = 7 AND a < 5$$, 'is_orders_region_a_idx') AS uniform;
-- the partial index serves only its value
SELECT is_uses($$SELECT count(*) FROM is_orders WHERE status = 'done'$$, 'is_orders_status_idx') AS partial_for_done;
-- the fixes of the notices work too
SELECT is_uses($$SELECT count(*) FROM is_orders WHERE id = 4242.0::bigint$$, 'is_orders_pkey') AS cast_value;
CREATE INDEX ON is_orders (a);
CREATE INDEX ON is_orders (b);
SELECT is_uses($$SELECT count(*) FROM is_orders WHERE a = 5 OR b = 7$$, 'BitmapOr') AS bitmap_or;
DROP FUNCTION is_uses(text, text);
DROP TABLE is_orders, is_tickets, is_events;
DEALLOCATE recent;
DEALLOCATE by_code;
