#!/usr/bin/env bash
# postgres_latdiag: the whole test suite, as CI runs it.
#
#   bash test/run_tests.sh
#
# As root: installs what is missing (Debian packages), builds with -Werror,
# installs the module, then runs `make installcheck` (pg_regress, isolation,
# TAP) as an unprivileged user in a private copy of the tree under /tmp.
# As another user: assumes PostgreSQL 15 and the module are installed and runs
# the same phases in a copy as that user.
#
# Every phase runs even if an earlier one failed.  The last line is
# "N passed, N failed"; the exit status is 0 only if nothing failed and at
# least one test passed.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/bin/pg_config}
export PG_CONFIG
PKGS=(postgresql-15 postgresql-contrib postgresql-server-dev-15 libipc-run-perl make gcc
	libmicrohttpd-dev sqlsmith chromium prometheus curl openssl tmux)
# libmicrohttpd-dev: latdiag exporter; sqlsmith: the fuzz test; chromium: test/t/020_cli.pl
# loads the HTML report headless; prometheus (and promtool), curl, openssl:
# test/t/025_exporter.pl scrapes with a real Prometheus, over TLS too; tmux:
# test/t/020_cli.pl runs the report in an 80-column terminal
START=$(date +%s)

log() { printf '==> %s\n' "$*"; }
die() {
	printf 'ERROR: %s\n' "$*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

# ---------------------------------------------------------------- setup (root)
if [ "$(id -u)" -eq 0 ]; then
	missing=()
	for p in "${PKGS[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing: ${missing[*]}"
		apt-get update -qq >/dev/null || die "apt-get update failed"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
			</dev/null >/tmp/latdiag-apt.log 2>&1 ||
			{ tail -n 30 /tmp/latdiag-apt.log; die "apt-get install failed"; }
	fi
	[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found"

	log "building (LATDIAG_CFLAGS=-Werror)"
	make -s -C "$REPO" PG_CONFIG="$PG_CONFIG" LATDIAG_CFLAGS=-Werror ||
		die "build failed"
	make -s -C "$REPO" PG_CONFIG="$PG_CONFIG" LATDIAG_CFLAGS=-Werror install ||
		die "install failed"

	if id -u postgres >/dev/null 2>&1; then
		RUN_USER=postgres
	else
		id -u latdiag >/dev/null 2>&1 ||
			useradd --system --create-home --shell /bin/bash latdiag ||
			die "useradd latdiag failed"
		RUN_USER=latdiag
	fi
else
	RUN_USER=$(id -un)
	[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found (install PostgreSQL 15 dev packages first)"
fi

# ----------------------------------------------------------- private work tree
WORK=$(mktemp -d /tmp/latdiag-test.XXXXXX) || die "mktemp failed"
tar -C "$REPO" --exclude=./.git -cf - . | tar -C "$WORK" -xf - || die "copy failed"
# Start from a clean tree: no leftovers of earlier runs in the copy.
rm -rf "$WORK"/tmp_check "$WORK"/tmp_check_iso "$WORK"/results "$WORK"/output_iso \
	"$WORK"/regression.diffs "$WORK"/regression.out "$WORK"/log
if [ "$(id -u)" -eq 0 ]; then
	chown -R "$RUN_USER": "$WORK" || die "chown failed"
fi
log "running as $RUN_USER in $WORK"

as_user() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$RUN_USER" -- env HOME="$WORK" "$@"
	else
		"$@"
	fi
}

# One `make installcheck` per phase: PGXS stops at the first failing phase.
run_phase() {
	local name=$1
	shift
	log "phase: $name"
	(cd "$WORK" && as_user make --no-print-directory installcheck \
		PG_CONFIG="$PG_CONFIG" "$@") </dev/null >"$WORK/phase_$name.log" 2>&1
	local rc=$?
	cat "$WORK/phase_$name.log"
	return $rc
}

has_isolation=0
ls "$WORK"/test/specs/*.spec >/dev/null 2>&1 && has_isolation=1
has_tap=0
ls "$WORK"/test/t/*.pl >/dev/null 2>&1 && has_tap=1

run_phase regress ISOLATION= TAP_TESTS=
rc_regress=$?
rc_iso=0
if [ $has_isolation -eq 1 ]; then
	# Name the specs explicitly: a Makefile that computes ISOLATION from
	# $(srcdir) before including PGXS would otherwise find none.
	iso_names=$(cd "$WORK/test/specs" && ls *.spec | sed 's/\.spec$//' | tr '\n' ' ')
	run_phase isolation REGRESS= TAP_TESTS= ISOLATION="${iso_names% }"
	rc_iso=$?
fi
rc_tap=0
if [ $has_tap -eq 1 ]; then
	run_phase tap REGRESS= ISOLATION=
	rc_tap=$?
fi

# ------------------------------------------------------------------- counting
passed=0
failed=0

# pg_regress / isolation (PG15): "test NAME ... ok   12 ms", "... FAILED",
# "... failed (ignored)" (and, in parallel groups, without the "test " prefix).
count_pgregress() {
	local file=$1 rc=$2 p f
	p=$(grep -Ec '^(test )? *[A-Za-z0-9_.-]+ +\.\.\. +(ok|failed \(ignored\))' "$file")
	f=$(grep -Ec '^(test )? *[A-Za-z0-9_.-]+ +\.\.\. +FAILED' "$file")
	# The phase failed without any test reported as failed (server did not
	# start, missing files, crash...): count the phase itself as one failure.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	# A phase that has tests but ran none has failed too.
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	echo "$p passed, $f failed"
}

printf '\n==> results\n'
printf 'regress: '
count_pgregress "$WORK/phase_regress.log" $rc_regress
if [ $has_isolation -eq 1 ]; then
	printf 'isolation: '
	count_pgregress "$WORK/phase_isolation.log" $rc_iso
fi

tap_failed_files=()
if [ $has_tap -eq 1 ]; then
	tp=0
	tf=0
	for t in "$WORK"/test/t/*.pl; do
		rel=test/t/$(basename "$t")
		# prove prints "test/t/001_x.pl .. ok" (maybe with a timing) on success.
		if grep -Eq "^${rel//./\\.} \.+ ok( |$)" "$WORK/phase_tap.log"; then
			tp=$((tp + 1))
		else
			tf=$((tf + 1))
			tap_failed_files+=("$(basename "$t" .pl)")
		fi
	done
	if [ $rc_tap -ne 0 ] && [ $tf -eq 0 ]; then
		tf=1
	fi
	passed=$((passed + tp))
	failed=$((failed + tf))
	echo "tap: $tp passed, $tf failed"
fi

# ---------------------------------------------------------- failure details
if [ $failed -gt 0 ]; then
	for d in "$WORK/regression.diffs" "$WORK/output_iso/regression.diffs"; do
		if [ -s "$d" ]; then
			printf '\n==> %s\n' "${d#$WORK/}"
			head -c 20000 "$d"
		fi
	done
	# pg_regress keeps the server log in <outputdir>/log/postmaster.log.
	logs=()
	[ $rc_regress -ne 0 ] && logs+=("$WORK/log/postmaster.log")
	[ $rc_iso -ne 0 ] && logs+=("$WORK/output_iso/log/postmaster.log")
	for f in "${logs[@]}"; do
		if [ -s "$f" ]; then
			printf '\n==> tail of %s\n' "${f#$WORK/}"
			tail -n 40 "$f"
		fi
	done
	for name in "${tap_failed_files[@]}"; do
		# The test's own lines (results, diagnostics, commands), not initdb's.
		f="$WORK/tmp_check/log/regress_log_$name"
		if [ -s "$f" ]; then
			printf '\n==> %s (test lines, last 60)\n' "${f#$WORK/}"
			grep -E '^(\[|#)' "$f" | tail -n 60
		fi
		# Server logs of the test's nodes, without the logged statements.
		for sl in "$WORK"/tmp_check/log/"${name}"_*.log; do
			[ -s "$sl" ] || continue
			printf '\n==> %s (last 30 lines, statements left out)\n' "${sl#$WORK/}"
			grep -vE 'LOG:  (statement|duration):|^\s' "$sl" | tail -n 30
		done
	done
	echo
	echo "work tree kept for inspection: $WORK"
else
	rm -rf "$WORK"
fi

echo "suite took $(($(date +%s) - START)) s"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
