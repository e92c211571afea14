-- N+1 patterns: loops of one statement per parent row, detected per backend.
-- Every statement below is its own client round trip (\gexec sends each
-- generated statement separately, as an ORM would).  Reading the view ends
-- the reader's open runs, so each block is judged right after it ran.
SET latdiag.n_plus_one_min_time = 0;
SET latdiag.n_plus_one_max_gap = '60s';
CREATE TABLE np_orders (id int PRIMARY KEY, user_id int);
CREATE TABLE np_items (id int PRIMARY KEY, order_id int, product_id int);
CREATE TABLE np_products (id int PRIMARY KEY, name text);
INSERT INTO np_orders SELECT g, g % 10 FROM generate_series(1, 100) g;
INSERT INTO np_items SELECT g, (g - 1) / 3 + 1, g FROM generate_series(1, 300) g;
INSERT INTO np_products SELECT g, 'product ' || g FROM generate_series(1, 300) g;
SELECT latdiag_reset();

-- (\o /dev/null hides the loops' own results)
-- 1. the classic: the orders of a user (the parent, which also builds the
-- statements), then the items of each order
\o /dev/null
SELECT format('SELECT id, product_id FROM np_items WHERE order_id = %s', id)
  FROM np_orders WHERE user_id = 3 ORDER BY id \gexec
\o
SELECT kind, toplevel, parent_query, child_query, episodes, child_calls,
       max_calls_per_episode, distinct_ratio >= 0.8 AS distinct_params,
       rows_per_call, confidence = 1 AS parent_rows_match,
       total_round_trip_time >= child_exec_time AS round_trips_counted,
       suggestion
  FROM latdiag_n_plus_one;

-- 2. the same query with the same parameters: a duplicate, not an N+1
SELECT latdiag_reset();
\o /dev/null
SELECT 'SELECT name FROM np_products WHERE id = 7' FROM generate_series(1, 6) \gexec
\o
SELECT kind, child_query, child_calls, distinct_ratio < 0.8 AS repeated_params
  FROM latdiag_n_plus_one;

-- 3. a loop of 3 calls is below latdiag.n_plus_one_min_calls (5)
SELECT latdiag_reset();
\o /dev/null
SELECT format('SELECT name FROM np_products WHERE id = %s', g) FROM generate_series(1, 3) g \gexec
\o
SELECT count(*) AS reported FROM latdiag_n_plus_one;

-- ... and so is a loop that takes less than latdiag.n_plus_one_min_time
SET latdiag.n_plus_one_min_time = '1h';
\o /dev/null
SELECT format('SELECT name FROM np_products WHERE id = %s', g) FROM generate_series(1, 10) g \gexec
\o
SELECT count(*) AS reported FROM latdiag_n_plus_one;
SET latdiag.n_plus_one_min_time = 0;

-- ... two relations per row (the user of each order, then its items; \gexec
-- runs a row's columns one after the other): two loops with one parent, the
-- query whose rows drive both; the lookup that runs once before each items
-- query is a sibling, not the items' parent
SELECT latdiag_reset();
\o /dev/null
SELECT format('SELECT user_id FROM np_orders WHERE id = %s', g),
       format('SELECT count(*) FROM np_items WHERE order_id = %s', g)
  FROM generate_series(1, 8) g \gexec
\o
SELECT left(parent_query, 13) AS parent, child_query, child_calls, confidence
  FROM latdiag_n_plus_one ORDER BY child_query COLLATE "C";

-- ... and the same two statements again and again with nothing whose rows
-- drive them (here: one row holding every statement): loops without a
-- parent, kind read_loop, only in latdiag_n_plus_one_all()
SELECT latdiag_reset();
\o /dev/null
SELECT string_agg(format('SELECT user_id FROM np_orders WHERE id = %s; ', g) ||
                  format('SELECT count(*) FROM np_items WHERE order_id = %s', g), '; ')
  FROM generate_series(1, 8) g \gexec
\o
SELECT count(*) AS reported FROM latdiag_n_plus_one;
SELECT kind, parent_query, child_query, child_calls, confidence, suggestion
  FROM latdiag_n_plus_one_all() ORDER BY child_query COLLATE "C";

-- 4. nested loops: items per order and products per item, A B B B A B B B;
-- each loop's parent is the statement whose rows drive it
SELECT latdiag_reset();
\o /dev/null
SELECT format('SELECT id, product_id FROM np_items WHERE order_id = %s', o.id), p[1], p[2], p[3]
  FROM np_orders o,
       LATERAL (SELECT array_agg(format('SELECT name FROM np_products WHERE id = %s', i.product_id)
                                 ORDER BY i.id) AS p
                  FROM np_items i WHERE i.order_id = o.id) x
 WHERE o.user_id = 4 ORDER BY o.id \gexec
\o
SELECT kind, left(parent_query, 40) AS parent, child_query, episodes, child_calls,
       confidence = 1 AS parent_rows_match
  FROM latdiag_n_plus_one ORDER BY child_calls;

-- 5. a loop inside PL/pgSQL: nested statements, toplevel = false
SELECT latdiag_reset();
CREATE FUNCTION np_render(uid int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  o record;
  n int := 0;
  x text;
BEGIN
  FOR o IN SELECT id FROM np_orders WHERE user_id = uid ORDER BY id LOOP
    SELECT name INTO x FROM np_products WHERE id = o.id;
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
SELECT np_render(6);
SELECT kind, toplevel, parent_query, child_query, child_calls,
       distinct_ratio >= 0.8 AS distinct_params
  FROM latdiag_n_plus_one;

-- 6. a loop of single-row INSERTs: a write loop, not a read
SELECT latdiag_reset();
\o /dev/null
SELECT format('INSERT INTO np_products VALUES (%s, %L)', g, 'new ' || g)
  FROM generate_series(1001, 1008) g \gexec
\o
SELECT kind, child_query, child_calls, suggestion FROM latdiag_n_plus_one;

-- 7. extended protocol: parameters, not literals, tell the calls apart
SELECT latdiag_reset();
PREPARE np_item(int) AS SELECT id FROM np_items WHERE order_id = $1;
\o /dev/null
SELECT format('EXECUTE np_item(%s)', g) FROM generate_series(1, 6) g \gexec
\o
SELECT count(*) AS patterns FROM latdiag_n_plus_one;
\o /dev/null
SELECT 'EXECUTE np_item(5)' FROM generate_series(1, 6) \gexec
\o
SELECT kind, child_query, child_calls FROM latdiag_n_plus_one ORDER BY kind;
DEALLOCATE np_item;

-- 8. thresholds that make no sense are rejected
SET latdiag.n_plus_one_min_calls = 1;
SET latdiag.n_plus_one_min_calls = 0;
-- (ranges of settings with units: latdiag_guc, whose error wording changed in 16)
SET latdiag.n_plus_one_max_rows = -5;
SET latdiag.n_plus_one_min_time = '5 parsecs';
SET latdiag.max_n_plus_one = 10;
SHOW latdiag.n_plus_one_min_calls;

-- 9. privacy: another role sees the counts, not the texts or queryids
CREATE ROLE np_plain;
SET ROLE np_plain;
SELECT kind, parent_queryid IS NULL AS parent_hidden, parent_query,
       child_queryid IS NULL AS child_hidden, child_query, child_calls,
       suggestion NOT LIKE '%order_id%' AS suggestion_hides_column
  FROM latdiag_n_plus_one ORDER BY kind;
RESET ROLE;
DROP ROLE np_plain;

-- 10. the counts in latdiag_info; reset by queryid; reset of everything
SELECT n_plus_one > 0 AS has_patterns, max_n_plus_one, n_plus_one_episodes >= n_plus_one AS episodes_counted
  FROM latdiag_info;
SELECT latdiag_reset(0, 0, (SELECT child_queryid FROM latdiag_n_plus_one WHERE kind = 'read'));
SELECT kind FROM latdiag_n_plus_one ORDER BY kind;
SELECT latdiag_reset();
SELECT count(*) AS after_reset FROM latdiag_n_plus_one;
DROP FUNCTION np_render(int);
DROP TABLE np_orders, np_items, np_products;
RESET latdiag.n_plus_one_min_time;
RESET latdiag.n_plus_one_max_gap;
