# The two commands of the README: `make warehouse` and `make test`. Both set up from nothing:
# a virtual environment in .venv, the locked dependencies of uv.lock, and the project's Dagster
# instance in .dagster_home (so that every run shows in `make dev`'s run history).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
UV_VERSION := 0.13.9
SYNCED := $(VENV)/.synced
DAGSTER_HOME := $(CURDIR)/.dagster_home
HOST ?= 127.0.0.1
PORT ?= 3000
TEST_WORKERS ?= 3

# `make postgres` writes .postgres/env (DAGSTER_HOME and the DAGSTER_PG_* variables of
# pipeline/dagster-postgres.yaml): while it exists, every target below uses that PostgreSQL instance.
-include .postgres/env
export DAGSTER_HOME DAGSTER_PG_HOST DAGSTER_PG_PORT DAGSTER_PG_USERNAME DAGSTER_PG_PASSWORD DAGSTER_PG_DB
# dg checks that it runs in the project's environment
export VIRTUAL_ENV := $(CURDIR)/$(VENV)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: setup warehouse test dev summary check-defs clean new-report bench postgres postgres-stop webserver daemon .env

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

# The whole suite in parallel (pytest-xdist); tests that share a module-scoped fixture share a worker (conftest.py).
# Three workers on two cores: the slowest tests mostly wait (on dagster dev, a daemon's tick, a server).
test: setup
	$(VENV)/bin/ruff check pipeline tests scripts
	$(VENV)/bin/dg check defs
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup

# Webserver, daemon and code server in one command, as Dagster 1.13 recommends (`dagster dev` works too).
dev: setup
	$(VENV)/bin/dg dev --host $(HOST) --port $(PORT)

# A local PostgreSQL for the instance (runs, events, ticks), as a team would run it; see docs/team.md.
postgres: setup
	$(VENV)/bin/python scripts/local_postgres.py start
	@$(MAKE) --no-print-directory .env

postgres-stop:
	$(VENV)/bin/python scripts/local_postgres.py stop
	rm -f .env

# The webserver and the daemon as separate processes (a team's shape: replicas of the first, one of the second).
webserver: setup
	$(VENV)/bin/dagster-webserver -m pipeline.definitions --host $(HOST) --port $(PORT)

daemon: setup
	$(VENV)/bin/dagster-daemon run -m pipeline.definitions

# A benchmark, not a test: synthetic raw/ trees of 1 to 5,000 reports, pipeline against a bare floor
# (about 20 minutes with the test suite; results in tests/benchmark/results.json). BENCH_ARGS="--sizes 1 100 --repeats 1" to try it.
bench: setup
	$(VENV)/bin/python tests/benchmark/bench.py $(BENCH_ARGS)

summary: setup
	$(VENV)/bin/python -m pipeline summary

check-defs: setup
	$(VENV)/bin/dg check defs

clean:
	rm -rf $(VENV) $(DAGSTER_HOME) .env warehouse/illicit_income.duckdb warehouse/.staging

# make new-report ID=some-report-2025-01-01 SOURCE=path/to/article.txt
new-report: setup
	$(VENV)/bin/python -m pipeline new-report "$(ID)" "$(SOURCE)"
