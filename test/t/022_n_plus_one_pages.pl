# N+1 on the page shapes ORMs send (issue 17), in the simple protocol (literals
# inlined) and the extended one (bind parameters), on a Sequelize-style schema
# with mixed-case identifiers:
#   - two relations per row: orders -> per order its user, then its items ->
#     per item its product (a nested loop): every lazy statement counted in
#     an episode of the right parent;
#   - a row-by-row import into tables with immediate and deferred foreign
#     keys, and a bulk INSERT ... SELECT: no N+1 row from the RI checks;
#   - a latdiag_reset() in the middle of a loop;
#   - a parentless loop of slow calls: kind read_loop, not read;
#   - distinct_ratio at 10 and 100,000 calls with known duplicate rates.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('np_pages');
$node->init;
# track = all: the RI checks of immediate foreign keys (nested statements)
# are captured too, so leaving them out of N+1 is tested
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'postgres_latdiag'
latdiag.track = all
latdiag.n_plus_one_min_time = 0
latdiag.n_plus_one_max_gap = 400ms
});
$node->start;

# 2,000 orders of 500 users; order o has 2 + o % 3 items, each a different
# product.  20 consecutive orders belong to 20 different users.
$node->safe_psql('postgres', q{
CREATE EXTENSION postgres_latdiag;
CREATE TABLE "Users" (id int PRIMARY KEY, email text);
CREATE TABLE "Products" (id int PRIMARY KEY, name text);
CREATE TABLE "Orders" (id int PRIMARY KEY, "userId" int REFERENCES "Users");
CREATE TABLE "OrderItems" (id serial PRIMARY KEY,
  "orderId" int REFERENCES "Orders",
  "productId" int REFERENCES "Products" DEFERRABLE INITIALLY DEFERRED);
CREATE INDEX ON "OrderItems" ("orderId");
INSERT INTO "Users" SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 500) g;
INSERT INTO "Products" SELECT g, 'product ' || g FROM generate_series(1, 20000) g;
INSERT INTO "Orders" SELECT g, g % 500 + 1 FROM generate_series(1, 2000) g;
INSERT INTO "OrderItems" ("orderId", "productId")
  SELECT o, (o * 4 + k) % 20000 + 1 FROM generate_series(1, 2000) o,
         generate_series(1, 4) k WHERE k <= 2 + o % 3 ORDER BY o, k;
CREATE TABLE staging (id int, "orderId" int, "productId" int);
INSERT INTO staging SELECT g, g % 2000 + 1, g % 20000 + 1 FROM generate_series(1, 30) g;
});

my %items;    # order id -> [ item ids, product ids ]
for my $row (split /\n/, $node->safe_psql('postgres',
	q{SELECT "orderId", id, "productId" FROM "OrderItems" ORDER BY "orderId", id}))
{
	my ($o, $i, $p) = split /\|/, $row;
	push @{ $items{$o} }, [ $i, $p ];
}

my $P = q{SELECT id, "userId" FROM "Orders" WHERE id <= %d ORDER BY id DESC LIMIT 20};
my $U = q{SELECT id, email FROM "Users" WHERE id = %s};
my $I = q{SELECT id, "productId" FROM "OrderItems" WHERE "orderId" = %s};
my $R = q{SELECT id, name FROM "Products" WHERE id = %s};

# A pgbench script of $pages pages, each ending with a pause longer than the
# gap: per page the parent, then per order its user, its items and per item
# its product, each statement its own round trip.  Variables are inlined by
# -M simple and bound as parameters by -M extended.  Returns the script and
# the number of lazy (child) statements.
sub page_script
{
	my ($first, $pages) = @_;
	my ($script, $lazy) = ('', 0);
	for my $page (0 .. $pages - 1)
	{
		my $top = $first - 20 * $page;
		$script .= "\\set top $top\n" . sprintf($P, 0) =~ s/<= 0/<= :top/r . ";\n";
		for my $o (reverse($top - 19 .. $top))
		{
			my $u = $o % 500 + 1;
			$script .= "\\set u $u\n" . sprintf($U, ':u') . ";\n";
			$script .= "\\set o $o\n" . sprintf($I, ':o') . ";\n";
			$lazy += 2;
			for my $it (@{ $items{$o} })
			{
				$script .= "\\set p $it->[1]\n" . sprintf($R, ':p') . ";\n";
				$lazy++;
			}
		}
		$script .= "\\sleep 700 ms\n";
	}
	return ($script, $lazy);
}

