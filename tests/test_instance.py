"""The instance `python -m pipeline refresh` runs in (pipeline.defs.instance): the project's Dagster instance,
exactly as DAGSTER_HOME's dagster.yaml configures it, reached through Dagster's public API only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import dagster as dg
import pytest

from pipeline.definitions import defs
from pipeline.defs.instance import refresh_instance
from pipeline.defs.jobs import REFRESH_JOB

from .conftest import PROJECT_ROOT
from .helpers import instance_at

PRIVATE = re.compile(r"(^|\.)_(?!_)")  # a module path with a component such as _core (not __future__)


def private_imports(folder: Path) -> list[str]:
    """Every import in folder's Python files of a private module of another package, and every
    configuration file naming one (dagster.yaml may load a class by module path)."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            found += [f"{path.name}:{node.lineno} {name}" for name in names
                      if PRIVATE.search(name) and not name.startswith("pipeline.")]
    for path in sorted(folder.rglob("*.yaml")):
        found += [f"{path.name}: {line.strip()}" for line in path.read_text(encoding="utf-8").splitlines()
                  if re.search(r"\b\w+\._\w", line)]
    return found


def test_nothing_in_pipeline_imports_private_internals(tmp_path):
    assert private_imports(PROJECT_ROOT / "pipeline") == []
    # and the check sees one when there is one
    (tmp_path / "bad.py").write_text("import dagster as dg\nfrom dagster._core.instance.ref import InstanceRef\n"
                                     "from __future__ import annotations\nimport sqlalchemy.engine._py_row\n")
    (tmp_path / "dagster.yaml").write_text("event_log_storage:\n  module: dagster._core.storage.event_log\n")
    assert private_imports(tmp_path) == ["bad.py:2 dagster._core.instance.ref", "bad.py:4 sqlalchemy.engine._py_row",
                                         "dagster.yaml: module: dagster._core.storage.event_log"]


def _run(instance: dg.DagsterInstance, raw_dir: Path, warehouse_path: Path) -> str:
    result = defs.resolve_job_def(REFRESH_JOB).execute_in_process(instance=instance, run_config={"resources": {
        "raw": {"config": {"path": str(raw_dir)}}, "warehouse": {"config": {"path": str(warehouse_path)}}}})
    assert result.success
    return result.run_id


def test_a_refresh_is_recorded_in_dagster_homes_default_storage(dagster_home, raw_dir, warehouse_path):
    with refresh_instance() as instance:
        assert instance.root_directory == str(dagster_home)
        run = _run(instance, raw_dir, warehouse_path)
    assert (dagster_home / "history" / "runs" / f"{run}.db").is_file()
    with instance_at(dagster_home) as instance:  # what `dagster dev` reads
        assert instance.get_run_by_id(run).status == dg.DagsterRunStatus.SUCCESS
        checks = [e for e in instance.all_logs(run) if e.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
        # every asset check of the definitions: one per table, one per report check and basis, two on the file
        assert len(checks) == len(defs.resolve_asset_graph().asset_check_keys)


def test_a_storage_dagster_yaml_configures_is_used_as_configured(dagster_home, tmp_path, raw_dir, warehouse_path):
    elsewhere = tmp_path / "storage elsewhere"
    with (dagster_home / "dagster.yaml").open("a") as config:
        config.write(f"\nstorage:\n  sqlite:\n    base_dir: {elsewhere}\n")
    with refresh_instance() as instance:
        run = _run(instance, raw_dir, warehouse_path)
    assert (elsewhere / "history" / "runs" / f"{run}.db").is_file()
    assert not (dagster_home / "history").exists()
    with instance_at(dagster_home) as instance:
        assert instance.get_run_by_id(run).status == dg.DagsterRunStatus.SUCCESS


def test_a_dagster_home_that_is_not_a_folder_is_refused_as_dagster_refuses_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "missing"))
    with pytest.raises(dg.DagsterInvariantViolationError, match="is not a directory or does not exist"):
        refresh_instance()
