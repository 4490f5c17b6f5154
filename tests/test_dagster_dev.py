"""The real `dagster dev` (webserver, daemon, code server) on a loopback port, on a copy of the project
with nothing published yet, whose last `make warehouse` was killed (kill -9) while it ran: its run is
still STARTED in the Dagster home. One `dagster dev` serves the tests of this file, in order, as a person
would use it: the killed refresh's run is marked failed and does not hold the run queue, and the sensor's
first look at raw/ publishes it; the UI serves every asset, check, job, schedule and sensor, and a run
that `python -m pipeline refresh` made in the same DAGSTER_HOME; a document dropped into the inbox
becomes a draft and starts no refresh; a report saved into raw/ is published by the sensor.
Everything started here is stopped here (the whole process group)."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pipeline.publish.catalog import money
from pipeline.validate.schemas import TABLE_SCHEMAS

from .conftest import PROJECT_ROOT, SEED_ID
from .helpers import free_port, process_group, rows
from .helpers import project_copy as copy_of_the_project
from .multi_source import write_report

pytestmark = pytest.mark.slow


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def _wait_for_location(port: int, deadline: float) -> None:
    last = None
    while time.monotonic() < deadline:
        try:
            data = _graphql(port, "{ assetNodes { assetKey { path } } }")
            if data["assetNodes"]:
                return
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(1)
    raise AssertionError(f"dagster dev did not serve the code location in time: {last}")


@contextlib.contextmanager
def dagster_dev(cwd: Path, env: dict, log_path: Path):
    """`dagster dev` on a free loopback port, in its own process group; the whole group is stopped after."""
    port = free_port()
    cmd = [str(Path(sys.executable).parent / "dagster"), "dev", "-m", "pipeline.definitions",
           "--host", "127.0.0.1", "--port", str(port)]
    with process_group(cmd, cwd, env, log_path):
        _wait_for_location(port, time.monotonic() + 180)
        yield port


def _runs(port: int) -> list[dict]:
    data = _graphql(port, "{ runsOrError { ... on Runs { results { runId status jobName tags { key value } } } } }")
    return data["runsOrError"]["results"]


def _wait_for_runs(port: int, count: int, timeout: float) -> list[dict]:
    """Until `count` runs have ended (success or failure); returns them, newest first."""
    deadline = time.monotonic() + timeout
    runs: list[dict] = []
    while time.monotonic() < deadline:
        runs = _runs(port)
        ended = [r for r in runs if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
        if len(ended) >= count:
            return ended
        time.sleep(2)
    raise AssertionError(f"only {runs} after {timeout} s")




@dataclass
class Dev:
    project: Path
    env: dict
    port: int
    log: Path
    killed: str  # the run of the refresh killed before dagster dev started

    def first_runs(self) -> list[dict]:
        """The killed refresh's run and the sensor's first run, once both have ended (newest first)."""
        return _wait_for_runs(self.port, 2, timeout=240)

    def runs_but_the_killed(self) -> list[dict]:
        return [r for r in _runs(self.port) if r["runId"] != self.killed]


@pytest.fixture(scope="module")
def dev(tmp_path_factory) -> Iterator[Dev]:
    """One `dagster dev` for this file, on a copy of the project with nothing published, started after a
    `python -m pipeline refresh` of it was killed with kill -9 once its run had started (the trial's case
    of issue 14: the sensor's run then waited in the queue for ever, "1 runs are currently in progress.
    Maximum is 1"). The tests below run in order against it, as a person would."""
    from .test_concurrency_faults import kill_once_started, started_instance

    tmp_path = tmp_path_factory.mktemp("dagster-dev")
    project, env = project_copy(tmp_path)
    with started_instance(Path(env["DAGSTER_HOME"])) as instance:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "refresh"], cwd=project, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        killed = kill_once_started(proc, instance)
    log = tmp_path / "dagster-dev.log"
    with dagster_dev(project, env, log) as port:
        yield Dev(project, env, port, log, killed)


def _sensor_ticks(port: int, sensor: str, after: float) -> list[dict]:
    """The sensor's ticks evaluated after `after` (a Unix time), newest first."""
    query = ("{ repositoriesOrError { ... on RepositoryConnection { nodes { sensors { name sensorState { "
             f"ticks(limit: 20, afterTimestamp: {after}) {{ status timestamp runIds }} }} }} }} }} }} }}")
    nodes = _graphql(port, query)["repositoriesOrError"]["nodes"]
    return [t for n in nodes for s in n["sensors"] if s["name"] == sensor for t in s["sensorState"]["ticks"]]


