#!/usr/bin/env bash
# test/bench/bench.sh: overhead benchmark for postgres_latdiag.
#
# Compares three server configurations on one throwaway cluster:
#   none     no shared_preload_libraries (core query-id jumbling off: compute_query_id=auto)
#   pgss     shared_preload_libraries = pg_stat_statements (defaults)
#   latdiag  shared_preload_libraries = postgres_latdiag (defaults)
# and, in part B only, a fourth one:
#   none+qid no library, compute_query_id = on (isolates the cost of core jumbling)
#
# Part A (throughput): pgbench -S (select-only), simple and prepared protocol,
#   ROUNDS rounds, configurations alternated inside each round, median TPS per
#   configuration, ratios vs none.  ROUNDS=0 skips the rounds (the capture check
#   still runs).
# Part B (instructions, CALLGRIND=1 and valgrind installed): a single-user backend
#   (postgres --single) under callgrind runs N statements, then the first N/2;
#   Ir/query = (Ir(N) - Ir(N/2)) / (N/2), so start-up and shut-down cancel out.
#   Two workloads: "point", N=QUERIES primary-key SELECTs (what pgbench -S runs), and
#   "scan", N=SCAN_QUERIES aggregates over 100,000 rows
#   (SELECT count(*), sum(abalance) FROM pgbench_accounts WHERE aid <= 100000 - k).
#   latdiag arms a random 1% of executions for an EXPLAIN ANALYZE snapshot
#   (latdiag.snapshot_sample_rate = 0.01), so its default runs are not deterministic;
#   a part-B-only configuration latdiag+armed (sample rate 1: every execution armed)
#   gives the cost of one armed execution, and the report derives from both the
#   deterministic expected Ir/query at the default sample rate.
#
# Run as root from anywhere:   bash test/bench/bench.sh [VERSION]
#   VERSION (or LATDIAG_PG=VERSION): the PostgreSQL major, 15 (default), 17 or 18.
#   test/versions/provide.sh makes it available (cached under $LATDIAG_CACHE; with
#   LATDIAG_PRIVATE_PG15=1, 15 is a private copy of Debian's) and gives its pg_config;
#   PG_CONFIG, when set, is used instead.  On 17 (npm's server) pgbench and psql are
#   Debian 15's, which provide.sh links into 17's bindir.
# Environment variables (defaults):
#   ROUNDS=3        rounds of part A (each round runs every configuration once)
#   DURATION=15     seconds per pgbench run
#   CLIENTS=2       pgbench clients (-c) and threads (-j)
#   SCALE=10        pgbench scale factor (100000 rows per unit in pgbench_accounts)
#   CALLGRIND=1     run part B (0 to skip)
#   QUERIES=2000    N of the point workload of part B (must be even and >= 2)
#   SCAN_QUERIES=20 N of the scan workload of part B (even; 0 skips the scan workload)
#   ARMED=1         run the part-B-only configuration latdiag+armed (0 skips it; then
#                   latdiag's Ir/query is the raw, sampling-dependent figure only)
#   OUT=test/bench/results/pgMAJOR   output directory (relative to the repo root unless
#                   absolute); MAJOR is that of the server measured
#   PORT=54400      port of the throwaway cluster (its socket is in the private cluster
#                   directory and there is no TCP listener)
#   WARMUP=3        seconds of pgbench -S warm-up after each restart
#   CONFIGS="none pgss latdiag"   configurations of part A, in round order
#   KEEP=0          1 keeps the cluster directory (/tmp/latdiag_bench.*) for inspection
#   BUILD=1         build the extension and the CLI from a clean copy of the repository
#                   (test/versions/install.sh) and install them into that PostgreSQL before
#                   measuring, so a stale postgres_latdiag.so is never measured; a failed
#                   build stops the run.  0 measures whatever is installed (latdiag is
#                   skipped with a warning if nothing is)
#   PG_CONFIG       pg_config of the PostgreSQL to use (default: from provide.sh, see VERSION)
#   BYFUNC=0        1 writes $OUT/profile.txt: latdiag's (and pg_stat_statements') cost per
#                   point SELECT by function, from the callgrind outputs of part B
#                   (callgrind_annotate): inclusive Ir per query of every latdiag function,
#                   and the self Ir per query each function adds over none+qid
#   COUNT_CHECK=1   0 reports instead of failing when the extension did not count every
#                   statement of a part-B run, or recorded none (test/bench/floor.sh's build
#                   that records nothing)
#   PIN=0           1 pins the server to the first half of the CPUs and pgbench to the
#                   other half (taskset); on small VMs this forces a cross-CPU wake-up per
#                   query and lowers TPS without removing the noise (see doc/benchmark.md)
# Outputs: $OUT/summary.txt (what stdout shows), $OUT/results.json (machine-readable),
#   $OUT/raw.tsv (one line per measurement). The last lines of stdout are the ratio table.
# The default run takes about 7 minutes on a 2-core machine (part B alone, ROUNDS=0:
# about 2 minutes).

set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15}
CLIENTS=${CLIENTS:-2}
SCALE=${SCALE:-10}
CALLGRIND=${CALLGRIND:-1}
QUERIES=${QUERIES:-2000}
SCAN_QUERIES=${SCAN_QUERIES:-20}
ARMED=${ARMED:-1}
PORT=${PORT:-54400}
WARMUP=${WARMUP:-3}
CONFIGS=${CONFIGS:-"none pgss latdiag"}
KEEP=${KEEP:-0}
BUILD=${BUILD:-1}
PIN=${PIN:-0}
BYFUNC=${BYFUNC:-0}
COUNT_CHECK=${COUNT_CHECK:-1}

SNAP_MIN_MS=60000   # latdiag.snapshot_min_duration in part B (ms; see write_config)
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
PGUSER_OS=postgres
DB=bench

if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

