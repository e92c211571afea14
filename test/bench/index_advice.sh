#!/usr/bin/env bash
# How long the index advice takes with 1,000 captured statements.
#
#   PGHOST=... PGPORT=... bash test/bench/index_advice.sh
#
# Against a running preloaded server (as a superuser): creates the database
# latdiag_bench_advice with 20 tables of 20,000 rows, runs 1,000 distinct
# statements once each (50 per table: equality, equality + range, equality +
# ORDER BY ... LIMIT), then times latdiag_index_advice() and
# latdiag_index_report() ROUNDS times each.  Drops the database at the end.
set -euo pipefail
ROUNDS=${ROUNDS:-5}
DB=latdiag_bench_advice
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -d $DB <<'SQL'
CREATE EXTENSION postgres_latdiag;
SET latdiag.snapshot_sample_rate = 0;
DO $$
BEGIN
  FOR t IN 1..20 LOOP
    EXECUTE format('CREATE TABLE bt%s (id int PRIMARY KEY, c1 int, c2 int, c3 int, c4 int, c5 int, c6 int, c7 int, c8 int, ts timestamptz, pad text)', t);
    EXECUTE format('INSERT INTO bt%s SELECT g, g %% 10, g %% 100, g %% 1000, g %% 5000, g %% 7, g %% 70, g %% 700, g %% 7000, now() - g * interval ''1 s'', repeat(''x'', 50) FROM generate_series(1, 20000) g', t);
    EXECUTE format('ANALYZE bt%s', t);
  END LOOP;
END $$;
SELECT latdiag_reset();
SQL
cols=(c1 c2 c3 c4 c5 c6 c7 c8)
{
	echo "SET latdiag.snapshot_sample_rate = 0;"
	for t in $(seq 1 20); do
		n=0
		for c in "${cols[@]}"; do
			echo "SELECT count(*) FROM bt$t WHERE $c = 3;"
			echo "SELECT id FROM bt$t WHERE $c = 3 ORDER BY ts DESC LIMIT 5;"
			n=$((n + 2))
		done
		for a in "${cols[@]}"; do
			for b in "${cols[@]}"; do
				[ "$a" = "$b" ] && continue
				[ $n -ge 50 ] && break 2
				echo "SELECT count(*) FROM bt$t WHERE $a = 1 AND $b > 2;"
				n=$((n + 1))
			done
		done
	done
} | psql -X -q -d $DB >/dev/null
psql -X -d $DB -At -c "SELECT count(*) || ' statements captured on bt*' FROM latdiag_queries WHERE query LIKE '%FROM bt%'"
psql -X -d $DB -At -c "SELECT reason FROM latdiag_index_advice() WHERE kind = 'summary'"
psql -X -d $DB -At -c "SELECT count(*) || ' candidates' FROM latdiag_index_candidates"
for i in $(seq 1 "$ROUNDS"); do
	psql -X -d $DB -c '\timing on' -c "SELECT count(*) FROM latdiag_index_advice()" | grep '^Time' | sed 's/^/advice: /'
	psql -X -d $DB -c '\timing on' -c "SELECT length(latdiag_index_report('text')) > 0" | grep '^Time' | sed 's/^/report: /'
done
psql -X -q -d postgres -c "DROP DATABASE $DB"
