#!/usr/bin/env bash
# postgres_latdiag: the pg_regress suite against a server running under
# valgrind memcheck.  Not part of the default suite (it takes minutes).
#
#   bash test/valgrind.sh                 as root: builds (in a copy), installs, then runs as postgres
#   PG_CONFIG=... bash test/valgrind.sh   another PostgreSQL (17 and 18 as the suite provides them)
#
# The postmaster runs under valgrind, so every backend it forks does too
# (--trace-children=yes also follows anything it execs).  Debian's
# PostgreSQL is not built with USE_VALGRIND: memcheck cannot see palloc
# chunk boundaries inside a memory context's blocks, and PostgreSQL writes
# structs with padding to files and sockets (test/valgrind.supp suppresses
# that noise).  So every report is kept in the logs, and the ones whose stack
# has a frame in postgres_latdiag.so are printed; the exit status is 1 if
# there is any, or if a regression test failed.  Leaks: definite ones only.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/bin/pg_config}
export PG_CONFIG

if [ "$(id -u)" -eq 0 ]; then
	for p in valgrind postgresql-server-dev-15; do
		dpkg -s "$p" >/dev/null 2>&1 ||
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
	done
	# Built from a clean copy (test/versions/install.sh), not in the
	# checkout: no objects left in the tree, none of another major's reused.
	LATDIAG_CFLAGS=-Werror bash "$REPO/test/versions/install.sh" "$PG_CONFIG" >/dev/null || exit 1
	WORK=$(mktemp -d /tmp/latdiag-valgrind.XXXXXX)
	tar -C "$REPO" --exclude=./.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
		-cf - . | tar -C "$WORK" -xf -
	chown -R postgres: "$WORK"
	exec runuser -u postgres -- env PG_CONFIG="$PG_CONFIG" LATDIAG_VALGRIND_WORK="$WORK" \
		bash "$WORK/test/valgrind.sh"
fi

WORK=${LATDIAG_VALGRIND_WORK:-$(mktemp -d /tmp/latdiag-valgrind.XXXXXX)}
[ -f "$WORK/Makefile" ] || tar -C "$REPO" --exclude=./.git -cf - . | tar -C "$WORK" -xf -
BINDIR=$($PG_CONFIG --bindir)
PGXS_DIR=$(dirname "$($PG_CONFIG --pgxs)")
PG_REGRESS=$PGXS_DIR/../../src/test/regress/pg_regress
PORT=${LATDIAG_VALGRIND_PORT:-55999}
DATA=$WORK/data
LOGS=$WORK/valgrind
mkdir -p "$LOGS"
echo "==> work directory: $WORK"

"$BINDIR/initdb" -D "$DATA" -A trust -N >"$WORK/initdb.log" 2>&1 || {
	cat "$WORK/initdb.log"
	exit 1
}
cat "$WORK/test/latdiag.conf" >>"$DATA/postgresql.conf"
cat >>"$DATA/postgresql.conf" <<EOF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$WORK'
max_connections = 20
autovacuum = off
EOF

echo "==> starting the server under valgrind"
valgrind --quiet --tool=memcheck --trace-children=yes --error-limit=no \
	--num-callers=30 --read-var-info=no --fullpath-after= \
	--leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
	--suppressions="$WORK/test/valgrind.supp" --gen-suppressions=all \
	--log-file="$LOGS/%p.log" \
	"$BINDIR/postgres" -D "$DATA" >"$WORK/postmaster.log" 2>&1 &
for _ in $(seq 1 300); do
	"$BINDIR/pg_isready" -q -h "$WORK" -p "$PORT" && break
	sleep 1
done
"$BINDIR/pg_isready" -q -h "$WORK" -p "$PORT" || {
	echo "server did not start"
	tail -20 "$WORK/postmaster.log"
	exit 1
}

# The REGRESS list of the Makefile.
TESTS=$(make -s --no-print-directory -C "$WORK" PG_CONFIG="$PG_CONFIG" -f Makefile -f - \
	print-regress <<<'print-regress: ; @echo $(REGRESS)')
echo "==> pg_regress: $TESTS"
START=$(date +%s)
"$PG_REGRESS" --bindir="$BINDIR" --host="$WORK" --port="$PORT" \
	--inputdir="$WORK" --outputdir="$WORK" --dbname=contrib_regression $TESTS
rc_regress=$?
echo "==> pg_regress took $(($(date +%s) - START)) s"

"$BINDIR/pg_ctl" -D "$DATA" -m fast -w -t 600 stop >/dev/null
sleep 2

# Each report is a block of "==PID== " lines ending with an empty one.  Ours:
# a frame in postgres_latdiag.so, or in a file directly under src/ (built with
# -g, our frames show their source file; core's are src/backend/...).
nproc=$(ls "$LOGS" | wc -l)
total=$(cat "$LOGS"/*.log | grep -cE '^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched|[0-9,]+ (\([^)]*\) )?bytes in [0-9,]+ blocks are definitely)')
ours=$(awk '
	/^==[0-9]+== [A-Z0-9]/ && !inblk { blk = $0 "\n"; inblk = 1; next }
	inblk && /^==[0-9]+== *$/ { if (blk ~ /postgres_latdiag\.so|\/src\/[a-z_]+\.c:[0-9]+/) { print blk; n++ } inblk = 0; next }
	inblk { blk = blk $0 "\n" }
	END { print "OURS " n + 0 }' "$LOGS"/*.log)
nours=$(echo "$ours" | sed -n 's/^OURS //p')
echo "$ours" | grep -v '^OURS ' | head -200

echo "==> valgrind: $nproc processes traced, $total reports in all (after suppressions), $nours with a frame of ours"
echo "==> logs: $LOGS"
[ "$rc_regress" -eq 0 ] || echo "==> some regression tests failed (see $WORK/regression.diffs)"
[ "$rc_regress" -eq 0 ] && [ "$nours" -eq 0 ]
