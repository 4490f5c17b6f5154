"""Tests written from the survivors of `make mutation` (docs/mutation.md): the build, change detection and
publish.

The incremental build's decision (which reports changed since the published file, and whether to start
from a copy of it or from nothing) is made on the published file's build record; here on real DuckDB
files whose record the real build writer wrote, in milliseconds, without a Dagster run."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.build.tables import FROM_NOTHING, INCREMENTAL, REPORT_TABLES, SERIES_TABLES, Built, Plan, _record

from .helpers import held_by_another_process


def _published(tmp_path: Path, digests: dict[str, str]) -> duckdb.DuckDBPyConnection:
    """A published file that records it was built, by this code, from report folders with these digests;
    opened read-only, as the refresh opens it."""
    path = tmp_path / "published.duckdb"
    con = duckdb.connect(str(path))
    _record(con, digests, Built(FROM_NOTHING, "test", len(digests), len(digests)), "run-1")
    con.close()
    return duckdb.connect(str(path), read_only=True)


BEFORE = {"a": "1", "b": "2", "c": "3", "d": "4"}


def test_one_edited_report_of_four_is_rebuilt_alone(tmp_path):
    plan = Plan({**BEFORE, "c": "3-edited"})
    assert plan.decide(_published(tmp_path, BEFORE)) is True
    assert (plan.incremental, plan.changed) == (True, ["c"])
    assert plan.reason == "1 of 4 report folders changed since the published file"


def test_nothing_changed_is_an_incremental_refresh_of_no_report(tmp_path):
    plan = Plan(dict(BEFORE))
    assert plan.decide(_published(tmp_path, BEFORE)) is True
    assert plan.changed == []
    assert plan.reason == "0 of 4 report folders changed since the published file"


def test_added_and_removed_reports_both_count_as_changed(tmp_path):
    now = {"a": "1", "b": "2", "c": "3", "e": "5"}  # d removed, e added
    plan = Plan(now, max_share=0.75)
    assert plan.decide(_published(tmp_path, BEFORE)) is True
    assert plan.changed == ["d", "e"]
    assert plan.reason == "2 of 4 report folders changed since the published file"


def test_half_the_reports_changed_is_still_incremental_more_than_half_is_a_build_from_nothing(tmp_path):
    published = _published(tmp_path, BEFORE)
    half = Plan({**BEFORE, "a": "x", "b": "x"})
    assert half.decide(published) is True and half.changed == ["a", "b"]
    more = Plan({**BEFORE, "a": "x", "b": "x", "c": "x"})
    assert more.decide(published) is False
    assert more.incremental is False
    assert more.reason == "3 of 4 report folders changed (more than 50%: a build from nothing is cheaper)"


def test_the_only_report_changed_is_a_build_from_nothing(tmp_path):
    plan = Plan({"a": "edited"})
    assert plan.decide(_published(tmp_path, {"a": "1"})) is False
    assert plan.reason.startswith("1 of 1 report folders changed (more than 50%")


def test_a_build_from_nothing_asked_for_is_one_even_when_nothing_changed(tmp_path):
    plan = Plan(dict(BEFORE), max_share=0)
    assert plan.decide(_published(tmp_path, BEFORE)) is False
    assert plan.reason == "a build from nothing was asked for"


def test_an_unusable_published_file_gives_its_reason(tmp_path):
    plan = Plan(dict(BEFORE))
    assert plan.decide(None, unavailable="there is no published warehouse") is False
    assert (plan.incremental, plan.reason) == (False, "there is no published warehouse")


def test_a_published_file_without_a_build_record_is_rebuilt_from_nothing(tmp_path):
    path = tmp_path / "old.duckdb"
    duckdb.connect(str(path)).close()
    plan = Plan(dict(BEFORE))
    assert plan.decide(duckdb.connect(str(path), read_only=True)) is False
    assert plan.reason == "the published warehouse does not record what it was built from"


def test_a_build_record_of_another_layout_is_rebuilt_from_nothing(tmp_path):
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA build; CREATE TABLE build.info (version VARCHAR); "
                "CREATE TABLE build.report_folders (report_id VARCHAR)")
    con.close()
    plan = Plan(dict(BEFORE))
    assert plan.decide(duckdb.connect(str(path), read_only=True)) is False
    # named with the first line of DuckDB's reason
    assert re.fullmatch(r"the published warehouse's build record could not be read \(Binder Error: .*code_version.*\)",
                        plan.reason), plan.reason


def test_a_file_built_by_other_code_is_rebuilt_from_nothing(tmp_path):
    path = tmp_path / "published.duckdb"
    con = duckdb.connect(str(path))
    _record(con, BEFORE, Built(FROM_NOTHING, "test", 4, 4), "run-1")
    con.execute("UPDATE build.info SET code_version = 'another version'")
    con.close()
    plan = Plan(dict(BEFORE))
    assert plan.decide(duckdb.connect(str(path), read_only=True)) is False
    assert plan.reason == "the pipeline's code or libraries changed since the published warehouse was built"


def test_the_build_record_holds_every_folder_and_how_the_file_was_built(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    _record(con, {"a": "1", "b": "2"}, Built(INCREMENTAL, "1 of 2 report folders changed", 2, 1), "run-7")
    assert con.execute("SELECT report_id, folder_digest FROM build.report_folders ORDER BY 1").fetchall() == [
        ("a", "1"), ("b", "2")]
    assert con.execute("SELECT run_id, method, reason, reports, reports_rebuilt FROM build.info").fetchall() == [
        ("run-7", INCREMENTAL, "1 of 2 report folders changed", 2, 1)]


@pytest.fixture
def written(tmp_path):
    """A staging connection after an incremental build that rewrote report r1 of series s1: one row per
    (table, report, series, check)."""
    con = duckdb.connect(str(tmp_path / "staging.duckdb"))
    con.execute("CREATE TEMP TABLE _changed_reports AS SELECT 'r1' AS report_id")
    con.execute("CREATE TEMP TABLE _rebuilt_series AS SELECT 's1' AS series")
    # the pairs of source_comparisons that touch s1 were computed again; r2 is on the later side of one of them
    con.execute("CREATE TEMP TABLE _comparison_series AS SELECT 's1' AS series")
    con.execute("CREATE TEMP TABLE _compared_reports AS SELECT 'r2' AS report_id")
    for table in (*REPORT_TABLES, *SERIES_TABLES):
        con.execute(f"CREATE TABLE {table} (report_id VARCHAR, series VARCHAR, check_name VARCHAR)")
        con.execute(f"INSERT INTO {table} VALUES ('r1', 's1', 'quotes_found'), ('r2', 's1', 'quotes_found'), "
                    "('r2', 's2', 'sources_agree'), ('r2', 's2', 'distinct_documents'), ('r3', 's3', 'quotes_found'), "
                    "('r3', 's3', 'sources_agree')")
    con.execute("CREATE TABLE source_comparisons (report_id VARCHAR, series VARCHAR, other_series VARCHAR)")
    con.execute("INSERT INTO source_comparisons VALUES ('r2', 's2', 's1'), ('r1', 's1', 's3'), ('r3', 's3', 's2')")
    con.execute("CREATE VIEW estimates AS SELECT report_id, series FROM figures")
    return con


def _selected(con, table: str, built: Built) -> list[tuple]:
    where = built.rows_to_validate(table)
    return con.execute(f"SELECT * FROM {table} WHERE {where or 'TRUE'} ORDER BY ALL").fetchall()


def test_an_incremental_build_validates_the_rows_it_wrote_and_the_cross_report_rows_it_wrote_again(written):
    built = Built(INCREMENTAL, "", 3, 1)
    for table in ("reports", "figures", "channels", "arms", "deficit"):
        assert _selected(written, table, built) == [("r1", "s1", "quotes_found")], table
    # distinct_documents is written again for every report; sources_agree for the reports whose pairs changed
    assert _selected(written, "validation_results", built) == [
        ("r1", "s1", "quotes_found"), ("r2", "s2", "distinct_documents"), ("r2", "s2", "sources_agree")]
    # the pairs that touch the rebuilt series, on either side
    assert _selected(written, "source_comparisons", built) == [("r1", "s1", "s3"), ("r2", "s2", "s1")]
    assert _selected(written, "estimates", built) == [("r1", "s1")]
    assert _selected(written, "report_changes", built) == [("r1", "s1", "quotes_found"), ("r2", "s1", "quotes_found")]


def test_a_build_from_nothing_and_the_views_that_combine_reports_are_validated_whole(written):
    assert Built(FROM_NOTHING, "", 3, 3).rows_to_validate("figures") is None
    assert Built(FROM_NOTHING, "", 3, 3).rows_to_validate("source_comparisons") is None
    assert Built(INCREMENTAL, "", 3, 1).rows_to_validate("latest_channels") is None


def test_a_folder_changed_within_the_racy_interval_has_no_signature_however_close_to_its_end(seed_dir):
    """A file changed less than RACY_SECONDS before `now` may change again in the same clock tick unseen: its
    folder is hashed, not trusted by its signature; half a second past the interval, it is trusted."""
    from pipeline.read.report_cache import RACY_SECONDS, folder_signature

    newest = max(max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in seed_dir.rglob("*") if p.is_file()) / 1e9
    assert folder_signature(seed_dir, newest + RACY_SECONDS - 0.5) is None
    assert folder_signature(seed_dir, newest + RACY_SECONDS + 0.5) is not None


def test_duckdbs_error_for_a_file_another_process_writes_is_told_from_other_io_errors(tmp_path: Path) -> None:
    # warehouse._is_lock_error decides whether a publish waits for the lock or fails: on DuckDB's real error
    from pipeline.publish.warehouse import _is_lock_error

    path = tmp_path / "held.duckdb"
    with held_by_another_process(path):
        with pytest.raises(duckdb.IOException) as held:
            duckdb.connect(str(path))
    assert _is_lock_error(held.value)
    # DuckDB's words when the system cannot say which process holds the lock (its error text instead)
    assert _is_lock_error(duckdb.IOException('IO Error: Could not set lock on file "held.duckdb": Resource temporarily '
                                             "unavailable. See also https://duckdb.org/docs/stable/connect/concurrency"))
    with pytest.raises(duckdb.IOException) as missing:
        duckdb.connect(str(tmp_path / "no-such-folder" / "x.duckdb"))
    assert not _is_lock_error(missing.value)


# --- the report cache, the page's charts and the staging file, after a refresh with the job's steps called directly
# (tests.helpers.refresh_directly: the same functions, no Dagster run), from one published seed per file


@pytest.fixture(scope="module")
def seed_published_directly(tmp_path_factory) -> Path:
    from .conftest import RAW
    from .helpers import refresh_directly

    base = tmp_path_factory.mktemp("seed-published-directly")
    shutil.copytree(RAW, base / "raw")
    assert refresh_directly(base / "raw", base / "warehouse" / "illicit_income.duckdb").success
    return base


@pytest.fixture
def seed(seed_published_directly, tmp_path) -> tuple[Path, Path]:
    """(raw/, published file) of a private copy of the seed as a refresh published it, with its report cache."""
    from .helpers import restamp

    shutil.copytree(seed_published_directly / "raw", tmp_path / "raw")
    shutil.copytree(seed_published_directly / "warehouse", tmp_path / "warehouse", symlinks=True)
    restamp(tmp_path / "warehouse" / "illicit_income.duckdb")
    return tmp_path / "raw", tmp_path / "warehouse" / "illicit_income.duckdb"


def test_the_cached_figure_count_is_what_the_report_cache_holds_for_the_reports_asked(seed, tmp_path, monkeypatch):
    from pipeline.publish.warehouse import Warehouse
    from pipeline.read import report_cache

    from .conftest import SEED_ID
    from .helpers import rows

    _, path = seed
    cache = Warehouse(path=str(path)).cache_path
    figures = rows(path, "SELECT count(*) FROM figures")[0][0]
    assert report_cache.cached_figure_count(cache, [SEED_ID]) == figures > 0
    assert report_cache.cached_figure_count(cache, [SEED_ID, "a-report-not-cached"]) == figures
    assert report_cache.cached_figure_count(cache, []) == 0
    assert report_cache.cached_figure_count(tmp_path / "no-cache.duckdb", [SEED_ID]) == 0
    with monkeypatch.context() as patch:  # a cache another version of the code wrote is not counted
        patch.setattr(report_cache, "code_version", lambda: "another version")
        assert report_cache.cached_figure_count(cache, [SEED_ID]) == 0
    cache.write_bytes(b"not a database" * 100)
    assert report_cache.cached_figure_count(cache, [SEED_ID]) == 0


def test_a_damaged_report_cache_is_made_again_and_every_folder_read(seed):
    from pipeline.publish.warehouse import Warehouse

    from .helpers import refresh_directly, rows

    raw_dir, path = seed
    before = rows(path, "SELECT * FROM figures ORDER BY ALL")
    warehouse = Warehouse(path=str(path))
    folders = {p.name for p in raw_dir.iterdir() if p.is_dir()}
    assert set(warehouse.cached_folders()) == folders
    warehouse.cache_path.write_bytes(b"not a database" * 1000)
    again = refresh_directly(raw_dir, path)
    assert again.success and set(again.stale) == folders
    assert rows(path, "SELECT * FROM figures ORDER BY ALL") == before
    assert set(warehouse.cached_folders()) == folders


def test_a_report_cache_of_other_code_is_dropped_whole_with_the_tables_of_older_cache_formats(seed):
    from pipeline.publish.warehouse import Warehouse

    from .helpers import refresh_directly, rows

    raw_dir, path = seed
    before = rows(path, "SELECT * FROM figures ORDER BY ALL")
    warehouse = Warehouse(path=str(path))
    with duckdb.connect(str(warehouse.cache_path)) as cache:
        cache.execute("UPDATE meta SET value = 'another version of the code' WHERE key = 'code_version'")
        cache.execute("CREATE TABLE validated (table_name VARCHAR)")  # cache format 1's table
    again = refresh_directly(raw_dir, path)
    assert again.success and set(again.stale) == {p.name for p in raw_dir.iterdir() if p.is_dir()}
    assert rows(path, "SELECT * FROM figures ORDER BY ALL") == before
    with duckdb.connect(str(warehouse.cache_path), read_only=True) as cache:
        assert {name for (name,) in cache.execute("SELECT table_name FROM duckdb_tables()").fetchall()} == {
            "meta", "folders", "reports", "figures", "checks"}


def test_the_report_cache_keeps_each_folders_digest_and_the_signature_it_had_when_hashed(seed, monkeypatch):
    import time

    from pipeline.publish.warehouse import Warehouse
    from pipeline.read import report_cache

    from .helpers import refresh_directly

    raw_dir, path = seed
    later = time.time() + 10  # every file changed more than RACY_SECONDS before: each folder has a signature
    monkeypatch.setattr(report_cache.time, "time", lambda: later)
    assert refresh_directly(raw_dir, path).success
    folders = [p for p in raw_dir.iterdir() if p.is_dir()]
    assert Warehouse(path=str(path)).cached_folders() == {
        folder.name: (report_cache.folder_digest(folder), report_cache.folder_signature(folder, later))
        for folder in folders}
    assert all(signature is not None for _, signature in Warehouse(path=str(path)).cached_folders().values())


def test_a_report_cache_another_process_holds_is_waited_for_then_named_and_kept(seed):
    from pipeline.core.errors import PublishError
    from pipeline.publish.warehouse import Warehouse

    _, path = seed
    warehouse = Warehouse(path=str(path), lock_timeout_seconds=0.3)
    cache = warehouse.cache_path
    kept = cache.read_bytes()
    with held_by_another_process(cache):
        with duckdb.connect(":memory:") as con:
            with pytest.raises(PublishError, match=f"^{re.escape(str(cache))} is locked by another process"):
                warehouse._attach_cache(con)
    assert cache.read_bytes() == kept  # never taken for a damaged cache and removed


def test_the_published_pages_charts_are_given_to_the_ui_as_data_uris(seed):
    import base64
    import json

    from pipeline.publish.release import charts_markdown

    _, path = seed
    folder = path.parent / "site" / "charts"
    entries = json.loads((folder / "charts.json").read_text(encoding="utf-8"))
    text = charts_markdown(path.parent)
    drawn = 0
    for entry in entries:
        assert f"### {entry['title']}\n\n{entry['caption']}\n" in text
        svg = folder / f"{entry['name']}.svg"
        if svg.exists():
            drawn += 1
            assert f"({'data:image/svg+xml;base64,' + base64.b64encode(svg.read_bytes()).decode()})" in text
        else:
            assert f"*Not drawn: {entry['skipped']}.*" in text
    assert drawn > 0 and text.count("### ") == len(entries)


def test_an_incremental_refresh_of_a_warehouse_whose_name_holds_a_double_quote(raw_dir, tmp_path):
    # the staging file's database name is quoted in the SQL that switches between it and the rebuilt rows
    from .helpers import refresh_directly, rows

    path = tmp_path / "warehouse" / 'the "quoted" warehouse.duckdb'
    assert refresh_directly(raw_dir, path).success
    before = rows(path, "SELECT * FROM figures ORDER BY ALL")
    for folder in raw_dir.iterdir():
        with open(folder / "figures.toml", "a", encoding="utf-8") as handle:
            handle.write("\n# touched\n")
    again = refresh_directly(raw_dir, path, max_share=1.0)
    assert again.error is None and again.success
    assert (again.built.method, again.built.reports_rebuilt) == (INCREMENTAL, 1)
    assert rows(path, "SELECT * FROM figures ORDER BY ALL") == before


def test_a_folder_edited_after_it_was_hashed_is_not_taken_as_unchanged_since(seed_dir, monkeypatch):
    import time

    from pipeline.read import report_cache

    later = time.time() + 10  # every file changed more than RACY_SECONDS before: the folder has a signature
    with monkeypatch.context() as patch:
        patch.setattr(report_cache.time, "time", lambda: later)
        digests, signatures, states = report_cache.hash_folders([seed_dir], {})
    name = seed_dir.name
    assert signatures[name] is not None
    assert report_cache.unchanged_since(seed_dir, states[name], signatures[name], digests[name]) is True
    assert report_cache.unchanged_since(seed_dir, None, signatures[name], digests[name]) is False  # no state: unknown
    figures = seed_dir / "figures.toml"
    figures.chmod(0o644)
    with open(figures, "a", encoding="utf-8") as handle:
        handle.write("\n# edited while it was read\n")
    assert report_cache.unchanged_since(seed_dir, states[name], signatures[name], digests[name]) is False


def test_the_published_page_is_the_index_of_the_published_site(seed):
    from pipeline.publish.release import published_page

    _, path = seed
    page = published_page(path.parent)
    assert page == path.parent / "site" / "index.html"
    assert page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def test_a_mostly_free_file_is_rewritten_compact_and_one_of_few_free_blocks_is_kept(tmp_path):
    from pipeline.publish.warehouse import MAX_FREE_SHARE, PUBLISHED_BLOCK_SIZE, PUBLISHED_STORAGE_VERSION, _compact_if_sparse

    from .test_compact import blocks

    def made(name: str, kept_share: float) -> Path:
        path = tmp_path / name
        con = duckdb.connect(str(path), config={"default_block_size": PUBLISHED_BLOCK_SIZE,
                                                "storage_compatibility_version": PUBLISHED_STORAGE_VERSION})
        con.execute("CREATE TABLE t AS SELECT i, repeat('x', 200) || i AS s FROM range(200000) r(i)")
        con.execute("CHECKPOINT")
        con.execute(f"DELETE FROM t WHERE i >= {int(200000 * kept_share)}")
        con.execute("CHECKPOINT")
        con.close()
        return path

    sparse, dense = made("sparse.duckdb", 0.1), made("dense.duckdb", 0.99)
    size, free, total = blocks(sparse)
    assert size == PUBLISHED_BLOCK_SIZE and free > total * MAX_FREE_SHARE
    rows = duckdb.connect(str(sparse), read_only=True).execute("SELECT count(*), sum(i) FROM t").fetchall()
    litter = sparse.with_name(sparse.name + ".compact")  # left by a compaction that was killed midway
    litter.write_bytes(b"half a file")
    _compact_if_sparse(sparse)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dense.duckdb", "sparse.duckdb"]
    after = blocks(sparse)
    assert after[1] <= after[2] * MAX_FREE_SHARE and after[2] < total
    assert duckdb.connect(str(sparse), read_only=True).execute("SELECT count(*), sum(i) FROM t").fetchall() == rows
    before = dense.read_bytes()
    assert blocks(dense)[1] <= blocks(dense)[2] * MAX_FREE_SHARE
    _compact_if_sparse(dense)
    assert dense.read_bytes() == before  # few free blocks: left as it is


def test_the_refresh_waits_for_a_writer_of_the_published_file_and_then_names_the_file(tmp_path):
    from pipeline.core.errors import PublishError
    from pipeline.publish.warehouse import Warehouse

    path = tmp_path / "held.duckdb"
    duckdb.connect(str(path)).close()
    warehouse = Warehouse(path=str(path), lock_timeout_seconds=0.5)
    warehouse._wait_for_no_writer(path)  # nobody holds it: no wait
    with held_by_another_process(path):
        with pytest.raises(PublishError, match=f"^{re.escape(str(path))} is locked by another process"):
            warehouse._wait_for_no_writer(path)



def test_a_staged_release_reuses_the_published_pages_and_a_run_staged_again_gets_a_release_of_its_own(seed, tmp_path):
    import json

    from pipeline.publish import release

    _, path = seed
    staging = tmp_path / "staging.duckdb"
    shutil.copyfile(path, staging)  # the same tables the published file holds
    first = release.stage(staging, path.parent, "run-a")
    again = release.stage(staging, path.parent, "run-a")  # a re-executed run: never the same folder
    assert first != again and first.is_dir() and again.is_dir()
    published = release.current_release(path.parent)
    for page in (first / "site" / "reports").glob("*.html"):  # made from the same report and code: linked, not written
        assert page.stat().st_ino == (published / "site" / "reports" / page.name).stat().st_ino, page.name
    descriptor = json.loads((first / "export" / "datapackage.json").read_text(encoding="utf-8"))
    run_id = duckdb.connect(str(staging), read_only=True).execute("SELECT run_id FROM build.info").fetchall()[0][0]
    assert descriptor["version"] == run_id  # the exports say which refresh built the file


def test_a_write_ahead_log_is_looked_for_beside_the_link_and_beside_the_release_file_it_points_to(seed):
    from pipeline.publish.warehouse import Warehouse, _wal_paths

    _, path = seed
    real = path.resolve()
    assert path.is_symlink() and real != path
    assert _wal_paths(path) == [path.with_name(path.name + ".wal"), real.with_name(real.name + ".wal")]
    assert _wal_paths(real) == [real.with_name(real.name + ".wal")]
    real.with_name(real.name + ".wal").write_bytes(b"")
    assert "write-ahead log" in Warehouse(path=str(path))._why_not_start_from(path)


class _Clock:
    """A clock for the lock waits: sleeping moves it on at once, and every sleep asked for is kept."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _locked(path: Path) -> duckdb.IOException:
    return duckdb.IOException(f'IO Error: Could not set lock on file "{path}": Conflicting lock is held in '
                              "/usr/bin/duckdb (PID 4242). See also https://duckdb.org/docs/stable/connect/concurrency")


