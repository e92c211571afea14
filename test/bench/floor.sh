#!/bin/bash
# test/bench/floor.sh: what the point-SELECT bar of issue 18 leaves room for.
#
# Measures, with part B of bench.sh (callgrind, single-user backend, point
# SELECT), three builds of the checkout on one PostgreSQL major:
#   full    the checkout as it is (every capture at its default)
#   counts  test/bench/floor.patch with LATDIAG_FLOOR 1: the hooks, the
#           measurement (two clock reads, buffer and WAL counters around
#           ExecutorRun) and the per-backend batch of counters, histogram
#           buckets and sources; no N+1 detection, plan id, snapshot arming,
#           parse-time text or constants
#   hooks   the same patch with LATDIAG_FLOOR 0: every hook installed and
#           chained, the nesting level kept, nothing measured or recorded
# and prints, for each, its instructions per query beyond core jumbling
# (latdiag - none+qid) next to the room the bar 1.040 x none leaves
# (1.040 x none - none+qid).  The patched builds are measurement only: they
# are never installed anywhere but the benchmark's PostgreSQL, and the last
# build installed there is the checkout's again (full runs last).
#
# Run as root:  bash test/bench/floor.sh [VERSION]     (15, 17 or 18; default 15)
# Environment: LATDIAG_CACHE, LATDIAG_PRIVATE_PG15, QUERIES as for bench.sh;
#   OUT=test/bench/results/floor-pgVERSION (relative to the repository root)
# About 8 minutes per major on a 2-core machine.  Run it on an otherwise idle
# machine (doc/benchmark.md, "Load changes instruction counts").
set -euo pipefail

V=${1:-${LATDIAG_PG:-15}}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-test/bench/results/floor-pg$V}
case "$OUT" in /*) ;; *) OUT=$REPO/$OUT ;; esac
PY=$(command -v python3) || { echo "floor.sh: python3 is required" >&2; exit 1; }
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/latdiag_floor.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# A clean copy of the checkout (tracked and untracked files, no build output).
copy_tree() {
	mkdir -p "$1"
	(cd "$REPO" && tar --exclude=./.git --exclude='*.o' --exclude='*.so' \
		--exclude=./test/bench/results -cf - .) | tar -C "$1" -xf -
}

for variant in hooks counts full; do
	tree=$TMP/$variant
	copy_tree "$tree"
	case $variant in
	hooks | counts)
		patch -s -p1 -d "$tree" <"$REPO/test/bench/floor.patch" ||
			{ echo "floor.sh: floor.patch does not apply to src/hooks.c any more" >&2; exit 1; }
		[ $variant = hooks ] && sed -i 's/^#define LATDIAG_FLOOR 1$/#define LATDIAG_FLOOR 0/' "$tree/src/hooks.c"
		armed=0 check=$([ $variant = hooks ] && echo 0 || echo 1)
		;;
	full) armed=1 check=1 ;;
	esac
	echo "[floor $(date +%T)] $variant: bench.sh part B on $V"
	OUT=$OUT/$variant ROUNDS=0 CONFIGS="none latdiag" ARMED=$armed COUNT_CHECK=$check SCAN_QUERIES=0 \
		bash "$tree/test/bench/bench.sh" "$V" >"$OUT/$variant.log" 2>&1 ||
		{ echo "floor.sh: bench.sh failed for $variant, see $OUT/$variant.log" >&2; exit 1; }
done

"$PY" - "$OUT" "$V" <<'PYEOF' | tee "$OUT/summary.txt"
import json, sys
out, v = sys.argv[1], sys.argv[2]
rows = []
for variant in ("hooks", "counts", "full"):
    r = json.load(open("%s/%s/results.json" % (out, variant)))
    ir = r["callgrind"]["point"]["ir_per_query"]
    rows.append((variant, ir["none"], ir["none+qid"], ir["latdiag"], r["server_version"]))
none = rows[-1][1]
qid = rows[-1][2]
room = 1.040 * none - qid
print("PostgreSQL %s, point SELECT, Ir per query (callgrind, part B of bench.sh)" % rows[-1][4])
print("  none %.0f, none+qid %.0f (core jumbling x %.4f): the bar 1.040 x none leaves %.0f beyond jumbling"
      % (none, qid, qid / none, room))
print("  %-7s %9s %9s %11s" % ("build", "latdiag", "/ none", "- none+qid"))
for variant, n, q, l, _ in rows:
    print("  %-7s %9.0f %9.4f %+11.0f" % (variant, l, l / n, l - q))
PYEOF
