"""Incremental table builds (pipeline.build.tables): a refresh that starts from a copy of the published file
and rebuilds only the series holding an added, edited, removed or moved report publishes the same
rows as a rebuild from nothing, validates only the rows it wrote, records how it was built in schema
`build`, falls back to a build from nothing (saying why) whenever the published file cannot be
trusted as a starting point, publishes nothing when the rows it wrote fail a blocking check, and
leaves a file the DuckDB CLI (1.5) opens.

Every test starts from the same published warehouse of four reports in two series (built once per
module and copied), changes raw/, refreshes, and compares every table and view, as sorted rows, with
a build from nothing of the same raw/ in another warehouse path.

Every test runs twice: through the refresh job (`via_job`), and with the job's steps called directly,
without a Dagster run (`via_steps`, tests.helpers.refresh_directly, a fraction of the time: `make mutation`
runs these for every mutant of the build and publish). Both ways are read through `Refreshed`.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline.build.queries import PUBLISHED, TABLES, VIEWS
from pipeline.publish.warehouse import PUBLISHED_STORAGE_VERSION, RawReportsDir, Warehouse
from pipeline.read import report_cache

from .conftest import RAW, SEED_ID
from .helpers import ALL_ASSETS, break_the_arms_grain, edit, refresh_directly, restamp, rows

SERIES_A = "inss-illicit-income"  # the seed's series
SERIES_B = "other-illicit-income"
A_2025 = "inss-illicit-income-2025-09-03"
B_2024 = "other-illicit-income-2024-09-03"
B_2025 = "other-illicit-income-2025-09-03"
FIGURES_OF_SERIES = "SELECT count(*) FROM figures JOIN reports USING (report_id) WHERE series = ?"


# ---------------------------------------------------------------------------------------------
# building


WAYS = ["via_job", "via_steps"]


@dataclass
class Refreshed:
    """What a refresh did, read the same way whichever way it ran: success (published), the tables'
    metadata (built, why, reports_rebuilt; {} when they were not built), every check's result and
    metadata by check name, how many report folders were read (the others' rows came from the report
    cache), and the failure's message and step."""

    success: bool
    built: dict
    checks: dict[str, tuple[bool, dict]]
    reports_read: int
    error: str = ""
    failed_step: str = ""


def _values(metadata) -> dict:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


def refresh(raw_dir: Path, warehouse_path: Path, max_share: float = 0.5, way: str = "via_job") -> Refreshed:
    """helpers.build (or its steps called directly), with the resource's incremental_max_share."""
    if way == "via_steps":
        done = refresh_directly(raw_dir, warehouse_path, max_share=max_share)
        built = {} if done.built is None else {"built": done.built.method, "why": done.built.reason,
                                               "reports_rebuilt": done.built.reports_rebuilt}
        return Refreshed(done.success, built, {c.check_name: (c.passed, _values(c.metadata)) for c in done.checks},
                         len(done.stale),
                         "" if done.error is None else str(done.error),
                         "" if done.error is None else "warehouse_tables" if done.built is None else "published_warehouse")
    warehouse = Warehouse(path=str(warehouse_path), incremental_max_share=max_share)
    result = dg.materialize(ALL_ASSETS, resources={"raw": RawReportsDir(path=str(raw_dir)), "warehouse": warehouse},
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    tables_built = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "figures"]
    built = {k: v for k, v in _values(tables_built[0].materialization.metadata).items()
             if k in ("built", "why", "reports_rebuilt")} if tables_built else {}
    failure = next((e for e in result.all_events if e.is_step_failure), None)
    read = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "raw_reports"]
    return Refreshed(result.success, built,
                     {e.asset_check_key.name: (e.passed, _values(e.metadata)) for e in result.get_asset_check_evaluations()},
                     read[0].materialization.metadata["reports_read"].value if read else 0,
                     "" if failure is None else str(failure.step_failure_data.error),
                     "" if failure is None else failure.step_key)


def tables(path: Path) -> dict[str, list[tuple]]:
    """Every published table and view as sorted rows (an incremental build stores rows in another order)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {name: con.execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall() for name in PUBLISHED}
    finally:
        con.close()


def info(path: Path) -> dict:
    """The one row of build.info of a warehouse file."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        cursor = con.execute("SELECT * FROM build.info")
        found = cursor.fetchall()
        assert len(found) == 1, found
        return dict(zip([d[0] for d in cursor.description], found[0], strict=True))
    finally:
        con.close()


