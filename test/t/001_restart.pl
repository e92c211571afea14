# postgres_latdiag: the store survives a clean restart (latdiag.save = on),
# is dropped when latdiag.save = off, a corrupt or truncated stats file is
# ignored with a LOG line, and the server comes back after a crash.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'postgres_latdiag'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION postgres_latdiag');

my $statfile = $node->data_dir . '/pg_stat/latdiag.stat';

# Our workload: statements on the ldt_* tables, each shape run a known number
# of times (constants differ, the queryid and normalized text do not).
my @work = (
	'CREATE TABLE ldt_a (id int PRIMARY KEY, v text)',
	"INSERT INTO ldt_a SELECT g, 'x' || g FROM generate_series(1, 100) g",
	'SELECT count(*) FROM ldt_a',
	'SELECT count(*) FROM ldt_a',
	'SELECT count(*) FROM ldt_a',
	'SELECT v FROM ldt_a WHERE id = 5',
	'SELECT v FROM ldt_a WHERE id = 6',
	'SELECT v FROM ldt_a WHERE id = 7',
	'SELECT v FROM ldt_a WHERE id = 8',
	"UPDATE ldt_a SET v = 'y' WHERE id = 7",
	"UPDATE ldt_a SET v = 'z' WHERE id = 9",
	'SELECT max(id), min(v) FROM ldt_a');
$node->safe_psql('postgres', join(";\n", @work) . ";\n");

# The rows of our workload, as text, in a stable order.  Everything that a
# save/load round trip must keep is in there.
my $snapshot_sql = q{
SELECT queryid, toplevel, calls, rows, query, query_truncated,
       total_exec_time, min_exec_time, max_exec_time,
       p50_exec_time, p99_exec_time, first_seen
  FROM latdiag_queries
 WHERE query LIKE '%ldt\_%' AND query NOT LIKE '%latdiag%'
 ORDER BY queryid, toplevel
};

sub calls_of
{
	my ($pattern) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(sum(calls), 0) FROM latdiag_queries "
		  . "WHERE query LIKE '$pattern' AND query NOT LIKE '%latdiag%'");
}

# Sanity: the workload was captured as expected before we test persistence.
is(calls_of('SELECT count(*) FROM ldt\_a'), '3', 'count(*) query: 3 calls');
is(calls_of('SELECT v FROM ldt\_a WHERE id = %'),
	'4', 'parameterized select: 4 calls under one entry');
is(calls_of('UPDATE ldt\_a SET v = %'), '2', 'update: 2 calls');
is(calls_of('INSERT INTO ldt\_a%'),     '1', 'insert: 1 call');
my $nrows = $node->safe_psql('postgres',
	"SELECT count(*) FROM latdiag_queries WHERE query LIKE '%ldt\\_%' AND query NOT LIKE '%latdiag%'"
);
cmp_ok($nrows, '>=', 5, "at least 5 workload entries captured ($nrows)");

my $before = $node->safe_psql('postgres', $snapshot_sql);

# --- clean restart keeps everything
$node->restart;
my $after = $node->safe_psql('postgres', $snapshot_sql);
is($after, $before,
	'clean restart: same queryids, texts, calls and timings survive');

# And a second restart round trip keeps it as well (the file written at the
# second shutdown comes from a loaded store).
$node->restart;
is($node->safe_psql('postgres', $snapshot_sql),
	$before, 'second clean restart: store still identical');

# --- clean shutdown writes the file
$node->stop;
ok(-f $statfile, "clean shutdown writes $statfile");
my $valid = slurp_file($statfile);
cmp_ok(length($valid), '>', 64, 'stats file is not trivially small');

# --- latdiag.save = off: nothing is kept across a restart
$node->append_conf('postgresql.conf', "latdiag.save = off\n");
$node->start;
$node->restart;
is($node->safe_psql('postgres',
	"SELECT count(*) FROM latdiag_queries WHERE query LIKE '%ldt\\_%' AND query NOT LIKE '%latdiag%'"),
	'0', 'latdiag.save = off: store is empty after restart');
$node->append_conf('postgresql.conf', "latdiag.save = on\n");
$node->restart;

