# latdiag.checkpoint_interval: the sampler worker writes the saved statistics
# while the server runs, so a crash loses only what changed since the last
# checkpoint, instead of everything (as with pg_stat_statements).  With the
# interval at 0, a crash loses everything since the start.
use strict;
use warnings;
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('ckpt');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.checkpoint_interval = 1s
latdiag.snapshot_min_duration = 0
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE ck (id int PRIMARY KEY, v text);
INSERT INTO ck SELECT g, 'v' || g FROM generate_series(1, 100) g;
});
my $file = $node->data_dir . '/pg_stat/latdiag.stat';
my $plans_file = $node->data_dir . '/pg_stat/latdiag_plans.stat';

# Wait until a checkpoint newer than $since has been written.
sub wait_checkpoint
{
	my ($since) = @_;
	for (1 .. 300)
	{
		my $m1 = (stat($file))[9];
		my $m2 = (stat($plans_file))[9];
		return 1 if defined $m1 && defined $m2 && $m1 > $since && $m2 > $since;
		usleep(100_000);
	}
	return 0;
}

# Kill a backend with SIGKILL: the postmaster reinitializes shared memory.
sub crash
{
	my $bg = $node->background_psql('postgres');
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	$pid =~ s/\s+//g;
	my $offset = -s $node->logfile;
	kill 'KILL', $pid;
	$bg->quit;
	$node->poll_query_until('postgres', 'SELECT 1', '1')
	  or die 'server did not come back after the crash';
	return slurp_file($node->logfile, $offset);
}

$node->safe_psql('postgres', 'SELECT v AS ck_before_1 FROM ck WHERE id = 1');
$node->safe_psql('postgres', 'SELECT v AS ck_before_1 FROM ck WHERE id = 2');
my $t0 = time;
sleep 1;    # file times have one-second resolution
ok(wait_checkpoint($t0), 'a checkpoint is written while the server runs');

my $log = crash();
like($log, qr/reinitializing/, 'the postmaster reinitialized shared memory');
like($log, qr/loaded \d+ saved entries from "pg_stat\/latdiag\.stat"/,
	'the last checkpoint is loaded after the crash');
is($node->safe_psql('postgres',
	"SELECT calls FROM latdiag_queries WHERE query LIKE '%ck_before_1%' AND query NOT LIKE '%latdiag%'"),
	'2', 'statements captured before the checkpoint survive the crash');
ok($node->safe_psql('postgres',
	"SELECT count(*) > 0 FROM latdiag_plans p JOIN latdiag_queries q USING (userid, dbid, queryid) WHERE q.query LIKE '%ck_before_1%'") eq 't',
	'plans survive the crash too');

# With checkpoints off, a crash loses what was captured since the start.
$node->append_conf('postgresql.conf', "latdiag.checkpoint_interval = 0\n");
$node->reload;
sleep 2;    # the worker reads the new setting; a checkpoint in flight ends
unlink $file, $plans_file;
$node->safe_psql('postgres', 'SELECT v AS ck_before_2 FROM ck WHERE id = 3');
sleep 2;
ok(!-e $file, 'no checkpoint is written with latdiag.checkpoint_interval = 0');
crash();
is($node->safe_psql('postgres',
	"SELECT count(*) FROM latdiag_queries WHERE query LIKE '%ck_before_%' AND query NOT LIKE '%latdiag%'"),
	'0', 'without checkpoints, a crash loses the statistics');

# A clean restart still saves and loads everything.
$node->safe_psql('postgres', 'SELECT v AS ck_clean FROM ck WHERE id = 4');
$node->restart;
is($node->safe_psql('postgres',
	"SELECT calls FROM latdiag_queries WHERE query LIKE '%ck_clean%' AND query NOT LIKE '%latdiag%'"),
	'1', 'a clean restart keeps the statistics');

$node->stop;
done_testing();
