-- latdiag_query_sources: who sends each statement (application_name and
-- sqlcommenter tags), per source.
SELECT latdiag_reset();

-- the objects and their columns
SELECT attnum, attname, format_type(atttypid, atttypmod)
  FROM pg_attribute
 WHERE attrelid = 'latdiag_query_sources'::regclass AND attnum > 0
 ORDER BY attnum;
SELECT name, setting, unit, context FROM pg_settings
 WHERE name = 'latdiag.max_sources';
SELECT sources >= 0 AS has_sources, max_sources, source_evictions,
       error_entries >= 0 AS has_error_entries, max_errors, error_evictions
  FROM latdiag_info;

CREATE TABLE src_t (id int PRIMARY KEY, v text);
INSERT INTO src_t SELECT g, 'v' || g FROM generate_series(1, 10) g;
SELECT latdiag_reset();

-- application_name changes mid-session: one statement, two sources
SET application_name = 'svc_a';
SELECT v FROM src_t WHERE id = 1;
SELECT v FROM src_t WHERE id = 2;
SET application_name = 'svc_b';
SELECT v FROM src_t WHERE id = 3;
RESET application_name;
SELECT application_name, service, route, calls,
       mean_exec_time > 0 AS has_mean,
       p95_exec_time >= min_exec_time AND p95_exec_time <= max_exec_time AS p95_in_range,
       errors, last_seen IS NOT NULL AS has_last_seen, query
  FROM latdiag_query_sources
 WHERE query LIKE 'SELECT v FROM src_t%'
 ORDER BY application_name;
SELECT count(DISTINCT queryid) AS statements, count(*) AS sources
  FROM latdiag_query_sources WHERE query LIKE 'SELECT v FROM src_t%';

-- sqlcommenter tags: well-formed (trailing, before the semicolon), URL-encoded,
-- leading, malformed (ignored: the application's source), too long (cut at 95
-- bytes), only unknown keys (the application's source)
SET application_name = 'shop';
SELECT id, v FROM src_t WHERE id = 1 /*service='cart',controller='orders',action='show',framework='rails'*/;
SELECT id, v FROM src_t WHERE id = 2 /*service='cart',controller='orders',action='show',framework='rails'*/;
SELECT id, v FROM src_t WHERE id = 3 /*service='cart',route='%2Fapi%2Fv1%2Forders%2F%3Aid',action='it\'s'*/;
/*service='billing',controller='invoices'*/ SELECT id, v FROM src_t WHERE id = 4;
SELECT id, v FROM src_t WHERE id = 5 /*service=billing*/;
SELECT id, v FROM src_t WHERE id = 6 /*service='billing,route='x'*/;
SELECT id, v FROM src_t WHERE id = 7 /*service='%2'*/;
SELECT id, v FROM src_t WHERE id = 8 /*route='/very/long/route/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'*/;
SELECT id, v FROM src_t WHERE id = 9 /*db_driver='pg',traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/;
SELECT id, v FROM src_t /* not at an end */ WHERE id = 10;
RESET application_name;
SELECT application_name, service, controller, route, action, framework,
       length(route) AS route_len, calls
  FROM latdiag_query_sources
 WHERE query LIKE 'SELECT id, v FROM src_t%'
 ORDER BY service COLLATE "C" NULLS FIRST, controller COLLATE "C", route COLLATE "C";
SELECT count(DISTINCT queryid) AS statements
  FROM latdiag_query_sources WHERE query LIKE 'SELECT id, v FROM src_t%';

-- failed executions are counted per source too
SET application_name = 'failing';
SELECT 1 / (id - id) AS boom FROM src_t WHERE id = 1 /*service='payments'*/;
SELECT 1 / (id - id) AS boom FROM src_t WHERE id = 1;
SELECT 1 / (id - id) AS boom FROM src_t WHERE id = 1;
RESET application_name;
SELECT application_name, service, calls, errors, error_time >= 0 AS has_error_time
  FROM latdiag_query_sources
 WHERE query LIKE '%AS boom%'
 ORDER BY service NULLS FIRST;

-- showtext => false leaves the text out
SELECT count(*) > 0 AS rows, bool_and(query IS NULL) AS no_text
  FROM latdiag_query_sources(false);

-- privacy: others' texts, queryids and tags are hidden; application_name is not
CREATE ROLE src_reader;
SET ROLE src_reader;
SELECT count(*) > 0 AS sees_rows,
       bool_and(query = '<insufficient privilege>') AS texts_hidden,
       bool_and(queryid IS NULL) AS queryids_hidden,
       bool_and(service IS NULL AND route IS NULL) AS tags_hidden,
       bool_or(application_name = 'shop') AS application_names_shown
  FROM latdiag_query_sources WHERE userid <> 'src_reader'::regrole::oid;
RESET ROLE;
GRANT pg_read_all_stats TO src_reader;
SET ROLE src_reader;
SELECT bool_or(query LIKE 'SELECT id, v FROM src_t%') AS texts_shown,
       bool_or(service = 'cart') AS tags_shown
  FROM latdiag_query_sources;
RESET ROLE;
DROP ROLE src_reader;

-- reset: by queryid, then everything
SELECT latdiag_reset(0, 0, queryid) FROM latdiag_query_sources
 WHERE query LIKE 'SELECT v FROM src_t%' GROUP BY queryid;
SELECT count(*) FILTER (WHERE query LIKE 'SELECT v FROM src_t%') AS reset_one,
       count(*) FILTER (WHERE query LIKE 'SELECT id, v FROM src_t%') > 0 AS others_kept
  FROM latdiag_query_sources;
SELECT latdiag_reset();
SELECT count(*) FILTER (WHERE query NOT LIKE '%latdiag%') AS after_reset,
       count(*) <= 3 AS only_the_reset_itself
  FROM latdiag_query_sources;
DROP TABLE src_t;
