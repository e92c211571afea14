# postgres_latdiag: failed executions.
#  - statement_timeout: every timed-out execution is counted as 57014, with
#    a time until the error within 10% of the timeout (300 ms and 1 s);
#  - deadlocks and serialization failures under concurrency: every victim
#    the clients saw is counted, with its SQLSTATE (the bar: 100%);
#  - the extended protocol: an error at Bind (a bad parameter) and one at
#    Execute are counted against their statement;
#  - calls stay equal to pg_stat_statements' calls;
#  - a sqlcommenter traceparent after the semicolon reaches the slow-execution
#    log and the snapshot; 10,000 distinct tags churn through a bounded ring;
#  - the counters and latdiag_errors survive a clean restart.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('errors');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_stat_statements, postgres_latdiag'
deadlock_timeout = 50ms
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE EXTENSION pg_stat_statements;
CREATE TABLE er (id int PRIMARY KEY, v int);
INSERT INTO er SELECT g, 0 FROM generate_series(1, 10) g;
SELECT latdiag_reset();
});

# statement_timeout: each failure's time within 10% of the timeout
for my $ms (300, 1000)
{
	for my $i (1 .. 3)
	{
		my ($ret, $out, $err) = $node->psql('postgres',
			"SET statement_timeout = '${ms}ms'; SELECT pg_sleep(5) AS t$ms");
		like($err, qr/canceling statement due to statement timeout/,
			"timeout $ms ms #$i raised");
	}
}
my $res = $node->safe_psql('postgres', q{
SELECT sum(errors), sum(timeouts), sum(calls),
       min(error_time / errors) FILTER (WHERE error_time / errors < 600),
       max(error_time / errors) FILTER (WHERE error_time / errors < 600),
       min(error_time / errors) FILTER (WHERE error_time / errors >= 600)
  FROM latdiag_queries WHERE query LIKE 'SELECT pg_sleep%'});
# one entry for both timeouts (aliases are not jumbled): look per failure
my $per = $node->safe_psql('postgres', q{
SELECT round(max_time::numeric, 1) FROM latdiag_errors
 WHERE sqlstate = '57014' ORDER BY 1});
my ($errors, $timeouts, $calls) = split /\|/, $res;
is($errors, 6, 'six timed-out executions counted as errors');
is($timeouts, 6, 'all six counted as timeouts (57014)');
is($calls, 0, 'none counted as a call');
my $total = $node->safe_psql('postgres', q{
SELECT round(error_time::numeric, 1), round(min_exec_time::numeric, 1),
       round(p50_all_exec_time::numeric, 1), round(p99_all_exec_time::numeric, 1)
  FROM latdiag_queries WHERE query LIKE 'SELECT pg_sleep%'});
my ($etime, undef, $p50, $p99) = split /\|/, $total;
my $expect = 3 * 300 + 3 * 1000;
ok(abs($etime - $expect) <= 0.1 * $expect,
	"error_time $etime ms within 10% of $expect ms");
ok(abs($p50 - 300) <= 30, "p50 with failures $p50 ms within 10% of 300 ms");
ok(abs($p99 - 1000) <= 100, "p99 with failures $p99 ms within 10% of 1000 ms");
note "statement_timeout: error_time $etime ms for $expect ms, p50_all $p50, p99_all $p99";

# deadlocks: two sessions update two rows in opposite orders, many times
my $deadlocks_seen = 0;
for my $i (1 .. 5)
{
	my $a = $node->background_psql('postgres', on_error_stop => 0);
	my $b = $node->background_psql('postgres', on_error_stop => 0);
	$a->query_safe('BEGIN; UPDATE er SET v = v + 1 WHERE id = 1');
	$b->query_safe('BEGIN; UPDATE er SET v = v + 1 WHERE id = 2');
	$a->query_until(qr/sent/, "\\echo sent\nUPDATE er SET v = v + 10 WHERE id = 2;\n");
	$b->query('UPDATE er SET v = v + 10 WHERE id = 1');
	$b->query('ROLLBACK');
	$a->query('ROLLBACK');
	$a->quit;
	$b->quit;
}
# what the clients were told, from the server log
my @log = split /\n/, slurp_file($node->logfile);
$deadlocks_seen = grep { /ERROR:  deadlock detected/ } @log;
my $deadlocks = $node->safe_psql('postgres',
	q{SELECT coalesce(sum(deadlocks), 0) FROM latdiag_queries WHERE query LIKE 'UPDATE er SET v = v + $1 WHERE id = $2'});
ok($deadlocks_seen >= 5, "clients saw $deadlocks_seen deadlocks");
is($deadlocks, $deadlocks_seen, "every deadlock victim counted ($deadlocks of $deadlocks_seen)");

