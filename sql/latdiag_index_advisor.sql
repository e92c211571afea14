-- latdiag_index_candidates and latdiag_index_report: missing indexes,
-- validated by what-if planning with hypothetical indexes.
SET latdiag.snapshot_sample_rate = 0;
-- no parameter samples: every candidate is judged on the generic plan
SET latdiag.slow_execution_min_duration = -1;
CREATE TABLE ia_orders (id int PRIMARY KEY, user_id int, a int, b int,
  status text, created_at timestamptz, pad text);
INSERT INTO ia_orders SELECT g, g % 20000, g % 100, g % 97, 'new',
  '2024-01-01'::timestamptz + g * interval '1 min', repeat('x', 100)
  FROM generate_series(1, 100000) g;
CREATE TABLE ia_users (id int PRIMARY KEY, email text, name text);
INSERT INTO ia_users SELECT g, 'user' || g || '@example.com', 'name ' || g
  FROM generate_series(1, 100000) g;
CREATE TABLE ia_items (id int, user_ref int, qty int);
INSERT INTO ia_items SELECT g, g % 30000, g % 5 FROM generate_series(1, 100000) g;
CREATE TABLE ia_tiny (id int, v int);
INSERT INTO ia_tiny SELECT g, g FROM generate_series(1, 100) g;
ANALYZE ia_orders, ia_users, ia_items, ia_tiny;
SELECT latdiag_reset();

-- the workload
SELECT count(*) FROM ia_orders WHERE user_id = 42;
SELECT count(*) FROM ia_orders WHERE user_id = 43;
SELECT count(*) FROM ia_orders WHERE a = 5 AND b > 50;
SELECT id FROM ia_orders ORDER BY created_at DESC LIMIT 10;
SELECT name FROM ia_users WHERE id = 5;                 -- indexed already
SELECT count(*) FROM ia_tiny WHERE v = 5;                -- a tiny table
SELECT count(*) FROM ia_users WHERE email LIKE '%x';     -- no btree serves it
SELECT count(*) FROM ia_users WHERE lower(email) = 'user7@example.com';
SELECT count(*) FROM ia_orders WHERE created_at > now() - interval '5 min';  -- does not re-parse
UPDATE ia_orders SET b = 3 WHERE id = 1;                 -- sets b: HOT would stop
-- a join whose inner side is read sequentially once per outer row
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SET enable_memoize = off;
SELECT count(*) FROM ia_users u JOIN ia_items i ON i.user_ref = u.id WHERE u.id = 77;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;
RESET enable_memoize;
SELECT inner_of_nested_loop FROM latdiag_seq_scans WHERE relname = 'public.ia_items';

-- the candidates
SELECT relname, columns, index_def, calls, est_improvement >= 0.5 AS halves_cost,
       est_cost_after < est_cost_before AS cheaper, est_size_bytes > 0 AS sized,
       write_overhead >= 0 AS overhead_known, array_length(queryids, 1) AS statements
  FROM latdiag_index_candidates ORDER BY index_def COLLATE "C";
SELECT count(*) FILTER (WHERE columns = '{b,a}') AS b_a,
       count(*) FILTER (WHERE columns IN ('{a}', '{b}')) AS a_or_b_alone,
       count(*) FILTER (WHERE relname = 'public.ia_tiny') AS tiny,
       count(*) FILTER (WHERE relname = 'public.ia_users' AND columns = '{id}') AS indexed_id
  FROM latdiag_index_candidates;
SELECT columns, reason LIKE '%join key%' AS join_key FROM latdiag_index_candidates
 WHERE relname = 'public.ia_items';
SELECT columns, reason LIKE '%would stop HOT updates%' AS stops_hot
  FROM latdiag_index_candidates WHERE relname = 'public.ia_orders' ORDER BY columns::text COLLATE "C";

-- not indexable as written; statements that do not re-parse are counted
SELECT relname, reason, index_def, calls FROM latdiag_index_advice()
 WHERE kind = 'not_indexable' ORDER BY reason COLLATE "C";
SELECT reason LIKE '%1 skipped%' AS one_skipped FROM latdiag_index_advice() WHERE kind = 'summary';

-- a stricter rule keeps nothing: nothing can cut the cost by 100%
SET latdiag.index_min_improvement = 1;
SELECT count(*) AS kept_at_100_percent FROM latdiag_index_candidates;
RESET latdiag.index_min_improvement;
SET latdiag.index_min_improvement = 1.5;

