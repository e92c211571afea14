# postgres_latdiag without shared_preload_libraries: the extension can be
# created, but reading its views fails with a clear error, and nothing crashes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'', 'library is not preloaded');

my ($ret, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION postgres_latdiag');
is($ret, 0, 'CREATE EXTENSION succeeds without preloading') or diag($err);

foreach my $view ('latdiag_queries', 'latdiag_info')
{
	($ret, $out, $err) = $node->psql('postgres', "SELECT * FROM $view");
	isnt($ret, 0, "SELECT * FROM $view fails");
	like($err, qr/ERROR:.*shared_preload_libraries/,
		"$view: error mentions shared_preload_libraries");
}

# The library is loaded into this backend now; a second attempt in the same
# session fails the same way, and the server is still fine.
($ret, $out, $err) = $node->psql('postgres',
	"SELECT 1;\nSELECT count(*) FROM latdiag_queries;\nSELECT count(*) FROM latdiag_queries;",
	on_error_stop => 0);
my @errs = ($err =~ /ERROR:[^\n]*shared_preload_libraries/g);
is(scalar(@errs), 2, 'both reads in one session fail with the same error');

is($node->safe_psql('postgres', 'SELECT 42'), '42', 'server still answers');
unlike(slurp_file($node->logfile), qr/(PANIC|TRAP:|terminated by signal)/,
	'no crash in the log');

$node->stop;
done_testing();
