# postgres_latdiag: the `latdiag` command-line report against a real preloaded
# server.  Every format; the JSON parses with the documented shape; sections of
# views this version lacks say "not available" (and render, against stub views
# with the documented columns, where the version lacks them); fleet mode with a
# server down and one without the extension; --fail-on exit codes; bad
# arguments; the HTML page in headless Chromium (screenshot, SVG charts in the
# DOM, no console message).  Chromium missing is a failure unless
# LATDIAG_SKIP_BROWSER=1.
use strict;
use warnings;
use IPC::Run;
use Time::HiRes qw(usleep);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $bindir = `pg_config --bindir`;
chomp $bindir;
my $latdiag = "$bindir/latdiag";
ok(-x $latdiag, "latdiag is installed in the bindir ($latdiag)")
  or BAIL_OUT('latdiag is not installed');

my $node = PostgreSQL::Test::Cluster->new('cli');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'postgres_latdiag'\n"
	  . "max_parallel_workers_per_gather = 0\n"
	  . "latdiag.snapshot_min_duration = 20\n"
	  . "latdiag.snapshot_sample_rate = 1\n");
$node->start;

my $tmp = PostgreSQL::Test::Utils::tempdir;

# A large unindexed table read by a selective filter (a seq-scan finding), a
# statement with a slow tail (a histogram worth drawing, and a snapshot), and
# a table whose name would be markup if the HTML were not escaped.
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE big (id int, k int);
INSERT INTO big SELECT g, g % 1000 FROM generate_series(1, 50000) g;
ANALYZE big;
CREATE TABLE "<script>x</script>" (a int);
INSERT INTO "<script>x</script>" VALUES (1);
});
$node->safe_psql('postgres', 'SELECT latdiag_reset()');
$node->safe_psql('postgres',
	join('', map { "SELECT count(*) FROM big WHERE k = $_;\n" } 1 .. 20));
$node->safe_psql('postgres',
	join('',
		map { "SELECT pg_sleep(" . ($_ % 10 == 0 ? '0.03' : '0.001') . ");\n" } 1 .. 40));
$node->safe_psql('postgres', 'SELECT a, pg_sleep(0.05) FROM "<script>x</script>"');
# A statement whose text is longer than any terminal line.
our $longq_text = 'SELECT count(*) AS ' . join(', count(*) AS ', map { "a_rather_long_column_alias_$_" } 1 .. 6)
  . ' FROM big WHERE k = $1';
(my $longq = $longq_text) =~ s/\$1/7/;
$node->safe_psql('postgres', $longq);

# A database without the extension, and one with it in another schema, where
# views this version lacks are stubbed with their documented columns.
$node->safe_psql('postgres', 'CREATE DATABASE noext');
$node->safe_psql('postgres', 'CREATE DATABASE stubbed');
$node->safe_psql('stubbed',
	'CREATE SCHEMA diag; CREATE EXTENSION postgres_latdiag SCHEMA diag');
