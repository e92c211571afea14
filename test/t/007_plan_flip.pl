# postgres_latdiag: the plan-flip view fills when an index is dropped under a
# running workload.  A point query on an indexed column runs in pgbench; the
# index is dropped halfway; the statement switches from an index scan to a
# (slower) sequential scan, and latdiag_plan_changes shows that switch, with
# both plans in latdiag_plans and consistent call counts.  Done once with the
# simple protocol (re-planned every execution) and once with -M prepared (the
# cached plan is invalidated by the DROP INDEX).  Also: a planner setting
# toggled in one session gives two planids, each stable across constants.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('flip');
$node->init;
# No parallel query: the seq scan's shape must not depend on worker counts.
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'postgres_latdiag'\n"
	  . "max_parallel_workers_per_gather = 0\n");
$node->start;

# k is a permutation of 1..100000 (7919 is prime to 100000), with its own
# index; id is the primary key.
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE flip_t (id int PRIMARY KEY, k int NOT NULL, v int NOT NULL);
INSERT INTO flip_t SELECT g, (g * 7919) % 100000 + 1, g % 1000
  FROM generate_series(1, 100000) g;
CREATE INDEX flip_t_k ON flip_t (k);
VACUUM ANALYZE flip_t;
});
is( $node->safe_psql('postgres',
		'SELECT count(DISTINCT k), min(k), max(k) FROM flip_t'),
	'100000|1|100000',
	'k is unique over 1..100000');

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $offset = -s $node->logfile;

# Run pgbench in the background for $seconds, drop $index after $delay s,
# wait for pgbench and check it succeeded.  Returns the queryid of $sql_like
# (a LIKE pattern on the normalized text).
sub flip_round
{
	my (%a) = @_;
	my $mode = $a{mode};
	my $script = "$tmp/flip_$mode.sql";
	open(my $fh, '>', $script) or die "could not write $script: $!";
	print $fh "\\set k random(1, 100000)\n$a{statement}\n";
	close $fh;

	$node->safe_psql('postgres', 'SELECT latdiag_reset()');

	my ($out, $err) = ('', '');
	my @cmd = (
		'pgbench', '-n', '-M', $mode, '-c', '2', '-T', $a{seconds},
		'-f', $script, '-h', $node->host, '-p', $node->port, 'postgres');
	my $h = IPC::Run::start(\@cmd, '<', \undef, '>', \$out, '2>', \$err);

	# Let the index-scan plan run a while, then drop the index under it.
	# The statement shows up in the store once pgbench has run it.
	ok( $node->poll_query_until('postgres',
			"SELECT count(*) > 0 FROM latdiag_queries "
			  . "WHERE query LIKE '$a{like}' AND calls >= 100"),
		"-M $mode: workload is running before the drop");
	sleep($a{delay});
	$node->safe_psql('postgres', "DROP INDEX $a{index}");
	my $ok = IPC::Run::finish($h);
	ok($ok, "-M $mode: pgbench exits 0 after the index was dropped")
	  or diag("pgbench exit status $?\nstdout:\n$out\nstderr:\n$err");
	like($out, qr/number of failed transactions: 0 /,
		"-M $mode: no failed transactions")
	  if $out =~ /number of failed transactions/;

	my $queryid = $node->safe_psql('postgres',
		"SELECT queryid FROM latdiag_queries WHERE query LIKE '$a{like}' "
		  . "AND query NOT LIKE '%latdiag%'");
	like($queryid, qr/^-?\d+$/, "-M $mode: exactly one entry for the statement")
	  or diag("latdiag_queries matches: $queryid");
	return $queryid;
}