log()  { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
warn() { echo "[bench $(date +%H:%M:%S)] WARNING: $*" >&2; }
die()  { echo "[bench] ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (the server itself runs as the unprivileged user '$PGUSER_OS')"
[ $# -le 1 ] || die "usage: bash test/bench/bench.sh [VERSION]   (15, 17 or 18; or LATDIAG_PG=VERSION)"

# ---------------------------------------------------------------- which PostgreSQL
LATDIAG_PG=${1:-${LATDIAG_PG:-}}
major_of() { "$1" --version | sed -n 's/^PostgreSQL \([0-9][0-9]*\).*/\1/p'; }
if [ -n "${PG_CONFIG:-}" ]; then
    [ -x "$PG_CONFIG" ] || die "PG_CONFIG=$PG_CONFIG is not executable"
    if [ -n "$LATDIAG_PG" ] && [ "$(major_of "$PG_CONFIG")" != "$LATDIAG_PG" ]; then
        die "PG_CONFIG=$PG_CONFIG is PostgreSQL $(major_of "$PG_CONFIG"), not the $LATDIAG_PG asked for"
    fi
else
    LATDIAG_PG=${LATDIAG_PG:-15}
    case "$LATDIAG_PG" in
        15|17|18) ;;
        *) die "version '$LATDIAG_PG': the benchmark runs on 15, 17 or 18 (servers that test/versions/provide.sh provides)" ;;
    esac
    log "PostgreSQL $LATDIAG_PG: test/versions/provide.sh $LATDIAG_PG (cache ${LATDIAG_CACHE:-/var/cache/latdiag})"
    PG_CONFIG=$(bash "$REPO/test/versions/provide.sh" "$LATDIAG_PG" | tail -n 1) \
        || die "test/versions/provide.sh $LATDIAG_PG failed"
    [ -x "$PG_CONFIG" ] || die "test/versions/provide.sh $LATDIAG_PG gave no pg_config ('$PG_CONFIG')"
fi
PG_MAJOR=$(major_of "$PG_CONFIG")
[ -n "$PG_MAJOR" ] || die "cannot read the major version from $PG_CONFIG --version"
BIN=$("$PG_CONFIG" --bindir)
OUT=${OUT:-test/bench/results/pg$PG_MAJOR}
case "$OUT" in /*) ;; *) OUT="$REPO/$OUT" ;; esac
[ -x "$BIN/postgres" ] || die "$BIN/postgres not found (no PostgreSQL $PG_MAJOR server for $PG_CONFIG)"
for p in pgbench psql initdb pg_ctl; do
    [ -x "$BIN/$p" ] || die "$BIN/$p not found"
done
command -v "$PY" >/dev/null || die "python3 is needed for statistics and JSON output"
case "$QUERIES" in ''|*[!0-9]*) die "QUERIES must be a positive even integer" ;; esac
[ "$QUERIES" -ge 2 ] && [ $((QUERIES % 2)) -eq 0 ] || die "QUERIES must be even and >= 2"
case "$SCAN_QUERIES" in ''|*[!0-9]*) die "SCAN_QUERIES must be a non-negative even integer" ;; esac
[ $((SCAN_QUERIES % 2)) -eq 0 ] || die "SCAN_QUERIES must be even (0 skips the scan workload)"
[ "$SCALE" -ge 1 ] 2>/dev/null || die "SCALE must be >= 1"
for v in ROUNDS DURATION CLIENTS SCALE WARMUP PORT; do
    case "${!v}" in ''|*[!0-9]*) die "$v must be a non-negative integer" ;; esac
done

# ---------------------------------------------------------------- setup
if ! id "$PGUSER_OS" >/dev/null 2>&1; then
    log "creating OS user $PGUSER_OS"
    useradd --system --create-home --home-dir /var/lib/postgresql --shell /bin/bash "$PGUSER_OS"
fi
as_pg() { runuser -u "$PGUSER_OS" -- "$@"; }

# CPU pinning: server on CPUs [0, n/2), pgbench on [n/2, n).
SERVER_PIN=()
CLIENT_PIN=()
NCPU=$(nproc)
if [ "$PIN" = 1 ] && [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
    half=$((NCPU / 2))
    SERVER_PIN=(taskset -c "0-$((half - 1))")
    CLIENT_PIN=(taskset -c "$half-$((NCPU - 1))")
elif [ "$PIN" = 1 ]; then
    warn "cannot pin (need >= 2 CPUs and taskset): running unpinned"
    PIN=0
fi

PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
if [ "$BUILD" = 1 ]; then
    log "building postgres_latdiag from a clean copy of $REPO and installing it into $PKGLIBDIR"
    bash "$REPO/test/versions/install.sh" "$PG_CONFIG" >/dev/null \
        || die "build/install of postgres_latdiag for PostgreSQL $PG_MAJOR failed (BUILD=0 measures what is installed)"
fi
AVAILABLE_CONFIGS=""
for c in $CONFIGS; do
    case "$c" in
        none) ;;
        pgss)    [ -f "$PKGLIBDIR/pg_stat_statements.so" ] || { warn "pg_stat_statements.so missing: skipping config pgss"; continue; } ;;
        latdiag) [ -f "$PKGLIBDIR/postgres_latdiag.so" ] || { warn "postgres_latdiag.so missing in $PKGLIBDIR: skipping config latdiag"; continue; } ;;
        *) die "unknown config '$c' (known: none pgss latdiag)" ;;
    esac
    AVAILABLE_CONFIGS="$AVAILABLE_CONFIGS $c"
done
CONFIGS=${AVAILABLE_CONFIGS# }
[ -n "$CONFIGS" ] || die "no configuration left to run"

so_id() { # md5 and mtime of the installed library, to tie results to a build
    local f="$PKGLIBDIR/postgres_latdiag.so"
    if [ -f "$f" ]; then echo "$(md5sum < "$f" | cut -c1-32) $(date -u -r "$f" +%Y-%m-%dT%H:%M:%SZ)"; else echo "absent"; fi
}
SO_ID_START=$(so_id)

mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/latdiag_bench.XXXXXX)
chown "$PGUSER_OS": "$WORK"
chmod 755 "$WORK"
PGDATA=$WORK/data
SERVER_LOG=$WORK/server.log
RAW=$OUT/raw.tsv
: > "$RAW"

cleanup() {
    local rc=$?
    if [ -f "$PGDATA/postmaster.pid" ]; then
        as_pg "$BIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ "$KEEP" = 1 ]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Library and extra settings of one configuration.
preload_of() {
    case "$1" in
        none|none+qid) echo "" ;;
        pgss) echo "pg_stat_statements" ;;
        latdiag|latdiag+armed) echo "postgres_latdiag" ;;
    esac
}
extension_of() {
    case "$1" in
        pgss) echo "pg_stat_statements" ;;
        latdiag|latdiag+armed) echo "postgres_latdiag" ;;
        *) echo "" ;;
    esac
}
# Writes the included file that holds everything configuration-specific.
write_config() {
    local cfg=$1 mode=${2:-server}
    {
        echo "# written by test/bench/bench.sh: configuration $cfg"
        echo "shared_preload_libraries = '$(preload_of "$cfg")'"
        if [ "$cfg" = "none+qid" ]; then
            echo "compute_query_id = on"
        else
            echo "compute_query_id = auto"
        fi
        if [ "$cfg" = "latdiag+armed" ]; then
            # Part B only: every execution is armed for a snapshot (instrumented with
            # ROWS and BUFFERS), as 1% of them are with the default sample rate.
            echo "latdiag.snapshot_sample_rate = 1"
        fi
        if [ "$mode" = single ]; then
            # Part B only: no stats file is loaded at start or written at shutdown,
            # so the N and N/2 runs start from the same state (the difference cancels
            # start-up and shut-down anyway; this just removes a source of drift).
            echo "pg_stat_statements.save = off"
            echo "latdiag.save = off"
            # Under callgrind a statement runs ~15-25x slower than natively: a 100,000-row
            # scan that takes ~35 ms natively takes 0.5-0.9 s, close to the default
            # 1000 ms. The path of an execution that is not slow does not depend on the
            # threshold, so it is raised to keep the workload "never slow", as it is
            # on a real server (checked after each run).
            echo "latdiag.snapshot_min_duration = $SNAP_MIN_MS"
        fi
    } > "$PGDATA/bench_config.conf"
    chown "$PGUSER_OS": "$PGDATA/bench_config.conf"
}

psql_q() { PGOPTIONS="-c client_min_messages=warning" "$BIN/psql" -X -q -At -h "$WORK" -p "$PORT" -U postgres -d "${2:-$DB}" -v ON_ERROR_STOP=1 -c "$1"; }

start_server() {
    "${SERVER_PIN[@]}" runuser -u "$PGUSER_OS" -- "$BIN/pg_ctl" -D "$PGDATA" -l "$SERVER_LOG" -w -t 120 start >/dev/null \
        || { tail -n 30 "$SERVER_LOG" >&2; die "server did not start"; }
}
stop_server() {
    if [ -f "$PGDATA/postmaster.pid" ]; then
        as_pg "$BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 120 stop >/dev/null
    fi
}

# ---------------------------------------------------------------- cluster
log "cluster in $WORK (port $PORT), configs: $CONFIGS"
as_pg "$BIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
cat >> "$PGDATA/postgresql.conf" <<EOF

# ---- test/bench/bench.sh
port = $PORT
listen_addresses = ''
unix_socket_directories = '$WORK'
shared_buffers = 512MB
max_connections = 50
fsync = off
synchronous_commit = off
full_page_writes = off
autovacuum = off
jit = off
log_min_messages = warning
include 'bench_config.conf'
EOF
write_config none
start_server
psql_q "CREATE DATABASE $DB" postgres
log "pgbench -i -s $SCALE"
"$BIN/pgbench" -h "$WORK" -p "$PORT" -U postgres -i -q -s "$SCALE" "$DB" >/dev/null 2>&1 \
    || die "pgbench -i failed"
psql_q "VACUUM ANALYZE" >/dev/null
psql_q "CHECKPOINT" >/dev/null
psql_q "CREATE EXTENSION pg_prewarm" >/dev/null

PG_VERSION_STR=$(psql_q "SHOW server_version")
# On 17 pgbench (and psql) are Debian 15's: say so in the report.
PGBENCH_VERSION=$("$BIN/pgbench" --version | sed 's/^pgbench (PostgreSQL) //')

# ---------------------------------------------------------------- part A
restart_with() {
    local cfg=$1 expect got ext
    stop_server
    write_config "$cfg"
    start_server
    expect=$(preload_of "$cfg")
    got=$(psql_q "SHOW shared_preload_libraries")
    [ "$got" = "$expect" ] || die "config $cfg: shared_preload_libraries is '$got', expected '$expect'"
    ext=$(extension_of "$cfg")
    if [ -n "$ext" ]; then
        psql_q "CREATE EXTENSION IF NOT EXISTS $ext" >/dev/null
    fi
    # Same starting point for every configuration: table and index in shared buffers.
    psql_q "SELECT pg_prewarm('pgbench_accounts'), pg_prewarm('pgbench_accounts_pkey')" >/dev/null
}

run_pgbench() { # protocol duration -> prints TPS (without initial connection time)
    local proto=$1 dur=$2 out tps
    out=$("${CLIENT_PIN[@]}" "$BIN/pgbench" -h "$WORK" -p "$PORT" -U postgres -n -S -M "$proto" \
          -c "$CLIENTS" -j "$CLIENTS" -T "$dur" "$DB" 2>&1) || { echo "$out" >&2; die "pgbench failed"; }
    tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p')
    [ -n "$tps" ] || { echo "$out" >&2; die "could not parse pgbench output"; }
    echo "$tps"
}

[ "$ROUNDS" -gt 0 ] || log "ROUNDS=0: no pgbench rounds (part A skipped, capture check only)"
LATDIAG_SAMPLE_RATE=""
LATDIAG_MIN_DURATION=""
PART_A_START=$(date +%s)
# The machine's load around part A: other processes competing for the CPUs make TPS
# meaningless (part B counts instructions and does not care).
LOAD_A_START=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
    for cfg in $CONFIGS; do
        restart_with "$cfg"
        # Which build of the library this server loaded (the .so may be reinstalled
        # by someone else while the benchmark runs).
        if [ "$cfg" = latdiag ]; then run_so=$(so_id | cut -c1-32); else run_so=-; fi
        [ "$WARMUP" -gt 0 ] && run_pgbench simple "$WARMUP" >/dev/null
        for proto in simple prepared; do
            tps=$(run_pgbench "$proto" "$DURATION")
            printf 'tps\t%s\t%s\t%s\t%s\t%s\n' "$round" "$cfg" "$proto" "$tps" "$run_so" >> "$RAW"
            log "round $round/$ROUNDS  $(printf '%-8s %-8s' "$cfg" "$proto")  tps = $tps"
        done
    done
done
PART_A_SECS=$(( $(date +%s) - PART_A_START ))
LOAD_A_END=$(cut -d' ' -f1-3 /proc/loadavg)

# Sanity check that the extensions really capture the workload: reset, 100 pgbench -S
# transactions, expect 100 calls of the SELECT.
for cfg in $CONFIGS; do
    case "$cfg" in
        pgss)
            restart_with pgss
            psql_q "SELECT pg_stat_statements_reset()" >/dev/null
            "$BIN/pgbench" -h "$WORK" -p "$PORT" -U postgres -n -S -t 100 "$DB" >/dev/null 2>&1
            n=$(psql_q "SELECT coalesce(sum(calls),0) FROM pg_stat_statements WHERE query LIKE 'SELECT abalance%'")
            log "check: pg_stat_statements counted $n calls of the pgbench SELECT in 100 transactions after a reset"
            printf 'check\tpgss\t%s\n' "$n" >> "$RAW" ;;
        latdiag)
            restart_with latdiag
            psql_q "SELECT latdiag_reset()" >/dev/null 2>&1 || warn "latdiag_reset() failed"
            "$BIN/pgbench" -h "$WORK" -p "$PORT" -U postgres -n -S -t 100 "$DB" >/dev/null 2>&1
            n=$(psql_q "SELECT coalesce(sum(calls),0) FROM latdiag_queries WHERE query LIKE 'SELECT abalance%'" 2>&1) || n="error: $n"
            # the defaults of the build under test, for the report
            LATDIAG_SAMPLE_RATE=$(psql_q "SHOW latdiag.snapshot_sample_rate" 2>/dev/null) || LATDIAG_SAMPLE_RATE=""
            LATDIAG_MIN_DURATION=$(psql_q "SHOW latdiag.snapshot_min_duration" 2>/dev/null) || LATDIAG_MIN_DURATION=""
            log "check: latdiag_queries counted $n calls of the pgbench SELECT in 100 transactions after a reset"
            printf 'check\tlatdiag\t%s\n' "$(echo "$n" | tr '\t\n' '  ' | sed 's/ *$//')" >> "$RAW" ;;
    esac
done
stop_server

# ---------------------------------------------------------------- part B
CG_CONFIGS=""
if [ "$CALLGRIND" = 1 ]; then
    if command -v valgrind >/dev/null 2>&1; then
        for c in $CONFIGS; do
            CG_CONFIGS="$CG_CONFIGS $c"
            [ "$c" = none ] && CG_CONFIGS="$CG_CONFIGS none+qid"
            [ "$c" = latdiag ] && [ "$ARMED" = 1 ] && CG_CONFIGS="$CG_CONFIGS latdiag+armed"
        done
        CG_CONFIGS=${CG_CONFIGS# }
    else
        warn "valgrind not found: skipping part B (apt-get install valgrind)"
    fi
fi
WORKLOADS="point"
[ "$SCAN_QUERIES" -gt 0 ] && WORKLOADS="point scan"

# Calls of one function in a callgrind output file (0 if never called).  Used to count
# the executions latdiag armed for a snapshot: snapshots_instrument_options() is called
# once per armed execution.
cg_calls() { # file function
    "$PY" - "$1" "$2" <<'PYEOF'
import re, sys
names, cur, total = {}, None, 0
pat = re.compile(r'c?fn=\((\d+)\)(?: (.*))?$')
for line in open(sys.argv[1], errors="replace"):
    line = line.rstrip("\n")
    if line.startswith("fn=") or line.startswith("cfn="):
        m = pat.match(line)
        if m:
            if m.group(2) is not None:
                names[m.group(1)] = m.group(2)
            cur = names.get(m.group(1)) if line.startswith("cfn=") else None
    elif line.startswith("calls=") and cur == sys.argv[2]:
        total += int(line[6:].split()[0])
print(total)
PYEOF
}

# BYFUNC=1: per-function Ir per point SELECT, (Ir(N) - Ir(N/2)) / (N/2) for each function,
# from callgrind_annotate: inclusive for latdiag's functions (what each costs with what
# it calls), self for every function against none+qid (what each configuration adds,
# core functions such as the executor's instrumentation included).
profile_report() {
    "$PY" - "$WORK" "$QUERIES" "$CG_CONFIGS" <<'PYEOF'
import re, subprocess, sys
work, n, cfgs = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
h = n // 2
def load(f, inclusive):
    out = subprocess.run(["callgrind_annotate", "--inclusive=" + ("yes" if inclusive else "no"),
                          "--threshold=100", f], capture_output=True, text=True).stdout
    d = {}
    obj = {}
    bare = []
    for line in out.splitlines():
        if line.startswith("-- Auto-annotated source"):
            break
        # code inlined from a header is listed as header:function, without the
        # object: it belongs to the function (its object from the other lines)
        m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+(\S.*?):(\S+)(?:\s+\[(.*)\])?\s*$", line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        if m.group(4) is None:
            bare.append((m.group(3), ir))
            continue
        k = (m.group(3), m.group(4).split("/")[-1])
        obj.setdefault(k[0], k[1])
        d[k] = d.get(k, 0) + ir
    for fn, ir in bare:
        k = (fn, obj.get(fn, "?"))
        d[k] = d.get(k, 0) + ir
    return d
def per_query(cfg, inclusive):
    a = load("%s/callgrind.%s.point.%d.out" % (work, cfg, n), inclusive)
    b = load("%s/callgrind.%s.point.%d.out" % (work, cfg, h), inclusive)
    return {k: (a.get(k, 0) - b.get(k, 0)) / h for k in set(a) | set(b)}
print("Per-function profile, point workload: Ir per query = (Ir(N) - Ir(N/2)) / (N/2), N = %d" % n)
base = per_query("none+qid", False) if "none+qid" in cfgs else None
for cfg in [c for c in ("latdiag", "pgss") if c in cfgs]:
    if cfg == "latdiag":
        inc = per_query(cfg, True)
        rows = sorted(((v, k) for k, v in inc.items() if k[1].startswith("postgres_latdiag")), reverse=True)
        print("")
        print("latdiag, inclusive Ir per query of each latdiag function (hooks include the core work they wrap):")
        for v, k in rows:
            if abs(v) >= 1:
                print("  %8.0f  %s" % (v, k[0]))
    if base is not None:
        own = per_query(cfg, False)
        diff = sorted(((own.get(k, 0) - base.get(k, 0), k) for k in set(own) | set(base)), reverse=True)
        print("")
        print("%s, self Ir per query added over none+qid, by function (|diff| >= 5):" % cfg)
        print("  %8.0f  total" % sum(v for v, k in diff))
        for v, k in diff:
            if abs(v) >= 5:
                print("  %8.0f  %s [%s]" % (v, k[0], k[1]))
PYEOF
}

if [ -n "$CG_CONFIGS" ]; then
    NROWS=$((100000 * SCALE))
    # point: deterministic pseudo-random keys (LCG) in 1..NROWS.
    # scan: count and sum over the first 100000 - k rows, k = i mod 10 (the constant
    # varies, the jumbled query does not).
    # The N/2 file is always the first half of the N file.
    gen_queries() { # workload n
        case "$1" in
            point) awk -v n="$2" -v m="$NROWS" 'BEGIN { x = 12345;
                for (i = 0; i < n; i++) { x = (x * 1103515245 + 12345) % 2147483648;
                    printf "SELECT abalance FROM pgbench_accounts WHERE aid = %d;\n", (x % m) + 1 } }' ;;
            scan) awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++)
                    printf "SELECT count(*), sum(abalance) FROM pgbench_accounts WHERE aid <= %d;\n", 100000 - (i % 10) }' ;;
        esac
    }
    # The count column each scan statement must print, in order.
    gen_scan_counts() { awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "count = \"%d\"\n", 100000 - (i % 10) }'; }
    wl_n() { if [ "$1" = scan ]; then echo "$SCAN_QUERIES"; else echo "$QUERIES"; fi; }
    wl_like() { if [ "$1" = scan ]; then echo "SELECT count(*), sum(abalance)%"; else echo "SELECT abalance%"; fi; }
    for wl in $WORKLOADS; do
        n=$(wl_n "$wl")
        gen_queries "$wl" "$n" > "$WORK/q_${wl}_full.sql"
        gen_queries "$wl" $((n / 2)) > "$WORK/q_${wl}_half.sql"
    done
    chmod 644 "$WORK"/q_*.sql
    PART_B_START=$(date +%s)
    for cfg in $CG_CONFIGS; do
        write_config "$cfg" single
        for wl in $WORKLOADS; do
            N_WL=$(wl_n "$wl")
            for n in "$N_WL" $((N_WL / 2)); do
                if [ "$n" = "$N_WL" ]; then qf=$WORK/q_${wl}_full.sql; else qf=$WORK/q_${wl}_half.sql; fi
                # For an extension, a last line reads its view: the count it reports must be
                # n (this adds the same cost to both runs, so it cancels in the difference).
                # For latdiag, sampling is switched off first, so that this check query
                # is never the one armed execution of a run.
                like=$(wl_like "$wl")
                case "$cfg" in
                    pgss)    cq="SELECT sum(calls) AS check_calls FROM pg_stat_statements WHERE query LIKE '$like';" ;;
                    latdiag|latdiag+armed)
                             cq="SET latdiag.snapshot_sample_rate = 0;
SELECT sum(calls) AS check_calls, max(max_exec_time) AS check_max_ms FROM latdiag_queries WHERE query LIKE '$like';" ;;
                    *)       cq="" ;;
                esac
                if [ -n "$cq" ]; then
                    { cat "$qf"; echo "$cq"; } > "$WORK/q_run.sql"
                    chmod 644 "$WORK/q_run.sql"
                    qf=$WORK/q_run.sql
                fi
                case "$cfg" in latdiag*) run_so=$(so_id | cut -c1-32) ;; *) run_so=- ;; esac
                cgout=$WORK/callgrind.$cfg.$wl.$n.out
                slog=$WORK/single.$cfg.$wl.$n.log
                what="single-user run ($cfg, $wl, N=$n)"
                # postgres --single: without -j a newline ends a statement, so one line = one query.
                "${SERVER_PIN[@]}" runuser -u "$PGUSER_OS" -- valgrind --tool=callgrind --callgrind-out-file="$cgout" \
                    "$BIN/postgres" --single -D "$PGDATA" "$DB" < "$qf" > "$slog" 2>&1 \
                    || { tail -n 30 "$slog" >&2; die "$what failed"; }
                if [ "$wl" = point ]; then
                    got=$(grep -c 'abalance = ' "$slog" || true)
                    [ "$got" = "$n" ] || { tail -n 30 "$slog" >&2; die "$what: $got result rows, expected $n"; }
                else
                    # every statement printed one row, with the right count
                    gen_scan_counts "$n" > "$WORK/scan_expected.txt"
                    grep -o 'count = "[0-9]*"' "$slog" > "$WORK/scan_got.txt" || true
                    cmp -s "$WORK/scan_expected.txt" "$WORK/scan_got.txt" \
                        || { tail -n 30 "$slog" >&2; die "$what: $(wc -l < "$WORK/scan_got.txt") result rows or wrong counts, expected $n rows with count = 100000 - (i mod 10)"; }
                fi
                if grep -qE '(ERROR|FATAL|PANIC):' "$slog"; then
                    grep -E '(ERROR|FATAL|PANIC):' "$slog" | head -5 >&2
                    die "$what reported errors"
                fi
                if [ -n "$cq" ]; then
                    calls=$(sed -n 's/.*check_calls = "\([0-9]*\)".*/\1/p' "$slog")
                    [ "$calls" = "$n" ] || [ "$COUNT_CHECK" = 0 ] || die "$what: the extension counted '$calls' calls, expected $n"
                    log "check: $cfg counted $calls calls of the $wl statement in the single-user run"
                fi
                maxms=-
                if [ "$cfg" = latdiag ] || [ "$cfg" = latdiag+armed ]; then
                    # "Never slow": no execution may reach latdiag.snapshot_min_duration,
                    # or latdiag would arm every later execution of the statement.
                    maxms=$(sed -n 's/.*check_max_ms = "\([0-9.e+-]*\)".*/\1/p' "$slog")
                    if [ -z "$maxms" ] && [ "$COUNT_CHECK" = 0 ]; then
                        maxms=-    # nothing recorded (floor.sh's hooks-only build)
                    else
                        awk -v m="$maxms" -v t="$SNAP_MIN_MS" 'BEGIN { exit !(m != "" && m + 0 < t) }' \
                            || die "$what: slowest execution $maxms ms, not below latdiag.snapshot_min_duration = $SNAP_MIN_MS ms"
                    fi
                fi
                ir=$(sed -n -e 's/^summary: *\([0-9]*\).*/\1/p' -e 's/^totals: *\([0-9]*\).*/\1/p' "$cgout" | tail -n 1)
                [ -n "$ir" ] || die "no summary/totals line in $cgout"
                # executions armed for a snapshot (latdiag only)
                case "$cfg" in latdiag*) armed=$(cg_calls "$cgout" snapshots_instrument_options) ;; *) armed=- ;; esac
                if [ "$cfg" = latdiag+armed ] && [ "$armed" -lt "$n" ]; then
                    die "$what: only $armed executions armed, expected >= $n (symbol snapshots_instrument_options not found?)"
                fi
                printf 'ir\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$wl" "$cfg" "$n" "$ir" "$armed" "$maxms" "$run_so" >> "$RAW"
                log "callgrind $(printf '%-13s %-5s' "$cfg" "$wl") N=$n  Ir = $ir$([ "$armed" = - ] || echo "  armed = $armed, slowest $maxms ms")"
            done
        done
    done
    write_config none
    PART_B_SECS=$(( $(date +%s) - PART_B_START ))
    if [ "$BYFUNC" = 1 ]; then
        if command -v callgrind_annotate >/dev/null 2>&1; then
            profile_report > "$OUT/profile.txt" || warn "profile failed"
            log "profile in $OUT/profile.txt"
        else
            warn "callgrind_annotate not found: no profile"
        fi
    fi