def test_a_locked_file_is_tried_again_after_waits_that_double_up_to_a_second_until_the_timeout(tmp_path, monkeypatch):
    import pipeline.publish.warehouse as warehouse_module
    from pipeline.core.errors import PublishError

    clock = _Clock()
    monkeypatch.setattr(warehouse_module, "time", clock)
    path = tmp_path / "held.duckdb"
    tries = []

    def attempt():
        tries.append(clock.now)
        raise _locked(path)

    warehouse = warehouse_module.Warehouse(path=str(path), lock_timeout_seconds=4.2)
    with pytest.raises(PublishError, match=f"^{re.escape(str(path))} is locked by another process and stayed locked "
                                           "for 4 s: IO Error: Could not set lock"):
        warehouse._wait_for_lock(path, attempt)
    assert clock.sleeps == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])
    assert len(tries) == 8 and tries[-1] - tries[0] == pytest.approx(4.5)  # the last try after the deadline

    clock.sleeps.clear()
    answers = iter([_locked(path), _locked(path), "opened"])

    def opened_on_the_third_try():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert warehouse._wait_for_lock(path, opened_on_the_third_try) == "opened"
    assert clock.sleeps == pytest.approx([0.1, 0.2])

    clock.sleeps.clear()

    def damaged():
        raise duckdb.IOException("IO Error: The file is not a valid DuckDB database file!")

    with pytest.raises(duckdb.IOException, match="not a valid DuckDB database file"):  # not a lock: not waited for
        warehouse._wait_for_lock(path, damaged)
    assert clock.sleeps == []


