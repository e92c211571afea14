# Every store survives a clean restart with latdiag.save on: plans, plan
# changes, snapshots and seq scans as well as queries; a damaged file of one
# store is ignored with a LOG line while the others load.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('stores');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.snapshot_min_duration = 0
latdiag.snapshot_sample_rate = 1
latdiag.large_table_rows = 1000
max_parallel_workers_per_gather = 0
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE r (id int PRIMARY KEY, v int);
INSERT INTO r SELECT g, g % 100 FROM generate_series(1, 5000) g;
VACUUM ANALYZE r;
SELECT latdiag_reset();
});
# two plans of one statement (index, then seq scan): a plan change, a seq
# scan of a large table, snapshots of both plans
$node->safe_psql('postgres', q{
SELECT v FROM r WHERE id = 1;
SELECT v FROM r WHERE id = 2;
SET enable_indexscan = off; SET enable_bitmapscan = off;
SELECT v FROM r WHERE id = 3;
SELECT v FROM r WHERE id = 4;
});

# Only the statement under test: the reads below are statements too, and
# with every execution "slow" they would record plans and snapshots of their own.
my $state = q{
WITH q AS (SELECT queryid FROM latdiag_queries WHERE query LIKE 'SELECT v FROM r WHERE%')
SELECT (SELECT string_agg(queryid || ':' || calls, ',' ORDER BY queryid) FROM latdiag_queries WHERE queryid IN (SELECT queryid FROM q)),
       (SELECT string_agg(planid || ':' || calls, ',' ORDER BY planid) FROM latdiag_plans WHERE queryid IN (SELECT queryid FROM q)),
       (SELECT string_agg(old_planid || '>' || new_planid || ':' || changes, ',' ORDER BY old_planid) FROM latdiag_plan_changes_all() WHERE queryid IN (SELECT queryid FROM q)),
       (SELECT string_agg(snapshot_id || ':' || planid || ':' || length(plan), ',' ORDER BY snapshot_id) FROM latdiag_explain_snapshots WHERE queryid IN (SELECT queryid FROM q)),
       (SELECT string_agg(relname || ':' || calls || ':' || filter, ',' ORDER BY relname) FROM latdiag_seq_scans_all() WHERE queryid IN (SELECT queryid FROM q))
};
my $before = $node->safe_psql('postgres', $state);
my @parts = split /\|/, $before;
is(scalar(@parts), 5, 'all five stores have content before the restart');
foreach my $i (0 .. 4)
{
	ok(defined $parts[$i] && $parts[$i] ne '', "store $i is not empty: " . ($parts[$i] // ''));
}
like($parts[4], qr/^public\.r:2:\(id = 3\)$/, 'the seq scan of r is recorded with its filter');

$node->restart;
is($node->safe_psql('postgres', $state), $before, 'every store is the same after a clean restart');
my $log = slurp_file($node->logfile);
my $loaded = () = $log =~ /postgres_latdiag: loaded \d+ saved entries/g;
cmp_ok($loaded, '>=', 5, "each store's file was loaded ($loaded LOG lines)");

# damage one store's file while stopped: it alone is ignored
$node->stop;
my $plans_file = $node->data_dir . '/pg_stat/latdiag_plans.stat';
ok(-f $plans_file, 'the plans file was written at shutdown');
open(my $fh, '+<', $plans_file) or die "cannot open $plans_file: $!";
binmode $fh;
seek($fh, 40, 0);
print $fh "garbage";
close $fh;
my $offset = -s $node->logfile;
$node->start;
my $after_log = slurp_file($node->logfile, $offset);
like($after_log, qr/ignoring saved statistics file "pg_stat\/latdiag_plans\.stat": checksum mismatch/,
	'the damaged plans file is ignored with a LOG line');
my @after = split /\|/, $node->safe_psql('postgres', $state), -1;
is($after[0], $parts[0], 'queries still loaded');
is($after[1], '', 'plans empty');
is($after[3], $parts[3], 'snapshots still loaded');
is($node->safe_psql('postgres', "SELECT count(*) FROM latdiag_plans WHERE plan LIKE '%on r%'"), '0', 'plans readable, and none of the old ones came back');

$node->stop;
done_testing();
