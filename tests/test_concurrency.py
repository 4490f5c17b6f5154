"""Write, audit, publish under real concurrency: an analyst's open read-only connection survives a
refresh, a writer holding the published file makes the refresh wait a bounded time and fail with a
message (publishing nothing), and a refresh killed half-way (kill -9) leaves the last good file
readable and unchanged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline.publish.warehouse import RawReportsDir, Warehouse

from .conftest import PROJECT_ROOT, SEED_ID
from .helpers import ALL_ASSETS, build, edit, held_by_another_process

pytestmark = pytest.mark.slow

CYBER_CORRECTION = 'value = 1.35\nunit = "USD billion"\nvalue_text = "$1.35 billion"'


def change_cyber_best_estimate(seed_dir: Path) -> None:
    """A new refresh with different data: the cyber correction moves from 1.35e9 to 1.4e9."""
    edit(seed_dir / "corrections.toml", CYBER_CORRECTION, 'value = 1.4\nunit = "USD billion"')


def cyber(path: Path) -> float:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT income_usd FROM channels WHERE channel = 'cyber'").fetchone()[0]
    finally:
        con.close()


READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    query = "SELECT income_usd FROM channels WHERE channel = 'cyber'"
    print("before", con.execute(query).fetchone()[0], flush=True)
    sys.stdin.readline()  # the refresh runs now
    print("same_connection", con.execute(query).fetchone()[0], flush=True)
    print("same_connection_rows", con.execute("SELECT count(*) FROM figures").fetchone()[0], flush=True)
    # DuckDB shares one database instance per path within a process: close, then connect again
    con.close()
    fresh = duckdb.connect(sys.argv[1], read_only=True)
    print("reconnected", fresh.execute(query).fetchone()[0], flush=True)
""")


def test_an_open_read_only_connection_survives_a_refresh(published_seed, raw_dir, seed_dir, warehouse_path):
    reader = subprocess.Popen([sys.executable, "-c", READER, str(warehouse_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().split() == ["before", "1350000000.0"]
        change_cyber_best_estimate(seed_dir)

        result = build(raw_dir, warehouse_path)

        assert result.success
        assert cyber(warehouse_path) == 1_400_000_000.0  # another process sees the new data at once
        out, _ = reader.communicate("go\n", timeout=60)
    finally:
        reader.kill()
    lines = dict(line.split() for line in out.splitlines())
    assert reader.returncode == 0
    assert lines["same_connection"] == "1350000000.0"  # the reader keeps its snapshot
    assert lines["same_connection_rows"] == "11"
    assert lines["reconnected"] == "1400000000.0"  # a new connection sees the new data


def test_a_writer_lock_makes_the_refresh_wait_then_fail_and_lose_nothing(published_seed, raw_dir, seed_dir, warehouse_path):
    before = warehouse_path.read_bytes()
    change_cyber_best_estimate(seed_dir)
    with held_by_another_process(warehouse_path):  # read-write, as the DuckDB CLI without -readonly
        started = time.monotonic()
        result = dg.materialize(
            ALL_ASSETS,
            resources={"raw": RawReportsDir(path=str(raw_dir)),
                       "warehouse": Warehouse(path=str(warehouse_path), lock_timeout_seconds=3)},
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
        waited = time.monotonic() - started
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.user_failure_data.description
    assert failure.step_key == "published_warehouse"
    assert str(warehouse_path) in message and "locked by another process" in message
    assert "stayed locked for 3 s" in message and "Nothing was published" in message
    assert waited >= 3
    assert warehouse_path.read_bytes() == before
    # once the writer is gone, the same refresh publishes
    assert build(raw_dir, warehouse_path).success
    assert cyber(warehouse_path) == 1_400_000_000.0


def _refresh_process(raw_dir: Path, warehouse_path: Path, home: Path) -> subprocess.Popen:
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "refresh", "--raw", str(raw_dir), "--warehouse", str(warehouse_path)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _kill_when(proc: subprocess.Popen, seen, timeout: float = 120) -> str:
    """kill -9 the refresh as soon as `seen()` is true (or when it ends by itself)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return "finished before the kill"
        if seen():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return "killed"
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return "killed at timeout"


def test_a_refresh_killed_half_way_leaves_the_last_good_file(published_seed, raw_dir, seed_dir, warehouse_path, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    before = warehouse_path.read_bytes()
    change_cyber_best_estimate(seed_dir)
    staging_dir = warehouse_path.parent / ".staging"

    def staging_files(suffix: str) -> list[Path]:
        return list(staging_dir.glob(f"{warehouse_path.stem}.*.duckdb{suffix}"))

    moments = {
        # while the tables are written into this run's staging file
        "building staging": lambda: bool(staging_files(".wal")),
        # staging checked and marked publishable, not yet renamed over the published file
        "staging passed, not yet published": lambda: bool(staging_files(".passed")),
    }
    outcomes = {}
    for moment, seen in moments.items():
        outcomes[moment] = _kill_when(_refresh_process(raw_dir, warehouse_path, home), seen)
        # whatever the moment, the published file is the last good one, whole and readable
        assert warehouse_path.read_bytes() == before, (moment, outcomes)
        assert cyber(warehouse_path) == 1_350_000_000.0, moment
        assert not warehouse_path.with_name(warehouse_path.name + ".wal").exists()
    assert "killed" in outcomes["building staging"], outcomes
    # the next refresh recovers the half-written staging file and publishes the new data
    proc = _refresh_process(raw_dir, warehouse_path, home)
    assert proc.wait(timeout=300) == 0
    assert cyber(warehouse_path) == 1_400_000_000.0
    assert SEED_ID in duckdb.connect(str(warehouse_path), read_only=True).execute(
        "SELECT string_agg(report_id) FROM reports").fetchone()[0]
