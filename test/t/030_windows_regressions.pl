# postgres_latdiag: time windows and regressions under load.
#
# Three statements run in procedures for ~11 windows of 10 s:
#  - "plan": a sleep of half the cost of a sequential scan, plus an indexed
#    lookup; mid-run its index is dropped, so it becomes ~3x slower with
#    another plan;
#  - "lock": an UPDATE of one row with a short sleep in its WHERE clause (an
#    expression: a nested statement ending after the wait would be charged
#    the wait, see locks.c); mid-run another session
#    starts holding that row in transaction after transaction;
#  - "steady": pg_sleep() of a noisy, skewed duration (0.5 to 20.5 ms), all
#    along;
#  - "errors": an UPDATE of another row under lock_timeout = 10ms, caught in
#    PL/pgSQL; the holder holds that row too, so after the change most of its
#    executions fail (55P03) and those that finish waited.
# Checked: windows roll every 10 s with the statements in them; the plan
# statement is flagged by latdiag_regressions within two windows of the
# change with cause "plan change", the lock statement with "lock waits", the
# errors statement with "more errors" among its causes (and its error counts);
# before the change nothing is flagged, and the steady statement is never
# flagged over the whole run (at least 10 windows).
use strict;
use warnings;
use Time::HiRes qw(time);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('windows');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.track = all
latdiag.window_interval = 10s
max_connections = 20
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE ldw_plan (id int, k int, pad text);
INSERT INTO ldw_plan SELECT g, g, repeat('x', 20) FROM generate_series(1, 40000) g;
CREATE INDEX ldw_plan_k ON ldw_plan (k);
ANALYZE ldw_plan;
CREATE TABLE ldw_lock (id int PRIMARY KEY, v int);
INSERT INTO ldw_lock SELECT g, 0 FROM generate_series(1, 10) g;
-- ms one sequential scan of ldw_plan takes here
CREATE FUNCTION ldw_seq_ms() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
BEGIN
  SET LOCAL enable_indexscan = off;
  SET LOCAL enable_bitmapscan = off;
  PERFORM count(*) FROM ldw_plan WHERE k = 1;
  t0 := clock_timestamp();
  FOR i IN 1..20 LOOP
    PERFORM count(*) FROM ldw_plan WHERE k = i;
  END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000 / 20;
END $$;
CREATE PROCEDURE ldw_plan_load(secs float8, base float8) LANGUAGE plpgsql AS $$
DECLARE
  t_end timestamptz := clock_timestamp() + secs * interval '1 second';
  n int := 0;
BEGIN
  WHILE clock_timestamp() < t_end LOOP
    PERFORM pg_sleep(base), (SELECT count(*) FROM ldw_plan WHERE k = n % 40000 + 1);
    n := n + 1;
    COMMIT;
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
CREATE PROCEDURE ldw_lock_load(secs float8) LANGUAGE plpgsql AS $$
DECLARE
  t_end timestamptz := clock_timestamp() + secs * interval '1 second';
BEGIN
  WHILE clock_timestamp() < t_end LOOP
    UPDATE ldw_lock SET v = v + 1 WHERE id = 1 AND pg_sleep(0.005)::text = '';
    COMMIT;
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
CREATE PROCEDURE ldw_err_load(secs float8) LANGUAGE plpgsql AS $$
DECLARE
  t_end timestamptz := clock_timestamp() + secs * interval '1 second';
BEGIN
  PERFORM set_config('lock_timeout', '10ms', false);
  WHILE clock_timestamp() < t_end LOOP
    BEGIN
      UPDATE ldw_lock SET v = 2 + v WHERE id = 2 AND '' = pg_sleep(0.002)::text;
    EXCEPTION WHEN lock_not_available THEN
      NULL;
    END;
    COMMIT;
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
CREATE PROCEDURE ldw_hold(secs float8) LANGUAGE plpgsql AS $$
DECLARE
  t_end timestamptz := clock_timestamp() + secs * interval '1 second';
BEGIN
  WHILE clock_timestamp() < t_end LOOP
    UPDATE ldw_lock SET v = v - 1 WHERE id IN (1, 2);
    PERFORM pg_sleep(0.03), 'holding';
    COMMIT;
    PERFORM pg_sleep(0.005), 'released';
  END LOOP;
END $$;
CREATE PROCEDURE ldw_steady(secs float8) LANGUAGE plpgsql AS $$
DECLARE
  t_end timestamptz := clock_timestamp() + secs * interval '1 second';
