"""The numbers where people look: the previews each table's materialization carries, the charts, the
report page and the exports, published with the DuckDB file from the same refresh, and the data
dictionary inside the file. Real refreshes through Dagster into a temporary folder; a second,
invented report of another series shows that the charts and the page are not made for the seed."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from pipeline.publish import catalog, charts
from pipeline.publish.catalog import money

from .conftest import SEED_ID
from .helpers import build, edit, failure_message, rows

OTHER_ID = "chain-firm-crypto-2026-01-15"
OTHER_SOURCE = ("North Korean hackers stole about $1.2 billion in cryptocurrency in 2025, the firm said. "
                "Coal smuggling brought in roughly $400 million over 2024 and 2025, it added.\n")


def add_other_report(raw: Path) -> str:
    """An invented report of another series (a chain-analysis firm), stating cyber income for 2025 and coal
    income for 2024-2025: periods that differ from the seed's 2017-2023."""
    folder = raw / OTHER_ID
    folder.mkdir()
    (folder / "source.txt").write_text(OTHER_SOURCE, encoding="utf-8")
    sha = hashlib.sha256(OTHER_SOURCE.encode()).hexdigest()
    (folder / "report.toml").write_text(textwrap.dedent(f"""\
        title = "Crypto crime update"
        publisher = "A chain-analysis firm"
        published_on = 2026-01-15
        series = "chain-firm-crypto"
        period_start = 2024-01-01
        period_end = 2025-12-31
        source_file = "source.txt"
        source_sha256 = "{sha}"
        """), encoding="utf-8")
    (folder / "figures.toml").write_text(textwrap.dedent("""\
        [[figure]]
        id = "cyber-income"
        topic = "channel"
        subject = "cyber"
        value = 1.2
        unit = "USD billion"
        value_text = "$1.2 billion"
        qualifier = "about"
        period_start = 2025-01-01
        period_end = 2025-12-31
        quote = "North Korean hackers stole about $1.2 billion in cryptocurrency in 2025"

        [[figure]]
        id = "coal-income"
        topic = "channel"
        subject = "coal_smuggling"
        value = 400
        unit = "USD million"
        value_text = "$400 million"
        qualifier = "roughly"
        quote = "Coal smuggling brought in roughly $400 million over 2024 and 2025"
        """), encoding="utf-8")
    return folder.name


def _page_run(warehouse_path: Path) -> str:
    """The run id the published page says built it."""
    text = (warehouse_path.parent / "site" / "index.html").read_text(encoding="utf-8")
    start = text.index('id="build">Built by refresh <code>') + len('id="build">Built by refresh <code>')
    return text[start:text.index("</code>", start)]


def _materialization(result, key: str):
    return next(e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key)


