"""Tests written from survivors of `make mutation`'s loader group (docs/mutation.md): how a figure's value,
unit and value_text are read and compared, called directly (milliseconds, no build). Until 2026-11-30 the
group's builds of invented reports (shares, fractions, counts) decided these; the builds are left to
`make test`, and these say the same directly."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core import vocabulary as v
from pipeline.core.errors import RawReportError
from pipeline.core.text import Expression, expression_in_context, normalize, value_expressions
from pipeline.read.raw_reports import _same, _value_problems
from pipeline.validate.validation import load_and_check
from tests.helpers import edit
from tests.multi_source import write_report

D = datetime.date


def _problems(value, unit: str, value_text: str, quote: str | None = None) -> list[tuple[str, str, str]]:
    return _value_problems(value, unit, value_text, normalize(value_text), None if quote is None else normalize(quote),
                           "quote")


PERCENT_EXPECTED = ("unit = 'percent' for a value written as a percentage, and a percentage (61%, 61 percent) as the "
                    "value_text of a unit = 'percent' figure")


def test_a_share_is_written_as_a_percentage_and_only_a_share_is() -> None:
    assert _problems(61, "percent", "61 percent") == []
    assert _problems(61, "percent", "61%") == []
    assert _problems(61, "count", "61 percent") == [("unit", "'count' with value_text '61 percent'", PERCENT_EXPECTED)]
    assert _problems(61, "percent", "61") == [("unit", "'percent' with value_text '61'", PERCENT_EXPECTED)]


def test_a_value_text_without_a_number_is_refused_as_such() -> None:
    assert _problems(3, "USD billion", "an undisclosed sum") == [(
        "value_text", "'an undisclosed sum', which writes no number",
        "the value as written, with its number in digits or words and its scale word (e.g. '$13.5 billion', '937,500', "
        "'nine')")]


def test_a_count_cut_short_of_its_scale_word_is_not_told_it_means_dollars() -> None:
    assert _problems(3, "count", "3", quote="They counted 3 billion of them.") == [(
        "value_text", "'3', but the quote writes it as part of '3 billion' (3,000,000,000)",
        "the whole value expression as the quote writes it, with its scale word: value_text = '3 billion'")]


@pytest.mark.parametrize("value_text, states", [("13.5 billion", "'13.5 billion'"), ("$5 billion", "'5 billion'")])
def test_a_count_whose_value_text_states_another_number_is_a_wrong_value_not_a_wrong_unit(value_text, states) -> None:
    value = 13.5 if value_text.startswith("13.5") else 5
    number = "13,500,000,000" if value == 13.5 else "5,000,000,000"
    assert _problems(value, "count", value_text) == [
        ("value", f"{value} count", f"the number its value_text '{value_text}' states: {states}, {number}")]


def test_numbers_that_differ_only_in_their_last_binary_digit_are_the_same() -> None:
    assert _same(Decimal("0.3"), Decimal(repr(0.1 + 0.2)))
    assert not _same(Decimal("0.3"), Decimal("0.3001"))


def test_a_fraction_word_and_a_number_without_a_scale_word_are_read_whole() -> None:
    assert value_expressions("half a billion dollars") == [
        Expression("half a billion", Decimal("0.5"), Decimal(10) ** 9, "billion")]
    assert value_expressions("a million workers") == [Expression("a million", Decimal(1), Decimal(10) ** 6, "million")]
    assert value_expressions("$12") == [Expression("12", Decimal(12), Decimal(1), "")]


def test_each_unit_is_of_its_kind() -> None:
    kinds = {**{unit: v.MONEY for unit in v.MONEY_UNITS}, **{unit: v.COUNT for unit in v.COUNT_UNITS},
             **{unit: v.PERCENT for unit in v.SHARE_UNITS}}
    assert {unit: v.unit_kind(unit) for unit in v.UNITS} == kinds
    assert v.unit_kind("a unit no one knows") is None


THREE_BILLION = {"id": "cyber", "topic": "channel", "subject": "cyber", "value": 3.0, "unit": "USD billion",
                 "value_text": "$3 billion", "quote": "It took $3 billion."}
PUBLISHED_ON = D(2024, 3, 1)


def _one_figure_report(tmp_path: Path, figure: dict = THREE_BILLION, *, publisher: str = "An invented monitor",
                       published_on: datetime.date = PUBLISHED_ON, document: str | None = None) -> Path:
    """raw/ holding one invented report of 2023 stating one figure (tests.multi_source.write_report); its folder is
    raw/a-monitor-2024."""
    raw = tmp_path / "raw"
    write_report(raw, "a-monitor-2024", publisher=publisher, published_on=published_on, series="monitor",
                 period=(D(2023, 1, 1), D(2023, 12, 31)), figures=[figure], document=document)
    return raw


def _load_one(tmp_path: Path, value, unit: str, value_text: str, measure: str):
    return load_and_check(_one_figure_report(tmp_path, {
        "id": "the-figure", "topic": "channel", "subject": "cyber", "measure": measure, "value": value, "unit": unit,
        "value_text": value_text, "quote": f"It was {value_text} of all funds stolen."}))


@pytest.mark.parametrize("value", [0, 61, 100, 37.5])
def test_a_share_from_0_to_100_percent_loads_as_its_percentage(tmp_path: Path, value) -> None:
    figures = _load_one(tmp_path, value, "percent", f"{value} percent", v.SHARE).figures
    assert figures["share_percent"].tolist() == [value]
    assert figures["amount_usd"].isna().all() and figures["quantity"].isna().all()


def test_a_share_above_100_percent_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RawReportError) as refused:
        _load_one(tmp_path, 101, "percent", "101 percent", v.SHARE)
    assert [(p.field, p.found, p.expected) for p in refused.value.problems] == [
        ("value", "101 (int)", "a share between 0 and 100 (percent)")]


def test_a_count_that_is_not_whole_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RawReportError) as refused:
        _load_one(tmp_path, 2.5, "count", "2.5", v.INCIDENTS)
    assert [(p.field, p.found, p.expected) for p in refused.value.problems] == [
        ("value", "2.5 (float)", "a whole number for a count")]


# --- a value_text that the quote writes as part of a longer value expression (text.expression_in_context)

B = Decimal(10) ** 9


@pytest.mark.parametrize("value_text, quote, longer", [
    ("$3", "worth $3 billion", (Decimal(3), B, "$3 billion")),  # its scale word left out
    ("$3", "$3.5 billion", (Decimal("3.5"), B, "$3.5 billion")),  # a number cut short
    ("3", "3 billion dollars went missing", (Decimal(3), B, "3 billion")),  # at the quote's very start
    ("3", "3.5 billion stolen", (Decimal("3.5"), B, "3.5 billion")),
    ("three", "three billion dollars", (Decimal(3), B, "three billion")),  # a number in words
    ("$3", "worth $3\u00a0billion", (Decimal(3), B, "$3 billion")),  # a quote not yet normalized
    ("$3", "In 2023, it took $3 billion", (Decimal(3), B, "$3 billion")),  # past a number beside it
    ("3 billion", "$13 billion", (Decimal(13), B, "13 billion")),  # starting inside a number
    # the first place it is cut short is the one named
    ("$3", "$3 billion in 2023 and $3.5 billion in 2024", (Decimal(3), B, "$3 billion")),
    # whole somewhere: not cut short
    ("$3", "$3 billion, then $3, then $3.5 billion", None),
    ("3 billion", "worth $3 billion", None),  # only the currency sign before it
    ("US$", "US$3 billion", None),  # it ends where a number begins: the number is beside it, not in it
    ("", "worth $3 billion", None),
    ("$3", "\u0130stanbul: $3 billion", None),  # lower-casing changes the quote's length: positions would not match
])
def test_a_value_text_cut_short_in_its_quote_is_found_with_the_whole_expression(value_text, quote, longer) -> None:
    found = expression_in_context(value_text, quote)
    if longer is None:
        assert found is None
    else:
        expression, whole = found
        assert (expression.number, expression.scale, whole) == longer


def test_expressions_are_listed_in_the_order_the_text_writes_them() -> None:
    assert [e.text for e in value_expressions("half a billion dollars, then $3 billion, then 2 million")] == [
        "half a billion", "3 billion", "2 million"]


# --- the frames the loader builds, and the TOML it reads


@pytest.mark.parametrize("rows", [
    [{"a": "x", "start": pd.Timestamp("2023-01-01"), "end": pd.Timestamp("2023-12-31")},
     {"a": "y", "start": pd.Timestamp("2024-02-29"), "end": pd.Timestamp("2024-03-01")}],
    [{"a": "x", "start": pd.Timestamp("2023-01-01"), "end": None}],  # a missing date: pandas' own
    [{"a": "x", "start": pd.Timestamp("2023-01-01", tz="UTC"), "end": pd.Timestamp("2023-12-31")}],
    [{"a": "x", "start": datetime.date(2023, 1, 1), "end": pd.Timestamp("2023-12-31")}],
    [],
], ids=["timestamps", "a missing date", "a zone", "a date", "no rows"])
def test_the_loaders_frame_is_the_frame_pandas_builds_from_the_rows(rows) -> None:
    from pipeline.read.raw_reports import _frame

    columns = ["start", "a", "end"]  # a date column first, one last: each built column lands at its place
    pd.testing.assert_frame_equal(_frame(rows, columns, ("start", "end")), pd.DataFrame(rows, columns=columns))


def test_equal_strings_of_a_frame_become_one_object_each_and_nothing_else_changes() -> None:
    from pipeline.read.raw_reports import _share_repeated_values

    first, again = "USD billion", "".join(["USD ", "billion"])  # equal, two objects
    assert first == again and first is not again
    frame = pd.DataFrame({"count": [1, 2, 3, 4], "unit": [first, "count", again, None], "empty": [None] * 4})
    before = frame.copy()
    _share_repeated_values(frame, ("count", "unit", "empty"))
    pd.testing.assert_frame_equal(frame, before)
    assert frame.at[0, "unit"] is frame.at[2, "unit"]


def _toml_problems(seed_dir: Path, raw_dir: Path, name: str, text: str) -> list[tuple[str, str, str, str]]:
    (seed_dir / name).write_text(text, encoding="utf-8")
    with pytest.raises(RawReportError) as refused:
        load_and_check(raw_dir)
    assert {p.folder for p in refused.value.problems} == {f"{raw_dir.name}/{seed_dir.name}"}
    return [(p.where, p.field, p.found, p.expected) for p in refused.value.problems if p.file == name]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_bare_year_range_in_a_toml_file_is_named_with_the_dates_it_means(seed_dir: Path, raw_dir: Path, where) -> None:
    lines = (seed_dir / "report.toml").read_text(encoding="utf-8").rstrip("\n").splitlines()
    kept = [line for line in lines if not line.startswith("period_start = ")]
    at = {"first": 0, "middle": len(kept) // 2, "last": len(kept)}[where]
    kept.insert(at, "period_start = 2017-2023")
    assert _toml_problems(seed_dir, raw_dir, "report.toml", "\n".join(kept) + "\n") == [(
        f"line {at + 1}", "period_start", "invalid TOML (a bare year range 2017-2023)",
        "a year range 2017-2023 means period_start = 2017-01-01 and period_end = 2023-12-31 (TOML dates, no quotes)")]


def test_invalid_toml_is_named_by_its_line_and_column_once(seed_dir: Path, raw_dir: Path) -> None:
    [(where, field, found, _)] = _toml_problems(seed_dir, raw_dir, "figures.toml", "# figures\nthis is = = not TOML\n")
    assert (where, field) == ("line 2", "")
    assert found.startswith("invalid TOML (") and found.endswith(", at column 6)") and "line" not in found


@pytest.mark.parametrize("text, found", [("", "an empty file"), ("correction = [\n", None)])
def test_an_empty_or_invalid_corrections_toml_is_named_in_its_folder(seed_dir: Path, raw_dir: Path, text, found) -> None:
    [(where, _, problem, _)] = _toml_problems(seed_dir, raw_dir, "corrections.toml", text)
    assert problem == found if found else problem.startswith("invalid TOML (")


def test_toml_nested_too_deeply_is_named_as_such(seed_dir: Path, raw_dir: Path) -> None:
    deep = "a = " + "[" * 200 + "]" * 200 + "\n"
    assert [(found, expected) for _, _, found, expected in _toml_problems(seed_dir, raw_dir, "figures.toml", deep)] == [
        ("tables or arrays nested too deeply to read", "a flat TOML file of [[figure]] / key = value lines")]


# --- the stored document a report.toml names


def _one_report(tmp_path: Path, document: str | bytes, source_file: str = "document.txt") -> Path:
    """raw/ with one report of one figure quoting 'It took $3 billion.', its document `document`."""
    raw = _one_figure_report(tmp_path, document=document if isinstance(document, str) else "placeholder\n")
    folder = raw / "a-monitor-2024"
    if isinstance(document, bytes):
        (folder / "document.txt").write_bytes(document)
    if source_file != "document.txt":
        edit(folder / "report.toml", 'source_file = "document.txt"', f'source_file = "{source_file}"')
    return raw


def _refusals(raw: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(RawReportError) as refused:
        load_and_check(raw)
    return [(p.file, p.field, p.found) for p in refused.value.problems]


@pytest.mark.parametrize("source_file", ["copies/document.txt", "copies\\\\document.txt", ".document.txt"])
def test_a_document_named_by_a_path_or_a_hidden_name_is_refused(tmp_path: Path, source_file: str) -> None:
    raw = _one_report(tmp_path, "It took $3 billion.\n", source_file=source_file)
    name = source_file.replace("\\\\", "\\")
    assert ("report.toml", "source_file", f"{name!r} (str)") in _refusals(raw)


def test_a_document_that_is_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    raw = _one_report(tmp_path, "It took $3 billion.\n")
    elsewhere = tmp_path / "elsewhere.txt"
    (raw / "a-monitor-2024" / "document.txt").rename(elsewhere)
    (raw / "a-monitor-2024" / "document.txt").symlink_to(elsewhere)
    assert ("report.toml", "source_file", f"'document.txt', a symbolic link to {str(elsewhere)!r}") in _refusals(raw)


def test_a_document_of_the_largest_size_is_read(tmp_path: Path) -> None:
    from pipeline.read.raw_reports import MAX_SOURCE_BYTES

    text = "It took $3 billion.\n"
    raw = _one_report(tmp_path, text + " " * (MAX_SOURCE_BYTES - len(text) - 1) + "\n")
    assert (raw / "a-monitor-2024" / "document.txt").stat().st_size == MAX_SOURCE_BYTES
    assert load_and_check(raw).figures["amount_usd"].tolist() == [3e9]


def test_a_document_in_windows_1252_is_refused_saying_where_and_how_to_convert_it(tmp_path: Path) -> None:
    from tests.test_strength_loader import ICONV

    data = "The monitor said \u201cIt took $3 billion.\u201d\n".encode("cp1252")
    raw = _one_report(tmp_path, data)
    assert ("document.txt", "", "byte 0x93 at offset 17 (line 1), which is not UTF-8" + ICONV) in _refusals(raw)


# --- the frames load_report gives: every column the schemas expect, for every kind of figure


def test_the_loaded_frames_of_every_kind_of_figure_pass_the_schemas_with_their_derived_columns(raw_dir: Path) -> None:
    from pipeline.validate.validation import validate_raw
    from tests.multi_source import THINK_TANK, write_sources

    write_sources(raw_dir)
    loaded = load_and_check(raw_dir)
    validated = validate_raw(loaded, raw_dir.name)  # strict schemas: a column missing or misnamed is refused
    figures = validated.figures.set_index(["report_id", "figure_id"])
    bounds = [b if isinstance(b, str) else None for b in figures["bound"]]
    assert bounds == [v.QUALIFIER_BOUNDS.get(q) if isinstance(q, str) else None for q in figures["qualifier"]]
    assert {"lower", "approximate"} <= set(figures.loc[THINK_TANK]["bound"].dropna()) and None in bounds
    assert (figures["best_share_percent"].dropna() == figures["share_percent"].dropna()).all()
    assert figures["share_percent"].notna().sum() == 1
    assert set(figures["measure"]) <= set(v.MEASURES) and figures["measure"].notna().all()
    assert list(validated.reports.columns) == list(loaded.reports.columns)
    assert validated.reports["source_sha256"].str.fullmatch("[0-9a-f]{64}").all()


@pytest.mark.parametrize("days, refused", [(0, False), (1, True)])
def test_a_report_published_after_the_latest_date_anywhere_is_refused(tmp_path: Path, days: int, refused: bool) -> None:
    from pipeline.read.raw_reports import latest_today

    raw = _one_figure_report(tmp_path, published_on=latest_today() + datetime.timedelta(days=days))
    if not refused:
        assert len(load_and_check(raw).reports) == 1
        return
    assert [(p.file, p.field) for p in pytest.raises(RawReportError, load_and_check, raw).value.problems] == [
        ("report.toml", "published_on")]


def test_a_placeholder_left_in_a_report_or_a_figure_is_named_where_it_is(tmp_path: Path) -> None:
    raw = _one_figure_report(tmp_path, {**THREE_BILLION, "notes": "TBD"}, publisher="TODO: the publisher")
    problems = pytest.raises(RawReportError, load_and_check, raw).value.problems
    assert sorted((p.folder, p.file, p.where, p.field) for p in problems) == [
        ("raw/a-monitor-2024", "figures.toml", "figure 'cyber' (line 2)", "notes"),
        ("raw/a-monitor-2024", "report.toml", "", "publisher")]
