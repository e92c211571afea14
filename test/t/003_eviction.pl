# postgres_latdiag: with latdiag.max_queries = 100, 1000 distinct statement
# shapes evict entries instead of failing; the store stays within its bound
# and keeps capturing new statements.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'postgres_latdiag'\nlatdiag.max_queries = 100\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION postgres_latdiag');

is($node->safe_psql('postgres', 'SHOW latdiag.max_queries'),
	'100', 'latdiag.max_queries = 100');
is($node->safe_psql('postgres', 'SELECT max_entries FROM latdiag_info'),
	'100', 'latdiag_info.max_entries = 100');

# Distinct shapes: the queryid ignores constants and column aliases, so use
# every non-empty subset of 10 columns (1023 of them; the first 1000 are used).
$node->safe_psql('postgres',
	'CREATE TABLE ldt_evict (' . join(', ', map { "c$_ int" } 0 .. 9) . ')');
$node->safe_psql('postgres',
	'INSERT INTO ldt_evict VALUES (' . join(', ', 0 .. 9) . ')');

my @queries;
for my $mask (1 .. 1000)
{
	my @cols = grep { $mask & (1 << $_) } 0 .. 9;
	push @queries, 'SELECT ' . join(', ', map { "c$_" } @cols) . ' FROM ldt_evict';
}
my %uniq = map { $_ => 1 } @queries;
is(scalar(keys %uniq), 1000, '1000 distinct statement shapes');

my $offset = -s $node->logfile;
for (my $i = 0; $i < @queries; $i += 100)
{
	my @batch = @queries[ $i .. $i + 99 ];
	$node->safe_psql('postgres', join(";\n", @batch) . ";\n");
}

my ($entries, $max_entries, $evictions) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT entries, max_entries, evictions FROM latdiag_info');
cmp_ok($evictions, '>', 0, "evictions > 0 ($evictions)");
cmp_ok($entries, '<=', 100, "entries <= 100 ($entries)");
cmp_ok($entries, '>', 0, 'store is not empty');
my $visible = $node->safe_psql('postgres', 'SELECT count(*) FROM latdiag_queries');
cmp_ok($visible, '<=', 100, "latdiag_queries has <= 100 rows ($visible)");

# A brand new shape is captured with calls = 1.
$node->safe_psql('postgres',
	'SELECT c0 + c1 AS ldt_fresh, c2 * c3 FROM ldt_evict WHERE c9 > 0');
is( $node->safe_psql('postgres',
		"SELECT sum(calls) FROM latdiag_queries WHERE query LIKE '%ldt\\_fresh%' "
		  . "AND query NOT LIKE '%latdiag%'"),
	'1',
	'a new statement is captured with calls = 1 after evictions');

($entries) = split /\|/,
  $node->safe_psql('postgres', 'SELECT entries FROM latdiag_info');
cmp_ok($entries, '<=', 100, "still entries <= 100 ($entries)");

my $log = slurp_file($node->logfile, $offset);
unlike($log, qr/ERROR:[^\n]*latdiag/i, 'no ERROR from latdiag in the log');
unlike($log, qr/^[^\n]*(ERROR|PANIC|TRAP):/m, 'no ERROR at all in the log');
unlike($log, qr/terminated by signal/, 'no backend crashed');

$node->stop;
done_testing();