else
    PART_B_SECS=0
fi

# ---------------------------------------------------------------- report
SO_ID_END=$(so_id)
if [ "$SO_ID_START" != "$SO_ID_END" ]; then
    warn "postgres_latdiag.so was replaced during the run ($SO_ID_START -> $SO_ID_END): results mix builds"
fi
log "part A ${PART_A_SECS}s, part B ${PART_B_SECS}s; results in $OUT"
export SO_ID_START SO_ID_END PIN RAW OUT ROUNDS DURATION CLIENTS SCALE QUERIES SCAN_QUERIES CONFIGS CG_CONFIGS \
    WORKLOADS PG_VERSION_STR PGBENCH_VERSION PG_CONFIG LOAD_A_START LOAD_A_END PART_A_SECS PART_B_SECS LATDIAG_SAMPLE_RATE LATDIAG_MIN_DURATION SNAP_MIN_MS
"$PY" - <<'PYEOF'
import json, os, statistics, datetime, platform, subprocess

env = os.environ
raw = [l.rstrip("\n").split("\t") for l in open(env["RAW"]) if l.strip()]
configs = env["CONFIGS"].split()
cg_configs = env["CG_CONFIGS"].split()
workloads = env["WORKLOADS"].split() if cg_configs else []
protos = ["simple", "prepared"]
try:
    rate = float(env.get("LATDIAG_SAMPLE_RATE") or "nan")