# The tables of a build from nothing, by the digest of the raw/ they were built from: several tests compare
# their refresh with a build from nothing of the same bytes (the four reports and one added edition), which
# is built once per worker. The key is every file's path and bytes, so an edit, however small, builds again.
_FROM_NOTHING: dict[str, dict[str, list[tuple]]] = {}


def _content_digest(raw_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in raw_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(raw_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def from_nothing(raw_dir: Path, where: Path, way: str) -> dict[str, list[tuple]]:
    """The tables of a build from nothing of raw_dir, in a warehouse path of its own (built the same way)."""
    key = f"{way}:{_content_digest(raw_dir)}"
    if key not in _FROM_NOTHING:
        path = where / "reference" / "illicit_income.duckdb"
        if way == "via_steps":  # the staging file that passed its checks: what publishing it renames into place
            done = refresh_directly(raw_dir, path, max_share=0, publish=False)
            assert done.error is None and done.passed, done.error
            path = done.staging
        else:
            assert refresh(raw_dir, path, max_share=0, way=way).success
        assert info(path)["method"] == "from nothing"
        _FROM_NOTHING[key] = tables(path)
    return {name: list(found) for name, found in _FROM_NOTHING[key].items()}  # a copy: the memo stays as built


def checked(result: Refreshed, check_name: str) -> tuple[bool, dict]:
    return result.checks[check_name]


def validated_by_pandera(result: Refreshed, table: str) -> int:
    return checked(result, f"{table}_matches_schema")[1]["rows_validated_by_pandera"]


def checked_in_sql(result: Refreshed, table: str) -> int:
    return checked(result, f"{table}_matches_schema")[1]["rows_checked_in_sql"]


# ---------------------------------------------------------------------------------------------
# report folders: copies of the seed, as other editions or in another series


def _cut_block(path: Path, header: str) -> None:
    """Remove the TOML array-of-tables block that starts with `header`."""
    text = path.read_text(encoding="utf-8")
    assert text.count(header) == 1, f"{header!r} not found once in {path}"
    start = text.index(header)
    end = text.find("\n[[", start + 1)
    path.write_text(text[:start] + (text[end + 1:] if end != -1 else ""), encoding="utf-8")


def drop_figure(folder: Path, figure_id: str) -> None:
    _cut_block(folder / "figures.toml", f'[[figure]]\nid = "{figure_id}"')


def drop_correction(folder: Path, figure_id: str) -> None:
    _cut_block(folder / "corrections.toml", f'[[correction]]\nfigure_id = "{figure_id}"')


def set_series(folder: Path, series: str) -> None:
    text = (folder / "report.toml").read_text(encoding="utf-8")
    current = next(line for line in text.splitlines() if line.startswith("series = "))
    edit(folder / "report.toml", current, f'series = "{series}"')


def add_report(raw_dir: Path, report_id: str, *, series: str = SERIES_A, published_on: str = "2024-09-03",
               drop: tuple[str, ...] = ()) -> Path:
    """A copy of the seed as raw/<report_id>/, in `series`, published on `published_on`, without the
    figures `drop` (none of which has a correction)."""
    folder = raw_dir / report_id
    shutil.copytree(RAW / SEED_ID, folder)
    for path in folder.iterdir():
        path.chmod(0o644)
    if series != SERIES_A:
        set_series(folder, series)
    if published_on != "2024-09-03":
        edit(folder / "report.toml", "published_on = 2024-09-03", f"published_on = {published_on}")
    for figure_id in drop:
        drop_figure(folder, figure_id)
    return folder


def touch(folder: Path) -> None:
    """Change a folder's content (so its digest) without changing its rows."""
    with open(folder / "figures.toml", "a", encoding="utf-8") as handle:
        handle.write("\n# touched\n")


# ---------------------------------------------------------------------------------------------
# the published warehouse every test starts from


@dataclass
class Published:
    raw_dir: Path
    warehouse_path: Path
    tmp_path: Path
    way: str

    def refresh(self, max_share: float = 0.5) -> Refreshed:
        return refresh(self.raw_dir, self.warehouse_path, max_share, self.way)

    def from_nothing(self) -> dict[str, list[tuple]]:
        return from_nothing(self.raw_dir, self.tmp_path, self.way)


@pytest.fixture(scope="module", params=WAYS)
def four_reports(tmp_path_factory, request) -> tuple[Path, str]:
    """raw/ and warehouse/ of a published build of two editions in each of two series; each pair of
    editions differs (a dropped figure, a removed correction), so report_changes has rows for both."""
    base = tmp_path_factory.mktemp("four_reports")
    raw_dir = base / "raw"
    shutil.copytree(RAW, raw_dir)
    add_report(raw_dir, A_2025, published_on="2025-09-03", drop=("arms-kn-24-missiles",))
    add_report(raw_dir, B_2024, series=SERIES_B)
    drop_correction(add_report(raw_dir, B_2025, series=SERIES_B, published_on="2025-09-03",
                               drop=("arms-kn-23-missiles",)), "cyber-income")
    warehouse_path = base / "warehouse" / "illicit_income.duckdb"
    assert refresh(raw_dir, warehouse_path, way=request.param).success
    changes = rows(warehouse_path, "SELECT series, new_report_id, count(*) FROM report_changes GROUP BY ALL ORDER BY ALL")
    assert changes == [(SERIES_A, A_2025, 1), (SERIES_B, B_2025, 1)], changes
    return base, request.param


@pytest.fixture
def published(four_reports, tmp_path) -> Published:
    """A private copy of the four-report raw/ and of its warehouse (published file and report cache)."""
    base, way = four_reports
    shutil.copytree(base / "raw", tmp_path / "raw")
    shutil.copytree(base / "warehouse", tmp_path / "warehouse")
    restamp(tmp_path / "warehouse" / "illicit_income.duckdb")
    return Published(tmp_path / "raw", tmp_path / "warehouse" / "illicit_income.duckdb", tmp_path, way)


def assert_incremental_and_right(published: Published, result: Refreshed) -> dict:
    """The refresh succeeded, was incremental, and published what a build from nothing publishes."""
    assert result.success
    built = info(published.warehouse_path)
    assert built["method"] == "incremental", built
    assert tables(published.warehouse_path) == published.from_nothing()
    return built


def assert_from_nothing_and_right(published: Published, result: Refreshed, because: str) -> None:
    """The refresh succeeded, built from nothing for the reason that names `because`, and is right."""
    assert result.success
    built = info(published.warehouse_path)
    assert built["method"] == "from nothing", built
    assert because in built["reason"], built["reason"]
    reports = len([p for p in published.raw_dir.iterdir() if p.is_dir()])
    assert (built["reports"], built["reports_rebuilt"]) == (reports, reports)
    assert result.built["built"] == "from nothing"
    assert tables(published.warehouse_path) == published.from_nothing()


# ---------------------------------------------------------------------------------------------
# incremental refreshes


def test_adding_a_report_writes_its_rows_and_its_series_changes_only(published):
    added = add_report(published.raw_dir, "inss-illicit-income-2026-09-03", published_on="2026-09-03",
                       drop=("arms-122mm-shells",))
    result = published.refresh()
    built = assert_incremental_and_right(published, result)
    assert built["reports_rebuilt"] == 1
    assert built["reports"] == 5
    assert result.reports_read == 1  # the four others' rows came from the report cache
    assert result.built == {"built": "incremental", "why": built["reason"], "reports_rebuilt": 1}
    # pandera saw the new report's figures, not those of the other editions of its series
    figures_of_added = rows(published.warehouse_path, "SELECT count(*) FROM figures WHERE report_id = ?",
                            [added.name])[0][0]
    figures_of_a = rows(published.warehouse_path, FIGURES_OF_SERIES, [SERIES_A])[0][0]
    assert 0 < figures_of_added < figures_of_a
    assert validated_by_pandera(result, "figures") == figures_of_added
    estimates_of_added = rows(published.warehouse_path, "SELECT count(*) FROM estimates WHERE report_id = ?",
                              [added.name])[0][0]
    assert validated_by_pandera(result, "estimates") == estimates_of_added > 0
    # and report_changes of the whole series (it compares the new edition with the one before)
    changes_of_a = rows(published.warehouse_path, "SELECT count(*) FROM report_changes WHERE series = ?",
                        [SERIES_A])[0][0]
    assert validated_by_pandera(result, "report_changes") == changes_of_a


@pytest.mark.parametrize("change", ["a figure dropped", "a correction removed"])
def test_an_edited_report_gives_what_a_rebuild_from_nothing_gives(published, change):
    folder = published.raw_dir / B_2024
    before = tables(published.warehouse_path)
    if change == "a figure dropped":
        drop_figure(folder, "arms-122mm-shells")
    else:
        drop_correction(folder, "coal-smuggling-income")
    built = assert_incremental_and_right(published, published.refresh())
    assert built["reports_rebuilt"] == 1
    after = tables(published.warehouse_path)
    assert after != before
    if change == "a figure dropped":  # the next edition has it again: report_changes of B says so
        assert after["report_changes"] != before["report_changes"]


def test_a_removed_report_leaves_every_table(published):
    shutil.rmtree(published.raw_dir / A_2025)
    built = assert_incremental_and_right(published, published.refresh())
    assert built["reports_rebuilt"] == 0  # the removed report's rows were only deleted
    leftovers = {name: [r for r in found if A_2025 in map(str, r)] for name, found in tables(published.warehouse_path).items()}
    assert leftovers == {name: [] for name in PUBLISHED}


def test_a_report_moved_to_another_series_rebuilds_both_series(published):
    set_series(published.raw_dir / B_2025, SERIES_A)
    built = assert_incremental_and_right(published, published.refresh())
    assert built["reports_rebuilt"] == 1  # its own rows; report_changes of both series it left and joined
    changes = rows(published.warehouse_path, "SELECT DISTINCT series, old_report_id, new_report_id FROM report_changes "
                                             "ORDER BY ALL")
    # series A: seed -> A_2025 -> B_2025 (ordered by published_on, then report_id); series B: one edition
    assert changes == [(SERIES_A, SEED_ID, A_2025), (SERIES_A, A_2025, B_2025)]
    assert rows(published.warehouse_path, "SELECT series FROM reports WHERE report_id = ?", [B_2025]) == [(SERIES_A,)]


def test_only_the_pairs_that_touch_a_changed_series_are_computed_again(published):
    """source_comparisons is kept pair by pair: with a third series, editing a report of series B recomputes
    the pairs that touch B (A-B, C-B), keeps C-A as they were, and gives what a build from nothing gives;
    sources_agree is written again for the reports on the later side of a recomputed pair."""
    series_c = "third-illicit-income"
    add_report(published.raw_dir, "third-illicit-income-2026-10-01", series=series_c, published_on="2026-10-01")
    assert published.refresh(max_share=1.0).success
    pairs = "SELECT series, other_series, count(*) FROM source_comparisons GROUP BY ALL ORDER BY ALL"
    before = dict(((a, b), n) for a, b, n in rows(published.warehouse_path, pairs))
    assert {frozenset(k) for k in before} == {frozenset({SERIES_A, SERIES_B}), frozenset({SERIES_A, series_c}),
                                             frozenset({SERIES_B, series_c})}

    drop_correction(published.raw_dir / B_2025, "coal-smuggling-income")  # its coal estimate changes
    result = published.refresh()
    assert_incremental_and_right(published, result)
    touching_b = sum(n for (a, b), n in before.items() if SERIES_B in (a, b))
    assert 0 < checked_in_sql(result, "source_comparisons") == touching_b < sum(before.values())
    # validated again: B_2025's own rows, every report's distinct_documents row, and sources_agree (two value
    # bases) of the reports on the later side of a pair that touches B, and of B's reports
    later = {r for (r,) in rows(published.warehouse_path, "SELECT DISTINCT report_id FROM source_comparisons "
                                                          "WHERE ? IN (series, other_series)", [SERIES_B])}
    later |= {r for (r,) in rows(published.warehouse_path, "SELECT report_id FROM reports WHERE series = ?", [SERIES_B])}
    assert later - {B_2024, B_2025} == {"third-illicit-income-2026-10-01"}  # C is later than B: its rows say B's
    own, reports = rows(published.warehouse_path, "SELECT count(*) FILTER (report_id = ? AND check_name NOT IN "
                        "('sources_agree', 'distinct_documents')), count(DISTINCT report_id) FROM validation_results",
                        [B_2025])[0]
    assert validated_by_pandera(result, "validation_results") == own + 2 * len(later) + reports


def test_nothing_changed_rebuilds_nothing_and_validates_only_the_views(published):
    before = tables(published.warehouse_path)
    result = published.refresh()
    assert result.success and result.reports_read == 0
    built = info(published.warehouse_path)
    assert (built["method"], built["reports_rebuilt"], built["reports"]) == ("incremental", 0, 4)
    assert tables(published.warehouse_path) == before
    # no pair of source_comparisons touches a changed report, so no sources_agree row is written again; only
    # distinct_documents, one row per report (it compares every report's document with every other's)
    assert {t: validated_by_pandera(result, t) for t in TABLES} == {t: 4 if t == "validation_results" else 0
                                                                    for t in TABLES}
    assert checked_in_sql(result, "source_comparisons") == 0
    # the views that combine reports are validated whole; estimates, a row per figure, only for changed reports
    combining = [v for v in VIEWS if v != "estimates"]
    assert {v: validated_by_pandera(result, v) for v in combining} == {v: len(before[v]) for v in combining}
    assert all(len(before[v]) > 0 for v in combining)
    assert validated_by_pandera(result, "estimates") == 0 < len(before["estimates"])


def test_up_to_the_max_share_of_changed_folders_is_still_incremental(published):
    touch(published.raw_dir / SEED_ID)
    touch(published.raw_dir / B_2025)  # two of four folders: 50%, not more
    built = assert_incremental_and_right(published, published.refresh(max_share=0.5))
    assert built["reports_rebuilt"] == 2


# ---------------------------------------------------------------------------------------------
# falling back to a build from nothing


def test_without_a_published_file_tables_are_built_from_nothing(published):
    published.warehouse_path.unlink()
    assert_from_nothing_and_right(published, published.refresh(), because="no published warehouse")


def test_a_published_file_changed_outside_the_pipeline_is_not_carried_forward(published):
    """Someone opened the published file read-write, deleted rows and closed it cleanly (no WAL left)."""
    before = tables(published.warehouse_path)
    con = duckdb.connect(str(published.warehouse_path))
    con.execute("DELETE FROM figures WHERE report_id = ?", [B_2024])
    con.close()
    assert len(tables(published.warehouse_path)["figures"]) < len(before["figures"])
    add_report(published.raw_dir, "inss-illicit-income-2026-09-03", published_on="2026-09-03")
    assert_from_nothing_and_right(published, published.refresh(), because="not the one this pipeline last published")
    assert rows(published.warehouse_path, "SELECT count(*) FROM figures WHERE report_id = ?", [B_2024]) == \
        [(len([r for r in before["figures"] if r[0] == B_2024]),)]


def _as_published_by_another_version(published: Published, statement: str) -> None:
    """Change the published file's build record with `statement`, recorded as what the pipeline
    published (as another version of it would have), and add a report to raw/."""
    con = duckdb.connect(str(published.warehouse_path))
    con.execute(statement)
    con.execute("CHECKPOINT")
    con.close()
    restamp(published.warehouse_path)
    add_report(published.raw_dir, "inss-illicit-income-2026-09-03", published_on="2026-09-03")


def test_a_published_file_without_schema_build_is_not_trusted(published):
    """As published by a version of the pipeline that did not record what it built from."""
    _as_published_by_another_version(published, "DROP SCHEMA build CASCADE")
    assert_from_nothing_and_right(published, published.refresh(), because="does not record")


def test_a_build_record_of_another_layout_is_not_trusted(published):
    """As published by another version of the pipeline whose schema build had other columns."""
    _as_published_by_another_version(published, "ALTER TABLE build.info DROP COLUMN code_version")
    assert_from_nothing_and_right(published, published.refresh(), because="could not be read")


def test_a_code_change_builds_from_nothing(published, monkeypatch):
    monkeypatch.setattr(report_cache, "code_version", lambda: "another version of the pipeline")
    add_report(published.raw_dir, "inss-illicit-income-2026-09-03", published_on="2026-09-03")
    # every folder's digest changed too; a max share of 1 lets only the code version decide
    result = published.refresh(max_share=1.0)
    assert_from_nothing_and_right(published, result, because="code")
    assert result.reports_read == 5  # the report cache of another code version is not used either


def test_more_than_the_max_share_of_changed_folders_builds_from_nothing(published):
    for report_id in (SEED_ID, A_2025, B_2024):  # three of four folders
        touch(published.raw_dir / report_id)
    assert_from_nothing_and_right(published, published.refresh(max_share=0.5), because="more than 50%")


def test_a_max_share_of_zero_always_builds_from_nothing(published):
    add_report(published.raw_dir, "inss-illicit-income-2026-09-03", published_on="2026-09-03")
    assert_from_nothing_and_right(published, published.refresh(max_share=0), because="asked")


def test_a_write_ahead_log_beside_the_published_file_builds_from_nothing(published):
    """Someone opened the published file read-write and left uncheckpointed changes in its WAL."""
    con = duckdb.connect(str(published.warehouse_path))
    con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.execute(f"DELETE FROM figures WHERE report_id = '{B_2024}'")
    con.close()
    wal = published.warehouse_path.with_name(published.warehouse_path.name + ".wal")
    assert wal.exists()
    add_report(published.raw_dir, "inss-illicit-income-2026-09-03", published_on="2026-09-03")
    assert_from_nothing_and_right(published, published.refresh(), because="write-ahead log")
    assert not wal.exists()


# ---------------------------------------------------------------------------------------------
# blocking checks, and the file analysts open


def test_an_added_report_that_fails_a_blocking_check_publishes_nothing_until_fixed(published):
    before = published.warehouse_path.read_bytes()
    folder = add_report(published.raw_dir, "other-illicit-income-2026-09-03", series=SERIES_B, published_on="2026-09-03")
    good = (folder / "figures.toml").read_text(encoding="utf-8")
    break_the_arms_grain(folder)
    failed = published.refresh()
    assert not failed.success
    assert failed.built["built"] == "incremental"
    assert not checked(failed, "arms_matches_schema")[0]
    assert published.warehouse_path.read_bytes() == before

    (folder / "figures.toml").write_text(good, encoding="utf-8")
    built = assert_incremental_and_right(published, published.refresh())
    assert built["reports_rebuilt"] == 1  # the report added (against the published file, not the cache)


def test_a_failure_while_rows_are_replaced_is_reported_as_itself(published, monkeypatch):
    """The transaction is rolled back and the error shown is the one that stopped it (not DuckDB's
    "transaction is aborted" from the clean-up), and nothing is published."""
    from pipeline.build import tables as tables_module

    before = published.warehouse_path.read_bytes()
    monkeypatch.setattr(tables_module, "REPORT_TABLES", (*tables_module.REPORT_TABLES, "no_such_table"))
    add_report(published.raw_dir, "inss-illicit-income-2026-09-03", published_on="2026-09-03")
    result = published.refresh()
    assert not result.success
    assert result.failed_step == "warehouse_tables"
    assert "no_such_table" in result.error and "aborted" not in result.error, result.error
    assert published.warehouse_path.read_bytes() == before


def test_an_incremental_result_opens_in_the_duckdb_cli(published):
    add_report(published.raw_dir, "other-illicit-income-2026-09-03", series=SERIES_B, published_on="2026-09-03")
    result = published.refresh()
    assert result.success and info(published.warehouse_path)["method"] == "incremental"
    tags = rows(published.warehouse_path, "SELECT tags FROM duckdb_databases() WHERE NOT internal")
    assert [t[0]["storage_version"] for t in tags] == [f"{PUBLISHED_STORAGE_VERSION}+"]
    cli = Path(sys.executable).parent / "duckdb"
    assert cli.exists(), "the DuckDB CLI (PyPI duckdb-cli) is not installed in this environment"
    proc = subprocess.run([str(cli), "-readonly", "-csv", "-noheader", str(published.warehouse_path),
                           "-c", "select count(*) from figures"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) == rows(published.warehouse_path, "SELECT count(*) FROM figures")[0][0]
    if published.way == "via_job":  # a check of the publish step's asset (the direct steps have no asset checks)
        assert checked(result, "opens_in_duckdb_cli")[0]
