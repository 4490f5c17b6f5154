"""Bugs that would publish a wrong number or damage the published file without any error, each caught
through the real loader, the real Dagster job and the real publish step (issue 19).

Each test drives what a user drives (a report folder, `python -m pipeline refresh`, the refresh job
and a re-execution of its publish step, the Warehouse resource) and asserts what a user sees (the
refused figure, the published numbers, the published file's bytes), so that it still catches the
bug when the code is moved or reorganized:

1. a scale word in value_text that contradicts the unit ("$12.5 million" for 12.5 USD billion);
2. the code version no longer following the code (a fixed .sql file or module never reaching the
   published file: "0 of 1 report folders changed" would keep yesterday's numbers);
3. publishing the staging file of a run whose blocking check failed (re-executing its publish step);
4. "USD thousand" off by a factor of 1,000 (a value_text with no scale word takes the unit's scale);
5. publishing a warehouse without reports or figures.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import rtoml
import tomli_w

import pipeline
from pipeline.core.errors import PublishError, RawReportError
from pipeline.publish.warehouse import Warehouse
from pipeline.read.raw_reports import load_raw

from .helpers import break_the_arms_grain, build, failure_message, rows

REPORT_ID = "scale-test-2024-05-01"


def write_report(raw_dir: Path, figures: list[dict], document: str, report_id: str = REPORT_ID,
                 corrections: list[dict] | None = None, published_on: str = "2024-05-01") -> Path:
    """A report folder as a person writes one: the document, report.toml with its sha256, figures.toml
    (and corrections.toml when given)."""
    folder = raw_dir / report_id
    folder.mkdir(parents=True)
    (folder / "document.txt").write_text(document, encoding="utf-8")
    meta = {
        "title": "Scale test", "publisher": "Test Institute", "published_on": date.fromisoformat(published_on),
        "series": report_id, "period_start": date.fromisoformat("2023-01-01"), "period_end": date.fromisoformat("2023-12-31"),
        "source_file": "document.txt",
        "source_sha256": hashlib.sha256(document.encode("utf-8")).hexdigest(),
    }
    (folder / "report.toml").write_text(tomli_w.dumps(meta), encoding="utf-8")
    (folder / "figures.toml").write_text(tomli_w.dumps({"figure": figures}), encoding="utf-8")
    if corrections:
        (folder / "corrections.toml").write_text(tomli_w.dumps({"correction": corrections}), encoding="utf-8")
    return folder


def channel_figure(value: float, unit: str, value_text: str, quote: str, figure_id: str = "cyber-income") -> dict:
    return {"id": figure_id, "topic": "channel", "subject": "cyber", "value": value, "unit": unit,
            "value_text": value_text, "quote": quote}


def one_figure_report(raw_dir: Path, value: float, unit: str, value_text: str) -> Path:
    quote = f"North Korea earned {value_text} from cyber theft in 2023"
    return write_report(raw_dir, [channel_figure(value, unit, value_text, quote)],
                        f"Report.\n\n{quote}, the institute said.\n")


def published_amount(warehouse_path: Path, figure_id: str = "cyber-income") -> float:
    [(amount,)] = rows(warehouse_path, "SELECT amount_usd FROM figures WHERE report_id = ? AND figure_id = ?",
                       [REPORT_ID, figure_id])
    return amount


# 1. A scale word in value_text must agree with the unit ------------------------------------------

CONTRADICTING_SCALES = [
    (12.5, "USD billion", "$12.5 million"),
    (12.5, "USD million", "$12.5 billion"),
    (12.5, "USD thousand", "$12.5 million"),
    (12.5, "USD million", "$12.5 thousand"),
    (12.5, "USD", "$12.5 million"),
    (1.5, "USD trillion", "$1.5 billion"),
    (12.5, "USD billion", "$12.5 trillion"),
]


@pytest.mark.parametrize(("value", "unit", "value_text"), CONTRADICTING_SCALES)
def test_a_scale_word_that_contradicts_the_unit_is_refused(tmp_path, value, unit, value_text):
    raw_dir = tmp_path / "raw"
    one_figure_report(raw_dir, value, unit, value_text)
    with pytest.raises(RawReportError) as caught:
        load_raw(raw_dir)
    [problem] = caught.value.problems
    assert (problem.folder, problem.file) == (f"raw/{REPORT_ID}", "figures.toml")
    assert "cyber-income" in problem.where
    assert value_text in str(problem)


AGREEING_SCALES = [
    (12.5, "USD billion", "$12.5 billion", 12.5e9),
    (12.5, "USD million", "$12.5 million", 12.5e6),
    (12.5, "USD million", "$12.5m", 12.5e6),
    (12.5, "USD thousand", "$12.5 thousand", 12.5e3),
    (12_500, "USD", "$12,500", 12_500),
    (12, "USD", "$12", 12),
    (1.5, "USD trillion", "$1.5 trillion", 1.5e12),
    (1_500, "USD million", "$1,500 million", 1.5e9),
]
# The same dollars in another unit than the scale word names: refused, the scale word names the unit
# (issue 13: "$12.5 billion" is value = 12.5, unit = "USD billion"), so that value and unit read as the text.
RESCALED = [
    (12_500, "USD million", "$12.5 billion", "USD billion"),
    (0.5, "USD billion", "$500 million", "USD million"),
    (12_500_000, "USD", "$12.5 million", "USD million"),
    (640, "USD thousand", "$0.64 million", "USD million"),
]


@pytest.mark.parametrize(("value", "unit", "value_text", "means"), RESCALED)
def test_the_same_dollars_in_another_unit_than_the_scale_word_names_are_refused(tmp_path, value, unit, value_text,
                                                                                 means):
    raw_dir = tmp_path / "raw"
    one_figure_report(raw_dir, value, unit, value_text)
    with pytest.raises(RawReportError) as caught:
        load_raw(raw_dir)
    assert "field 'unit'" in str(caught.value) and means in str(caught.value)


@pytest.mark.parametrize(("value", "unit", "value_text", "dollars"), AGREEING_SCALES)
def test_a_value_text_that_states_the_value_loads_in_whole_dollars(tmp_path, value, unit, value_text, dollars):
    raw_dir = tmp_path / "raw"
    one_figure_report(raw_dir, value, unit, value_text)
    figures = load_raw(raw_dir).figures
    assert figures["amount_usd"].tolist() == [pytest.approx(dollars, rel=1e-12)]


def test_a_contradicting_scale_stops_the_refresh_and_publishes_nothing(tmp_path):
    """Through the refresh job: a wrong scale never reaches the published file, and the failure names
    the folder, the file and the figure."""
    raw_dir, warehouse_path = tmp_path / "raw", tmp_path / "warehouse" / "illicit_income.duckdb"
    one_figure_report(raw_dir, 12.5, "USD billion", "$12.5 billion")
    assert build(raw_dir, warehouse_path).success
    before = warehouse_path.read_bytes()
    figures = raw_dir / REPORT_ID / "figures.toml"
    figures.write_text(figures.read_text().replace('value_text = "$12.5 billion"', 'value_text = "$12.5 million"')
                       .replace("earned $12.5 billion", "earned $12.5 million"))
    (raw_dir / REPORT_ID / "document.txt").write_text(
        (raw_dir / REPORT_ID / "document.txt").read_text().replace("billion", "million"))
    _rehash(raw_dir / REPORT_ID)

    result = build(raw_dir, warehouse_path)

    assert not result.success
    message = failure_message(result)
    assert f"{REPORT_ID}/figures.toml" in message and "cyber-income" in message and "$12.5 million" in message
    assert warehouse_path.read_bytes() == before
    assert published_amount(warehouse_path) == 12.5e9


def _rehash(folder: Path) -> None:
    meta = rtoml.load(folder / "report.toml")
    meta["source_sha256"] = hashlib.sha256((folder / meta["source_file"]).read_bytes()).hexdigest()
    (folder / "report.toml").write_text(tomli_w.dumps(meta), encoding="utf-8")


# 4. "USD thousand": a value_text with no scale word takes the unit's scale ---------------------------

def test_usd_thousand_without_a_scale_word_publishes_a_thousand_dollars_per_unit(tmp_path):
    """A table "in thousands of US dollars" writes 640 for $640,000: the published amount is value * 1e3,
    in the figures table and in the channel income analysts sum."""
    raw_dir, warehouse_path = tmp_path / "raw", tmp_path / "warehouse" / "illicit_income.duckdb"
    quote = "Cyber theft (in thousands of US dollars): 640"
    write_report(raw_dir, [channel_figure(640, "USD thousand", "640", quote)],
                 f"Table 2.\n{quote}\nCoal (in thousands of US dollars): 75\n")
    assert load_raw(raw_dir).figures["amount_usd"].tolist() == [640_000.0]

    result = build(raw_dir, warehouse_path)

    assert result.success
    assert published_amount(warehouse_path) == 640_000.0
    assert rows(warehouse_path, "SELECT income_usd FROM channels WHERE report_id = ?", [REPORT_ID]) == [(640_000.0,)]


@pytest.mark.parametrize(("value", "value_text"),
                         [(640, "640"), (640, "$640"), (640, "640 thousand"), (640.5, "$640.5k")])
def test_usd_thousand_loads_as_value_times_a_thousand(tmp_path, value, value_text):
    raw_dir = tmp_path / "raw"
    one_figure_report(raw_dir, value, "USD thousand", value_text)
    assert load_raw(raw_dir).figures["amount_usd"].tolist() == [value * 1000]


@pytest.mark.parametrize("value_text", ["640,000", "$6.4 million", "$640 million", "64"])
def test_usd_thousand_with_another_number_is_refused(tmp_path, value_text):
    raw_dir = tmp_path / "raw"
    one_figure_report(raw_dir, 640, "USD thousand", value_text)
    with pytest.raises(RawReportError) as caught:
        load_raw(raw_dir)
    assert "cyber-income" in str(caught.value) and value_text in str(caught.value)


# 2. The code version follows the code -------------------------------------------------------------

def _copy_of_the_pipeline(tmp_path: Path) -> Path:
    """A copy of the installed pipeline package (and the project file it reads), to change as a fix would."""
    package = Path(pipeline.__file__).resolve().parent
    root = tmp_path / "project"
    shutil.copytree(package, root / package.name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(package.parent / "pyproject.toml", root / "pyproject.toml")
    return root


def _refresh_with(root: Path, raw_dir: Path, warehouse_path: Path, home: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "refresh", "--raw", str(raw_dir), "--warehouse", str(warehouse_path)],
        cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def _reports_read(home: Path) -> int:
    """How many report folders the last refresh read (the raw_reports asset's metadata in the instance)."""
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        event = instance.get_latest_materialization_event(dg.AssetKey("raw_reports"))
        return event.asset_materialization.metadata["reports_read"].value
    finally:
        instance.dispose()


def test_a_fix_to_the_code_reaches_the_published_file(tmp_path, raw_dir, warehouse_path, dagster_home):
    """A change to any module or any SQL file makes the next refresh read every report folder again
    and publish what the changed code builds, although no report folder changed."""
    root = _copy_of_the_pipeline(tmp_path)
    _refresh_with(root, raw_dir, warehouse_path, dagster_home)
    assert _reports_read(dagster_home) == 1
    _refresh_with(root, raw_dir, warehouse_path, dagster_home)
    assert _reports_read(dagster_home) == 0  # nothing changed: nothing read (else the test below proves nothing)

    # one module in a step folder is enough here (every .py file is hashed alike; tests/test_layout.py checks
    # that code_files lists every one)
    module = next(m for m in sorted((root / "pipeline").rglob("*.py")) if m.parent != root / "pipeline")
    module.write_text(module.read_text(encoding="utf-8") + "\n# a comment is a change too\n", encoding="utf-8")
    _refresh_with(root, raw_dir, warehouse_path, dagster_home)
    assert _reports_read(dagster_home) == 1, f"a change to {module.name} was not seen"

    [figures_sql] = [p for p in (root / "pipeline").rglob("*.sql")
                     if "INSERT INTO figures" in p.read_text(encoding="utf-8")]
    text = figures_sql.read_text(encoding="utf-8")
    assert text.count("FROM figures_frame") == 1
    figures_sql.write_text(text.replace("FROM figures_frame", "FROM figures_frame WHERE figure_id <> 'cyber-income'"),
                           encoding="utf-8")
    before = rows(warehouse_path, "SELECT count(*) FROM figures WHERE figure_id = 'cyber-income'")
    assert before == [(1,)]

    _refresh_with(root, raw_dir, warehouse_path, dagster_home)

    assert _reports_read(dagster_home) == 1
    assert rows(warehouse_path, "SELECT count(*) FROM figures WHERE figure_id = 'cyber-income'") == [(0,)]


# 3. Only a staging file that passed every blocking check is published -------------------------------

def refresh_job() -> dg.JobDefinition:
    """The refresh job as `dagster dev` loads it (a module-level function, so that Dagster can rebuild it
    for a re-execution)."""
    from pipeline.definitions import defs
    from pipeline.defs.jobs import REFRESH_JOB

    return defs.resolve_job_def(REFRESH_JOB)


def _run_config(raw_dir: Path, warehouse_path: Path) -> dict:
    return {"resources": {"raw": {"config": {"path": str(raw_dir)}},
                          "warehouse": {"config": {"path": str(warehouse_path)}}}}


def test_re_executing_the_publish_step_of_a_run_whose_blocking_check_failed_publishes_nothing(
        raw_dir, seed_dir, warehouse_path, dagster_home):
    """What a person does from the UI after a failed refresh ("re-execute from failure" or the publish
    step alone): the run's staging file, whose blocking check failed, must not become the published file."""
    job = dg.reconstructable(refresh_job)
    config = _run_config(raw_dir, warehouse_path)
    with dg.DagsterInstance.get() as instance:
        with dg.execute_job(job, instance, run_config=config) as first:
            assert first.success
        published = warehouse_path.read_bytes()
        break_the_arms_grain(seed_dir)  # an item stated twice for one period: the arms table's blocking check fails
        with dg.execute_job(job, instance, run_config=config) as failed:
            assert not failed.success or not any(
                e.asset_key.to_user_string() == "published_warehouse" for e in failed.get_asset_materialization_events())
            evaluations = {e.asset_check_key.name: e.passed for e in failed.get_asset_check_evaluations()}
            assert evaluations["arms_matches_schema"] is False
            failed_run_id = failed.run_id
        assert warehouse_path.read_bytes() == published
        staging = list((warehouse_path.parent / ".staging").glob(f"*{failed_run_id}*.duckdb"))
        assert staging, "the failed run's staging file is kept (else this test reaches no guard)"

        with dg.execute_job(job, instance, run_config=config, reexecution_options=dg.ReexecutionOptions(
                parent_run_id=failed_run_id, step_selection=["published_warehouse"])) as again:
            assert not again.success
            message = next(e for e in again.all_events if e.is_step_failure).step_failure_data.user_failure_data.description
        assert "did not pass every blocking check" in message
        assert warehouse_path.read_bytes() == published


# 5. A warehouse without reports or figures is never published -------------------------------------

@pytest.mark.parametrize("emptied", ["reports", "figures"])
def test_a_staging_file_without_reports_or_figures_is_not_published(published_seed, raw_dir, warehouse_path, emptied):
    published = warehouse_path.read_bytes()
    warehouse = Warehouse(path=str(warehouse_path))
    with warehouse.fresh_staging("emptied-run", start_from_published=lambda con, why: con is not None) as con:
        assert con.execute(f"SELECT count(*) FROM {emptied}").fetchall()[0][0] > 0
        con.execute(f"DELETE FROM {emptied}")
    warehouse.mark_passed("emptied-run")  # every blocking check passed: only the audit stands in the way

    with pytest.raises(PublishError, match="no reports or no figures"):
        warehouse.publish("emptied-run")
    assert warehouse_path.read_bytes() == published


def test_a_staging_file_without_a_published_view_is_not_published(published_seed, raw_dir, warehouse_path):
    published = warehouse_path.read_bytes()
    warehouse = Warehouse(path=str(warehouse_path))
    with warehouse.fresh_staging("no-view-run", start_from_published=lambda con, why: con is not None) as con:
        con.execute("DROP VIEW latest_channels")
    warehouse.mark_passed("no-view-run")

    with pytest.raises(PublishError, match="latest_channels"):
        warehouse.publish("no-view-run")
    assert warehouse_path.read_bytes() == published


def test_a_staging_file_that_passed_is_published(published_seed, raw_dir, warehouse_path):
    """The control of the two tests above: the same steps, nothing emptied, publish."""
    warehouse = Warehouse(path=str(warehouse_path))
    with warehouse.fresh_staging("kept-run", start_from_published=lambda con, why: con is not None) as con:
        con.execute("DELETE FROM figures WHERE figure_id = 'cyber-income'")
    warehouse.mark_passed("kept-run")
    counts, _ = warehouse.publish("kept-run")
    assert counts["reports"] == 1 and counts["figures"] > 0
    assert rows(warehouse_path, "SELECT count(*) FROM figures WHERE figure_id = 'cyber-income'") == [(0,)]
