# postgres_latdiag: capture under conditions the other tests do not combine.
#
# - latdiag.enabled toggled while 6 clients run (simple, extended and prepared
#   protocol, PL/pgSQL nesting): through ALTER SYSTEM + reload every 0.2 s,
#   and with SET inside a client's own script.  No client fails, the counts
#   stay consistent, and once capture is on for good it counts exactly.
# - Parallel query with every execution armed for a snapshot: one call per
#   execution, the snapshot shows the workers, the seq scan's measured rows
#   include the workers' rows.
# - Errors inside armed executions (mid-scan, at planning, in a nested
#   statement, a statement timeout): the failed statement is not counted,
#   the nesting level stays right, the next statements are captured.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use IPC::Run;
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LatdiagViews;

my $node = PostgreSQL::Test::Cluster->new('cover');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.track = all
latdiag.track_planning = on
latdiag.snapshot_min_duration = 0
latdiag.snapshot_sample_rate = 1
latdiag.large_table_rows = 1000
max_connections = 30
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE c (id int PRIMARY KEY, v int);
INSERT INTO c SELECT g, g % 100 FROM generate_series(1, 20000) g;
VACUUM ANALYZE c;
CREATE FUNCTION c_lookup(k int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE r int;
BEGIN
  SELECT v INTO r FROM c WHERE id = k;
  RETURN r;
END $$;
});
my $tmp = PostgreSQL::Test::Utils::tempdir;

sub calls_of
{
	my ($pattern, $toplevel) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(sum(calls), 0) FROM latdiag_queries WHERE query LIKE '$pattern' AND query NOT LIKE '%latdiag%'"
		  . (defined $toplevel ? " AND toplevel = $toplevel" : ''));
}

# ------------------------------------------ latdiag.enabled toggled under load
append_to_file("$tmp/lookup.sql", q{
\set k random(1, 20000)
SELECT v AS cov_lookup FROM c WHERE id = :k;
SELECT c_lookup(:k) AS cov_nested;
});
append_to_file("$tmp/self_toggle.sql", q{
\set k random(1, 20000)
SET latdiag.enabled = off;
SELECT v, v + 1 AS cov_self FROM c WHERE id = :k;
SET latdiag.enabled = on;
SELECT v, v + 1 AS cov_self FROM c WHERE id = :k;
});
my @clients;
for my $mode ('simple', 'extended', 'prepared')
{
	for my $script ('lookup', 'self_toggle')
	{
		my %cl = (name => "$mode/$script", out => '', err => '');
		$cl{h} = IPC::Run::start(
			[
				'pgbench', '-n', '-M', $mode, '-T', '4', '-f', "$tmp/$script.sql",
				$node->connstr('postgres')
			],
			'<', \undef, '>', \$cl{out}, '2>', \$cl{err});
		push @clients, \%cl;
	}
}
my $toggles = 0;
my $t0 = time();
while (grep { $_->{h}->pumpable } @clients)
{
	my $on = $toggles % 2 ? 'on' : 'off';
	$node->safe_psql('postgres',
		"ALTER SYSTEM SET latdiag.enabled = $on; SELECT pg_reload_conf()");
	$toggles++;
	$_->{h}->pump_nb for grep { $_->{h}->pumpable } @clients;
	usleep(200_000);
	last if time() - $t0 > 60;
}
my ($failed, $txns) = (0, 0);
for my $cl (@clients)
{
	$cl->{h}->kill_kill if $cl->{h}->pumpable;
	if (!$cl->{h}->finish || $cl->{out} !~ /number of failed transactions: 0/)
	{
		$failed++;
		diag("$cl->{name}: $cl->{err}");
	}
	$txns += $1 if $cl->{out} =~ /number of transactions actually processed: (\d+)/;
}
$node->safe_psql('postgres', 'ALTER SYSTEM RESET latdiag.enabled; SELECT pg_reload_conf()');
is($failed, 0, "6 clients ran $txns transactions without an error while capture was toggled $toggles times");
cmp_ok($toggles, '>=', 5, 'capture was toggled several times during the run');
my ($lookup, $nested, $self) = (calls_of('%cov\_lookup%', 'true'),
	calls_of('SELECT v %FROM c WHERE id = k%', 'false'), calls_of('%cov\_self%', 'true'));
cmp_ok($lookup, '>', 0, "statements were captured while capture was on ($lookup)");
cmp_ok($nested, '>', 0, "nested statements too ($nested)");
cmp_ok($self, '>', 0, "and the session that toggles with SET ($self)");
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM latdiag_queries q
 WHERE q.calls <> (SELECT sum(count) FROM latdiag_latency_histogram(q.queryid) h)
   AND q.queryid IN (SELECT queryid FROM latdiag_queries GROUP BY queryid HAVING count(*) = 1)}),
	'0', 'every entry has as many samples in its histogram as calls');