def test_a_reader_of_the_published_file_is_not_waited_for_and_the_wait_opens_it_read_only(tmp_path):
    from pipeline.publish.warehouse import Warehouse

    path = tmp_path / "read.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    warehouse = Warehouse(path=str(path), lock_timeout_seconds=0.5)
    opened = warehouse._connect_with_wait(path, read_only=True)
    try:
        assert opened.execute("SELECT x FROM t").fetchall() == [(1,)]
        with pytest.raises(duckdb.Error, match="read-only"):
            opened.execute("INSERT INTO t VALUES (2)")
    finally:
        opened.close()
    # an analyst's read-only connection (the CLI with -readonly) never holds up a refresh
    with held_by_another_process(path, read_only=True):
        warehouse._wait_for_no_writer(path)


def test_a_second_refresh_waits_for_the_staging_lock_then_names_the_warehouse_and_the_lock_is_released(
        tmp_path, monkeypatch):
    import fcntl

    import pipeline.publish.warehouse as warehouse_module
    from pipeline.core.errors import PublishError

    clock = _Clock()
    monkeypatch.setattr(warehouse_module, "time", clock)
    path = tmp_path / "new" / "deeper" / "illicit_income.duckdb"
    warehouse = warehouse_module.Warehouse(path=str(path), lock_timeout_seconds=0.45)
    with warehouse._staging_lock():  # makes the staging folder, parents and all
        with open(warehouse.staging_dir / "lock") as other:  # another refresh's open of the same lock file
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(PublishError, match=f"^another refresh of {re.escape(str(path))} held "
                                               f"{re.escape(str(warehouse.staging_dir))} for 0 s; nothing was published"):
            with warehouse._staging_lock():
                pass
    assert clock.sleeps == pytest.approx([0.1] * 5)
    with open(warehouse.staging_dir / "lock") as other:  # released: another refresh takes it at once
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(other, fcntl.LOCK_UN)
    clock.sleeps.clear()
    with warehouse._staging_lock():
        pass
    assert clock.sleeps == []


