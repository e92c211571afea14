/* postgres_latdiag--1.2--1.3.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION postgres_latdiag UPDATE TO '1.3'" to load this file. \quit

-- ---------------------------------------------------------------- lock waits

-- latdiag_queries gains lock_waits and lock_wait_time
DROP VIEW latdiag_queries;
DROP FUNCTION latdiag_queries(boolean);
CREATE FUNCTION latdiag_queries(IN showtext boolean DEFAULT true,
    OUT userid oid,
    OUT dbid oid,
    OUT toplevel bool,
    OUT queryid bigint,
    OUT query text,
    OUT query_truncated bool,
    OUT calls int8,
    OUT rows int8,
    OUT total_exec_time float8,
    OUT min_exec_time float8,
    OUT max_exec_time float8,
    OUT mean_exec_time float8,
    OUT stddev_exec_time float8,
    OUT p50_exec_time float8,
    OUT p90_exec_time float8,
    OUT p95_exec_time float8,
    OUT p99_exec_time float8,
    OUT p999_exec_time float8,
    OUT plans int8,
    OUT total_plan_time float8,
    OUT min_plan_time float8,
    OUT max_plan_time float8,
    OUT mean_plan_time float8,
    OUT stddev_plan_time float8,
    OUT shared_blks_hit int8,
    OUT shared_blks_read int8,
    OUT shared_blks_dirtied int8,
    OUT shared_blks_written int8,
    OUT local_blks_hit int8,
    OUT local_blks_read int8,
    OUT local_blks_dirtied int8,
    OUT local_blks_written int8,
    OUT temp_blks_read int8,
    OUT temp_blks_written int8,
    OUT blk_read_time float8,
    OUT blk_write_time float8,
    OUT wal_records int8,
    OUT wal_fpi int8,
    OUT wal_bytes numeric,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz,
    OUT plan_count int8,
    OUT lock_waits int8,
    OUT lock_wait_time float8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_queries'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_queries AS
  SELECT * FROM latdiag_queries(true);
GRANT SELECT ON latdiag_queries TO PUBLIC;

-- latdiag_info gains the N+1 and lock-wait stores
DROP VIEW latdiag_info;
DROP FUNCTION latdiag_info();
CREATE FUNCTION latdiag_info(
    OUT entries int8,
    OUT max_entries int8,
    OUT evictions int8,
    OUT truncated_texts int8,
    OUT max_query_length int4,
    OUT shmem_bytes int8,
    OUT stats_reset timestamptz,
    OUT plans int8,
    OUT max_plans int8,
    OUT plan_evictions int8,
    OUT plan_changes int8,
    OUT plan_change_evictions int8,
    OUT snapshots int8,
    OUT max_snapshots int8,
    OUT snapshot_evictions int8,
    OUT seq_scans int8,
    OUT max_seq_scans int8,
    OUT seq_scan_evictions int8,
    OUT n_plus_one int8,
    OUT max_n_plus_one int8,
    OUT n_plus_one_evictions int8,
    OUT n_plus_one_episodes int8,
    OUT lock_waits int8,
    OUT max_lock_waits int8,
    OUT lock_wait_evictions int8,
    OUT lock_waits_dropped int8
)
RETURNS record
AS 'MODULE_PATHNAME', 'latdiag_info'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_info AS
  SELECT * FROM latdiag_info();
GRANT SELECT ON latdiag_info TO PUBLIC;

-- Every (statement, lock, blocker statement) with the lock waits recorded.
CREATE FUNCTION latdiag_lock_waits_all(
    OUT dbid oid,
    OUT userid oid,
    OUT queryid bigint,
    OUT query text,
    OUT locktype text,
    OUT mode text,
    OUT relid oid,
    OUT relname text,
    OUT waits int8,
    OUT cancelled int8,
    OUT total_wait_time float8,
    OUT max_wait_time float8,
    OUT mean_wait_time float8,
    OUT blocker_queryid bigint,
    OUT blocker_query text,
    OUT blocker_state text,
    OUT last_seen timestamptz,
    OUT blocker_pid int4,
    OUT max_blocker_xact_age float8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_lock_waits'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- The statements that waited longest first.
CREATE VIEW latdiag_lock_waits AS
  SELECT * FROM latdiag_lock_waits_all()
   ORDER BY total_wait_time DESC, waits DESC;
GRANT SELECT ON latdiag_lock_waits TO PUBLIC;

-- Forget the lock waits matching (userid, dbid, queryid); 0 matches any value.
CREATE FUNCTION latdiag_lock_waits_reset(userid oid DEFAULT 0, dbid oid DEFAULT 0,
                                         queryid bigint DEFAULT 0)
RETURNS void
AS 'MODULE_PATHNAME', 'latdiag_lock_waits_reset'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;
REVOKE ALL ON FUNCTION latdiag_lock_waits_reset(oid, oid, bigint) FROM PUBLIC;

-- Who blocks whom right now: each waiting backend under the backend that
-- blocks it (pg_blocking_pids), the chains' heads (blocking, not waiting)
-- at depth 0.  Ordered by path, so that it reads as a tree.  A backend
-- blocked by several appears under each.  Query texts follow
-- pg_stat_activity's privacy.
CREATE VIEW latdiag_lock_tree AS
WITH RECURSIVE
waiter AS (
  SELECT a.pid, b.blocker
    FROM pg_stat_activity a,
         LATERAL unnest(pg_blocking_pids(a.pid)) AS b(blocker)
   WHERE a.wait_event_type = 'Lock'
),
awaited AS (
  SELECT DISTINCT ON (pid) pid, locktype, mode, relation, waitstart
    FROM pg_locks
   WHERE NOT granted
   ORDER BY pid, waitstart
),
tree AS (
  SELECT h.blocker AS pid, NULL::int4 AS blocked_by, 0 AS depth,
         ARRAY[h.blocker] AS path
    FROM (SELECT DISTINCT blocker FROM waiter w
           WHERE NOT EXISTS (SELECT 1 FROM waiter w2 WHERE w2.pid = w.blocker)) h
  UNION ALL
  SELECT w.pid, w.blocker, t.depth + 1, t.path || w.pid
    FROM tree t JOIN waiter w ON w.blocker = t.pid
   WHERE w.pid <> ALL (t.path)
)
SELECT t.depth,
       t.path,
       repeat('    ', t.depth) || t.pid::text AS tree,
       t.pid,
       t.blocked_by,
       CASE WHEN t.pid = 0 THEN 'prepared transaction' ELSE a.state END AS state,
       l.locktype AS wait_locktype,
       l.mode AS wait_mode,
       l.relation::regclass AS wait_relation,
       extract(epoch FROM (clock_timestamp() - l.waitstart)) * 1000 AS wait_time,
       extract(epoch FROM (clock_timestamp() - a.xact_start)) * 1000 AS xact_age,
       a.usename,
       a.application_name,
       a.query_id AS queryid,
       a.query
  FROM tree t
  LEFT JOIN pg_stat_activity a ON a.pid = t.pid
  LEFT JOIN awaited l ON l.pid = t.pid AND t.depth > 0
 ORDER BY t.path;
GRANT SELECT ON latdiag_lock_tree TO PUBLIC;

-- ---------------------------------------------------------------- N+1

-- N+1 patterns: one row per (user, database, kind, level, parent, child).
CREATE FUNCTION latdiag_n_plus_one(
    OUT dbid oid,
    OUT userid oid,
    OUT kind text,
    OUT toplevel bool,
    OUT parent_queryid bigint,
    OUT parent_query text,
    OUT child_queryid bigint,
    OUT child_query text,
    OUT episodes int8,
    OUT child_calls int8,
    OUT avg_calls_per_episode float8,
    OUT max_calls_per_episode int8,
    OUT total_round_trip_time float8,
    OUT child_exec_time float8,
    OUT last_seen timestamptz,
    OUT suggestion text,
    OUT mean_round_trip_time float8,
    OUT rows_per_call float8,
    OUT distinct_ratio float8,
    OUT confidence float8,
    OUT first_seen timestamptz
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_n_plus_one'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- The costliest patterns first.
CREATE VIEW latdiag_n_plus_one AS
  SELECT * FROM latdiag_n_plus_one()
  ORDER BY total_round_trip_time DESC;
GRANT SELECT ON latdiag_n_plus_one TO PUBLIC;

-- ---------------------------------------------------------------- index advice
-- Candidates validated by what-if planning ('candidate'), predicates no index
-- serves as written ('not_indexable'), and one 'summary' row.  The analysis
-- runs at each call; nothing is stored.
CREATE FUNCTION latdiag_index_advice(
    OUT kind text,
    OUT dbid oid,
    OUT relid oid,
    OUT relname text,
    OUT columns text[],
    OUT index_def text,
    OUT queryids bigint[],
    OUT calls int8,
    OUT est_cost_before float8,
    OUT est_cost_after float8,
    OUT est_improvement float8,
    OUT est_size_bytes int8,
    OUT write_overhead float8,
    OUT reason text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_index_advice'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

-- Missing indexes, the most beneficial (calls x cost saved per call) first.
CREATE VIEW latdiag_index_candidates AS
  SELECT dbid, relid, relname, columns, index_def, queryids, calls,
         est_cost_before, est_cost_after, est_improvement, est_size_bytes,
         write_overhead, reason
    FROM latdiag_index_advice()
   WHERE kind = 'candidate'
   ORDER BY calls * (est_cost_before - est_cost_after) DESC, index_def;
GRANT SELECT ON latdiag_index_candidates TO PUBLIC;

-- The index report: candidates, not-indexable predicates, unused indexes.
CREATE FUNCTION latdiag_index_report(format text DEFAULT 'text')
RETURNS text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $fn$
DECLARE
    nsp name;
    r jsonb;
    c jsonb;
    out text := '';
    n int;
    md bool := format = 'markdown';
BEGIN
    IF format IS NULL OR format NOT IN ('text', 'markdown', 'json') THEN
        RAISE EXCEPTION 'latdiag_index_report: unknown format "%"', format
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Valid formats are: text, markdown, json.';
    END IF;
    -- the extension is relocatable: find its schema
    SELECT n.nspname INTO nsp FROM pg_catalog.pg_extension e
      JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'postgres_latdiag';

    EXECUTE pg_catalog.format($q$
      WITH a AS MATERIALIZED (SELECT * FROM %I.latdiag_index_advice())
      SELECT jsonb_build_object(
        'database', current_database(),
        'created_at', now(),
        'index_min_improvement', current_setting('latdiag.index_min_improvement')::float8,
        'summary', (SELECT reason FROM a WHERE kind = 'summary'),
        'candidates', COALESCE((SELECT jsonb_agg(jsonb_build_object(
              'relname', relname, 'columns', columns, 'index_def', index_def,
              'queryids', queryids, 'calls', calls,
              'est_cost_before', round(est_cost_before::numeric, 2),
              'est_cost_after', round(est_cost_after::numeric, 2),
              'est_improvement', round(est_improvement::numeric, 4),
              'benefit', round((calls * (est_cost_before - est_cost_after))::numeric, 2),
              'est_size_bytes', est_size_bytes,
              'write_overhead', round(write_overhead::numeric, 4),
              'reason', reason)
            ORDER BY calls * (est_cost_before - est_cost_after) DESC, index_def)
            FROM a WHERE kind = 'candidate'), '[]'::jsonb),
        'not_indexable', COALESCE((SELECT jsonb_agg(jsonb_build_object(
              'relname', relname, 'predicate', reason, 'expression_index', index_def,
              'queryids', queryids, 'calls', calls)
            ORDER BY calls DESC, reason)
            FROM a WHERE kind = 'not_indexable'), '[]'::jsonb),
        'unused_indexes_since', (SELECT stats_reset FROM pg_catalog.pg_stat_database
                                  WHERE datname = current_database()),
        'unused_indexes', COALESCE((SELECT jsonb_agg(jsonb_build_object(
              'relname', pg_catalog.format('%%I.%%I', s.schemaname, s.relname),
              'index', pg_catalog.format('%%I.%%I', s.schemaname, s.indexrelname),
              'size_bytes', pg_catalog.pg_relation_size(s.indexrelid),
              'index_def', pg_catalog.pg_get_indexdef(s.indexrelid))
            ORDER BY pg_catalog.pg_relation_size(s.indexrelid) DESC, s.indexrelname)
            FROM pg_catalog.pg_stat_user_indexes s
            JOIN pg_catalog.pg_index i ON i.indexrelid = s.indexrelid
           WHERE s.idx_scan = 0 AND i.indisvalid AND NOT i.indisunique
             AND NOT i.indisexclusion
             AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                              WHERE k.conindid = s.indexrelid)), '[]'::jsonb))
    $q$, nsp) INTO r;

    IF format = 'json' THEN
        RETURN jsonb_pretty(r);
    END IF;

    out := CASE WHEN md THEN '# Index report: ' ELSE 'Index report: ' END
        || pg_catalog.format('database %s, %s', r->>'database', r->>'created_at') || E'\n'
        || CASE WHEN md THEN E'\n' ELSE '' END
        || (r->>'summary') || E'\n\n';

    out := out || CASE WHEN md THEN '## ' ELSE '' END
        || 'Missing indexes (by benefit = calls x estimated cost saved per call)'
        || E'\n' || CASE WHEN md THEN E'\n' ELSE '' END;
    n := 0;
    FOR c IN SELECT * FROM jsonb_array_elements(r->'candidates') LOOP
        n := n + 1;
        IF md THEN
            out := out || pg_catalog.format(E'%s. `%s`\n   - %s calls, cost %s -> %s (%s%% less), about %s, write overhead %s\n   - queryids: %s\n   - %s\n',
                n, c->>'index_def', c->>'calls', c->>'est_cost_before', c->>'est_cost_after',
                round((c->>'est_improvement')::numeric * 100), pg_catalog.pg_size_pretty((c->>'est_size_bytes')::bigint),
                c->>'write_overhead', c->'queryids', c->>'reason');
        ELSE
            out := out || pg_catalog.format(E'%s. %s;\n   %s calls, cost %s -> %s (%s%% less), about %s, write overhead %s\n   queryids: %s\n   %s\n',
                n, c->>'index_def', c->>'calls', c->>'est_cost_before', c->>'est_cost_after',
                round((c->>'est_improvement')::numeric * 100), pg_catalog.pg_size_pretty((c->>'est_size_bytes')::bigint),
                c->>'write_overhead', c->'queryids', c->>'reason');
        END IF;
    END LOOP;
    IF n = 0 THEN
        out := out || E'(none)\n';
    END IF;

    out := out || E'\n' || CASE WHEN md THEN '## ' ELSE '' END
        || E'Predicates not indexable as written\n' || CASE WHEN md THEN E'\n' ELSE '' END;
    n := 0;
    FOR c IN SELECT * FROM jsonb_array_elements(r->'not_indexable') LOOP
        n := n + 1;
        out := out || pg_catalog.format(CASE WHEN md THEN E'- %s: `%s` (%s calls, queryids %s)\n'
                                             ELSE E'- %s: %s (%s calls, queryids %s)\n' END,
            c->>'relname', c->>'predicate', c->>'calls', c->'queryids');
        IF c->>'expression_index' IS NOT NULL THEN
            out := out || pg_catalog.format(CASE WHEN md THEN E'  - expression index: `%s`\n'
                                                 ELSE E'  expression index: %s;\n' END,
                c->>'expression_index');
        END IF;
    END LOOP;
    IF n = 0 THEN
        out := out || E'(none)\n';
    END IF;

    out := out || E'\n' || CASE WHEN md THEN '## ' ELSE '' END
        || 'Indexes never used since '
        || COALESCE(r->>'unused_indexes_since', 'statistics were created')
        || E'\n' || CASE WHEN md THEN E'\n' ELSE '' END;
    n := 0;
    FOR c IN SELECT * FROM jsonb_array_elements(r->'unused_indexes') LOOP
        n := n + 1;
        out := out || pg_catalog.format(CASE WHEN md THEN E'- `%s` on %s, %s: `%s`\n'
                                             ELSE E'- %s on %s, %s: %s\n' END,
            c->>'index', c->>'relname',
            pg_catalog.pg_size_pretty((c->>'size_bytes')::bigint), c->>'index_def');
    END LOOP;
    IF n = 0 THEN
        out := out || E'(none)\n';
    END IF;
    RETURN out;
END
$fn$;

-- Recorded reports: kept by pg_dump (configuration table of the extension).
CREATE TABLE latdiag_index_report_history (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    database text NOT NULL DEFAULT current_database(),
    report jsonb NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('latdiag_index_report_history', '');
SELECT pg_catalog.pg_extension_config_dump('latdiag_index_report_history_id_seq', '');
REVOKE ALL ON latdiag_index_report_history FROM PUBLIC;
GRANT SELECT ON latdiag_index_report_history TO pg_read_all_stats;

-- Store one report (json) in the history; refused on a hot standby.
CREATE FUNCTION latdiag_record_index_report()
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $fn$
DECLARE
    nsp name;
    new_id bigint;
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RAISE EXCEPTION 'latdiag_record_index_report: cannot record an index report on a hot standby'
            USING ERRCODE = 'read_only_sql_transaction',
                  HINT = 'Read it with latdiag_index_report() here, or record it on the primary.';
    END IF;
    SELECT n.nspname INTO nsp FROM pg_catalog.pg_extension e
      JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'postgres_latdiag';
    EXECUTE pg_catalog.format(
        'INSERT INTO %I.latdiag_index_report_history (report) '
        'VALUES (%I.latdiag_index_report(''json'')::jsonb) RETURNING id', nsp, nsp)
      INTO new_id;
    RETURN new_id;
END
$fn$;
REVOKE ALL ON FUNCTION latdiag_record_index_report() FROM PUBLIC;
