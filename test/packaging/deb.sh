#!/usr/bin/env bash
# Build the Debian packages postgresql-NN-latdiag and postgres-latdiag-common
# (/usr/bin/latdiag) from this tree, install them, check them in a throwaway
# cluster, and take everything away again.
#
#   bash test/packaging/deb.sh [MAJOR]        # MAJOR defaults to 15
#
# As root (it installs packages).  Steps:
#   1. apt-get installs what the build needs, if missing (debhelper, dpkg-dev,
#      postgresql-server-dev-all, libpq-dev, postgresql-MAJOR).  The versions
#      agree: default_version in postgres_latdiag.control (e.g. 1.4), debian/changelog
#      and META.json (e.g. 1.4.0); MAJOR is in debian/pgversions and supported by
#      postgresql-common here.
#   2. The tree (tracked and untracked-but-not-ignored files, no .git) is
#      copied to a temporary directory and built there with
#      `dpkg-buildpackage -us -uc -b`, so no build output lands in the checkout.
#   3. The files the package contains that already exist on disk (a
#      `make install` of the extension or of latdiag, for instance) are backed
#      up; the package is installed with dpkg -i.
#   4. A cluster MAJOR/latdiagpkg (port 54399, or the next free one) is
#      created with shared_preload_libraries = 'postgres_latdiag' and started;
#      as postgres: CREATE EXTENSION, SELECT 1, latdiag_queries has rows, the
#      packaged latdiag program answers --version and reports on the cluster,
#      also as /usr/bin/latdiag (the wrapper on PATH, owned by
#      postgres-latdiag-common); debian/tests/smoke (the autopkgtest) runs too.
#   5. Always, also on failure or interrupt: the cluster is stopped and
#      dropped, the package purged, the backed-up files restored (and checked
#      against their checksums), the temporary directory removed (kept when
#      the build fails, for its log).
#
# The package is installed only for the seconds steps 4-5 take; the build
# happens before.  The last line is "deb: ok" (exit 0) or "deb: FAILED <why>"
# (exit 1).  LATDIAG_DEB_KEEP=1 keeps the temporary directory (build log,
# .deb files) and prints its path.
set -uo pipefail

PGV=${1:-15}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PKG=postgresql-$PGV-latdiag
COMMON=postgres-latdiag-common
CLUSTER=latdiagpkg
FIRST_PORT=${LATDIAG_DEB_PORT:-54399}
SOCKDIR=/var/run/postgresql
START=$(date +%s)

WORK=
BACKUP=
INSTALLED=0     # set once dpkg -i has been attempted
INSTALLED_AT=0
CLUSTER_MADE=0  # set once pg_createcluster has been attempted
FAILED=
PHASE=setup

log() { printf '==> %s\n' "$*"; }

