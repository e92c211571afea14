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
#   configuration, ratios vs none.
# Part B (instructions, CALLGRIND=1 and valgrind installed): a single-user backend
#   (postgres --single) under callgrind runs QUERIES point SELECTs, then QUERIES/2;
#   Ir/query = (Ir(N) - Ir(N/2)) / (N/2), so start-up and shut-down cancel out.
#
# Run as root from anywhere:   bash test/bench/bench.sh
# Environment variables (defaults):
#   ROUNDS=3        rounds of part A (each round runs every configuration once)
#   DURATION=15     seconds per pgbench run
#   CLIENTS=2       pgbench clients (-c) and threads (-j)
#   SCALE=10        pgbench scale factor (100000 rows per unit in pgbench_accounts)
#   CALLGRIND=1     run part B (0 to skip)
#   QUERIES=2000    N for part B (must be even and >= 2)
#   OUT=test/bench/results   output directory (relative to the repo root unless absolute)
#   PORT=54400      port of the throwaway cluster
#   WARMUP=3        seconds of pgbench -S warm-up after each restart
#   CONFIGS="none pgss latdiag"   configurations of part A, in round order
#   KEEP=0          1 keeps the cluster directory (/tmp/latdiag_bench.*) for inspection
#   BUILD=1         build + install the extension from the repo root if the .so is missing
#   PIN=0           1 pins the server to the first half of the CPUs and pgbench to the
#                   other half (taskset); on small VMs this forces a cross-CPU wake-up per
#                   query and lowers TPS without removing the noise (see doc/benchmark.md)
# Outputs: $OUT/summary.txt (what stdout shows), $OUT/results.json (machine-readable),
#   $OUT/raw.tsv (one line per measurement). The last lines of stdout are the ratio table.
# The default run takes about 5.5 minutes on a 2-core machine.

set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15}
CLIENTS=${CLIENTS:-2}
SCALE=${SCALE:-10}
CALLGRIND=${CALLGRIND:-1}
QUERIES=${QUERIES:-2000}
PORT=${PORT:-54400}
WARMUP=${WARMUP:-3}
CONFIGS=${CONFIGS:-"none pgss latdiag"}
KEEP=${KEEP:-0}
BUILD=${BUILD:-1}
PIN=${PIN:-0}