-- another role sees nothing of statements it may not act for
CREATE ROLE ia_reader;
SET ROLE ia_reader;
SELECT count(*) AS visible_candidates FROM latdiag_index_candidates;
SELECT reason LIKE '%not visible to this role%' AND reason NOT LIKE '% 0 not visible%' AS others_hidden
  FROM latdiag_index_advice() WHERE kind = 'summary';
SELECT latdiag_record_index_report();
RESET ROLE;
DROP ROLE ia_reader;

-- the report, in its three formats
SELECT latdiag_index_report('json')::jsonb -> 'candidates' -> 0 ->> 'index_def' AS top_candidate;
SELECT jsonb_array_length(r -> 'candidates') AS candidates,
       jsonb_array_length(r -> 'not_indexable') AS not_indexable,
       jsonb_typeof(r -> 'unused_indexes') AS unused_indexes,
       r ->> 'database' = current_database() AS database
  FROM (SELECT latdiag_index_report('json')::jsonb AS r) x;
SELECT latdiag_index_report() LIKE 'Index report: database %Missing indexes%CREATE INDEX CONCURRENTLY ON public.ia_orders (user_id);%Predicates not indexable as written%Indexes never used since%' AS text_ok;
SELECT latdiag_index_report('markdown') LIKE '# Index report: %## Missing indexes%`CREATE INDEX CONCURRENTLY%## Predicates not indexable%## Indexes never used%' AS markdown_ok;
SELECT latdiag_index_report('xml');
SELECT latdiag_index_report(NULL);

-- an index that is never used is reported
CREATE INDEX ia_users_name ON ia_users (name);
SELECT r -> 'unused_indexes' @> '[{"index": "public.ia_users_name"}]' AS unused_listed
  FROM (SELECT latdiag_index_report('json')::jsonb AS r) x;
DROP INDEX ia_users_name;

-- history
SELECT latdiag_record_index_report() > 0 AS recorded;
SELECT count(*) AS reports, bool_and(database = current_database()) AS this_db,
       bool_and(jsonb_array_length(report -> 'candidates') > 0) AS with_candidates
  FROM latdiag_index_report_history;
SELECT count(*) AS dumped FROM pg_extension e, unnest(e.extconfig) c
 WHERE e.extname = 'postgres_latdiag';

-- the suggestion disappears once the index exists and the workload reruns
CREATE INDEX ia_orders_user_id ON ia_orders (user_id);
-- the estimated size was within 25% of the real one
SELECT (c ->> 'est_size_bytes')::float8 / pg_relation_size('ia_orders_user_id')
         BETWEEN 0.75 AND 1.25 AS size_estimate_close
  FROM latdiag_index_report_history, jsonb_array_elements(report -> 'candidates') c
 WHERE c -> 'columns' = '["user_id"]';
SELECT latdiag_reset();
SELECT count(*) FROM ia_orders WHERE user_id = 42;
SELECT count(*) FROM ia_orders WHERE a = 5 AND b > 50;
SELECT count(*) FILTER (WHERE columns = '{user_id}') AS user_id_candidates,
       count(*) FILTER (WHERE columns = '{a,b}') AS a_b_candidates
  FROM latdiag_index_candidates;

-- mixed-case identifiers: every array of column names holds plain names (as
-- pg_attribute.attname); index_def quotes them as SQL needs
CREATE TABLE "IaMixed" (id int PRIMARY KEY, "userId" int, pad text);
INSERT INTO "IaMixed" SELECT g, g % 5000, repeat('x', 50) FROM generate_series(1, 50000) g;
ANALYZE "IaMixed";
SELECT latdiag_reset();
SELECT count(*) FROM "IaMixed" WHERE "userId" = 42;
SELECT relname, filter_columns, filter_columns = ARRAY['userId'] AS plain
  FROM latdiag_seq_scans WHERE relname LIKE '%IaMixed%';
SELECT relname, columns, columns = ARRAY['userId'] AS plain, index_def
  FROM latdiag_index_candidates WHERE relname LIKE '%IaMixed%';
SELECT c -> 'columns' AS json_columns
  FROM jsonb_array_elements(latdiag_index_report('json')::jsonb -> 'candidates') c
 WHERE c ->> 'relname' LIKE '%IaMixed%';

DROP TABLE ia_orders, ia_users, ia_items, ia_tiny, "IaMixed";
DELETE FROM latdiag_index_report_history;
