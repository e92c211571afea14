-- latdiag_reset(): everything; latdiag_reset(userid, dbid, queryid): matches, 0 = any.
SELECT latdiag_reset();
SELECT 1 AS a;
SELECT 2 AS b, 3 AS c;
SELECT 4 AS d, 5 AS e, 6 AS f;
SELECT count(*) FROM latdiag_queries WHERE query LIKE 'SELECT $1 AS %';
-- one queryid
SELECT latdiag_reset(0, 0, (SELECT queryid FROM latdiag_queries WHERE query = 'SELECT $1 AS a'));
SELECT query FROM latdiag_queries WHERE query LIKE 'SELECT $1 AS %' ORDER BY query COLLATE "C";
-- one database: another dbid matches nothing
SELECT latdiag_reset(0, 1, 0);
SELECT count(*) FROM latdiag_queries WHERE query LIKE 'SELECT $1 AS %';
-- one user
SELECT latdiag_reset((SELECT oid FROM pg_roles WHERE rolname = current_user), 0, 0);
SELECT count(*) FROM latdiag_queries WHERE query LIKE 'SELECT $%';
-- a full reset moves stats_reset
SELECT stats_reset AS before_reset FROM latdiag_info \gset
SELECT latdiag_reset();
SELECT stats_reset > :'before_reset'::timestamptz AS moved, evictions FROM latdiag_info;
-- NULL arguments are answered with what is expected
SELECT latdiag_reset(NULL, 0, 0);
SELECT latdiag_reset(0, 0, NULL);
-- statements this session parsed before a reset get their normalized texts again
-- (the session's memory of existing entries is dropped when an entry is freed)
SELECT 7 AS g1;
SELECT 7 AS g2, 1 AS x;
SELECT 7 AS g3, 1 AS x, 2 AS y;
SELECT latdiag_reset();
SELECT 8 AS g1;
SELECT 8 AS g2, 1 AS x;
SELECT 8 AS g3, 1 AS x, 2 AS y;
SELECT query, calls FROM latdiag_queries WHERE query LIKE 'SELECT % AS g%' ORDER BY query COLLATE "C";
SELECT latdiag_reset(0, 0, (SELECT queryid FROM latdiag_queries WHERE query = 'SELECT $1 AS g1'));
SELECT 9 AS g1;
SELECT query, calls FROM latdiag_queries WHERE query LIKE 'SELECT % AS g%' ORDER BY query COLLATE "C";
