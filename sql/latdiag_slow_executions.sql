-- latdiag_slow_executions: the most recent slow or failed executions, with
-- who sent them and the trace context of a sqlcommenter traceparent.
SELECT latdiag_reset();
SET latdiag.slow_execution_min_duration = 50;
SET application_name = 'svc_a';
-- a fast statement is not logged; a slow one is, with its trace context
SELECT 1 AS fast;
SELECT pg_sleep(0.06) AS trailing /*action='checkout',traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/;
-- a leading comment (psql sends a comment after the semicolon with the next
-- statement: that case is in the TAP test 023_errors); whether the statement's
-- text starts at the comment depends on the server version (18 skips it)
/*traceparent='00-11111111111111111111111111111111-2222222222222222-00'*/ SELECT pg_sleep(0.06) AS leading;
-- sqlcommenter tags: URL-encoded values, an escaped quote, a leading comment
SELECT pg_sleep(0.06) AS encoded /*controller='orders',route='%2Fapi%2Fv1%2Forders%2F%3Aid'*/;
SELECT pg_sleep(0.06) AS quoted /*action='it\'s',framework='django%3A4.2'*/;
/*application='shop',controller='cart'*/ SELECT pg_sleep(0.06) AS leading_tags;
-- malformed comments are ignored whole: no quotes, unterminated, a bad %-escape
SELECT pg_sleep(0.06) AS noquote /*route=checkout*/;
SELECT pg_sleep(0.06) AS unterminated /*route='checkout,action='x'*/;
SELECT pg_sleep(0.06) AS badescape /*route='%2'*/;
-- too long: a value is cut at 95 bytes, a key longer than 31 bytes is dropped,
-- and only the first 8 pairs are kept
SELECT pg_sleep(0.06) AS long /*route='/very/long/route/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',a_key_that_is_far_too_long_to_be_kept='v'*/;
SELECT pg_sleep(0.06) AS many /*k1='1',k2='2',k3='3',k4='4',k5='5',k6='6',k7='7',k8='8',k9='9',k10='10'*/;
-- application_name changes mid-session
SET application_name = 'svc_b';
-- malformed: all-zero trace id, a bad hex digit, too short, version ff
SELECT pg_sleep(0.06) AS zero /*traceparent='00-00000000000000000000000000000000-b7ad6b7169203331-01'*/;
SELECT pg_sleep(0.06) AS badhex /*traceparent='00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01'*/;
SELECT pg_sleep(0.06) AS short /*traceparent='00-0af7651916cd43dd-b7ad6b7169203331-01'*/;
SELECT pg_sleep(0.06) AS ff /*traceparent='ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/;
-- a failure is logged whatever its duration, with its SQLSTATE
SELECT 1 / 0 AS failed /*traceparent='00-55555555555555555555555555555555-6666666666666666-01'*/;
RESET application_name;

SELECT application_name, toplevel, sqlstate, trace_id, parent_span_id,
       queryid IS NOT NULL AS has_queryid,
       (sqlstate IS NULL) = (rows IS NOT NULL) AS counts_when_finished,
       duration >= 50 OR sqlstate IS NOT NULL AS slow_or_failed,
       pid = pg_backend_pid() AS this_backend,
       client_addr IS NULL AS local_client,
       substring(query from 'AS [a-z_]+') AS label, tags
  FROM latdiag_slow_executions
 WHERE (query LIKE '%pg_sleep%' OR sqlstate IS NOT NULL) AND query NOT LIKE '%latdiag%'
 ORDER BY finished_at;
SELECT count(*) AS fast_logged FROM latdiag_slow_executions WHERE query LIKE '%AS fast%';

-- from a trace id to the plan: the snapshot of the same execution carries it
SET latdiag.snapshot_min_duration = 50;
SET latdiag.snapshot_sample_rate = 1;
SELECT pg_sleep(0.06) AS traced /*traceparent='00-77777777777777777777777777777777-8888888888888888-01'*/;
RESET latdiag.snapshot_sample_rate;
RESET latdiag.snapshot_min_duration;
SELECT s.trace_id, s.parent_span_id, s.plan LIKE '%Result%' AS has_plan,
       s.queryid = e.queryid AS same_statement
  FROM latdiag_explain_snapshots s
  JOIN latdiag_slow_executions e USING (trace_id)
 WHERE e.query LIKE '%AS traced%';

-- -1 logs failures only
SET latdiag.slow_execution_min_duration = -1;
SELECT pg_sleep(0.06) AS not_logged;
SELECT count(*) AS logged FROM latdiag_slow_executions WHERE query LIKE '%not_logged%';
RESET latdiag.slow_execution_min_duration;

-- privacy: statements with their constants only for pg_read_all_stats
CREATE ROLE ls_reader;
SET ROLE ls_reader;
SELECT count(*) > 0 AS sees_rows,
       bool_and(query = '<insufficient privilege>') AS texts_hidden,
       bool_and(queryid IS NULL) AS queryids_hidden,
       bool_or(trace_id IS NOT NULL) AS trace_ids_shown
  FROM latdiag_slow_executions;
RESET ROLE;
DROP ROLE ls_reader;

SELECT latdiag_reset();
SELECT count(*) AS after_reset FROM latdiag_slow_executions;
