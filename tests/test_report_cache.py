"""Work that did not change is not redone (pipeline.read.report_cache), and the result is the one a
rebuild from nothing gives: for unchanged, added, edited and removed reports, after a code change,
with a damaged cache, and for the incremental table validation."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.build import tables
from pipeline.build.queries import PUBLISHED
from pipeline.read import report_cache
from pipeline.validate.schemas import TABLE_SCHEMAS
from pipeline.validate.validation import validate_table

from .conftest import SEED_ID
from .helpers import break_the_arms_grain, build


def _raw_metadata(result) -> dict:
    event = next(e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "raw_reports")
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _tables(path: Path) -> dict[str, list[tuple]]:
    """Every published table and view, row for row, sorted: SQL promises no order without ORDER BY,
    and an incremental refresh stores the changed reports' rows last (pipeline.build.tables)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {name: con.execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall() for name in PUBLISHED}
    finally:
        con.close()


def _rebuilt_from_nothing(raw_dir: Path, tmp_path: Path) -> dict[str, list[tuple]]:
    fresh = tmp_path / "fresh" / "illicit_income.duckdb"
    result = build(raw_dir, fresh)
    assert result.success
    assert _raw_metadata(result)["reports_unchanged"] == 0
    return _tables(fresh)


def _second_edition(raw_dir: Path, seed_dir: Path, name: str = f"{SEED_ID}-b") -> Path:
    """A copy of the seed under another report id (the same series: a second edition)."""
    target = raw_dir / name
    shutil.copytree(seed_dir, target)
    return target


def test_an_unchanged_raw_dir_reads_no_report_and_publishes_the_same_tables(raw_dir, warehouse_path):
    first = build(raw_dir, warehouse_path)
    assert first.success
    assert _raw_metadata(first)["reports_read"] == 1
    before = _tables(warehouse_path)
    second = build(raw_dir, warehouse_path)
    assert second.success
    assert (_raw_metadata(second)["reports_read"], _raw_metadata(second)["reports_unchanged"]) == (0, 1)
    assert _tables(warehouse_path) == before
    checks = {e.asset_check_key.name: e for e in second.get_asset_check_evaluations()}
    assert checks["figures_matches_schema"].passed
    assert checks["figures_matches_schema"].metadata["rows_validated_by_pandera"].value == 0


def test_added_edited_and_removed_reports_give_what_a_rebuild_from_nothing_gives(published_seed, raw_dir, seed_dir,
                                                                                   warehouse_path, tmp_path):
    added = _second_edition(raw_dir, seed_dir)
    result = build(raw_dir, warehouse_path)
    assert result.success
    assert (_raw_metadata(result)["reports_read"], _raw_metadata(result)["reports_unchanged"]) == (1, 1)
    assert _tables(warehouse_path) == _rebuilt_from_nothing(raw_dir, tmp_path / "a")

    # an edited report is re-read, and only it: without its correction, its best estimate is as published
    corrections = added / "corrections.toml"
    text = corrections.read_text()
    start = text.index('[[correction]]\nfigure_id = "cyber-income"')
    corrections.write_text(text[:start] + text[text.index("[[correction]]", start + 1):])
    result = build(raw_dir, warehouse_path)
    assert result.success and _raw_metadata(result)["reports_read"] == 1
    assert _tables(warehouse_path) == _rebuilt_from_nothing(raw_dir, tmp_path / "b")
    con = duckdb.connect(str(warehouse_path), read_only=True)
    channels = dict(con.execute("SELECT report_id, income_usd FROM channels WHERE channel = 'cyber'").fetchall())
    con.close()
    assert channels == {SEED_ID: 1.35e9, added.name: 13.5e9}

    # a removed report leaves every table
    shutil.rmtree(added)
    result = build(raw_dir, warehouse_path)
    assert result.success and _raw_metadata(result)["reports_read"] == 0
    tables = _tables(warehouse_path)
    assert tables == _rebuilt_from_nothing(raw_dir, tmp_path / "c")
    assert all(added.name not in str(row) for rows in tables.values() for row in rows)


