# The two commands of the README: `make warehouse` and `make test`. Both set up from nothing:
# a virtual environment in .venv, the locked dependencies of uv.lock, and the project's Dagster
# instance in .dagster_home (so that every run shows in `make dev`'s run history).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
UV_VERSION := 0.13.9
SYNCED := $(VENV)/.synced
DAGSTER_HOME := $(CURDIR)/.dagster_home
PORT ?= 3000
# `make dev` listens on 127.0.0.1 unless HOST is given on make's command line (make dev HOST=0.0.0.0):
# a HOST exported in the environment (many shells and containers set one) is not a request to listen on it.
ifeq ($(origin HOST),command line)
DEV_HOST := $(HOST)
else
DEV_HOST := 127.0.0.1
endif
TEST_WORKERS ?= 3

# `make postgres` writes .postgres/env (DAGSTER_HOME and the DAGSTER_PG_* variables of
# pipeline/dagster-postgres.yaml): while it exists, every target below uses that PostgreSQL instance.
-include .postgres/env
export DAGSTER_HOME DAGSTER_PG_HOST DAGSTER_PG_PORT DAGSTER_PG_USERNAME DAGSTER_PG_PASSWORD DAGSTER_PG_DB
# dg checks that it runs in the project's environment
export VIRTUAL_ENV := $(CURDIR)/$(VENV)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: setup warehouse test dev summary check-defs clean new-report ready eval-drafter bench mutation browser screenshots postgres postgres-stop webserver daemon .env

setup: $(SYNCED) $(DAGSTER_HOME)/dagster.yaml .env

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)

$(VENV)/bin/uv: | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Installs exactly what uv.lock says (and fails if the lock is stale against pyproject.toml).
$(SYNCED): pyproject.toml uv.lock | $(VENV)/bin/uv
	$(VENV)/bin/uv sync --locked --compile-bytecode --quiet
	@touch $@

$(DAGSTER_HOME)/dagster.yaml: pipeline/dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp pipeline/dagster.yaml $@

# `dagster dev` and `dg dev` read .env from the working directory (over the environment): it points
# them at the same instance as `make warehouse`, PostgreSQL's while `make postgres` runs. Written at
# every setup because DAGSTER_HOME must be an absolute path and changes with `make postgres`.
.env:
	@{ echo "DAGSTER_HOME=$(DAGSTER_HOME)"; [ ! -f .postgres/env ] || grep '^DAGSTER_PG_' .postgres/env; } > $@

warehouse: setup
	$(VENV)/bin/python -m pipeline refresh

# The whole suite in parallel (pytest-xdist), a whole test file at a time per worker (--dist loadfile), so
# that the tests of a file share its module-scoped fixtures, the longest files first (tests/conftest.py).
# (--dist loadgroup's xdist_group marks are ignored under pytest 9.2: pytest-xdist issue #1386.)
# Three workers on two cores: the slowest tests mostly wait (on dagster dev, a daemon's tick, a server).
# Their temporary files (DuckDB files, Dagster homes, project copies, a PostgreSQL cluster) go to a RAM
# filesystem where there is one: a refresh's Dagster run commits its ~170 events to SQLite one by one,
# each an fsync, which on a virtual disk is most of the refresh (14 s on disk, 5 s in RAM). Only the
# folders of failed tests are kept (pyproject.toml). TEST_TMPDIR=/tmp make test runs them on disk.
TEST_TMPDIR ?= $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo $${TMPDIR:-/tmp})
test: setup browser
	$(VENV)/bin/ruff check pipeline tests scripts
	$(VENV)/bin/dg check defs
	TMPDIR=$(TEST_TMPDIR) $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The report page is tested in Debian's chromium (headless); installed here where it is missing
# (CI runs as root; elsewhere through sudo).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

# Screenshots of the UI (dagster dev) and of the report page, to look at: make screenshots OUT=some/folder
screenshots: setup browser
	$(VENV)/bin/python -m tests.screenshots $(or $(OUT),screenshots)

