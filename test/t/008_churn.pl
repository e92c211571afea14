# postgres_latdiag: bounded memory under churn.  8 clients send 20,000
# distinct statement shapes, over and over for LATDIAG_CHURN_SECONDS (20 s by
# default), into stores sized for far fewer (1,000 queries,
# 100 plans, 10 snapshots, 100 seq scans), every execution counted as slow
# and armed for a snapshot, and every statement scanning a "large" table,
# while another session reads every view in a loop.  Nothing fails, every
# store stays within its bound and counts what it evicted, shared memory does
# not change, and every kept entry is complete.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use IPC::Run;
use Time::HiRes qw(time);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LatdiagViews;

my $nclients = 8;
my $nshapes  = 20000;

my $node = PostgreSQL::Test::Cluster->new('churn');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.max_queries = 1000
latdiag.max_plans = 100
latdiag.max_snapshots = 10
latdiag.max_seq_scans = 100
latdiag.snapshot_min_duration = 0
latdiag.snapshot_sample_rate = 1
latdiag.large_table_rows = 100
latdiag.track = all
latdiag.track_planning = on
max_connections = 30
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION postgres_latdiag');

is( $node->safe_psql('postgres',
		'SELECT max_entries, max_plans, max_snapshots, max_seq_scans FROM latdiag_info'),
	'1000|100|10|100',
	'latdiag_info shows the configured bounds');

my $shmem_before = latdiag_shmem($node);
like($shmem_before, qr/^\d+\n/, 'shared memory state read');
my $anon_before = $node->safe_psql('postgres',
	"SELECT allocated_size FROM pg_shmem_allocations WHERE name = '<anonymous>'");

# Distinct shapes: the queryid ignores constants and aliases, so vary the
# select list (every non-empty subset of 10 columns), the filtered column
# (10) and the operator (2): 20,460 shapes, each a seq scan of a 300-row
# table (a "large" one here) with a selective filter.
$node->safe_psql('postgres',
	'CREATE TABLE ldt_churn (' . join(', ', map { "c$_ int" } 0 .. 9) . ');'
	  . 'INSERT INTO ldt_churn SELECT '
	  . join(', ', map { "g + $_" } 0 .. 9)
	  . ' FROM generate_series(1, 300) g; ANALYZE ldt_churn;');
my @ops = ('=', '<');
my @queries;
for my $i (0 .. $nshapes - 1)
{
	my $mask = ($i % 1023) + 1;
	my $k    = int($i / 1023);
	my @cols = grep { $mask & (1 << $_) } 0 .. 9;
	push @queries,
	    'SELECT '
	  . join(', ', map { "c$_" } @cols)
	  . ' FROM ldt_churn WHERE c'
	  . ($k % 10) . " $ops[int($k / 10)] 3";
}
my %uniq = map { $_ => 1 } @queries;
is(scalar(keys %uniq), $nshapes, "$nshapes distinct statement shapes");

my $offset = -s $node->logfile;

# The clients: each sends every 8th statement through its own connection,
# pass after pass (a new connection each pass) until the time is up; the
# first pass always completes, so all 20,000 shapes are sent.
my $seconds = $ENV{LATDIAG_CHURN_SECONDS} // 20;
my $tmp = PostgreSQL::Test::Utils::tempdir;
my @clients;
my $t0 = time();
for my $c (0 .. $nclients - 1)
{
	my $file = "$tmp/client$c.sql";
	open(my $fh, '>', $file) or die "could not write $file: $!";
	my $n = 0;
	for (my $i = $c; $i < @queries; $i += $nclients)
	{
		print $fh "$queries[$i];\n";
		$n++;
	}
	close $fh;
	push @clients, { file => $file, n => $n, passes => 0, failed => 0, err => '' };
}

# Start a client's next pass.
sub start_pass
{
	my ($cl) = @_;
	$cl->{out} = '';
	$cl->{h} = IPC::Run::start(
		[
			'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-o', '/dev/null',
			'-f', $cl->{file}, '-d', $node->connstr('postgres')
		],
		'<', \undef, '>', \$cl->{out}, '2>', \$cl->{err});
}
start_pass($_) for @clients;

