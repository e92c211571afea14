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
-- neither SET is counted: the first turned capture off, the second began while
-- off (the entry made when the first was parsed has no call)
SELECT calls AS set_calls FROM latdiag_queries WHERE query LIKE 'SET latdiag.enabled%';

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

-- Every latdiag.* setting at and beyond its limits, read from pg_settings so
-- that settings added later are covered without a line here: the minimum and
-- maximum are taken, one step beyond either, a non-number, a wrong unit and a
-- value outside the enum or bool are refused.
CREATE FUNCTION lg_try(name text, value text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config(name, value, true);
  RETURN 'ok: ' || current_setting(name);
EXCEPTION WHEN others THEN
  RETURN 'ERROR: ' || SQLERRM;
END $$;
CREATE TEMP VIEW lg_cases AS
SELECT s.name, s.context, c.label, c.value
  FROM pg_settings s,
  LATERAL (VALUES
    ('1 min', s.min_val),
    ('2 max', s.max_val),
    ('3 below min', CASE s.vartype WHEN 'integer' THEN (s.min_val::numeric - 1)::text
                                   WHEN 'real' THEN (s.min_val::numeric - 0.001)::text END),
    ('4 above max', CASE s.vartype WHEN 'integer' THEN (s.max_val::numeric + 1)::text
                                   WHEN 'real' THEN (s.max_val::numeric + 0.001)::text END),
    ('5 not a number', CASE WHEN s.vartype IN ('integer', 'real') THEN 'abc' END),
    ('6 wrong unit', CASE WHEN s.vartype IN ('integer', 'real')
                          THEN CASE s.unit WHEN 'ms' THEN '10kB' ELSE '10s' END END),
    ('7 first value', CASE s.vartype WHEN 'enum' THEN s.enumvals[1] WHEN 'bool' THEN 'off' END),
    ('8 last value', CASE s.vartype WHEN 'enum' THEN s.enumvals[cardinality(s.enumvals)]
                                    WHEN 'bool' THEN 'on' END),
    ('9 not a value', CASE s.vartype WHEN 'enum' THEN 'bogus' WHEN 'bool' THEN 'maybe' END)
  ) AS c(label, value)
 WHERE s.name LIKE 'latdiag.%' AND c.value IS NOT NULL;
-- settings a session can change: SET (here set_config, local) takes or refuses
SELECT name, label, value, lg_try(name, value) AS result
  FROM lg_cases WHERE context IN ('user', 'superuser')
 ORDER BY name COLLATE "C", label COLLATE "C";
-- the others (restart, reload): ALTER SYSTEM takes or refuses the value
SELECT format('ALTER SYSTEM SET %s = %L', name, value)
  FROM lg_cases WHERE context NOT IN ('user', 'superuser')
 ORDER BY name COLLATE "C", label COLLATE "C" \gexec
-- what ALTER SYSTEM took last: the maximum or last value of each
SELECT name, setting FROM pg_file_settings
 WHERE name LIKE 'latdiag.%' AND sourcefile LIKE '%postgresql.auto.conf'
 ORDER BY name COLLATE "C";
SELECT format('ALTER SYSTEM RESET %s', name) FROM lg_cases
 WHERE context NOT IN ('user', 'superuser') GROUP BY name ORDER BY name COLLATE "C" \gexec
SELECT count(*) AS left_in_auto_conf FROM pg_file_settings
 WHERE name LIKE 'latdiag.%' AND sourcefile LIKE '%postgresql.auto.conf';
-- and every setting is back to its configured value
SELECT count(*) AS changed FROM pg_settings
 WHERE name LIKE 'latdiag.%' AND setting IS DISTINCT FROM reset_val;
DROP VIEW lg_cases;
DROP FUNCTION lg_try(text, text);
