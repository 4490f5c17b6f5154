"""The table checks' validation (pipeline.validate.validation.validate_table) on tables made directly from the seed by
the build's own SQL files in an in-memory DuckDB (milliseconds, no Dagster run): chunks, the rows a build wrote,
views, empty tables, keys across chunks. The same on a build through the real job: tests/test_report_cache.py."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipeline.build.queries import sql
from pipeline.read.raw_reports import load_raw
from pipeline.validate import validation
from pipeline.validate.schemas import TABLE_SCHEMAS
from pipeline.validate.validation import validate_table
from tests.conftest import SEED_ID

CHANNELS = TABLE_SCHEMAS["channels"]


@pytest.fixture
def con(raw_dir: Path):
    """reports, figures and channels of the seed, as the build's SQL files make them from the loaded frames."""
    raw = load_raw(raw_dir)
    con = duckdb.connect()
    con.register("reports_frame", raw.reports)
    con.register("figures_frame", raw.figures)
    for table in ("reports", "figures", "channels"):
        con.execute(sql(table))
    yield con
    con.close()


def _many(con, copies: int) -> int:
    """A table `many` of the seed's channels for `copies` invented reports (no key constraint); its row count."""
    con.execute("CREATE TABLE many AS SELECT c.* REPLACE ('r-' || lpad(i::VARCHAR, 4, '0') AS report_id) "
                f"FROM channels AS c, range({copies}) AS r(i) ORDER BY report_id, channel")
    return con.execute("SELECT count(*) FROM many").fetchone()[0]


def test_a_valid_table_passes_and_each_of_its_rows_is_counted(con) -> None:
    rows = con.execute("SELECT count(*) FROM channels").fetchone()[0]
    assert rows > 0
    assert validate_table(con, "channels", CHANNELS) == ([], rows)


def test_a_bad_row_in_a_late_chunk_and_a_duplicate_across_chunks_are_found(con, monkeypatch) -> None:
    monkeypatch.setattr(validation, "CHUNK_ROWS", 2048)
    rows = _many(con, 1500)
    assert rows > 2 * 2048
    assert validate_table(con, "many", CHANNELS) == ([], rows)
    con.execute("UPDATE many SET income_usd = -5 WHERE report_id IN ('r-0001', 'r-1499') AND channel = 'cyber'")
    con.execute("INSERT INTO many SELECT * FROM many WHERE report_id = 'r-0000' AND channel = 'cyber' LIMIT 1")
    positions = [row[0] for row in con.execute("SELECT rowid FROM many WHERE income_usd < 0 ORDER BY rowid").fetchall()]
    assert positions[-1] > 2 * 2048 > positions[0]  # one in the first chunk, one in the last
    problems, validated = validate_table(con, "many", CHANNELS)
    assert validated == rows + 1
    negative = [p for p in problems if p.field == "income_usd"]
    assert {(p.folder, p.file) for p in negative} == {("table many", "")}
    assert [(p.found, p.where) for p in negative] == [
        ("-5.0", f"row {positions[0]} (report r-0001, cyber-income)"),
        ("-5.0", f"row {positions[1]} (report r-1499, cyber-income)")]
    [duplicate] = [p for p in problems if p.expected.startswith("unique")]
    assert (duplicate.folder, duplicate.where) == ("table many", "")
    assert duplicate.field == "report_id, channel, period_start, period_end, figure_id"  # the key's columns
    assert (duplicate.file, duplicate.found) == ("", "2 rows with report_id='r-0000', channel='cyber', "
                                                     "period_start=2017-01-01, period_end=2023-12-31, figure_id='cyber-income'")
    assert duplicate.found.startswith("2 rows with ") and "r-0000" in duplicate.found
    assert duplicate.expected == "unique together with the other key columns"


def test_a_duplicate_within_one_chunk_is_listed_row_by_row_and_not_again_for_the_whole_table(con) -> None:
    _many(con, 2)
    con.execute("INSERT INTO many SELECT * FROM many WHERE report_id = 'r-0000' AND channel = 'cyber' LIMIT 1")
    problems, _ = validate_table(con, "many", CHANNELS)
    assert len(problems) == 2 and all(p.where.startswith("row ") for p in problems), problems  # the two rows


def test_a_duplicate_of_a_one_column_key_within_one_chunk_is_listed_row_by_row_only(con) -> None:
    con.execute("CREATE TABLE copied AS SELECT * FROM reports")  # reports' key, without the table's constraint
    con.execute("INSERT INTO copied SELECT * FROM reports")
    problems, validated = validate_table(con, "copied", TABLE_SCHEMAS["reports"])
    assert validated == 2
    assert [(p.where, p.field, p.expected) for p in problems] == [
        (f"row 0 (report {SEED_ID})", "report_id", "unique"), (f"row 1 (report {SEED_ID})", "report_id", "unique")]


