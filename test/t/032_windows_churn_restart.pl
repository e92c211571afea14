# postgres_latdiag: windows stay bounded under churn, and survive restarts.
#
# 20,000 distinct statements, twice, into a query store of 1,000 entries and
# windows of at most 50 statements, 4 windows kept: shared memory does not
# change, no window has more than 50 statement rows plus its "other" row,
# the rest is counted in other_statements, at most 4 windows are kept, and the
# sampler's own memory stays bounded.  Then a baseline is saved and the
# server restarted (clean shutdown): the windows and the baseline are the
# same afterwards, windows go on closing, and the baseline still compares;
# after a crash, the windows and baselines of the last checkpoint come back.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LatdiagViews;

my $node = PostgreSQL::Test::Cluster->new('wchurn');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.max_queries = 1000
latdiag.window_interval = 10s
latdiag.window_max_queries = 50
latdiag.max_windows = 4
latdiag.max_baselines = 2
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION postgres_latdiag');

is($node->safe_psql('postgres',
		'SELECT max_windows, max_window_rows, max_baselines FROM latdiag_info'),
	'4|204|2', 'latdiag_info shows the window bounds');

sub sampler_rss_kb
{
	my $pid = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'postgres_latdiag sampler'");
	my $status = slurp_file("/proc/$pid/status");
	return $status =~ /VmRSS:\s+(\d+) kB/ ? $1 : -1;
}

sub next_window
{
	my ($after) = @_;
	$node->poll_query_until('postgres',
		"SELECT coalesce(max(window_end) > '$after'::timestamptz, false) FROM latdiag_windows")
	  or die "no window closed after $after";
	return $node->safe_psql('postgres', 'SELECT max(window_end) FROM latdiag_windows');
}

my $shmem_before = latdiag_shmem($node);
my $t0 = $node->safe_psql('postgres', 'SELECT now()');
next_window($t0);    # the sampler has its first copy of the counters
my $rss_before = sampler_rss_kb();

# 20,460 shapes, as in 008_churn.pl: select lists x filter column x operator
$node->safe_psql('postgres',
	'CREATE TABLE ldt_wchurn (' . join(', ', map { "c$_ int" } 0 .. 9) . ');'
	  . 'INSERT INTO ldt_wchurn SELECT '
	  . join(', ', map { "g + $_" } 0 .. 9)
	  . ' FROM generate_series(1, 20) g;');
my @ops = ('=', '<');
my $script = "\\o /dev/null\n";
for my $i (0 .. 19999)
{
	my $mask = ($i % 1023) + 1;
	my $k    = int($i / 1023);
	my @cols = grep { $mask & (1 << $_) } 0 .. 9;
	$script .= 'SELECT ' . join(', ', map { "c$_" } @cols)
	  . ' FROM ldt_wchurn WHERE c' . ($k % 10) . " $ops[int($k / 10)] 3;\n";
}
$node->safe_psql('postgres', $script) for 1 .. 2;
my $t1 = $node->safe_psql('postgres', 'SELECT now()');
next_window($t1);

is($node->safe_psql('postgres', 'SELECT count(*) <= 4 FROM latdiag_windows'),
	't', 'at most latdiag.max_windows windows kept');
is($node->safe_psql('postgres', q{
SELECT max(n) <= 51, bool_and(others <= 1) FROM (
  SELECT window_start, count(*) AS n, count(*) FILTER (WHERE is_other) AS others
    FROM latdiag_query_windows GROUP BY 1) s}),
	't|t', 'at most 50 statements and one "other" row per window');
is($node->safe_psql('postgres', q{
SELECT count(*) > 0, bool_and(w.other_statements = q.other_statements),
       bool_and(w.other_calls = q.calls)
  FROM latdiag_windows w
  JOIN latdiag_query_windows q ON q.window_start = w.window_start AND q.is_other}),
	't|t|t', 'the statements not kept are summed and counted in "other"');
my ($rows, $max_rows, $evictions) = split /\|/,
  $node->safe_psql('postgres', 'SELECT window_rows, max_window_rows, evictions FROM latdiag_info');