except ValueError:
    rate = float("nan")
if rate != rate:
    rate = None

tps = {}      # tps[cfg][proto] = [values in round order]
ir = {}       # ir[wl][cfg][n] = Ir
armed = {}    # armed[wl][cfg][n] = executions armed for a snapshot (latdiag only)
slowest = {}  # slowest[wl][cfg][n] = slowest execution in ms, as latdiag measured it
checks = {}
builds = {}   # md5 of postgres_latdiag.so -> measurements that loaded it
for r in raw:
    if r[0] == "tps":
        # tps round cfg proto value so
        tps.setdefault(r[2], {}).setdefault(r[3], []).append(float(r[4]))
        if r[5] != "-":
            builds.setdefault(r[5], []).append("round %s %s" % (r[1], r[3]))
    elif r[0] == "ir":
        # ir workload cfg n Ir armed slowest_ms so
        wl, c, n = r[1], r[2], int(r[3])
        ir.setdefault(wl, {}).setdefault(c, {})[n] = int(r[4])
        if r[5] != "-":
            armed.setdefault(wl, {}).setdefault(c, {})[n] = int(r[5])
        if r[6] != "-":
            slowest.setdefault(wl, {}).setdefault(c, {})[n] = float(r[6])
        if r[7] != "-":
            builds.setdefault(r[7], []).append("callgrind %s %s N=%d" % (c, wl, n))
    elif r[0] == "check":
        checks[r[1]] = r[2]

