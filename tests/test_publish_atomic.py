"""The DuckDB file, the report page and the exports are published by one atomic rename (pipeline.publish.release):
a refresh killed with SIGKILL at any point leaves the three describing the same refresh, the last good one
before the switch and the new one after it; a warehouse of the earlier layout (a regular file at
illicit_income.duckdb) is adopted by the next refresh without loss, even when that refresh is killed.

The kills are real: the refresh is `python -m pipeline refresh` in its own process, and a sitecustomize
module on its PYTHONPATH sends it SIGKILL just before or just after the rename of a given path (the moments a
poll from outside could not hit: they are microseconds apart)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.publish.warehouse import Warehouse
from pipeline.publish.warehouse import _stamp as stamp

from .conftest import PROJECT_ROOT
from .helpers import rows
from .test_report_page import _page_run

pytestmark = pytest.mark.slow

KILLER = textwrap.dedent("""
    import fnmatch, os, signal

    _when, _, _pattern = os.environ.get("KILL_AT", "").partition(":")
    if _pattern:
        _replace = os.replace

        def _kill_if(when, dst):
            if when == _when and fnmatch.fnmatch(os.path.abspath(os.fspath(dst)), _pattern):
                os.kill(os.getpid(), signal.SIGKILL)

        def replace(src, dst, *args, **kwargs):
            _kill_if("before", dst)
            _replace(src, dst, *args, **kwargs)
            _kill_if("after", dst)

        os.replace = replace
""")


@pytest.fixture
def killer(tmp_path) -> Path:
    folder = tmp_path / "killer"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(KILLER, encoding="utf-8")
    return folder


def refresh(raw_dir: Path, warehouse_path: Path, home: Path, killer: Path | None = None, kill_at: str = "") -> int:
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    if killer is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(killer), env.get("PYTHONPATH", "")])
        env["KILL_AT"] = kill_at
    proc = subprocess.run([sys.executable, "-m", "pipeline", "refresh", "--raw", str(raw_dir), "--warehouse",
                           str(warehouse_path)], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(proc.stdout[-3000:] + proc.stderr[-3000:])
    return proc.returncode


def published_runs(warehouse_path: Path) -> dict[str, str]:
    """The refresh each published thing says built it: the file's build.info, the page, the data package
    and the exported build_info.csv, all read through the names analysts use."""
    export = warehouse_path.parent / "export"
    with open(export / "build_info.csv", newline="", encoding="utf-8") as handle:
        exported = next(csv.DictReader(handle))["run_id"]
    return {"file": rows(warehouse_path, "SELECT run_id FROM build.info")[0][0],
            "page": _page_run(warehouse_path),
            "datapackage": json.loads((export / "datapackage.json").read_text(encoding="utf-8"))["version"],
            "export": exported}


def one_run(warehouse_path: Path) -> str:
    runs = published_runs(warehouse_path)
    assert len(set(runs.values())) == 1, runs
    return runs["file"]


def test_a_refresh_killed_at_any_point_of_the_publish_leaves_file_page_and_exports_of_one_run(
        published_seed, raw_dir, warehouse_path, tmp_path, killer):
    home = tmp_path / "home"
    home.mkdir()
    warehouse = warehouse_path.parent
    releases = f"{warehouse}/.releases/*"
    before_switch = [
        f"before:{releases}/{warehouse_path.name}",  # page and exports built, the file not yet in the release
        f"after:{releases}/{warehouse_path.name}",   # the release whole, the link not yet switched
        f"before:{warehouse}/.published",
    ]
    after_switch = [
        f"after:{warehouse}/.published",             # switched; old releases, stamp and marker not yet done
    ]
    published = one_run(warehouse_path)
    for kill_at in before_switch:
        assert refresh(raw_dir, warehouse_path, home, killer, kill_at) == -signal.SIGKILL, kill_at
        assert one_run(warehouse_path) == published, kill_at  # the last good refresh, whole
    for kill_at in after_switch:
        assert refresh(raw_dir, warehouse_path, home, killer, kill_at) == -signal.SIGKILL, kill_at
        assert one_run(warehouse_path) != published, kill_at  # the new refresh, whole
        published = one_run(warehouse_path)
    # the next refresh publishes and removes the unfinished releases; the one it replaced is kept
    assert refresh(raw_dir, warehouse_path, home) == 0
    latest = one_run(warehouse_path)
    assert latest != published
    assert sorted(p.name for p in (warehouse / ".releases").iterdir()) == sorted([latest, published])
    assert not list(warehouse.glob(".*.tmp"))


def to_earlier_layout(warehouse_path: Path) -> None:
    """The warehouse as the earlier publish step left it: the file itself at illicit_income.duckdb (renamed
    there, so the same inode), the page and the exports behind `.published`, the file's stamp recorded."""
    real = warehouse_path.resolve()
    warehouse_path.unlink()
    os.replace(real, warehouse_path)
    Warehouse(path=str(warehouse_path))._published_stamp.write_text(stamp(warehouse_path), encoding="utf-8")


READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("SELECT run_id FROM build.info").fetchone()[0], flush=True)
    sys.stdin.readline()
    print(con.execute("SELECT run_id FROM build.info").fetchone()[0], flush=True)
""")


def test_a_warehouse_of_the_earlier_layout_is_adopted_by_the_next_refresh_without_loss(published_seed, raw_dir, warehouse_path,
                                                                                        tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    to_earlier_layout(warehouse_path)
    assert warehouse_path.is_file() and not warehouse_path.is_symlink()
    old = one_run(warehouse_path)
    figures = rows(warehouse_path, "SELECT * FROM figures ORDER BY ALL")
    reader = subprocess.Popen([sys.executable, "-c", READER, str(warehouse_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == old
        assert refresh(raw_dir, warehouse_path, home) == 0
        out, _ = reader.communicate("go\n", timeout=60)
    finally:
        reader.kill()
    assert out.strip() == old  # the analyst's open connection kept its file across the migration
    assert warehouse_path.is_symlink() and os.readlink(warehouse_path) == os.path.join(".published", warehouse_path.name)
    new = one_run(warehouse_path)
    assert new != old
    assert rows(warehouse_path, "SELECT method FROM build.info") == [("incremental",)]  # started from the old file
    assert rows(warehouse_path, "SELECT * FROM figures ORDER BY ALL") == figures


def test_a_refresh_killed_while_it_adopts_the_earlier_layout_leaves_one_run_published(published_seed, raw_dir, warehouse_path,
                                                                                      tmp_path, killer):
    home = tmp_path / "home"
    home.mkdir()
    to_earlier_layout(warehouse_path)
    old = one_run(warehouse_path)
    figures = rows(warehouse_path, "SELECT * FROM figures ORDER BY ALL")
    warehouse = warehouse_path.parent
    # killed just after the link is switched to the adopted release, while the file is still a regular file
    assert refresh(raw_dir, warehouse_path, tmp_path / "home", killer, f"after:{warehouse}/.published") == -signal.SIGKILL
    assert one_run(warehouse_path) == old
    assert not warehouse_path.is_symlink() and (warehouse / ".published").resolve().name.startswith("adopted-")
    # killed just after the file became the link (adopted), before the new release is switched in
    assert refresh(raw_dir, warehouse_path, home, killer, f"after:{warehouse_path}") == -signal.SIGKILL
    assert warehouse_path.is_symlink() and one_run(warehouse_path) == old
    assert refresh(raw_dir, warehouse_path, home) == 0
    assert one_run(warehouse_path) != old
    assert rows(warehouse_path, "SELECT * FROM figures ORDER BY ALL") == figures