BEGIN
  WHILE clock_timestamp() < t_end LOOP
    PERFORM pg_sleep((0.5 + 20 * random() ^ 6) / 1000.0);
  END LOOP;
END $$;
});

my $seq_ms = $node->safe_psql('postgres', 'SELECT ldw_seq_ms()');
my $base_s = sprintf('%.4f', ($seq_ms > 2 ? $seq_ms : 2) / 2 / 1000);
diag("sequential scan: $seq_ms ms; plan statement sleeps $base_s s");

my $duration = 125;
my @sessions;
for my $call ("CALL ldw_plan_load($duration, $base_s)",
	"CALL ldw_lock_load($duration)", "CALL ldw_steady($duration)",
	"CALL ldw_err_load($duration)")
{
	my $s = $node->background_psql('postgres');
	$s->query_until(qr/started/, "\\echo started\n$call;\n");
	push @sessions, $s;
}
my $t_start = $node->safe_psql('postgres', 'SELECT now()');

# The end of the last closed window, once one ends after $after.
sub next_window
{
	my ($after) = @_;
	$node->poll_query_until('postgres',
		"SELECT coalesce(max(window_end) > '$after'::timestamptz, false) FROM latdiag_windows")
	  or die "no window closed after $after";
	return $node->safe_psql('postgres', 'SELECT max(window_end) FROM latdiag_windows');
}

# What latdiag_regressions flags now (last 2 windows against the rest), per statement.
my %pattern = (
	plan   => 'SELECT pg_sleep(base), (SELECT count(*) FROM ldw_plan%',
	lock   => 'UPDATE ldw_lock SET v = v + % AND pg_sleep(%',
	errors => 'UPDATE ldw_lock SET v = % + v WHERE %',
	steady => 'SELECT pg_sleep((%random()%');
sub flagged
{
	my %out;
	for my $name (keys %pattern)
	{
		my $r = $node->safe_psql('postgres', qq{
SELECT coalesce(likely_cause, 'no cause') || ' ' || round(factor::numeric, 2) || ' ' || recent_calls || ' '
       || baseline_calls || ' ' || (since >= now() - interval '40 seconds')
       || ' [' || array_to_string(causes, ',') || '] errors ' || recent_errors || '/' || baseline_errors
  FROM latdiag_regressions('20 seconds', '10 minutes'::interval)
 WHERE query LIKE '$pattern{$name}'});
		$out{$name} = $r if $r ne '';
	}
	return %out;
}

# Baseline: 4 windows of steady traffic; nothing may be flagged meanwhile.
my $w = $t_start;
my $steady_checks = 0;
my @steady_flags;
my @early_flags;
for my $i (1 .. 4)
{
	$w = next_window($w);
	next if $i < 3;    # the first windows are the baseline
	my %f = flagged();
	push @early_flags, map { "$_: $f{$_}" } sort keys %f;
	$steady_checks++;
	push @steady_flags, $f{steady} if $f{steady};
}
is(join('; ', @early_flags), '', 'nothing flagged before the slowdown');

my $rows = $node->safe_psql('postgres', q{
SELECT count(*) >= 3, bool_and(window_end - window_start <= interval '10.5 seconds'),
       bool_and(calls > 0)
  FROM latdiag_windows WHERE window_start >= (SELECT min(window_end) FROM latdiag_windows)});
is($rows, 't|t|t', 'windows roll every 10 s with calls in them');
my $per_statement = $node->safe_psql('postgres', q{
SELECT string_agg(k || ':' || (n >= 3), ' ' ORDER BY k) FROM (
  SELECT CASE WHEN query LIKE 'SELECT pg_sleep(base), (SELECT count(*) FROM ldw_plan%' THEN 'plan'
              WHEN query LIKE 'UPDATE ldw_lock SET v = v + % AND pg_sleep(%' THEN 'lock'
              ELSE 'steady' END AS k, count(*) AS n
    FROM latdiag_query_windows
   WHERE query LIKE 'SELECT pg_sleep(base), (SELECT count(*) FROM ldw_plan%'
      OR query LIKE 'UPDATE ldw_lock SET v = v + % AND pg_sleep(%'
      OR query LIKE 'SELECT pg_sleep((%random()%'
   GROUP BY 1) s});