def test_a_key_the_table_enforces_is_not_checked_again(con) -> None:
    # a PRIMARY KEY on the model's key: DuckDB refuses any duplicate on insert, so the SQL check is not run
    [key] = validation._unique_keys(CHANNELS)
    con.execute("CREATE TABLE keyed AS SELECT * FROM channels LIMIT 0")
    con.execute(f"ALTER TABLE keyed ADD PRIMARY KEY ({', '.join(key)})")
    con.execute("INSERT INTO keyed SELECT * FROM channels")
    for table, checked in (("keyed", False), ("channels", True)):
        queries: list[str] = []
        assert validate_table(_Tracing(con, queries), table, CHANNELS)[0] == []
        assert any("HAVING count(*) > 1" in q for q in queries) is checked, table


class _Tracing:
    """A connection that records the SQL it is given (to see which queries validate_table runs)."""

    def __init__(self, con, queries: list[str]) -> None:
        self._con, self._queries = con, queries

    def execute(self, query: str, *args):
        self._queries.append(query)
        return self._con.execute(query, *args)


def test_only_the_rows_a_build_wrote_are_validated_in_a_table_and_in_a_view(con) -> None:
    rows = _many(con, 3)
    con.execute("UPDATE many SET income_usd = -5 WHERE report_id = 'r-0002' AND channel = 'cyber'")
    con.execute("CREATE VIEW many_view AS SELECT * FROM many")
    per_report = rows // 3
    for table in ("many", "many_view"):
        assert validate_table(con, table, CHANNELS, where="report_id = 'r-0001'") == ([], per_report)
        problems, validated = validate_table(con, table, CHANNELS, where="report_id = 'r-0002'")
        assert validated == per_report
        [problem] = problems
        # a row is named by its position in the whole table or view, not in the rows read
        position = con.execute("SELECT rowid FROM many WHERE report_id = 'r-0002' AND channel = 'cyber'").fetchone()[0]
        assert position >= 2 * per_report
        assert problem.where == f"row {position} (report r-0002, cyber-income)"


def test_an_empty_table_is_validated_for_its_columns_and_a_build_that_wrote_no_row_is_not(con) -> None:
    con.execute("CREATE TABLE empty AS SELECT * FROM channels LIMIT 0")
    assert validate_table(con, "empty", CHANNELS) == ([], 0)
    con.execute("CREATE TABLE empty_without AS SELECT * EXCLUDE (income_usd) FROM channels LIMIT 0")
    problems, validated = validate_table(con, "empty_without", CHANNELS)
    assert validated == 0
    assert [(p.found, p.expected) for p in problems] == [("'income_usd'", "the column to be present")]
    # the rows a build wrote: none, so nothing of the table is checked (what it kept passed before)
    assert validate_table(con, "empty_without", CHANNELS, where="true") == ([], 0)


def test_a_bad_row_of_the_seed_is_located_at_its_figure_with_the_raw_folders_name(con) -> None:
    con.execute("UPDATE channels SET income_usd = -1 WHERE channel = 'cyber'")
    problems, _ = validate_table(con, "channels", CHANNELS, raw_name="raw")
    assert [(p.folder, p.file, p.field) for p in problems] == [(f"raw/{SEED_ID}", "figures.toml", "income_usd")]


def test_a_rule_of_two_columns_broken_in_a_table_shows_both_values_at_the_row(con) -> None:
    con.execute(sql("estimates"))
    con.execute("CREATE TABLE swapped AS SELECT * FROM estimates")
    con.execute("UPDATE swapped SET period_start = period_end + 1 WHERE figure_id = 'cyber-income'")
    problems, _ = validate_table(con, "swapped", TABLE_SCHEMAS["estimates"])
    [row] = con.execute("SELECT rowid, period_start, period_end FROM swapped WHERE figure_id = 'cyber-income'").fetchall()
    assert [(p.where, p.field, p.found) for p in problems] == [
        (f"row {row[0]} (report {SEED_ID}, cyber-income)", "period_start, period_end",
         f"period_start={row[1]:%Y-%m-%d}, period_end={row[2]:%Y-%m-%d}")]


def test_every_key_of_a_model_is_checked_after_one_the_table_enforces() -> None:
    import pandera.pandas as pa

    class TwoKeys(pa.DataFrameModel):  # a key of two columns, and a column unique on its own
        code: str = pa.Field(unique=True)
        a: int
        b: int

        class Config:
            unique = ["a", "b"]

    con = duckdb.connect()
    con.execute("CREATE TABLE two_keys (code VARCHAR, a BIGINT, b BIGINT, PRIMARY KEY (a, b))")
    con.execute("INSERT INTO two_keys VALUES ('x', 1, 1), ('x', 1, 2), ('y', 2, 1)")
    assert validation._unique_keys(TwoKeys) == [["a", "b"], ["code"]]  # the enforced key first
    # pandera sees the first row only (what a build wrote); the duplicate code is found on the whole table
    problems, validated = validate_table(con, "two_keys", TwoKeys, where="a = 1 AND b = 1")
    assert validated == 1
    assert [(p.folder, p.field, p.found, p.expected) for p in problems] == [
        ("table two_keys", "code", "2 rows with code='x'", "unique")]
