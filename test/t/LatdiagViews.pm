# postgres_latdiag TAP helpers: every view and function to read, in one place.
#
# The reliability tests (churn, crashes, restarts, standby, fuzzing) read
# everything the extension exposes through this list, so a view added later
# is covered by all of them with one line here.
#
#   use FindBin;
#   use lib $FindBin::RealBin;
#   use LatdiagViews;
package LatdiagViews;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT =
  qw(@LATDIAG_READS latdiag_read_all latdiag_dump latdiag_shmem latdiag_store_files
  latdiag_connstr_off);

# One statement per view or function.  The functions that take a queryid get
# one that exists; an entry evicted between the lookup and the call is a
# clean "no statistics/snapshot" error (42704), which is not a failure.
our @LATDIAG_READS = (
	'SELECT count(*) FROM latdiag_queries',
	'SELECT count(*) FROM latdiag_queries(false)',
	'SELECT count(*) FROM latdiag_info',
	'SELECT count(*) FROM latdiag_plans',
	'SELECT count(*) FROM latdiag_plan_changes',
	'SELECT count(*) FROM latdiag_plan_changes_all()',
	'SELECT count(*) FROM latdiag_explain_snapshots',
	'SELECT count(*) FROM latdiag_seq_scans',
	'SELECT count(*) FROM latdiag_seq_scans_all()',
	'SELECT count(*) FROM latdiag_n_plus_one',
	'SELECT count(*) FROM latdiag_lock_waits',
	'SELECT count(*) FROM latdiag_lock_waits_all()',
	'SELECT count(*) FROM latdiag_lock_tree',
	'SELECT count(*) FROM latdiag_errors',
	'SELECT count(*) FROM latdiag_slow_executions',
	'SELECT count(*) FROM latdiag_index_candidates',
	'SELECT count(*) FROM latdiag_windows',
	'SELECT count(*) FROM latdiag_query_windows',
	'SELECT count(*) FROM latdiag_query_windows(false)',
	'SELECT count(*) FROM latdiag_regressions',
	'SELECT count(*) FROM latdiag_baselines',
	q{SELECT count(*) FROM latdiag_compare(now() - interval '1 hour', now(), now() - interval '2 hours', now())},
	q{SELECT length(latdiag_index_report('json')) > 0},
	q{DO $$BEGIN PERFORM * FROM latdiag_latency_histogram((SELECT queryid FROM latdiag_queries(false) WHERE queryid IS NOT NULL ORDER BY calls DESC LIMIT 1)); EXCEPTION WHEN undefined_object OR null_value_not_allowed THEN NULL; END$$},
	q{DO $$BEGIN PERFORM latdiag_explain((SELECT queryid FROM latdiag_explain_snapshots WHERE queryid IS NOT NULL ORDER BY exec_time DESC LIMIT 1)); EXCEPTION WHEN undefined_object OR null_value_not_allowed THEN NULL; END$$},
);

# Run every read once; returns (number of reads that failed, their errors).
sub latdiag_read_all
{
	my ($node, $db, %opts) = @_;
	my @errors;
	for my $sql (@LATDIAG_READS)
	{
		my ($ret, $out, $err) =
		  $node->psql($db // 'postgres', $sql, %opts);
		push @errors, "$sql: $err" if $ret != 0;
	}
	return (scalar(@errors), join("\n", @errors));
}

# A connection string to a database of the node with capture off for the
# session: what is read through it records nothing.
sub latdiag_connstr_off
{
	my ($node, $db) = @_;
	return $node->connstr($db // 'postgres') . " options='-c latdiag.enabled=off'";
}

# The whole content of every view and argument-free set-returning function of
# the extension (found in the catalog), but latdiag_backend_plans() (the
# statements running now), latdiag_slow_executions (a log of the latest
# executions, not saved across restarts), and what moves with the clock: the
# windows and regressions (test/t/032_windows_churn_restart.pl compares the
# windows across restarts), latdiag_findings (milliseconds per hour since a
# statement was first seen, and the regressions of the recent windows; every
# row of it comes from the other views, which are compared) and latdiag_info's
# count of closed windows and their rows: one line "name: md5 of its rows"
# each.
# Read with capture off for the session, so reading changes nothing.
sub latdiag_dump
{
	my ($node, $db) = @_;
	my $connstr = latdiag_connstr_off($node, $db);
	my $sources = $node->safe_psql($db // 'postgres', q{
SELECT string_agg(src, ' ' ORDER BY src) FROM (
  SELECT quote_ident(c.relname) AS src FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
   WHERE d.refclassid = 'pg_extension'::regclass AND d.classid = 'pg_class'::regclass
     AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'postgres_latdiag')
     AND c.relkind = 'v'
     AND c.relname NOT IN ('latdiag_windows', 'latdiag_query_windows', 'latdiag_regressions',
                           'latdiag_findings')
     -- a log of the latest executions, in memory only (not saved)
     AND c.relname <> 'latdiag_slow_executions'
  UNION ALL
  SELECT quote_ident(p.proname) || '()' FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
   WHERE d.refclassid = 'pg_extension'::regclass AND d.classid = 'pg_proc'::regclass
     AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'postgres_latdiag')
     AND p.proretset AND p.pronargs = p.pronargdefaults
     -- what the sessions run right now, not stored statistics; the latest
     -- executions (not saved)
     AND p.proname NOT IN ('latdiag_backend_plans', 'latdiag_slow_executions')
     -- they move with the clock: a window may close between two dumps, and
     -- regressions compare the windows of the last minutes
     AND p.proname NOT IN ('latdiag_windows', 'latdiag_query_windows', 'latdiag_regressions')) s},
		connstr => $connstr);
	my $sql = join("\nUNION ALL ",
		map { "SELECT '$_: ' || count(*) || ' rows ' || md5(coalesce(string_agg(r, '|' ORDER BY r), '')) "
			  . "FROM (SELECT (to_jsonb(t) - 'windows' - 'window_rows')::text AS r FROM $_ t) s" }
		  split / /, $sources);
	return $node->safe_psql($db // 'postgres', $sql, connstr => $connstr);
}

# The shared memory the extension uses: latdiag_info.shmem_bytes and our named
# areas in pg_shmem_allocations (name, size, allocated size), as one string.
sub latdiag_shmem
{
	my ($node) = @_;
	return $node->safe_psql('postgres', q{
SELECT (SELECT shmem_bytes FROM latdiag_info) || E'\n' ||
       string_agg(name || ':' || size || ':' || allocated_size, E'\n' ORDER BY name)
  FROM pg_shmem_allocations WHERE name LIKE 'postgres_latdiag%'});
}

# The saved statistics files of every store (pg_stat/latdiag*.stat).
sub latdiag_store_files
{
	my ($node) = @_;
	return sort glob($node->data_dir . '/pg_stat/latdiag*.stat');
}

1;
