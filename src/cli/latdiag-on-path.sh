#!/bin/sh
# latdiag on PATH (installed as /usr/local/bin/latdiag by `make install` when
# PostgreSQL's bindir is Debian's /usr/lib/postgresql/N/bin, which is not on
# PATH).  Like pg_wrapper does for psql, it runs the newest installed major's
# program: a latdiag of any major reads servers of every major (libpq).
for bin in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -n -r); do
	[ -x "$bin/latdiag" ] && exec "$bin/latdiag" "$@"
done
echo "latdiag: not found in /usr/lib/postgresql/*/bin (make install, or install postgresql-NN-latdiag)" >&2
exit 127
