#!/usr/bin/env bash
# postgres_latdiag: the whole test suite, as CI runs it, for each PostgreSQL
# major version.
#
#   bash test/run_tests.sh                               15, 17, 18 and 19
#   LATDIAG_PG_VERSIONS="15 18" bash test/run_tests.sh   some of them ("15,18" too)
#
# As root: installs what is missing (Debian packages), then for each version V
# (in increasing order): test/versions/provide.sh V makes it available (cached
# under $LATDIAG_CACHE), a private copy of the tree under /tmp is built with
# -Werror and installed into V, and `make installcheck` (pg_regress, isolation,
# TAP) runs there as an unprivileged user.  19 has headers only: it is
# compiled and linked, nothing runs.  The 18 run gets 15's pg_config in
# LATDIAG_OLD_PG_CONFIG (test/t/021_pg_upgrade.pl: pg_upgrade from 15) when 15
# ran first.
# As another user: assumes PostgreSQL and the module are installed and runs
# the same phases against $PG_CONFIG (default /usr/bin/pg_config) only.
#
# Every phase and version runs even if an earlier one failed; a version that
# cannot be provided or built counts as one failure.  The output ends with one
# line per version, the failure details, the times, and last
# "N passed, N failed" (", N skipped" when TAP files were skipped); the exit
# status is 0 only if nothing failed and at least one test passed.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
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
is_root() { [ "$(id -u)" -eq 0 ]; }
# Versions that have headers only: compiled and linked, nothing runs.
compile_only() { [ "$1" = 19 ]; }

# ------------------------------------------------------------ versions to test
# Increasing order, each once: 15 (installed with latdiag) comes before 18.
VERSIONS=()
while read -r v; do
	VERSIONS+=("$v")
done < <(printf '%s\n' ${LATDIAG_PG_VERSIONS:-15 17 18 19} | tr ',' '\n' |
	awk 'NF && !seen[$0]++' | sort -s -n)
