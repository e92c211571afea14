# pg_upgrade from PostgreSQL 15 with postgres_latdiag 1.2 to this server's
# version: the extension is still there at 1.2 and reads and captures through
# the new library, ALTER EXTENSION ... UPDATE walks it to the default version
# of the control file, and capture goes on.
#
# Runs when LATDIAG_OLD_PG_CONFIG is the pg_config of a PostgreSQL 15 with
# postgres_latdiag installed (test/run_tests.sh sets it for the 18 run, after
# the 15 run installed it there), and this server's version has pg_upgrade.
use strict;
use warnings;
use Cwd;
use File::Basename;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LatdiagViews;

my $old_pg_config = $ENV{LATDIAG_OLD_PG_CONFIG} // '';
plan skip_all => 'LATDIAG_OLD_PG_CONFIG is not set (test/run_tests.sh sets it to '
  . "15's pg_config when 15 ran before)"
  unless $old_pg_config ne '';
plan skip_all => "LATDIAG_OLD_PG_CONFIG=$old_pg_config is not executable"
  unless -x $old_pg_config;

sub pg_config_of
{
	my ($pg_config, $option) = @_;
	my $out = `"$pg_config" --$option`;
	chomp $out;
	return $out;
}
my ($old_major) = pg_config_of($old_pg_config, 'version') =~ /^PostgreSQL (\d+)/;
my ($new_major) = pg_config_of('pg_config', 'version') =~ /^PostgreSQL (\d+)/;
plan skip_all => "LATDIAG_OLD_PG_CONFIG is not PostgreSQL 15's pg_config ($old_pg_config)"
  unless defined $old_major && $old_major == 15;
plan skip_all => "this server is PostgreSQL $new_major: pg_upgrade needs a newer major than 15"
  unless defined $new_major && $new_major > $old_major;

my $old_bindir = pg_config_of($old_pg_config, 'bindir');
my $new_bindir = pg_config_of('pg_config', 'bindir');
plan skip_all => "no pg_upgrade of PostgreSQL $new_major in $new_bindir"
  unless -x "$new_bindir/pg_upgrade";
my $old_lib = pg_config_of($old_pg_config, 'pkglibdir') . '/postgres_latdiag.so';
my $old_control =
  pg_config_of($old_pg_config, 'sharedir') . '/extension/postgres_latdiag.control';
plan skip_all => "postgres_latdiag is not installed in PostgreSQL 15 ($old_lib)"
  unless -e $old_lib && -e $old_control;

# The default version the update should reach: the new control file's.
my $control = pg_config_of('pg_config', 'sharedir') . '/extension/postgres_latdiag.control';
my ($default_version) = slurp_file($control) =~ /^\s*default_version\s*=\s*'([^']+)'/m;
ok(defined $default_version, "the control file names a default version ($control)");

# Cluster.pm runs $install_path/bin/initdb, pg_ctl, psql... and pg_config
# --version; for Debian's layout that is /usr/lib/postgresql/15.
my $old = PostgreSQL::Test::Cluster->new('old', install_path => dirname($old_bindir));
my $new = PostgreSQL::Test::Cluster->new('new');
# Checksums on both sides (18's initdb turns them on by default, 15's not):
# pg_upgrade wants the same.
for my $node ($old, $new)
{
	$node->init(extra => ['--data-checksums']);
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'postgres_latdiag'\n");
}

# ------------------------------------------------------------- the old server
$old->start;
like($old->safe_psql('postgres', 'SELECT version()'),
	qr/^PostgreSQL 15\./, 'the old server is PostgreSQL 15');
$old->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag VERSION '1.2';
CREATE TABLE up (id int PRIMARY KEY, v int);
INSERT INTO up SELECT g, g % 10 FROM generate_series(1, 1000) g;
ANALYZE up;
});
# (Each marker on a statement of its own shape: aliases are not part of the
# queryid, so the text of the first statement of a shape is the one kept.)
$old->safe_psql('postgres', 'SELECT count(*) AS ldt_before FROM up WHERE v = ' . $_) for 1 .. 3;
is( $old->safe_psql('postgres',
		q{SELECT extversion FROM pg_extension WHERE extname = 'postgres_latdiag'}),
	'1.2', 'the old server has postgres_latdiag 1.2');
