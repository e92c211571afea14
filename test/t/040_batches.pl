# postgres_latdiag: executions batched per backend (pending.c) are never lost.
#
# - A reader sees every finished execution of every session at once, the
#   batches of a session that is still open included (the views flush all
#   backends' batches first).
# - A session that goes idle does not sit on its batches: the sampler worker
#   flushes them within 1 s (plus one tick), with no reader involved.  This
#   is checked through a crash: the idle session's backend is killed with
#   SIGKILL after a checkpoint of the saved statistics (every 1 s here), and
#   after the crash restart its executions are there, read from that file.
# - A reset also discards the batches in progress in other sessions.
# - A session that exits flushes its batches.
# - Per-source counts (latdiag_query_sources) go through the batches too:
#   one statement sent by two sources (application_name, sqlcommenter
#   route) from one session, interleaved, is counted per source; query
#   shapes (latdiag_query_shapes) flagged at some executions of a batched
#   statement are all counted.
use strict;
use warnings;
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('batches');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.checkpoint_interval = 1s
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE bt (id int PRIMARY KEY, v text);
INSERT INTO bt SELECT g, 'v' || g FROM generate_series(1, 100) g;
});
# One table per statement: the query id does not depend on column aliases.
$node->safe_psql('postgres', "CREATE TABLE $_ AS SELECT * FROM bt; ALTER TABLE $_ ADD PRIMARY KEY (id);")
  foreach qw(bt_open bt_reset bt_exit bt_idle bt_src bt_shape);
my $file = $node->data_dir . '/pg_stat/latdiag.stat';

sub calls
{
	my ($tag) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(sum(calls), 0) FROM latdiag_queries WHERE query LIKE 'SELECT % FROM $tag %'");
}

sub run_in
{
	my ($session, $tag, $n) = @_;
	$session->query_safe("SELECT v FROM $tag WHERE id = $_") for 1 .. $n;
}

# ------------------------------------------------ a reader sees an open session's batches
my $a = $node->background_psql('postgres');
run_in($a, 'bt_open', 50);
is(calls('bt_open'), 50, 'an open session: its 50 executions are read at once');
run_in($a, 'bt_open', 7);
is(calls('bt_open'), 57, 'and 7 more after the first read');

# ------------------------------------------------ a reset discards another session's batches
run_in($a, 'bt_reset', 20);
$node->safe_psql('postgres', 'SELECT latdiag_reset()');
is(calls('bt_reset'), 0, 'after a reset: no execution of before it, batched ones included');
run_in($a, 'bt_reset', 5);
is(calls('bt_reset'), 5, 'the open session counts again from the reset');

# ------------------------------------------------ an exiting session flushes
$node->safe_psql('postgres',
	join(";\n", map { "SELECT v FROM bt_exit WHERE id = $_" } 1 .. 30) . ";\n");
is(calls('bt_exit'), 30, 'a session that ended: its 30 executions');

# ------------------------------------------------ sources and shapes through the batches
my $s = $node->background_psql('postgres');
$s->query_safe("SET application_name = 'batch_app'");
for my $i (1 .. 30)
{
	$s->query_safe("SELECT v FROM bt_src WHERE id = $i");
	$s->query_safe("SELECT v FROM bt_src WHERE id = $i /*route='%2Fbatched'*/")
	  if $i % 3 == 0;
}
$s->query_safe("SET application_name = 'other_app'");
$s->query_safe("SELECT v FROM bt_src WHERE id = $_") for 1 .. 4;
is( $node->safe_psql('postgres', q{
	SELECT string_agg(application_name || ':' || coalesce(route, '-') || ':' || calls, ' '
	                  ORDER BY application_name, route NULLS FIRST)
	  FROM latdiag_query_sources WHERE query LIKE 'SELECT v FROM bt_src WHERE %'}),
	'batch_app:-:30 batch_app:/batched:10 other_app:-:4',
	'an open session: per-source calls of a batched statement, interleaved sources');
is(calls('bt_src'), 44, 'and the statement\'s calls are their sum');
# OFFSET 1000 (latdiag.large_offset) at one execution in 4, 0 otherwise
$s->query_safe(
	"SELECT * FROM bt_shape ORDER BY id LIMIT 1 OFFSET " . ($_ % 4 == 0 ? 1000 : 0))
  for 1 .. 40;
is( $node->safe_psql('postgres', q{
	SELECT shape || ':' || executions FROM latdiag_query_shapes
	 WHERE query LIKE '%FROM bt_shape ORDER BY id%'}),
	'deep_offset:10',
	'a batched statement: its 10 deep-OFFSET executions counted');
is(calls('bt_shape'), 40, 'and its 40 executions');
$s->quit;

# ------------------------------------------------ an idle session's batches, through a crash
my $pid = $a->query_safe('SELECT pg_backend_pid()');
$pid =~ s/\s+//g;
run_in($a, 'bt_idle', 40);
# Nobody reads now (a read would flush).  The batches are at most 1 s old
# plus one sampler tick when flushed; then a checkpoint writes them.  Wait
# for a checkpoint written at least 3 s after the last execution (file times
# have a one-second resolution).
my $last = time;
my $written = 0;
for (1 .. 600)
{
	my $m = (stat($file))[9];
	if (defined $m && $m >= $last + 3)
	{
		$written = 1;
		last;
	}
	usleep(100_000);
}
ok($written, 'a checkpoint was written after the idle session\'s executions');
my $offset = -s $node->logfile;
kill 'KILL', $pid;
$a->quit;
$node->poll_query_until('postgres', 'SELECT 1', '1')
  or die 'server did not come back after the crash';
like(slurp_file($node->logfile, $offset), qr/terminated by signal 9/,
	'the idle session\'s backend was killed (crash restart)');
is(calls('bt_idle'), 40,
	'its 40 executions were flushed while it was idle and survive the crash (checkpoint)');
is(calls('bt_exit'), 30, 'the exited session\'s 30 too');

$node->stop;
done_testing();