sub check_flip
{
	my ($mode, $queryid) = @_;

	# The switch index -> seq scan is listed as a slower plan change.
	my $row = $node->safe_psql('postgres', qq{
SELECT o.plan LIKE '%Index%', n.plan LIKE '%Seq Scan%',
       c.new_mean_exec_time > c.old_mean_exec_time, c.changes >= 1,
       c.old_calls > 0, c.new_calls > 0
  FROM latdiag_plan_changes c
  JOIN latdiag_plans o ON o.queryid = c.queryid AND o.planid = c.old_planid
                      AND o.userid = c.userid AND o.dbid = c.dbid
  JOIN latdiag_plans n ON n.queryid = c.queryid AND n.planid = c.new_planid
                      AND n.userid = c.userid AND n.dbid = c.dbid
 WHERE c.queryid = $queryid
   AND o.plan LIKE '%Index%' AND n.plan LIKE '%Seq Scan%'});
	is($row, 't|t|t|t|t|t',
		"-M $mode: latdiag_plan_changes lists index -> seq scan, slower, changes >= 1"
	) or diag($node->safe_psql('postgres', qq{
SELECT * FROM latdiag_plan_changes_all() WHERE queryid = $queryid;
SELECT planid, calls, mean_exec_time, plan FROM latdiag_plans WHERE queryid = $queryid}));

	is( $node->safe_psql('postgres',
			"SELECT count(*) FROM latdiag_plan_changes WHERE queryid = $queryid"),
		'1', "-M $mode: exactly one slower switch for the statement");

	is( $node->safe_psql('postgres',
			"SELECT plan_count FROM latdiag_queries WHERE queryid = $queryid"),
		'2', "-M $mode: latdiag_queries.plan_count = 2");

	my ($qcalls, $pcalls, $nplans) = split /\|/, $node->safe_psql('postgres', qq{
SELECT (SELECT sum(calls) FROM latdiag_queries WHERE queryid = $queryid),
       (SELECT sum(calls) FROM latdiag_plans WHERE queryid = $queryid),
       (SELECT count(*) FROM latdiag_plans WHERE queryid = $queryid)});
	is($nplans, '2', "-M $mode: two rows in latdiag_plans");
	cmp_ok($qcalls, '>', 0, "-M $mode: the statement ran ($qcalls calls)");
	is($pcalls, $qcalls,
		"-M $mode: calls in latdiag_queries = sum of calls over its plans");

	# One plan is the index scan, the other a seq scan; both ran.
	is( $node->safe_psql('postgres', qq{
SELECT count(*) FILTER (WHERE plan LIKE '%Index%' AND plan NOT LIKE '%Seq Scan%'),
       count(*) FILTER (WHERE plan LIKE '%Seq Scan%' AND plan NOT LIKE '%Index%'),
       bool_and(calls > 0)
  FROM latdiag_plans WHERE queryid = $queryid}),
		'1|1|t', "-M $mode: one index plan and one seq scan plan, both executed");
}

# --- round 1: simple protocol, re-planned at every execution
my $q1 = flip_round(
	mode      => 'simple',
	statement => 'SELECT v FROM flip_t WHERE k = :k;',
	like      => 'SELECT v FROM flip\_t WHERE k = $1',
	index     => 'flip_t_k',
	seconds   => 6,
	delay     => 2);
check_flip('simple', $q1);

# --- round 2: prepared statements; another statement text (own queryid)
$node->safe_psql('postgres', 'CREATE INDEX flip_t_k2 ON flip_t (k)');
my $q2 = flip_round(
	mode      => 'prepared',
	statement => 'SELECT k, v FROM flip_t WHERE k = :k;',
	like      => 'SELECT k, v FROM flip\_t WHERE k = $1',
	index     => 'flip_t_k2',
	seconds   => 6,
	delay     => 2);
check_flip('prepared', $q2);

# --- planner setting toggled in one session: two planids, each stable
# across constants (seq scan with enable_seqscan on, an index plan without).
$node->safe_psql('postgres', q{
CREATE TABLE flip_u (id int PRIMARY KEY, v int);
INSERT INTO flip_u SELECT g, g % 10 FROM generate_series(1, 10000) g;
VACUUM ANALYZE flip_u;
SELECT latdiag_reset();
});
$node->safe_psql('postgres', q{
SELECT count(*) FROM flip_u WHERE id > 1;
SELECT count(*) FROM flip_u WHERE id > 2;
SELECT count(*) FROM flip_u WHERE id > 3;
SET enable_seqscan = off;
SELECT count(*) FROM flip_u WHERE id > 4;
SELECT count(*) FROM flip_u WHERE id > 5;
SELECT count(*) FROM flip_u WHERE id > 6;
RESET enable_seqscan;
SELECT count(*) FROM flip_u WHERE id > 7;
});
my $q3 = $node->safe_psql('postgres',
	"SELECT queryid FROM latdiag_queries "
	  . "WHERE query = 'SELECT count(*) FROM flip_u WHERE id > \$1'");
like($q3, qr/^-?\d+$/, 'toggle: one entry for the statement');
is( $node->safe_psql('postgres',
		"SELECT calls, plan_count FROM latdiag_queries WHERE queryid = $q3"),
	'7|2', 'toggle: 7 calls over 2 plans');
is( $node->safe_psql('postgres', qq{
SELECT count(DISTINCT planid),
       max(calls) FILTER (WHERE plan LIKE '%Seq Scan%'),
       max(calls) FILTER (WHERE plan NOT LIKE '%Seq Scan%' AND plan LIKE '%Index%')
  FROM latdiag_plans WHERE queryid = $q3}),
	'2|4|3',
	'toggle: two distinct planids; seq scan plan 4 calls, index plan 3 (stable across constants)'
) or diag($node->safe_psql('postgres',
	"SELECT planid, calls, plan FROM latdiag_plans WHERE queryid = $q3"));
# seq -> index is faster, index -> seq is slower or not: both are switches
is( $node->safe_psql('postgres',
		"SELECT count(*), sum(changes) FROM latdiag_plan_changes_all() WHERE queryid = $q3"),
	'2|2', 'toggle: two switches recorded (seq -> index, index -> seq)');

my $log = slurp_file($node->logfile, $offset);
unlike($log, qr/terminated by signal|PANIC|TRAP:/, 'no backend crashed');

$node->stop;
done_testing();
