"""The public surface of the Dagster definitions: an accidental rename fails here, not in an
analyst's query or a colleague's bookmark in the UI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from pipeline.definitions import defs
from pipeline.validate import column_schemas
from pipeline.validate.schemas import TABLE_SCHEMAS

from .conftest import PROJECT_ROOT

GROUPS = {
    "raw_reports": "raw",
    "validated_figures": "validated",
    "reports": "warehouse",
    "figures": "warehouse",
    "channels": "warehouse",
    "arms": "warehouse",
    "deficit": "warehouse",
    "validation_results": "warehouse",
    "report_changes": "history",
    "latest_channels": "history",
    "latest_arms": "history",
    "latest_deficit": "history",
    "estimates": "sources",
    "source_comparisons": "sources",
    "published_warehouse": "publish",
    "report_drafts": "drafts",  # reported by the inbox sensor, never computed by a run
}


def _graph():
    return defs.resolve_asset_graph()


def test_asset_keys_and_groups():
    graph = _graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == GROUPS


def test_lineage_runs_from_raw_to_the_published_file():
    graph = _graph()

    def parents(name: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey(name)).parent_keys}

    assert parents("validated_figures") == {"raw_reports"}
    assert parents("reports") == parents("figures") == {"validated_figures"}
    assert parents("validation_results") == {"validated_figures", "source_comparisons"}
    assert parents("estimates") == {"figures", "reports"}
    assert parents("source_comparisons") == {"estimates"}
    assert parents("channels") == parents("arms") == parents("deficit") == {"figures"}
    assert parents("report_changes") == {"reports", "figures"}
    assert parents("latest_channels") == {"channels", "reports"}
    assert parents("latest_arms") == {"arms", "reports"}
    assert parents("latest_deficit") == {"deficit", "reports"}
    assert parents("published_warehouse") == set(TABLE_SCHEMAS)


def test_every_table_shows_its_pandera_columns_with_descriptions():
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    for table, model in TABLE_SCHEMAS.items():
        spec = specs[table]
        schema = spec.metadata["dagster/column_schema"]
        names = [c.name for c in schema.columns]
        assert names == list(model.to_schema().columns), table
        assert all(c.description for c in schema.columns), table
        assert spec.description and "duckdb" in spec.kinds


def test_asset_checks():
    names = {key.to_user_string() for key in defs.resolve_asset_graph().asset_check_keys}
    expected = {f"{table}:{table}_matches_schema" for table in TABLE_SCHEMAS} | {
        "validation_results:source_verified",
        "validation_results:quotes_found_in_source",
        "validation_results:figures_schema",
        "validation_results:corrections_documented",
        "validation_results:channels_within_total_as_published",
        "validation_results:channels_within_total_best_estimate",
        "validation_results:no_channel_exceeds_total_as_published",
        "validation_results:no_channel_exceeds_total_best_estimate",
        "validation_results:deficit_identity_as_published",
        "validation_results:deficit_identity_best_estimate",
        "validation_results:figure_periods_within_report",
        "validation_results:channel_names_known",
        "validation_results:sources_agree_as_published",
        "validation_results:sources_agree_best_estimate",
        "validation_results:distinct_documents",
        "validation_results:totals_consistent_as_published",
        "validation_results:totals_consistent_best_estimate",
        "validation_results:one_value_per_period_as_published",
        "validation_results:one_value_per_period_best_estimate",
        "validation_results:corrections_change_values",
        "published_warehouse:contract_satisfied",
        "published_warehouse:opens_in_duckdb_cli",
    }
    assert names == expected
    graph = defs.resolve_asset_graph()
    blocking = {key.to_user_string() for key in graph.asset_check_keys if graph.get_check_spec(key).blocking}
    # error-severity checks stop a refresh (the README says so), and the UI says "blocking" for them
    error_checks = {"source_verified", "quotes_found_in_source", "corrections_documented", "figures_schema"}
    assert blocking == ({f"{table}:{table}_matches_schema" for table in TABLE_SCHEMAS}
                        | {f"validation_results:{name}" for name in error_checks})


def test_job_schedule_and_sensor():
    job = defs.resolve_job_def("refresh_warehouse")
    assert job.executor_def.name == "in_process"
    schedule = defs.resolve_schedule_def("daily_refresh")
    assert schedule.job_name == "refresh_warehouse"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.cron_schedule == "0 6 * * *"  # [tool.illicit-income] refresh_cron in pyproject.toml
    sensor = defs.resolve_sensor_def("raw_reports_sensor")
    assert sensor.job_name == "refresh_warehouse"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds <= 30
    inbox = defs.resolve_sensor_def("inbox_sensor")
    assert inbox.default_status == dg.DefaultSensorStatus.RUNNING and not inbox.targets  # it starts no run
    assert "report_drafts" not in {key.to_user_string() for key in job.asset_layer.executable_asset_keys}


def test_definitions_validate_with_the_cli(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    bin_dir = Path(sys.executable).parent
    out = subprocess.run([str(bin_dir / "dagster"), "definitions", "validate"], cwd=PROJECT_ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Validation successful" in out.stdout + out.stderr


def test_loading_the_definitions_touches_no_file_in_raw():
    """Loading stays light: the definitions open nothing under raw/ and no database at import."""
    probe = (
        "import sys\n"
        "opened = []\n"
        "def hook(event, args):\n"
        "    if event == 'open' and isinstance(args[0], str) and ('/raw/' in args[0] or args[0].endswith('.duckdb')):\n"
        "        opened.append(args[0])\n"
        "sys.addaudithook(hook)\n"
        "import pipeline.definitions\n"
        "print(len(opened))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "0"


def test_loading_the_definitions_imports_neither_pandas_pandera_nor_duckdb():
    """What `dagster dev` pays at every reload: Dagster, and not the libraries the asset bodies use."""
    probe = ("import sys\nimport pipeline.definitions\n"
             "print(sorted(m for m in ('pandas', 'pandera', 'duckdb', 'numpy') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_stored_column_schemas_are_those_the_pandera_models_give():
    """pipeline/validate/column_schemas.json is what the UI shows; after changing a model, regenerate it with
    `python -m pipeline column-schemas`."""
    assert column_schemas._stored() == column_schemas.derive(), "run: python -m pipeline column-schemas"
    for table, model in TABLE_SCHEMAS.items():
        assert column_schemas.model_name(table) == model.__name__


def test_dg_check_defs_passes(tmp_path):
    """`dg dev` and `dg check defs` read [tool.dg] from pyproject.toml; a malformed section breaks them."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    out = subprocess.run([str(Path(sys.executable).parent / "dg"), "check", "defs"], cwd=PROJECT_ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "All definitions loaded successfully" in out.stdout + out.stderr


def test_dg_list_defs_lists_the_projects_definitions_from_the_repo_root(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "VIRTUAL_ENV": str(Path(sys.executable).parent.parent)}
    out = subprocess.run([str(Path(sys.executable).parent / "dg"), "list", "defs", "--json"], cwd=PROJECT_ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    listed = json.loads(out.stdout)
    assert {job["name"] for job in listed["jobs"]} == {"refresh_warehouse"}
    assert {sensor["name"] for sensor in listed["sensors"]} == {"raw_reports_sensor", "inbox_sensor"}
    assert {schedule["name"] for schedule in listed["schedules"]} == {"daily_refresh"}
    assert "published_warehouse" in {asset["asset_key"] for asset in listed["assets"]}