# Episodes are recorded by the looping backend when its session ends, which
# may come just after the client is gone: wait for them.
sub wait_for
{
	my ($sql) = @_;
	$node->poll_query_until('postgres', $sql) or die "timed out: $sql";
}

sub n1_rows
{
	my ($fn) = @_;
	return $node->safe_psql('postgres', qq{
SELECT kind, coalesce(parent_query, '-'), child_query, episodes, child_calls,
       round(confidence::numeric, 2)
  FROM $fn ORDER BY child_query COLLATE "C", parent_query COLLATE "C"});
}

# ------------------------------------------------ the two-relation page
my $n_p = q{SELECT id, "userId" FROM "Orders" WHERE id <= $1 ORDER BY id DESC LIMIT $2};
my $n_u = q{SELECT id, email FROM "Users" WHERE id = $1};
my $n_i = q{SELECT id, "productId" FROM "OrderItems" WHERE "orderId" = $1};
my $n_r = q{SELECT id, name FROM "Products" WHERE id = $1};
foreach my $mode ('simple', 'extended')
{
	$node->safe_psql('postgres', 'SELECT latdiag_reset()');
	my ($script, $lazy) = page_script(2000, 3);
	$node->pgbench("-n -M $mode -c 1 -t 1", 0, [qr{processed: 1/1}], [qr{^$}],
		"pgbench -M $mode: 3 pages of orders, users, items, products",
		{ "np_page_$mode" => $script });
	wait_for(q{SELECT count(*) = 3 AND min(episodes) = 3 FROM latdiag_n_plus_one});

	# counted with the right parent: users and items per order, products per item
	my $counted = $node->safe_psql('postgres', qq{
SELECT coalesce(sum(child_calls), 0) FROM latdiag_n_plus_one
 WHERE kind = 'read' AND (
       (parent_query = '$n_p' AND child_query IN ('$n_u', '$n_i'))
    OR (parent_query = '$n_i' AND child_query = '$n_r'))});
	my $share = $counted / $lazy;
	note sprintf("%s: %d of %d lazy statements (%.1f%%) counted with the right parent",
		$mode, $counted, $lazy, 100 * $share);
	cmp_ok($share, '>=', 0.99,
		"$mode: >= 99% of the page's lazy statements counted with the right parent ($counted/$lazy)");
	is(n1_rows('latdiag_n_plus_one'), join("\n",
		"read|$n_p|$n_i|3|60|1.00",
		"read|$n_p|$n_u|3|60|1.00",
		"read|$n_i|$n_r|3|" . ($lazy - 120) . "|1.00"),
		"$mode: three loops, each with the parent whose rows drive it, exact confidence");
}

# ------------------------------------------------ foreign keys: row by row, bulk
# A row-by-row import (the staging rows, then one INSERT per row) in one
# transaction: the immediate check of "orderId" runs as each INSERT ends, the
# deferred one of "productId" at COMMIT, both through SPI inside a trigger.
# Then a page: its parent must be the page's query, not an RI check.
$node->safe_psql('postgres', 'SELECT latdiag_reset()');
my $import = "BEGIN;\nSELECT id, \"orderId\", \"productId\" FROM staging ORDER BY id;\n";
for my $row (split /\n/, $node->safe_psql('postgres',
	q{SELECT "orderId", "productId" FROM staging ORDER BY id}))
{
	my ($o, $p) = split /\|/, $row;
	$import .= "\\set o $o\n\\set p $p\n"
	  . "INSERT INTO \"OrderItems\" (\"orderId\", \"productId\") VALUES (:o, :p);\n";
}
$import .= "COMMIT;\n";
my ($page, $page_lazy) = page_script(1000, 1);
foreach my $mode ('simple', 'extended')
{
	$node->safe_psql('postgres', 'SELECT latdiag_reset()');
	$node->pgbench("-n -M $mode -c 1 -t 1", 0, [qr{processed: 1/1}], [qr{^$}],
		"pgbench -M $mode: row-by-row import with immediate and deferred FKs, then a page",
		{ "np_import_$mode" => $import . $page });
	wait_for(q{SELECT count(*) = 3 FROM latdiag_n_plus_one WHERE kind = 'read'});
	my $ins = q{INSERT INTO "OrderItems" ("orderId", "productId") VALUES ($1, $2)};
	is( $node->safe_psql('postgres', qq{
SELECT kind, parent_query, child_calls FROM latdiag_n_plus_one_all()
 WHERE child_query = '$ins'}),
		q{write_loop|SELECT id, "orderId", "productId" FROM staging ORDER BY id|30},
		"$mode: the import is one write loop under the application's query");
	is( $node->safe_psql('postgres', q{
SELECT count(*) FROM latdiag_n_plus_one_all()
 WHERE parent_query LIKE '%FOR KEY SHARE%' OR child_query LIKE '%FOR KEY SHARE%'
    OR parent_query LIKE '%ONLY%' OR child_query LIKE '%ONLY%'}),
		'0', "$mode: no N+1 row has an RI check as parent or child");
	is( $node->safe_psql('postgres', qq{
SELECT string_agg(DISTINCT parent_query, ',') FROM latdiag_n_plus_one
 WHERE child_query IN ('$n_u', '$n_i')}),
		$n_p, "$mode: the page after the import keeps its own parent");
	is( $node->safe_psql('postgres', q{
SELECT count(*) > 0 FROM latdiag_queries WHERE query LIKE '%FOR KEY SHARE%'}),
		't', "$mode: the RI checks were captured (track = all), only not as N+1");
}