def test_a_broken_edit_is_refused_and_the_cache_keeps_the_last_good_rows(published_seed, raw_dir,
                                                                         seed_dir, warehouse_path, tmp_path):
    published = warehouse_path.read_bytes()
    figures = seed_dir / "figures.toml"
    good = figures.read_text()
    figures.write_text(good.replace('topic = "channel"', 'topic = "chanel"', 1))
    assert not build(raw_dir, warehouse_path).success
    assert warehouse_path.read_bytes() == published
    figures.write_text(good)  # put back: the cached rows are still those of the good folder
    result = build(raw_dir, warehouse_path)
    assert result.success and _raw_metadata(result)["reports_read"] == 0
    assert _tables(warehouse_path) == _rebuilt_from_nothing(raw_dir, tmp_path / "a")


def test_a_code_change_invalidates_every_cached_report(published_seed, raw_dir, warehouse_path, monkeypatch):
    monkeypatch.setattr(report_cache, "code_version", lambda: "another version of the pipeline")
    result = build(raw_dir, warehouse_path)
    assert result.success and _raw_metadata(result)["reports_read"] == 1


def test_a_damaged_cache_costs_a_full_refresh_and_nothing_else(published_seed, raw_dir, warehouse_path, tmp_path):
    cache = warehouse_path.parent / ".staging" / "report_cache.duckdb"
    assert cache.exists()
    cache.write_bytes(b"not a database" * 1000)
    result = build(raw_dir, warehouse_path)
    assert result.success and _raw_metadata(result)["reports_read"] == 1
    assert _tables(warehouse_path) == _rebuilt_from_nothing(raw_dir, tmp_path / "a")


def test_a_corrupted_cache_block_costs_a_full_refresh_and_nothing_else(published_seed, raw_dir, warehouse_path, tmp_path):
    """A DuckDB file with a damaged block (not only a file that is not a database at all)."""
    cache = warehouse_path.parent / ".staging" / "report_cache.duckdb"
    data = bytearray(cache.read_bytes())
    for offset in range(8192, len(data), 65536):
        data[offset:offset + 64] = b"\xff" * 64
    cache.write_bytes(bytes(data))
    result = build(raw_dir, warehouse_path)
    assert result.success and _raw_metadata(result)["reports_read"] == 1
    assert _tables(warehouse_path) == _rebuilt_from_nothing(raw_dir, tmp_path / "a")


def test_a_staging_file_that_failed_its_checks_is_never_published(published_seed, raw_dir, seed_dir, warehouse_path):
    """Publishing alone (as from the UI) after a run whose blocking check failed publishes nothing."""
    import dagster as dg

    from pipeline.defs import assets
    from pipeline.publish.warehouse import RawReportsDir, Warehouse

    before = warehouse_path.read_bytes()
    break_the_arms_grain(seed_dir)
    failed = build(raw_dir, warehouse_path)
    assert not failed.success
    resources = {"raw": RawReportsDir(path=str(raw_dir)), "warehouse": Warehouse(path=str(warehouse_path))}
    alone = dg.materialize([assets.published_warehouse], resources=resources, raise_on_error=False)
    assert not alone.success
    assert warehouse_path.read_bytes() == before
    # and the failed run's own staging file, kept to be looked at, is not publishable either
    leftovers = list((warehouse_path.parent / ".staging").glob("illicit_income.*.duckdb"))
    assert leftovers and not list((warehouse_path.parent / ".staging").glob("*.passed"))


def test_hidden_files_and_files_that_vanish_do_not_break_the_digest(seed_dir, monkeypatch):
    before = report_cache.folder_digest(seed_dir)
    (seed_dir / ".figures.toml.swp").write_bytes(b"an editor's swap file")
    assert report_cache.folder_digest(seed_dir) == before
    real_open = os.open

    def vanishing(path, *args, **kwargs):
        if str(path).endswith("figures.toml"):
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", vanishing)
    unreadable = report_cache.folder_digest(seed_dir)
    assert unreadable != before and unreadable != report_cache.folder_digest(seed_dir)


