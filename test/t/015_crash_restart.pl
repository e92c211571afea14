# postgres_latdiag: crashes and restarts, for every store.
#
# - A clean restart keeps the whole content of every view (and latdiag_info's
#   counters: evictions, truncated texts, stats_reset).
# - kill -9 of a backend in the middle of a query (one sleeping, one running
#   a long armed execution): the server recovers, shared memory is the same,
#   every view reads, capture resumes (the statistics of before the crash are
#   lost, as with pg_stat_statements).
# - Every store's saved file truncated, corrupted, or of an older format
#   version: each is ignored with its own LOG line and removed; startup
#   succeeds and capture works.  (An older format version is ignored, not
#   converted: our chosen behaviour, documented in doc/reliability.md.)
# - Bad values in the configuration file: a reload ignores them with a LOG
#   line; an out-of-range size setting at start is reported in the log and
#   its built-in default used.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LatdiagViews;

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.track = all
latdiag.track_planning = on
latdiag.snapshot_min_duration = 0
latdiag.snapshot_sample_rate = 1
latdiag.large_table_rows = 100
latdiag.max_queries = 100
latdiag.max_query_length = 256
latdiag.max_plans = 100
latdiag.max_snapshots = 10
latdiag.max_seq_scans = 100
latdiag.window_interval = 10s
restart_after_crash = on
max_parallel_workers_per_gather = 0
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE r (id int PRIMARY KEY, v int, c0 int, c1 int, c2 int, c3 int, c4 int, c5 int, c6 int, c7 int);
INSERT INTO r SELECT g, g % 100, g, g, g, g, g, g, g, g FROM generate_series(1, 5000) g;
CREATE TABLE rf (id int PRIMARY KEY, v int);
INSERT INTO rf SELECT g, g % 100 FROM generate_series(1, 200000) g;
VACUUM ANALYZE r, rf;
});

# Fill every store: 255 distinct shapes (evictions in a 100-entry store),
# one statement longer than max_query_length (a truncated text), a plan
# change (index scan, then seq scan) and seq scans with a filter.  The plan
# change is slower by design, not by luck on a loaded machine: three index
# lookups, then one sequential scan of 200,000 rows (about 10 ms; a preempted
# lookup among the three would have to lose 30 ms to make it "not slower").
sub workload
{
	my ($tag) = @_;
	my @sql;
	for my $mask (1 .. 255)
	{
		my @cols = grep { $mask & (1 << $_) } 0 .. 7;
		push @sql, 'SELECT ' . join(', ', map { "c$_" } @cols) . " FROM r WHERE v = $mask";
	}
	push @sql, "SELECT id AS $tag, " . join(', ', map { "v + $_" } 1 .. 60) . ' FROM r WHERE id = 1';
	# a deep OFFSET (latdiag_query_shapes, counted in the query store)
	push @sql, "SELECT id AS ${tag}_page FROM r ORDER BY id LIMIT 1 OFFSET 2000";
	push @sql, map({ "SELECT v AS ${tag}_flip FROM rf WHERE id = $_" } 7 .. 9),
	  'SET enable_indexscan = off', 'SET enable_bitmapscan = off',
	  "SELECT v AS ${tag}_flip FROM rf WHERE id = 10";
	$node->safe_psql('postgres', join(";\n", @sql) . ";\n");
}

sub calls_of
{
	my ($pattern) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(sum(calls), 0) FROM latdiag_queries WHERE query LIKE '$pattern' AND query NOT LIKE '%latdiag%'");
}

# ------------------------------------------------------------ clean restart
workload('ldt_before');
my $info = $node->safe_psql('postgres', q{
SELECT evictions > 0, truncated_texts > 0, plan_changes > 0, snapshots > 0, seq_scans > 0
  FROM latdiag_info});