# A bulk load: INSERT ... SELECT into tables with foreign keys, immediate
# ("orderId", checked at the statement's end) and deferred ("productId",
# checked at COMMIT); 3 rows per order, so every order key is checked 3 times.
$node->safe_psql('postgres', 'SELECT latdiag_reset()');
$node->safe_psql('postgres', q{
BEGIN;
INSERT INTO "OrderItems" ("orderId", "productId")
  SELECT g % 2000 + 1, g % 20000 + 1 FROM generate_series(1, 6000) g;
COMMIT;
INSERT INTO "OrderItems" ("orderId", "productId")
  SELECT g % 2000 + 1, g % 20000 + 1 FROM generate_series(1, 6000) g;
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM latdiag_n_plus_one_all()'),
	'0', 'bulk INSERT ... SELECT with immediate and deferred FKs: no N+1 row');
is( $node->safe_psql('postgres', q{
SELECT sum(calls) >= 12000 FROM latdiag_queries WHERE query LIKE '%FOR KEY SHARE%'}),
	't', 'the bulk load ran its RI checks (captured as statements)');

# ------------------------------------------------ a reset in the middle of a loop
$node->safe_psql('postgres', 'SELECT latdiag_reset()');
my $loop = $node->background_psql('postgres');
$loop->query_safe(q{SELECT id, "userId" FROM "Orders" WHERE id BETWEEN 1 AND 9});
$loop->query_safe(sprintf($U, $_)) for (2, 3, 4);
$node->safe_psql('postgres', 'SELECT latdiag_reset()');
$loop->query_safe(sprintf($U, $_)) for (5, 6, 7, 8, 9, 10);
$loop->quit;
# a loop that begins after the reset is recorded as usual
$node->safe_psql('postgres', join(";\n",
	q{SELECT id, "userId" FROM "Orders" WHERE id BETWEEN 11 AND 16},
	map { sprintf($U, $_) } (12 .. 17)) . ';');
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM latdiag_n_plus_one_all()})
  or die 'the loop after the reset was not recorded';
is( $node->safe_psql('postgres', q{
SELECT kind, parent_query IS NOT NULL, child_query IS NOT NULL, child_calls
  FROM latdiag_n_plus_one_all()}),
	'read|t|t|6',
	'a loop in progress at latdiag_reset() is never recorded; one begun after it is');
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM latdiag_n_plus_one_all() WHERE parent_query IS NULL AND child_query IS NULL}),
	'0', 'no row with NULL parent and child texts');

# ------------------------------------------------ a parentless loop of slow calls
$node->safe_psql('postgres', 'SELECT latdiag_reset()');
my $sleeps = join('', map { "SELECT pg_sleep(0.00$_);\n" } (1 .. 9));
foreach my $mode ('simple', 'extended')
{
	$node->pgbench("-n -M $mode -c 1 -t 1", 0, [qr{processed: 1/1}], [qr{^$}],
		"pgbench -M $mode: a loop of pg_sleep with no parent",
		{ "np_sleep_$mode" => $sleeps });
}
wait_for(q{SELECT sum(child_calls) = 18 FROM latdiag_n_plus_one_all()
            WHERE child_query LIKE '%pg_sleep%'});
is($node->safe_psql('postgres', q{
SELECT count(*) FROM latdiag_n_plus_one WHERE child_query LIKE '%pg_sleep%'}),
	'0', 'a parentless loop is not an N+1 read');
