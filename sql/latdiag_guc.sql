-- Settings: ranges and values are checked at SET time, and each one does what it says.
SELECT name, setting, unit, context, vartype, min_val, max_val, enumvals
  FROM pg_settings WHERE name LIKE 'latdiag.%' ORDER BY name COLLATE "C";

-- bad values are rejected
SET latdiag.track = 'sometimes';
SET latdiag.enabled = 'maybe';
SET latdiag.max_queries = 10;
SET latdiag.max_query_length = 100;
SET latdiag.no_such_setting = 1;
-- ranges are checked even for settings that need a restart
ALTER SYSTEM SET latdiag.max_queries = 99;
ALTER SYSTEM SET latdiag.max_queries = 1000001;
ALTER SYSTEM SET latdiag.max_query_length = 255;
ALTER SYSTEM SET latdiag.max_query_length = '2MB';
SHOW latdiag.track;

-- latdiag.enabled = off stops capture, on resumes it
SELECT latdiag_reset();
SET latdiag.enabled = off;
SELECT 'while off' AS g1;
SET latdiag.enabled = on;
SELECT 'while on' AS g2, 1 AS n;
SELECT query, calls FROM latdiag_queries WHERE query LIKE 'SELECT $1 AS g%' ORDER BY query COLLATE "C";

-- latdiag.track = none
SET latdiag.track = 'none';
SELECT 'untracked' AS g3, 1 AS a, 2 AS b;
RESET latdiag.track;
SELECT count(*) AS untracked_rows FROM latdiag_queries WHERE query LIKE '%AS g3%';

-- latdiag.track_utility = off
SET latdiag.track_utility = off;
CREATE TEMP TABLE g_untracked (a int);
RESET latdiag.track_utility;
CREATE TEMP TABLE g_tracked (a int);
SELECT query FROM latdiag_queries WHERE query LIKE 'CREATE TEMP TABLE g_%' ORDER BY query COLLATE "C";

-- latdiag.track_planning = off: executions counted, plans not
SET latdiag.track_planning = off;
SELECT 'plans off' AS g4, 1 AS a, 2 AS b, 3 AS c;
RESET latdiag.track_planning;
SELECT calls, plans FROM latdiag_queries WHERE query LIKE 'SELECT $1 AS g4%';