is($info, 't|t|t|t|t', 'evictions, a truncated text, a plan change, snapshots and seq scans recorded');
# An N+1 loop (a parent whose 8 rows drive 8 lookups), and a row-lock wait
# (one session holds the row for 200 ms).
$node->safe_psql('postgres',
	"SET latdiag.n_plus_one_min_time = 0;\nSELECT id FROM r WHERE id <= 8 ORDER BY id;\n"
	  . join('', map { "SELECT c1 FROM r WHERE id = $_;\n" } 1 .. 8));
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN; UPDATE r SET c7 = c7 WHERE id = 3');
my $waiter = $node->background_psql('postgres', wait => 0);
$waiter->query_until(qr/started/, "\\echo started\nUPDATE r SET c6 = c6 WHERE id = 3;\n");
$node->poll_query_until('postgres',
	q{SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock'});
select(undef, undef, undef, 0.2);
$holder->query_safe('COMMIT');
$holder->quit;
$waiter->quit;
$node->poll_query_until('postgres', 'SELECT count(*) > 0 FROM latdiag_lock_waits')
  or diag('no lock wait recorded');

# A time window with all of that, kept as a baseline.
$node->poll_query_until('postgres', 'SELECT count(*) > 0 FROM latdiag_query_windows')
  or diag('no window closed');
$node->safe_psql('postgres', q{SELECT latdiag_baseline_save('before the restart')});
# A failed statement (latdiag_errors).
$node->psql('postgres', 'SELECT 1 / (id - id) FROM r');

my $before = latdiag_dump($node);
# (latdiag_lock_tree shows the waits in progress: none now)
my @empty = grep { / 0 rows / && !/^latdiag_lock_tree:/ } split /\n/, $before;
is(scalar(@empty), 0, 'every view has rows before the restart') or diag(join("\n", @empty));
# (latdiag_findings moves with the clock, so it is not in the dump: it ranks
# the rows of the other views, and has rows on both sides of the restart;
# read with capture off, as the dump is)
my $kinds = sub {
	$node->safe_psql('postgres', 'SELECT count(DISTINCT kind) >= 4 FROM latdiag_findings',
		connstr => latdiag_connstr_off($node));
};
is($kinds->(), 't', 'latdiag_findings ranks them before the restart');
$node->restart;
is(latdiag_dump($node), $before, 'a clean restart keeps the whole content of every view and latdiag_info');
is($kinds->(), 't', 'and after it');

# ------------------------------------------------------ crash in mid-query
my $shmem = latdiag_shmem($node);
my $sleeper = $node->background_psql('postgres');
$sleeper->query_until(qr/sleeping/, "\\echo sleeping\nSELECT pg_sleep(60) AS ldt_sleeping;\n");
my $worker = $node->background_psql('postgres');
$worker->query_until(qr/running/,
	"\\echo running\nSELECT count(*) AS ldt_running FROM r a, r b WHERE a.v + b.v < 0;\n");
ok( $node->poll_query_until('postgres', q{
SELECT count(*) = 2 FROM pg_stat_activity
 WHERE state = 'active' AND (query LIKE '%ldt_sleeping%' OR query LIKE '%ldt_running%')
   AND query NOT LIKE '%pg_stat_activity%'}),
	'one backend sleeps and one runs a long armed query');
my $victim = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE query LIKE '%ldt_sleeping%' AND query NOT LIKE '%pg_stat_activity%'");
my $offset = -s $node->logfile;
kill 'KILL', $victim;
eval { $sleeper->quit };
eval { $worker->quit };
ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'the server accepts connections again');
my $log = slurp_file($node->logfile, $offset);
like($log, qr/\(PID $victim\) was terminated by signal 9/, 'the backend was killed in mid-query');
like($log, qr/all server processes terminated; reinitializing/, 'the postmaster reinitialized');
is(latdiag_shmem($node), $shmem, 'the same shared memory after reinitialization');
my ($nerr, $errs) = latdiag_read_all($node);
is($nerr, 0, 'every view and function reads after the crash') or diag($errs);
is(calls_of('%ldt\_before%'), '0', 'the statistics of before the crash are gone');
workload('ldt_after_crash');
is(calls_of('%ldt\_after\_crash\_flip%'), '4', 'capture resumes after the crash');
is( $node->safe_psql('postgres', q{
SELECT plans > 0 AND plan_changes > 0 AND snapshots > 0 AND seq_scans > 0 FROM latdiag_info}),
	't', 'plans, plan changes, snapshots and seq scans are recorded again');

# ------------------------------------- kill -9 of each background worker
# Killing a worker with SIGKILL is a crash too: the postmaster reinitializes
# shared memory and starts the workers again; the extension works afterwards.
# (The report worker has no database connection while latdiag.report_interval
# is 0, so it is found by its process title among the postmaster's children.)
sub worker_pid
{
	my ($title) = @_;
	my $pm = (split /\n/, slurp_file($node->data_dir . '/postmaster.pid'))[0];
	for my $stat (glob '/proc/[0-9]*/stat')
	{
		my ($pid) = $stat =~ m{/proc/(\d+)/};
		my $st = eval { slurp_file($stat) } // next;
		my ($ppid) = $st =~ /^\d+ \(.*\) \S (\d+)/s;
		next unless defined $ppid && $ppid == $pm;
		my $cmd = eval { slurp_file("/proc/$pid/cmdline") } // next;
		return $pid if $cmd =~ /\Q$title\E/;
	}
	return '';
}

for my $bgw ('postgres_latdiag sampler', 'postgres_latdiag reports')
{
	my $pid = worker_pid($bgw);
	ok($pid =~ /^\d+$/, "$bgw runs (pid $pid)");
	my $offset = -s $node->logfile;
	kill 'KILL', $pid if $pid;
	my $back = 0;
	for (1 .. 300)
	{
		my $new = worker_pid($bgw);
		if ($new ne '' && $new ne $pid) { $back = 1; last; }
		select(undef, undef, undef, 0.1);
	}
	ok($back, "$bgw is back after kill -9");
	$node->poll_query_until('postgres', 'SELECT 1', '1');
	like(slurp_file($node->logfile, $offset), qr/terminated by signal 9/,
		"$bgw: the postmaster saw the crash");
	my ($nerr, $errs) = latdiag_read_all($node);
	is($nerr, 0, "$bgw: every view reads after the restart") or diag($errs);
	workload("ldt_after_$pid");
	is(calls_of("%ldt\\_after\\_${pid}\\_flip%"), '4', "$bgw: capture resumes");
}

# ------------------------------------------------- damaged files, per store
$node->stop;
my @files = latdiag_store_files($node);
cmp_ok(scalar(@files), '>=', 5, 'each store wrote its file at shutdown: '
	  . join(' ', map { s{.*/}{}r } @files));

# Damage every file in the same way; start; each one is ignored with a LOG line.
my %damage = (
	'1 truncated' => [
		sub { my ($c) = @_; substr($c, 0, int(length($c) / 2)) },
		qr/checksum mismatch|entries do not match the header|file is too short/
	],
	'2 corrupted' => [
		sub { my ($c) = @_; substr($c, int(length($c) / 2), 8) ^= "\xff" x 8; $c },
		qr/checksum mismatch/
	],
	'3 older format version' => [
		sub {
			my ($c) = @_;
			my $v = unpack('V', substr($c, 4, 4));
			substr($c, 4, 4) = pack('V', $v - 1);
			$c;
		},
		qr/format version \d+, expected \d+/
	],);
for my $case (sort keys %damage)
{
	my ($mangle, $why) = @{ $damage{$case} };
	for my $f (@files)
	{
		my $content = slurp_file($f);
		open(my $fh, '>', $f) or die "could not write $f: $!";
		binmode $fh;
		print $fh $mangle->($content);
		close $fh;
	}
	$offset = -s $node->logfile;
	my $started = $node->start(fail_ok => 1);
	ok($started, "$case: the server starts");
	last unless $started;
	$log = slurp_file($node->logfile, $offset);
	for my $f (@files)
	{
		my $rel = $f =~ s{.*/(pg_stat/[^/]+)$}{$1}r;
		like($log, qr/LOG:  postgres_latdiag: ignoring saved statistics file "\Q$rel\E": (?:$why)/,
			"$case: $rel ignored with a LOG line that says why");
		ok(!-e $f, "$case: $rel removed");
	}
	unlike($log, qr/PANIC|FATAL|terminated by signal/, "$case: no fatal error");
	is(calls_of('%ldt\_%flip%'), '0', "$case: nothing of the damaged files was loaded");
	($nerr, $errs) = latdiag_read_all($node);
	is($nerr, 0, "$case: every view and function reads") or diag($errs);
	workload('ldt_round');
	is(calls_of('%ldt\_round\_flip%'), '4', "$case: capture works");
	$node->stop;
}

# ------------------------------------------- bad values in the config file
$node->start;
$node->append_conf('postgresql.conf',
	"latdiag.save = maybe\nlatdiag.snapshot_sample_rate = 2\n");
$offset = -s $node->logfile;
$node->reload;
ok( $node->poll_query_until('postgres', 'SELECT 1', '1')
	  && wait_for_log($node, qr/latdiag\.snapshot_sample_rate/, $offset),
	'the reload is done');
$log = slurp_file($node->logfile, $offset);
like($log, qr/parameter "latdiag\.save" requires a Boolean value/, 'reload: a bad bool is reported');
like($log, qr/2 is outside the valid range for parameter "latdiag\.snapshot_sample_rate" \(0 \.\. 1\)/,
	'reload: an out-of-range value is reported');
is($node->safe_psql('postgres', 'SHOW latdiag.save') . ' ' . $node->safe_psql('postgres', 'SHOW latdiag.snapshot_sample_rate'),
	'on 1', 'reload: both settings keep their values');
# A restart-only setting out of range: the library's settings are defined
# after the file is read, so PostgreSQL reports the value and keeps the
# setting's built-in default rather than stopping the start.
$node->stop;
$node->append_conf('postgresql.conf', "latdiag.max_queries = 99\n");
$offset = -s $node->logfile;
ok($node->start(fail_ok => 1), 'start: the server starts with an out-of-range size setting');
like(slurp_file($node->logfile, $offset),
	qr/99 is outside the valid range for parameter "latdiag\.max_queries" \(100 \.\. 1000000\)/,
	'start: the log says which setting and its range');
is($node->safe_psql('postgres', 'SELECT max_entries FROM latdiag_info'),
	'5000', 'start: the built-in default (5000) is used instead');
$node->stop;
done_testing();

# Wait until the log (from $offset) matches $re; true if it did within 10 s.
sub wait_for_log
{
	my ($n, $re, $off) = @_;
	for (1 .. 100)
	{
		return 1 if slurp_file($n->logfile, $off) =~ $re;
		select(undef, undef, undef, 0.1);
	}
	return 0;
}