my %stub = (
	latdiag_n_plus_one => q{SELECT 16384::oid AS dbid, 10::oid AS userid,
		'read'::text AS kind, true AS toplevel, 1::bigint AS parent_queryid,
		'SELECT id FROM orders WHERE user_id = $1'::text AS parent_query,
		2::bigint AS child_queryid,
		'SELECT * FROM order_items WHERE order_id = $1'::text AS child_query,
		3::bigint AS episodes, 60::bigint AS child_calls,
		20::float8 AS avg_calls_per_episode, 25::bigint AS max_calls_per_episode,
		120.5::float8 AS total_round_trip_time, 12.25::float8 AS child_exec_time,
		now() AS last_seen,
		'fetch all rows with ... WHERE order_id = ANY($1)'::text AS suggestion},
	latdiag_lock_waits => q{SELECT 16384::oid AS dbid, 10::oid AS userid,
		3::bigint AS queryid, 'UPDATE products SET stock = $1'::text AS query,
		'transactionid'::text AS locktype, 'ShareLock'::text AS mode,
		NULL::oid AS relid, NULL::text AS relname, 4::bigint AS waits,
		0::bigint AS cancelled, 600.0::float8 AS total_wait_time,
		300.0::float8 AS max_wait_time, 150.0::float8 AS mean_wait_time,
		5::bigint AS blocker_queryid, 'UPDATE products SET stock = stock + $1'::text AS blocker_query,
		'idle in transaction'::text AS blocker_state, now() AS last_seen},
	latdiag_lock_tree => q{SELECT 1 AS level, 100 AS pid, NULL::int AS blocked_by,
		'idle in transaction'::text AS state, 2500.0::float8 AS waiting_ms,
		'UPDATE products SET stock = stock + $1'::text AS query},
	latdiag_index_candidates => q{SELECT 16384::oid AS dbid, 16400::oid AS relid,
		'public.order_items'::text AS relname, ARRAY['product_id']::text[] AS columns,
		'CREATE INDEX CONCURRENTLY ON public.order_items (product_id)'::text AS index_def,
		ARRAY[6::bigint] AS queryids, 40::bigint AS calls,
		2500.0::float8 AS est_cost_before, 8.3::float8 AS est_cost_after,
		0.99::float8 AS est_improvement, 3407872::bigint AS est_size_bytes,
		'low'::text AS write_overhead, 'seq scan of 150000 rows keeps 150'::text AS reason});
my %stubbed;
for my $view (sort keys %stub)
{
	my $exists = $node->safe_psql('stubbed',
		"SELECT to_regclass('diag.$view') IS NOT NULL");
	next if $exists eq 't';
	$node->safe_psql('stubbed', "CREATE VIEW diag.$view AS $stub{$view}");
	$stubbed{$view} = 1;
}

# Run latdiag; returns (exit status, stdout, stderr).
sub cli
{
	my @args = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $latdiag, @args ], '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

my $dsn = $node->connstr('postgres');
my $ver = $node->safe_psql('postgres',
	"SELECT extversion FROM pg_extension WHERE extname = 'postgres_latdiag'");
my @future = qw(latdiag_n_plus_one latdiag_lock_waits latdiag_lock_tree
  latdiag_index_candidates);
my %has;
$has{$_} = $node->safe_psql('postgres', "SELECT to_regclass('$_') IS NOT NULL") eq 't'
  for @future;

# ------------------------------------------------------------------ text
my ($rc, $out, $err) = cli('report', '--dsn', $dsn);
is($rc, 0, 'text: exit 0') or diag($err);
like($out, qr/== Top queries by p99 latency \(ms\) ==/, 'text: top p99 section');
like($out, qr/== Top queries by total time \(ms\) ==/, 'text: top total section');
like($out, qr/public\.big\b(.*|\n(  \S.*\n)*?  query +)SELECT count\(\*\) FROM big WHERE k = \$1/,
	'text: the seq scan of big, with its statement');
like($out, qr/SELECT pg_sleep\(\$1\)/, 'text: the slow statement');
like($out, qr/== Findings ==\n(.*\n)*?\s+1\. \[(high|medium|low)\] \w+, about \d+ ms\/hour\n\s+statement +queryid -?\d+.*\n\s+evidence .*\n(.*\n)*?\s+fix /,
	'text: the findings, ranked, each with its evidence and fix');
like($out, qr/fix +CREATE INDEX ON public\.big \(k\)/, 'text: the seq scan finding gives the CREATE INDEX');
unlike($out, qr/latdiag-cli/, "text: the report leaves out its own queries");
for my $v (@future)
{
	if ($has{$v})
	{
		unlike($out, qr/has no $v\b/, "text: $v exists and is read");
	}
	else
	{
		like($out, qr/not available \(postgres_latdiag version \Q$ver\E has no $v\)/,
			"text: $v is not available in $ver, said plainly");
	}
}
like($out, qr/== Slowest EXPLAIN ANALYZE snapshot of each top query ==\n\n  queryid -?\d+, [\d.]+ ms/,
	'text: the snapshot of a top query');