# Record the first failure; the EXIT trap reports it.
fail() {
	[ -n "$FAILED" ] || FAILED="$*"
	exit 1
}

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local rc=$? problems=()
	trap - EXIT INT TERM
	[ -n "$FAILED" ] || [ "$rc" -eq 0 ] || FAILED="exit status $rc during $PHASE"

	if [ "$CLUSTER_MADE" -eq 1 ] && [ -d "/etc/postgresql/$PGV/$CLUSTER" ]; then
		if [ -n "$FAILED" ] && [ -r "/var/log/postgresql/postgresql-$PGV-$CLUSTER.log" ]; then
			echo "--- server log (last 20 lines)"
			tail -n 20 "/var/log/postgresql/postgresql-$PGV-$CLUSTER.log"
		fi
		log "dropping cluster $PGV/$CLUSTER"
		pg_dropcluster --stop "$PGV" "$CLUSTER" || problems+=("pg_dropcluster failed")
	fi

	if [ "$INSTALLED" -eq 1 ]; then
		log "purging $PKG $COMMON"
		if dpkg --purge "$PKG" "$COMMON" >"$WORK/purge.log" 2>&1; then
			log "the packages were installed for $(($(date +%s) - INSTALLED_AT)) s"
		else
			cat "$WORK/purge.log"
			problems+=("dpkg --purge $PKG $COMMON failed")
		fi
	fi
	for p in "$PKG" "$COMMON"; do
		if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
			# Only reached if the package was ours (step 0 refuses to start otherwise).
			problems+=("$p is still known to dpkg")
		fi
	done

	if [ -n "$BACKUP" ] && [ -s "$BACKUP.list" ]; then
		log "restoring $(wc -l <"$BACKUP.list") file(s) that were there before"
		if (cd "$BACKUP" && tar -cf - .) | tar -xpf - -C /; then
			(cd / && sha256sum --quiet -c "$BACKUP.sha256") >/dev/null 2>&1 ||
				problems+=("restored files differ from the backup")
		else
			problems+=("restoring the backup failed (it is in $BACKUP)")
			LATDIAG_DEB_KEEP=1
		fi
	fi

	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if [ "${LATDIAG_DEB_KEEP:-0}" = 1 ] || { [ -n "$FAILED" ] && [ "$PHASE" = build ]; }; then
			log "kept $WORK"
		else
			rm -rf "$WORK"
		fi
	fi

	if [ ${#problems[@]} -gt 0 ]; then
		FAILED="${FAILED:+$FAILED; }cleanup: ${problems[*]}"
	fi
	log "$(($(date +%s) - START)) s"
	if [ -n "$FAILED" ]; then
		echo "deb: FAILED $FAILED"
		exit 1
	fi
	echo "deb: ok"
	exit 0
}
trap cleanup EXIT
trap 'fail "interrupted during $PHASE"' INT TERM

# ------------------------------------------------------------------ 0. checks
[ "$(id -u)" -eq 0 ] || fail "run as root"
[[ "$PGV" =~ ^[0-9]+$ ]] || fail "bad PostgreSQL major \"$PGV\""
for p in "$PKG" "$COMMON"; do
	if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
		FAILED="$p is already installed; remove it first (this script removes what it installs)"
		trap - EXIT
		echo "deb: FAILED $FAILED"
		exit 1
	fi
done

# --------------------------------------------------------------- 1. packages
PHASE=packages
APT_UPDATED=0
apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "apt-get install ${missing[*]}"
	if [ "$APT_UPDATED" -eq 0 ]; then
		apt-get update -qq >/dev/null 2>&1 || fail "apt-get update failed"
		APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
		</dev/null >/tmp/latdiag-deb-apt.log 2>&1 ||
		{
			tail -n 20 /tmp/latdiag-deb-apt.log
			fail "apt-get install ${missing[*]} failed"
		}
}
apt_install debhelper dpkg-dev fakeroot postgresql-common postgresql-server-dev-all libpq-dev

