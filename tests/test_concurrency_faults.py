"""Faults found by an adversarial trial (issue 14) that must never freeze, roll back or poison the
warehouse: an edit made while a refresh reads raw/, a poisoned cache and `--full`, a refresh killed
with kill -9 (its run must not block the run queue; under `dagster dev`:
tests/test_dagster_dev.py), a damaged published file, a re-executed old run,
a locked report cache, and a refresh that fails half-way through writing its staging file."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline.publish.warehouse import RawReportsDir, Warehouse

from .conftest import PROJECT_ROOT, SEED_ID
from .helpers import ALL_ASSETS, build, edit, failure_message, held_by_another_process, rows
from .test_sensor import sensor_resources

pytestmark = pytest.mark.slow

TITLE = "North Korea acquired nearly $6.3 billion in illegal income from 2017 to 2023, report says"
EDITED = "North Korea acquired nearly $6.3 billion in illegal income from 2017 to 2023, report SAYS"


def title(path: Path) -> str:
    return rows(path, "SELECT title FROM reports WHERE report_id = ?", [SEED_ID])[0][0]


def refresh_process(raw_dir: Path, warehouse_path: Path, home: Path, *args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "refresh", "--raw", str(raw_dir), "--warehouse", str(warehouse_path), *args],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def run_refresh(raw_dir: Path, warehouse_path: Path, home: Path, *args: str) -> tuple[int, str]:
    proc = refresh_process(raw_dir, warehouse_path, home, *args)
    out, _ = proc.communicate(timeout=300)
    return proc.returncode, out


# 1. an edit made while a refresh reads a folder never poisons the cache


def test_an_edit_made_while_a_folder_is_read_is_never_kept_under_the_earlier_digest(published_seed, raw_dir, seed_dir,
                                                                                   warehouse_path, monkeypatch):
    import pipeline.validate.validation

    edit(seed_dir / "report.toml", TITLE, TITLE + " (draft)")  # a change the next refresh must read
    read = pipeline.validate.validation.load_and_check
    calls = []

    def edited_while_read(*args, **kwargs):
        # the person saves another edit after the refresh hashed the folder, before it reads it
        if not calls:
            edit(seed_dir / "report.toml", TITLE + " (draft)", EDITED)
        calls.append(1)
        return read(*args, **kwargs)

    monkeypatch.setattr(pipeline.validate.validation, "load_and_check", edited_while_read)
    assert build(raw_dir, warehouse_path).success
    monkeypatch.undo()
    assert title(warehouse_path) == EDITED
    # the person undoes the edit: the next refresh must publish the title as it is again
    edit(seed_dir / "report.toml", EDITED, TITLE)
    assert build(raw_dir, warehouse_path).success
    assert title(warehouse_path) == TITLE
    assert len(calls) == 2  # the folder was read again once the change was seen


def test_full_reads_every_folder_again_whatever_the_cache_and_the_record_say(published_seed, raw_dir, warehouse_path, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    cache = warehouse_path.parent / ".staging" / "report_cache.duckdb"
    con = duckdb.connect(str(cache))
    try:  # a cache poisoned by any means: rows kept under a digest they do not come from
        con.execute("UPDATE reports SET title = 'poisoned'")
    finally:
        con.close()
    warehouse_path.unlink()  # a build from the cache's rows, recorded as "0 of 1 report folders changed"
    assert build(raw_dir, warehouse_path).success
    assert title(warehouse_path) == "poisoned"
    assert build(raw_dir, warehouse_path).success
    assert title(warehouse_path) == "poisoned"  # an ordinary refresh trusts both (in this process: the job's code)

    code, out = run_refresh(raw_dir, warehouse_path, home, "--full")

    assert code == 0, out
    assert title(warehouse_path) == TITLE
    assert rows(warehouse_path, "SELECT method, reason FROM build.info") == [
        ("from nothing", "a build from nothing was asked for")]
    # and the cache now holds what was read
    assert rows(cache, "SELECT title FROM reports") == [(TITLE,)]


# 2. a refresh killed with kill -9 never blocks the run queue


def kill_once_started(proc: subprocess.Popen, instance: dg.DagsterInstance) -> str:
    """kill -9 the refresh (in its own session) as soon as its run is STARTED; returns the run's id, which
    the instance still says is STARTED, as the trial found it. The instance's storage must exist before
    the refresh starts (see `started_instance`), so that the test's reads never race its creation."""
    started = []
    deadline = time.monotonic() + 120
    while not started and proc.poll() is None and time.monotonic() < deadline:
        started = instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        time.sleep(0.05)
    if proc.poll() is not None:  # it ended on its own: say how, with what it printed
        out = proc.communicate()[0] if proc.stdout else ""
        pytest.fail(f"the refresh ended (exit {proc.returncode}) before it could be killed:\n{out}")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert started, "the refresh's run was never seen started"
    run_id = started[0].dagster_run.run_id
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED
    return run_id


