-- Nesting: PL/pgSQL, prepared statements, cursors, errors and aborted transactions.
SELECT latdiag_reset();
CREATE TABLE ln (id int PRIMARY KEY, v int);
INSERT INTO ln SELECT g, g FROM generate_series(1, 50) g;

-- statements inside a function are nested (toplevel = false, with latdiag.track = all)
CREATE FUNCTION ln_loop(n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE s int := 0; r int;
BEGIN
  FOR i IN 1..n LOOP
    SELECT v INTO r FROM ln WHERE id = i;
    s := s + r;
  END LOOP;
  RETURN s;
END $$;
SELECT ln_loop(10);
SELECT ln_loop(5);
SELECT toplevel, calls, query FROM latdiag_queries
  WHERE query LIKE '%FROM ln WHERE id%' OR query LIKE 'SELECT ln_loop%'
  ORDER BY toplevel, query COLLATE "C";

-- an error inside a nested statement leaves the nesting level right
CREATE FUNCTION ln_fail() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  PERFORM v / 0 FROM ln WHERE id = 1;
  RETURN 1;
END $$;
SELECT ln_fail();
SELECT count(*) AS after_error FROM ln WHERE v > 0;
SELECT toplevel, calls FROM latdiag_queries WHERE query = 'SELECT count(*) AS after_error FROM ln WHERE v > $1';

-- an aborted transaction: what ran before the error is counted, the failed statement is not
BEGIN;
SELECT count(*) AS in_aborted_tx FROM ln;
SELECT 1 / 0 AS boom;
ROLLBACK;
SELECT calls FROM latdiag_queries WHERE query LIKE 'SELECT count(*) AS in_aborted_tx%';
SELECT count(*) AS failed_counted FROM latdiag_queries WHERE query LIKE '%AS boom' AND calls > 0;

-- PREPARE/EXECUTE count on the prepared statement, at the top level; EXECUTE is no entry
PREPARE ln_by_id(int) AS SELECT v FROM ln WHERE id = $1;
EXECUTE ln_by_id(1);
EXECUTE ln_by_id(2);
EXECUTE ln_by_id(3);
SELECT toplevel, calls, rows, query FROM latdiag_queries
  WHERE query LIKE '%ln_by_id%' OR query LIKE 'SELECT v FROM ln WHERE id = $1%'
  ORDER BY query COLLATE "C";
DEALLOCATE ln_by_id;

-- FETCH is a utility statement: its rows are counted
BEGIN;
DECLARE ln_cur CURSOR FOR SELECT id FROM ln ORDER BY id;
FETCH 5 FROM ln_cur;
FETCH 5 FROM ln_cur;
CLOSE ln_cur;
COMMIT;
SELECT calls, rows FROM latdiag_queries WHERE query = 'FETCH 5 FROM ln_cur';

-- with latdiag.track = top, nested statements are not counted
SET latdiag.track = 'top';
SELECT ln_loop(3);
SELECT toplevel, calls FROM latdiag_queries WHERE query LIKE 'SELECT v %FROM ln WHERE id = i' AND NOT toplevel;
RESET latdiag.track;

-- a parallel query is one call: workers record nothing of their own
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
-- (force_parallel_mode is called debug_parallel_query from 16 on)
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                  THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END,
                  'on', false) AS parallel_forced;
SELECT count(*) AS in_parallel FROM ln WHERE v > 10 AND id > 0;
SELECT count(*) AS in_parallel FROM ln WHERE v > 20 AND id > 0;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                  THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END,
                  'off', false) AS parallel_forced;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
RESET max_parallel_workers_per_gather;
SELECT calls, rows FROM latdiag_queries WHERE query LIKE 'SELECT count(*) AS in_parallel%';

DROP FUNCTION ln_loop(int);
DROP FUNCTION ln_fail();
DROP TABLE ln;
