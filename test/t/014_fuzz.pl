# postgres_latdiag: fuzzing with sqlsmith.  Two sqlsmith streams send random
# queries (fixed seeds) to a server with latdiag (and pg_stat_statements)
# preloaded and every capture on: nested statements, utility statements,
# planning, a snapshot of every execution (with timing), seq scans of any
# table over 100 rows, parallel plans, small stores that evict all the time.
# Between batches the settings change (snapshot format, timing, tracking,
# capture off and on) through ALTER SYSTEM and a reload.  Nothing may crash:
# no "terminated by signal", no PANIC, no restart of the postmaster (a
# session opened before the fuzzing still works after it).
#
# LATDIAG_FUZZ_SECONDS (default 60) sets the duration; LATDIAG_FUZZ_SEED
# (default 1) the first seed.  The number of queries run is printed.
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

my ($sqlsmith) = grep { -x } map { "$_/sqlsmith" } split /:/, $ENV{PATH};
plan skip_all => 'sqlsmith is not installed (apt-get install sqlsmith)'
  unless $sqlsmith;

my $seconds = $ENV{LATDIAG_FUZZ_SECONDS} // 60;
my $seed0   = $ENV{LATDIAG_FUZZ_SEED}    // 1;
my $batch   = 500;    # queries per sqlsmith run
my $streams = 2;

my $node = PostgreSQL::Test::Cluster->new('fuzz');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_stat_statements, postgres_latdiag'
latdiag.track = all
latdiag.track_utility = on
latdiag.track_planning = on
latdiag.snapshot_min_duration = 0
latdiag.snapshot_sample_rate = 1
latdiag.snapshot_timing = on
latdiag.large_table_rows = 100
latdiag.max_queries = 1000
latdiag.max_plans = 200
latdiag.max_snapshots = 20
latdiag.max_seq_scans = 100
pg_stat_statements.track = all
restart_after_crash = on
log_error_verbosity = verbose
log_statement = none
log_min_error_statement = panic    # a crash still logs the query it was running
max_connections = 20
});
$node->start;

