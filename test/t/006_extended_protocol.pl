# Extended query protocol (pgbench -M extended / prepared) is captured like
# the simple protocol: one call per execution, parameters shown as $n, and a
# statement prepared once and executed many times counts every execution.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('ext');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'postgres_latdiag'\n");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE ext_t (id int PRIMARY KEY, v int);
INSERT INTO ext_t SELECT g, g FROM generate_series(1, 1000) g;
});

foreach my $mode ('simple', 'extended', 'prepared')
{
	$node->safe_psql('postgres', 'SELECT latdiag_reset()');
	$node->pgbench(
		"-n -M $mode -c 2 -t 50",
		0,
		[qr{processed: 100/100}],
		[qr{^$}],
		"pgbench -M $mode",
		{
			"ext_$mode" => q{
\set k random(1, 1000)
SELECT v FROM ext_t WHERE id = :k;
UPDATE ext_t SET v = v WHERE id = :k;
}
		});
	my $res = $node->safe_psql('postgres', q{
SELECT query, calls, rows FROM latdiag_queries
 WHERE query LIKE '%ext_t%' AND toplevel ORDER BY query COLLATE "C"});
	is( $res,
		"SELECT v FROM ext_t WHERE id = \$1|100|100\n"
		  . "UPDATE ext_t SET v = v WHERE id = \$1|100|100",
		"-M $mode: 100 calls of each statement, parameters as \$n");
}

$node->stop;
done_testing();
