/* postgres_latdiag--1.4--1.5.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION postgres_latdiag UPDATE TO '1.5'" to load this file. \quit

-- ------------------------------------------------------------------------
-- Who sent it: per-source aggregates (issue 15).
-- ------------------------------------------------------------------------

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
