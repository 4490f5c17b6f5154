"""Starting `dagster dev` after `make warehouse`: the raw/ sensor's first evaluation starts no refresh when
the published file is current with raw/, and does when it is not (or there is none); later changes are
seen from there on. The sensor is evaluated directly, on a warehouse the real job published."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import pytest

from pipeline.defs.automation import raw_reports_sensor

from .conftest import SEED_ID
from .helpers import edit
from .test_sensor import sensor_resources


@pytest.fixture(scope="module")
def instance():
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture
def published(published_seed, raw_dir) -> tuple[Path, Path]:
    """A private copy of the seed's raw/ and of the warehouse the real job published from it (report cache
    included; conftest.published_seed): (raw_dir, warehouse_path)."""
    return raw_dir, published_seed


def first_tick(instance, raw_dir: Path, warehouse_path: Path, cursor: str | None = None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=sensor_resources(raw_dir, warehouse_path))
    return raw_reports_sensor.evaluate_tick(context)


def test_first_tick_skips_when_the_published_warehouse_is_current_and_sees_later_changes(instance, published):
    raw_dir, warehouse_path = published
    seed_dir = raw_dir / SEED_ID
    data = first_tick(instance, raw_dir, warehouse_path)
    assert data.run_requests == [] and "published warehouse is current" in data.skip_message
    assert first_tick(instance, raw_dir, warehouse_path, data.cursor).run_requests == []  # and stays quiet

    edit(seed_dir / "report.toml", 'title = "', 'title = "Edited: ')
    later = first_tick(instance, raw_dir, warehouse_path, data.cursor)
    assert len(later.run_requests) == 1
    assert later.run_requests[0].tags["raw_changes"] == f"changed {seed_dir.name}/report.toml"


def test_first_tick_refreshes_when_raw_changed_since_the_published_warehouse(instance, published):
    raw_dir, warehouse_path = published
    (raw_dir / SEED_ID / "notes.md").write_text("a file added after the refresh\n", encoding="utf-8")
    data = first_tick(instance, raw_dir, warehouse_path)
    assert len(data.run_requests) == 1
    assert json.loads(data.cursor)["generation"] == 1


def test_first_tick_refreshes_when_nothing_is_published(instance, raw_dir, warehouse_path):
    data = first_tick(instance, raw_dir, warehouse_path)
    assert len(data.run_requests) == 1
    assert data.run_requests[0].tags["raw_changes"] == "first evaluation: raw/ not seen before"


def _descendants(pid: int) -> set[int]:
    """Every process below pid (from /proc), so that a test can see that none outlives a stop."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, pending = set(), [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _command(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")[:120].decode(errors="replace")
    except OSError:
        return "(gone)"


@pytest.mark.slow
def test_dg_dev_after_make_warehouse_starts_no_run_prints_no_debug_and_sigterm_ends_every_process(tmp_path):
    """`make warehouse` then `make dev` (dg dev) on a copy of the project: the sensor's first tick starts no
    refresh, the terminal carries no DEBUG event and no SupersessionWarning, and SIGTERM to dg dev alone
    ends the webserver, the daemon and the code servers it started."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from .conftest import PROJECT_ROOT
    from .helpers import free_port, instance_at, process_group, project_copy

    project = project_copy(tmp_path / "project")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "pipeline" / "dagster.yaml", home / "dagster.yaml")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(project), "VIRTUAL_ENV": str(bin_dir.parent)}
    refresh = subprocess.run([sys.executable, "-m", "pipeline", "refresh"], cwd=project, env=env, capture_output=True,
                             text=True, timeout=300)
    assert refresh.returncode == 0, refresh.stdout + refresh.stderr

    log = tmp_path / "dg-dev.log"
    port = free_port()
    with process_group([str(bin_dir / "dg"), "dev", "--port", str(port)], project, env, log) as proc:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and "Sensor raw_reports_sensor skipped" not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text()
            time.sleep(1)
        time.sleep(3)
        started = _descendants(proc.pid)
        assert len(started) >= 3, started  # webserver, daemon, code server(s)
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 240  # a loaded machine: slow, but every process must end
        while time.monotonic() < deadline and (_alive(started) or proc.poll() is None):
            time.sleep(1)
        left = {pid: _command(pid) for pid in _alive(started)}
    text = log.read_text(errors="replace")
    assert "first evaluation: the published warehouse is current" in text, text[-3000:]
    assert left == {}, f"still running after SIGTERM: {left}\n{text[-3000:]}"
    with instance_at(home) as instance:
        assert len(instance.get_run_records()) == 1  # the refresh above; starting dev started none
    assert " - DEBUG - " not in text
    assert "SupersessionWarning" not in text