def test_page_and_exports_come_from_the_published_file_and_follow_an_incremental_refresh(published_seed, raw_dir, warehouse_path):
    first_run = rows(warehouse_path, "SELECT run_id FROM build.info")[0][0]
    assert _page_run(warehouse_path) == first_run

    add_other_report(raw_dir)
    result = build(raw_dir, warehouse_path)
    assert result.success
    run, method = rows(warehouse_path, "SELECT run_id, method FROM build.info")[0]
    assert method == "incremental"  # the comments survive a refresh that starts from a copy
    # the UI shows the totals beside what this refresh read: one report of two, its two figures of all
    figures = rows(warehouse_path, "SELECT count(*) FROM figures")[0][0]
    for step, read in (("raw_reports", "figures_read"), ("validated_figures", "figures_validated")):
        metadata = _materialization(result, step).materialization.metadata
        assert (metadata["reports"].value, metadata["figures"].value, metadata[read].value) == (2, figures, 2)
    assert run != first_run and _page_run(warehouse_path) == run
    # the file, the page and the exports are one release; the release it replaced is kept until the next one
    warehouse = warehouse_path.parent
    assert sorted(p.name for p in (warehouse / ".releases").iterdir()) == sorted([run, first_run])
    assert {(warehouse / name).resolve().parent for name in ("site", "export", warehouse_path.name)} == \
        {warehouse / ".releases" / run}

    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        relations = catalog.relations(con)
        # every table and view exported as CSV and Parquet with the same rows
        export = warehouse / "export"
        for relation in relations:
            count = con.execute(f'SELECT count(*) FROM "{relation.name}"').fetchone()[0]
            for kind in ("csv", "parquet"):
                reader = "read_csv" if kind == "csv" else "read_parquet"
                exported = con.execute(f"SELECT count(*) FROM {reader}(?)", [str(export / f"{relation.name}.{kind}")])
                assert exported.fetchone()[0] == count, (relation.name, kind)
        # the data dictionary is inside the file: every column of every relation is described
        undescribed = con.execute("""SELECT table_name, column_name FROM duckdb_columns()
                                      WHERE schema_name = 'main' AND database_name = current_database()
                                        AND (comment IS NULL OR comment = '')""").fetchall()
        assert undescribed == []
        assert all(relation.comment for relation in relations)
        channels = con.execute("SELECT report_id, channel, income_usd FROM channels ORDER BY ALL").fetchall()
    finally:
        con.close()

    package = json.loads((export / "datapackage.json").read_text())
    names = [r["name"] for r in package["resources"]]
    assert sorted(names) == sorted([r.name for r in relations] + ["build_info"])
    assert package["version"] == run
    fields = {f["name"]: f for f in next(r for r in package["resources"] if r["name"] == "channels")["schema"]["fields"]}
    assert fields["income_usd"]["type"] == "number" and fields["income_usd"]["unit"] == "USD"
    assert fields["period_start"]["type"] == "date" and fields["income_usd"]["description"]
    assert {s.get("report_id") for s in package["sources"]} >= {SEED_ID, OTHER_ID}
    validated = subprocess.run([str(Path(sys.executable).parent / "frictionless"), "validate", "--json",
                                "datapackage.json"], cwd=export, capture_output=True, text=True, timeout=300)
    assert validated.returncode == 0, validated.stdout[-3000:] + validated.stderr[-3000:]
    assert json.loads(validated.stdout)["valid"] is True

    # the page: both reports, every channel value (best estimate) of both, the chart of both sources
    page = (warehouse / "site" / "index.html").read_text(encoding="utf-8")
    for report_id in (SEED_ID, OTHER_ID):
        assert f'href="reports/{report_id}.html"' in page
        assert (warehouse / "site" / "reports" / f"{report_id}.html").exists()
    chart_svg = (warehouse / "site" / "charts" / "estimates_by_source.svg").read_text()
    for _, channel, income in channels:
        assert channel in chart_svg
        assert charts._short_money(income) in chart_svg  # each estimate labelled at its span
    for series in ("inss-illicit-income", "chain-firm-crypto"):
        assert series in chart_svg  # the legend tells the sources apart
    for name in ("csv", "parquet"):
        assert f'href="../export/channels.{name}"' in page
    assert 'href="../export/datapackage.json"' in page


def test_the_seed_as_published_against_best_and_the_comparisons_note(published_seed, raw_dir, warehouse_path):
    site_dir = warehouse_path.parent / "site"
    listed = {c["name"]: c for c in json.loads((site_dir / "charts" / "charts.json").read_text())}
    assert listed["published_vs_best"]["skipped"] == ""
    svg = (site_dir / "charts" / "published_vs_best.svg").read_text()
    for published, best in rows(warehouse_path, "SELECT amount_usd, best_amount_usd FROM figures WHERE corrected"):
        assert charts._short_money(published) in svg and charts._short_money(best) in svg
    # the seed alone has no other source to compare with: the chart is skipped and the page says why
    assert listed["source_disagreements"]["skipped"]
    page = (site_dir / "index.html").read_text(encoding="utf-8")
    assert "source_comparisons has no pair of estimates" in page


def test_the_comparisons_of_sources_are_charted_shown_and_exported(raw_dir, warehouse_path):
    """With other sources beside the seed (tests/multi_source.py), source_comparisons has pairs: charted,
    shown on the page and exported, discovered in the file with no change to the code."""
    from tests.multi_source import write_sources

    write_sources(raw_dir)
    assert build(raw_dir, warehouse_path).success
    site_dir = warehouse_path.parent / "site"
    listed = {c["name"]: c for c in json.loads((site_dir / "charts" / "charts.json").read_text())}
    assert listed["source_disagreements"]["skipped"] == ""
    assert "think-tank-2024-10" in (site_dir / "charts" / "source_disagreements.svg").read_text()
    export = warehouse_path.parent / "export"
    assert (export / "source_comparisons.parquet").exists() and (export / "estimates.csv").exists()
    index = (site_dir / "index.html").read_text(encoding="utf-8")
    assert 'id="table-source_comparisons"' in index and "source_comparisons has no pair" not in index