def _a_later_tick_started_nothing(port: int, after: float, timeout: float = 60) -> dict:
    """Waits for a tick of the raw/ sensor evaluated after `after`, and returns it: a tick that found
    raw/ unchanged is SKIPPED and starts no run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ticks = [t for t in _sensor_ticks(port, "raw_reports_sensor", after) if t["status"] != "STARTED"]
        if ticks:
            return ticks[-1]
        time.sleep(1)
    raise AssertionError(f"no tick of raw_reports_sensor after {after} within {timeout} s")


def test_a_killed_refresh_holds_no_queue_and_the_sensors_first_look_at_raw_publishes_it_once(dev):
    port = dev.port
    first = dev.first_runs()
    assert {r["runId"]: r["status"] for r in first}[dev.killed] == "FAILURE"
    sensor_runs = [r for r in first if r["runId"] != dev.killed]
    assert [(r["jobName"], r["status"]) for r in sensor_runs] == [("refresh_warehouse", "SUCCESS")]
    assert {"key": "dagster/sensor_name", "value": "raw_reports_sensor"} in sensor_runs[0]["tags"]
    published = dev.project / "warehouse" / "illicit_income.duckdb"
    assert rows(published, "SELECT count(*) FROM reports") == [(1,)]
    assert rows(published, "SELECT run_id FROM build.info") == [(sensor_runs[0]["runId"],)]
    # the next tick sees raw/ as published and starts nothing
    tick = _a_later_tick_started_nothing(port, time.time())
    assert (tick["status"], tick["runIds"]) == ("SKIPPED", [])
    assert len(_runs(port)) == 2


def test_dagster_dev_serves_the_asset_graph_and_a_cli_run(dev):
    project, env, port = dev.project, dev.env, dev.port
    dev.first_runs()  # the runs of the test above, if this one runs alone
    warehouse_path = project / "warehouse" / "illicit_income.duckdb"
    refresh = subprocess.run([sys.executable, "-m", "pipeline", "refresh"], cwd=project, env=env, capture_output=True,
                             text=True, timeout=300)
    assert refresh.returncode == 0, refresh.stdout + refresh.stderr

    data = _graphql(port, "{ assetNodes { assetKey { path } groupName hasAssetChecks } }")
    keys = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in data["assetNodes"]}
    assert set(keys) == {"raw_reports", "validated_figures", "published_warehouse", "report_drafts", *TABLE_SCHEMAS}
    assert keys["channels"] == "warehouse"
    cli_runs = [r for r in dev.runs_but_the_killed() if not any(t["key"] == "dagster/sensor_name" for t in r["tags"])]
    assert [(r["jobName"], r["status"]) for r in cli_runs] == [("refresh_warehouse", "SUCCESS")]

    checks = _graphql(port, """{ assetNodes(assetKeys: [{path: ["channels"]}]) {
        assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }""")
    names = {(c["name"], c["blocking"]) for c in checks["assetNodes"][0]["assetChecksOrError"]["checks"]}
    assert names == {("channels_matches_schema", True)}

    repo = """repositoriesOrError { ... on RepositoryConnection { nodes {
        name schedules { name scheduleState { status } } sensors { name sensorState { status } } jobs { name } } } }"""
    nodes = _graphql(port, "{ " + repo + " }")["repositoriesOrError"]["nodes"]
    schedules = {s["name"]: s["scheduleState"]["status"] for n in nodes for s in n["schedules"]}
    sensors = {s["name"]: s["sensorState"]["status"] for n in nodes for s in n["sensors"]}
    assert schedules == {"daily_refresh": "RUNNING"}
    assert sensors == {"raw_reports_sensor": "RUNNING", "inbox_sensor": "RUNNING"}
    assert "refresh_warehouse" in {j["name"] for n in nodes for j in n["jobs"]}

    # the channels asset's latest materialization carries the preview of its rows, and DuckDB's types
    latest = _graphql(port, """{ assetOrError(assetKey: {path: ["channels"]}) { ... on Asset {
        assetMaterializations(limit: 1) { runId metadataEntries { label __typename
            ... on MarkdownMetadataEntry { mdStr }
            ... on TableSchemaMetadataEntry { schema { columns { name type } } } } } } } }""")
    materialization = latest["assetOrError"]["assetMaterializations"][0]
    entries = {e["label"]: e for e in materialization["metadataEntries"]}
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        assert materialization["runId"] == con.execute("SELECT run_id FROM build.info").fetchone()[0]
        channels = con.execute("SELECT channel, income_usd FROM channels").fetchall()
        types = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'channels' "
                            "AND schema_name = 'main' ORDER BY column_index").fetchall()
    finally:
        con.close()
    assert entries["preview"]["__typename"] == "MarkdownMetadataEntry"
    for channel, income in channels:
        assert channel in entries["preview"]["mdStr"] and money(income) in entries["preview"]["mdStr"]
    columns = entries["dagster/column_schema"]["schema"]["columns"]
    assert [(c["name"], c["type"]) for c in columns] == types

    # the charts are on the published file's materialization, as images the UI renders
    published = _graphql(port, """{ assetOrError(assetKey: {path: ["published_warehouse"]}) { ... on Asset {
        assetMaterializations(limit: 1) { metadataEntries { label ... on MarkdownMetadataEntry { mdStr } } } } } }""")
    entries = {e["label"]: e for e in published["assetOrError"]["assetMaterializations"][0]["metadataEntries"]}
    assert "data:image/svg+xml;base64," in entries["charts"]["mdStr"]


DRAFTS_QUERY = """{ assetOrError(assetKey: {path: ["report_drafts"]}) { ... on Asset {
    assetMaterializations(limit: 10) { description metadataEntries { label
        ... on PathMetadataEntry { path } ... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text } } } } } }"""


def _drafts_shown(port: int) -> list[dict]:
    asset = _graphql(port, DRAFTS_QUERY)["assetOrError"]
    return asset.get("assetMaterializations", []) if asset else []


def test_a_document_dropped_into_the_inbox_is_drafted_and_shown_in_the_ui(dev):
    project, port = dev.project, dev.port
    dev.first_runs()
    runs = len(_runs(port))
    inbox = project / "raw" / "_inbox"
    inbox.mkdir()
    shutil.copy(project / "raw" / SEED_ID / "000_7135ed9bf0dced39.txt", inbox / "INSS via Yonhap.txt")
    deadline = time.monotonic() + 180
    shown: list[dict] = []
    while time.monotonic() < deadline and not shown:
        time.sleep(2)
        shown = _drafts_shown(port)
    assert shown, "no report_drafts materialization in the UI"
    drafted = time.time()
    entries = {e["label"]: e for e in shown[0]["metadataEntries"]}
    draft = project / "raw" / "_drafts" / "inss-via-yonhap"
    assert entries["draft_path"]["path"] == str(draft)
    assert entries["figures_drafted"]["intValue"] == 11
    assert (draft / "figures.toml").is_file() and not (inbox / "INSS via Yonhap.txt").exists()
    # a draft is not a report: the raw/ sensor's next look at raw/ (with the draft in it) starts no refresh
    tick = _a_later_tick_started_nothing(port, drafted)
    assert (tick["status"], tick["runIds"]) == ("SKIPPED", [])
    assert len(_runs(port)) == runs


CYBER_ONLY_SOURCE = "North Korean hackers stole about $1.2 billion in cryptocurrency in 2025, the firm said.\n"


def _add_cyber_only_report(raw: Path) -> str:
    folder = write_report(
        raw, "chain-firm-crypto-2026-01-15", publisher="A chain-analysis firm", published_on=datetime.date(2026, 1, 15),
        series="chain-firm-crypto", period=(datetime.date(2025, 1, 1), datetime.date(2025, 12, 31)),
        title="Crypto crime mid-year update", document=CYBER_ONLY_SOURCE,
        figures=[{"id": "cyber-income", "topic": "channel", "subject": "cyber", "value": 1.2, "unit": "USD billion",
                  "value_text": "$1.2 billion", "qualifier": "about",
                  "quote": "North Korean hackers stole about $1.2 billion in cryptocurrency in 2025"}])
    return folder.name


def project_copy(tmp_path: Path) -> tuple[Path, dict]:
    """A copy of the project (pipeline/, raw/, pyproject.toml) and the environment of a process that runs
    it against a Dagster home configured as the project's."""
    project = copy_of_the_project(tmp_path / "project")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "pipeline" / "dagster.yaml").read_text())
    # the copy's `pipeline` package comes first, so its paths (raw/, warehouse/) are the copy's
    return project, {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(project)}