# The extension's default_version, the Debian version and META.json agree
# (1.3 -> 1.3.0), and the files META.json names exist.
PHASE=versions
ext_version=$(sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" "$REPO/postgres_latdiag.control")
[ -n "$ext_version" ] || fail "no default_version in postgres_latdiag.control"
want=$ext_version
[[ "$want" =~ ^[0-9]+\.[0-9]+$ ]] && want=$want.0
deb_version=$(dpkg-parsechangelog -l "$REPO/debian/changelog" -SVersion)
[[ "$deb_version" == "$want" || "$deb_version" == "$want"+* ]] ||
	fail "debian/changelog has $deb_version, postgres_latdiag.control $ext_version (want $want)"
meta=$(cd "$REPO" && perl -MJSON::PP -e '
	local $/; my $m = decode_json(<STDIN>);
	print "$m->{version}\n";
	for my $e (values %{$m->{provides}}) {
		print "$e->{version}\n";
		for my $k ("file", "docfile") { print "missing $e->{$k}\n" if $e->{$k} && !-f $e->{$k} }
	}' <META.json) || fail "META.json does not parse"
[ "$(sort -u <<<"$meta")" = "$want" ] ||
	fail "META.json disagrees with default_version $ext_version (want $want): $(echo "$meta" | sort -u | tr '\n' ' ')"
grep -qx "$PGV" "$REPO/debian/pgversions" || fail "$PGV is not listed in debian/pgversions"
supported=$(/usr/share/postgresql-common/supported-versions | tr '\n' ' ')
[[ " $supported" == *" $PGV "* ]] ||
	fail "PostgreSQL $PGV is not supported by postgresql-common here (supported-versions: ${supported% }), so pg_buildext builds no package for it"
apt_install "postgresql-$PGV" "postgresql-server-dev-$PGV"

# ------------------------------------------------------------------ 2. build
PHASE=build
WORK=$(mktemp -d /tmp/latdiag-deb.XXXXXX) || fail "mktemp failed"
mkdir "$WORK/src"
log "copying the tree to $WORK/src"
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Tracked files plus new files not ignored by .gitignore: what the next commit would have.
	(cd "$REPO" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$WORK/src" || fail "copying the tree failed"
else
	(cd "$REPO" && tar --exclude=.git -cf - .) | tar -xf - -C "$WORK/src" ||
		fail "copying the tree failed"
fi

log "dpkg-buildpackage -us -uc -b (log: $WORK/build.log)"
(cd "$WORK/src" && dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1 ||
	{
		tail -n 30 "$WORK/build.log"
		fail "dpkg-buildpackage failed (log kept in $WORK/build.log)"
	}
debs=("$WORK/${PKG}"_*.deb)
[ -f "${debs[0]}" ] || fail "no ${PKG}_*.deb was built (see $WORK/build.log)"
[ ${#debs[@]} -eq 1 ] || fail "more than one ${PKG}_*.deb: ${debs[*]}"
DEB=${debs[0]}
commons=("$WORK/${COMMON}"_*_all.deb)
[ -f "${commons[0]}" ] || fail "no ${COMMON}_*_all.deb was built (see $WORK/build.log)"
[ ${#commons[@]} -eq 1 ] || fail "more than one ${COMMON}_*.deb: ${commons[*]}"
COMMON_DEB=${commons[0]}
log "built $(basename "$DEB") $(basename "$COMMON_DEB")"

# Everything the package would overwrite (and dpkg --purge would delete):
# save what is on disk now.
PHASE=backup
BACKUP=$WORK/backup
mkdir "$BACKUP"
{ dpkg-deb --fsys-tarfile "$DEB" | tar -tf - && dpkg-deb --fsys-tarfile "$COMMON_DEB" | tar -tf -; } |
	sed -e 's|^\./|/|' -e '/\/$/d' >"$WORK/contents" ||
	fail "cannot list $DEB and $COMMON_DEB"
grep -q "^/usr/lib/postgresql/$PGV/bin/latdiag$" "$WORK/contents" ||
	fail "the package does not ship /usr/lib/postgresql/$PGV/bin/latdiag"
grep -q "^/usr/lib/postgresql/$PGV/lib/postgres_latdiag.so$" "$WORK/contents" ||
	fail "the package does not ship postgres_latdiag.so"
# (listed to a file first: grep -q closing the pipe early would fail the
# pipeline under pipefail)
dpkg-deb --fsys-tarfile "$COMMON_DEB" | tar -tvf - >"$WORK/common-contents" ||
	fail "cannot list $COMMON_DEB"
grep -Eq '^-rwxr-xr-x .* \./usr/bin/latdiag$' "$WORK/common-contents" ||
	fail "$COMMON does not ship an executable /usr/bin/latdiag"
: >"$BACKUP.list"
while IFS= read -r f; do
	if [ -e "$f" ] || [ -L "$f" ]; then
		[ -d "$f" ] && [ ! -L "$f" ] && continue
		printf '%s\n' "${f#/}" >>"$BACKUP.list"
	fi
done <"$WORK/contents"
if [ -s "$BACKUP.list" ]; then
	(cd / && tar -cf - -T "$BACKUP.list") | tar -xpf - -C "$BACKUP" || fail "backing up failed"
	(cd / && xargs -d '\n' sha256sum <"$BACKUP.list") >"$BACKUP.sha256" || fail "checksumming failed"
	log "backed up $(wc -l <"$BACKUP.list") existing file(s) the package replaces"
fi

# ---------------------------------------------------------------- 3. install
PHASE=install
INSTALLED=1
INSTALLED_AT=$(date +%s)
log "dpkg -i $(basename "$COMMON_DEB") $(basename "$DEB")"
dpkg -i "$COMMON_DEB" "$DEB" >"$WORK/dpkg.log" 2>&1 || {
	cat "$WORK/dpkg.log"
	fail "dpkg -i failed"
}
owner=$(dpkg -S "/usr/lib/postgresql/$PGV/bin/latdiag" 2>/dev/null | cut -d: -f1)
[ "$owner" = "$PKG" ] || fail "/usr/lib/postgresql/$PGV/bin/latdiag is not owned by $PKG"
owner=$(dpkg -S /usr/bin/latdiag 2>/dev/null | cut -d: -f1)
[ "$owner" = "$COMMON" ] || fail "/usr/bin/latdiag is not owned by $COMMON"

# ------------------------------------------------------------------ 4. check
PHASE=cluster
cd / # the postgres user runs the clients below
port=$FIRST_PORT
while ss -Hltn "sport = :$port" | grep -q . || [ -e "$SOCKDIR/.s.PGSQL.$port" ]; do
	port=$((port + 1))
	[ "$port" -lt $((FIRST_PORT + 100)) ] || fail "no free port from $FIRST_PORT"
done
if [ -d "/etc/postgresql/$PGV/$CLUSTER" ]; then
	log "dropping a leftover cluster $PGV/$CLUSTER"
	pg_dropcluster --stop "$PGV" "$CLUSTER" || fail "cannot drop the leftover cluster $PGV/$CLUSTER"
fi
CLUSTER_MADE=1
log "cluster $PGV/$CLUSTER on port $port"
pg_createcluster "$PGV" "$CLUSTER" --port "$port" --start-conf manual \
	-o "shared_preload_libraries=postgres_latdiag" >"$WORK/cluster.log" 2>&1 ||
	{
		cat "$WORK/cluster.log"
		fail "pg_createcluster failed"
	}
pg_ctlcluster --skip-systemctl-redirect "$PGV" "$CLUSTER" start ||
	fail "the cluster with the packaged library preloaded does not start"

PHASE=check
psql_pg() {
	runuser -u postgres -- "/usr/lib/postgresql/$PGV/bin/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
		-h "$SOCKDIR" -p "$port" -d postgres "$@"
}
out=$(psql_pg -c "CREATE EXTENSION postgres_latdiag" -c "SELECT 1" \
	-c "SELECT count(*) > 0 FROM latdiag_queries" \
	-c "SELECT extversion FROM pg_extension WHERE extname = 'postgres_latdiag'" 2>&1) ||
	fail "SQL check failed: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
[ "$out" = "$(printf '1\nt\n%s' "$ext_version")" ] ||
	fail "unexpected SQL output: $(echo "$out" | tr '\n' ' ') (want 1 t $ext_version)"
log "CREATE EXTENSION, SELECT 1, latdiag_queries has rows, version $ext_version"

LATDIAG=/usr/lib/postgresql/$PGV/bin/latdiag
ver=$("$LATDIAG" --version 2>&1) || fail "latdiag --version failed: $ver"
log "latdiag --version: $ver"
runuser -u postgres -- "$LATDIAG" report --format json \
	--dsn "host=$SOCKDIR port=$port dbname=postgres" >"$WORK/report.json" 2>"$WORK/report.err" ||
	fail "latdiag report failed: $(tail -n 3 "$WORK/report.err" | tr '\n' ' ')"
# shellcheck disable=SC2015 # fail exits
grep -Eq '"status" *: *"ok"' "$WORK/report.json" &&
	grep -Eq "\"extension_version\" *: *\"$ext_version\"" "$WORK/report.json" ||
	fail "latdiag report did not read the cluster: $(head -c 300 "$WORK/report.json")"
log "latdiag report --format json read the cluster"

# On PATH: /usr/bin/latdiag runs the newest major's latdiag (this package's,
# unless a newer major has one), and reads the cluster.
ver=$(runuser -u postgres -- env PATH=/usr/bin:/bin latdiag --version 2>&1) ||
	fail "latdiag on PATH (/usr/bin/latdiag) failed: $ver"
[[ "$ver" == "latdiag (postgres_latdiag) "* ]] || fail "/usr/bin/latdiag --version said: $ver"
runuser -u postgres -- env PATH=/usr/bin:/bin latdiag report --format json \
	--dsn "host=$SOCKDIR port=$port dbname=postgres" >"$WORK/report2.json" 2>"$WORK/report2.err" ||
	fail "latdiag report via /usr/bin/latdiag failed: $(tail -n 3 "$WORK/report2.err" | tr '\n' ' ')"
grep -Eq '"status" *: *"ok"' "$WORK/report2.json" ||
	fail "latdiag report via /usr/bin/latdiag did not read the cluster"
log "latdiag on PATH (/usr/bin/latdiag): $ver, read the cluster"

log "debian/tests/smoke (the autopkgtest)"
(cd "$WORK/src" && debian/tests/smoke) >"$WORK/smoke.log" 2>&1 || {
	tail -n 20 "$WORK/smoke.log"
	fail "debian/tests/smoke failed"
}

PHASE=cleanup
exit 0
