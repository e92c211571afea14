/* postgres_latdiag--1.4--1.5.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION postgres_latdiag UPDATE TO '1.5'" to load this file. \quit

-- ------------------------------------------------------------------------
-- Time windows count failed executions (issue 14): latdiag_windows and
-- latdiag_query_windows gain errors, latdiag_regressions recent_errors and
-- baseline_errors (and the likely cause "more errors"), latdiag_compare
-- errors_1 and errors_2.
-- ------------------------------------------------------------------------
DROP VIEW latdiag_regressions;
DROP FUNCTION latdiag_regressions(interval, interval);
DROP FUNCTION latdiag_regressions(interval, text);
DROP VIEW latdiag_query_windows;
DROP FUNCTION latdiag_query_windows(boolean);
DROP VIEW latdiag_windows;
DROP FUNCTION latdiag_windows();
DROP FUNCTION latdiag_compare(timestamptz, timestamptz, timestamptz, timestamptz);

-- One row per kept window, for the whole server.
CREATE FUNCTION latdiag_windows(
    OUT window_start timestamptz,
    OUT window_end timestamptz,
    OUT calls int8,
    OUT total_exec_time float8,
    OUT mean_exec_time float8,
    OUT p50_exec_time float8,
    OUT p95_exec_time float8,
    OUT p99_exec_time float8,
    OUT statements int4,
    OUT lock_wait_time float8,
    OUT other_statements int4,
    OUT other_calls int8,
    OUT rows int8,
    OUT shared_blks_hit int8,
    OUT shared_blks_read int8,
    OUT lock_waits int8,
    OUT errors int8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_windows'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_windows AS
  SELECT * FROM latdiag_windows() ORDER BY window_start;
GRANT SELECT ON latdiag_windows TO PUBLIC;

-- One row per (window, statement); the statements not kept are one "other" row.
CREATE FUNCTION latdiag_query_windows(IN showtext boolean DEFAULT true,
    OUT window_start timestamptz,
    OUT window_end timestamptz,
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT toplevel bool,
    OUT query text,
    OUT calls int8,
    OUT total_exec_time float8,
    OUT mean_exec_time float8,
    OUT p50_exec_time float8,
    OUT p95_exec_time float8,
    OUT p99_exec_time float8,
    OUT rows int8,
    OUT shared_blks_hit int8,
    OUT shared_blks_read int8,
    OUT temp_blks_read int8,
    OUT temp_blks_written int8,
    OUT lock_waits int8,
    OUT lock_wait_time float8,
    OUT planids bigint[],
    OUT is_other bool,
    OUT other_statements int4,
    OUT errors int8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_query_windows'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_query_windows AS
  SELECT * FROM latdiag_query_windows(true);
GRANT SELECT ON latdiag_query_windows TO PUBLIC;

-- Statements whose recent windows are significantly worse than their baseline.
CREATE FUNCTION latdiag_regressions(
    IN recent interval DEFAULT '5 minutes',
    IN baseline interval DEFAULT '1 hour',
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT toplevel bool,
    OUT query text,
    OUT recent_calls int8,
    OUT baseline_calls int8,
    OUT recent_p50 float8,
    OUT recent_p95 float8,
    OUT recent_p99 float8,
    OUT recent_mean float8,
    OUT baseline_p50 float8,
    OUT baseline_p95 float8,
    OUT baseline_p99 float8,
    OUT baseline_mean float8,
    OUT factor float8,
    OUT since timestamptz,
    OUT likely_cause text,
    OUT causes text[],
    OUT p_value float8,
    OUT recent_errors int8,
    OUT baseline_errors int8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_regressions'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;
GRANT EXECUTE ON FUNCTION latdiag_regressions(interval, interval) TO PUBLIC;

CREATE FUNCTION latdiag_regressions(
    IN recent interval,
    IN baseline text,
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT toplevel bool,
    OUT query text,
    OUT recent_calls int8,
    OUT baseline_calls int8,
    OUT recent_p50 float8,
    OUT recent_p95 float8,
    OUT recent_p99 float8,
    OUT recent_mean float8,
    OUT baseline_p50 float8,
    OUT baseline_p95 float8,
    OUT baseline_p99 float8,
    OUT baseline_mean float8,
    OUT factor float8,
    OUT since timestamptz,
    OUT likely_cause text,
    OUT causes text[],
    OUT p_value float8,
    OUT recent_errors int8,
    OUT baseline_errors int8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_regressions_baseline'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;
GRANT EXECUTE ON FUNCTION latdiag_regressions(interval, text) TO PUBLIC;

CREATE VIEW latdiag_regressions AS
  SELECT * FROM latdiag_regressions('5 minutes'::interval, '1 hour'::interval)
   ORDER BY factor DESC;
GRANT SELECT ON latdiag_regressions TO PUBLIC;


-- Two periods among the kept windows, side by side per statement.
CREATE FUNCTION latdiag_compare(
    IN from1 timestamptz,
    IN to1 timestamptz,
    IN from2 timestamptz,
    IN to2 timestamptz,
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT toplevel bool,
    OUT query text,
    OUT calls_1 int8,
    OUT calls_2 int8,
    OUT total_exec_time_1 float8,
    OUT total_exec_time_2 float8,
    OUT mean_exec_time_1 float8,
    OUT mean_exec_time_2 float8,
    OUT p50_exec_time_1 float8,
    OUT p50_exec_time_2 float8,
    OUT p95_exec_time_1 float8,
    OUT p95_exec_time_2 float8,
    OUT p99_exec_time_1 float8,
    OUT p99_exec_time_2 float8,
    OUT rows_1 int8,
    OUT rows_2 int8,
    OUT shared_blks_read_1 int8,
    OUT shared_blks_read_2 int8,
    OUT lock_wait_time_1 float8,
    OUT lock_wait_time_2 float8,
    OUT factor float8,
    OUT planids_1 bigint[],
    OUT planids_2 bigint[],
    OUT errors_1 int8,
    OUT errors_2 int8
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_compare'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;
GRANT EXECUTE ON FUNCTION latdiag_compare(timestamptz, timestamptz, timestamptz, timestamptz) TO PUBLIC;

-- ------------------------------------------------------------------------
-- Who sent it: per-source aggregates (issue 15).
-- ------------------------------------------------------------------------

-- One row per (userid, dbid, queryid, toplevel, source): a source is the
-- application_name plus the sqlcommenter service/controller/route/action/
-- framework tags of the statement's comment (NULL when absent).
CREATE FUNCTION latdiag_query_sources(IN showtext boolean DEFAULT true,
    OUT userid oid,
    OUT dbid oid,
    OUT toplevel bool,
    OUT queryid bigint,
    OUT application_name text,
    OUT service text,
    OUT controller text,
    OUT route text,
    OUT action text,
    OUT framework text,
    OUT calls int8,
    OUT total_exec_time float8,
    OUT mean_exec_time float8,
    OUT min_exec_time float8,
    OUT max_exec_time float8,
    OUT p95_exec_time float8,
    OUT errors int8,
    OUT error_time float8,
    OUT last_seen timestamptz,
    OUT query text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_query_sources'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_query_sources AS
  SELECT * FROM latdiag_query_sources(true);
GRANT SELECT ON latdiag_query_sources TO PUBLIC;

-- latdiag_info gains the source table and the error table's counts
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
    OUT lock_waits_dropped int8,
    OUT windows int8,
    OUT max_windows int8,
    OUT window_rows int8,
    OUT max_window_rows int8,
    OUT baselines int8,
    OUT max_baselines int8,
    OUT sources int8,
    OUT max_sources int8,
    OUT source_evictions int8,
    OUT error_entries int8,
    OUT max_errors int8,
    OUT error_evictions int8
)
RETURNS record
AS 'MODULE_PATHNAME', 'latdiag_info'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_info AS
  SELECT * FROM latdiag_info();
GRANT SELECT ON latdiag_info TO PUBLIC;

-- ------------------------------------------------------------------------
-- Diagnosis: query shapes, tail snapshots, ranked findings (issue 16).
-- ------------------------------------------------------------------------

-- advisor (items 1-3)
-- Actual parameter values (one kept sample per statement), for index advice.
-- The statement as it ran and its bound values are shown only to readers with
-- pg_read_all_stats or the statement's role.
CREATE FUNCTION latdiag_param_samples(
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT captures int8,
    OUT sampled_at timestamptz,
    OUT sample_exec_time float8,
    OUT statement text,
    OUT bound_values text[],
    OUT value_shares float8[]
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_param_samples'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_param_samples AS
  SELECT * FROM latdiag_param_samples();
GRANT SELECT ON latdiag_param_samples TO PUBLIC;

-- Entries, capacity and evictions of the sample table.
CREATE FUNCTION latdiag_param_sample_info(
    OUT entries int8,
    OUT max_entries int8,
    OUT evictions int8
)
RETURNS record
AS 'MODULE_PATHNAME', 'latdiag_param_sample_info'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- Index advice gains judged_plan: the plan its candidates were judged on
-- ('custom': with the statements' actual values; 'generic'; 'mixed').
DROP VIEW latdiag_index_candidates;
DROP FUNCTION latdiag_index_advice();
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
    OUT reason text,
    OUT judged_plan text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_index_advice'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

CREATE VIEW latdiag_index_candidates AS
  SELECT dbid, relid, relname, columns, index_def, queryids, calls,
         est_cost_before, est_cost_after, est_improvement, est_size_bytes,
         write_overhead, reason, judged_plan
    FROM latdiag_index_advice()
   WHERE kind = 'candidate'
   ORDER BY calls * (est_cost_before - est_cost_after) DESC, index_def;
GRANT SELECT ON latdiag_index_candidates TO PUBLIC;

-- The index report says which plan each candidate was judged on.
CREATE OR REPLACE FUNCTION latdiag_index_report(format text DEFAULT 'text')
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
              'reason', reason, 'judged_plan', judged_plan)
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
            out := out || pg_catalog.format(E'%s. `%s`\n   - %s calls, cost %s -> %s (%s%% less, %s plan), about %s, write overhead %s\n   - queryids: %s\n   - %s\n',
                n, c->>'index_def', c->>'calls', c->>'est_cost_before', c->>'est_cost_after',
                round((c->>'est_improvement')::numeric * 100), c->>'judged_plan',
                pg_catalog.pg_size_pretty((c->>'est_size_bytes')::bigint),
                c->>'write_overhead', c->'queryids', c->>'reason');
        ELSE
            out := out || pg_catalog.format(E'%s. %s;\n   %s calls, cost %s -> %s (%s%% less, %s plan), about %s, write overhead %s\n   queryids: %s\n   %s\n',
                n, c->>'index_def', c->>'calls', c->>'est_cost_before', c->>'est_cost_after',
                round((c->>'est_improvement')::numeric * 100), c->>'judged_plan',
                pg_catalog.pg_size_pretty((c->>'est_size_bytes')::bigint),
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
            out := out || pg_catalog.format(CASE WHEN md THEN E'  - fix: `%s`\n'
                                                 ELSE E'  fix: %s;\n' END,
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
-- findings (items 4-6)

-- latdiag_explain_snapshots gains why each snapshot was taken: 'threshold'
-- (latdiag.snapshot_min_duration), 'tail' (slower than its statement's recent
-- p99 and at least latdiag.snapshot_tail_min_duration) or 'sampled' (the
-- execution was instrumented by the random draw only).
DROP VIEW latdiag_explain_snapshots;
DROP FUNCTION latdiag_explain_snapshots();
CREATE FUNCTION latdiag_explain_snapshots(
    OUT snapshot_id int8,
    OUT captured_at timestamptz,
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT planid bigint,
    OUT exec_time float8,
    OUT query text,
    OUT plan text,
    OUT plan_truncated bool,
    OUT trace_id text,
    OUT parent_span_id text,
    OUT reason text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_explain_snapshots'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_explain_snapshots AS
  SELECT * FROM latdiag_explain_snapshots();
GRANT SELECT ON latdiag_explain_snapshots TO PUBLIC;

-- Query shapes seen in executions: deep OFFSET pagination (the executed top
-- Limit's offset reached latdiag.large_offset) and unbounded reads (a SELECT
-- without LIMIT returned at least latdiag.unbounded_rows rows).
CREATE FUNCTION latdiag_query_shapes_all(
    OUT userid oid,
    OUT dbid oid,
    OUT toplevel bool,
    OUT queryid bigint,
    OUT query text,
    OUT shape text,
    OUT executions int8,
    OUT calls int8,
    OUT max_per_call int8,
    OUT total_time float8,
    OUT first_seen timestamptz
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'latdiag_query_shapes'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW latdiag_query_shapes AS
  SELECT queryid, query, shape, executions, calls, max_per_call, total_time,
         CASE shape
           WHEN 'deep_offset' THEN
             format('keyset pagination: remember the last row''s sort key and ask for WHERE (sort key) > (last value) ORDER BY sort key LIMIT n, instead of OFFSET (up to %s rows read and thrown away per call)', max_per_call)
           ELSE
             format('page it (LIMIT with keyset pagination) or aggregate in SQL (GROUP BY, count, sum) instead of fetching up to %s rows per call', max_per_call)
         END AS suggestion,
         userid, dbid, toplevel, first_seen
    FROM latdiag_query_shapes_all()
   ORDER BY total_time DESC, executions DESC;
GRANT SELECT ON latdiag_query_shapes TO PUBLIC;

-- Every problem latdiag knows, ranked by the time it costs (estimated
-- milliseconds per hour: the time attributable to the problem divided by the
-- hours it has been observed; doc/reference.md gives the rule of each kind).
CREATE VIEW latdiag_findings AS
WITH q AS (
  SELECT userid, dbid, queryid, min(query) AS query, sum(calls) AS calls,
         sum(total_exec_time) AS total_exec_time, min(first_seen) AS first_seen
    FROM latdiag_queries
   GROUP BY userid, dbid, queryid
),
f AS (
  -- sequential scans of large tables that keep few of the rows they read
  SELECT 'seq_scan'::text AS kind, s.queryid, s.query,
         format('%s calls scan %s sequentially (about %s rows, %s%% kept)',
                s.calls, s.relname, round(s.table_rows::numeric),
                round((s.selectivity * 100)::numeric, 2)) AS evidence,
         CASE WHEN cardinality(s.filter_columns) > 0 THEN
           format('CREATE INDEX ON %s (%s);  -- check latdiag_index_candidates first',
                  s.relname,
                  (SELECT string_agg(quote_ident(c), ', ') FROM unnest(s.filter_columns) c))
         ELSE 'read fewer rows: add a selective WHERE clause, or an index matching it (latdiag_index_candidates)'
         END AS fix,
         s.total_exec_time / (greatest(extract(epoch FROM now() - coalesce(q.first_seen, now())), 60) / 3600) AS est_ms_per_hour,
         'latdiag_seq_scans'::text AS detail_view, s.userid, s.dbid
    FROM latdiag_seq_scans s
    LEFT JOIN q ON q.userid = s.userid AND q.dbid = s.dbid AND q.queryid = s.queryid
  UNION ALL
  -- N+1: a statement run once per row of a parent
  SELECT 'n_plus_one', n.child_queryid, n.child_query,
         format('%s episodes of %s calls on average after %s', n.episodes,
                round(n.avg_calls_per_episode::numeric, 1),
                coalesce(left(n.parent_query, 60), 'an unknown statement')),
         n.suggestion,
         n.total_round_trip_time / (greatest(extract(epoch FROM now() - n.first_seen), 60) / 3600),
         'latdiag_n_plus_one', n.userid, n.dbid
    FROM latdiag_n_plus_one n
  UNION ALL
  -- lock waits, on the waiting statement
  SELECT 'lock_wait', l.queryid, l.query,
         format('%s waits for a %s %s lock%s, %s ms in all, blocked by a backend %s',
                l.waits, l.mode, l.locktype, coalesce(' on ' || l.relname, ''),
                round(l.total_wait_time::numeric), coalesce(l.blocker_state, 'of unknown state')),
         CASE WHEN l.blocker_state LIKE 'idle in transaction%' THEN
           'the blocker holds its lock while idle in transaction: commit sooner, or set idle_in_transaction_session_timeout'
         ELSE 'shorten the blocking transaction, take locks in one order, or set lock_timeout and retry'
         END,
         l.total_wait_time / (greatest(extract(epoch FROM now() - coalesce(q.first_seen, now())), 60) / 3600),
         'latdiag_lock_waits', l.userid, l.dbid
    FROM latdiag_lock_waits l
    LEFT JOIN q ON q.userid = l.userid AND q.dbid = l.dbid AND q.queryid = l.queryid
  UNION ALL
  -- the statements that held the locks others waited for
  SELECT 'lock_blocker', b.blocker_queryid, b.blocker_query,
         format('held locks that %s waits of %s statements waited for, %s ms in all',
                b.waits, b.statements, round(b.total_wait_time::numeric)),
         CASE WHEN b.idle THEN
           'commit right after this statement: its transaction stays open (idle in transaction) while others wait'
         ELSE 'make its transaction shorter, or run it when the waiting statements do not'
         END,
         b.total_wait_time / (greatest(extract(epoch FROM now() - b.first_seen), 60) / 3600),
         'latdiag_lock_waits', NULL::oid, b.dbid
    FROM (SELECT l.dbid, l.blocker_queryid, min(l.blocker_query) AS blocker_query,
                 sum(l.waits) AS waits, count(DISTINCT l.queryid) AS statements,
                 sum(l.total_wait_time) AS total_wait_time,
                 bool_or(l.blocker_state LIKE 'idle in transaction%') AS idle,
                 coalesce(min(q.first_seen), now()) AS first_seen
            FROM latdiag_lock_waits l
            LEFT JOIN q ON q.userid = l.userid AND q.dbid = l.dbid AND q.queryid = l.queryid
           WHERE l.blocker_queryid IS NOT NULL
           GROUP BY l.dbid, l.blocker_queryid) b
  UNION ALL
  -- missing indexes validated by what-if planning
  SELECT 'missing_index', c.queryids[1], cq.query,
         format('%s calls on %s; estimated cost %s -> %s per call (%s%% less)',
                c.calls, c.relname, round(c.est_cost_before::numeric, 1),
                round(c.est_cost_after::numeric, 1), round((c.est_improvement * 100)::numeric)),
         c.index_def || ';',
         coalesce(cq.ms_per_hour, 0) * c.est_improvement,
         'latdiag_index_candidates', cq.userid, c.dbid
    FROM latdiag_index_candidates c
    LEFT JOIN LATERAL (
      SELECT min(q.query) FILTER (WHERE q.queryid = c.queryids[1]) AS query,
             min(q.userid) AS userid,
             sum(q.total_exec_time / (greatest(extract(epoch FROM now() - q.first_seen), 60) / 3600)) AS ms_per_hour
        FROM q
       WHERE q.dbid = c.dbid AND q.queryid = ANY (c.queryids)) cq ON true
  UNION ALL
  -- slower recently than in the hour before
  SELECT 'plan_regression', r.queryid, r.query,
         format('p95 %s ms in the last 5 minutes, %s ms before (x%s)%s',
                round(r.recent_p95::numeric, 2), round(r.baseline_p95::numeric, 2),
                round(r.factor::numeric, 1), coalesce('; likely: ' || r.likely_cause, '')),
         format('compare its plans (SELECT * FROM latdiag_plans WHERE queryid = %s) and the slow execution''s EXPLAIN (latdiag_explain(%s)); ANALYZE the tables it reads if the plan changed',
                r.queryid, r.queryid),
         r.recent_calls * greatest(r.recent_mean - r.baseline_mean, 0) * 12,
         'latdiag_regressions', r.userid, r.dbid
    FROM latdiag_regressions r
  UNION ALL
  -- a plan change that made the statement slower
  SELECT 'plan_change', p.queryid, p.query,
         format('plan %s replaced %s; mean %s ms, was %s ms', p.new_planid, p.old_planid,
                round(p.new_mean_exec_time::numeric, 2), round(p.old_mean_exec_time::numeric, 2)),
         format('ANALYZE the tables it reads, then compare the plans: SELECT * FROM latdiag_plans WHERE queryid = %s', p.queryid),
         p.new_calls * greatest(p.new_mean_exec_time - p.old_mean_exec_time, 0)
           / (greatest(extract(epoch FROM now() - p.changed_at), 60) / 3600),
         'latdiag_plan_changes', p.userid, p.dbid
    FROM latdiag_plan_changes p
  UNION ALL
  -- executions that failed: the time they took was wasted
  SELECT CASE WHEN e.sqlstate = '57014' THEN 'timeout' ELSE 'error' END,
         e.queryid, e.query,
         format('%s failures with SQLSTATE %s%s', e.errors, e.sqlstate,
                coalesce(': ' || left(e.message, 80), '')),
         CASE e.sqlstate
           WHEN '57014' THEN 'make it faster (its other findings), or give it a statement_timeout it can meet'
           WHEN '40P01' THEN 'deadlocks: take row and table locks in the same order in every transaction'
           WHEN '40001' THEN 'serialization failures: retry the transaction, and keep it short'
           WHEN '55P03' THEN 'lock_timeout reached: shorten the transactions holding the lock (lock_blocker findings)'
           ELSE 'fix the failing statement in the application (latdiag_errors has the message)'
         END,
         e.total_time / (greatest(extract(epoch FROM now() - e.first_seen), 60) / 3600),
         'latdiag_errors', e.userid, e.dbid
    FROM latdiag_errors e
  UNION ALL
  -- a heavy tail: p99 far above p50 and above the tail-snapshot floor
  SELECT 'tail_latency', t.queryid, t.query,
         format('p50 %s ms, p99 %s ms over %s calls', round(t.p50_exec_time::numeric, 2),
                round(t.p99_exec_time::numeric, 2), t.calls),
         format('SELECT reason, exec_time, plan FROM latdiag_explain_snapshots WHERE queryid = %s ORDER BY exec_time DESC;  -- the plan of a slow execution',
                t.queryid),
         0.01 * t.calls * (t.p99_exec_time - t.p50_exec_time)
           / (greatest(extract(epoch FROM now() - t.first_seen), 60) / 3600),
         'latdiag_explain_snapshots', t.userid, t.dbid
    FROM latdiag_queries t
   WHERE t.calls >= 100
     AND t.p99_exec_time >= greatest(coalesce((SELECT setting::float8 FROM pg_catalog.pg_settings
                                            WHERE name = 'latdiag.snapshot_tail_min_duration'), 10), 1)
     AND t.p99_exec_time >= 4 * t.p50_exec_time
  UNION ALL
  -- deep OFFSET pagination and unbounded reads
  SELECT s.shape, s.queryid, s.query,
         format('%s of %s calls %s (up to %s)', s.executions, s.calls,
                CASE s.shape WHEN 'deep_offset' THEN 'skip rows with OFFSET' ELSE 'read every row without LIMIT' END,
                s.max_per_call || CASE s.shape WHEN 'deep_offset' THEN ' rows skipped' ELSE ' rows per call' END),
         s.suggestion,
         s.total_time / (greatest(extract(epoch FROM now() - s.first_seen), 60) / 3600),
         'latdiag_query_shapes', s.userid, s.dbid
    FROM latdiag_query_shapes s
)
SELECT kind,
       CASE WHEN est_ms_per_hour >= 60000 THEN 'high'
            WHEN est_ms_per_hour >= 6000 THEN 'medium'
            ELSE 'low' END AS severity,
       queryid, query, evidence, fix, est_ms_per_hour, detail_view, userid, dbid
  FROM f
 ORDER BY est_ms_per_hour DESC NULLS LAST, kind, queryid;
GRANT SELECT ON latdiag_findings TO PUBLIC;