N_of = {"point": int(env["QUERIES"]), "scan": int(env["SCAN_QUERIES"])}
SQL_of = {"point": "SELECT abalance FROM pgbench_accounts WHERE aid = <random key>",
          "scan": "SELECT count(*), sum(abalance) FROM pgbench_accounts WHERE aid <= 100000 - (i mod 10)"}
COL_of = {"point": "Ir/query", "scan": "Ir/scan"}

medians = {c: {p: statistics.median(tps[c][p]) for p in protos if tps.get(c, {}).get(p)} for c in configs}
tps_ratio = {}
for c in configs:
    if c == "none": continue
    t = {p: medians[c][p] / medians["none"][p]
         for p in protos if p in medians.get(c, {}) and p in medians.get("none", {})}
    if t:
        tps_ratio[c + "/none"] = t

cg = {}   # per workload results
for wl in workloads:
    N = N_of[wl]; H = N // 2
    I = ir.get(wl, {})
    have = [c for c in cg_configs if N in I.get(c, {}) and H in I.get(c, {})]
    irq = {c: (I[c][N] - I[c][H]) / H for c in have}
    fixed = {c: 2 * I[c][H] - I[c][N] for c in have}
    # What each configuration costs per statement with its settings: measured, except
    # for latdiag, whose randomly armed executions make the raw figure depend on the
    # draw.  Ir(N) - Ir(N/2) = H*U + d*delta, with d the difference of armed
    # executions between the runs, and latdiag+armed measures U + delta.  Hence the
    # unarmed cost U, the extra cost delta of one armed execution, and the expected
    # cost at the default sample rate, U + rate*delta: deterministic.
    eff = dict(irq)
    decomp = None
    if "latdiag" in irq and "latdiag+armed" in irq and rate is not None:
        a = armed.get(wl, {}).get("latdiag", {})
        d = a.get(N, 0) - a.get(H, 0)
        A = irq["latdiag+armed"]
        D = I["latdiag"][N] - I["latdiag"][H]
        if H - d > 0:
            U = (D - d * A) / (H - d)
            delta = A - U
            E = U + rate * delta
            eff["latdiag"] = E
            decomp = {"sample_rate": rate, "armed_n": a.get(N), "armed_half": a.get(H),
                      "raw": irq["latdiag"], "unarmed": U, "armed": A, "armed_extra": delta,
                      "expected": E}
    ratio = {}
    for base in ("none", "none+qid"):
        if base in eff:
            for c in eff:
                if c != base and not (base == "none+qid" and c == "none"):
                    ratio[c + "/" + base] = eff[c] / eff[base]
    cg[wl] = {"n": N, "statement": SQL_of[wl],
              "ir_total": {c: {str(k): v for k, v in I.get(c, {}).items()} for c in cg_configs},
              "armed_executions": {c: {str(k): v for k, v in x.items()} for c, x in armed.get(wl, {}).items()},
              "slowest_ms": {c: {str(k): v for k, v in x.items()} for c, x in slowest.get(wl, {}).items()},
              "ir_per_query_raw": irq, "ir_fixed": fixed,
              "ir_per_query": eff, "latdiag_default_sampling": decomp, "ir_ratio": ratio}