# ------------------------------------------------ fitting the terminal
# Not a terminal: 120 columns (the snapshots' plans and the server's own
# index report text are printed as they are).
my ($tables) = $out =~ /\A(.*?)== Slowest EXPLAIN/s;
my @long = grep { length($_) > 120 } split /\n/, $tables // $out;
is_deeply(\@long, [], 'text: no table line is longer than 120 columns when not a terminal');
like($out, qr/\.\.\./, 'text: long texts are cut, with "..."');
unlike($out, qr/\Q$longq_text\E/, 'text: the long statement is not printed in full');
($rc, $out, $err) = cli('report', '--dsn', $dsn, '--wide');
is($rc, 0, '--wide: exit 0');
like($out, qr/\Q$longq_text\E/, '--wide: the long statement in full');

# Under tmux, 80 columns: the report fits the terminal.
SKIP:
{
	skip 'no tmux', 2 if system('command -v tmux >/dev/null 2>&1') != 0;
	my $sock = "$tmp/tmux.sock";
	my $done = "$tmp/tmux.done";
	system('tmux', '-S', $sock, 'new-session', '-d', '-x', '80', '-y', '50',
		"$latdiag report --dsn '$dsn' --top 3; echo \$? > $done; sleep 60");
	for (1 .. 200) { last if -e $done; usleep(100_000); }
	my $screen = `tmux -S $sock capture-pane -p -J -S -1000`;
	system('tmux', '-S', $sock, 'kill-server');
	like($screen, qr/== Top queries by p99 latency/, 'tmux: the report is on the screen');
	my ($tt) = $screen =~ /\A(.*?)(?:== Slowest EXPLAIN|\z)/s;
	my @wide = grep { length($_) > 80 } split /\n/, $tt;
	is_deeply(\@wide, [], 'tmux: no table line wider than the 80-column terminal');
}

