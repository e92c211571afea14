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

our @EXPORT = qw(@LATDIAG_READS latdiag_read_all latdiag_shmem latdiag_store_files);

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
