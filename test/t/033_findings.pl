# Diagnosis rules of version 1.5, each where it should fire and where it
# should not: deep OFFSET pagination and unbounded reads (latdiag_query_shapes),
# tail snapshots of a statement whose p99 is far below
# latdiag.snapshot_min_duration (latdiag_explain_snapshots.reason), and the
# ranked latdiag_findings of a mixed workload, the most expensive first.
# Every statement is its own round trip (psql script), as a client sends them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('findings');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.snapshot_sample_rate = 0
latdiag.window_interval = 10s
latdiag.n_plus_one_min_time = 0
latdiag.n_plus_one_max_gap = 200ms
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE posts (id int PRIMARY KEY, author int, body text);
INSERT INTO posts SELECT g, g % 50, repeat('x', 20) FROM generate_series(1, 30000) g;
CREATE TABLE events (id int, kind int);
INSERT INTO events SELECT g, g % 2000 FROM generate_series(1, 60000) g;
CREATE TABLE accounts (id int PRIMARY KEY, balance int);
INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 10) g;
ANALYZE;
});

my %fires = (fire => 0, no_fire => 0);

# A rule's verdict on one statement: flagged by latdiag_query_shapes?
sub shape_of
{
	my ($like) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(string_agg(shape || ':' || executions || ':' || max_per_call, ','), 'none') "
		  . "FROM latdiag_query_shapes WHERE query LIKE '$like'");
}

sub expect_shape
{
	my ($like, $want, $name) = @_;
	my $got = shape_of($like);
	if ($want eq 'none')
	{
		is($got, 'none', "$name: not flagged");
		$fires{no_fire}++;
	}
	else
	{
		like($got, qr/^$want$/, "$name: flagged");
		$fires{fire}++;
	}
}

# ------------------------------------------------------------ query shapes
$node->safe_psql('postgres', 'SELECT latdiag_reset()');
$node->safe_psql('postgres', join('',
	map { "SELECT id, body FROM posts ORDER BY id LIMIT 20 OFFSET " . (1000 * $_) . ";\n" } 1 .. 5));
$node->safe_psql('postgres', join('',
	map { "SELECT id, body FROM posts WHERE author = 3 ORDER BY id LIMIT 20 OFFSET " . (20 * $_) . ";\n" } 1 .. 5));
$node->safe_psql('postgres', q{
PREPARE page(int) AS SELECT id FROM posts WHERE author >= 0 ORDER BY id LIMIT 10 OFFSET $1;
EXECUTE page(50);
EXECUTE page(25000);
EXECUTE page(100);
});
$node->safe_psql('postgres', join('', map { "SELECT id, author, body FROM posts WHERE author >= $_;\n" } 0 .. 2));
$node->safe_psql('postgres', join('', map { "SELECT id, body FROM posts WHERE author >= $_ LIMIT 50;\n" } 0 .. 2));
$node->safe_psql('postgres', join('', map { "SELECT id, body FROM posts WHERE id <= 500 + $_;\n" } 0 .. 2));
$node->safe_psql('postgres', 'SELECT author, count(*) FROM posts GROUP BY author');

expect_shape('SELECT id, body FROM posts ORDER BY id LIMIT $1 OFFSET $2', 'deep_offset:5:5000',
	'deep OFFSET 1000..5000');
expect_shape('SELECT id, body FROM posts WHERE author = $1 ORDER BY id LIMIT $2 OFFSET $3', 'none',
	'shallow OFFSET 20..100');
expect_shape('PREPARE page%', 'deep_offset:1:25000', 'OFFSET $1 = 25000 among 50 and 100, evaluated at run time');
expect_shape('SELECT id, author, body FROM posts WHERE author >= $1', 'unbounded_read:3:30000',
	'30,000 rows without LIMIT');
expect_shape('SELECT id, body FROM posts WHERE author >= $1 LIMIT $2', 'none', 'LIMITed read');
expect_shape('SELECT id, body FROM posts WHERE id <= $1 + $2', 'none', 'small read (500 rows)');
expect_shape('SELECT author, count(*) FROM posts GROUP BY author', 'none', 'aggregated in SQL (50 rows)');

# --------------------------------------------------------- tail snapshots
# true once a window that ends after this call has closed
sub wait_window
{
	my $t0 = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
	return $node->poll_query_until('postgres',
		"SELECT EXISTS (SELECT 1 FROM latdiag_windows() WHERE window_end > '$t0')");
}

$node->safe_psql('postgres', 'SELECT latdiag_reset()');
# p50 ~0 ms, a few 50 ms executions: p99 ~50 ms, 20x below the 1 s threshold
# (0.0 and 0.05 are both numeric: one statement; pg_sleep(0) would be another)
my $tail_script = join('', map { "SELECT pg_sleep(0.0) AS tail_probe, $_ AS i;\n" } 1 .. 200)
  . join('', map { "SELECT pg_sleep(0.05) AS tail_probe, $_ AS i;\n" } 1 .. 5);
my $never_slow = join('', map { "SELECT count(*) FROM accounts WHERE id = $_ AND balance >= 0;\n" } 1 .. 200);
# right after a window closes, so that the whole script is in the next one
# (split over two, the later part could hold the slow calls and few fast
# ones: a p99 no longer 3x the p50)
ok(wait_window(), 'a window closed: the script starts a new one');
$node->safe_psql('postgres', $tail_script . $never_slow);
ok(wait_window(), 'a window closed: recent p99 known');
is($node->safe_psql('postgres', 'SELECT count(*) FROM latdiag_explain_snapshots'), '0',
	'no snapshot yet: the slow executions were not armed');