# The reader: every view and function, in a loop, while the clients run.
my $reader = $node->background_psql('postgres', on_error_stop => 0);
my ($rounds, $read_errors, $first_error) = (0, 0, '');
my $running = $nclients;
while ($running > 0)
{
	for my $sql (@LATDIAG_READS)
	{
		my ($out, $ret) = $reader->query($sql);
		if ($ret != 0)
		{
			$read_errors++;
			$first_error ||= "$sql: $reader->{stderr}";
		}
	}
	$rounds++;
	$running = 0;
	for my $cl (@clients)
	{
		next unless $cl->{h};
		if ($cl->{h}->pumpable)
		{
			$cl->{h}->pump_nb;
			$running++;
			next;
		}
		$cl->{h}->finish or $cl->{failed}++;
		$cl->{passes}++;
		$cl->{h} = undef;
		next if $cl->{failed} || time() - $t0 >= $seconds;
		start_pass($cl);
		$running++;
	}
	last if time() - $t0 > 300;    # a hung client: fail below
}
my $churn_seconds = time() - $t0;
my $sent = 0;
$sent += $_->{passes} * $_->{n} for @clients;
my $clients_ok = 0;
for my $cl (@clients)
{
	if ($cl->{h})
	{
		$cl->{h}->kill_kill;
		$cl->{failed}++;
	}
	$clients_ok++ if !$cl->{failed} && $cl->{err} eq '' && $cl->{passes} > 0;
	diag("client stderr: $cl->{err}") if $cl->{err} ne '';
}
$reader->quit;
is($clients_ok, $nclients, "all $nclients clients ran their statements without an error");
cmp_ok($sent, '>=', $nshapes, "$sent statements sent ($nshapes distinct)");
cmp_ok($rounds, '>', 1, "the reader read every view $rounds times during the churn");
is($read_errors, 0, 'no read failed during the churn') or diag($first_error);
diag(sprintf('churn: %d statements (%d distinct) from %d clients in %.1f s, every view read %d times meanwhile',
	$sent, $nshapes, $nclients, $churn_seconds, $rounds));

my ($entries, $ev, $plans, $plan_ev, $snapshots, $snap_ev, $scans, $scan_ev) =
  split /\|/, $node->safe_psql('postgres', q{
SELECT entries, evictions, plans, plan_evictions, snapshots, snapshot_evictions,
       seq_scans, seq_scan_evictions FROM latdiag_info});
cmp_ok($entries,   '<=', 1000, "queries within bound ($entries)");
cmp_ok($plans,     '<=', 100,  "plans within bound ($plans)");
cmp_ok($snapshots, '<=', 10,   "snapshots within bound ($snapshots)");
cmp_ok($scans,     '<=', 100,  "seq scans within bound ($scans)");
cmp_ok($snapshots, '>',  0,    'some snapshots are kept');
cmp_ok($scans,     '>',  0,    'some seq scans are kept');
# Nothing was reset: every shape that got an entry is either still there or
# was counted as evicted.
cmp_ok($entries + $ev, '>=', $nshapes,
	"query entries + evictions >= $nshapes ($entries + $ev)");
cmp_ok($plans + $plan_ev, '>=', $nshapes,
	"plan entries + evictions >= $nshapes ($plans + $plan_ev)");
cmp_ok($scans + $scan_ev, '>=', $nshapes,
	"seq-scan entries + evictions >= $nshapes ($scans + $scan_ev)");
cmp_ok($snap_ev, '>', 0, "snapshot evictions counted ($snap_ev)");

is(latdiag_shmem($node), $shmem_before,
	'shmem_bytes and our pg_shmem_allocations areas unchanged');
is( $node->safe_psql('postgres',
		"SELECT allocated_size FROM pg_shmem_allocations WHERE name = '<anonymous>'"),
	$anon_before,
	'no shared hash table grew into the anonymous shared memory');

# latdiag_info agrees with the views.
is( $node->safe_psql('postgres', q{
SELECT entries = (SELECT count(*) FROM latdiag_queries(false)),
       plans = (SELECT count(*) FROM latdiag_plans(false)),
       plan_changes = (SELECT count(*) FROM latdiag_plan_changes_all()),
       snapshots = (SELECT count(*) FROM latdiag_explain_snapshots()),
       seq_scans = (SELECT count(*) FROM latdiag_seq_scans_all())
  FROM latdiag_info}),
	't|t|t|t|t',
	'latdiag_info counts match the rows of every store');

# Every kept snapshot is a complete EXPLAIN ANALYZE with its query.
is( $node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE plan IS NULL OR plan = ''
                           OR plan NOT LIKE '%actual rows=%'),
       count(*) FILTER (WHERE query IS NULL OR query = ''),
       count(*) FILTER (WHERE snapshot_id IS NULL OR snapshot_id <= 0)
  FROM latdiag_explain_snapshots}),
	'0|0|0',
	'every snapshot has a non-empty plan with actual rows, a query and an id');

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
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM latdiag_seq_scans_all()
 WHERE (relname <> 'public.ldt_churn' AND relname NOT LIKE 'pg\_catalog.%')
    OR (relname = 'public.ldt_churn' AND filter IS NULL) OR calls < 1}),
	'0', 'every kept seq scan names the table and its filter (the readers\' report scans catalogs)')
  or diag($node->safe_psql('postgres', q{
SELECT relname, filter, calls FROM latdiag_seq_scans_all()
 WHERE relname <> 'public.ldt_churn' OR filter IS NULL OR calls < 1}));

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

my $log = slurp_file($node->logfile, $offset);
unlike($log, qr/^[^\n]*(ERROR|PANIC|TRAP):/m, 'no ERROR or PANIC in the log');
unlike($log, qr/terminated by signal/, 'no backend crashed');

$node->stop;
done_testing();
