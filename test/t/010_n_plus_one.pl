# N+1 from a real client loop: pgbench sessions run a checkout script in
# which every statement is its own round trip (the parent lists a user's
# orders, then one query per order fetches its items), with client think time
# between checkouts.  Simple, extended and prepared protocol: literals and
# bound parameters both tell the calls apart.  The episodes are recorded by
# the looping backends themselves (at the gap, and at session end) and read
# from another session.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('np');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.n_plus_one_min_time = 0
latdiag.n_plus_one_max_gap = 200ms
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE orders (id int PRIMARY KEY, user_id int);
CREATE TABLE items (id int PRIMARY KEY, order_id int REFERENCES orders, product_id int);
INSERT INTO orders SELECT g, g % 10 FROM generate_series(1, 100) g;
INSERT INTO items SELECT g, (g - 1) / 3 + 1, g FROM generate_series(1, 300) g;
CREATE INDEX ON items (order_id);
});

# The checkout: 1 parent, 8 children with distinct keys, then 1 s of think
# time (longer than latdiag.n_plus_one_max_gap, so each checkout is one
# episode).  The user's orders are uid, uid+10, ... so the parent returns 8
# rows for 8 children.
my $checkout = q{
\set uid random(1, 9)
SELECT id FROM orders WHERE user_id = :uid ORDER BY id LIMIT 8;
};
for my $k (0 .. 7)
{
	$checkout .= "\\set o :uid + " . (10 * $k) . "\n"
	  . "SELECT id, product_id FROM items WHERE order_id = :o;\n";
}
$checkout .= q{
SELECT 1 AS small_loop;
SELECT 1 AS small_loop;
SELECT 1 AS small_loop;
\sleep 1000 ms
};

foreach my $mode ('simple', 'extended', 'prepared')
{
	$node->safe_psql('postgres', 'SELECT latdiag_reset()');
	$node->pgbench(
		"-n -M $mode -c 2 -t 3",
		0,
		[qr{processed: 6/6}],
		[qr{^$}],
		"pgbench -M $mode checkout",
		{ "np_checkout_$mode" => $checkout });

	my $res = $node->safe_psql('postgres', q{
SELECT kind, toplevel, parent_query, child_query, episodes, child_calls,
       max_calls_per_episode, distinct_ratio >= 0.8, confidence > 0.99,
       total_round_trip_time > 0
  FROM latdiag_n_plus_one
 ORDER BY child_query COLLATE "C"});
	my $parent = 'SELECT id FROM orders WHERE user_id = $1 ORDER BY id LIMIT $2';
	is( $res,
		"read|t|$parent|SELECT id, product_id FROM items WHERE order_id = \$1|6|48|8|t|t|t",
		"$mode: one episode per checkout, the parent found, the 3-call loop not reported");
}

# A backend that is still looping has recorded nothing yet; its open run is
# recorded when it reads the view itself, or when its session ends.
$node->safe_psql('postgres', 'SELECT latdiag_reset()');
my $loop = $node->background_psql('postgres');
$loop->query_safe(q{SELECT id FROM orders WHERE user_id = 1 ORDER BY id});
$loop->query_safe("SELECT id FROM items WHERE order_id = $_") for (1, 11, 21, 31, 41, 51);
is($node->safe_psql('postgres', 'SELECT count(*) FROM latdiag_n_plus_one'),
	'0', 'an open run is not visible to others');
$loop->quit;
$node->poll_query_until('postgres',
	q{SELECT child_calls = 6 FROM latdiag_n_plus_one WHERE kind = 'read'})
  or die 'the open run was not recorded at session end';
pass('the open run is recorded when its session ends');

# Episodes survive a clean restart (latdiag.save).
$node->restart;
is($node->safe_psql('postgres', q{SELECT kind, child_calls FROM latdiag_n_plus_one}),
	'read|6', 'N+1 patterns kept across a clean restart');

$node->stop;
done_testing();
