-- latdiag_lock_waits, latdiag_lock_tree and their reset: the SQL surface.
-- (Waits themselves need two sessions: test/specs/latdiag_lock_waits.spec.)
SELECT latdiag_reset();
SELECT count(*) AS rows_after_reset FROM latdiag_lock_waits;
SELECT attname, format_type(atttypid, atttypmod) AS type
  FROM pg_attribute WHERE attrelid = 'latdiag_lock_waits'::regclass AND attnum > 0
  ORDER BY attnum;
SELECT count(*) AS waiting_now FROM latdiag_lock_tree;
SELECT lock_waits = (SELECT count(*) FROM latdiag_lock_waits_all()) AS entries_match_view,
       max_lock_waits, lock_wait_evictions, lock_waits_dropped
  FROM latdiag_info;
-- latdiag_queries has the two columns, zero for a statement that never waited
SELECT 'never waited' AS lw1;
SELECT lock_waits, lock_wait_time FROM latdiag_queries WHERE query LIKE 'SELECT $1 AS lw1%';

-- the reset: 0 matches anything, NULL is refused, not for PUBLIC
SELECT latdiag_lock_waits_reset();
SELECT latdiag_lock_waits_reset(0, 0, 42);
SELECT latdiag_lock_waits_reset(NULL, 0, 0);
SELECT has_function_privilege('public', 'latdiag_lock_waits_reset(oid, oid, bigint)', 'EXECUTE') AS public_may_reset;
SELECT has_table_privilege('public', 'latdiag_lock_waits', 'SELECT') AS public_reads_waits,
       has_table_privilege('public', 'latdiag_lock_tree', 'SELECT') AS public_reads_tree;

-- the settings: the interval changes on reload only, within its range
SHOW latdiag.lock_sample_interval;
SET latdiag.lock_sample_interval = 5;
-- (ranges of settings with units: latdiag_guc, whose error wording changed in 16)
ALTER SYSTEM SET latdiag.max_lock_waits = 99;
-- the sampler runs
SELECT count(*) AS samplers FROM pg_stat_activity WHERE backend_type = 'postgres_latdiag sampler';
