-- Upgrades: version 1.0 installs and works with the current library, then
-- ALTER EXTENSION ... UPDATE walks it to the default version.
SELECT current_database() AS regress_db \gset
CREATE DATABASE latdiag_upgrade;
\c latdiag_upgrade
CREATE EXTENSION postgres_latdiag VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'postgres_latdiag';
-- the 1.0 definitions read fine through the newer library
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'latdiag_queries'::regclass AND attnum > 0;
SELECT count(*) >= 0 AS readable FROM latdiag_queries;
SELECT max_entries FROM latdiag_info;
ALTER EXTENSION postgres_latdiag UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'postgres_latdiag';
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'latdiag_queries'::regclass AND attnum > 0;
SELECT count(*) >= 0 AS plans_readable FROM latdiag_plans;
SELECT count(*) >= 0 AS changes_readable FROM latdiag_plan_changes;
SELECT count(*) >= 0 AS snapshots_readable FROM latdiag_explain_snapshots;
SELECT count(*) >= 0 AS seq_scans_readable FROM latdiag_seq_scans;
SELECT count(*) >= 0 AS n_plus_one_readable FROM latdiag_n_plus_one;
SELECT count(*) >= 0 AS lock_waits_readable FROM latdiag_lock_waits;
SELECT count(*) >= 0 AS lock_tree_readable FROM latdiag_lock_tree;
SELECT count(*) >= 0 AS index_candidates_readable FROM latdiag_index_candidates;
SELECT count(*) AS index_reports FROM latdiag_index_report_history;
SELECT max_entries, max_plans, max_snapshots, max_seq_scans, max_n_plus_one, max_lock_waits FROM latdiag_info;
-- one step at a time works too
DROP EXTENSION postgres_latdiag;
CREATE EXTENSION postgres_latdiag VERSION '1.1';
SELECT max_plans FROM latdiag_info;
ALTER EXTENSION postgres_latdiag UPDATE TO '1.2';
SELECT extversion FROM pg_extension WHERE extname = 'postgres_latdiag';
-- the 1.2 definitions read fine through the newer library
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'latdiag_queries'::regclass AND attnum > 0;
SELECT count(*) >= 0 AS readable FROM latdiag_queries;
SELECT max_seq_scans FROM latdiag_info;
ALTER EXTENSION postgres_latdiag UPDATE TO '1.3';
SELECT extversion FROM pg_extension WHERE extname = 'postgres_latdiag';
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'latdiag_queries'::regclass AND attnum > 0;
SELECT max_n_plus_one, max_lock_waits FROM latdiag_info;
-- the 1.3 definitions read fine through the newer library
SELECT count(*) >= 0 AS readable FROM latdiag_queries;
ALTER EXTENSION postgres_latdiag UPDATE TO '1.4';
SELECT extversion FROM pg_extension WHERE extname = 'postgres_latdiag';
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'latdiag_queries'::regclass AND attnum > 0;
SELECT count(*) >= 0 AS readable FROM latdiag_queries;
ALTER EXTENSION postgres_latdiag UPDATE TO '1.5';
SELECT extversion FROM pg_extension WHERE extname = 'postgres_latdiag';
SELECT count(*) >= 0 AS readable FROM latdiag_queries;
\c :regress_db
DROP DATABASE latdiag_upgrade;