try:
    cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
except Exception:
    cpu = platform.processor()
machine = {"cpus": os.cpu_count(), "cpu_model": cpu, "kernel": platform.release()}
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
params = {k.lower(): int(env[k]) for k in ("ROUNDS", "DURATION", "CLIENTS", "SCALE", "QUERIES", "SCAN_QUERIES")}
params["part_b_snapshot_min_duration_ms"] = int(env["SNAP_MIN_MS"])

res = {
    "date": now, "server_version": env["PG_VERSION_STR"], "pgbench_version": env["PGBENCH_VERSION"],
    "pg_config": env["PG_CONFIG"], "machine": machine, "parameters": params,
    "configs": configs, "callgrind_configs": cg_configs, "callgrind_workloads": workloads,
    "latdiag_defaults": {"snapshot_sample_rate": env.get("LATDIAG_SAMPLE_RATE") or None,
                         "snapshot_min_duration": env.get("LATDIAG_MIN_DURATION") or None},
    "tps": {c: {p: [{"round": i + 1, "tps": v} for i, v in enumerate(tps.get(c, {}).get(p, []))]
                for p in protos} for c in configs},
    "tps_median": medians,
    "tps_spread": {c: {p: (max(v) - min(v)) / statistics.median(v) for p, v in tps.get(c, {}).items() if v}
                   for c in configs},
    "tps_ratio": tps_ratio,
    "callgrind": cg,
    "capture_check_calls": checks,
    "pinned": env["PIN"] == "1",
    "latdiag_so": {"start": env["SO_ID_START"], "end": env["SO_ID_END"], "builds_used": builds},
    "seconds": {"part_a": int(env["PART_A_SECS"]), "part_b": int(env["PART_B_SECS"])},
    "loadavg_part_a": {"start": env["LOAD_A_START"], "end": env["LOAD_A_END"]},
}
with open(os.path.join(env["OUT"], "results.json"), "w") as f:
    json.dump(res, f, indent=2)
    f.write("\n")

