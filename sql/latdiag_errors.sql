-- Failed executions: latdiag_queries' errors columns and latdiag_errors.
SELECT latdiag_reset();
CREATE TABLE le (id int PRIMARY KEY, v text);
INSERT INTO le VALUES (1, 'one');

-- unique violation (23505): counted as an error, not as a call
INSERT INTO le VALUES (1, 'dup');
INSERT INTO le VALUES (1, 'dup');
INSERT INTO le VALUES (2, 'two');

-- statement_timeout (57014), with about its duration
SET statement_timeout = '200ms';
SELECT pg_sleep(1);
RESET statement_timeout;

-- a syntax error has no query id: counted under a NULL queryid
SELEC 1;

-- a statement that fails before it runs (parse analysis) has no query id either
SELECT * FROM le_does_not_exist;

-- an error inside PL/pgSQL: the nested statement fails, the caller finishes
CREATE FUNCTION le_try(i int) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO le VALUES (i, 'again');
  RETURN 'inserted';
EXCEPTION WHEN unique_violation THEN
  RETURN 'caught';
END $$;
SELECT le_try(1);
SELECT le_try(1);
-- uncaught: both the nested statement and the caller fail
CREATE FUNCTION le_fail() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  UPDATE le SET id = 2 WHERE id = 1;
  RETURN 1;
END $$;
SELECT le_fail();

-- causes counted by SQLSTATE
CREATE FUNCTION le_raise(code text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'raised %', code USING ERRCODE = code;
END $$;
SELECT le_raise('40001');
SELECT le_raise('40P01');
SELECT le_raise('55P03');

-- an error in a transaction block, and one after a savepoint
BEGIN;
SELECT 1 / 0 AS div_in_xact;
ROLLBACK;
BEGIN;
SAVEPOINT s;
SELECT 1 / 0 AS div_in_savepoint;  -- aliases are not part of the query id
ROLLBACK TO SAVEPOINT s;
COMMIT;

-- the statements: calls count finished executions only
SELECT query, calls, errors, timeouts, deadlocks, serialization_failures,
       lock_timeouts, toplevel
  FROM latdiag_queries
 WHERE errors > 0 OR query LIKE 'INSERT INTO le%'
 ORDER BY query COLLATE "C", toplevel;

-- timing: error_time covers the time until the error; the percentiles with
-- failures include them (the one failed execution's time, within a bucket's
-- width: not a fixed figure, since the executor starts after parse and plan,
-- which take tens of ms under valgrind), those of finished executions do not
SELECT errors = 1 AS one_timeout,
       error_time BETWEEN 150 AND 900 AS about_the_timeout,
       p50_exec_time IS NULL AS no_finished_percentile,
       p50_all_exec_time BETWEEN error_time * 0.96 AND error_time * 1.04 AS failed_percentile
  FROM latdiag_queries WHERE query LIKE 'SELECT pg_sleep%';
SELECT p99_all_exec_time >= p99_exec_time AS all_ge_finished,
       p50_all_exec_time IS NOT NULL AS has_all
  FROM latdiag_queries WHERE query LIKE 'INSERT INTO le VALUES%' AND toplevel;

-- latdiag_errors: one row per statement and SQLSTATE
SELECT queryid IS NULL AS no_queryid, sqlstate, errors, query,
       message, total_time >= max_time AS total_ge_max,
       first_seen <= last_seen AS seen_order
  FROM latdiag_errors
 ORDER BY query COLLATE "C" NULLS FIRST, sqlstate COLLATE "C";

-- privacy: an unprivileged reader sees the counts of every row, the queryid
-- and text of its own statements only, and no message (they can hold data)
CREATE ROLE le_reader;
GRANT SELECT ON le TO le_reader;
SET ROLE le_reader;
SELECT 1 / (id - id) AS private_div FROM le;
SELECT userid = 'le_reader'::regrole AS own, queryid IS NULL AS queryid_hidden,
       sqlstate, errors, query, message
  FROM latdiag_errors
 WHERE sqlstate = '57014' OR query LIKE '%private_div%'
 ORDER BY own, sqlstate COLLATE "C";
RESET ROLE;
SELECT sqlstate, message FROM latdiag_errors WHERE query LIKE '%private_div%';
DROP OWNED BY le_reader;
DROP ROLE le_reader;

-- an error is noted when it is raised (hooks.c): what was caught inside a
-- statement that went on is not its failure, and a report that is not an
-- error is not one.  A NOTICE carrying an error's SQLSTATE (42P07, skipping):
CREATE FUNCTION le_notice() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  CREATE TABLE IF NOT EXISTS le (id int);
  RETURN 1;
END $$;
SELECT le_notice();
-- a procedure catching an error of its own: CALL goes on, the level is back
CREATE PROCEDURE le_proc() LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    PERFORM 7 / (count(*) - count(*)) FROM le;
  EXCEPTION WHEN division_by_zero THEN NULL;
  END;
END $$;
CALL le_proc();
CALL le_proc();
-- caught, then thrown again (RAISE without arguments): the caller fails
CREATE FUNCTION le_reraise() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    PERFORM 8 / (count(*) - count(*)) FROM le;
  EXCEPTION WHEN division_by_zero THEN RAISE;
  END;
  RETURN 1;
END $$;
SELECT le_reraise();
SELECT count(*) AS after_procedure FROM le;
SELECT query, calls, errors, toplevel
  FROM latdiag_queries
 WHERE query LIKE '%le_notice%' OR query LIKE '%le_proc%' OR query LIKE '%le_reraise%' OR
       query LIKE 'CREATE TABLE IF NOT EXISTS%' OR query LIKE '%count(*) - count(*)%' OR
       query LIKE '%after_procedure%'
 ORDER BY query COLLATE "C", toplevel;
DROP FUNCTION le_notice();
DROP FUNCTION le_reraise();
DROP PROCEDURE le_proc();

-- a reset forgets them
SELECT latdiag_reset();
SELECT count(*) AS after_reset FROM latdiag_errors;
SELECT count(*) AS with_errors FROM latdiag_queries WHERE errors > 0;
DROP FUNCTION le_try(int);
DROP FUNCTION le_fail();
DROP FUNCTION le_raise(text);
DROP TABLE le;
