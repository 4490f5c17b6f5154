"""The team's shape of the Dagster instance (pipeline/dagster-postgres.yaml) on a real PostgreSQL, started
by the same script as `make postgres`: a refresh, a sensor tick and a schedule tick recorded there.
`pytest -k postgres` runs these."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from pipeline.definitions import defs

from .conftest import PROJECT_ROOT
from .helpers import instance_at, process_group, project_copy, refresh_cli, rows

pytestmark = pytest.mark.slow

_spec = importlib.util.spec_from_file_location("local_postgres", PROJECT_ROOT / "scripts" / "local_postgres.py")
local_postgres = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(local_postgres)


@pytest.fixture(scope="module")
def postgres_server(tmp_path_factory) -> Iterator[dict[str, str]]:
    """A PostgreSQL cluster of this module, started and stopped as `make postgres` and `make postgres-stop` do."""
    state = tmp_path_factory.mktemp("postgres")
    script = [sys.executable, str(PROJECT_ROOT / "scripts" / "local_postgres.py")]
    subprocess.run([*script, "start", "--state", str(state), "--fast"], check=True, timeout=300)
    try:
        yield local_postgres.read_env(state)
    finally:
        subprocess.run([*script, "stop", "--state", str(state)], check=True, timeout=120)


@pytest.fixture
def postgres_home(postgres_server, tmp_path, monkeypatch) -> Path:
    """A Dagster home configured with pipeline/dagster-postgres.yaml, on a database of this test alone."""
    database = f"test_{uuid.uuid4().hex[:12]}"
    local_postgres.create_database(postgres_server, database)
    for key in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD"):
        monkeypatch.setenv(key, postgres_server[key])
    monkeypatch.setenv("DAGSTER_PG_DB", database)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "pipeline" / "dagster-postgres.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _pg_rows(query: str) -> list[tuple]:
    import psycopg2

    con = psycopg2.connect(host=os.environ["DAGSTER_PG_HOST"], port=int(os.environ["DAGSTER_PG_PORT"]),
                           user=os.environ["DAGSTER_PG_USERNAME"], password=os.environ["DAGSTER_PG_PASSWORD"],
                           dbname=os.environ["DAGSTER_PG_DB"])
    try:
        with con.cursor() as cur:
            cur.execute(query)
            return cur.fetchall()
    finally:
        con.close()


def test_postgres_refresh_is_recorded_in_postgresql(postgres_home, raw_dir, warehouse_path):
    out = refresh_cli(raw_dir, warehouse_path, postgres_home)
    assert out.returncode == 0, out.stdout + out.stderr
    assert rows(warehouse_path, "SELECT count(*) FROM reports") == [(1,)]
    assert not (postgres_home / "history").exists() and not (postgres_home / "schedules").exists()  # no SQLite
    with instance_at(postgres_home) as instance:
        runs = instance.get_runs()
        assert [(r.job_name, r.status) for r in runs] == [("refresh_warehouse", dg.DagsterRunStatus.SUCCESS)]
        checks = [e for e in instance.all_logs(runs[0].run_id)
                  if e.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
        # every asset check of the definitions: one per table, one per report check and basis, two on the file
        assert len(checks) == len(defs.resolve_asset_graph().asset_check_keys)
    # the rows are PostgreSQL's own, where another machine's webserver reads them
    assert _pg_rows("SELECT pipeline_name, status FROM runs") == [("refresh_warehouse", "SUCCESS")]


def test_postgres_daemon_ticks_the_sensor_and_the_schedule(postgres_home, tmp_path):
    """`dagster-daemon run` as its own process on the PostgreSQL instance: the sensor's first tick and a
    schedule tick (the copy's schedule runs every minute) each launch a refresh that succeeds."""
    project = project_copy(tmp_path / "project", refresh_cron="* * * * *")
    env = {**os.environ, "PYTHONPATH": str(project)}  # the copy's `pipeline` package, so its raw/ and warehouse/
    daemon = [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-m", "pipeline.definitions"]
    ended: dict[str, dg.DagsterRunStatus] = {}
    with process_group(daemon, project, env, tmp_path / "daemon.log"), instance_at(postgres_home) as instance:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(ended) < 2:
            for run in instance.get_runs():
                trigger = run.tags.get("dagster/sensor_name") or run.tags.get("dagster/schedule_name")
                if trigger and run.status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE):
                    ended.setdefault(trigger, run.status)
            time.sleep(2)
    log = (tmp_path / "daemon.log").read_text()
    assert ended == {"raw_reports_sensor": dg.DagsterRunStatus.SUCCESS,
                     "daily_refresh": dg.DagsterRunStatus.SUCCESS}, log[-3000:]
    assert rows(project / "warehouse" / "illicit_income.duckdb", "SELECT count(*) FROM reports") == [(1,)]
    ticks = dict(_pg_rows("SELECT type, count(*) FROM job_ticks WHERE status = 'SUCCESS' GROUP BY type"))
    assert ticks.get("SENSOR", 0) >= 1 and ticks.get("SCHEDULE", 0) >= 1, ticks