L = []
L.append("postgres_latdiag overhead benchmark, %s" % now)
L.append("server %s; %d CPUs (%s); pgbench -S, clients=%d threads=%d, %d s per run, scale %d, %d rounds, %s"
         % (env["PG_VERSION_STR"], machine["cpus"], cpu, params["clients"], params["clients"],
            params["duration"], params["scale"], params["rounds"],
            "server and pgbench pinned to separate CPUs" if env["PIN"] == "1" else "unpinned"))
L.append("pg_config %s; pgbench %s" % (env["PG_CONFIG"], env["PGBENCH_VERSION"]))
L.append("postgres_latdiag.so (md5 mtime): %s%s" % (env["SO_ID_START"],
         "" if env["SO_ID_START"] == env["SO_ID_END"] else "  CHANGED DURING THE RUN to " + env["SO_ID_END"]))
if len(builds) > 1:
    L.append("WARNING: the latdiag measurements used %d different builds of postgres_latdiag.so:" % len(builds))
    for b, w in builds.items():
        L.append("  %s: %s" % (b, ", ".join(w)))
L.append("")
if params["rounds"] > 0:
    L.append("Part A raw TPS (excluding connection time), in run order within each round:")
    L.append("  %-6s %-8s %-9s %12s" % ("round", "config", "protocol", "tps"))
    nr = max((len(v) for c in tps.values() for v in c.values()), default=0)
    for i in range(nr):
        for c in configs:
            for p in protos:
                vals = tps.get(c, {}).get(p, [])
                if i < len(vals):
                    L.append("  %-6d %-8s %-9s %12.1f" % (i + 1, c, p, vals[i]))
    L.append("")
    L.append("Part A load average (1, 5, 15 min) at its start: %s, at its end: %s (%d CPUs)"
             % (env["LOAD_A_START"], env["LOAD_A_END"], machine["cpus"]))
    L.append("Part A median TPS (spread = (max - min) / median over the rounds):")
    L.append("  %-9s" % "protocol" + "".join("%12s %7s" % (c, "spread") for c in configs))
    for p in protos:
        row = "  %-9s" % p
        for c in configs:
            v = tps.get(c, {}).get(p, [])
            if v:
                row += "%12.1f %6.0f%%" % (medians[c][p], 100.0 * (max(v) - min(v)) / medians[c][p])
            else:
                row += "%12s %7s" % ("-", "-")
        L.append(row)
