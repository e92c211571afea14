# postgres_latdiag: a window's percentiles against the exact distribution.
#
# Right after a window closes, 60 pg_sleep() calls with known, skewed
# durations (40 to 160 ms, shuffled) run in one window.  The window's
# p50/p95/p99 of the probe (latdiag_query_windows) must be within 2% of the
# exact nearest-rank percentiles of the durations the server itself measured
# (log_min_duration_statement = 0).
use strict;
use warnings;
use POSIX qw(ceil);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('wpct');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.window_interval = 10s
log_statement = none
log_min_duration_statement = 0
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION postgres_latdiag');

# Each duration 10% into a histogram bucket (18 per power of two from
# 0.01 ms), so that pg_sleep()'s overshoot (over 1 ms on a loaded machine)
# and the parse and plan time the logged duration adds keep the logged value
# in the bucket of the executor's own time, which is what latdiag counts.
sub bucket_lower { return 0.01 * 2**($_[0] / 18.0); }
sub duration_in
{
	my $lo = bucket_lower($_[0]);
	return sprintf('%.3f', $lo + 0.1 * (bucket_lower($_[0] + 1) - $lo)) + 0;
}
# 55 in buckets 214..224 (~38..56 ms), then a tail of 5 up to ~160 ms
my @values = ((map { my $k = $_; map { duration_in($k) } 1 .. 5 } 214 .. 224),
	map { duration_in($_) } 232, 238, 238, 244, 250);
srand(7);
for (my $i = $#values; $i > 0; $i--)
{
	my $j = int(rand($i + 1));
	@values[ $i, $j ] = @values[ $j, $i ];
}

sub nearest_rank
{
	my ($p, @v) = @_;
	my @s = sort { $a <=> $b } @v;
	my $rank = ceil($p * scalar(@s) - 1e-9);
	$rank = 1 if $rank < 1;
	return $s[ $rank - 1 ];
}

# Start right after a window closes: the probe (~3.5 s) then fits in one.
$node->poll_query_until('postgres', 'SELECT count(*) > 0 FROM latdiag_windows')
  or die 'no window';
my $w = $node->safe_psql('postgres', 'SELECT max(window_end) FROM latdiag_windows');
$node->poll_query_until('postgres',
	"SELECT max(window_end) > '$w'::timestamptz FROM latdiag_windows")
  or die 'no next window';
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres',
	join('', map { sprintf("SELECT pg_sleep(%.6f);\n", $_ / 1000) } @values));
my $after = $node->safe_psql('postgres', 'SELECT now()');
$node->poll_query_until('postgres',
	"SELECT max(window_end) > '$after'::timestamptz FROM latdiag_windows")
  or die 'probe window did not close';

my $log = slurp_file($node->logfile, $log_offset);
my @measured = $log =~ /duration: ([\d.]+) ms\s+statement: SELECT pg_sleep\(/g;
is(scalar(@measured), 60, 'the server logged 60 probe durations');

my $row = $node->safe_psql('postgres', q{
SELECT count(*), sum(calls), max(p50_exec_time), max(p95_exec_time), max(p99_exec_time)
  FROM latdiag_query_windows WHERE query = 'SELECT pg_sleep($1)'});
my ($nrows, $calls, @pct) = split /\|/, $row;
is($nrows, 1, 'the probe is in one window');
is($calls, 60, 'with its 60 calls');

my @p = (0.50, 0.95, 0.99);
my @worst;
for my $i (0 .. 2)
{
	my $exact = nearest_rank($p[$i], @measured);
	my $err = abs($pct[$i] - $exact) / $exact;
	push @worst, sprintf('p%d %.2f vs %.2f ms: %.2f%%', $p[$i] * 100, $pct[$i], $exact, 100 * $err);
	cmp_ok($err, '<=', 0.02, "window p$p[$i] within 2% of the exact value");
}
diag('window percentiles against the exact distribution: ' . join('; ', @worst));

$node->stop;
done_testing();
