# postgres_latdiag: who sends each statement (latdiag_query_sources).
#  - bounded memory: 10,000 distinct sources (sqlcommenter routes and
#    application names) churn through a table of latdiag.max_sources = 200
#    from two clients while a third reads the view; entries stay within the
#    bound, evictions are counted, shared memory does not change, the server
#    answers;
#  - the sources survive a clean restart;
#  - the CLI shows the sources of each top statement (text, JSON, HTML), and
#    still reports a server whose extension predates the view.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LatdiagViews;

my $max = 200;
my $nsources = 10000;

my $node = PostgreSQL::Test::Cluster->new('sources');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'postgres_latdiag'
latdiag.max_sources = $max
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE src (id int PRIMARY KEY, v int);
INSERT INTO src SELECT g, g FROM generate_series(1, 100) g;
SELECT latdiag_reset();
});
is($node->safe_psql('postgres', 'SELECT max_sources, sources <= max_sources FROM latdiag_info'),
	"$max|t", 'latdiag_info shows the bound');
my $shmem_before = latdiag_shmem($node);

# ------------------------------------------------------------- churn
# Two clients, 5,000 sources each: a route per statement, and a new
# application_name every 100 statements.
my @clients;
my $tmp = PostgreSQL::Test::Utils::tempdir;
for my $c (0 .. 1)
{
	my $script = '';
	for my $i (0 .. $nsources / 2 - 1)
	{
		my $n = $c * $nsources / 2 + $i;
		$script .= "SET application_name = 'app_${c}_$n';\n" if $i % 100 == 0;
		$script .= "SELECT v FROM src WHERE id = " . ($n % 100 + 1)
		  . " /*service='svc$c',route='%2Fitems%2F$n'*/;\n";
	}
	open(my $fh, '>', "$tmp/churn$c.sql") or die;
	print $fh $script;
	close($fh);
	push @clients,
	  IPC::Run::start(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-o', '/dev/null',
		  '-f', "$tmp/churn$c.sql", '-d', $node->connstr('postgres') ],
		'<', \undef, '>', "$tmp/churn$c.out", '2>', "$tmp/churn$c.err");
}
# a reader meanwhile: the view never shows more entries than the bound
my $over = 0;
my $reads = 0;
for (1 .. 15)
{
	my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM latdiag_query_sources');
	$over++ if $n > $max;
	$reads++;
	select(undef, undef, undef, 0.2);
}
my $failed = 0;
for my $c (0 .. 1)
{
	$clients[$c]->finish;
	$failed++ if $clients[$c]->result != 0;
	my $err = slurp_file("$tmp/churn$c.err");
	diag($err) if $err ne '';
}
is($failed, 0, 'both clients ran their 5,000 statements without an error');
is($over, 0, "the view never held more entries than latdiag.max_sources ($reads reads)");

my ($entries, $evictions) = split /\|/,
  $node->safe_psql('postgres', 'SELECT sources, source_evictions FROM latdiag_info');
ok($entries > 0 && $entries <= $max, "entries within the bound ($entries <= $max)");
cmp_ok($evictions, '>=', $nsources - $max, "evictions counted ($evictions)");
# The clients' backends may still be flushing their last batches after psql
# has exited: wait for them, then count both ways in one read of the view
# (a read between two counts could evict entries).
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name LIKE 'app\_%'})
  or diag('the clients\' backends did not exit');
my ($complete, $tagged) = split /\|/, $node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE service LIKE 'svc_' AND route LIKE '/items/%'),
       count(*) FILTER (WHERE service IS NOT NULL)
  FROM latdiag_query_sources});
is($complete, $tagged, "every kept tagged entry is complete ($complete of $tagged)");
is(latdiag_shmem($node), $shmem_before, 'shared memory did not change');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server answers');

# --------------------------------------------------------- restart
my $kept = $node->safe_psql('postgres',
	"SELECT count(*) FROM latdiag_query_sources WHERE service IS NOT NULL");
$node->restart;
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM latdiag_query_sources WHERE service IS NOT NULL"),
	$kept, 'the sources survive a clean restart');

# -------------------------------------------------------------- CLI
my $bindir = `pg_config --bindir`;
chomp $bindir;
my $latdiag = "$bindir/latdiag";

sub cli
{
	my @args = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $latdiag, @args ], '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

$node->safe_psql('postgres', 'SELECT latdiag_reset()');
$node->safe_psql('postgres',
	"SET application_name = 'checkout-api';\n"
	  . join('', map { "SELECT pg_sleep(0.01) /*service='cart',route='%2Fcheckout'*/;\n" } 1 .. 3)
	  . "SET application_name = 'batch-job';\n"
	  . "SELECT pg_sleep(0.01);\n");
my $dsn = $node->connstr('postgres');
my ($rc, $out, $err) = cli('report', '--dsn', $dsn, '--wide');
is($rc, 0, 'text: exit 0') or diag($err);
like($out, qr/== Sources of the top queries: who sends them ==/, 'text: the sources section');
like($out, qr/checkout-api.*cart.*\/checkout/, 'text: the tagged source');
like($out, qr/batch-job/, 'text: the untagged source');

($rc, $out, $err) = cli('report', '--dsn', $dsn, '--format', 'json');
is($rc, 0, 'json: exit 0') or diag($err);
my $j = eval { decode_json($out) } || {};
is($j->{format_version}, 1, 'json: format_version stays 1 (a key was added)');
my ($sleep) = grep { ($_->{query} // '') =~ /^SELECT pg_sleep\(\$1\)/ } @{ $j->{sections}{top_total}{rows} || [] };
ok($sleep, 'json: the statement is a top query');
my @rows = grep { $_->{queryid} eq ($sleep->{queryid} // '') } @{ $j->{sections}{sources}{rows} || [] };
is(scalar @rows, 2, 'json: two sources of the top statement');
my ($tagged) = grep { ($_->{service} // '') eq 'cart' } @rows;
ok( $tagged
	  && $tagged->{application_name} eq 'checkout-api'
	  && $tagged->{route} eq '/checkout'
	  && $tagged->{calls} == 3,
	'json: the tagged source, with its calls');
my ($untagged) = grep { $_->{application_name} eq 'batch-job' } @rows;
ok($untagged && !defined $untagged->{service} && $untagged->{calls} == 1,
	'json: the untagged source has null tags');

($rc, $out, $err) = cli('report', '--dsn', $dsn, '--format', 'html');
is($rc, 0, 'html: exit 0') or diag($err);
like($out, qr/<section id="sources">/, 'html: the sources section');
like($out, qr/checkout-api/, 'html: the source is shown');

# a server whose extension predates latdiag_query_sources
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', "CREATE EXTENSION postgres_latdiag VERSION '1.4'");
($rc, $out, $err) = cli('report', '--dsn', $node->connstr('old'), '--format', 'json');
is($rc, 0, 'older extension: exit 0') or diag($err);
$j = eval { decode_json($out) } || {};
is($j->{servers}[0]{status}, 'ok', 'older extension: the server is read');
is($j->{servers}[0]{sections}{sources}{status}, 'not_available',
	'older extension: the sources section is not available');
is($j->{servers}[0]{sections}{top_total}{status}, 'ok', 'older extension: other sections read');
($rc, $out, $err) = cli('report', '--dsn', $node->connstr('old'));
is($rc, 0, 'older extension, text: exit 0') or diag($err);
like($out, qr/not available \(postgres_latdiag version 1\.4 has no latdiag_query_sources\)/,
	'older extension, text: says why');

$node->stop;
done_testing();