def test_the_sensor_refreshes_the_published_file_when_a_report_is_added(dev):
    """A report folder saved into raw/ is published by the sensor's run, with no one starting anything."""
    project, port, log = dev.project, dev.port, dev.log
    published = project / "warehouse" / "illicit_income.duckdb"
    dev.first_runs()
    before = _wait_for_runs(port, len(_runs(port)), timeout=240)  # and any other run started before, ended

    report_id = _add_cyber_only_report(project / "raw")
    saved = time.monotonic()
    runs = _wait_for_runs(port, len(before) + 1, timeout=240)
    seconds = time.monotonic() - saved
    assert all(r["status"] == "SUCCESS" for r in runs if r["runId"] != dev.killed)
    assert {"key": "dagster/sensor_name", "value": "raw_reports_sensor"} in runs[0]["tags"]

    # a later tick with raw/ unchanged starts nothing
    tick = _a_later_tick_started_nothing(port, time.time())
    assert (tick["status"], tick["runIds"]) == ("SKIPPED", [])
    assert len(_runs(port)) == len(runs)

    # the runs' console logs are at INFO: dagster dev's terminal shows no DEBUG event of their steps
    assert " - DEBUG - " not in log.read_text(errors="replace")
    con = duckdb.connect(str(published), read_only=True)
    try:
        assert con.execute("SELECT report_id FROM reports ORDER BY report_id").fetchall() == [
            (report_id,), ("inss-illicit-income-2024-09-03",)]
        # the new report's 2025 figure beside the seed's 2017-2023 one: no period hides another
        assert con.execute("SELECT report_id, income_usd FROM latest_channels WHERE channel = 'cyber' "
                           "ORDER BY period_start").fetchall() == [
            ("inss-illicit-income-2024-09-03", 1_350_000_000.0), (report_id, 1_200_000_000.0)]
    finally:
        con.close()
    print(f"report saved -> sensor run finished in {seconds:.0f} s")
