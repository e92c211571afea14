# postgres_latdiag: `latdiag top` and the report over time (`report --since`,
# the Regressions section, the timeline, --fail-on regression), against a
# server whose windows close every 10 s and where a statement really becomes
# about three times slower with another plan (its index is dropped mid-run,
# as in test/t/030_windows_regressions.pl).
#
# Checked, as a person would use them:
#  - top --once in a script: 80 columns, the server line, the statements with
#    their factor against the baseline and the plan-change mark; two --dsn add
#    a server column; a database whose latdiag is 1.3 (no windows) and one
#    without the extension get a message, not a crash;
#  - top under tmux (80x30): s cycles the sort, q quits, ^C quits, and the
#    terminal is back in canonical mode with echo afterwards;
#  - report --since: nothing flagged before the slowdown (--fail-on regression
#    exits 0, the Regressions section is not first); after it, exit 2, the
#    Regressions section first in text, JSON and HTML, the timeline with the
#    plan change and the regression marked; the HTML in headless Chromium;
#  - bad input: --interval 0, --since longer than the kept windows, malformed
#    durations: a clear message and exit 1.
use strict;
use warnings;
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(usleep time);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $bindir = `pg_config --bindir`;
chomp $bindir;
my $latdiag = "$bindir/latdiag";
ok(-x $latdiag, "latdiag is installed ($latdiag)") or BAIL_OUT('latdiag is not installed');

my $node = PostgreSQL::Test::Cluster->new('top');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.track = all
latdiag.window_interval = 10s
latdiag.max_windows = 30
max_connections = 20
});
$node->start;
my $tmp = PostgreSQL::Test::Utils::tempdir;

$node->safe_psql('postgres', 'CREATE EXTENSION postgres_latdiag');

# Before the first window closes (10 s after the start): said so.  Skipped
# if the machine is so slow that a window closed meanwhile.
SKIP:
{
	my $count = sub {
		$node->safe_psql('postgres', 'SET latdiag.enabled = off; SELECT count(*) FROM latdiag_windows');
	};
	my $n0 = $count->();
	my ($o, $e) = ('', '');
	IPC::Run::run([ $latdiag, 'top', '--once', '--interval', '200ms', '--dsn', $node->connstr('postgres') ],
		'<', \undef, '>', \$o, '2>', \$e);
	my $rc0 = $? >> 8;
	skip 'a window closed already', 2 if $n0 ne '0' || $count->() ne '0';
	is($rc0, 0, 'top --once before any window: exit 0') or diag($e);
	like($o, qr/no time window closed yet \(latdiag\.window_interval = 10s\)/,
		'top --once before any window: says so');
}

$node->safe_psql('postgres', q{
CREATE TABLE tl_plan (id int, k int, pad text);
INSERT INTO tl_plan SELECT g, g, repeat('x', 20) FROM generate_series(1, 40000) g;
CREATE INDEX tl_plan_k ON tl_plan (k);
ANALYZE tl_plan;
CREATE FUNCTION tl_seq_ms() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
BEGIN
  SET LOCAL enable_indexscan = off;
  SET LOCAL enable_bitmapscan = off;
  PERFORM count(*) FROM tl_plan WHERE k = 1;
  t0 := clock_timestamp();
  FOR i IN 1..20 LOOP
    PERFORM count(*) FROM tl_plan WHERE k = i;
  END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000 / 20;
END $$;
CREATE PROCEDURE tl_plan_load(secs float8, base float8) LANGUAGE plpgsql AS $$
DECLARE
  t_end timestamptz := clock_timestamp() + secs * interval '1 second';
  n int := 0;
BEGIN
  WHILE clock_timestamp() < t_end LOOP
    PERFORM pg_sleep(base), (SELECT count(*) FROM tl_plan WHERE k = n % 40000 + 1);
    n := n + 1;
    COMMIT;
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
});
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', q{CREATE EXTENSION postgres_latdiag VERSION '1.3'});
$node->safe_psql('postgres', 'CREATE DATABASE noext');

