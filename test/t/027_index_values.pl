# Index advice from actual values, through the sampled path a production
# server uses: statements are not slow (latdiag.slow_execution_min_duration
# is off), but the armed executions of plans with large-table seq scans keep
# their values.  A point query by primary key keeps none (the capture is off
# the hot path).  Bound parameters (EXECUTE) are voted on: the partial index
# fires for the value used in most calls and not for a value used once; a
# computed comparison value in a DELETE gets its index; a parameter bound as
# numeric against a bigint column and an OR across columns are notices with
# their fix; the samples survive a clean restart; every suggested CREATE
# INDEX runs and the planner then uses it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('values');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.snapshot_sample_rate = 1
latdiag.slow_execution_min_duration = -1
latdiag.max_param_samples = 100
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, status text,
  kind text, a int, b int, pad text);
INSERT INTO orders SELECT g, g % 20000,
  CASE WHEN g % 100 = 0 THEN 'pending' ELSE 'done' END,
  CASE WHEN g % 100 = 0 THEN 'rare' WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END,
  g % 1000, g % 997, repeat('x', 80)
  FROM generate_series(1, 100000) g;
CREATE TABLE events (id bigint, user_id bigint, pad text);
INSERT INTO events SELECT g, g % 30000, repeat('z', 60) FROM generate_series(1, 100000) g;
VACUUM ANALYZE orders, events;
SELECT latdiag_reset();
});

# the workload: one session, prepared statements with bound values
$node->safe_psql('postgres', q{
PREPARE pend(text) AS SELECT count(*) FROM orders WHERE status = $1;
EXECUTE pend('pending'); EXECUTE pend('pending'); EXECUTE pend('pending');
EXECUTE pend('pending'); EXECUTE pend('done');
PREPARE bykind(text) AS SELECT count(*) FROM orders WHERE kind = $1;
EXECUTE bykind('even'); EXECUTE bykind('rare'); EXECUTE bykind('odd');
EXECUTE bykind('even');
PREPARE purge(bigint, bigint) AS DELETE FROM events WHERE user_id = $1 + $2;
EXECUTE purge(1000000, 1); EXECUTE purge(1000000, 2);
PREPARE bycust_numeric(numeric) AS SELECT count(*) FROM orders WHERE customer_id = $1;
EXECUTE bycust_numeric(4242); EXECUTE bycust_numeric(4243);
PREPARE either(int, int) AS SELECT count(*) FROM orders WHERE a = $1 OR b = $2;
EXECUTE either(5, 7);
PREPARE point(bigint) AS SELECT status FROM orders WHERE id = $1;
EXECUTE point(1); EXECUTE point(2); EXECUTE point(3);
});

my $sampled = $node->safe_psql('postgres', q{
SELECT string_agg(q.query || ' ' || s.captures, E'\n' ORDER BY q.query COLLATE "C")
  FROM latdiag_param_samples s JOIN latdiag_queries q USING (queryid)});
like($sampled, qr/status = \$1 5$/m, 'the seq-scan statement keeps its values (5 sampled executions)');
unlike($sampled, qr/WHERE id = \$1$|WHERE id = \$1 \d/m, 'the point query by primary key keeps none');
is($node->safe_psql('postgres', q{
SELECT bound_values FROM latdiag_param_samples s JOIN latdiag_queries q USING (queryid)
 WHERE q.query LIKE '%status = $1%'}), q({"$1: 'pending'::text"}),
	'the kept sample holds the value used in most calls');

my $cands = $node->safe_psql('postgres', q{
SELECT string_agg(index_def || ' | ' || judged_plan, E'\n' ORDER BY index_def COLLATE "C")
  FROM latdiag_index_candidates});
note($cands);
like($cands, qr/\Qorders (status) WHERE (status = 'pending'::text) | custom\E/,
	'partial index for the value used in most calls, judged on the custom plan');
unlike($cands, qr/WHERE \(kind/, 'no partial index for a rare value used once');
like($cands, qr/\Qevents (user_id) | custom\E/, 'computed comparison value in a DELETE');

my $notes = $node->safe_psql('postgres', q{
SELECT string_agg(reason, E'\n' ORDER BY reason COLLATE "C") FROM latdiag_index_advice()
 WHERE kind = 'not_indexable'});
like($notes, qr/type mismatch: column customer_id is bigint but is compared with a numeric value/,
	'a parameter bound as numeric against a bigint column');
unlike($cands, qr/customer_id/, 'no index is suggested for the comparison as written');
like($notes, qr/OR across different columns \(a, b\)/, 'OR across columns');

# the fires and non-fires of this mixed workload
my $counts = $node->safe_psql('postgres', q{
WITH a AS MATERIALIZED (SELECT * FROM latdiag_index_advice())
SELECT count(*) FILTER (WHERE kind = 'candidate' AND index_def LIKE '% WHERE (status%') || ' ' ||
       count(*) FILTER (WHERE kind = 'candidate' AND index_def LIKE '% WHERE (kind%') || ' ' ||
       count(*) FILTER (WHERE kind = 'candidate' AND index_def LIKE '%events (user_id)') || ' ' ||
       count(*) FILTER (WHERE kind = 'not_indexable' AND reason LIKE '%type mismatch%') || ' ' ||
       count(*) FILTER (WHERE kind = 'not_indexable' AND reason LIKE '%OR across%')
  FROM a});
is($counts, '1 0 1 1 1', 'fires: partial 1 (and 0 for the rare value), computed 1, mismatch 1, OR 1');

# the values survive a clean restart, and so does the advice built on them
my $samples_before = $node->safe_psql('postgres',
	'SELECT count(*), sum(captures) FROM latdiag_param_samples');
$node->restart;
is($node->safe_psql('postgres', 'SELECT count(*), sum(captures) FROM latdiag_param_samples'),
	$samples_before, 'the samples are kept across a clean restart');
like($node->safe_psql('postgres', q{SELECT string_agg(index_def, E'\n') FROM latdiag_index_candidates}),
	qr/\Q(status) WHERE (status = 'pending'::text)\E/, 'the partial index is still advised after it');

# every suggested index runs, and the planner uses it
foreach my $def (split /\n/, $node->safe_psql('postgres',
		q{SELECT index_def FROM latdiag_index_candidates ORDER BY index_def COLLATE "C"}))
{
	$node->safe_psql('postgres', $def);
}
$node->safe_psql('postgres', 'ANALYZE orders, events');
like($node->safe_psql('postgres',
		q{EXPLAIN (COSTS OFF) SELECT count(*) FROM orders WHERE status = 'pending'}),
	qr/orders_status_idx/, 'the partial index serves the pending orders');
like($node->safe_psql('postgres',
		q{EXPLAIN (COSTS OFF) DELETE FROM events WHERE user_id = 1000000 + 1}),
	qr/events_user_id_idx/, 'the DELETE uses its index');

$node->stop;
done_testing();
