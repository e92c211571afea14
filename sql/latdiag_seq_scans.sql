-- latdiag_seq_scans: sequential scans of large tables, per statement.
SET latdiag.snapshot_sample_rate = 0;   -- no random instrumentation: estimates are stable
CREATE TABLE ss_big (id int, user_id int, email text, a int, b int);
INSERT INTO ss_big SELECT g, g % 1000, 'user' || g || '@example.com', g % 50, g % 7
  FROM generate_series(1, 20000) g;
CREATE TABLE ss_small (id int, v int);
INSERT INTO ss_small SELECT g, g FROM generate_series(1, 100) g;
CREATE TABLE ss_indexed (id int PRIMARY KEY, v int);
INSERT INTO ss_indexed SELECT g, g FROM generate_series(1, 20000) g;
ANALYZE ss_big, ss_small, ss_indexed;
SHOW latdiag.large_table_rows;
SELECT latdiag_reset();

-- a 20k-row table with a selective filter is listed
SELECT count(*) FROM ss_big WHERE user_id = 42;
-- a small table is not; an indexed lookup is not
SELECT count(*) FROM ss_small WHERE v = 3;
SELECT v FROM ss_indexed WHERE id = 5;
-- an unselective full read is recorded, but not flagged
SELECT count(*) FROM ss_big WHERE a >= 0;
-- filter columns through a function, and of a conjunction
SELECT count(*) FROM ss_big WHERE lower(email) = 'nobody@example.com';
SELECT count(*) FROM ss_big WHERE a = 1 AND b > 5;

SELECT relname, calls, measured, round(selectivity::numeric, 4) AS selectivity,
       table_rows BETWEEN 19000 AND 21000 AS table_rows_about_20k,
       rows_scanned BETWEEN 19000 AND 21000 AS scans_whole_table,
       filter, filter_columns, inner_of_nested_loop
  FROM latdiag_seq_scans WHERE query NOT LIKE '%latdiag%'
 ORDER BY filter COLLATE "C";
SELECT count(*) AS all_scans, count(*) FILTER (WHERE problem) AS problems,
       bool_or(filter = '(a >= 0)' AND NOT problem) AS full_read_not_flagged
  FROM latdiag_seq_scans_all() WHERE query NOT LIKE '%latdiag%';
SELECT count(*) AS small_or_indexed FROM latdiag_seq_scans_all()
 WHERE relname IN ('public.ss_small', 'public.ss_indexed');

-- an inner seq scan of a nested loop runs once per outer row
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SET enable_memoize = off;
SELECT count(*) FROM ss_small s,
  LATERAL (SELECT 1 FROM ss_big b WHERE b.user_id = s.v OFFSET 0) x
 WHERE s.id <= 3;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;
RESET enable_memoize;
SELECT inner_of_nested_loop, filter_columns, rows_scanned > table_rows AS scanned_per_outer_row
  FROM latdiag_seq_scans WHERE query LIKE '%LATERAL (SELECT % FROM ss_big b%';

-- an instrumented execution measures the rows instead of estimating them
SET latdiag.snapshot_sample_rate = 1;
SELECT count(*) FROM ss_big WHERE user_id = 7 AND b >= 0;
SET latdiag.snapshot_sample_rate = 0;
SELECT measured, rows_scanned, rows_returned, filter_columns
  FROM latdiag_seq_scans WHERE filter LIKE '%(user_id = 7)%';

-- statements nested in PL/pgSQL, in views and CTEs are attributed too
CREATE VIEW ss_view AS SELECT * FROM ss_big WHERE a = 3;
CREATE FUNCTION ss_count(u int) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  RETURN (SELECT count(*) FROM ss_big WHERE user_id = u);
END $$;
SELECT ss_count(5);
SELECT count(*) FROM ss_view WHERE b = 1;
WITH recent AS (SELECT * FROM ss_big WHERE id > 19990) SELECT count(*) FROM recent;
SELECT left(query, 45) AS query, filter FROM latdiag_seq_scans
 WHERE query LIKE '%ss_count%' OR query LIKE '%ss_view%' OR query LIKE 'WITH recent%'
    OR query LIKE '%WHERE user_id = u%'
 ORDER BY query COLLATE "C";

-- partitions: one row per partition scanned
CREATE TABLE ss_part (id int, v int) PARTITION BY RANGE (id);
CREATE TABLE ss_part_1 PARTITION OF ss_part FOR VALUES FROM (0) TO (15000);
CREATE TABLE ss_part_2 PARTITION OF ss_part FOR VALUES FROM (15000) TO (30000);
INSERT INTO ss_part SELECT g, g % 100 FROM generate_series(0, 29999) g;
ANALYZE ss_part;
SELECT count(*) FROM ss_part WHERE v = 42;
SELECT relname, filter FROM latdiag_seq_scans WHERE query LIKE '%FROM ss_part WHERE%' ORDER BY relname COLLATE "C";

-- the threshold setting
SET latdiag.seq_scan_max_selectivity = 1;
SELECT count(*) FILTER (WHERE filter = '(a >= 0)') AS full_read_now_listed FROM latdiag_seq_scans;
RESET latdiag.seq_scan_max_selectivity;
SET latdiag.seq_scan_max_selectivity = 2;
SET latdiag.large_table_rows = -2;

SELECT seq_scans = (SELECT count(*) FROM latdiag_seq_scans_all()) AS counted, max_seq_scans
  FROM latdiag_info;
DROP FUNCTION ss_count(int);
DROP VIEW ss_view;
DROP TABLE ss_big, ss_small, ss_indexed, ss_part;
