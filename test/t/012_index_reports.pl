# Index reports on a schedule: the "postgres_latdiag reports" worker records
# a report every latdiag.report_interval in latdiag.report_database, stops
# when the interval is set back to 0, and a hot standby refuses to record one
# while it can still read the advice and the report.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;

my $node = PostgreSQL::Test::Cluster->new('reports');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.snapshot_sample_rate = 0
latdiag.report_database = 'postgres'
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE accounts (id int PRIMARY KEY, owner_id int, pad text);
INSERT INTO accounts SELECT g, g % 10000, repeat('x', 80) FROM generate_series(1, 100000) g;
VACUUM ANALYZE accounts;
SELECT latdiag_reset();
});
$node->safe_psql('postgres', 'SELECT count(*) FROM accounts WHERE owner_id = 7');

# off by default: no report, no connection
sleep(1);
is($node->safe_psql('postgres', 'SELECT count(*) FROM latdiag_index_report_history'),
	'0', 'no report while latdiag.report_interval is 0');

$node->safe_psql('postgres', q{ALTER SYSTEM SET latdiag.report_interval = '1s'});
$node->reload;
ok( $node->poll_query_until('postgres',
		'SELECT count(*) >= 2 FROM latdiag_index_report_history'),
	'the worker records reports every interval');
is( $node->safe_psql('postgres',
		q{SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'postgres_latdiag reports'}),
	't', 'the worker shows in pg_stat_activity');

my $json = $node->safe_psql('postgres',
	'SELECT report FROM latdiag_index_report_history ORDER BY id DESC LIMIT 1');
my $report = decode_json($json);
is($report->{database}, 'postgres', 'the report names its database');
is($report->{candidates}[0]{index_def},
	'CREATE INDEX CONCURRENTLY ON public.accounts (owner_id)',
	'the recorded report suggests the missing index');

# every format parses or reads as expected
my $formatted = decode_json($node->safe_psql('postgres', q{SELECT latdiag_index_report('json')}));
is(ref($formatted->{candidates}), 'ARRAY', 'the json format parses with a JSON parser');
like($node->safe_psql('postgres', q{SELECT latdiag_index_report('markdown')}),
	qr/^# Index report: .*^## Missing indexes/ms, 'markdown has its headings');

# back to 0: the worker stops recording
$node->safe_psql('postgres', q{ALTER SYSTEM SET latdiag.report_interval = 0});
$node->reload;
sleep(2);
my $count = $node->safe_psql('postgres', 'SELECT count(*) FROM latdiag_index_report_history');
sleep(3);
is($node->safe_psql('postgres', 'SELECT count(*) FROM latdiag_index_report_history'),
	$count, 'no more reports once the interval is 0');

# a hot standby reads, but refuses to record; it is made with pg_basebackup
# of the server's own version (the npm runtime of 17 has none, and Debian's
# 15 one refuses a newer server)
my ($pg_major) = `pg_config --version` =~ /(\d+)/;
my ($bb_major) = (`pg_basebackup --version 2>/dev/null` // '') =~ /(\d+)/;
SKIP:
{
	skip "no pg_basebackup of PostgreSQL $pg_major"
	  . (defined $bb_major ? " (only ${bb_major}'s)" : '') . ' to make the standby', 4
	  unless defined $bb_major && $bb_major == $pg_major;
	$node->backup('b');
	my $standby = PostgreSQL::Test::Cluster->new('reports_standby');
	$standby->init_from_backup($node, 'b', has_streaming => 1);
	$standby->start;
	$node->wait_for_catchup($standby, 'replay', $node->lsn('insert'));
	$standby->safe_psql('postgres', 'SELECT count(*) FROM accounts WHERE owner_id = 8');
	is( $standby->safe_psql('postgres',
			q{SELECT count(*) FROM latdiag_index_candidates WHERE columns = '{owner_id}'}),
		'1', 'the standby finds the candidate from its own workload');
	ok(decode_json($standby->safe_psql('postgres', q{SELECT latdiag_index_report('json')})),
		'the standby writes a report');
	my ($rc, $out, $err) = $standby->psql('postgres', 'SELECT latdiag_record_index_report()');
	isnt($rc, 0, 'recording fails on the standby');
	like($err, qr/cannot record an index report on a hot standby/, 'with a clear message');

	$standby->stop;
}
$node->stop;
done_testing();
