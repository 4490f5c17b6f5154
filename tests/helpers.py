"""Helpers the test modules share: building the warehouse through Dagster into a temporary folder,
editing a copied report, and finding a located problem in a RawReportError."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline.build.tables import Built
from pipeline.core.errors import Problem, RawReportError
from pipeline.defs import assets
from pipeline.publish.warehouse import RawReportsDir, Warehouse

PROJECT_ROOT = Path(__file__).resolve().parent.parent

ALL_ASSETS = assets.ALL_ASSETS


def build(raw_dir: Path, warehouse_path: Path) -> dg.ExecuteInProcessResult:
    """Materialize every asset and check, as the main job does, against the given raw/ and file."""
    return dg.materialize(
        ALL_ASSETS,
        resources={"raw": RawReportsDir(path=str(raw_dir)), "warehouse": Warehouse(path=str(warehouse_path))},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )



_HOLDER = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == 'read-only'); "
           "print('holding', flush=True); time.sleep(600)")


@contextlib.contextmanager
def held_by_another_process(path: Path, read_only: bool = False) -> Iterator[None]:
    """`path` opened with DuckDB by another process until the block ends: read-write (a DuckDB CLI without -readonly,
    a notebook: it holds the file's lock) or read-only (an analyst's -readonly CLI)."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path), "read-only" if read_only else "read-write"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        yield
    finally:
        holder.kill()
        holder.wait()


# `make mutation` sets this for tests that only read what a refresh published (tests/mutation/run.py): each mutant's
# process builds their module's warehouse again, and the job's steps called directly take half the time of a run.
STEPS_ENV = "PIPELINE_TESTS_REFRESH"


def publish_for_reading(raw_dir: Path, warehouse_path: Path) -> None:
    """Publish raw_dir at warehouse_path for tests that read the published file: through the real job, or with its
    steps called directly (refresh_directly) when the environment sets PIPELINE_TESTS_REFRESH=steps. The two
    publish the same file (tests/test_tables.py runs each of its tests both ways); a failure fails the test."""
    if os.environ.get(STEPS_ENV) == "steps":
        done = refresh_directly(raw_dir, warehouse_path)
        if done.error is not None:
            raise done.error
        assert done.success, f"the refresh of {raw_dir} was not published (a blocking check failed)"
        return
    assert build(raw_dir, warehouse_path).success


@dataclass
class DirectRefresh:
    """What refresh_directly did: how the tables were built, the table and report checks' results, its
    staging file, whether every blocking check passed on it and whether it was published; `error` is the
    exception that stopped it, if any."""

    built: Built | None = None
    checks: list[dg.AssetCheckResult] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    staging: Path | None = None
    passed: bool = False
    published: bool = False
    error: Exception | None = None

    @property
    def success(self) -> bool:
        return self.published


def refresh_directly(raw_dir: Path, warehouse_path: Path, *, max_share: float = 0.5,
                     publish: bool = True) -> DirectRefresh:
    """One refresh as the job runs it, its steps called directly without a Dagster run (a fraction of the
    time: the tests `make mutation` runs for every mutant of the build and publish use it): raw_reports
    (hash every folder, read those the report cache does not hold), validated_figures, warehouse_tables
    (report checks, the plan, the staging file, the cache, the build, the table checks, the marker) and
    published_warehouse, with the same functions in the same order as pipeline.defs.assets. An error a
    step raises is returned in `error` (the job's run fails on it). tests/test_tables.py runs its tests
    both through the job and this way, so the two cannot drift apart unseen."""
    from pipeline.build import tables
    from pipeline.defs.checks import report_check_results, schema_check_results
    from pipeline.read import report_cache
    from pipeline.read.raw_reports import report_folders
    from pipeline.validate.report_checks import run_report_checks
    from pipeline.validate.schemas import TABLE_SCHEMAS
    from pipeline.validate.validation import load_and_check, validate_raw

    warehouse = Warehouse(path=str(warehouse_path), incremental_max_share=max_share)
    run_key = uuid.uuid4().hex
    done = DirectRefresh(staging=warehouse.staging_path(run_key))
    try:
        folders = report_folders(raw_dir) if raw_dir.is_dir() else []
        cached = warehouse.cached_folders()
        digests, signatures, _ = report_cache.hash_folders(folders, cached)
        stale = [folder for folder in folders if cached.get(folder.name, ("",))[0] != digests[folder.name]]
        done.stale = [folder.name for folder in stale]
        loaded = validate_raw(load_and_check(raw_dir, folders=stale), raw_dir.name)
        batch = report_cache.ReportBatch(digests=digests, signatures=signatures, loaded=loaded,
                                         reused=len(folders) - len(stale), stale=done.stale)
        checks = run_report_checks(loaded.reports, loaded.figures)
        plan = tables.Plan(digests, max_share=warehouse.incremental_max_share)
        with warehouse.fresh_staging(run_key, start_from_published=plan.decide) as con:
            report_cache.update(con, batch, checks)
            done.built = tables.build(con, plan, run_key)
            con.execute("BEGIN")
            schema_results = schema_check_results(con, TABLE_SCHEMAS, done.built.rows_to_validate, raw_dir.name)
            con.execute("COMMIT")
            done.checks = schema_results + report_check_results(con)
        if all(result.passed for result in schema_results):
            warehouse.mark_passed(run_key)
            done.passed = True
        if publish:
            warehouse.publish(run_key)
            done.published = True
    except Exception as exc:  # noqa: BLE001 - returned to the test, as the job's run reports its step's failure
        done.error = exc
    return done