BIN=/usr/lib/postgresql/15/bin
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
OUT=${OUT:-test/bench/results}
case "$OUT" in /*) ;; *) OUT="$REPO/$OUT" ;; esac
PGUSER_OS=postgres
DB=bench

if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

log()  { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
warn() { echo "[bench $(date +%H:%M:%S)] WARNING: $*" >&2; }
die()  { echo "[bench] ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (the server itself runs as the unprivileged user '$PGUSER_OS')"
[ -x "$BIN/postgres" ] || die "$BIN/postgres not found (PostgreSQL 15 server package missing)"
command -v "$PY" >/dev/null || die "python3 is needed for statistics and JSON output"
case "$QUERIES" in ''|*[!0-9]*) die "QUERIES must be a positive even integer" ;; esac
[ "$QUERIES" -ge 2 ] && [ $((QUERIES % 2)) -eq 0 ] || die "QUERIES must be even and >= 2"
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

PKGLIBDIR=$("$BIN/pg_config" --pkglibdir)
if [ ! -f "$PKGLIBDIR/postgres_latdiag.so" ] && [ "$BUILD" = 1 ]; then
    log "postgres_latdiag.so not installed: building and installing from $REPO"
    if ! (cd "$REPO" && make -s PG_CONFIG="$BIN/pg_config" && make -s PG_CONFIG="$BIN/pg_config" install) >&2; then
        warn "build/install of postgres_latdiag failed"
    fi
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
        latdiag) echo "postgres_latdiag" ;;
    esac
}
extension_of() {
    case "$1" in
        pgss) echo "pg_stat_statements" ;;
        latdiag) echo "postgres_latdiag" ;;
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
        if [ "$mode" = single ]; then
            # Part B only: no stats file is loaded at start or written at shutdown,
            # so the N and N/2 runs start from the same state (the difference cancels
            # start-up and shut-down anyway; this just removes a source of drift).
            echo "pg_stat_statements.save = off"
            echo "latdiag.save = off"
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

PART_A_START=$(date +%s)
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
        done
        CG_CONFIGS=${CG_CONFIGS# }
    else
        warn "valgrind not found: skipping part B (apt-get install valgrind)"
    fi
fi

if [ -n "$CG_CONFIGS" ]; then
    HALF=$((QUERIES / 2))
    NROWS=$((100000 * SCALE))
    # Deterministic pseudo-random keys (LCG); the N/2 file is the first half of the N file.
    gen_queries() {
        awk -v n="$1" -v m="$NROWS" 'BEGIN { x = 12345;
            for (i = 0; i < n; i++) { x = (x * 1103515245 + 12345) % 2147483648;
                printf "SELECT abalance FROM pgbench_accounts WHERE aid = %d;\n", (x % m) + 1 } }'
    }
    gen_queries "$QUERIES" > "$WORK/q_full.sql"
    gen_queries "$HALF" > "$WORK/q_half.sql"
    chmod 644 "$WORK"/q_*.sql
    PART_B_START=$(date +%s)
    for cfg in $CG_CONFIGS; do
        write_config "$cfg" single
        for n in "$QUERIES" "$HALF"; do
            if [ "$n" = "$QUERIES" ]; then qf=$WORK/q_full.sql; else qf=$WORK/q_half.sql; fi
            # For an extension, a last line reads its view: the count it reports must be n
            # (this adds the same cost to both runs, so it cancels in the difference).
            case "$cfg" in
                pgss)    cq="SELECT sum(calls) AS check_calls FROM pg_stat_statements WHERE query LIKE 'SELECT abalance%';" ;;
                latdiag) cq="SELECT sum(calls) AS check_calls FROM latdiag_queries WHERE query LIKE 'SELECT abalance%';" ;;
                *)       cq="" ;;
            esac
            if [ -n "$cq" ]; then
                { cat "$qf"; echo "$cq"; } > "$WORK/q_run.sql"
                chmod 644 "$WORK/q_run.sql"
                qf=$WORK/q_run.sql
            fi
            if [ "$cfg" = latdiag ]; then run_so=$(so_id | cut -c1-32); else run_so=-; fi
            cgout=$WORK/callgrind.$cfg.$n.out
            slog=$WORK/single.$cfg.$n.log
            # postgres --single: without -j a newline ends a statement, so one line = one query.
            "${SERVER_PIN[@]}" runuser -u "$PGUSER_OS" -- valgrind --tool=callgrind --callgrind-out-file="$cgout" \
                "$BIN/postgres" --single -D "$PGDATA" "$DB" < "$qf" > "$slog" 2>&1 \
                || { tail -n 30 "$slog" >&2; die "single-user run ($cfg, N=$n) failed"; }
            got=$(grep -c 'abalance = ' "$slog" || true)
            [ "$got" = "$n" ] || { tail -n 30 "$slog" >&2; die "single-user run ($cfg, N=$n): $got result rows, expected $n"; }
            if grep -qE '(ERROR|FATAL|PANIC):' "$slog"; then
                grep -E '(ERROR|FATAL|PANIC):' "$slog" | head -5 >&2
                die "single-user run ($cfg, N=$n) reported errors"
            fi
            if [ -n "$cq" ]; then
                calls=$(sed -n 's/.*check_calls = "\([0-9]*\)".*/\1/p' "$slog")
                [ "$calls" = "$n" ] || die "single-user run ($cfg, N=$n): the extension counted '$calls' calls, expected $n"
                log "check: $cfg counted $calls calls in the single-user run"
            fi
            ir=$(sed -n -e 's/^summary: *\([0-9]*\).*/\1/p' -e 's/^totals: *\([0-9]*\).*/\1/p' "$cgout" | tail -n 1)
            [ -n "$ir" ] || die "no summary/totals line in $cgout"
            printf 'ir\t%s\t%s\t%s\t%s\n' "$cfg" "$n" "$ir" "$run_so" >> "$RAW"
            log "callgrind $(printf '%-8s' "$cfg") N=$n  Ir = $ir"
        done
    done
    write_config none
    PART_B_SECS=$(( $(date +%s) - PART_B_START ))
else
    PART_B_SECS=0
fi

# ---------------------------------------------------------------- report
SO_ID_END=$(so_id)
if [ "$SO_ID_START" != "$SO_ID_END" ]; then
    warn "postgres_latdiag.so was replaced during the run ($SO_ID_START -> $SO_ID_END): results mix builds"
fi
log "part A ${PART_A_SECS}s, part B ${PART_B_SECS}s; results in $OUT"
export SO_ID_START SO_ID_END PIN RAW OUT ROUNDS DURATION CLIENTS SCALE QUERIES CONFIGS CG_CONFIGS PG_VERSION_STR PART_A_SECS PART_B_SECS
"$PY" - <<'PYEOF'
import json, os, statistics, datetime, platform, subprocess

env = os.environ
raw = [l.rstrip("\n").split("\t") for l in open(env["RAW"]) if l.strip()]
configs = env["CONFIGS"].split()
cg_configs = env["CG_CONFIGS"].split()
protos = ["simple", "prepared"]

tps = {}      # tps[cfg][proto] = [values in round order]
ir = {}       # ir[cfg][n] = Ir
checks = {}
builds = {}   # md5 of postgres_latdiag.so -> measurements that loaded it
for r in raw:
    if r[0] in ("tps", "ir") and len(r) > 5 - (r[0] == "ir") and r[-1] != "-":
        what = ("round %s %s" % (r[1], r[3])) if r[0] == "tps" else ("callgrind N=%s" % r[2])
        builds.setdefault(r[-1], []).append(what)
    if r[0] == "tps":
        tps.setdefault(r[2], {}).setdefault(r[3], []).append(float(r[4]))
    elif r[0] == "ir":
        ir.setdefault(r[1], {})[int(r[2])] = int(r[3])
    elif r[0] == "check":
        checks[r[1]] = r[2]