my $seq_ms = $node->safe_psql('postgres', 'SELECT tl_seq_ms()');
my $base_s = sprintf('%.4f', ($seq_ms > 2 ? $seq_ms : 2) / 2 / 1000);
diag("sequential scan: $seq_ms ms; the statement sleeps $base_s s");
my $plan_re = qr/SELECT pg_sleep\(base\), \(SELECT count\(\*\) FROM tl_plan/;

my $dsn = $node->connstr('postgres');
my $dsn_old = $node->connstr('old');
my $dsn_noext = $node->connstr('noext');

# Run latdiag; returns (exit status, stdout, stderr).
sub cli
{
	my @args = @_;
	my ($out, $err) = ('', '');
	local $ENV{COLUMNS} = 80;
	IPC::Run::run([ $latdiag, @args ], '<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout(120));
	return ($? >> 8, $out, $err);
}

# ---------------------------------------------------------- bad input
my ($rc, $out, $err) = cli('top', '--interval', '0', '--dsn', $dsn);
is($rc, 1, 'top --interval 0: exit 1');
like($err, qr/--interval must be from 100ms to 1h, not "0"/, 'top --interval 0: said plainly');
($rc, $out, $err) = cli('top', '--interval', 'soon', '--dsn', $dsn);
ok($rc == 1 && $err =~ /--interval must be a duration such as 2s/, 'top --interval soon: exit 1, said plainly');
($rc, $out, $err) = cli('top', '--sort', 'slowest', '--dsn', $dsn);
ok($rc == 1 && $err =~ /unknown sort "slowest" \(p99, total, calls, regression\)/, 'top --sort slowest: exit 1');
for my $bad ('30x', '-5m', '0', 'm')
{
	($rc, $out, $err) = cli('report', '--since', $bad, '--dsn', $dsn);
	ok($rc == 1 && $err =~ /--since must be a duration of at least 1s, such as 30m/,
		"report --since $bad: exit 1, said plainly") or diag("rc $rc: $err");
}
($rc, $out, $err) = cli('report', '--since', '1h', '--dsn', $dsn, '--output', "$tmp/nope.txt");
is($rc, 1, 'report --since 1h with 30 windows of 10 s kept: exit 1');
like($err, qr/--since 1 h reaches further back than this server keeps time windows: latdiag\.max_windows \(30\) x latdiag\.window_interval \(10s\) = 5 min/,
	'report --since 1h: the message names the settings and what is kept');
ok(!-e "$tmp/nope.txt", 'report --since 1h: no report file left behind');

# ------------------------------------------------------------- the load
my $duration = 150;
my $load = $node->background_psql('postgres');
$load->query_until(qr/started/, "\\echo started\nCALL tl_plan_load($duration, $base_s);\n");
my $t_start = $node->safe_psql('postgres', 'SELECT now()');

# The end of the last closed window, once one ends after $after.  Polled
# with capture off: the test's own polling is no workload to judge.
sub next_window
{
	my ($after) = @_;
	for (1 .. 600)
	{
		my $end = $node->safe_psql('postgres', "SET latdiag.enabled = off;
SELECT max(window_end) FROM latdiag_windows WHERE window_end > '$after'::timestamptz");
		return $end if $end ne '';
		usleep(100_000);
	}
	die "no window closed after $after";
}

my $w = $t_start;
$w = next_window($w) for 1 .. 3;

# Steady so far: nothing flagged, the Regressions section is not first.
($rc, $out, $err) = cli('report', '--dsn', $dsn, '--since', '20s', '--fail-on', 'regression');
is($rc, 0, 'report --since 20s --fail-on regression before the slowdown: exit 0') or diag($err);
my @sections = ($out =~ /^== (.*?) ==$/mg);
isnt($sections[2] // '', 'Regressions: statements significantly slower in the recent windows than in the baseline',
	'before the slowdown: the Regressions section is not first');
like($out, qr/== Regressions: [^\n]*==\n\n  \(none\)/, 'before the slowdown: Regressions (none), at the end');
like($out, qr/^  regression +0$/m, 'before the slowdown: regression finding 0');

# top --once, one server, 80 columns.
($rc, $out, $err) = cli('top', '--once', '--interval', '500ms', '--dsn', $dsn);
is($rc, 0, 'top --once: exit 0') or diag($err);
my @lines = split /\n/, $out;
is_deeply([ grep { length($_) > 80 } @lines ], [], 'top --once: every line fits 80 columns (COLUMNS=80)');
like($out, qr/^calls\/s [\d.]+  p99 [\d.]+ ms  errors\/s [\d.]+  waiting on locks 0  window \d\d:\d\d:\d\d$/m,
	'top --once: the server line');
like($out, qr/^ calls\/s  p50 ms  p95 ms  p99 ms  xbase P lock ms  query$/m, 'top --once: the column header');
like($out, qr/^ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+x +[\d.]+  SELECT pg_sleep\(base\)/m,
	'top --once: the load statement with its factor against the baseline');

# Wider: the query is cut later.
{
	local $ENV{COLUMNS} = 200;
	my ($o, $e) = ('', '');
	IPC::Run::run([ $latdiag, 'top', '--once', '--interval', '200ms', '--dsn', $dsn ],
		'<', \undef, '>', \$o, '2>', \$e);
	my ($l) = grep { /SELECT pg_sleep\(base\)/ } split /\n/, $o;
	ok(length($l // '') > 80 && length($l) <= 200, 'top --once with COLUMNS=200 uses the width');
}

# A fleet: the server column; old and extension-less databases said plainly.
($rc, $out, $err) = cli('top', '--once', '--interval', '200ms', '--dsn', $dsn, '--dsn', $dsn_old,
	'--dsn', $dsn_noext);
is($rc, 0, 'top --once, three --dsn: exit 0') or diag($err);
@lines = split /\n/, $out;
is_deeply([ grep { length($_) > 80 } @lines ], [], 'top --once, three --dsn: fits 80 columns');
like($out, qr/^server +calls\/s  p50 ms/m, 'top --once, three --dsn: a server column');
like($out, qr/^\S*postgres +[\d.]+ +[\d.]+ .*SELECT/m, 'top --once, three --dsn: rows labelled with their server');
like($out, qr/old postgres_latdiag 1\.3 has no time windows/,
	'top --once: a 1.3 server is said to have no windows');
like($out, qr/noext extension postgres_latdiag is not installed/,
	'top --once: a database without the extension is said so');

# ------------------------------------------------ top under tmux, with keys
SKIP:
{
	skip 'no tmux', 7 if system('command -v tmux >/dev/null 2>&1') != 0;
	my $sock = "$tmp/tmux.sock";
	# The shell ignores ^C (top catches it); it waits for Enter between the two runs.
	my $cmd = "trap '' INT; $latdiag top --dsn '$dsn' --interval 1s; echo EXITED1 \$?; stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' '; echo; read x; "
	  . "$latdiag top --dsn '$dsn' --interval 1s; echo EXITED2 \$?; stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' '; echo; sleep 120";
	system('tmux', '-S', $sock, 'new-session', '-d', '-x', '80', '-y', '30', $cmd) == 0
	  or die 'tmux new-session failed';
	my $screen = sub { scalar `tmux -S $sock capture-pane -p` };
	my $wait = sub {
		my ($re) = @_;
		my $s = '';
		for (1 .. 150)
		{
			$s = $screen->();
			return $s if $s =~ $re;
			usleep(100_000);
		}
		return $s;
	};
	my $s1 = $wait->(qr/SELECT pg_sleep\(base\)/);
	like($s1, qr/^latdiag top \d\d:\d\d:\d\d  every 1s  sort: p99   \(s: sort, q: quit\)/m,
		'tmux: the live view, sorted by p99');
	is_deeply([ grep { length($_) > 80 } split /\n/, $s1 ], [], 'tmux: the screen fits 80 columns');
	system('tmux', '-S', $sock, 'send-keys', 's');
	my $s2 = $wait->(qr/sort: total/);
	like($s2, qr/sort: total .*\n(.*\n)*? +[\d.]+ .*SELECT pg_sleep\(base\)/, 'tmux: s sorts by total time, redrawn');
	system('tmux', '-S', $sock, 'send-keys', 's');
	like($wait->(qr/sort: calls/), qr/sort: calls/, 'tmux: s again sorts by calls');
	system('tmux', '-S', $sock, 'send-keys', 'q');
	my $s3 = $wait->(qr/EXITED1 \d+\n.*echo/);
	like($s3, qr/EXITED1 0\n *icanon echo/, 'tmux: q quits with status 0, the terminal back in canonical mode with echo');
	system('tmux', '-S', $sock, 'send-keys', 'Enter');
	$wait->(qr/sort: p99/);
	system('tmux', '-S', $sock, 'send-keys', 'C-c');
	my $s4 = $wait->(qr/EXITED2 \d+\n.*echo/);
	like($s4, qr/EXITED2 0\n *icanon echo/, 'tmux: ^C quits too, the terminal restored');
	unlike($s4, qr/\e|\[\?1049/, 'tmux: no escape code left on the screen');
	system('tmux', '-S', $sock, 'kill-server');
}

# ------------------------------------------------------------ slowdown
# The index is dropped just before a window closes, so that the window it is
# dropped in (the "transition") is almost all old plan: every window before the
# first wholly slow one is then a clean baseline (a baseline holding a slow
# window has a slow p95 too, and nothing would look worse than it).
{
	my $wb = next_window($w);
	my $age = $node->safe_psql('postgres',
		"SELECT extract(epoch FROM clock_timestamp() - '$wb'::timestamptz)");
	my $pause = 10 - $age - 0.7;
	usleep(int($pause * 1e6)) if $pause > 0;
}
$node->safe_psql('postgres', 'DROP INDEX tl_plan_k');
my $t_change = $node->safe_psql('postgres', 'SELECT now()');
$w = $t_change;
my $windows_after = 0;
($rc, $out, $err) = (0, '', '');
while ($windows_after < 4)
{
	$w = next_window($w);
	$windows_after++;
	($rc, $out, $err) = cli('report', '--dsn', $dsn, '--since', '20s', '--fail-on', 'regression');
	last if $rc == 2;
}
is($rc, 2, "report --since 20s --fail-on regression after the slowdown: exit 2 ($windows_after windows after)")
  or diag("$err\n$out");
ok($windows_after <= 3, 'flagged within three windows of the change');
@sections = ($out =~ /^== (.*?) ==$/mg);
is($sections[2], 'Regressions: statements significantly slower in the recent windows than in the baseline',
	'text: the Regressions section comes first, right after the servers and findings');
like($out, qr/^  regression +[1-9]\d*  \(--fail-on\)$/m, 'text: the regression finding, failing');
my ($regsec) = $out =~ /== Regressions: [^\n]*==\n(.*?)\n== /s;
like($regsec // '', $plan_re, 'text: the slowed statement is in the Regressions section');
like($out, qr/== Time windows of the whole server, the last 20 s \(UTC\) ==/, 'text: the recent windows');
like($out, qr/new plan -?\d+|regression begins/, 'text: the windows carry the marks');
unlike($out, qr/== Top queries by p99 latency.*== Regressions/s, 'text: regressions before the top queries');

# The recent period since the change: the windows wholly after it (the
# transition window's middle, about 4 s before the change, falls in the
# baseline, to which its last 0.7 s of slow executions add too few to move its
# p95), so the recent windows' most used plan is the new one.  At least two of
# them: the text report above may flag the statement after one window (its
# --since 20s reaches back into the transition window), and one window of a
# loaded machine may hold too few slow executions for the binomial test.
while ($windows_after < 2)
{
	$w = next_window($w);
	$windows_after++;
}
my $since_s = $node->safe_psql('postgres',
	"SELECT ceil(extract(epoch FROM now() - '$t_change'::timestamptz))::int");

# JSON
my $nw = $node->safe_psql('postgres', 'SET latdiag.enabled = off; SELECT count(*) FROM latdiag_windows');
($rc, $out, $err) = cli('report', '--dsn', $dsn, '--since', "${since_s}s", '--format', 'json', '--fail-on', 'regression');
is($rc, 2, 'json: exit 2 with --fail-on regression') or diag($err);
my $j = eval { decode_json($out) } || {};
is($j->{since_seconds}, $since_s, 'json: since_seconds');
ok($out =~ /"sections": \{\s*"regressions"/, 'json: regressions printed first in the sections object');
my ($reg) = grep { ($_->{query} // '') =~ $plan_re } @{ $j->{sections}{regressions}{rows} || [] };
# (factors are latdiag_regressions' to judge; a loaded machine's pg_sleep jitter shrinks them)
my $reg_ok = ($reg && $reg->{factor} > 1 && $reg->{since} && !ref($reg->{queryid})) ? 1 : 0;
ok($reg_ok, 'json: the regression row, factor ' . ($reg ? $reg->{factor} : 'none'))
  or diag(explain($j->{sections}{regressions}));
is($j->{findings}{regression} >= 1 ? 1 : 0, 1, 'json: regression finding counted');
my ($cmp) = grep { ($_->{query} // '') =~ $plan_re } @{ $j->{sections}{window_compare}{rows} || [] };
ok($cmp && $cmp->{other_plan} && $cmp->{factor} > 1 && $cmp->{baseline_calls} > 0,
	'json: window_compare: the statement runs another plan than in the baseline, factor '
	  . ($cmp ? $cmp->{factor} : 'none')) or diag(explain($j->{sections}{window_compare}));
my $tl = $j->{timeline}[0] || {};
my $ntw = scalar(@{ $tl->{windows} || [] });
ok($ntw >= 4 && abs($ntw - $nw) <= 1, "json: timeline of the server, every kept window ($ntw of $nw)");
ok(defined $tl->{recent_from} && @{ $tl->{regressions_since} || [] } >= 1, 'json: recent_from and regressions_since');
my ($st) = grep { ($_->{query} // '') =~ $plan_re } @{ $tl->{statements} || [] };
ok($st, 'json: the slowed statement has a timeline');
$st ||= { windows => [] };
ok((grep { $_->{plan_change} } @{ $st->{windows} }) >= 1, 'json: a window marked with the plan change');
ok($st->{regressed_since}, 'json: the statement\'s regression start');
my @wk = sort keys %{ $st->{windows}[0] || {} };
is_deeply(\@wk, [ sort qw(window_start window_end calls p50_ms p95_ms p99_ms plan_change) ], 'json: window keys');
my ($before) = grep { $_->{window_end} lt $j->{timeline}[0]{regressions_since}[0] } @{ $st->{windows} };
my $after = $st->{windows}[-1];
# (above, not a factor: under load the "before" windows are slow too; the
# factor rule itself is latdiag_regressions', tested in 030)
ok($before && $after->{p95_ms} > $before->{p95_ms},
	"json: p95 after ($after->{p95_ms} ms) is above before (" . ($before ? $before->{p95_ms} : '?') . ' ms)');

# HTML
my $html_file = "$tmp/since.html";
($rc, $out, $err) = cli('report', '--dsn', $dsn, '--since', "${since_s}s", '--format', 'html', '--output', $html_file);
is($rc, 0, 'html: exit 0') or diag($err);
my $html = slurp_file($html_file);
my @tl_svgs = ($html =~ /<svg class="timeline"/g);
ok(@tl_svgs >= 2, 'html: timeline SVGs for the server and the top statements (' . scalar(@tl_svgs) . ')');
like($html, qr/<line class="plan-change"/, 'html: a plan change on the time axis');
like($html, qr/<line class="regression"/, 'html: a regression on the time axis');
like($html, qr/<rect class="recent"/, 'html: the recent period shaded');
like($html, qr/<polyline class="p99"[^>]*points="[\d.]+,[\d.]+ /, 'html: p99 line');
like($html, qr/<rect class="calls"/, 'html: calls bars');
unlike($html, qr/<script/i, 'html: no script');
ok(index($html, '<section id="regressions">') < index($html, '<section id="timeline">')
	  && index($html, '<section id="timeline">') < index($html, '<section id="top_p99">'),
	'html: regressions, then the timeline, then the top queries');

SKIP:
{
	my ($chromium) = grep { -x $_ } map { ("$_/chromium", "$_/chromium-browser") }
	  split(/:/, $ENV{PATH});
	if (!$chromium)
	{
		skip 'LATDIAG_SKIP_BROWSER=1 and no chromium', 3
		  if ($ENV{LATDIAG_SKIP_BROWSER} // '') eq '1';
		fail('chromium is installed (LATDIAG_SKIP_BROWSER=1 skips this)');
		skip 'no chromium', 2;
	}
	my @chrome = ($chromium, '--headless', '--no-sandbox', '--disable-gpu',
		'--disable-dev-shm-usage', "--user-data-dir=$tmp/chrome",
		'--enable-logging=stderr', '--v=0', '--window-size=1280,2000');
	my $browse = sub {
		my ($url, @opts) = @_;
		my ($o, $e) = ('', '');
		IPC::Run::run([ @chrome, @opts, $url ], '<', \undef, '>', \$o, '2>', \$e,
			IPC::Run::timeout(120));
		return ($? >> 8, $o, $e);
	};
	my ($crc, $dom, $log) = $browse->("file://$html_file", '--dump-dom');
	my @dom_svgs = ($dom =~ /<svg class="timeline"/g);
	ok($crc == 0 && @dom_svgs == @tl_svgs, 'chromium: the DOM has every timeline SVG') or diag($log);
	is_deeply([ grep { /:CONSOLE/ } split /\n/, $log ], [], 'chromium: no console message');
	my $shot = "$tmp/since.png";
	($crc, undef, $log) = $browse->("file://$html_file", "--screenshot=$shot");
	my $png = -e $shot ? slurp_file($shot) : '';
	ok($crc == 0 && substr($png, 0, 8) eq "\x89PNG\r\n\x1a\n" && length($png) > 20000,
		'chromium: a screenshot of the page') or diag($log);
}

# top after the slowdown: sorted by regression, the statement first, with the plan mark.
($rc, $out, $err) = cli('top', '--once', '--interval', '200ms', '--sort', 'regression', '--dsn', $dsn);
is($rc, 0, 'top --once --sort regression: exit 0') or diag($err);
my ($first) = $out =~ /^ calls\/s .*\n(.*)$/m;
like($first // '', qr/^ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +(1\.[1-9]|[2-9]\.\d|\d\d+\.\d)x +P +[\d.]+  SELECT pg_sleep\(base\)/,
	'top --sort regression: the slowed statement first (of those with 20 calls), factor above 1, plan change marked')
  or diag($out);

# A 1.3 server in a report with --since: regressions not available, no failure.
($rc, $out, $err) = cli('report', '--dsn', $dsn_old, '--since', '20s');
is($rc, 0, 'report --since on a 1.3 server: exit 0') or diag($err);
like($out, qr/not available \(postgres_latdiag version 1\.3 has no latdiag_regressions\)/,
	'report --since on a 1.3 server: regressions not available, said plainly');
like($out, qr/not available \(postgres_latdiag version 1\.3 has no time windows; 1\.4 or later\)/,
	'report --since on a 1.3 server: no timeline, said plainly');

# The load ends now, not when its duration is over.
$node->safe_psql('postgres', q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity
  WHERE query LIKE 'CALL tl_plan_load%' AND pid <> pg_backend_pid()});
eval { $load->quit };
$node->stop;
done_testing();