def started_instance(home: Path) -> dg.DagsterInstance:
    """The Dagster instance of `home`, its storage created before any refresh process opens it."""
    instance = dg.DagsterInstance.from_config(str(home))
    instance.get_runs(limit=1)
    return instance


def test_the_run_of_a_killed_refresh_is_marked_failed_so_that_the_queue_moves(raw_dir, warehouse_path, dagster_home):
    with started_instance(dagster_home) as instance:
        proc = refresh_process(raw_dir, warehouse_path, dagster_home, start_new_session=True)
        try:
            run_id = kill_once_started(proc, instance)

            # the next refresh, from the command line, finds it and marks it failed, then runs
            code, out = run_refresh(raw_dir, warehouse_path, dagster_home)

            assert code == 0, out
            assert f"Dagster run {run_id} was left unfinished by a refresh that was killed: marked failed" in out
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
            unfinished = instance.get_run_records(filters=dg.RunsFilter(statuses=[
                dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]))
            assert unfinished == []
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_the_sensor_marks_the_run_of_a_killed_refresh_failed(raw_dir, warehouse_path, dagster_home):
    from pipeline.defs.automation import raw_reports_sensor

    with started_instance(dagster_home) as instance:
        proc = refresh_process(raw_dir, warehouse_path, dagster_home, start_new_session=True)
        run_id = kill_once_started(proc, instance)
        context = dg.build_sensor_context(instance=instance, resources=sensor_resources(raw_dir, warehouse_path))

        raw_reports_sensor.evaluate_tick(context)

        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE


def test_a_process_that_is_alive_is_never_taken_for_gone():
    from pipeline.defs.run_liveness import PROCESS_TAG, _gone, process_tag

    assert not _gone(process_tag("run-1")[PROCESS_TAG], "run-1")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host, _, started, run = process_tag("run-1")[PROCESS_TAG].split(" ")
    assert _gone(f"{host} {dead.pid} {started} {run}", "run-1")
    assert not _gone(f"{host} {dead.pid} {started} {run}", "run-2")  # a tag copied to a re-executed run
    assert _gone(f"{host} {os.getpid()} 1 {run}", "run-1")  # this pid, but another program's start time


# 3. a published file that cannot be read is set aside and replaced by a rebuild