is( $node->safe_psql('postgres', q{
SELECT kind, parent_queryid IS NULL, child_calls, confidence
  FROM latdiag_n_plus_one_all() WHERE child_query LIKE '%pg_sleep%'}),
	'read_loop|t|18|0', 'it is kind read_loop in latdiag_n_plus_one_all(), without a parent');

# ------------------------------------------------ distinct_ratio at any length
# A PL/pgSQL loop (nested statements, track = all) of n lookups whose keys
# repeat k times each: n / k distinct values, a ratio of 1/k.
$node->safe_psql('postgres', q{
CREATE FUNCTION np_lookups(n int, k int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  i int;
  key int;
  x text;
  c int := 0;
BEGIN
  FOR i IN SELECT g FROM generate_series(0, n - 1) g LOOP
    key := i / k + 1;
    SELECT name INTO x FROM "Products" WHERE id = key;
    c := c + 1;
  END LOOP;
  RETURN c;
END $$;
});
foreach my $case ([ 10, 1, 1.0 ], [ 10, 2, 0.5 ], [ 100000, 1, 1.0 ], [ 100000, 3, 0.33334 ])
{
	my ($n, $k, $want) = @$case;
	$node->safe_psql('postgres', 'SELECT latdiag_reset()');
	# (keys above 20,000 find no product: still a lookup each)
	$node->safe_psql('postgres', "SELECT np_lookups($n, $k)");
	wait_for(q{SELECT count(*) = 1 FROM latdiag_n_plus_one_all()
	            WHERE child_query LIKE '%FROM "Products"%'});
	my ($kind, $calls, $ratio) = split /\|/, $node->safe_psql('postgres', q{
SELECT kind, child_calls, distinct_ratio FROM latdiag_n_plus_one_all()
 WHERE child_query LIKE '%FROM "Products"%'});
	is($calls, $n, "$n calls, each key $k times: all counted");
	my $tol = $n <= 48 ? 0.0001 : 0.05;    # exact; HyperLogLog: ~4 standard errors
	ok(abs($ratio - $want) <= $tol,
		"$n calls, each key $k times: distinct_ratio $ratio within $tol of $want");
	is($kind, $want >= 0.8 ? 'read' : 'duplicate', "$n calls, each key $k times: kind $kind");
}

# ------------------------------------------------ a mix of independent requests
# Two connections serving requests one after the other with no pause: point
# lookups of users, orders and products, the items of one order, and now and
# then a listing of 50 products.  Statements follow one another, but nothing
# loops over a parent's rows: no N+1 read.
$node->safe_psql('postgres', 'SELECT latdiag_reset()');
my %mix = (
	'user@10'    => "\\set u random(1, 500)\nSELECT id, email FROM \"Users\" WHERE id = :u;\n",
	'order@10'   => "\\set o random(1, 2000)\nSELECT id, \"userId\" FROM \"Orders\" WHERE id = :o;\n",
	'product@10' => "\\set p random(1, 20000)\nSELECT id, name FROM \"Products\" WHERE id = :p;\n",
	'items@5'    => "\\set o random(1, 2000)\nSELECT id, \"productId\" FROM \"OrderItems\" WHERE \"orderId\" = :o;\n",
	'list@1'     => "\\set p random(1, 19000)\nSELECT id, name FROM \"Products\" WHERE id > :p ORDER BY id LIMIT 50;\n",
	'page@1'     => "\\set o random(1, 2000)\nSELECT id, \"userId\" FROM \"Orders\" WHERE id <= :o ORDER BY id DESC LIMIT 20;\n");
foreach my $mode ('simple', 'extended')
{
	$node->pgbench("-n -M $mode -c 2 -t 1000", 0, [qr{processed: 2000/2000}], [qr{^$}],
		"pgbench -M $mode: a mix of independent requests",
		{ map { ("np_mix_${mode}_$_" => $mix{$_}) } keys %mix });
}
is($node->safe_psql('postgres', q{SELECT count(*) FROM latdiag_n_plus_one WHERE kind = 'read'}),
	'0', 'a mix of independent requests: no N+1 read');
note $node->safe_psql('postgres', q{
SELECT kind, left(coalesce(parent_query, '-'), 40), left(child_query, 50), episodes, child_calls
  FROM latdiag_n_plus_one_all() ORDER BY 1, 3});

$node->stop;
done_testing();