[ ${#VERSIONS[@]} -gt 0 ] || die "LATDIAG_PG_VERSIONS names no version"

# ---------------------------------------------------------------- setup (root)
if is_root; then
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
	PG_CONFIG=${PG_CONFIG:-/usr/bin/pg_config}
	[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found (install PostgreSQL dev packages first)"
	installed=$("$PG_CONFIG" --version | sed -nE 's/^PostgreSQL ([0-9]+).*/\1/p')
	[ -n "$installed" ] || die "$PG_CONFIG --version: no version"
	if [ "${VERSIONS[*]}" != "$installed" ]; then
		log "as $RUN_USER only the installed PostgreSQL $installed ($PG_CONFIG) is tested; other versions need root"
	fi
	VERSIONS=("$installed")
fi

WORK_ROOT=$(mktemp -d /tmp/latdiag-test.XXXXXX) || die "mktemp failed"
if is_root; then
	chown "$RUN_USER": "$WORK_ROOT" || die "chown failed"
fi

# Per-version results: the line of the summary, counts, seconds, and what the
# failure details need.
declare -A LINE SECS STATE RC_REGRESS RC_ISO RC_TAP TAP_FAILED NOTE
passed=0
failed=0
skipped=0
OLD_PG_CONFIG=${LATDIAG_OLD_PG_CONFIG:-} # 15's, once 15 is installed

# The phases of version $V run in $W as $RUN_USER, with $EXTRA_ENV.
V=
W=
EXTRA_ENV=()
as_user() {
	if is_root; then
		runuser -u "$RUN_USER" -- env HOME="$W" "${EXTRA_ENV[@]}" "$@"
	else
		env "${EXTRA_ENV[@]}" "$@"
	fi
}

# One `make installcheck` per phase: PGXS stops at the first failing phase.
run_phase() {
	local name=$1 pgc=$2
	shift 2
	log "pg$V phase: $name"
	(cd "$W" && as_user make --no-print-directory installcheck \
		PG_CONFIG="$pgc" "$@") </dev/null >"$W/phase_$name.log" 2>&1
	local rc=$?
	cat "$W/phase_$name.log"
	return $rc
}

# pg_regress / isolation.  15: "test NAME ... ok   12 ms", "... FAILED",
# "... failed (ignored)" (in parallel groups without the "test " prefix).
# 16 and later (TAP-like): "ok 1         - NAME   12 ms", "not ok 2  + NAME".
# Prints "P F".
count_pgregress() {
	local file=$1 rc=$2 p f
	p=$(grep -Ec '^(test )? *[A-Za-z0-9_.-]+ +\.\.\. +(ok|failed \(ignored\))|^ok +[0-9]+ +[-+] +[A-Za-z0-9_.-]+ |^not ok +[0-9]+ +[-+] .*# *(\(ignored\)|SKIP)' "$file")
	f=$(grep -Ec '^(test )? *[A-Za-z0-9_.-]+ +\.\.\. +FAILED' "$file")
	f=$((f + $(grep -E '^not ok +[0-9]+ +[-+] ' "$file" | grep -Evc '# *(\(ignored\)|SKIP)')))
	# The phase failed without any test reported as failed (server did not
	# start, missing files, crash...): count the phase itself as one failure.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	# A phase that has tests but ran none has failed too.
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	echo "$p $f"
}

# A version that could not be provided or built: one failure.
version_failed() {
	local state=$1 line=$2
	STATE[$V]=$state
	LINE[$V]="pg$V: $line"
	failed=$((failed + 1))
}

run_version() {
	V=$1
	W=$WORK_ROOT/pg$V
	EXTRA_ENV=()
	local pgc rc
	printf '\n'
	log "PostgreSQL $V"

	# -------------------------------------------------- provide, build, install
	mkdir -p "$W" || die "mkdir $W failed"
	if is_root; then
		bash "$REPO/test/versions/provide.sh" "$V" 2>&1 >"$W/provide.out" |
			tee "$W/provide.log" >&2
		rc=${PIPESTATUS[0]}
		pgc=$(tail -n 1 "$W/provide.out")
		if [ "$rc" -ne 0 ] || [ -z "$pgc" ] || [ ! -x "$pgc" ]; then
			local why
			why=$(grep -h 'ERROR' "$W/provide.log" | tail -n 1 | sed -E 's/^ *\[pg[0-9]+\] ERROR: //')
			version_failed provide "not provided: ${why:-test/versions/provide.sh $V exited $rc}"
			return
		fi
	else
		pgc=$PG_CONFIG
	fi
	log "pg$V: $pgc"

	# A private copy of the tree, without the build products of the checkout.
	tar -C "$REPO" --exclude=./.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
		--exclude='*.gcno' --exclude='*.gcda' --exclude=./src/cli/latdiag \
		--exclude=./tmp_check --exclude=./tmp_check_iso --exclude=./results \
		--exclude=./output_iso --exclude=./regression.diffs --exclude=./regression.out \
		--exclude=./log -cf - . | tar -C "$W" -xf - || {
		version_failed copy "copying the tree to $W failed"
		return
	}

	if is_root; then
		log "pg$V: building (LATDIAG_CFLAGS=-Werror)"
		# 19: the install rules run too, into a directory of the copy.
		local destdir=()
		compile_only "$V" && destdir=(DESTDIR="$W/destdir")
		# -k: every file that does not compile shows (in the failure details).
		make -s -k -C "$W" PG_CONFIG="$pgc" LATDIAG_CFLAGS=-Werror >"$W/build.log" 2>&1
		rc=$?
		if [ "$rc" -eq 0 ]; then
			make -s -C "$W" PG_CONFIG="$pgc" LATDIAG_CFLAGS=-Werror "${destdir[@]}" install \
				>>"$W/build.log" 2>&1
			rc=$?
		fi
		[ "$rc" -eq 0 ] || log "pg$V: build FAILED (errors below, in the failure details)"
		if compile_only "$V"; then
			STATE[$V]=compiled
			if [ "$rc" -eq 0 ] && [ -s "$W/postgres_latdiag.so" ] && [ -x "$W/src/cli/latdiag" ]; then
				LINE[$V]="pg$V: compile and link with -Werror: passed"
				passed=$((passed + 1))
			else
				LINE[$V]="pg$V: compile and link with -Werror: FAILED"
				failed=$((failed + 1))
			fi
			return
		fi
		if [ "$rc" -ne 0 ]; then
			version_failed build "build or install with -Werror failed"
			return
		fi
		chown -R "$RUN_USER": "$W" || die "chown failed"
		[ "$V" = 15 ] && OLD_PG_CONFIG=$pgc
	fi
	STATE[$V]=ran
	# pg_upgrade from 15 (test/t/021_pg_upgrade.pl) in the later versions.
	if [ "$V" != 15 ] && [ -n "$OLD_PG_CONFIG" ]; then
		EXTRA_ENV=(LATDIAG_OLD_PG_CONFIG="$OLD_PG_CONFIG")
	fi
	log "pg$V: running as $RUN_USER in $W"

	# ------------------------------------------------------------------ phases
	local has_isolation=0 has_tap=0 rc_regress rc_iso=0 rc_tap=0
	ls "$W"/test/specs/*.spec >/dev/null 2>&1 && has_isolation=1
	ls "$W"/test/t/*.pl >/dev/null 2>&1 && has_tap=1

	run_phase regress "$pgc" ISOLATION= TAP_TESTS=
	rc_regress=$?
	if [ $has_isolation -eq 1 ]; then
		# Name the specs explicitly: a Makefile that computes ISOLATION from
		# $(srcdir) before including PGXS would otherwise find none.
		local iso_names
		iso_names=$(cd "$W/test/specs" && ls *.spec | sed 's/\.spec$//' | tr '\n' ' ')
		run_phase isolation "$pgc" REGRESS= TAP_TESTS= ISOLATION="${iso_names% }"
		rc_iso=$?
	fi
	if [ $has_tap -eq 1 ]; then
		# Three files at a time, scheduled by test/testrules.yml; the
		# files that assert timings run alone after them.  --merge: else
		# prove, after echoing a file's standard error, waits for that
		# file's next result and collects no other (doc/reliability.md).
		run_phase tap "$pgc" REGRESS= ISOLATION= \
			PROVE_FLAGS="${LATDIAG_PROVE_FLAGS--j3 --merge}" HARNESS_RULESFILE=test/testrules.yml
		rc_tap=$?
	fi
	RC_REGRESS[$V]=$rc_regress
	RC_ISO[$V]=$rc_iso
	RC_TAP[$V]=$rc_tap

	# ---------------------------------------------------------------- counting
	local line="pg$V:" pf p f vfailed=0
	pf=$(count_pgregress "$W/phase_regress.log" $rc_regress)
	p=${pf% *} f=${pf#* }
	passed=$((passed + p)) failed=$((failed + f)) vfailed=$((vfailed + f))
	line+=" regress $p passed, $f failed"
	if [ $has_isolation -eq 1 ]; then
		pf=$(count_pgregress "$W/phase_isolation.log" $rc_iso)
		p=${pf% *} f=${pf#* }
		passed=$((passed + p)) failed=$((failed + f)) vfailed=$((vfailed + f))
		line+="; isolation $p passed, $f failed"
	fi
	local tap_failed_files=() partial=()
	if [ $has_tap -eq 1 ]; then
		local tp=0 tf=0 ts=0 t rel name n
		for t in "$W"/test/t/*.pl; do
			rel=test/t/$(basename "$t")
			name=$(basename "$t" .pl)
			# prove prints "test/t/001_x.pl .. ok" (maybe with a timing) on
			# success, "test/t/016_x.pl .. skipped: why" for a skip_all.
			if grep -Eq "^${rel//./\\.} \.+ ok( |$)" "$W/phase_tap.log"; then
				tp=$((tp + 1))
				# Subtests skipped inside a passing file ("ok 12 # skip why").
				# (Lines of 16 and later start with "[time](elapsed) ".)
				n=$(sed -nE 's/^(\[[0-9:.]+\]\([0-9.]+s\) )?ok [0-9]+ # skip ?(.*)$/\2/p' \
					"$W/tmp_check/log/regress_log_$name" 2>/dev/null)
				if [ -n "$n" ]; then
					partial+=("  $name: $(wc -l <<<"$n") subtests skipped: $(head -n 1 <<<"$n")")
				fi
			elif grep -Eq "^${rel//./\\.} \.+ skipped:" "$W/phase_tap.log"; then
				ts=$((ts + 1))
			else
				tf=$((tf + 1))
				tap_failed_files+=("$name")
			fi
		done
		if [ $rc_tap -ne 0 ] && [ $tf -eq 0 ]; then
			tf=1
		fi
		passed=$((passed + tp)) failed=$((failed + tf)) skipped=$((skipped + ts))
		vfailed=$((vfailed + tf))
		line+="; tap $tp passed, $tf failed"
		[ $ts -gt 0 ] && line+=", $ts skipped"
	fi
	LINE[$V]=$line
	TAP_FAILED[$V]="${tap_failed_files[*]}"
	# What was skipped, and why: whole TAP files, and subtests of passing ones.
	local skips
	skips=$(sed -nE 's#^test/t/([^ ]+)\.pl \.+ skipped: (.*)$#  \1: \2#p' "$W/phase_tap.log" 2>/dev/null)
	if [ ${#partial[@]} -gt 0 ]; then
		skips+="${skips:+$'\n'}$(printf '%s\n' "${partial[@]}")"
	fi
	NOTE[$V]=$skips
	if [ $vfailed -eq 0 ]; then
		STATE[$V]=passed
	fi
}

for v in "${VERSIONS[@]}"; do
	vstart=$(date +%s)
	run_version "$v"
	SECS[$v]=$(($(date +%s) - vstart))
	# A version that passed leaves nothing behind.
	if [ "${STATE[$v]}" = passed ] ||
		{ [ "${STATE[$v]}" = compiled ] && [[ ${LINE[$v]} == *passed ]]; }; then
		rm -rf "${WORK_ROOT:?}/pg$v"
	fi
done

# ------------------------------------------------------------- Debian package
# postgresql-15-latdiag built with pg_buildext, installed, tried on a fresh
# cluster and removed again (test/packaging/deb.sh restores what `make install`
# had put there).  It installs into the system's 15, so it runs only with the
# system's 15 (not with LATDIAG_PRIVATE_PG15=1), as root.
DEB_LINE=
if is_root && [[ " ${VERSIONS[*]} " == *" 15 "* ]] && [ "${LATDIAG_PRIVATE_PG15:-0}" != 1 ]; then
	log "Debian package: test/packaging/deb.sh 15"
	bash "$REPO/test/packaging/deb.sh" 15 </dev/null >"$WORK_ROOT/deb.log" 2>&1
	if [ "$(tail -n 1 "$WORK_ROOT/deb.log")" = "deb: ok" ]; then
		DEB_LINE="deb: postgresql-15-latdiag built, installed and used on a fresh cluster: 1 passed, 0 failed"
		passed=$((passed + 1))
		rm -f "$WORK_ROOT/deb.log"
	else
		DEB_LINE="deb: postgresql-15-latdiag: 0 passed, 1 failed"
		failed=$((failed + 1))
	fi
fi

# -------------------------------------------------------------------- summary
printf '\n==> results\n'
for v in "${VERSIONS[@]}"; do
	echo "${LINE[$v]}"
	if [ -n "${NOTE[$v]:-}" ]; then
		echo "${NOTE[$v]}"
	fi
done
[ -n "$DEB_LINE" ] && echo "$DEB_LINE"
if [ -s "$WORK_ROOT/deb.log" ]; then
	printf '\n==> Debian package: test/packaging/deb.sh (last 40 lines)\n'
	tail -n 40 "$WORK_ROOT/deb.log"
	rm -f "$WORK_ROOT/deb.log"
fi

# ---------------------------------------------------------- failure details
for v in "${VERSIONS[@]}"; do
	W=$WORK_ROOT/pg$v
	case "${STATE[$v]}" in
	passed) continue ;;
	copy) continue ;;
	provide)
		printf '\n==> pg%s: test/versions/provide.sh %s (last 20 lines)\n' "$v" "$v"
		tail -n 20 "$W/provide.log"
		continue
		;;
	build | compiled)
		[[ ${LINE[$v]} == *passed ]] && continue
		if grep -qE ': (fatal )?error:' "$W/build.log"; then
			printf '\n==> pg%s: build errors (first 40, each once)\n' "$v"
			grep -E ': (fatal )?error:' "$W/build.log" | awk '!seen[$0]++' | head -n 40
		else
			printf '\n==> pg%s: build log (last 40 lines)\n' "$v"
			tail -n 40 "$W/build.log"
		fi
		continue
		;;
	esac
	for d in "$W/regression.diffs" "$W/output_iso/regression.diffs"; do
		if [ -s "$d" ]; then
			printf '\n==> pg%s: %s\n' "$v" "${d#$W/}"
			head -c 20000 "$d"
		fi
	done
	# pg_regress keeps the server log in <outputdir>/log/postmaster.log.
	logs=()
	[ "${RC_REGRESS[$v]}" -ne 0 ] && logs+=("$W/log/postmaster.log")
	[ "${RC_ISO[$v]}" -ne 0 ] && logs+=("$W/output_iso/log/postmaster.log")
	for f in "${logs[@]}"; do
		if [ -s "$f" ]; then
			printf '\n==> pg%s: tail of %s\n' "$v" "${f#$W/}"
			tail -n 40 "$f"
		fi
	done
	for name in ${TAP_FAILED[$v]}; do
		# The test's own lines (results, diagnostics, commands), not initdb's.
		f="$W/tmp_check/log/regress_log_$name"
		if [ -s "$f" ]; then
			printf '\n==> pg%s: %s (test lines, last 60)\n' "$v" "${f#$W/}"
			grep -E '^(\[|#)' "$f" | tail -n 60
		fi
		# Server logs of the test's nodes, without the logged statements.
		for sl in "$W"/tmp_check/log/"${name}"_*.log; do
			[ -s "$sl" ] || continue
			printf '\n==> pg%s: %s (last 30 lines, statements left out)\n' "$v" "${sl#$W/}"
			grep -vE 'LOG:  (statement|duration):|^\s' "$sl" | tail -n 30
		done
	done
done

if rmdir "$WORK_ROOT" 2>/dev/null; then
	:
else
	echo
	echo "work trees kept for inspection: $(cd "$WORK_ROOT" && ls -d pg* | sed "s#^#$WORK_ROOT/#" | tr '\n' ' ')"
fi

times=()
for v in "${VERSIONS[@]}"; do
	times+=("pg$v ${SECS[$v]} s")
done
echo "time: $(printf '%s, ' "${times[@]}" | sed 's/, $//')"
echo "suite took $(($(date +%s) - START)) s"
if [ $skipped -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ] && [ $passed -gt 0 ]
