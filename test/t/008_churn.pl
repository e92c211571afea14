# postgres_latdiag: bounded memory under churn.  With small plan, snapshot
# and query stores, every execution counted as slow and armed for a snapshot,
# 1500 distinct statement shapes evict plans, snapshots and queries instead of
# failing or growing; the stores stay within their bounds, shared memory does
# not change, every view stays readable (also from a second session reading
# them in a loop while the churn runs), and every kept snapshot is a real
# EXPLAIN ANALYZE.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('churn');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.max_plans = 100
latdiag.max_snapshots = 10
latdiag.snapshot_min_duration = 0
latdiag.snapshot_sample_rate = 1
latdiag.max_queries = 200
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION postgres_latdiag');

is( $node->safe_psql('postgres',
		'SELECT max_entries, max_plans, max_snapshots FROM latdiag_info'),
	'200|100|10',
	'latdiag_info shows the configured bounds');

my $shmem_before =
  $node->safe_psql('postgres', 'SELECT shmem_bytes FROM latdiag_info');
cmp_ok($shmem_before, '>', 0, "shmem_bytes > 0 ($shmem_before)");

# Distinct shapes: the queryid ignores constants and column aliases, so vary
# the select list (every non-empty subset of 10 columns) and the number of
# predicates (none, one, two).
$node->safe_psql('postgres',
	'CREATE TABLE ldt_churn (' . join(', ', map { "c$_ int" } 0 .. 9) . ');'
	  . 'INSERT INTO ldt_churn SELECT '
	  . join(', ', map { "g + $_" } 0 .. 9)
	  . ' FROM generate_series(1, 20) g; ANALYZE ldt_churn;');

my @where = ('', ' WHERE c2 > 1', ' WHERE c2 > 1 AND c5 < 70');
my @queries;
OUTER: for my $w (@where)
{
	for my $mask (1 .. 1023)
	{
		my @cols = grep { $mask & (1 << $_) } 0 .. 9;
		push @queries,
		  'SELECT ' . join(', ', map { "c$_" } @cols) . " FROM ldt_churn$w";
		last OUTER if @queries == 1500;
	}
}
my %uniq = map { $_ => 1 } @queries;
is(scalar(keys %uniq), 1500, '1500 distinct statement shapes');

my $offset = -s $node->logfile;

# A second session reads the views in a loop while the churn runs.
my $tmp = PostgreSQL::Test::Utils::tempdir;
my $reader_sql = "$tmp/reader.sql";
open(my $fh, '>', $reader_sql) or die "could not write $reader_sql: $!";
print $fh "SET application_name = 'ldt_reader';\n";
print $fh "SELECT count(*) FROM latdiag_explain_snapshots;\n"
  . "SELECT count(*) FROM latdiag_plans;\n"
  . "SELECT count(*) FROM latdiag_plan_changes;\n"
  . "SELECT count(*) FROM latdiag_queries;\n"
  . "SELECT snapshots, plans, entries FROM latdiag_info;\n"
  for 1 .. 3000;
print $fh "SELECT 'reader done';\n";
close $fh;
my ($rout, $rerr) = ('', '');
my $reader = IPC::Run::start(
	[
		'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
		'-f', $reader_sql, '-d', $node->connstr('postgres')
	],
	'<', \undef, '>', \$rout, '2>', \$rerr);
ok( $node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'ldt_reader'"),
	'the reader session is running');

# The churn, in batches of 300 statements; twice over, so that the second
# pass re-creates what the first one had to evict.
for my $pass (1 .. 2)
{
	for (my $i = 0; $i < @queries; $i += 300)
	{
		my @batch = @queries[ $i .. $i + 299 ];
		$node->safe_psql('postgres', join(";\n", @batch) . ";\n");
	}
}
my $overlapped = $reader->pumpable;
note($overlapped
	? 'the reader was still running when the churn ended'
	: 'the reader ended before the churn did');

my $reader_ok = $reader->finish;
ok($reader_ok, 'the concurrent reader exits 0')
  or diag("reader exit status $?\nstderr:\n$rerr");
like($rout, qr/reader done\s*$/, 'the reader ran its whole script');
is($rerr, '', 'the reader printed nothing on stderr');

my ($snapshots, $plans, $entries, $snap_ev, $plan_ev, $ev, $shmem_after) =
  split /\|/, $node->safe_psql('postgres', q{
SELECT snapshots, plans, entries, snapshot_evictions, plan_evictions,
       evictions, shmem_bytes FROM latdiag_info});
