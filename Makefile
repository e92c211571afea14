# postgres_latdiag: PGXS build.
#
#   make && make install          build and install the module
#   make installcheck             (as a non-root user) pg_regress, isolation and TAP
#                                 tests, each against a private preloaded server
#   bash test/run_tests.sh        the whole suite as CI runs it (root is fine)

MODULE_big = postgres_latdiag
OBJS = \
	src/postgres_latdiag.o \
	src/guc.o \
	src/hooks.o \
	src/table.o \
	src/store.o \
	src/plans.o \
	src/snapshots.o \
	src/scans.o \
	src/nplusone.o \
	src/locks.o \
	src/errors.o \
	src/slowexec.o \
	src/sources.o \
	src/histogram.o \
	src/normalize.o \
	src/views.o \
	src/advisor.o \
	src/reports.o \
	src/windows.o \
	src/samples.o \
	src/measure.o \
	src/pending.o

EXTENSION = postgres_latdiag
DATA = $(wildcard sql/postgres_latdiag--*.sql)
PGFILEDESC = "postgres_latdiag - why is the database slow"

# pg_regress: sql/<name>.sql -> expected/<name>.out, one file per view or function.
REGRESS = latdiag_setup latdiag_queries latdiag_histogram latdiag_info \
	latdiag_reset latdiag_nested latdiag_privileges latdiag_guc \
	latdiag_plans latdiag_snapshots latdiag_seq_scans latdiag_n_plus_one \
	latdiag_lock_waits latdiag_errors latdiag_slow_executions latdiag_query_sources latdiag_index_advisor latdiag_index_shapes latdiag_windows latdiag_findings latdiag_bad_input \
	latdiag_upgrade
REGRESS_OPTS = --temp-config=$(srcdir)/test/latdiag.conf --temp-instance=./tmp_check

# Isolation specs live in test/specs, their outputs in test/expected.
ifneq ($(wildcard test/specs/*.spec),)
ISOLATION = $(basename $(notdir $(wildcard test/specs/*.spec)))
endif
ISOLATION_OPTS = --inputdir=$(srcdir)/test --temp-config=$(srcdir)/test/latdiag.conf \
	--temp-instance=./tmp_check_iso

TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

# The version in the control file, for PG_MODULE_MAGIC_EXT (18 and later).
EXTVERSION := $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(dir $(lastword $(MAKEFILE_LIST)))postgres_latdiag.control)
PG_CPPFLAGS = -DLATDIAG_VERSION='"$(EXTVERSION)"'

PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers $(LATDIAG_CFLAGS)

EXTRA_CLEAN = tmp_check tmp_check_iso results regression.diffs regression.out \
	output_iso log

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The latdiag command-line report (src/cli, its own PGXS Makefile: PROGRAM).
# It needs libpq and libmicrohttpd (Debian: libpq-dev, libmicrohttpd-dev).
LATDIAG_PATH_DIR ?= /usr/local/bin
all: cli
install: install-cli
clean: clean-cli
.PHONY: cli install-cli clean-cli
cli:
	$(MAKE) -C src/cli PG_CONFIG=$(PG_CONFIG)
install-cli: cli
	$(MAKE) -C src/cli PG_CONFIG=$(PG_CONFIG) install
	@# Debian's bindir is not on PATH: put a latdiag there that runs the newest
	@# major's (src/cli/latdiag-on-path.sh).  Elsewhere, say where it went.
	@case "$(bindir)" in \
	/usr/lib/postgresql/*/bin) \
		if [ -z "$(DESTDIR)" ] && [ -d "$(LATDIAG_PATH_DIR)" ] && [ -w "$(LATDIAG_PATH_DIR)" ]; then \
			$(INSTALL_SCRIPT) src/cli/latdiag-on-path.sh '$(LATDIAG_PATH_DIR)/latdiag' && \
			echo "latdiag: installed in $(bindir), and $(LATDIAG_PATH_DIR)/latdiag runs it"; \
		fi ;; \
	*) \
		case ":$$PATH:" in *":$(bindir):"*) ;; \
		*) echo "latdiag: installed in $(bindir), which is not on PATH: add it, or link $(bindir)/latdiag into a directory on PATH";; \
		esac ;; \
	esac
clean-cli:
	$(MAKE) -C src/cli PG_CONFIG=$(PG_CONFIG) clean

# PGXS tracks no header dependencies: rebuild every object when a header changes
# (a stale object with an old struct layout crashes the server).
$(OBJS): $(wildcard src/*.h)
