# postgres_latdiag next to pg_stat_statements: for every SELECT/INSERT/UPDATE
# and utility statement that pg_stat_statements saw, latdiag has the same
# (userid, dbid, queryid, toplevel) with the same number of calls, at top level
# and nested (PL/pgSQL), for two users and two databases, with the libraries
# preloaded in either order (pg_stat_statements zeroes utility queryids for
# the hooks that run after its own).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_stat_statements,postgres_latdiag'
pg_stat_statements.track = all
latdiag.track = all
});
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE ldt_db2');
foreach my $db ('postgres', 'ldt_db2')
{
	$node->safe_psql($db,
		'CREATE EXTENSION pg_stat_statements; CREATE EXTENSION postgres_latdiag');
}
$node->safe_psql('postgres', 'CREATE ROLE ldt_user LOGIN');

my $setup = q{
CREATE TABLE ldt_w (id int PRIMARY KEY, v int, t text);
GRANT ALL ON ldt_w TO ldt_user;
CREATE FUNCTION ldt_f(n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  c int;
  s int := 0;
BEGIN
  FOR i IN 1..n LOOP
    SELECT count(*) INTO c FROM ldt_w WHERE v = i;
    s := s + c;
    UPDATE ldt_w SET t = 'f' WHERE id = i;
    PERFORM max(id) FROM ldt_w;
  END LOOP;
  INSERT INTO ldt_w VALUES (100000 + n, n, 'from f') ON CONFLICT (id) DO NOTHING;
  RETURN s;
END $$;
};
$node->safe_psql($_, $setup) foreach ('postgres', 'ldt_db2');

# Start counting from zero in both extensions.
$node->safe_psql('postgres',
	'SELECT pg_stat_statements_reset(); SELECT latdiag_reset();');

sub repeat
{
	my ($n, $fmt) = @_;
	return join('', map { (my $s = $fmt) =~ s/%d/$_/g; "$s;\n" } 1 .. $n);
}

my $workload =
    "INSERT INTO ldt_w SELECT g, g % 10, 'x' FROM generate_series(1, 1000) g;\n"
  . repeat(3, "INSERT INTO ldt_w VALUES (%d + 2000, 1, 'a')")
  . repeat(5, 'SELECT count(*) FROM ldt_w WHERE v = %d')
  . repeat(7, 'SELECT * FROM ldt_w WHERE id = %d')
  . repeat(4, "UPDATE ldt_w SET t = 'y' WHERE id = %d")
  . repeat(2, 'SELECT v, count(*) FROM ldt_w GROUP BY v ORDER BY v')
  . repeat(2, 'SELECT ldt_f(%d)')
  . "SELECT ldt_f(5);\n"
  . "PREPARE ldt_p(int) AS SELECT t FROM ldt_w WHERE id = \$1;\n"
  . repeat(3, 'EXECUTE ldt_p(%d)')
  . "WITH x AS (SELECT id FROM ldt_w WHERE v = 2 LIMIT 5) UPDATE ldt_w SET v = v FROM x WHERE ldt_w.id = x.id;\n";

$workload .= "BEGIN;\nSELECT 1 AS in_tx;\nCOMMIT;\nBEGIN;\nCOMMIT;\nVACUUM ldt_w;\n";

foreach my $order ('pg_stat_statements,postgres_latdiag',
	'postgres_latdiag,pg_stat_statements')
{
	$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "'$order'");
	$node->restart;
	$node->safe_psql($_, 'TRUNCATE ldt_w') foreach ('postgres', 'ldt_db2');
	$node->safe_psql('postgres',
		'SELECT pg_stat_statements_reset(); SELECT latdiag_reset();');
	compare_with_pgss($order);
}

sub compare_with_pgss
{
my ($order) = @_;
$node->safe_psql('postgres', $workload);
$node->safe_psql('ldt_db2',  $workload);
# A different user, with fewer repetitions of some shapes.
$node->safe_psql(
	'postgres',
	repeat(2, 'SELECT * FROM ldt_w WHERE id = %d')
	  . repeat(6, 'SELECT count(*) FROM ldt_w WHERE v = %d')
	  . "SELECT ldt_f(2);\n",
	extra_params => [ '-U', 'ldt_user' ]);

# Compare, reading both views in one statement.  Utility statements and the
# reads of the statistics views themselves are left out.
my $cmp = $node->safe_psql(
	'postgres', q{
SELECT s.userid, s.dbid, s.toplevel, s.queryid, s.calls,
       coalesce(l.calls::text, 'missing'),
       regexp_replace(s.query, '\s+', ' ', 'g')
  FROM pg_stat_statements s
  LEFT JOIN latdiag_queries l
         ON l.userid = s.userid AND l.dbid = s.dbid
        AND l.queryid = s.queryid AND l.toplevel = s.toplevel
 WHERE s.calls > 0
   AND (s.query ~* '^\s*(prepare\s.*\sas\s+)?(with\s.*\s)?(select|insert|update)\s'
        OR s.query ~* '^(begin|commit|vacuum)')
   AND s.query !~* '(pg_stat_statements|latdiag)'
 ORDER BY s.dbid, s.userid, s.queryid, s.toplevel
});

my @rows = map { [ split /\|/, $_, 7 ] } split /\n/, $cmp;
my ($nested, $other_user, $other_db, $utility) = (0, 0, 0, 0);
my $su_oid = $node->safe_psql('postgres',
	"SELECT oid FROM pg_roles WHERE rolname = current_user");
my $pg_oid = $node->safe_psql('postgres',
	"SELECT oid FROM pg_database WHERE datname = 'postgres'");
foreach my $r (@rows)
{
	my ($userid, $dbid, $toplevel, $queryid, $pcalls, $lcalls, $query) = @$r;
	$utility++ if $query =~ /^(BEGIN|COMMIT|VACUUM)/;
	is($lcalls, $pcalls,
		"[$order] calls for queryid $queryid (user $userid, db $dbid, toplevel $toplevel): $query");
	$nested++     if $toplevel eq 'f';
	$other_user++ if $userid ne $su_oid;
	$other_db++   if $dbid ne $pg_oid;
}
cmp_ok(scalar(@rows), '>=', 5, "[$order] compared at least 5 queryids (" . scalar(@rows) . ')');
cmp_ok($nested,     '>=', 3, "nested statements compared ($nested)");
cmp_ok($other_user, '>=', 2, "second user's statements compared ($other_user)");
cmp_ok($other_db,   '>=', 5, "second database's statements compared ($other_db)");
cmp_ok($utility,    '>=', 4, "[$order] utility statements compared ($utility)");

# Spot checks against numbers we know independently of pg_stat_statements.
is( $node->safe_psql(
		'postgres',
		"SELECT calls FROM latdiag_queries WHERE query = 'SELECT * FROM ldt_w WHERE id = \$1' "
		  . "AND userid = $su_oid AND dbid = $pg_oid AND toplevel"),
	'7',
	'SELECT * FROM ldt_w WHERE id = $1: 7 calls');
# ldt_f ran 1 + 2 + 5 = 8 loop iterations in postgres as the superuser.
is( $node->safe_psql(
		'postgres',
		"SELECT sum(calls) FROM latdiag_queries WHERE query ~ '^UPDATE ldt_w SET t = \\S+ WHERE id = i\$' "
		  . "AND userid = $su_oid AND dbid = $pg_oid AND NOT toplevel"),
	'8',
	'nested UPDATE inside ldt_f: 8 calls');
}

$node->stop;
done_testing();