def restamp(warehouse_path: Path) -> None:
    """Record the file at warehouse_path as the one the pipeline published (what the publish step does):
    a copy is a new file (another inode), which a refresh would otherwise not start from."""
    from pipeline.publish.warehouse import _stamp

    Warehouse(path=str(warehouse_path))._published_stamp.write_text(_stamp(warehouse_path), encoding="utf-8")


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The description of the run's first failed step (what a person reads in the UI and the CLI)."""
    failure = next(e for e in result.all_events if e.is_step_failure)
    return failure.step_failure_data.user_failure_data.description


def refresh_cli(raw_dir: Path, warehouse_path: Path, home: Path) -> subprocess.CompletedProcess:
    """`python -m pipeline refresh`, what `make warehouse` runs, in its own process and Dagster home."""
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "refresh", "--raw", str(raw_dir), "--warehouse", str(warehouse_path)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)


def project_copy(target: Path, refresh_cron: str | None = None) -> Path:
    """The project's code, raw/ and pyproject.toml copied to `target` (with the daily refresh's cron replaced
    by `refresh_cron` if given). Run with PYTHONPATH=target, the copy's `pipeline` package is the one imported,
    so its raw/ and warehouse/ are the copy's."""
    target.mkdir()
    shutil.copytree(PROJECT_ROOT / "pipeline", target / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT_ROOT / "raw", target / "raw")
    text = (PROJECT_ROOT / "pyproject.toml").read_text()
    if refresh_cron:
        start = text.index("refresh_cron = ")
        text = text[:start] + f'refresh_cron = "{refresh_cron}"' + text[text.index("\n", start):]
    (target / "pyproject.toml").write_text(text)
    return target


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def process_group(cmd: list[str], cwd: Path, env: dict, log_path: Path) -> Iterator[subprocess.Popen]:
    """A command (dagster dev, dagster-daemon) in a process group of its own, output to log_path; the whole
    group is ended after (SIGTERM, then SIGKILL for what is left), so no process outlives the test.

    It starts with SIGINT at its default action, as from a terminal: a shell script's background job (a CI
    step, `make test &`) inherits SIGINT ignored, and Dagster's dev command maps SIGTERM to SIGINT's
    handler, so it would ignore SIGTERM too."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_default_sigint)
        try:
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


@contextlib.contextmanager
def instance_at(home: Path) -> Iterator[dg.DagsterInstance]:
    """The Dagster instance of the folder `home`, as `dagster dev` with DAGSTER_HOME=home reads it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        with dg.DagsterInstance.get() as instance:
            yield instance


def rows(path: Path, query: str, params: list | None = None) -> list[tuple]:
    """The rows of a query on a DuckDB file opened read-only."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


def edit(path: Path, old: str, new: str) -> None:
    """Replace `old` (which must occur exactly once) by `new` in a copied file."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur exactly once in {path.name}; the seed changed?"
    path.write_text(text.replace(old, new), encoding="utf-8")
    assert path.read_text(encoding="utf-8") != text


def find_problem(exc: RawReportError, *, folder: str, file: str, field: str | None = None, where: str | None = None,
                 found: str | None = None, expected: str | None = None) -> Problem:
    """The problem of exc that matches; its message is in str(exc) and names folder/file/where/field."""
    message = str(exc)
    for p in exc.problems:
        if p.folder != folder or p.file != file:
            continue
        if field is not None and p.field != field:
            continue
        if where is not None and where not in p.where:
            continue
        if found is not None and found not in p.found:
            continue
        if expected is not None and expected not in p.expected:
            continue
        text = str(p)
        assert text in message
        assert text.startswith(f"{folder}/{file}" if file else folder)
        if where:
            assert where in text
        if field:
            assert f"field '{field}'" in text
        return p
    pytest.fail(f"no problem with folder={folder!r} file={file!r} field={field!r} where={where!r} "
                f"found~{found!r} expected~{expected!r} in:\n{message}")


def repeat_figure(seed_dir: Path, figure_id: str, next_id: str) -> None:
    """Add a copy of figure `figure_id` (the block up to figure `next_id`) under the id `<figure_id>-again`."""
    figures = seed_dir / "figures.toml"
    text = figures.read_text()
    block = text[text.index(f'[[figure]]\nid = "{figure_id}"'):text.index(f'[[figure]]\nid = "{next_id}"')]
    figures.write_text(text + "\n" + block.replace(f'id = "{figure_id}"', f'id = "{figure_id}-again"'))


def break_the_channels_grain(seed_dir: Path) -> None:
    """Add a second figure for the cyber channel and the same period (another id): the figures schema
    accepts it, and so does the channels table (one row per figure): one_value_per_period names it."""
    repeat_figure(seed_dir, "cyber-income", "coal-smuggling-income")


def break_the_arms_grain(seed_dir: Path) -> None:
    """Add a second figure for the 152mm shells and the same period (another id): the figures schema
    accepts it, the arms table's grain (one row per report, item and period) does not."""
    repeat_figure(seed_dir, "arms-152mm-shells", "arms-122mm-shells")