else:
    L.append("Part A: no pgbench rounds (ROUNDS=0).")
for c, n in checks.items():
    L.append("  capture check: %s counted %s calls of the pgbench SELECT in 100 transactions after a reset" % (c, n))
for wl in workloads:
    r = cg[wl]; N = r["n"]; H = N // 2
    I = ir.get(wl, {}); irq = r["ir_per_query_raw"]
    L.append("")
    L.append("Part B callgrind, single-user backend, workload %s: N=%d vs N/2=%d statements" % (wl, N, H))
    L.append("  %s" % r["statement"])
    L.append("  (fixed = 2*Ir(N/2) - Ir(N): start-up, first-query and shut-down cost, not per query;")
    L.append("   armed = executions latdiag instrumented for a snapshot, in the N and N/2 runs)")
    L.append("  %-13s %16s %16s %10s %14s %14s" % ("config", "Ir(N)", "Ir(N/2)", "armed", COL_of[wl], "fixed Ir"))
    for c in cg_configs:
        if c in irq:
            a = armed.get(wl, {}).get(c, {})
            L.append("  %-13s %16d %16d %10s %14.0f %14d" % (
                c, I[c][N], I[c][H], "%d, %d" % (a[N], a[H]) if N in a and H in a else "-",
                irq[c], r["ir_fixed"][c]))
    dc = r["latdiag_default_sampling"]
    if dc:
        L.append("  latdiag at the default sample rate %g: unarmed %.0f, armed %.0f (+%.0f, +%.1f%%);"
                 % (dc["sample_rate"], dc["unarmed"], dc["armed"], dc["armed_extra"],
                    100.0 * dc["armed_extra"] / dc["unarmed"]))
        L.append("    expected unarmed + %g * extra = %.0f %s (the raw %.0f depends on the random draw)"
                 % (dc["sample_rate"], dc["expected"], COL_of[wl], dc["raw"]))
    elif "latdiag" in irq:
        L.append("  latdiag: raw figure, with the armed executions of this particular draw (ARMED=1 and")
        L.append("    the capture check give the deterministic expected value at the default sample rate)")
    eff = r["ir_per_query"]
    if "none+qid" in eff and "none" in eff:
        L.append("  core jumbling (none+qid - none): %+.0f %s" % (eff["none+qid"] - eff["none"], COL_of[wl]))
        for c in ("pgss", "latdiag", "latdiag+armed"):
            if c in eff:
                L.append("  %s beyond core jumbling (%s - none+qid): %+.0f %s%s"
                         % (c, c, eff[c] - eff["none+qid"], COL_of[wl],
                            " (expected at the default sample rate)" if c == "latdiag" and dc else ""))
L.append("")
L.append("Ratios (1.000 = same as the base; TPS: higher is better, Ir: lower is better)")
L.append("  %-24s %12s %12s %12s %12s" % ("ratio", "tps simple", "tps prepared", "Ir/query", "Ir/scan"))
keys = list(tps_ratio)
for wl in workloads:
    keys += [k for k in cg[wl]["ir_ratio"] if k not in keys]
order = ["none+qid", "pgss", "latdiag", "latdiag+armed"]
keys.sort(key=lambda k: (k.split("/")[1] != "none", order.index(k.split("/")[0]) if k.split("/")[0] in order else 9))
for k in keys:
    t = tps_ratio.get(k, {})
    cells = []
    for wl in ("point", "scan"):
        v = cg.get(wl, {}).get("ir_ratio", {}).get(k)
        cells.append("%.3f" % v if v is not None else "-")
    L.append("  %-24s %12s %12s %12s %12s" % (k,
             "%.3f" % t["simple"] if "simple" in t else "-",
             "%.3f" % t["prepared"] if "prepared" in t else "-", cells[0], cells[1]))
if any(cg[wl]["latdiag_default_sampling"] for wl in workloads):
    L.append("  (latdiag Ir: expected at the default sample rate; latdiag+armed: every execution armed)")
text = "\n".join(L) + "\n"
with open(os.path.join(env["OUT"], "summary.txt"), "w") as f:
    f.write(text)
print(text, end="")
PYEOF