# The fuzzed database: tables (one large, one partitioned, with indexes), a
# PL/pgSQL function that runs statements (nested), a view; and a role that is
# not a superuser but reads all statistics and may reset them.
$node->safe_psql('postgres', q{
CREATE DATABASE fuzz;
CREATE ROLE fuzzer LOGIN;
GRANT pg_read_all_stats, pg_read_all_settings TO fuzzer;
});
$node->safe_psql('fuzz', q{
CREATE EXTENSION postgres_latdiag;
CREATE EXTENSION pg_stat_statements;
GRANT EXECUTE ON FUNCTION latdiag_reset(), latdiag_reset(oid, oid, bigint) TO fuzzer;
-- sqlsmith must not end sessions: its own, or the one that watches for a restart
REVOKE EXECUTE ON FUNCTION pg_terminate_backend(int, bigint), pg_cancel_backend(int) FROM PUBLIC;
CREATE TABLE fz_big (id int PRIMARY KEY, k int, t text, f float8, d date);
INSERT INTO fz_big SELECT g, g % 97, md5(g::text), g / 7.0, date '2020-01-01' + g % 1000
  FROM generate_series(1, 5000) g;
CREATE INDEX ON fz_big (k);
CREATE TABLE fz_small (id int PRIMARY KEY, big_id int REFERENCES fz_big, v text);
INSERT INTO fz_small SELECT g, g * 3, 'v' || g FROM generate_series(1, 50) g;
CREATE TABLE fz_part (id int, region int, amount numeric) PARTITION BY LIST (region);
CREATE TABLE fz_part_1 PARTITION OF fz_part FOR VALUES IN (1);
CREATE TABLE fz_part_2 PARTITION OF fz_part FOR VALUES IN (2);
INSERT INTO fz_part SELECT g, 1 + g % 2, g * 1.5 FROM generate_series(1, 2000) g;
CREATE VIEW fz_view AS SELECT b.id, b.k, s.v FROM fz_big b JOIN fz_small s ON s.big_id = b.id;
CREATE FUNCTION fz_lookup(n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE r int;
BEGIN
  SELECT count(*) INTO r FROM fz_big WHERE k = n;
  RETURN r;
END $$;
ANALYZE;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO fuzzer;
ALTER ROLE fuzzer SET parallel_setup_cost = 1;    -- some parallel plans (0 makes every
                                                -- subplan relaunch workers: too slow)
ALTER ROLE fuzzer SET parallel_tuple_cost = 0.001;
ALTER ROLE fuzzer SET min_parallel_table_scan_size = 0;
});

# Settings that change between batches (ALTER SYSTEM, then a reload).
my @variants = (
	{},
	{ 'latdiag.snapshot_format' => 'json' },
	{ 'latdiag.snapshot_timing' => 'off', 'latdiag.track' => 'top' },
	{ 'latdiag.track_planning' => 'off', 'latdiag.track_utility' => 'off' },
	{ 'latdiag.enabled' => 'off' },
	{ 'latdiag.snapshot_min_duration' => '1', 'latdiag.snapshot_sample_rate' => '0.5' },
	{ 'latdiag.large_table_rows' => '-1', 'latdiag.snapshot_format' => 'json' },
);
my @all_settings = sort keys %{ { map { %$_ } @variants } };

sub apply_variant
{
	my ($v) = @_;
	my $sql = '';
	for my $name (@all_settings)
	{
		$sql .= exists $v->{$name}
		  ? "ALTER SYSTEM SET $name = '$v->{$name}';\n"
		  : "ALTER SYSTEM RESET $name;\n";
	}
	$node->safe_psql('postgres', $sql . "SELECT pg_reload_conf();\n");
}

my $pid_before = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'");
# (a session outlives a crash only if the postmaster never reinitialized; its
# timeout must outlast the run)
my $watcher = $node->background_psql('postgres', timeout => $seconds + 600);
my $watcher_pid = $watcher->query_safe("SELECT pg_backend_pid()") =~ s/\s+//gr;
my $offset = -s $node->logfile;

my $connstr = $node->connstr('fuzz') . ' user=fuzzer';
my ($queries, $runs, $failed_runs, $hung_runs) = (0, 0, 0, 0);
my $next_seed = $seed0;
my $nvariant  = 0;
my @failures;
my @running;

# Start one sqlsmith run of $batch queries with the next seed.
sub start_run
{
	my %r = (seed => $next_seed++, out => '', err => '', started => time());
	$r{h} = IPC::Run::start(
		[
			$sqlsmith, "--target=$connstr", "--seed=$r{seed}",
			"--max-queries=$batch", '--verbose'
		],
		'<', \undef, '>', \$r{out}, '2>', \$r{err});
	return \%r;
}

my $t0 = time();
push @running, start_run() for 1 .. $streams;
while (@running)
{
	my @still;
	for my $r (@running)
	{
		if ($r->{h}->pumpable && time() - $r->{started} < 300)
		{
			$r->{h}->pump_nb;
			push @still, $r;
			next;
		}
		if ($r->{h}->pumpable)
		{
			$r->{h}->kill_kill;
			$hung_runs++;
		}
		my $ok = $r->{h}->finish;
		$runs++;
		# keep sqlsmith's report (error counts, progress) next to the server log
		append_to_file("$PostgreSQL::Test::Utils::log_path/014_fuzz_sqlsmith.log",
			"=== seed $r->{seed}\n$r->{err}\n");
		# sqlsmith prints "queries: N" every so often and at the end
		my @n = ($r->{err} =~ /^queries: (\d+)$/mg);
		$queries += $n[-1] // 0;
		if (!$ok || !@n)
		{
			$failed_runs++;
			push @failures, "seed $r->{seed}: exit $? " . substr($r->{err}, -500);
		}
		next if time() - $t0 >= $seconds;
		# a new batch: change the settings first (on one stream only)
		apply_variant($variants[ ++$nvariant % @variants ]) if $r->{seed} % $streams == 0;
		push @still, start_run();
	}
	@running = @still;
	select(undef, undef, undef, 0.1) if @running;
}
my $elapsed = time() - $t0;
apply_variant({});

diag(sprintf('sqlsmith: %d queries in %d runs (seeds %d..%d), %.0f s, %d setting changes',
	$queries, $runs, $seed0, $next_seed - 1, $elapsed, $nvariant));
cmp_ok($queries, '>', 0, "sqlsmith ran $queries queries");
is($failed_runs, 0, 'every sqlsmith run ended normally')
  or diag(join("\n", @failures));
is($hung_runs, 0, 'no sqlsmith run hung');

# No crash.  (pg_postmaster_start_time() does not change when the postmaster
# reinitializes after a crash: a new checkpointer and a broken session do.)
my $log = slurp_file($node->logfile, $offset);
sub no_line
{
	my ($re, $name) = @_;
	my @lines = grep { /$re/ } split /\n/, $log;
	ok(!@lines, $name) or diag(join("\n", @lines[ 0 .. ($#lines < 9 ? $#lines : 9) ]));
}
no_line(qr/terminated by signal/, 'no process terminated by a signal');
no_line(qr/\bPANIC:/, 'no PANIC');
no_line(qr/TRAP:/, 'no failed assertion');
no_line(qr/all server processes terminated; reinitializing/,
	'the postmaster never reinitialized');
is( $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"),
	$pid_before, 'same checkpointer process');
my $wret = eval { ($watcher->query('SELECT pg_backend_pid()'))[1] } // -1;
is($wret, 0, 'a session opened before the fuzzing still works');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $watcher_pid"),
	'1', 'and its backend is still the same process');
eval { $watcher->quit };

# Errors raised by latdiag itself: only the documented ones (bad arguments).
my %ours;
while ($log =~ /ERROR:\s+(\w{5}): ([^\n]*)\n(?:[^\n]*\n)*?[^\n]*LOCATION:\s+(\w+), (\w+\.c):\d+/g)
{
	my ($code, $msg, $func, $file) = ($1, $2, $3, $4);
	next unless $func =~ /^(latdiag_|store_|plans_|snapshots_|scans_|hist_|normalize)/;
	$ours{"$code $func: " . substr($msg, 0, 60)}++;
}
diag("errors raised by latdiag: " . join('; ', map { "$_ ($ours{$_})" } sort keys %ours))
  if %ours;
is(scalar(grep { !/^(42704|22004|55000|42501) / } keys %ours), 0,
	'latdiag raised no error other than its documented ones');
my $internal = () = $log =~ /ERROR:\s+XX000:/g;
diag("internal errors (XX000) in the log: $internal") if $internal;

# And the extension still works: every view reads, capture goes on.
my ($nerr, $errs) = latdiag_read_all($node, 'fuzz');
is($nerr, 0, 'every view and function reads after the fuzzing') or diag($errs);
$node->safe_psql('fuzz', 'SELECT count(*) AS fz_after FROM fz_big WHERE k = 3');
is( $node->safe_psql('fuzz',
		"SELECT calls FROM latdiag_queries WHERE query LIKE '%AS fz\\_after%' AND query NOT LIKE '%latdiag%'"),
	'1', 'capture works after the fuzzing');
is( $node->safe_psql('fuzz', q{
SELECT entries <= max_entries AND plans <= max_plans AND snapshots <= max_snapshots
       AND seq_scans <= max_seq_scans FROM latdiag_info}),
	't', 'every store within its bound');

$node->stop;
done_testing();
