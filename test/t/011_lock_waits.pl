# postgres_latdiag: lock waits.
#  - a 300 ms hold is recorded as at least 270 ms and at most what the
#    server saw + 30 ms (three times, each wait measured on its own);
#  - the sampler uses at most 1% of a core with 50 idle connections at the
#    default interval (utime + stime from /proc over LATDIAG_CPU_SECONDS,
#    default 20);
#  - after kill -9 of the sampler the postmaster restarts everything, the
#    sampler comes back and lock waits are recorded again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('locks');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
restart_after_crash = on
max_connections = 80
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE ldt_lw (id int PRIMARY KEY, v int);
INSERT INTO ldt_lw SELECT g, 0 FROM generate_series(1, 10) g;
});

sub sampler_pid
{
	return $node->safe_psql('postgres',
		"SELECT coalesce(max(pid), 0) FROM pg_stat_activity "
		  . "WHERE backend_type = 'postgres_latdiag sampler'");
}

# The holder takes the row lock, waits until the waiter is queued behind it,
# and commits $ms after the waiter's wait began (pg_locks.waitstart).  Returns
# what latdiag_lock_waits adds to the waiter's statement (waits and wait
# time) and how long after waitstart the waiter's UPDATE had finished, by the
# server's clock: the longest the wait can have lasted (a loaded machine only
# lengthens it).
sub one_wait
{
	my ($ms, $tag) = @_;
	my $holder = $node->background_psql('postgres');
	my $waiter = $node->background_psql('postgres');
	my $wpid = $waiter->query_safe('SELECT pg_backend_pid()');
	$wpid =~ s/\s+//g;
	my $stmt = "UPDATE ldt_lw SET v = v * 2 WHERE id = 1 AND '$tag' <> ''";
	my $sql_of = "SELECT coalesce(sum(waits), 0) || ' ' || coalesce(sum(total_wait_time), 0) "
	  . "FROM latdiag_lock_waits WHERE query LIKE 'UPDATE ldt\\_lw SET v = v * %'";
	my ($w0, $t0) = split / /, $node->safe_psql('postgres', $sql_of);

	$holder->query_safe('BEGIN; UPDATE ldt_lw SET v = v + 1 WHERE id = 1');
	$waiter->query_until(qr/sent/, "\\echo sent\n$stmt;\n");
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_locks WHERE pid = $wpid AND NOT granted AND waitstart IS NOT NULL")
	  or die "the waiter never queued";
	my $ws = $node->safe_psql('postgres',
		"SELECT waitstart FROM pg_locks WHERE pid = $wpid AND NOT granted");
	$holder->query_safe(
		"SELECT pg_sleep(greatest(0, $ms / 1000.0 - extract(epoch FROM clock_timestamp() - '$ws'::timestamptz)));
		 COMMIT");
	# the UPDATE has finished: its wait ended before now
	my $upper = $waiter->query_safe(
		"SELECT round(extract(epoch FROM clock_timestamp() - '$ws'::timestamptz) * 1000, 1)");
	$upper =~ s/\s+//g;
	$holder->quit;
	$waiter->quit;
	my ($w1, $t1) = split / /, $node->safe_psql('postgres', $sql_of);
	return ($w1 - $w0, $t1 - $t0, $upper);
}

# --- accuracy: a 300 ms hold is recorded as at least 300 ms - 30 ms and at
# most what the server saw + 30 ms (the sampler's granularity)
for my $i (1 .. 3)
{
	my ($waits, $ms, $upper) = one_wait(300, "round$i");
	is($waits, 1, "round $i: one wait recorded");
	cmp_ok($ms, '>=', 270,
		sprintf("round %d: a 300 ms hold is recorded as %.1f ms (>= 270)", $i, $ms));
	cmp_ok($ms, '<=', $upper + 30,
		sprintf("round %d: ... and at most the %.1f ms the server saw + 30", $i, $upper));
}

# --- sampler CPU with 50 idle connections
my $spid = sampler_pid();
cmp_ok($spid, '>', 0, "the sampler runs (pid $spid)");
my @idle = map { $node->background_psql('postgres') } 1 .. 50;
$_->query_safe('SELECT 1') for @idle;
is($node->safe_psql('postgres',
		"SELECT count(*) >= 50 FROM pg_stat_activity WHERE backend_type = 'client backend' AND state = 'idle'"),
	't', '50 idle connections');

sub cpu_ticks
{
	my ($pid) = @_;
	my $stat = slurp_file("/proc/$pid/stat");
	$stat =~ s/^.*\) //s;		# after the command name
	my @f = split / /, $stat;
	return $f[11] + $f[12];		# utime, stime (fields 14 and 15)
}
my $hz = `getconf CLK_TCK`;
chomp $hz;
$hz = 100 unless $hz && $hz =~ /^\d+$/;
my $seconds = $ENV{LATDIAG_CPU_SECONDS} || 20;
my $c0 = cpu_ticks($spid);
my $wall0 = time;
sleep $seconds;
my $c1 = cpu_ticks($spid);
my $wall = time - $wall0;
my $pct = 100.0 * ($c1 - $c0) / $hz / $wall;
diag(sprintf("sampler CPU: %d ticks of 1/%d s in %d s = %.3f%% of a core, 50 idle connections, interval %s",
	$c1 - $c0, $hz, $wall, $pct, $node->safe_psql('postgres', 'SHOW latdiag.lock_sample_interval')));
cmp_ok($pct, '<=', 1.0, sprintf('sampler CPU %.3f%% <= 1%% of a core', $pct));
$_->quit for @idle;

# --- kill -9 of the sampler: everything restarts, the sampler comes back
my $offset = -s $node->logfile;
kill 'KILL', $spid;
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'postgres_latdiag sampler' AND pid <> $spid"),
	'the sampler is back after kill -9');
like(slurp_file($node->logfile, $offset), qr/reinitializing/,
	'the postmaster reinitialized shared memory');
my ($waits, $ms, $upper) = one_wait(100, 'after_crash');
is($waits, 1, 'a lock wait is recorded after the restart');
cmp_ok($ms, '>=', 70, sprintf('and timed: %.1f ms for a 100 ms hold (>= 70)', $ms));
cmp_ok($ms, '<=', $upper + 30,
	sprintf('... and at most the %.1f ms the server saw + 30', $upper));
is($node->safe_psql('postgres', 'SELECT lock_waits > 0 FROM latdiag_info'),
	't', 'latdiag_info counts it');

$node->stop;
done_testing();