def test_the_folder_digest_covers_every_file_and_the_code(seed_dir):
    before = report_cache.folder_digest(seed_dir)
    assert before == report_cache.folder_digest(seed_dir)
    evidence = next(p for p in seed_dir.iterdir() if p.suffix == ".md")
    evidence.write_bytes(evidence.read_bytes() + b" ")
    assert report_cache.folder_digest(seed_dir) != before
    evidence.write_bytes(evidence.read_bytes()[:-1])
    assert report_cache.folder_digest(seed_dir) == before
    (seed_dir / "notes.txt").write_text("a new file")
    assert report_cache.folder_digest(seed_dir) != before


def _walked(folder: Path) -> list[tuple[str, str]]:
    """What os.walk lists of a folder (not following links to folders), hidden names left out."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        base = os.path.relpath(root, folder)
        found += [(name if base == "." else f"{base}/{name}", os.path.join(root, name))
                  for name in files if not name.startswith(".")]
    return sorted(found)


def test_a_folder_lists_the_files_os_walk_finds_in_name_order(seed_dir, tmp_path):
    (seed_dir / "evidence" / "maps").mkdir(parents=True)
    (seed_dir / "evidence" / "maps" / "port.txt").write_text("a")
    (seed_dir / "evidence" / ".cache").mkdir()
    (seed_dir / "evidence" / ".cache" / "x").write_text("hidden")
    (seed_dir / "evidence-index.txt").write_text("sorts between evidence/ and its files")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "outside.txt").write_text("not in the report")
    os.symlink(elsewhere, seed_dir / "linked-folder")
    os.symlink(seed_dir / "figures.toml", seed_dir / "linked-file")
    os.symlink(tmp_path / "nowhere", seed_dir / "broken-link")
    os.mkfifo(seed_dir / "pipe")
    listed = report_cache.folder_files(seed_dir)
    assert listed == _walked(seed_dir)
    names = [name for name, _ in listed]
    assert {"evidence/maps/port.txt", "linked-file", "broken-link", "pipe"} <= set(names)
    assert not any(name.startswith(("linked-folder", "evidence/.cache")) for name in names)
    assert report_cache.folder_files(tmp_path / "no such folder") == []


@pytest.fixture
def staging(raw_dir, seed_dir, warehouse_path, tmp_path):
    """A writable copy of what a refresh built (staging is published by renaming it), with its cache."""
    _second_edition(raw_dir, seed_dir)
    assert build(raw_dir, warehouse_path).success
    copy = tmp_path / "staging-copy.duckdb"
    shutil.copyfile(warehouse_path, copy)
    con = duckdb.connect(str(copy))
    con.execute("ATTACH ? AS cache", [str(warehouse_path.parent / ".staging" / "report_cache.duckdb")])
    yield con
    con.close()


def _rows_written_for(con, report_id: str, table: str) -> str:
    """The condition an incremental build passes to the table checks, for a build that rewrote one report."""
    con.execute("CREATE OR REPLACE TEMP TABLE _changed_reports AS SELECT ? AS report_id", [report_id])
    return tables.Built(tables.INCREMENTAL, "test", 2, 1).rows_to_validate(table)


def test_the_table_check_validates_the_rows_a_build_wrote(staging):
    model = TABLE_SCHEMAS["channels"]
    where = _rows_written_for(staging, SEED_ID, "channels")
    assert validate_table(staging, "channels", model, where) == ([], 4)  # the seed's four channel rows
    staging.execute(f"UPDATE channels SET income_usd = -1 WHERE report_id = '{SEED_ID}' AND channel = 'cyber'")
    problems, validated = validate_table(staging, "channels", model, where)
    assert validated == 4
    assert [(p.field, p.found) for p in problems] == [("income_usd", "-1.0")]
    assert SEED_ID in problems[0].where
    # the full validation agrees, and names the row the same way
    assert validate_table(staging, "channels", model)[0] == problems


def test_a_table_check_on_some_rows_finds_duplicates_across_all_rows(staging):
    """A key without report_id (one row per channel and period in latest_channels): pandera sees only the
    rewritten report's rows, the whole-table SQL check sees the duplicate."""
    model = TABLE_SCHEMAS["latest_channels"]
    staging.execute("CREATE TABLE latest_copy AS SELECT * FROM latest_channels")
    assert validate_table(staging, "latest_copy", model)[0] == []
    staging.execute("INSERT INTO latest_copy SELECT * REPLACE ('zz-another-report' AS report_id) FROM latest_copy "
                    "WHERE channel = 'cyber'")
    problems, validated = validate_table(staging, "latest_copy", model, _rows_written_for(staging, "zz-another-report",
                                                                                          "channels"))
    assert validated == 1
    assert [p.field for p in problems] == ["channel, period_start, period_end, figure_id"], problems
    assert "2 rows with channel='cyber'" in problems[0].found