# Webserver, daemon and code server in one command, as Dagster 1.13 recommends (`dagster dev` works too).
dev: setup
	@if [ "$(DEV_HOST)" != 127.0.0.1 ]; then echo "make dev: listening on $(DEV_HOST), as HOST=$(DEV_HOST) on the command line asked: anyone who can reach it can start runs"; fi
	$(VENV)/bin/dg dev --host $(DEV_HOST) --port $(PORT)

# A local PostgreSQL for the instance (runs, events, ticks), as a team would run it; see docs/team.md.
postgres: setup
	$(VENV)/bin/python scripts/local_postgres.py start
	@$(MAKE) --no-print-directory .env

postgres-stop:
	$(VENV)/bin/python scripts/local_postgres.py stop
	rm -f .env

# The webserver and the daemon as separate processes (a team's shape: replicas of the first, one of the second).
webserver: setup
	$(VENV)/bin/dagster-webserver -m pipeline.definitions --host $(DEV_HOST) --port $(PORT)

daemon: setup
	$(VENV)/bin/dagster-daemon run -m pipeline.definitions

# A benchmark, not a test: synthetic raw/ trees of 1 to 5,000 reports, pipeline against a bare floor
# (about 20 minutes with the test suite; results in tests/benchmark/results.json). BENCH_ARGS="--sizes 1 100 --repeats 1" to try it.
bench: setup
	$(VENV)/bin/python tests/benchmark/bench.py $(BENCH_ARGS)

# Mutation testing, not part of `make test` (docs/mutation.md): mutmut over the modules that decide a
# published number or protect the published file, and a small mutator of pipeline/build/sql/; prints the score
# and every surviving mutant; niced (its measured time: docs/mutation.md). MUTATION_ARGS="sql" runs one group,
# MUTATION_ARGS="--keep sources" only what a change may have changed since its last run,
# MUTATION_ARGS=--report prints the last run's results again.
mutation: setup
	nice -n 19 $(VENV)/bin/python -m tests.mutation.run $(MUTATION_ARGS)

summary: setup
	$(VENV)/bin/python -m pipeline summary

check-defs: setup
	$(VENV)/bin/dg check defs

clean:
	rm -rf $(VENV) $(DAGSTER_HOME) .env warehouse/illicit_income.duckdb warehouse/.staging \
		warehouse/site warehouse/export warehouse/.published warehouse/.releases

# make new-report ID=some-report-2025-01-01 SOURCE=path/to/article.txt [PUBLISHED=2025-01-01]: a draft in
# raw/_drafts/; make ready ID=... moves it into raw/. ID, SOURCE and PUBLISHED reach the program as they were
# typed: never expanded by make (`$(value ...)`), never exported as themselves, never read by the shell.
# RAW=other/raw works on another folder of reports.
unexport ID SOURCE PUBLISHED RAW
export NEW_REPORT_ID := $(value ID)
export NEW_REPORT_SOURCE := $(value SOURCE)
export NEW_REPORT_PUBLISHED := $(value PUBLISHED)
export NEW_REPORT_RAW := $(value RAW)
NEW_REPORT_RAW_ARG = $(if $(value RAW),--raw "$$NEW_REPORT_RAW")

new-report: setup
	$(VENV)/bin/python -m pipeline new-report "$$NEW_REPORT_ID" "$$NEW_REPORT_SOURCE" --published-on "$$NEW_REPORT_PUBLISHED" $(NEW_REPORT_RAW_ARG)

ready: setup
	$(VENV)/bin/python -m pipeline ready "$$NEW_REPORT_ID" $(NEW_REPORT_RAW_ARG)

# Recall and precision of the figure drafter on the test articles and the seed (docs/drafter.md).
eval-drafter: setup
	$(VENV)/bin/python tests/drafting/eval_drafter.py