my ($nerr, $errs) = latdiag_read_all($node);
is($nerr, 0, 'every view and function reads') or diag($errs);

# Capture on for good: it counts exactly again.
ok( $node->poll_query_until('postgres', 'SHOW latdiag.enabled', 'on'),
	'capture is back on');
$node->safe_psql('postgres', 'SELECT latdiag_reset()');
$node->pgbench('-n -M prepared -c 3 -t 20', 0, [qr/processed: 60\/60/], [qr/^$/],
	'capture on again', { 'cov_again' => "SELECT v AS cov_again FROM c WHERE id = 42;\n" });
is(calls_of('%cov\_again%', 'true'), '60', 'exactly 60 calls counted once capture is on');

# -------------------------------------------- parallel query, armed
$node->safe_psql('postgres', 'SELECT latdiag_reset()');
my $par = q{
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT count(*) AS cov_parallel FROM c WHERE v = 7;
SELECT count(*) AS cov_parallel FROM c WHERE v = 8;
};
is($node->safe_psql('postgres', $par), '200' . "\n" . '200', 'the parallel query runs');
is(calls_of('%cov\_parallel%'), '2', 'a parallel query is one call per execution');
is( $node->safe_psql('postgres', q{
SELECT count(*) > 0, bool_and(plan LIKE '%Workers Launched%')
  FROM latdiag_explain_snapshots WHERE query LIKE '%cov\_parallel%'}),
	't|t', 'its snapshot shows the workers');
is( $node->safe_psql('postgres', q{
SELECT measured, rows_scanned BETWEEN 19000 AND 21000, round(rows_returned)
  FROM latdiag_seq_scans_all() WHERE query LIKE '%cov\_parallel%'}),
	't|t|200', "the seq scan's measured rows include the workers' rows");

# -------------------------------------------- errors inside armed executions
$node->safe_psql('postgres', 'SELECT latdiag_reset()');
my ($ret, $out, $err) = $node->psql('postgres', q{
SELECT count(*) AS cov_ok1 FROM c WHERE v = 1;
SELECT id / (v - 50) AS cov_midscan FROM c;
SELECT count(*) AS cov_ok2 FROM c WHERE v < 2;
SELECT 1 / 0 AS cov_planning;
SELECT count(*) AS cov_ok3 FROM c WHERE v > 3;
SELECT c_lookup(id / (v - 50)) AS cov_nested_error FROM c;
SELECT count(*) AS cov_ok4 FROM c WHERE id = 4;
SET statement_timeout = '50ms';
SELECT count(*) AS cov_timeout FROM c a, c b WHERE a.v + b.v < 0;
RESET statement_timeout;
SELECT count(*) AS cov_ok5 FROM c WHERE id < 5;
BEGIN;
SELECT count(*) AS cov_in_tx FROM c WHERE v <> 6;
SELECT id / 0 AS cov_tx_error FROM c;
ROLLBACK;
SELECT count(*) AS cov_ok6 FROM c WHERE id > 6;
}, on_error_stop => 0);
my @errors = ($err =~ /ERROR:\s+([^\n]*)/g);
is(scalar(@errors), 5, 'five statements failed') or diag($err);
is( $node->safe_psql('postgres', q{
SELECT string_agg(tag || ':' || calls || ':' || toplevel, ' ' ORDER BY tag)
  FROM (SELECT substring(query from 'AS (cov_[a-z_0-9]+)') AS tag, calls, toplevel
          FROM latdiag_queries WHERE query LIKE '%AS cov\_%' AND query NOT LIKE '%latdiag%') s}),
	'cov_in_tx:1:true cov_midscan:0:true cov_nested_error:0:true cov_ok1:1:true cov_ok2:1:true '
	  . 'cov_ok3:1:true cov_ok4:1:true cov_ok5:1:true cov_ok6:1:true cov_planning:0:true '
	  . 'cov_timeout:0:true cov_tx_error:0:true',
	'the failed statements are not counted, the others are, all at the top level');
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM latdiag_explain_snapshots WHERE query LIKE '%cov\_ok%'}),
	'6', 'the statements after the errors have their snapshots');
($nerr, $errs) = latdiag_read_all($node);
is($nerr, 0, 'every view and function reads') or diag($errs);

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:|terminated by signal/, 'no crash');

$node->stop;
done_testing();
