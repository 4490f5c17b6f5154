"""The instance `python -m pipeline refresh` runs in (pipeline.instance): the project's Dagster instance,
whose event log keeps its SQLite connections open for the run. What it writes must be what Dagster's
own storage writes and reads, and it must not be used for any other storage."""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from pipeline.definitions import defs
from pipeline.instance import KeptConnectionsSqliteEventLogStorage, refresh_instance
from pipeline.jobs import REFRESH_JOB


def _run(instance: dg.DagsterInstance, raw_dir: Path, warehouse_path: Path) -> str:
    result = defs.resolve_job_def(REFRESH_JOB).execute_in_process(instance=instance, run_config={"resources": {
        "raw": {"config": {"path": str(raw_dir)}}, "warehouse": {"config": {"path": str(warehouse_path)}}}})
    assert result.success
    return result.run_id


def _standard(home: Path) -> dg.DagsterInstance:
    """The instance `dagster dev` reads: dagster.yaml as it is."""
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def _open_files_under(folder: Path) -> list[str]:
    fds = Path("/proc/self/fd")
    targets = [os.readlink(fd) for fd in fds.iterdir() if fd.name.isdigit() and fd.is_symlink()]
    return [t for t in targets if t.startswith(str(folder))]


def test_a_run_through_kept_connections_is_recorded_as_dagsters_own_storage_records_it(dagster_home, raw_dir,
                                                                                       warehouse_path):
    with refresh_instance() as instance:
        assert isinstance(instance.event_log_storage, KeptConnectionsSqliteEventLogStorage)
        kept_run = _run(instance, raw_dir, warehouse_path)
        assert _open_files_under(dagster_home), "the run's connections are kept while the instance lives"
        # and they hold no lock and no read snapshot: another process (dagster dev's daemon) can write
        # at once and checkpoint the whole write-ahead log
        runs = dagster_home / "history" / "runs"
        for shard in (runs / "index.db", runs / f"{kept_run}.db"):
            other = sqlite3.connect(shard, timeout=0, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            assert other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0, shard  # 0: not busy
            other.close()
    assert _open_files_under(dagster_home) == [], "disposing the instance closes every connection"
    with _standard(dagster_home) as instance:
        assert type(instance.event_log_storage).__name__ == "SqliteEventLogStorage"
        standard_run = _run(instance, raw_dir, warehouse_path)
        kinds = {run: Counter(e.dagster_event_type for e in instance.all_logs(run) if e.dagster_event_type)
                 for run in (kept_run, standard_run)}
        assert kinds[kept_run] == kinds[standard_run]
        # every asset check of the definitions: one per table, one per report check and basis, two on the file
        assert kinds[kept_run][dg.DagsterEventType.ASSET_CHECK_EVALUATION] == len(defs.resolve_asset_graph().asset_check_keys)
        # what the UI shows across runs (the index shard): the first run's checks, the runs' status
        check = dg.AssetCheckKey(dg.AssetKey("published_warehouse"), "contract_satisfied")
        records = instance.event_log_storage.get_asset_check_execution_history(check, limit=5)
        assert sorted(r.run_id for r in records) == sorted([kept_run, standard_run])
        assert [r.status for r in instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS] * 2


@pytest.mark.parametrize("section", [
    "storage:\n  sqlite:\n    base_dir: {elsewhere}\n",
    "event_log_storage:\n  module: dagster._core.storage.event_log\n  class: ConsolidatedSqliteEventLogStorage\n"
    "  config:\n    base_dir: {elsewhere}\n",
])
def test_a_storage_dagster_yaml_configures_is_used_as_configured(dagster_home, tmp_path, raw_dir, warehouse_path, section):
    with refresh_instance() as instance:
        assert isinstance(instance.event_log_storage, KeptConnectionsSqliteEventLogStorage)
    elsewhere = tmp_path / "storage elsewhere"
    with (dagster_home / "dagster.yaml").open("a") as config:
        config.write("\n" + section.format(elsewhere=elsewhere))
    with refresh_instance() as instance:
        assert not isinstance(instance.event_log_storage, KeptConnectionsSqliteEventLogStorage)
        run = _run(instance, raw_dir, warehouse_path)
    assert any(elsewhere.rglob("*.db"))
    with _standard(dagster_home) as instance:
        assert instance.get_run_by_id(run).status == dg.DagsterRunStatus.SUCCESS
        assert any(e.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION for e in instance.all_logs(run))


def test_a_dagster_home_that_is_not_a_folder_is_refused_as_dagster_refuses_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "missing"))
    with pytest.raises(dg.DagsterInvariantViolationError, match="is not a directory or does not exist"):
        refresh_instance()


def test_wiping_the_event_log_leaves_no_connection_on_a_deleted_file(dagster_home, raw_dir, warehouse_path):
    with refresh_instance() as instance:
        run = _run(instance, raw_dir, warehouse_path)
        instance.event_log_storage.wipe()
        assert not any(target.endswith(" (deleted)") for target in _open_files_under(dagster_home))
        _run(instance, raw_dir, warehouse_path)
    with _standard(dagster_home) as instance:
        assert instance.all_logs(run) == []
        assert len(instance.get_runs()) == 2