# -------------------------------------------------------------- markdown
($rc, $out, $err) = cli('report', '--dsn', $dsn, '--format', 'markdown');
is($rc, 0, 'markdown: exit 0') or diag($err);
like($out, qr/^## Top queries by p99 latency \(ms\)$/m, 'markdown: heading');
like($out, qr/^\| queryid \| database \| calls \| p50\\_ms \|/m, 'markdown: table header');
like($out, qr/^1\. \*\*(high|medium|low)\*\* `\w+`, about \d+ ms\/hour\n   - statement: .*\n   - evidence: .*\n   - fix: /m,
	'markdown: the ranked findings as a numbered list');
like($out, qr/^\|---\|---\|---:\|---:\|/m, 'markdown: alignment row');
like($out, qr/\\<script\\>x\\<\/script\\>/, 'markdown: markup is escaped');

# ------------------------------------------------------------------ JSON
($rc, $out, $err) = cli('report', '--dsn', $dsn, '--format', 'json', '--top', '5');
is($rc, 0, 'json: exit 0') or diag($err);
my $j = eval { decode_json($out) };
ok($j, 'json: parses') or diag("$@\n" . substr($out, 0, 2000));
$j ||= {};
is_deeply([ sort keys %$j ],
	[ sort qw(format_version generator generated_at top since_seconds fail_on exit_code findings servers sections timeline histograms) ],
	'json: top-level keys');
is($j->{format_version}, 1, 'json: format_version 1');
is($j->{top}, 5, 'json: top');
is_deeply([ sort keys %{ $j->{sections} } ],
	[ sort qw(top_p99 top_total sources plan_changes seq_scans n_plus_one lock_waits lock_tree index_candidates snapshots errors slow_executions ranked_findings regressions window_compare) ],
	'json: every section');
is_deeply([ sort keys %{ $j->{findings} } ],
	[ sort qw(n_plus_one seq_scan index lock errors regression tail deep_offset unbounded_read) ],
	'json: every finding');
my @ranked = @{ $j->{sections}{ranked_findings}{rows} || [] };
ok(@ranked >= 1 && @ranked <= 5, 'json: ranked findings, at most --top');
my ($rseq) = grep { $_->{kind} eq 'seq_scan' } @ranked;
ok($rseq && $rseq->{fix} =~ /CREATE INDEX/ && $rseq->{detail_view} eq 'latdiag_seq_scans',
	'json: the seq scan is a ranked finding, with its fix');
my @costs = map { $_->{est_ms_per_hour} } @ranked;
is_deeply(\@costs, [ sort { $b <=> $a } @costs ], 'json: ranked findings, the most expensive first');
my $srv = $j->{servers}[0];
is($srv->{status}, 'ok', 'json: server ok');
is($srv->{extension_version}, $ver, 'json: extension version');
ok($srv->{info} && defined $srv->{info}{entries}, 'json: latdiag_info');
for my $v (@future)
{
	(my $key = $v) =~ s/^latdiag_//;
	is($srv->{sections}{$key}{status}, $has{$v} ? 'ok' : 'not_available',
		"json: section $key status matches the catalog");
}
my @top = @{ $j->{sections}{top_p99}{rows} || [] };
ok(@top >= 2 && @top <= 5, 'json: top_p99 has rows, at most --top');
is_deeply([ sort keys %{ $top[0] || {} } ],
	[ sort qw(server queryid database calls p50_ms p95_ms p99_ms max_ms mean_ms total_ms query) ],
	'json: top_p99 row keys');
ok(!ref($top[0]{queryid}) && $top[0]{queryid} =~ /^-?\d+$/, 'json: queryid is a string of digits');
my ($sleep) = grep { $_->{query} eq 'SELECT pg_sleep($1)' } @top;
ok($sleep, 'json: the slow statement is a top query');
$sleep ||= {};
is($sleep->{calls}, 40, 'json: calls is a number');
ok($sleep->{p50_ms} < $sleep->{p99_ms}, 'json: p50 < p99 for the slow tail');
my ($scan) = grep { ($_->{relname} // '') eq 'public.big' } @{ $j->{sections}{seq_scans}{rows} };
ok($scan && $scan->{calls} == 20 && $scan->{filter_columns} eq 'k',
	'json: seq scan of big, 20 calls, filter column k');
is($j->{findings}{seq_scan} >= 1 ? 1 : 0, 1, 'json: seq_scan finding counted');
my ($h) = grep { $_->{queryid} eq ($sleep->{queryid} // '') } @{ $j->{histograms} };
ok($h, 'json: histogram of the slow statement');
$h ||= { buckets => [] };
my $n = 0;
$n += $_->{count} for @{ $h->{buckets} };
is($n, 40, 'json: its buckets hold every execution');
ok(@{ $h->{buckets} } >= 2 && $h->{p99_ms} > 20, 'json: the histogram has its tail and marks');
my ($snap) = grep { $_->{queryid} eq ($sleep->{queryid} // '') } @{ $j->{sections}{snapshots}{rows} };
ok($snap && $snap->{exec_ms} >= 20 && $snap->{plan} =~ /Result/,
	'json: the slowest snapshot of the slow statement, with its plan');

# ----------------------------------------------- stubbed views (documented columns)
($rc, $out, $err) = cli('report', '--dsn', $node->connstr('stubbed'), '--format', 'json');
$j = eval { decode_json($out) } || {};
is($j->{servers}[0]{status}, 'ok', 'stubbed: extension found in schema diag');
for my $v (@future)
{
	(my $key = $v) =~ s/^latdiag_//;
	is($j->{servers}[0]{sections}{$key}{status}, 'ok', "stubbed: section $key read")
	  or diag($j->{servers}[0]{sections}{$key}{message});
	if ($stubbed{$v})
	{
		is(scalar @{ $j->{sections}{$key}{rows} }, 1, "stubbed: section $key has the stub's row");
	}
}
if ($stubbed{latdiag_index_candidates})
{
	is($j->{sections}{index_candidates}{rows}[0]{index_def},
		'CREATE INDEX CONCURRENTLY ON public.order_items (product_id)',
		'stubbed: the CREATE INDEX statement is in the report');
}
for my $f ([ 'n_plus_one', 'latdiag_n_plus_one' ], [ 'lock', 'latdiag_lock_waits' ],
	[ 'index', 'latdiag_index_candidates' ])
{
	next unless $stubbed{ $f->[1] };
	($rc) = cli('report', '--dsn', $node->connstr('stubbed'), '--fail-on', $f->[0]);
	is($rc, 2, "--fail-on $f->[0]: exit 2 with a finding");
}

# ------------------------------------------------------------------ HTML
my $html_file = "$tmp/report.html";
($rc, $out, $err) = cli('report', '--dsn', $dsn, '--format', 'html', '--output', $html_file);
is($rc, 0, 'html: exit 0') or diag($err);
is($out, '', 'html: nothing on stdout with --output');
my $html = slurp_file($html_file);
like($html, qr/^<!DOCTYPE html>/, 'html: a page');
like($html, qr{<section id="findings"><h2>Findings</h2>\n<ol class="ranked">\n<li><b>(high|medium|low)</b> <code>\w+</code>, about \d+ ms/hour.*<dt>fix</dt><dd><code>}s,
	'html: the ranked findings, each with its fix');
my @svgs = ($html =~ /<svg class="hist"/g);
ok(@svgs >= 2, 'html: SVG histograms (' . scalar(@svgs) . ')');
like($html, qr/<text[^>]*>p99 [\d.]+ ms<\/text>/, 'html: p99 mark');
unlike($html, qr/<script/i, 'html: no script, and markup in data is escaped');
like($html, qr/&lt;script&gt;x&lt;\/script&gt;/, 'html: the table name shows escaped');
my @ext = grep { !/^(#|data:)/ } ($html =~ /(?:src|href)="([^"]*)"/g);
is_deeply(\@ext, [], 'html: no external asset');
for my $sec (qw(top_p99 top_total plan_changes seq_scans n_plus_one lock_waits lock_tree index_candidates snapshots))
{
	like($html, qr/<section id="$sec">/, "html: section $sec");
}

# --------------------------------------------------------------- Chromium
SKIP:
{
	my ($chromium) = grep { -x $_ } map { ("$_/chromium", "$_/chromium-browser") }
	  split(/:/, $ENV{PATH});
	if (!$chromium)
	{
		skip 'LATDIAG_SKIP_BROWSER=1 and no chromium', 6
		  if ($ENV{LATDIAG_SKIP_BROWSER} // '') eq '1';
		fail('chromium is installed (the suite installs Debian package chromium; '
			  . 'LATDIAG_SKIP_BROWSER=1 skips this)');
		skip 'no chromium', 5;
	}
	my @chrome = ($chromium, '--headless', '--no-sandbox', '--disable-gpu',
		'--disable-dev-shm-usage', "--user-data-dir=$tmp/chrome",
		'--enable-logging=stderr', '--v=0', '--window-size=1280,2000');
	# Console messages (errors, uncaught exceptions) are logged as ":CONSOLE".
	my $browse = sub {
		my ($url, @opts) = @_;
		my ($o, $e) = ('', '');
		IPC::Run::run([ @chrome, @opts, $url ], '<', \undef, '>', \$o, '2>', \$e,
			IPC::Run::timeout(120));
		return ($? >> 8, $o, $e);
	};
	my ($crc, $dom, $log) = $browse->("file://$html_file", '--dump-dom');
	is($crc, 0, 'chromium: loads the page') or diag($log);
	my @dom_svgs = ($dom =~ /<svg class="hist"/g);
	is(scalar @dom_svgs, scalar @svgs, 'chromium: the DOM has every SVG chart');
	my @console = grep { /:CONSOLE/ } split /\n/, $log;
	is_deeply(\@console, [], 'chromium: no console message');

	my $shot = "$tmp/report.png";
	($crc, undef, $log) = $browse->("file://$html_file", "--screenshot=$shot");
	my $png = -e $shot ? slurp_file($shot) : '';
	ok($crc == 0 && substr($png, 0, 8) eq "\x89PNG\r\n\x1a\n" && length($png) > 20000,
		'chromium: a screenshot of the page') or diag($log);

	# The console check can fail: a page with a console error is caught.
	my $bad = "$tmp/bad.html";
	open(my $fh, '>', $bad) or die "could not write $bad: $!";
	print $fh '<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body>'
	  . '<script>console.error("broken");</script></body></html>';
	close $fh;
	(undef, undef, $log) = $browse->("file://$bad", '--dump-dom');
	ok((grep { /:CONSOLE/ } split /\n/, $log), 'chromium: a console error is detected');
	ok(1, 'chromium checks ran');
}

# ------------------------------------------------------------------ fleet
my $closed = PostgreSQL::Test::Cluster::get_free_port();
my $down = "host=127.0.0.1 port=$closed dbname=postgres connect_timeout=5";
($rc, $out, $err) = cli('report', '--format', 'json', '--dsn', $dsn, '--dsn', $down,
	'--dsn', $node->connstr('noext'), '--dsn', $node->connstr('stubbed'));
$j = eval { decode_json($out) } || {};
is(scalar @{ $j->{servers} || [] }, 4, 'fleet: four servers');
is_deeply([ map { $_->{status} } @{ $j->{servers} } ], [ 'ok', 'down', 'no_extension', 'ok' ],
	'fleet: one down, one without the extension, the rest read');
like($j->{servers}[1]{message} // '', qr/port $closed failed/, 'fleet: why it is down');
my %labels = map { $_->{server} => 1 } @{ $j->{sections}{top_p99}{rows} || [] };
ok($labels{ $j->{servers}[0]{server} } && $labels{ $j->{servers}[3]{server} },
	'fleet: rows of both readable servers, with a server column');
is($rc, 3, 'fleet: exit 3 when a server could not be read');
like($err, qr/127\.0\.0\.1:$closed\/postgres: down/, 'fleet: the down server on stderr');
($rc, $out) = cli('report', '--dsn', $dsn, '--dsn', $down);
# (the fleet's tables are wider than 120 columns: one record after another)
like($out, qr/127\.0\.0\.1:$closed\/postgres(\s+status)?\s+down/, 'fleet text: the down server is marked');
like($out, qr/^  server\s+queryid\s+database|^  server +\S+\n  queryid +-?\d+\n  database /m,
	'fleet text: a server column');
like($out, qr/SELECT pg_sleep\(\$1\)/, 'fleet text: the rest still prints');

# ---------------------------------------------------------- bad arguments
for my $args ([], ['report', '--format', 'xml'], ['report', '--top', '0'],
	['report', '--fail-on', 'bogus'], ['report', 'extra'], ['report', '--bogus'],
	['explain'], ['report', '--top'])
{
	($rc, $out, $err) = cli(@$args);
	is($rc, 1, "bad arguments (@$args): exit 1");
	like($err, qr/Usage:\n  latdiag report/, "bad arguments (@$args): usage on stderr");
}
($rc, $out) = cli('--help');
ok($rc == 0 && $out =~ /Usage:/, '--help: usage on stdout, exit 0');

# ---------------------------------------------------------------- --fail-on
($rc, $out, $err) = cli('report', '--dsn', $dsn, '--fail-on', 'seq_scan');
is($rc, 2, '--fail-on seq_scan: exit 2 with a seq-scan finding');
like($out, qr/--fail-on: failing/, '--fail-on: the report says so');
($rc) = cli('report', '--dsn', $dsn, '--fail-on', 'seq_scan', '--format', 'json');
is($rc, 2, '--fail-on seq_scan: exit 2 in every format');
$node->safe_psql('postgres', 'SELECT latdiag_reset()');
$node->safe_psql('postgres', 'CREATE INDEX ON big (k)');
$node->safe_psql('postgres',
	join('', map { "SELECT count(*) FROM big WHERE k = $_;\n" } 1 .. 20));
($rc, $out, $err) = cli('report', '--dsn', $dsn, '--fail-on', 'seq_scan');
is($rc, 0, '--fail-on seq_scan: exit 0 once the index is there') or diag($out);

# ------------------------------------- --fail-on with the real N+1, lock and index views
SKIP:
{
	skip 'this version lacks the N+1, lock-wait or index views', 7
	  unless $has{latdiag_n_plus_one} && $has{latdiag_lock_waits}
	  && $has{latdiag_index_candidates};

	$node->safe_psql('postgres', 'SELECT latdiag_reset()');
	($rc, $out) = cli('report', '--dsn', $dsn, '--fail-on', 'n_plus_one,lock,index');
	is($rc, 0, '--fail-on n_plus_one,lock,index: exit 0 without findings') or diag($out);

	# an N+1 loop: one statement per order, each its own round trip
	$node->safe_psql('postgres', q{
CREATE TABLE orders (id int PRIMARY KEY, user_id int);
INSERT INTO orders SELECT g, g % 10 FROM generate_series(1, 100) g;
SET latdiag.n_plus_one_min_time = 0;
SELECT format('SELECT user_id FROM orders WHERE id = %s', g) FROM generate_series(1, 10) g \gexec
});
	($rc, $out) = cli('report', '--dsn', $dsn, '--fail-on', 'n_plus_one');
	is($rc, 2, '--fail-on n_plus_one: exit 2 with an N+1 loop') or diag($out);
	like($out, qr/SELECT user_id FROM orders WHERE id = \$1/, 'the N+1 section shows the loop');

	# a row-lock wait: one session holds the row for 300 ms
	my $holder = $node->background_psql('postgres');
	$holder->query_safe('BEGIN; UPDATE orders SET user_id = 0 WHERE id = 1');
	my $waiter = $node->background_psql('postgres', wait => 0);
	$waiter->query_until(qr/started/, "\\echo started\nUPDATE orders SET user_id = 1 WHERE id = 1;\n");
	$node->poll_query_until('postgres',
		q{SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock'})
	  or diag('the waiter never waited');
	usleep(300_000);
	$holder->query_safe('COMMIT');
	$holder->quit;
	$waiter->quit;
	$node->poll_query_until('postgres', 'SELECT count(*) > 0 FROM latdiag_lock_waits')
	  or diag('no lock wait recorded');
	($rc, $out) = cli('report', '--dsn', $dsn, '--fail-on', 'lock');
	is($rc, 2, '--fail-on lock: exit 2 with a lock wait') or diag($out);
	like($out, qr/UPDATE orders SET user_id = \$1 WHERE id = \$2/, 'the lock section shows the waiter');

	# a missing index: a selective filter on a 50,000-row table, 20 times
	$node->safe_psql('postgres', 'DROP INDEX big_k_idx');
	$node->safe_psql('postgres',
		join('', map { "SELECT count(*) FROM big WHERE k = $_;\n" } 1 .. 20));
	($rc, $out) = cli('report', '--dsn', $dsn, '--fail-on', 'index');
	is($rc, 2, '--fail-on index: exit 2 with an index candidate') or diag($out);
	like($out, qr/CREATE INDEX CONCURRENTLY ON public\.big \(k\)/,
		'the index section gives the CREATE INDEX statement');
}

# ------------------------------------------------ errors and slow executions
SKIP:
{
	skip 'this version lacks latdiag_errors', 7
	  unless $node->safe_psql('postgres', "SELECT to_regclass('latdiag_errors') IS NOT NULL") eq 't';

	$node->safe_psql('postgres', 'SELECT latdiag_reset()');
	($rc, $out) = cli('report', '--dsn', $dsn, '--fail-on', 'errors');
	is($rc, 0, '--fail-on errors: exit 0 without errors') or diag($out);
	$node->psql('postgres',
		q{SELECT 1 / (k - k) AS failing /*traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'*/ FROM big LIMIT 1});
	($rc, $out) = cli('report', '--dsn', $dsn, '--fail-on', 'errors');
	is($rc, 2, '--fail-on errors: exit 2 after a failed statement') or diag($out);
	like($out, qr/== Errors: failed executions by statement and SQLSTATE ==/, 'text: errors section');
	# (a table, or one record after another when it is wider than 120 columns)
	like($out, qr/22012\b(.*|\n(  \S.*\n)*?  message +)division by zero/,
		'the errors section shows the SQLSTATE and message');
	($rc, $out) = cli('report', '--dsn', $dsn, '--format', 'json');
	$j = eval { decode_json($out) } || {};
	is($j->{findings}{errors}, 1, 'json: one errors finding');
	is($j->{sections}{errors}{rows}[0]{sqlstate}, '22012', 'json: the error row');
	is($j->{sections}{slow_executions}{rows}[0]{trace_id}, '4bf92f3577b34da6a3ce929d0e0e4736',
		'json: the failed execution in slow_executions with its trace id');
}

$node->stop;
done_testing();