N = int(env["QUERIES"]); H = N // 2
medians = {c: {p: statistics.median(tps[c][p]) for p in protos if tps.get(c, {}).get(p)} for c in configs}
tps_ratio = {}
for c in configs:
    if c == "none": continue
    tps_ratio[c + "/none"] = {p: medians[c][p] / medians["none"][p]
                              for p in protos if p in medians.get(c, {}) and p in medians.get("none", {})}
irq = {c: (ir[c][N] - ir[c][H]) / H for c in cg_configs if N in ir.get(c, {}) and H in ir.get(c, {})}
ir_ratio = {}
if "none" in irq:
    for c in irq:
        if c != "none":
            ir_ratio[c + "/none"] = irq[c] / irq["none"]
if "none+qid" in irq:
    for c in ("pgss", "latdiag"):
        if c in irq:
            ir_ratio[c + "/none+qid"] = irq[c] / irq["none+qid"]

try:
    cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
except Exception:
    cpu = platform.processor()
machine = {"cpus": os.cpu_count(), "cpu_model": cpu, "kernel": platform.release()}
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
params = {k.lower(): int(env[k]) for k in ("ROUNDS", "DURATION", "CLIENTS", "SCALE", "QUERIES")}

res = {
    "date": now, "server_version": env["PG_VERSION_STR"], "machine": machine, "parameters": params,
    "configs": configs, "callgrind_configs": cg_configs,
    "tps": {c: {p: [{"round": i + 1, "tps": v} for i, v in enumerate(tps.get(c, {}).get(p, []))]
                for p in protos} for c in configs},
    "tps_median": medians,
    "tps_spread": {c: {p: (max(v) - min(v)) / statistics.median(v) for p, v in tps.get(c, {}).items() if v}
                   for c in configs},
    "tps_ratio": tps_ratio,
    "ir_total": {c: {str(k): v for k, v in ir.get(c, {}).items()} for c in cg_configs},
    "ir_per_query": irq,
    "ir_fixed": {c: 2 * ir[c][H] - ir[c][N] for c in irq}, "ir_ratio": ir_ratio,
    "capture_check_calls": checks,
    "pinned": env["PIN"] == "1",
    "latdiag_so": {"start": env["SO_ID_START"], "end": env["SO_ID_END"], "builds_used": builds},
    "seconds": {"part_a": int(env["PART_A_SECS"]), "part_b": int(env["PART_B_SECS"])},
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
L.append("postgres_latdiag.so (md5 mtime): %s%s" % (env["SO_ID_START"],
         "" if env["SO_ID_START"] == env["SO_ID_END"] else "  CHANGED DURING THE RUN to " + env["SO_ID_END"]))
if len(builds) > 1:
    L.append("WARNING: the latdiag measurements used %d different builds of postgres_latdiag.so:" % len(builds))
    for b, w in builds.items():
        L.append("  %s: %s" % (b, ", ".join(w)))
L.append("")
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
for c, n in checks.items():
    L.append("  capture check: %s counted %s calls of the pgbench SELECT in 100 transactions after a reset" % (c, n))
if cg_configs:
    L.append("")
    L.append("Part B callgrind, single-user backend, N=%d vs N/2=%d point SELECTs:" % (N, H))
    L.append("  (fixed = 2*Ir(N/2) - Ir(N): start-up, first-query and shut-down cost, not per query)")
    L.append("  %-9s %16s %16s %12s %14s" % ("config", "Ir(N)", "Ir(N/2)", "Ir/query", "fixed Ir"))
    for c in cg_configs:
        if c in irq:
            L.append("  %-9s %16d %16d %12.0f %14d" % (c, ir[c][N], ir[c][H], irq[c], 2 * ir[c][H] - ir[c][N]))
    if "none+qid" in irq and "none" in irq:
        L.append("  core jumbling (none+qid - none): %+.0f Ir/query" % (irq["none+qid"] - irq["none"]))
        for c in ("pgss", "latdiag"):
            if c in irq:
                L.append("  %s beyond core jumbling (%s - none+qid): %+.0f Ir/query" % (c, c, irq[c] - irq["none+qid"]))
L.append("")
L.append("Ratios (1.000 = same as none; TPS: higher is better, Ir: lower is better)")
L.append("  %-18s %12s %12s %12s" % ("ratio", "tps simple", "tps prepared", "Ir/query"))
keys = list(tps_ratio) + [k for k in ir_ratio if k not in tps_ratio]
for k in keys:
    t = tps_ratio.get(k, {})
    L.append("  %-18s %12s %12s %12s" % (k,
             "%.3f" % t["simple"] if "simple" in t else "-",
             "%.3f" % t["prepared"] if "prepared" in t else "-",
             "%.3f" % ir_ratio[k] if k in ir_ratio else "-"))
text = "\n".join(L) + "\n"
with open(os.path.join(env["OUT"], "summary.txt"), "w") as f:
    f.write(text)
print(text, end="")
PYEOF