def test_a_table_of_more_rows_than_a_csv_should_hold_is_exported_as_parquet_only(raw_dir, warehouse_path, monkeypatch):
    """source_comparisons grows with the square of the number of series: over CSV_MAX_ROWS rows a table is
    exported as Parquet only, its data package resource is the Parquet file, and the page links what exists."""
    from pipeline.publish import exports
    from tests.multi_source import write_sources

    monkeypatch.setattr(exports, "CSV_MAX_ROWS", 5)
    write_sources(raw_dir)
    assert build(raw_dir, warehouse_path).success
    export = warehouse_path.parent / "export"
    package = json.loads((export / "datapackage.json").read_text(encoding="utf-8"))
    con = duckdb.connect(str(warehouse_path), read_only=True)
    formats = {}
    for resource in package["resources"]:
        name = resource["name"]
        table = "build.info" if name == "build_info" else f'"{name}"'
        count = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert con.execute("SELECT count(*) FROM read_parquet(?)", [str(export / f"{name}.parquet")]).fetchone()[0] == count
        formats[name] = resource["format"]
        assert resource["path"] == f"{name}.{resource['format']}"
        assert (export / f"{name}.csv").exists() == (count <= 5), name
        assert resource["format"] == ("csv" if count <= 5 else "parquet"), name
    con.close()
    assert "parquet" in formats.values() and "csv" in formats.values()
    index = (warehouse_path.parent / "site" / "index.html").read_text(encoding="utf-8")
    for name, kind in formats.items():
        assert (f'href="../export/{name}.csv"' in index) == (kind == "csv"), name
        assert f'href="../export/{name}.parquet"' in index


def test_a_failed_refresh_leaves_the_last_good_page_and_exports(published_seed, raw_dir, seed_dir, warehouse_path):
    warehouse = warehouse_path.parent
    before = {p: p.read_bytes() for p in [warehouse_path, *sorted((warehouse / ".published").resolve().rglob("*"))]
              if p.is_file()}
    run = _page_run(warehouse_path)
    add_other_report(raw_dir)
    edit(raw_dir / OTHER_ID / "figures.toml", 'quote = "Coal smuggling brought in roughly $400 million',
         'quote = "Coal smuggling earned roughly $400 million')
    result = build(raw_dir, warehouse_path)
    assert not result.success and "quote" in failure_message(result)
    assert _page_run(warehouse_path) == run
    after = {p: p.read_bytes() for p in [warehouse_path, *sorted((warehouse / ".published").resolve().rglob("*"))]
             if p.is_file()}
    assert after == before


def test_when_the_page_cannot_be_built_nothing_is_published(raw_dir, warehouse_path):
    warehouse = warehouse_path.parent
    warehouse.mkdir(parents=True)
    (warehouse / ".releases").write_text("not a folder\n")  # the releases cannot be written
    result = build(raw_dir, warehouse_path)
    assert not result.success
    message = failure_message(result)
    assert "report page and exports could not be built" in message and "nothing was published" in message
    assert not warehouse_path.exists() and not (warehouse / "site").exists()


def test_each_table_materialization_shows_its_rows_and_duckdb_types(raw_dir, warehouse_path):
    result = build(raw_dir, warehouse_path)
    assert result.success
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        for relation in catalog.relations(con):
            metadata = _materialization(result, relation.name).materialization.metadata
            preview = metadata["preview"].value
            total = con.execute(f'SELECT count(*) FROM "{relation.name}"').fetchone()[0]
            assert len(preview) < 1000, relation.name  # rendered inline by the UI
            assert (f"all {total} rows" in preview or "its only row" in preview or f"of {total:,} rows" in preview
                    or total == 0)
            schema = metadata["dagster/column_schema"].value
            assert [(c.name, c.type) for c in schema.columns] == [(c.name, c.type) for c in relation.columns]
        channels = con.execute("SELECT channel, income_usd FROM channels").fetchall()
        failed = con.execute("SELECT check_name, message FROM validation_results WHERE NOT passed ORDER BY ALL").fetchall()
    finally:
        con.close()
    preview = _materialization(result, "channels").materialization.metadata["preview"].value
    for channel, income in channels:
        assert channel in preview and f"{money(income)} ({income:.0f})" in preview
    charts_md = _materialization(result, "published_warehouse").materialization.metadata["charts"].value
    assert charts_md.count("data:image/svg+xml;base64,") == 2 and "Not drawn: source_comparisons has no pair" in charts_md
    records = _materialization(result, "validation_results").materialization.metadata["checks_not_passed"].value.records
    assert sorted((r.data["check_name"], r.data["message"]) for r in records) == failed
    assert failed  # the seed as published does not add up
    published = _materialization(result, "published_warehouse").materialization.metadata
    assert published["dagster/row_count"].value == rows(warehouse_path, "SELECT count(*) FROM figures")[0][0]
    assert published["report_page"].value == str(warehouse_path.parent / "site" / "index.html")
    assert "staging_file" not in _materialization(result, "channels").materialization.metadata


@pytest.mark.parametrize("value, text", [(1.35e9, "$1.35 billion"), (5.4e8, "$540 million"), (2.15e10, "$21.5 billion"),
                                         (6.3e12, "$6.3 trillion"), (950_000, "$950,000"), (-2e9, "-$2 billion")])
def test_money_reads_as_people_write_it(value, text):
    assert money(value) == text
