-- Bad arguments: every function of the extension (found in the catalog, so
-- functions added later are covered too) called with NULL, negative, zero and
-- out-of-range or unknown arguments answers with a clear error, or with nothing
-- for STRICT ones, and leaves the stores consistent.
SET latdiag.snapshot_min_duration = 0;
SET latdiag.snapshot_sample_rate = 1;
SELECT 'bad input' AS bi, 1 AS one;
SELECT 'bad input' AS bi, 1 AS one;
CREATE TEMP VIEW bi_calls AS
WITH fns AS (
  SELECT p.oid, p.proname, p.proretset, p.proisstrict, p.pronargs, p.proargtypes
    FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
   WHERE d.refclassid = 'pg_extension'::regclass AND d.classid = 'pg_proc'::regclass
     AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'postgres_latdiag')
), cases(c) AS (VALUES ('1 null'), ('2 negative'), ('3 zero'), ('4 largest'))
SELECT f.proname, c, f.proisstrict,
       format(CASE WHEN NOT f.proretset THEN 'SELECT %2$I(%3$s) IS NOT NULL AS %1$I'
                   WHEN c = '1 null' AND f.pronargs > 0 THEN 'SELECT count(*) AS %1$I FROM %2$I(%3$s)'
                   ELSE 'SELECT count(*) >= 0 AS %1$I FROM %2$I(%3$s)' END,
              f.proname || CASE WHEN f.pronargs = 0 THEN ' no arguments' ELSE ' ' || c END, f.proname,
              (SELECT coalesce(string_agg(
                 CASE c WHEN '1 null' THEN 'NULL::' || format_type(t, NULL)
                        WHEN '2 negative' THEN CASE t WHEN 'bool'::regtype THEN 'false'
                                                      ELSE '(-1)::' || format_type(t, NULL) END
                        WHEN '3 zero' THEN CASE t WHEN 'bool'::regtype THEN 'true'
                                                  ELSE '0::' || format_type(t, NULL) END
                        ELSE CASE t WHEN 'bool'::regtype THEN 'true'
                                    WHEN 'oid'::regtype THEN '4294967295::oid'
                                    WHEN 'int4'::regtype THEN '2147483647'
                                    ELSE '9223372036854775807::' || format_type(t, NULL) END
                 END, ', ' ORDER BY i), '')
                 FROM unnest(f.proargtypes::oid[]) WITH ORDINALITY AS a(t, i))) AS sql
  FROM fns f, cases
 WHERE f.pronargs > 0 OR c = '1 null';
-- oid has no negative values: (-1)::oid is 4294967295, so it is a valid (unknown) oid
SELECT sql FROM bi_calls ORDER BY proname COLLATE "C", c COLLATE "C", sql COLLATE "C" \gexec
-- the stores are consistent afterwards: every view reads, and latdiag_info's
-- counts match the rows
SELECT format('SELECT count(*) >= 0 AS %I FROM %I', c.relname || ' reads', c.relname)
  FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.classid = 'pg_class'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'postgres_latdiag')
   AND c.relkind = 'v' ORDER BY c.relname COLLATE "C" \gexec
SELECT entries = (SELECT count(*) FROM latdiag_queries(false)) AS entries_match,
       plans = (SELECT count(*) FROM latdiag_plans(false)) AS plans_match,
       plan_changes = (SELECT count(*) FROM latdiag_plan_changes_all()) AS changes_match,
       snapshots = (SELECT count(*) FROM latdiag_explain_snapshots()) AS snapshots_match,
       seq_scans = (SELECT count(*) FROM latdiag_seq_scans_all()) AS seq_scans_match
  FROM latdiag_info;
-- and capture goes on
SELECT 'bad input' AS bi, 2 AS two, 3 AS three;
SELECT calls FROM latdiag_queries WHERE query = 'SELECT $1 AS bi, $2 AS two, $3 AS three';
DROP VIEW bi_calls;
RESET latdiag.snapshot_min_duration;
RESET latdiag.snapshot_sample_rate;