def test_validation_in_chunks_finds_what_a_whole_frame_validation_finds(staging, monkeypatch):
    """Rows read and validated 2,048 at a time: a bad row in a late chunk is found and located, and a
    duplicate key whose two rows fall in different chunks is found by the whole-table SQL check."""
    from pipeline.validate import validation

    monkeypatch.setattr(validation, "CHUNK_ROWS", 2048)
    model = TABLE_SCHEMAS["channels"]
    staging.execute("CREATE TABLE many AS SELECT c.* REPLACE ('r-' || lpad(i::VARCHAR, 4, '0') AS report_id) "
                    f"FROM channels AS c, range(1500) AS r(i) WHERE c.report_id = '{SEED_ID}' ORDER BY report_id, channel")
    rows = staging.execute("SELECT count(*) FROM many").fetchall()[0][0]
    assert rows > 2 * 2048
    assert validate_table(staging, "many", model) == ([], rows)
    staging.execute("UPDATE many SET income_usd = -5 WHERE report_id = 'r-1499' AND channel = 'cyber'")
    staging.execute("INSERT INTO many SELECT * FROM many WHERE report_id = 'r-0000' AND channel = 'cyber' LIMIT 1")
    problems, validated = validate_table(staging, "many", model)
    assert validated == rows + 1
    negative = [p for p in problems if p.field == "income_usd"]
    assert [(p.found, p.where) for p in negative] == [("-5.0", "row 5998 (report r-1499, cyber-income)")]
    assert any("unique" in p.expected and "r-0000" in p.found for p in problems), problems


def test_a_folder_whose_files_are_as_they_were_hashed_keeps_its_digest_unread(seed_dir, monkeypatch):
    now = time.time() + 10  # every file changed more than RACY_SECONDS before "now"
    signature = report_cache.folder_signature(seed_dir, now)
    assert signature is not None and signature == report_cache.folder_signature(seed_dir, now)
    monkeypatch.setattr(report_cache.time, "time", lambda: now)
    digests, signatures = report_cache.digest_folders([seed_dir], {seed_dir.name: ("the cached digest", signature)})
    assert digests == {seed_dir.name: "the cached digest"}  # taken from the cache, the folder not read
    assert signatures == {seed_dir.name: signature}
    # another signature in the cache: the folder is hashed
    digests, _ = report_cache.digest_folders([seed_dir], {seed_dir.name: ("the cached digest", "another")})
    assert digests == {seed_dir.name: report_cache.folder_digest(seed_dir)}


def test_an_edit_that_keeps_size_and_modification_time_changes_the_signature(seed_dir):
    figures = seed_dir / "figures.toml"
    figures.chmod(0o644)
    before = report_cache.folder_signature(seed_dir, time.time() + 10)
    info = figures.stat()
    text = figures.read_text()
    figures.write_text(text.replace("13.5", "31.5", 1))  # same size
    os.utime(figures, ns=(info.st_atime_ns, info.st_mtime_ns))  # and the modification time put back
    assert figures.stat().st_size == info.st_size and figures.stat().st_mtime_ns == info.st_mtime_ns
    assert report_cache.folder_signature(seed_dir, time.time() + 10) != before  # the change time moved


def test_a_folder_changed_just_before_it_is_hashed_is_hashed_again_next_time(seed_dir):
    (seed_dir / "notes.txt").write_text("written just now")
    # its change time is within RACY_SECONDS of a hash taken now: the signature is not trusted
    assert report_cache.folder_signature(seed_dir, time.time()) is None
    assert report_cache.folder_signature(seed_dir, time.time() + report_cache.RACY_SECONDS + 1) is not None
