# postgres_latdiag on a hot standby.  The library loads on a streaming
# replica, captures the read-only statements run there (with plans,
# snapshots and seq scans), and every view and function reads there.  Each
# server has its own statistics (time windows and baselines too): nothing is
# replicated, and latdiag_reset()
# on the standby works and clears the standby's stores only (it writes no
# WAL).  A clean restart of the standby keeps its statistics; after a
# promotion capture goes on.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LatdiagViews;

# The standby is made with pg_basebackup of the server's own version (the npm
# runtime of 17 has none, and Debian's 15 one refuses a newer server).
my ($pg_major) = `pg_config --version` =~ /(\d+)/;
my ($bb_major) = (`pg_basebackup --version 2>/dev/null` // '') =~ /(\d+)/;
plan skip_all => "no pg_basebackup of PostgreSQL $pg_major"
  . (defined $bb_major ? " (only ${bb_major}'s)" : '') . ' to make the standby'
  unless defined $bb_major && $bb_major == $pg_major;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.track = all
latdiag.snapshot_min_duration = 0
latdiag.snapshot_sample_rate = 1
latdiag.large_table_rows = 100
max_parallel_workers_per_gather = 0
latdiag.window_interval = 10s
});
$primary->start;
$primary->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE s (id int PRIMARY KEY, v int);
INSERT INTO s SELECT g, g % 50 FROM generate_series(1, 2000) g;
ANALYZE s;
});
$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->start;
$primary->safe_psql('postgres', 'SELECT v AS ldt_on_primary FROM s WHERE id = 1');
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
is($standby->safe_psql('postgres', "SHOW shared_preload_libraries"), 'postgres_latdiag',
	'the library is preloaded on the standby');

sub calls_of
{
	my ($node, $pattern) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(sum(calls), 0) FROM latdiag_queries WHERE query LIKE '$pattern' AND query NOT LIKE '%latdiag%'");
}

# Statements run on the standby are captured there.
$standby->safe_psql('postgres', q{
SELECT v AS ldt_on_standby FROM s WHERE id = 1;
SELECT v AS ldt_on_standby FROM s WHERE id = 2;
SELECT count(*) AS ldt_scan FROM s WHERE v = 7;
});
is(calls_of($standby, '%ldt\_on\_standby%'), '2', 'the standby counts its statements');
is(calls_of($standby, '%ldt\_on\_primary%'), '0', "the primary's statements are not on the standby");
is(calls_of($primary, '%ldt\_on\_standby%'), '0', "the standby's statements are not on the primary");
is( $standby->safe_psql('postgres', q{
SELECT (SELECT count(*) FROM latdiag_plans p JOIN latdiag_queries q USING (userid, dbid, queryid)
         WHERE q.query LIKE '%ldt\_scan%') > 0,
       (SELECT count(*) FROM latdiag_explain_snapshots WHERE query LIKE '%ldt\_scan%') > 0,
       (SELECT count(*) FROM latdiag_seq_scans WHERE query LIKE '%ldt\_scan%' AND relname = 'public.s') > 0}),
	't|t|t', 'plans, snapshots and seq scans are captured on the standby');
my ($nerr, $errs) = latdiag_read_all($standby);
is($nerr, 0, 'every view and function reads on the standby') or diag($errs);

# Windows: the standby closes its own, from its own statements, and can keep
# a baseline (nothing is written to WAL).
ok( $standby->poll_query_until('postgres',
		q{SELECT count(*) > 0 FROM latdiag_query_windows WHERE query LIKE '%ldt\_on\_standby%'}),
	'the standby closes its own windows');
is( $primary->safe_psql('postgres',
		q{SELECT count(*) FROM latdiag_query_windows WHERE query LIKE '%ldt\_on\_standby%'}),
	'0', "the standby's windows are not on the primary");
is($standby->safe_psql('postgres', q{SELECT latdiag_baseline_save('on the standby') > 0}),
	't', 'a baseline is saved on the standby');

# Reset on the standby: allowed, clears the standby only.
$standby->safe_psql('postgres', 'SELECT latdiag_reset()');
is(calls_of($standby, '%ldt\_on\_standby%'), '0', 'latdiag_reset() works on the standby');
is(calls_of($primary, '%ldt\_on\_primary%'), '1', "the primary's statistics are untouched");
$standby->safe_psql('postgres',
	'SELECT v AS ldt_after_reset FROM s WHERE id = 3; SELECT latdiag_reset(0, 0, 0)');
is(calls_of($standby, '%ldt\_after\_reset%'), '0', 'latdiag_reset(0, 0, 0) works on the standby');

# A clean restart of the standby keeps its statistics.
$standby->safe_psql('postgres', 'SELECT v AS ldt_kept FROM s WHERE id = 4');
my $before = latdiag_dump($standby);
$standby->restart;
is(latdiag_dump($standby), $before, 'a clean restart of the standby keeps every view');
is(calls_of($standby, '%ldt\_kept%'), '1', "the standby's statements are still there");

# After a promotion, capture goes on, writes included.
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
$standby->safe_psql('postgres', 'UPDATE s SET v = v WHERE id = 5');
is(calls_of($standby, 'UPDATE s SET v = v WHERE id = %'), '1', 'capture goes on after a promotion');

my $log = slurp_file($standby->logfile);
unlike($log, qr/PANIC|TRAP:|terminated by signal/, 'no crash on the standby');

$standby->stop;
$primary->stop;
done_testing();