is( $old->safe_psql('postgres',
		q{SELECT sum(calls) FROM latdiag_queries WHERE query LIKE '%ldt\_before%'}),
	'3', 'the old server captures statements');

# Debian's 15.20 stores a column option pg_attver on every column (catalogs,
# tables, views), which pg_dump carries over and which 18.6 rejects: there
# pg_upgrade fails for any table, with or without latdiag.  When the new
# server does not know the option, it is cleared on the old one first.
$new->start;
my ($probe) = $new->psql('postgres',
	'BEGIN; CREATE TABLE attver_probe (a int); '
	  . 'ALTER TABLE attver_probe ALTER COLUMN a SET (pg_attver = 1); ROLLBACK');
$new->stop;
my $attver = q{array_to_string(attoptions, ',') ~ '(^|,)pg_attver='};
my $marked = $old->safe_psql('postgres', "SELECT count(*) FROM pg_attribute WHERE $attver");
if ($marked > 0 && $probe != 0)
{
	diag("the old server marks $marked columns with pg_attver, which PostgreSQL "
		  . "$new_major rejects: cleared before pg_upgrade (it fails for any table otherwise)");
	$old->safe_psql('postgres', qq{
UPDATE pg_attribute
   SET attoptions = nullif(array(SELECT o FROM unnest(attoptions) o WHERE o !~ '^pg_attver='), '{}')
 WHERE $attver});
}
$old->stop;

# ---------------------------------------------------------------- pg_upgrade
# In a directory of its own: pg_upgrade leaves its scripts in the current one.
my $cwd = getcwd();
my $tmp = PostgreSQL::Test::Utils::tempdir;
chdir $tmp or die "chdir $tmp: $!";
command_ok(
	[
		"$new_bindir/pg_upgrade", '--no-sync',
		'--old-datadir' => $old->data_dir,
		'--new-datadir' => $new->data_dir,
		'--old-bindir' => $old_bindir,
		'--new-bindir' => $new_bindir,
		'--socketdir' => $new->host,
		'--old-port' => $old->port,
		'--new-port' => $new->port,
		'--copy',
	],
	"pg_upgrade from 15 to $new_major");
chdir $cwd or die "chdir $cwd: $!";

# ------------------------------------------------------------- the new server
$new->start;
like($new->safe_psql('postgres', 'SELECT version()'),
	qr/^PostgreSQL $new_major\./, "the new server is PostgreSQL $new_major");
is( $new->safe_psql('postgres',
		q{SELECT extversion FROM pg_extension WHERE extname = 'postgres_latdiag'}),
	'1.2', 'postgres_latdiag is still at 1.2 after pg_upgrade');
is($new->safe_psql('postgres', 'SELECT count(*) FROM up'), '1000', 'the data came along');

# The 1.2 definitions read and capture through the new library.
$new->safe_psql('postgres', 'SELECT max(id) AS ldt_at_12 FROM up WHERE v = ' . $_) for 1 .. 2;
is( $new->safe_psql('postgres',
		q{SELECT sum(calls) FROM latdiag_queries WHERE query LIKE '%ldt\_at\_12%'}),
	'2', 'at 1.2, latdiag_queries records the new statements');

# The update walks to the default version.
$new->safe_psql('postgres', 'ALTER EXTENSION postgres_latdiag UPDATE');
is( $new->safe_psql('postgres',
		q{SELECT extversion FROM pg_extension WHERE extname = 'postgres_latdiag'}),
	$default_version, "ALTER EXTENSION UPDATE reaches the default version $default_version");
is( $new->safe_psql('postgres',
		q{SELECT default_version = installed_version FROM pg_available_extensions
		   WHERE name = 'postgres_latdiag'}),
	't', 'pg_available_extensions agrees');

$new->safe_psql('postgres', 'SELECT min(id) AS ldt_after_update FROM up WHERE v = ' . $_)
  for 1 .. 4;
is( $new->safe_psql('postgres',
		q{SELECT sum(calls) FROM latdiag_queries WHERE query LIKE '%ldt\_after\_update%'}),
	'4', 'after the update, latdiag_queries records the new statements');
my ($nerr, $errs) = latdiag_read_all($new);
is($nerr, 0, 'every view and function reads after the update') or diag($errs);

$new->stop;
done_testing();
