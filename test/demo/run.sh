#!/usr/bin/env bash
# postgres_latdiag demo.
#
#   bash test/demo/run.sh                 # PostgreSQL 15 (Debian 12's packages)
#   LATDIAG_PG=18 bash test/demo/run.sh   # or 17: another major, see below
#
# On a Debian 12 machine, as root, this:
#   1. installs what is missing (postgresql-15, postgresql-contrib,
#      postgresql-server-dev-15, make, gcc) with apt-get;
#   2. builds the extension and the `latdiag` report CLI from a clean copy of
#      the checkout and installs them;
#   3. starts a throwaway PostgreSQL cluster in /tmp, as an unprivileged
#      user, with shared_preload_libraries = 'postgres_latdiag';
#   4. loads a small online shop and runs a ~30 s workload against it with
#      pgbench (fast point queries, plus queries with a slow tail: a report
#      that sometimes covers a whole year, a checkout that sometimes waits on
#      a row held by a restock job across its think time, a recommendation
#      call that sometimes takes 200 ms, a lookup on an unindexed foreign key
#      of a large table, a cart page with an N+1 loop) and a psql script with
#      another N+1 loop;
#   5. prints the report (`latdiag report`) and writes its HTML version to
#      $LATDIAG_DEMO_HTML (default /tmp/latdiag-demo-report.html).
# The cluster is removed on exit, also on failure or Ctrl-C. Re-runnable.
#
# Environment: LATDIAG_DEMO_SECONDS (workload duration, default 30),
#              LATDIAG_DEMO_CLIENTS (pgbench clients, default 6),
#              LATDIAG_DEMO_HTML (where the HTML report goes),
#              LATDIAG_PG (the major: 15, the default, 17 or 18),
#              PG_CONFIG (default /usr/bin/pg_config; when set, it is used
#                         whatever LATDIAG_PG says).
# Other majors, and 15 with LATDIAG_PRIVATE_PG15=1, come from
# test/versions/provide.sh (step 1 then is provide.sh's): a private copy or
# build under $LATDIAG_CACHE (default /var/cache/latdiag) into which the
# extension is installed, not the system's PostgreSQL.  17's server is npm's
# embedded-postgres runtime; its psql and pgbench are Debian 15's, which talk
# to a 17 server fine.

set -euo pipefail
exec </dev/null

DEMO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$DEMO_DIR/../.." && pwd)
DEMO_PG=${LATDIAG_PG:-15}
# provide.sh: another major than 15, or a private copy of 15 (LATDIAG_PRIVATE_PG15=1).
USE_PROVIDE=0
if [ -z "${PG_CONFIG:-}" ] && { [ "$DEMO_PG" != 15 ] || [ "${LATDIAG_PRIVATE_PG15:-0}" = 1 ]; }; then
    USE_PROVIDE=1
fi
PG_CONFIG=${PG_CONFIG:-/usr/bin/pg_config}
HTML_OUT=${LATDIAG_DEMO_HTML:-/tmp/latdiag-demo-report.html}
SECONDS_RUN=${LATDIAG_DEMO_SECONDS:-30}
CLIENTS=${LATDIAG_DEMO_CLIENTS:-6}
DB=shop
START_TIME=$(date +%s)

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run this as root (it installs packages and the extension)"
case "$DEMO_PG" in
    15|17|18) ;;
    *) die "LATDIAG_PG=$DEMO_PG: the demo runs on 15, 17 or 18" ;;
esac

# --- 1. packages -------------------------------------------------------------
if [ "$USE_PROVIDE" = 1 ]; then
    say "providing PostgreSQL $DEMO_PG (test/versions/provide.sh, cache ${LATDIAG_CACHE:-/var/cache/latdiag})"
    PG_CONFIG=$(bash "$REPO_DIR/test/versions/provide.sh" "$DEMO_PG" | tail -n 1) ||
        die "test/versions/provide.sh $DEMO_PG failed"
    [ -x "$PG_CONFIG" ] || die "test/versions/provide.sh $DEMO_PG gave no pg_config ('$PG_CONFIG')"
    echo "pg_config: $PG_CONFIG"