is($per_statement, 'lock:true plan:true steady:true', 'each statement has rows in the windows');

# The slowdown: drop the index, start holding the row.
$node->safe_psql('postgres', 'DROP INDEX ldw_plan_k');
my $holder = $node->background_psql('postgres');
$holder->query_until(qr/started/, "\\echo started\nCALL ldw_hold($duration);\n");
my $t_change = $node->safe_psql('postgres', 'SELECT now()');
diag("slowdown at $t_change");

my %found;     # statement -> windows after the change when first flagged
my %cause;
my $after = 0;
$w = $t_change;
my $total = sub {
	$node->safe_psql('postgres',
		"SELECT count(*) FROM latdiag_windows WHERE window_start >= '$t_start'");
};
while ($after < 7 && !($after >= 2 && $found{plan} && $found{lock} && $found{errors} && $total->() >= 10))
{
	$w = next_window($w);
	$after++;
	my %f = flagged();
	$steady_checks++;
	push @steady_flags, $f{steady} if $f{steady};
	for my $name ('plan', 'lock', 'errors')
	{
		next if $found{$name} || !$f{$name};
		$found{$name} = $after;
		$cause{$name} = $f{$name};
		diag("$name flagged $after window(s) after the change: $f{$name}");
	}
}
ok($found{plan} && $found{plan} <= 2, 'plan change flagged within two windows')
  or diag('plan: ' . ($found{plan} // 'never'));
like($cause{plan} // '', qr/^plan change \S+ \d+ \d+ true \[/, 'cause: plan change, since the change');
ok($found{lock} && $found{lock} <= 2, 'lock waits flagged within two windows')
  or diag('lock: ' . ($found{lock} // 'never'));
like($cause{lock} // '', qr/^lock waits \S+ \d+ \d+ true \[/, 'cause: lock waits, since the change');
ok($found{errors} && $found{errors} <= 2, 'the failing statement flagged within two windows')
  or diag('errors: ' . ($found{errors} // 'never'));
like($cause{errors} // '', qr/ true \[[^\]]*\bmore errors\b[^\]]*\] errors [1-9]\d*\/0$/,
	'cause: more errors, counted since the change and none before');
my $werr = $node->safe_psql('postgres', qq{
SELECT sum(errors) FILTER (WHERE window_end <= '$t_change') = 0, sum(errors) FILTER (WHERE window_start >= '$t_change') > 0
  FROM latdiag_query_windows WHERE query LIKE '$pattern{errors}'});
is($werr, 't|t', 'latdiag_query_windows counts the errors in the windows after the change only');
is($node->safe_psql('postgres', qq{SELECT sum(errors) > 0 FROM latdiag_windows WHERE window_start >= '$t_change'}),
	't', 'latdiag_windows counts them for the server');

# The steady statement, over the whole run.
my $nwin = $node->safe_psql('postgres',
	"SELECT count(*) FROM latdiag_windows WHERE window_start >= '$t_start'");
cmp_ok($nwin, '>=', 10, "the steady run spans $nwin windows");
is(join('; ', @steady_flags), '', "steady noisy traffic flagged in none of $steady_checks checks");
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM latdiag_regressions WHERE query LIKE 'SELECT pg_sleep((%random()%'}),
	'0', 'nor by the default latdiag_regressions view');
my $steady = $node->safe_psql('postgres', q{
SELECT count(*) || ' windows, ' || sum(calls) || ' calls, p95 from ' || round(min(p95_exec_time)::numeric, 1)
       || ' to ' || round(max(p95_exec_time)::numeric, 1) || ' ms'
  FROM latdiag_query_windows WHERE query LIKE 'SELECT pg_sleep((%random()%'});
diag("steady statement: $steady");

# latdiag_compare: before and after the change, side by side
my $cmp = $node->safe_psql('postgres', qq{
SELECT calls_1 > 0 AND calls_2 > 0, factor > 1.5, planids_1 <> planids_2
  FROM latdiag_compare('$t_start', '$t_change', '$t_change', now())
 WHERE query LIKE 'SELECT pg_sleep(base), (SELECT count(*) FROM ldw_plan%'});
is($cmp, 't|t|t', 'latdiag_compare shows the plan statement slower, with another plan');

$node->safe_psql('postgres',
	q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'CALL ldw%'});
eval { $_->quit } for @sessions, $holder;    # their CALLs were terminated
$node->stop;
done_testing();