# serialization failures: REPEATABLE READ updates of a row changed since the snapshot
my $serial_seen = 0;
for my $i (1 .. 5)
{
	my $a = $node->background_psql('postgres', on_error_stop => 0);
	$a->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM er');
	$node->safe_psql('postgres', 'UPDATE er SET v = v + 1 WHERE id = 3');
	$a->query('UPDATE er SET v = v - 1 WHERE id = 3 AND v > -100');
	$a->query('ROLLBACK');
	$a->quit;
}
@log = split /\n/, slurp_file($node->logfile);
$serial_seen = grep { /ERROR:  could not serialize access/ } @log;
my $serial = $node->safe_psql('postgres',
	q{SELECT coalesce(sum(serialization_failures), 0) FROM latdiag_queries WHERE query LIKE 'UPDATE er SET v = v - $1%'});
is($serial_seen, 5, 'clients saw 5 serialization failures');
is($serial, $serial_seen, "every serialization failure counted ($serial of $serial_seen)");

# the extended protocol: an error at Bind and one at Execute
$node->pgbench(
	'-n -M extended -t 1 -D k=abc',
	2,
	[qr{}],
	[qr{invalid input syntax for type integer}],
	'pgbench: a bad parameter fails at Bind',
	{ 'bind_error' => q{
SELECT v FROM er WHERE id = :k;
} });
$node->pgbench(
	'-n -M extended -t 1',
	2,
	[qr{}],
	[qr{duplicate key value}],
	'pgbench: a duplicate fails at Execute',
	{ 'exec_error' => q{
\set k 1
INSERT INTO er VALUES (:k, 0);
} });
$res = $node->safe_psql('postgres', q{
SELECT sqlstate || ' ' || errors || ' ' || query FROM latdiag_errors
 WHERE query LIKE '%er%' AND sqlstate IN ('22P02', '23505') ORDER BY sqlstate});
is( $res,
	"22P02 1 SELECT v FROM er WHERE id = \$1\n23505 1 INSERT INTO er VALUES (\$1, \$2)",
	'extended protocol: Bind and Execute errors counted against their statements');

# a sqlcommenter comment after the semicolon (one query string, as drivers
# send it): the trace context reaches the slow-execution log and the snapshot
$node->command_ok(
	[
		'psql', '-X', '-d',
		$node->connstr('postgres')
		  . " options='-c latdiag.snapshot_min_duration=100 -c latdiag.snapshot_sample_rate=1'",
		'-c',
		q{SELECT pg_sleep(0.15) AS traced; /*route='%2Fcheckout',traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'*/}
	],
	'a traced statement with its comment after the semicolon');
$res = $node->safe_psql('postgres', q{
SELECT e.trace_id, e.parent_span_id, e.query, s.trace_id = e.trace_id
  FROM latdiag_slow_executions e
  LEFT JOIN latdiag_explain_snapshots s ON s.queryid = e.queryid
 WHERE e.trace_id IS NOT NULL});
is( $res,
	"4bf92f3577b34da6a3ce929d0e0e4736|00f067aa0ba902b7|SELECT pg_sleep(0.15) AS traced|t",
	'traceparent after the semicolon: in the slow-execution log and the snapshot');

# bounded memory: 10,000 executions with distinct sqlcommenter tags churn
# through the ring, which keeps latdiag.max_slow_executions of them in the
# same shared memory
my $shmem_before = $node->safe_psql('postgres',
	q{SELECT sum(allocated_size) FROM pg_shmem_allocations WHERE name LIKE 'postgres_latdiag%'});
$node->safe_psql('postgres', q{
SET latdiag.slow_execution_min_duration = 0;
SELECT format('SELECT 1 AS churn /*controller=''items'',route=''%%2Fitems%%2F%s''*/', g)
  FROM generate_series(1, 10000) g \gexec
});
$res = $node->safe_psql('postgres', q{
SELECT count(*), count(DISTINCT tags->>'route') > 900, max(length(tags::text)) < 200
  FROM latdiag_slow_executions});
is($res, '1000|t|t', 'the ring keeps 1000 executions, with their distinct tags');
is( $node->safe_psql('postgres',
		q{SELECT sum(allocated_size) FROM pg_shmem_allocations WHERE name LIKE 'postgres_latdiag%'}),
	$shmem_before, 'shared memory unchanged by 10,000 distinct tags');

# calls agree with pg_stat_statements for every statement both know
$res = $node->safe_psql('postgres', q{
SELECT count(*) FROM latdiag_queries l
  JOIN pg_stat_statements s USING (userid, dbid, queryid, toplevel)
 WHERE l.calls <> s.calls});
is($res, 0, 'calls equal pg_stat_statements calls');

# the counters survive a clean restart
my $before = $node->safe_psql('postgres', q{
SELECT sum(errors), sum(timeouts), sum(deadlocks), sum(serialization_failures)
  FROM latdiag_queries});
my $errs_before = $node->safe_psql('postgres',
	q{SELECT count(*), sum(errors) FROM latdiag_errors});
$node->restart;
is( $node->safe_psql('postgres', q{
SELECT sum(errors), sum(timeouts), sum(deadlocks), sum(serialization_failures)
  FROM latdiag_queries}), $before, 'error counters kept across a restart');
is($node->safe_psql('postgres', q{SELECT count(*), sum(errors) FROM latdiag_errors}),
	$errs_before, 'latdiag_errors kept across a restart');

$node->stop;
done_testing();