def _truncate(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def _overwrite(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def _corrupt_blocks(path: Path) -> None:
    """Garbage in the middle of every block after DuckDB's headers (their checksums then fail)."""
    from pipeline.publish.warehouse import PUBLISHED_BLOCK_SIZE

    with open(path, "r+b") as handle:
        for offset in range(12 * 1024 + PUBLISHED_BLOCK_SIZE // 2, path.stat().st_size, PUBLISHED_BLOCK_SIZE):
            handle.seek(offset)
            handle.write(os.urandom(512))


@pytest.mark.parametrize("damage", [_truncate, _overwrite, _corrupt_blocks])
def test_an_unreadable_published_file_is_set_aside_and_a_rebuild_is_published(published_seed, raw_dir,
                                                                              warehouse_path, tmp_path, damage):
    home = tmp_path / "home"
    home.mkdir()
    damage(warehouse_path)
    damaged = warehouse_path.read_bytes()

    code, out = run_refresh(raw_dir, warehouse_path, home)

    assert code == 0, out
    assert title(warehouse_path) == TITLE
    assert rows(warehouse_path, "SELECT method FROM build.info") == [("from nothing",)]
    [aside] = warehouse_path.parent.glob(f"{warehouse_path.stem}.unreadable-*.duckdb")
    assert aside.read_bytes() == damaged  # kept for inspection, byte for byte
    assert "the previous published file could not be read" in out and str(aside) in out


# 4. re-executing an old run never rolls the warehouse back


def refresh_job() -> dg.JobDefinition:
    """The project's job, for Dagster's re-execution (dg.reconstructable)."""
    from pipeline.definitions import defs

    return defs.resolve_job_def("refresh_warehouse")


def test_a_re_executed_old_run_never_replaces_a_newer_published_build(raw_dir, seed_dir, warehouse_path, dagster_home):
    config = {"resources": {"raw": {"config": {"path": str(raw_dir)}},
                            "warehouse": {"config": {"path": str(warehouse_path), "lock_timeout_seconds": 1}}}}
    job = dg.reconstructable(refresh_job)
    with dg.DagsterInstance.get() as instance:
        assert dg.execute_job(job, instance, run_config=config).success
        edit(seed_dir / "report.toml", TITLE, EDITED)
        with held_by_another_process(warehouse_path):  # run A builds the edited title, then fails on the publish lock
            old = dg.execute_job(job, instance, run_config=config, raise_on_error=False)
        assert not old.success
        edit(seed_dir / "report.toml", EDITED, TITLE)
        newer = dg.execute_job(job, instance, run_config=config)  # run B publishes the title as it is now
        assert newer.success and title(warehouse_path) == TITLE

        again = dg.execute_job(job, instance, run_config=config, raise_on_error=False,
                               reexecution_options=dg.ReexecutionOptions.from_failure(old.run_id, instance))

        assert not again.success
        assert title(warehouse_path) == TITLE
        assert rows(warehouse_path, "SELECT run_id FROM build.info") == [(newer.run_id,)]
        message = failure_message(again)
        assert f"run {old.run_id} built its tables at" in message and "roll the warehouse back" in message


# 11. a lock on the report cache is waited for, then named


def test_a_lock_on_the_report_cache_is_waited_for_then_named(published_seed, raw_dir, seed_dir, warehouse_path):
    before = warehouse_path.read_bytes()
    edit(seed_dir / "report.toml", TITLE, EDITED)
    cache = warehouse_path.parent / ".staging" / "report_cache.duckdb"
    with held_by_another_process(cache):
        result = dg.materialize(
            ALL_ASSETS,
            resources={"raw": RawReportsDir(path=str(raw_dir)),
                       "warehouse": Warehouse(path=str(warehouse_path), lock_timeout_seconds=2)},
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    message = failure_message(result)
    assert f"{cache} is locked by another process and stayed locked for 2 s" in message
    assert "Nothing was published" in message
    assert warehouse_path.read_bytes() == before
    assert build(raw_dir, warehouse_path).success and title(warehouse_path) == EDITED


# 12. a refresh that fails on a full disk leaves no staging file behind


def test_a_refresh_that_runs_out_of_disk_leaves_no_staging_file(published_seed, raw_dir, seed_dir, warehouse_path, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    before = warehouse_path.read_bytes()
    edit(seed_dir / "report.toml", TITLE, EDITED)
    limit = len(before) - 4096  # no file may grow as large as the warehouse: its staging copy cannot be written

    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = refresh_process(raw_dir, warehouse_path, home, preexec_fn=full_disk)
    out, _ = proc.communicate(timeout=300)

    assert proc.returncode == 1, out
    assert "nothing was published" in out
    assert warehouse_path.read_bytes() == before
    staging = warehouse_path.parent / ".staging"
    assert sorted(p.name for p in staging.glob(f"{warehouse_path.stem}.*.duckdb*")) == []
    # and the next refresh, with room, publishes
    code, out = run_refresh(raw_dir, warehouse_path, home)
    assert code == 0, out
    assert title(warehouse_path) == EDITED
