#!/usr/bin/env bash
# Build postgres_latdiag and the `latdiag` CLI for one PostgreSQL and install
# them into it, from a clean copy of this checkout:
#
#   bash test/versions/install.sh /path/to/pg_config
#
# The copy leaves out every build product of the checkout (objects and
# libraries built for another major would otherwise be reused by make: PGXS
# does not notice that PG_CONFIG changed), so what gets installed is always
# the current source compiled against that pg_config's headers.  The checkout
# itself is not touched.  Progress and compiler output go to stderr; the last
# line of stdout is the installed library.  Used by test/bench/bench.sh,
# test/demo/run.sh and test/valgrind.sh.  Environment: LATDIAG_CFLAGS (extra compiler flags).
set -euo pipefail

PGC=${1:?usage: install.sh /path/to/pg_config}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

die() {
	printf 'install.sh: ERROR: %s\n' "$*" >&2
	exit 1
}
[ -x "$PGC" ] || die "$PGC is not an executable pg_config"

BUILD=$(mktemp -d /tmp/latdiag_build.XXXXXX)
trap 'rm -rf "$BUILD"' EXIT
tar -C "$REPO" --exclude=./.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
	--exclude='*.gcno' --exclude='*.gcda' --exclude=./src/cli/latdiag \
	--exclude=./tmp_check --exclude=./tmp_check_iso --exclude=./results \
	--exclude=./output_iso --exclude=./log --exclude=./test/bench/results \
	-cf - . | tar -C "$BUILD" -xf - || die "copying the tree failed"

JOBS=$(nproc 2>/dev/null || echo 1)
# The debug information would name the temporary directory: map it to ".", so that
# the same source and compiler give the same library (its md5 names the build).
make -s -C "$BUILD" -j"$JOBS" PG_CONFIG="$PGC" COPT="${COPT:+$COPT }-ffile-prefix-map=$BUILD=." \
	${LATDIAG_CFLAGS:+LATDIAG_CFLAGS="$LATDIAG_CFLAGS"} >&2 ||
	die "build against $PGC failed"
make -s -C "$BUILD" PG_CONFIG="$PGC" install >&2 || die "install into $("$PGC" --pkglibdir) failed"

lib=$(cd "$("$PGC" --pkglibdir)" && pwd)/postgres_latdiag.so
[ -f "$lib" ] || die "$lib was not installed"
cmp -s "$BUILD/postgres_latdiag.so" "$lib" || die "$lib differs from the library just built"
echo "$lib"