elif [ "$DEMO_PG" = 15 ]; then
    say "checking packages"
    missing=()
    for pkg in postgresql-15 postgresql-contrib postgresql-server-dev-15 libpq-dev make gcc; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
        [ "$status" = installed ] || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "all present"
    fi
fi
[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found"
PGBIN=$(cd "$("$PG_CONFIG" --bindir)" && pwd)
PG_VERSION=$("$PG_CONFIG" --version | sed 's/^PostgreSQL //')
if [ -n "${LATDIAG_PG:-}" ] && [ "${PG_VERSION%%[!0-9]*}" != "$DEMO_PG" ]; then
    die "$PG_CONFIG is PostgreSQL $PG_VERSION, not the $DEMO_PG of LATDIAG_PG"
fi
for p in postgres initdb pg_ctl psql createdb pgbench; do
    [ -x "$PGBIN/$p" ] || die "$PGBIN/$p not found"
done

# --- 2. build and install ------------------------------------------------------
# From a clean copy of the checkout: objects built for another major, or
# before the last change, are never reused.
say "building and installing postgres_latdiag from $REPO_DIR"
lib=$(bash "$REPO_DIR/test/versions/install.sh" "$PG_CONFIG" | tail -n 1) ||
    die "building or installing postgres_latdiag failed"
[ -f "$lib" ] || die "$lib was not installed"
[ -x "$PGBIN/latdiag" ] || die "$PGBIN/latdiag was not installed"
echo "installed $lib and $PGBIN/latdiag"

# --- 3. throwaway cluster ----------------------------------------------------------
if id postgres >/dev/null 2>&1; then
    RUNAS=postgres
else
    RUNAS=latdiag
    id "$RUNAS" >/dev/null 2>&1 ||
        useradd --system --no-create-home --shell /usr/sbin/nologin "$RUNAS"
fi

WORK=$(mktemp -d /tmp/latdiag_demo.XXXXXX)
PGDATA_DIR=$WORK/data
BG_PIDS=()

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    if [ $rc -ne 0 ] && [ $rc -ne 130 ] && [ $rc -ne 143 ] && [ -d "$WORK" ]; then
        for f in "$WORK"/*.log; do
            [ -s "$f" ] || continue
            printf '\n--- last lines of %s ---\n' "$(basename "$f")" >&2
            tail -n 20 "$f" >&2
        done
    fi
    if [ -f "$PGDATA_DIR/postmaster.pid" ]; then
        runuser -u "$RUNAS" -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop >/dev/null 2>&1
    fi
    rm -rf "$WORK"
    [ $rc -eq 0 ] || printf '\ndemo FAILED (exit %d); the cluster was removed\n' "$rc" >&2
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The unprivileged user reads the workload from its own copy (the repository
# may live where it cannot read, e.g. under /root).
cp -r "$DEMO_DIR" "$WORK/demo"
chown -R "$RUNAS:" "$WORK"
chmod 700 "$WORK"

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null || [ -e "/tmp/.s.PGSQL.$1" ] ||
        [ -e "/var/run/postgresql/.s.PGSQL.$1" ]
}
PORT=54329
while port_in_use "$PORT"; do
    PORT=$((PORT + 1))
    [ "$PORT" -lt 54429 ] || die "no free port in 54329..54428"
done

say "starting a throwaway PostgreSQL $PG_VERSION cluster as user $RUNAS in $PGDATA_DIR (port $PORT)"
as_user() { runuser -u "$RUNAS" -- "$@"; }
as_user "$PGBIN/initdb" -D "$PGDATA_DIR" -A trust -E UTF8 --locale=C --no-sync \
    >"$WORK/initdb.log" 2>&1 || die "initdb failed"
cat >>"$PGDATA_DIR/postgresql.conf" <<EOF

# postgres_latdiag demo
port = $PORT
listen_addresses = ''
unix_socket_directories = '$WORK'
max_connections = 30
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
shared_preload_libraries = 'postgres_latdiag'
latdiag.track_planning = on
latdiag.snapshot_min_duration = 100   # the demo's slow tails are 100-600 ms
latdiag.n_plus_one_min_time = 5       # local-socket round trips are ~0.1 ms, 10x below a network's
EOF
as_user "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$WORK/server.log" -w -t 60 start >/dev/null ||
    die "the server did not start"

export PGHOST=$WORK PGPORT=$PORT
run_psql() { as_user "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

as_user "$PGBIN/createdb" "$DB"
run_psql -d "$DB" -c "CREATE EXTENSION postgres_latdiag"

# --- 4. workload -------------------------------------------------------------------
say "loading the shop: 5,000 users, 1,000 products, 50,000 orders, ~150,000 order items"
run_psql -d "$DB" -f "$WORK/demo/schema.sql" >"$WORK/schema.log" 2>&1 || die "loading the schema failed"
# Measure the workload only, not the data load (nor the reset itself).
run_psql -d "$DB" -c "SET latdiag.enabled = off" -c "SELECT latdiag_reset()" >/dev/null

say "running the workload for ${SECONDS_RUN}s: pgbench ($CLIENTS clients) + restock job + N+1 invoice script"
S=$WORK/demo/pgbench
as_user "$PGBIN/pgbench" -n -c "$CLIENTS" -j 2 -T "$SECONDS_RUN" \
    -f "$S/order_by_id.sql@40" \
    -f "$S/user_by_id.sql@25" \
    -f "$S/order_history.sql@15" \
    -f "$S/checkout.sql@10" \
    -f "$S/recommendations.sql@5" \
    -f "$S/sales_report.sql@5" \
    -f "$S/product_sales.sql@2" \
    -f "$S/cart.sql@3" \
    "$DB" >"$WORK/pgbench.log" 2>&1 &
BG_PIDS+=($!); PGBENCH_PID=$!
# The restock job: one client, 3 times a second, holds row locks for 150 ms.
as_user "$PGBIN/pgbench" -n -c 1 -j 1 -R 3 -T "$SECONDS_RUN" -f "$S/restock.sql" \
    "$DB" >"$WORK/restock.log" 2>&1 &
BG_PIDS+=($!); RESTOCK_PID=$!
# The N+1 loop renders 1,000 invoices a few seconds into the run.
( sleep 3; run_psql -d "$DB" -f "$WORK/demo/n_plus_one.sql" >/dev/null 2>"$WORK/n_plus_one.log" ) &
BG_PIDS+=($!); NPLUS1_PID=$!

wait "$PGBENCH_PID" || die "pgbench failed"
wait "$RESTOCK_PID" || die "pgbench (restock job) failed"
wait "$NPLUS1_PID" || die "the N+1 script failed"
BG_PIDS=()

tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/pgbench.log")
tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench.log" | head -n 1)
echo "pgbench: ${tx:-?} transactions, ${tps:-?} tps; restock job: $(sed -n \
    's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/restock.log") runs"

# --- 5. the report ------------------------------------------------------------------
# (test/demo/diagnosis.sql is the same diagnosis in plain SQL, for psql.)
DSN="host=$WORK port=$PORT dbname=$DB user=$RUNAS"
say "latdiag report --top 5"
rc=0
"$PGBIN/latdiag" report --dsn "$DSN" --top 5 || rc=$?
[ $rc -eq 0 ] || die "latdiag report failed (exit $rc)"
"$PGBIN/latdiag" report --dsn "$DSN" --format html --output "$HTML_OUT" ||
    die "latdiag report --format html failed"
say "the HTML report (latency histograms, every section) is in $HTML_OUT"

printf '\ndemo finished in %ss; removing the throwaway cluster\n' "$(( $(date +%s) - START_TIME ))"