cmp_ok($rows, '<=', $max_rows, "window rows $rows within $max_rows");
cmp_ok($evictions, '>', 0, 'the query store churned');
is(latdiag_shmem($node), $shmem_before, 'shared memory unchanged');
my $rss_after = sampler_rss_kb();
cmp_ok($rss_after - $rss_before, '<', 65536,
	"sampler memory bounded ($rss_before kB before, $rss_after kB after)");
my ($nerr, $errs) = latdiag_read_all($node);
is($nerr, 0, 'every view reads') or diag($errs);

# Restart: windows and baselines are kept.
is($node->safe_psql('postgres', q{SELECT latdiag_baseline_save('before restart') > 0}),
	't', 'baseline saved');
# one line per window: its end, and an md5 of it and its statements
my $windows_sql = q{
SELECT string_agg(window_end || '#' || h, E'\n' ORDER BY window_end) FROM (
  SELECT w.window_end,
         md5(w::text || coalesce((SELECT string_agg(q::text, '|' ORDER BY q::text)
                                    FROM latdiag_query_windows(false) q
                                   WHERE q.window_start = w.window_start), '')) AS h
    FROM latdiag_windows w) t};
my %before = map { split /#/, $_, 2 } grep { $_ ne '' } split /\n/,
  $node->safe_psql('postgres', $windows_sql);
my $baselines_sql = q{SELECT string_agg(b::text, '|' ORDER BY name) FROM latdiag_baselines b};
my $baselines_before = $node->safe_psql('postgres', $baselines_sql);
$node->restart;
# a window may close right after the start and push out the oldest one
my %after = map { split /#/, $_, 2 } grep { $_ ne '' } split /\n/,
  $node->safe_psql('postgres', $windows_sql);
my @kept = grep { exists $after{$_} } sort keys %before;
cmp_ok(scalar(@kept), '>=', scalar(keys %before) - 1,
	scalar(@kept) . ' of ' . scalar(keys %before) . ' windows still there after a restart');
is(join("\n", map { $after{$_} } @kept), join("\n", map { $before{$_} } @kept),
	'windows identical after a restart');
is($node->safe_psql('postgres', $baselines_sql), $baselines_before,
	'baselines identical after a restart');
is($node->safe_psql('postgres',
		q{SELECT count(*) >= 0 FROM latdiag_regressions('1 hour', 'before restart')}),
	't', 'the baseline still compares');
my $t2 = $node->safe_psql('postgres', 'SELECT now()');
next_window($t2);
# One window closed after $t2; when a boundary fell between the start and
# $t2 (a slow restart), the short window from the start to it closed too.
my $closed = $node->safe_psql('postgres',
	"SELECT count(*) FROM latdiag_windows WHERE window_start >= pg_postmaster_start_time()");
ok($closed >= 1 && $closed <= 2,
	"windows go on closing after the restart ($closed closed since)");

# A crash: the windows and baselines of the last checkpoint come back.
$node->append_conf('postgresql.conf', "restart_after_crash = on\nlatdiag.checkpoint_interval = 1s\n");
$node->reload;
my $t3 = $node->safe_psql('postgres', 'SELECT now()');
next_window($t3);
sleep 2;    # a checkpoint after that window
my %checkpointed = map { split /#/, $_, 2 } grep { $_ ne '' } split /\n/,
  $node->safe_psql('postgres', $windows_sql);
my $bg = $node->background_psql('postgres');
my $victim = $bg->query_safe('SELECT pg_backend_pid()');
$victim =~ s/\s+//g;
kill 'KILL', $victim;
eval { $bg->quit };
ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'back after a backend crash');
my %crashed = map { split /#/, $_, 2 } grep { $_ ne '' } split /\n/,
  $node->safe_psql('postgres', $windows_sql);
my @back = grep { exists $crashed{$_} } sort keys %checkpointed;
cmp_ok(scalar(@back), '>=', scalar(keys %checkpointed) - 1,
	scalar(@back) . ' of ' . scalar(keys %checkpointed) . ' windows back from the checkpoint');
is(join("\n", map { $crashed{$_} } @back), join("\n", map { $checkpointed{$_} } @back),
	'identical to what they were');
is($node->safe_psql('postgres', $baselines_sql), $baselines_before,
	'baselines back from the checkpoint');

$node->stop;
done_testing();