def test_staging_a_release_only_reads_the_staging_file(seed, tmp_path):
    from pipeline.publish import release

    _, path = seed
    staging = tmp_path / "staging.duckdb"
    shutil.copyfile(path, staging)
    with duckdb.connect(str(staging), read_only=True):  # in this process: any other configuration is refused
        staged = release.stage(staging, path.parent, "run-read-only")
    assert (staged / "site" / "index.html").is_file()


@pytest.mark.parametrize("content", [b"not a DuckDB file at all", None, "the page fails"])
def test_a_release_that_cannot_be_staged_leaves_no_folder(seed, tmp_path, monkeypatch, content):
    from pipeline.core.errors import PublishError
    from pipeline.publish import release, site

    _, path = seed
    staging = tmp_path / "staging.duckdb"
    if content is None:
        duckdb.connect(str(staging)).close()  # a DuckDB file without the tables
    elif content == "the page fails":  # after the exports were written into the release (a full disk, say)
        shutil.copyfile(path, staging)

        def full_disk(*args, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(site, "write", full_disk)
    else:
        staging.write_bytes(content)
    releases = sorted(path.parent.joinpath(release.RELEASES).iterdir())
    with pytest.raises(PublishError, match=f"^run run-broken: the report page and exports could not be built from "
                                           f"{re.escape(str(staging))}"):
        release.stage(staging, path.parent, "run-broken")
    assert sorted(path.parent.joinpath(release.RELEASES).iterdir()) == releases


def test_the_publish_steps_in_memory_work_leaves_no_file_in_the_working_folder(seed, tmp_path, monkeypatch):
    # duckdb.connect(":memory:") is an in-memory database; any other name (":MEMORY:" too) is a file in the
    # working folder, which a refresh run from the project folder would leave there
    from pipeline.publish.warehouse import Warehouse, _compact_if_sparse
    from pipeline.read.report_cache import cached_figure_count

    from .conftest import SEED_ID as SEED

    raw, path = seed
    warehouse = Warehouse(path=str(path))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert set(warehouse.cached_folders()) == {SEED}
    assert cached_figure_count(warehouse.cache_path, [SEED]) > 0
    staging = tmp_path / "staging.duckdb"
    shutil.copyfile(path, staging)
    _compact_if_sparse(staging)
    warehouse._refuse_an_older_build(path, staging, "run-same")  # the same build: not older
    assert list(cwd.iterdir()) == []


def test_the_published_files_stamp_is_its_identity_times_and_a_digest_of_duckdbs_headers(tmp_path):
    import hashlib
    import os

    from pipeline.publish.warehouse import _stamp

    path = tmp_path / "file.duckdb"
    path.write_bytes(bytes(range(256)) * 100)  # 25 KiB: more than the 12 KiB of DuckDB's three headers
    info = os.stat(path)
    assert _stamp(path) == (f"{info.st_ino} {info.st_size} {info.st_mtime_ns} {info.st_ctime_ns} "
                            f"{hashlib.sha256(path.read_bytes()[:12 * 1024]).hexdigest()}")


def test_each_run_publishes_only_on_its_own_passed_marker(seed, tmp_path):
    from pipeline.core.errors import PublishError
    from pipeline.publish.warehouse import Warehouse

    _, path = seed
    warehouse = Warehouse(path=str(path))
    _staged(warehouse, "run-a")
    _staged(warehouse, "run-b", passed=False)  # its blocking checks failed
    assert warehouse._passed_marker("run-a").read_text(encoding="utf-8") == "run-a\n"  # which run passed, for a person
    with pytest.raises(PublishError, match="^the tables run run-b built in .* did not pass every blocking check"):
        warehouse.publish("run-b")
    counts, _ = warehouse.publish("run-a")
    assert counts["reports"] == 1


def test_the_published_file_is_copied_for_an_incremental_refresh_while_an_analyst_reads_it(seed):
    from pipeline.publish.warehouse import Warehouse

    _, path = seed
    warehouse = Warehouse(path=str(path))
    seen = []
    with duckdb.connect(str(path), read_only=True):  # in this process: a read-write open would be refused
        with warehouse.fresh_staging("run-read", start_from_published=lambda con, why: seen.append(why) or True) as con:
            assert con.execute("SELECT count(*) FROM reports").fetchall() == [(1,)]
    assert seen == [""]


def test_a_published_file_that_cannot_be_opened_read_only_is_not_copied_and_the_reason_is_duckdbs_first_line(seed):
    from pipeline.publish.warehouse import Warehouse

    _, path = seed
    warehouse = Warehouse(path=str(path))
    seen = []
    with duckdb.connect(str(path)):  # read-write, in this process: a read-only open of the file is refused
        with warehouse.fresh_staging("run-held", start_from_published=lambda con, why: seen.append((con, why)) or True):
            pass
    [(con, why)] = seen
    assert con is None
    assert re.fullmatch(r"the published warehouse could not be opened read-only \(Connection Error: [^\n]*configuration[^\n]*\)",
                        why), why


def test_a_write_ahead_log_that_appears_while_the_published_file_is_opened_stops_the_copy(seed, monkeypatch):
    from pipeline.publish.warehouse import Warehouse

    _, path = seed
    checked = Warehouse._why_not_start_from

    def then_a_writer_appears(self, published):  # an analyst opens the file read-write right after the first check
        reason = checked(self, published)
        path.with_name(path.name + ".wal").write_bytes(b"")
        return reason

    monkeypatch.setattr(Warehouse, "_why_not_start_from", then_a_writer_appears)
    seen = []
    with Warehouse(path=str(path)).fresh_staging("run-raced", start_from_published=lambda con, why: seen.append((con, why))
                                                 or con is not None) as con:
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()").fetchall() == [(0,)]
    [(con, why)] = seen
    assert con is None and why.startswith("the published warehouse has a write-ahead log beside it")


def test_a_new_staging_file_clears_its_runs_leftovers_and_staging_files_left_more_than_an_hour_ago(tmp_path):
    import os
    import time

    from pipeline.publish.warehouse import Warehouse

    warehouse = Warehouse(path=str(tmp_path / "warehouse" / "illicit_income.duckdb"))
    staging = warehouse.staging_dir
    staging.mkdir(parents=True)
    now = time.time()
    left = {"illicit_income.old-run.duckdb": now - 3700, "illicit_income.old-run.duckdb.wal": now - 3700,
            "illicit_income.old-run.duckdb.passed": now - 3700, "illicit_income.recent-run.duckdb": now - 3500,
            "other.old-run.duckdb": now - 3700,  # another warehouse's
            "illicit_income.this-run.duckdb.wal": now, "illicit_income.this-run.duckdb.passed": now}
    for name, mtime in left.items():
        (staging / name).write_bytes(b"left by an earlier refresh")
        os.utime(staging / name, (mtime, mtime))
    with warehouse.fresh_staging("this-run") as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    assert sorted(path.name for path in staging.iterdir() if path.name.endswith(("duckdb", ".wal", ".passed"))) == [
        "illicit_income.recent-run.duckdb", "illicit_income.this-run.duckdb", "other.old-run.duckdb", "report_cache.duckdb"]


def test_a_build_that_fails_leaves_nothing_of_its_staging_file(tmp_path):
    from pipeline.publish.warehouse import Warehouse

    warehouse = Warehouse(path=str(tmp_path / "warehouse" / "illicit_income.duckdb"))
    with pytest.raises(RuntimeError, match="the build failed"):
        with warehouse.fresh_staging("failing-run") as con:
            con.execute("CREATE TABLE t AS SELECT 1 AS x")
            warehouse.mark_passed("failing-run")
            raise RuntimeError("the build failed")
    assert sorted(path.name for path in warehouse.staging_dir.iterdir()) == ["lock", "report_cache.duckdb"]


def _staged(warehouse, run: str, *, passed: bool = True, built_at: str | None = None) -> Path:
    """A staging file for `run`: a copy of the published file (its tables), built at `built_at` if given."""
    with warehouse.fresh_staging(run, start_from_published=lambda con, why: con is not None) as con:
        if built_at is not None:
            con.execute("UPDATE build.info SET built_at = ?, run_id = ?", [built_at, run])
    if passed:
        warehouse.mark_passed(run)
    return warehouse.staging_path(run)


def test_publish_refuses_a_run_without_a_staging_file_or_with_a_write_ahead_log_and_changes_nothing(seed):
    from pipeline.core.errors import PublishError
    from pipeline.publish.warehouse import Warehouse

    _, path = seed
    warehouse = Warehouse(path=str(path))
    before = path.read_bytes()
    with pytest.raises(PublishError, match="^run never-built has no staging file .* nothing was published$"):
        warehouse.publish("never-built")
    staging = _staged(warehouse, "run-wal")
    staging.with_name(staging.name + ".wal").write_bytes(b"")
    with pytest.raises(PublishError, match=f"^run run-wal: {re.escape(str(staging))} has a write-ahead log"):
        warehouse.publish("run-wal")
    assert path.read_bytes() == before


def test_an_older_build_is_never_published_over_a_newer_one_and_is_removed(seed):
    from pipeline.core.errors import PublishError
    from pipeline.publish.warehouse import Warehouse

    _, path = seed
    warehouse = Warehouse(path=str(path))
    older = _staged(warehouse, "run-older", built_at="2099-01-01 00:00:00")
    newer = _staged(warehouse, "run-newer", built_at="2099-01-02 00:00:00")
    warehouse.publish("run-newer")
    published = path.read_bytes()
    releases = sorted(path.parent.joinpath(".releases").iterdir())
    with pytest.raises(PublishError, match="^run run-older built its tables at 2099-01-01 00:00:00 UTC, before the "
                                           r"published warehouse \(run run-newer, built at 2099-01-02 00:00:00 UTC\)"):
        warehouse.publish("run-older")
    assert path.read_bytes() == published and not older.exists() and not newer.exists()
    assert sorted(path.parent.joinpath(".releases").iterdir()) == releases  # the refused run's release is removed
    assert not warehouse._passed_marker("run-older").exists()


def test_a_publish_records_the_files_stamp_clears_its_marker_and_a_readers_wal_and_says_what_changed(seed):
    from pipeline.publish.warehouse import Warehouse, _stamp

    _, path = seed
    warehouse = Warehouse(path=str(path))
    _staged(warehouse, "run-next")
    path.with_name(path.name + ".wal").write_bytes(b"")  # left beside the link by a reader that opened it read-write
    counts, changes = warehouse.publish("run-next")
    assert counts["reports"] == 1 and counts["figures"] > 0 and changes == []  # the same tables: nothing changed
    assert warehouse._published_stamp.read_text(encoding="utf-8") == _stamp(path)
    assert not warehouse._passed_marker("run-next").exists() and not warehouse.staging_path("run-next").exists()
    assert not path.with_name(path.name + ".wal").exists()
    assert Warehouse(path=str(path))._why_not_start_from(path) == ""  # the next refresh may start from it


def test_an_unreadable_published_file_is_set_aside_by_the_next_publish(seed):
    from pipeline.publish.warehouse import Warehouse

    _, path = seed
    warehouse = Warehouse(path=str(path))
    _staged(warehouse, "run-after")
    real = path.resolve()
    damaged = b"not a DuckDB file any more" * 1000
    real.unlink()  # the release's file replaced by garbage (the name analysts open goes through the link)
    real.write_bytes(damaged)
    counts, changes = warehouse.publish("run-after")
    assert counts["reports"] == 1
    [said] = changes
    reason = re.fullmatch(r"the previous published file could not be read \((.*)\); it was moved to .*", said).group(1)
    assert " Error: " in reason and "\n" not in reason, reason  # DuckDB's first line
    [aside] = path.parent.glob("illicit_income.unreadable-*.duckdb")
    assert aside.read_bytes() == damaged and f"it was moved to {aside}" in said


def test_why_a_refresh_cannot_start_from_the_published_file(seed, tmp_path):
    from pipeline.core.errors import PublishError
    from pipeline.publish.warehouse import Warehouse

    nowhere = tmp_path / "new" / "deeper" / "illicit_income.duckdb"
    assert Warehouse(path=str(nowhere))._why_not_start_from(nowhere) == "no published warehouse to start from"
    with pytest.raises(PublishError, match="^run never-built has no staging file"):  # its folders made, nothing else
        Warehouse(path=str(nowhere)).publish("never-built")
    _, path = seed
    assert Warehouse(path=str(path))._why_not_start_from(path) == ""
    with duckdb.connect(str(path)) as con:  # changed outside the pipeline
        con.execute("CREATE TABLE analysts_own AS SELECT 1 AS x")
    assert Warehouse(path=str(path))._why_not_start_from(path) == (
        "the published file is not the one this pipeline last published (changed or replaced outside it, or "
        "published by an older version)")


def test_the_audit_only_reads_the_staging_file(seed, tmp_path):
    from pipeline.publish.warehouse import Warehouse

    _, path = seed
    staging = tmp_path / "staging.duckdb"
    shutil.copyfile(path, staging)
    with duckdb.connect(str(staging), read_only=True):  # in this process: a read-write open would be refused
        counts = Warehouse(path=str(path))._audit(staging)
    assert counts["reports"] == 1 and counts["figures"] > 0
