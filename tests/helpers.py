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
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

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