cmp_ok($snapshots, '<=', 10,  "snapshots <= max_snapshots ($snapshots)");
cmp_ok($snapshots, '>',  0,   'some snapshots are kept');
cmp_ok($plans,     '<=', 100, "plans <= max_plans ($plans)");
cmp_ok($plans,     '>',  0,   'some plans are kept');
cmp_ok($entries,   '<=', 200, "entries <= max_queries ($entries)");
cmp_ok($snap_ev,   '>',  0,   "snapshot_evictions > 0 ($snap_ev)");
cmp_ok($plan_ev,   '>',  0,   "plan_evictions > 0 ($plan_ev)");
cmp_ok($ev,        '>',  0,   "evictions > 0 ($ev)");
is($shmem_after, $shmem_before, 'shmem_bytes unchanged');

# Every view is readable and agrees with latdiag_info's bounds.
my ($nq, $np, $nc, $ns) = split /\|/, $node->safe_psql('postgres', q{
SELECT (SELECT count(*) FROM latdiag_queries),
       (SELECT count(*) FROM latdiag_plans),
       (SELECT count(*) FROM latdiag_plan_changes),
       (SELECT count(*) FROM latdiag_explain_snapshots)});
cmp_ok($nq, '<=', 200, "latdiag_queries readable, <= 200 rows ($nq)");
cmp_ok($np, '<=', 100, "latdiag_plans readable, <= 100 rows ($np)");
cmp_ok($nc, '>=', 0,   "latdiag_plan_changes readable ($nc rows)");
cmp_ok($ns, '<=', 10,  "latdiag_explain_snapshots readable, <= 10 rows ($ns)");
cmp_ok($ns, '>',  0,   'latdiag_explain_snapshots is not empty');

# Every kept snapshot is a complete EXPLAIN ANALYZE with its query.
is( $node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE plan IS NULL OR plan = ''
                           OR plan NOT LIKE '%actual rows=%'),
       count(*) FILTER (WHERE query IS NULL OR query = ''),
       count(*) FILTER (WHERE snapshot_id IS NULL OR snapshot_id <= 0)
  FROM latdiag_explain_snapshots}),
	'0|0|0',
	'every snapshot has a non-empty plan with actual rows, a query and an id'
) or diag($node->safe_psql('postgres',
	'SELECT snapshot_id, queryid, planid, query, plan FROM latdiag_explain_snapshots'));

# latdiag_explain() works for every kept snapshot's queryid.
is( $node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE latdiag_explain(queryid) NOT LIKE '%actual rows=%')
  FROM (SELECT DISTINCT queryid FROM latdiag_explain_snapshots) s}),
	'0', 'latdiag_explain() returns a plan for every snapshot queryid');

# Plans: every kept plan has a text; plan_count agrees with latdiag_plans.
is( $node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE plan IS NULL OR plan = '') FROM latdiag_plans}),
	'0', 'every kept plan has a text');
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM latdiag_queries q
 WHERE q.plan_count <> (SELECT count(*) FROM latdiag_plans p
                         WHERE p.userid = q.userid AND p.dbid = q.dbid
                           AND p.queryid = q.queryid)}),
	'0', 'plan_count matches latdiag_plans for every query');

# Still capturing after all that: a new shape gets its plan and snapshot.
$node->safe_psql('postgres',
	'SELECT c0 + c1 AS ldt_fresh, c9 FROM ldt_churn WHERE c3 <> 4 ORDER BY c9');
is( $node->safe_psql('postgres', q{
SELECT q.calls, q.plan_count,
       (SELECT count(*) FROM latdiag_explain_snapshots s
         WHERE s.queryid = q.queryid AND s.plan LIKE '%actual rows=%')
  FROM latdiag_queries q WHERE q.query LIKE '%ldt\_fresh%'
   AND q.query NOT LIKE '%latdiag%'}),
	'1|1|1', 'a new statement after the churn has 1 call, 1 plan and a snapshot');

my ($snapshots2, $plans2, $entries2) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT snapshots, plans, entries FROM latdiag_info');
cmp_ok($snapshots2, '<=', 10,  "still snapshots <= 10 ($snapshots2)");
cmp_ok($plans2,     '<=', 100, "still plans <= 100 ($plans2)");
cmp_ok($entries2,   '<=', 200, "still entries <= 200 ($entries2)");

my $log = slurp_file($node->logfile, $offset);
unlike($log, qr/^[^\n]*(ERROR|PANIC|TRAP):/m, 'no ERROR or PANIC in the log');
unlike($log, qr/terminated by signal/, 'no backend crashed');

$node->stop;
done_testing();