# one session: a fast execution learns the p99, then the slower one is armed
$node->safe_psql('postgres', "SELECT pg_sleep(0.0) AS tail_probe, 0 AS i;\n"
	  . "SELECT pg_sleep(0.09) AS tail_probe, 0 AS i;\n" . $never_slow);
my $snaps = $node->safe_psql('postgres', q{
SELECT s.reason, count(*), bool_and(s.exec_time BETWEEN 10 AND 1000)
  FROM latdiag_explain_snapshots s JOIN latdiag_queries q USING (queryid)
 WHERE q.query LIKE 'SELECT pg_sleep($1) AS tail_probe%' GROUP BY s.reason});
is($snaps, 'tail|1|t', 'one tail snapshot of the sub-threshold p99 statement');
$fires{fire}++;
is($node->safe_psql('postgres', q{
SELECT count(*) FROM latdiag_explain_snapshots s JOIN latdiag_queries q USING (queryid)
 WHERE q.query LIKE '%FROM accounts%'}), '0', 'the never-slow statement has no snapshot');
$fires{no_fire}++;
is($node->safe_psql('postgres', q{
SELECT p50_exec_time < 1, p99_exec_time BETWEEN 10 AND 1000 FROM latdiag_queries
 WHERE query LIKE 'SELECT pg_sleep($1) AS tail_probe%'}), 't|t',
	'its p50 is under 1 ms, its p99 between 10 ms and 1 s')
  or diag($node->safe_psql('postgres',
	"SELECT calls, p50_exec_time, p99_exec_time, query FROM latdiag_queries WHERE query LIKE '%tail_probe%'"));

# ------------------------------------------------- findings of a mixed workload
$node->safe_psql('postgres', 'SELECT latdiag_reset(); SELECT latdiag_lock_waits_reset()');
# a lock wait of about 1.5 s: the most expensive problem
my $holder = $node->background_psql('postgres');
my $waiter = $node->background_psql('postgres');
my $wpid = $waiter->query_safe('SELECT pg_backend_pid()');
$wpid =~ s/\s+//g;
$holder->query_safe('BEGIN; UPDATE accounts SET balance = balance + 1 WHERE id = 1');
$waiter->query_until(qr/sent/, "\\echo sent\nUPDATE accounts SET balance = balance - 1 WHERE id = 1;\n");
$holder->query_safe("DO \$\$ BEGIN
  WHILE NOT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $wpid AND NOT granted) LOOP
    PERFORM pg_sleep(0.01);
  END LOOP;
  PERFORM pg_sleep(1.5);
END \$\$; COMMIT");
$waiter->query_safe('SELECT 1');
$holder->quit;
$waiter->quit;
# sequential scans of a 60,000-row table keeping 30 rows (a missing index)
$node->safe_psql('postgres', join('', map { "SELECT count(*) FROM events WHERE kind = $_;\n" } 1 .. 10));
# N+1: one parent, then one query per row, each a round trip
$node->safe_psql('postgres', "SELECT id FROM posts WHERE author = 7 ORDER BY id LIMIT 8;\n"
	  . join('', map { "SELECT body FROM posts WHERE id = " . (7 + 50 * $_) . ";\n" } 0 .. 7));
# a deep offset, an unbounded read, a timeout
$node->safe_psql('postgres', "SELECT id FROM posts ORDER BY id LIMIT 10 OFFSET 20000;\n"
	  . "SELECT id, body FROM posts WHERE author >= 0;\n");
$node->psql('postgres', "SET statement_timeout = '100ms'; SELECT pg_sleep(1)");

my $rows = $node->safe_psql('postgres', q{
SELECT kind, severity, est_ms_per_hour > 0, fix <> '', detail_view
  FROM latdiag_findings ORDER BY est_ms_per_hour DESC, kind});
note("latdiag_findings:\n$rows");
my @kinds = map { (split /\|/)[0] } split /\n/, $rows;
my %present = map { $_ => 1 } @kinds;
for my $k (qw(lock_wait seq_scan missing_index n_plus_one deep_offset unbounded_read timeout))
{
	ok($present{$k}, "findings: $k present");
}
like($kinds[0], qr/^lock_(wait|blocker)$/, 'findings: the 1.5 s lock wait is the most expensive problem');
my $ranked = $node->safe_psql('postgres', q{
SELECT bool_and(est_ms_per_hour <= prev)
  FROM (SELECT est_ms_per_hour, lag(est_ms_per_hour, 1, 'infinity') OVER () AS prev
          FROM latdiag_findings) s});
is($ranked, 't', 'findings: ordered by estimated ms per hour');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM latdiag_findings WHERE query LIKE '%FROM accounts WHERE id = $1 AND%'}), '0',
	'findings: nothing about the never-slow statement');
$fires{no_fire}++;
# the suggested index is valid, and the planner uses it
my $fix = $node->safe_psql('postgres',
	"SELECT fix FROM latdiag_findings WHERE kind = 'missing_index' LIMIT 1");
$node->safe_psql('postgres', $fix);
like($node->safe_psql('postgres', 'EXPLAIN SELECT count(*) FROM events WHERE kind = 5'),
	qr/Index/, 'the missing_index fix runs and the planner uses it');

note("rule verdicts: $fires{fire} fired where they should, $fires{no_fire} stayed silent where they should");
$node->stop;
done_testing();