# --- corrupt and truncated files are ignored
srand(20240515);
my $random = join('', map { chr(int(rand(256))) } 1 .. 4096);
my %bad = (
	'garbage text' => ("this is not a latdiag stats file\n" x 64),
	'valid header, random body' =>
	  substr($valid, 0, 16) . $random,
	'truncated to half' => substr($valid, 0, int(length($valid) / 2)),
	'truncated to 3 bytes' => substr($valid, 0, 3),
	'valid file, last byte cut' => substr($valid, 0, length($valid) - 1),);

my $n = 0;
foreach my $case (sort keys %bad)
{
	$n++;
	$node->stop;
	open(my $fh, '>', $statfile) or die "could not write $statfile: $!";
	binmode $fh;
	print $fh $bad{$case};
	close $fh;

	my $offset = -s $node->logfile;
	my $started = $node->start(fail_ok => 1);
	ok($started, "$case: server starts");
	if (!$started)
	{
		# (not BAIL_OUT: that would stop the other test files too)
		diag("server did not start with a corrupt stats file ($case)");
		done_testing();
		exit;
	}
	my $log = slurp_file($node->logfile, $offset);
	like($log, qr/LOG:[^\n]*latdiag[^\n]*/i,
		"$case: LOG line mentions latdiag");
	like($log, qr/LOG:[^\n]*(latdiag[^\n]*ignoring|ignoring[^\n]*latdiag)/i,
		"$case: LOG line says the file is ignored");
	unlike($log, qr/(PANIC|FATAL|TRAP|terminated by signal)/,
		"$case: no crash or fatal error at startup");

	# the extension still works: a brand new statement shape is captured once
	# (a distinct number of columns per case gives a distinct queryid; the
	# alias survives normalization, the constants do not)
	my $probe = "SELECT 1 AS ldtprobe_$n" . (', 1' x $n);
	$node->safe_psql('postgres', $probe);
	is($node->safe_psql('postgres',
		"SELECT sum(calls) FROM latdiag_queries WHERE query LIKE '%ldtprobe\\_$n,%' "
		  . "AND query NOT LIKE '%latdiag%'"),
		'1', "$case: capture works after ignoring the file");
}

# --- a real crash: a backend killed with SIGKILL makes the postmaster
# reinitialize shared memory (the extension's shmem startup runs again)
$node->append_conf('postgresql.conf', "restart_after_crash = on\n");
$node->reload;
my $bg = $node->background_psql('postgres');
my $victim = $bg->query_safe('SELECT pg_backend_pid()');
$victim =~ s/\s+//g;
my $crash_offset = -s $node->logfile;
kill 'KILL', $victim;
$bg->quit;
ok($node->poll_query_until('postgres', 'SELECT 1', '1'),
	'server accepts connections again after a backend crash');
like(slurp_file($node->logfile, $crash_offset),
	qr/reinitializing/, 'the postmaster did reinitialize shared memory');
$node->safe_psql('postgres',
	'SELECT id + 1 AS ldtaftercrash, v FROM ldt_a WHERE id < 3');
is($node->safe_psql('postgres',
	"SELECT sum(calls) FROM latdiag_queries WHERE query LIKE '%ldtaftercrash%' "
	  . "AND query NOT LIKE '%latdiag%'"),
	'1', 'capture works after shared memory was reinitialized');
is($node->safe_psql('postgres', 'SELECT max_entries FROM latdiag_info'),
	'5000', 'latdiag_info works after reinitialization');

# --- immediate stop, then start
$node->safe_psql('postgres', 'SELECT count(*) FROM ldt_a WHERE v LIKE $$a%$$');
$node->stop('immediate');
my $started = $node->start(fail_ok => 1);
ok($started, 'server starts after an immediate (crash) stop');
SKIP:
{
	skip 'server did not start', 2 unless $started;
	is($node->safe_psql('postgres', 'SELECT 42'), '42', 'server answers');
	$node->safe_psql('postgres',
		'SELECT id, v, id * 2 AS ldtcrash FROM ldt_a WHERE id < 3');
	is($node->safe_psql('postgres',
		"SELECT sum(calls) FROM latdiag_queries WHERE query LIKE '%ldtcrash%' "
		  . "AND query NOT LIKE '%latdiag%'"),
		'1', 'capture works after crash recovery');
}

$node->stop;
done_testing();
