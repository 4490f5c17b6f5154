"""The real `dagster dev` (webserver, daemon, code server) on a loopback port: it serves every asset,
check, job and schedule, and shows a run that `python -m pipeline refresh` made in the same
DAGSTER_HOME. Everything started here is stopped here (the whole process group)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.schemas import TABLE_SCHEMAS

from .conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def test_dagster_dev_serves_the_asset_graph_and_the_cli_run(tmp_path, raw_dir, warehouse_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "pipeline" / "dagster.yaml").read_text())
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    refresh = subprocess.run(
        [sys.executable, "-m", "pipeline", "refresh", "--raw", str(raw_dir), "--warehouse", str(warehouse_path)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert refresh.returncode == 0, refresh.stdout + refresh.stderr

    port = _free_port()
    workdir = tmp_path / "cwd"  # no .env here, so DAGSTER_HOME above is the one used
    workdir.mkdir()
    log = open(tmp_path / "dagster-dev.log", "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-m", "pipeline.definitions",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_location(port, time.monotonic() + 180)
        data = _graphql(port, """{
            assetNodes { assetKey { path } groupName hasAssetChecks }
            assetCheckExecutions: runsOrError { ... on Runs { results { jobName status } } }
        }""")
        keys = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in data["assetNodes"]}
        assert set(keys) == {"raw_reports", "validated_figures", "published_warehouse", *TABLE_SCHEMAS}
        assert keys["channels"] == "warehouse"
        runs = data["assetCheckExecutions"]["results"]
        assert [(r["jobName"], r["status"]) for r in runs] == [("refresh_warehouse", "SUCCESS")]

        checks = _graphql(port, """{ assetNodes(assetKeys: [{path: ["channels"]}]) {
            assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }""")
        names = {(c["name"], c["blocking"]) for c in checks["assetNodes"][0]["assetChecksOrError"]["checks"]}
        assert names == {("channels_matches_schema", True)}

        repo = """repositoriesOrError { ... on RepositoryConnection { nodes {
            name schedules { name scheduleState { status } } jobs { name } } } }"""
        nodes = _graphql(port, "{ " + repo + " }")["repositoriesOrError"]["nodes"]
        schedules = {s["name"]: s["scheduleState"]["status"] for n in nodes for s in n["schedules"]}
        assert schedules == {"daily_refresh": "RUNNING"}
        assert "refresh_warehouse" in {j["name"] for n in nodes for j in n["jobs"]}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=20)
        log.close()
