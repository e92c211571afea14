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
SET ROLE regress_latdiag_alice;
SELECT * FROM latdiag_latency_histogram(:su_queryid);
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
DROP ROLE regress_latdiag_alice;
DROP ROLE regress_latdiag_bob;
