"""Tests written from the survivors of `make mutation` (docs/mutation.md): what the loader, validation
and the per-report checks decide."""

from __future__ import annotations

import datetime
import hashlib
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.errors import Problem, RawReportError
from pipeline.core.text import value_text_parts, visible
from pipeline.read.raw_reports import RawReports, load_raw, not_utf8
from pipeline.validate.report_checks import (
    AS_PUBLISHED,
    _times,
    channels_within_total,
    corrections_change_values,
    diagnose,
    no_channel_exceeds_total,
    run_report_checks,
    totals_consistent,
)
from pipeline.validate.schemas import TABLE_SCHEMAS, ValidationResultSchema
from pipeline.validate.validation import _one_per_row, load_and_check, table_problems, validate_raw
from tests.conftest import RAW, SEED_ID
from tests.helpers import edit, find_problem
from tests.multi_source import write_report
from tests.test_strength_values import PUBLISHED_ON, THREE_BILLION


def _verdict(raw_dir: Path, check: str, basis: str) -> tuple:
    raw = load_raw(raw_dir)
    results = run_report_checks(raw.reports, raw.figures)
    (row,) = results[(results["check_name"] == check) & (results["value_basis"] == basis)].itertuples()
    return row.passed, row.status, row.message


def test_a_money_correction_equal_to_the_published_value_is_named_in_dollars(seed_dir: Path, raw_dir: Path) -> None:
    # the wire story's table also states the article's $13.5 billion: a correction to it loads, and changes nothing
    edit(seed_dir / "corrections.toml", 'value = 1.35\nunit = "USD billion"\nvalue_text = "$1.35 billion"',
         'value = 13.5\nunit = "USD billion"\nvalue_text = "$13.5 billion"')
    passed, status, message = _verdict(raw_dir, "corrections_change_values", AS_PUBLISHED)
    assert (passed, status) == (False, "failed")
    assert message.startswith("1 of 7 correction(s) leave the value as published: cyber-income (13.5e9); ")


# --- the words for a file that is not UTF-8 (raw_reports.not_utf8): where, and how to convert it


def _not_utf8(data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return not_utf8(data, exc)
    raise AssertionError("the data is UTF-8")


ICONV = ("; the file looks like Windows-1252: convert it with iconv -f WINDOWS-1252 -t UTF-8 <file> > <file>.utf8 "
         "and store that (then update its sha256)")


def test_a_windows_1252_file_is_located_by_byte_offset_and_line_with_how_to_convert_it() -> None:
    data = "Title\nThe panel said \u201cmore\u201d.".encode("cp1252")
    assert _not_utf8(data) == "byte 0x93 at offset 21 (line 2), which is not UTF-8" + ICONV


def test_a_pdf_is_named_as_one_whatever_its_bytes() -> None:
    assert _not_utf8(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") == (
        "byte 0xe2 at offset 10 (line 2), which is not UTF-8; the file is a PDF: store the text extracted from it")


def test_a_mixed_file_gets_the_conversion_only_for_a_typographic_byte_windows_1252_defines() -> None:
    utf8_line = "\u00c1 line\n".encode()  # UTF-8 whose second byte (0x81) Windows-1252 does not define
    assert _not_utf8(utf8_line + b"a \x93quote\x94") == "byte 0x93 at offset 10 (line 2), which is not UTF-8" + ICONV
    assert _not_utf8(utf8_line + b"caf\xe9") == "byte 0xe9 at offset 11 (line 2), which is not UTF-8"  # Latin-1
    assert _not_utf8(utf8_line + b"x\x81y") == "byte 0x81 at offset 9 (line 2), which is not UTF-8"  # undefined
    assert _not_utf8(utf8_line + b"x\x9fy") == "byte 0x9f at offset 9 (line 2), which is not UTF-8" + ICONV
    assert _not_utf8(utf8_line + b"x\x80y") == "byte 0x80 at offset 9 (line 2), which is not UTF-8" + ICONV
    assert _not_utf8(utf8_line + b"x\xa0y") == "byte 0xa0 at offset 9 (line 2), which is not UTF-8"  # Latin-1 too


# --- totals for the parts of a period against the total for the whole (report_checks.totals_consistent)

YEAR, FIRST_HALF, SECOND_HALF = ("2023-01-01", "2023-12-31"), ("2023-01-01", "2023-06-30"), ("2023-07-01", "2023-12-31")
A_REPORT = {"report_id": "a-report", "period_start": pd.Timestamp(YEAR[0]), "period_end": pd.Timestamp(YEAR[1])}


def _total(figure_id: str, amount: float, period: tuple[str, str], qualifier: str | None = None) -> dict:
    return {"figure_id": figure_id, "topic": "total", "subject": "illicit_income", "amount_usd": amount,
            "best_amount_usd": amount, "period_start": pd.Timestamp(period[0]), "period_end": pd.Timestamp(period[1]),
            "corrected": False, "qualifier": qualifier}


def _halves_against_year(year: float, first: float, second: float, qualifier: str | None = None) -> tuple:
    passed, message = totals_consistent(A_REPORT, [_total("year", year, YEAR, qualifier),
                                                   _total("h1", first, FIRST_HALF), _total("h2", second, SECOND_HALF)],
                                        AS_PUBLISHED)
    return passed, message.rpartition("; ")[2]  # the comparison of the parts with the whole comes last


PARTS = "h1 {} (2023-01-01..2023-06-30) + h2 {} (2023-07-01..2023-12-31)"


def test_halves_that_add_up_to_the_year_agree_with_it() -> None:
    assert _halves_against_year(10e9, 4e9, 6e9) == (
        True, f"totals for the parts of 2023-01-01..2023-12-31 sum to 10e9 ({PARTS.format('4e9', '6e9')}) "
              "and agree with 10e9 stated for the whole")


def test_halves_ten_times_the_year_are_named_a_likely_unit_slip() -> None:
    assert _halves_against_year(10e9, 40e9, 60e9) == (
        False, f"totals for the parts of 2023-01-01..2023-12-31 sum to 100e9 ({PARTS.format('40e9', '60e9')}) "
               "vs 10e9 stated for the whole: off by a factor of 10, a decimal or unit slip is likely")


def test_halves_short_of_the_year_give_the_ratio() -> None:
    assert _halves_against_year(10e9, 4e9, 2e9) == (
        False, f"totals for the parts of 2023-01-01..2023-12-31 sum to 6e9 ({PARTS.format('4e9', '2e9')}) "
               "vs 10e9 stated for the whole, 0.6x")


def test_halves_above_a_lower_bound_for_the_year_agree_and_the_bound_is_named() -> None:
    assert _halves_against_year(10e9, 6e9, 7e9, qualifier="more than") == (
        True, f"totals for the parts of 2023-01-01..2023-12-31 sum to 13e9 ({PARTS.format('6e9', '7e9')}) "
              "and agree with 10e9 stated for the whole, a lower bound ('more than 10e9')")


# --- a template's placeholder left in a report is refused where it is (raw_reports._placeholders)


def _refused(raw_dir: Path) -> RawReportError:
    with pytest.raises(RawReportError) as info:
        load_raw(raw_dir)
    return info.value


def test_a_placeholder_left_in_report_toml_is_refused_naming_the_field(seed_dir: Path, raw_dir: Path) -> None:
    edit(seed_dir / "report.toml", 'series = "inss-illicit-income"', 'series = "TODO"')
    problem = find_problem(_refused(raw_dir), folder=f"raw/{SEED_ID}", file="report.toml", field="series")
    assert problem.found.startswith("'TODO'") and problem.found.endswith(", a placeholder left in")


def test_a_placeholder_left_in_a_figure_is_refused_naming_the_figure_and_field(seed_dir: Path, raw_dir: Path) -> None:
    edit(seed_dir / "figures.toml", 'quote = "the North Korean government has acquired nearly $6.3 billion in illegal '
                                    'income from 2017 to 2023"', 'quote = "TBD, see the document"')
    problems = [p for p in _refused(raw_dir).problems if p.found.endswith("a placeholder left in")]
    assert [(p.file, p.field) for p in problems] == [("figures.toml", "quote")]
    assert "total-illicit-income" in problems[0].where and problems[0].found.startswith("'TBD, see the document'")


# --- the digits and scale of a value as written (text.value_text_parts)


def test_a_value_text_is_read_as_its_digits_without_commas_and_its_scale() -> None:
    assert value_text_parts("$1,500 million") == ("1500", Decimal(10) ** 6)
    assert value_text_parts("937,500") == ("937500", Decimal(1))
    assert value_text_parts("61%") == ("61", Decimal(1))  # a share's number is its digits


# --- a row that breaks a key of several columns is one problem (validation._one_per_row)


def _key_problem(where: str, file: str, field: str, found: str) -> Problem:
    return Problem(f"raw/{SEED_ID}", file, where=where, field=field, found=found,
                   expected="unique together with figure_id, period_start")


def test_the_columns_of_a_broken_key_merge_into_one_problem_per_row_after_any_other_problem() -> None:
    other = Problem(f"raw/{SEED_ID}", "figures.toml", where="figure 'a' (line 3)", field="value", found="-1",
                    expected="at least 0")
    where = "figure 'b' (line 9)"
    merged = _one_per_row([other, _key_problem(where, "figures.toml", "figure_id", "'b'"),
                           _key_problem(where, "figures.toml", "period_start", "Timestamp('2023-01-01 00:00:00')")])
    assert merged[0] == other
    assert [(p.where, p.field, p.found) for p in merged[1:]] == [
        ("figure 'b' (line 9)", "figure_id, period_start", "figure_id='b', period_start=2023-01-01")]
    assert merged[1].expected == ("a row whose figure_id, period_start no other row has (another row has the same); "
                                  "two figures of the report make the same row: give each the period its quote states "
                                  "(period_start, period_end), or keep one")


def test_a_broken_key_outside_figures_toml_gets_no_advice_about_figures() -> None:
    [merged] = _one_per_row([_key_problem("", "report.toml", "report_id", "'a-report'")])
    assert merged.expected == "a row whose report_id no other row has (another row has the same)"


# --- a frame the schema cannot even read row by row (validation.failure_problems)


def test_figures_missing_a_column_are_refused_at_the_raw_folder_naming_the_column(raw_dir: Path) -> None:
    """The loader always writes every column; if a change to it did not, the schema refuses the whole frame
    (no row to point at) instead of crashing or publishing."""
    raw = load_raw(raw_dir)
    with pytest.raises(RawReportError) as info:
        validate_raw(RawReports(reports=raw.reports, figures=raw.figures.drop(columns=["subject"])), raw_dir.name)
    problems = info.value.problems
    assert Problem("raw", "", field="FigureSchema", found="'subject'", expected="the column to be present") in problems
    row_rules = [p for p in problems if p.found == "a row that breaks it"]  # rules on the subject, no row to show
    assert row_rules and all((p.folder, p.file, p.where, p.field) == ("raw", "", "", "subject") for p in row_rules)


# --- a value_text that disagrees with value and unit: the refusal says what the text means, in plain numbers


def test_a_disagreeing_value_text_is_refused_saying_what_it_means_in_plain_dollars(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    write_report(raw, "a-report", publisher="A publisher", published_on=datetime.date(2024, 1, 10), series="a-series",
                 period=(datetime.date(2023, 1, 1), datetime.date(2023, 12, 31)), figures=[
                     {"id": "cyber-income", "topic": "channel", "subject": "cyber", "value": 30, "unit": "USD billion",
                      "value_text": "$20 billion", "quote": "Cyber theft brought $20 billion in 2023."},
                     {"id": "coal-income", "topic": "channel", "subject": "coal_smuggling", "value": 2.0,
                      "unit": "USD million", "value_text": "$2.0 billion", "quote": "Coal brought $2.0 billion in 2023."},
                     {"id": "labor-income", "topic": "channel", "subject": "overseas_labor", "value": 2.5, "unit": "USD",
                      "value_text": "$2.50", "quote": "Workers abroad sent $2.50 billion home in 2023."}])
    problems = {p.where.split("'")[1]: (p.field, p.found, p.expected) for p in _refused(raw).problems}
    assert problems["cyber-income"] == ("value", "30 USD billion", "the number its value_text '$20 billion' states: "
                                        "'20 billion' (20 USD billion), 20,000,000,000 US dollars")
    assert problems["coal-income"] == ("unit", "'USD million', which makes 2.0 USD million = 2,000,000 US dollars",
                                       "'USD billion', the unit '2.0 billion' of value_text '$2.0 billion' means "
                                       "(2,000,000,000 US dollars)")
    assert problems["labor-income"][:2] == ("value_text", "'$2.50', but the quote writes it as part of '2.50 billion', "
                                            "which means 2.5 USD billion (2,500,000,000 US dollars)")
    assert problems["labor-income"][2].endswith(": value_text = '$2.50 billion', value = 2.5, unit = 'USD billion'")


def test_a_count_correction_equal_to_the_published_count_is_named_as_a_count_not_in_dollars() -> None:
    tonnes = {"figure_id": "coal-tonnes", "topic": "channel", "subject": "coal_smuggling", "amount_usd": None,
              "best_amount_usd": None, "quantity": 1_500_000.0, "best_quantity": 1_500_000.0, "corrected": True}
    passed, message = corrections_change_values(A_REPORT, [tonnes])
    assert passed is False
    assert message.startswith("1 of 1 correction(s) leave the value as published: coal-tonnes (1500000.0); ")


def test_a_message_shows_invisible_characters_and_white_space_other_than_a_space_escaped() -> None:
    assert visible("naïve “quote”") == "naïve “quote”"  # printable letters and quotes stay as they are
    assert visible("zero\u200bwidth, no\xa0break") == "zero\\u200bwidth, no\\xa0break"
    assert visible("a tab\there, a line\nthere") == "a tab\\there, a line\\nthere"  # ASCII, but not printable


def test_a_correction_without_its_evidence_sha256_is_refused_with_the_digest_to_fill_in(seed_dir: Path, raw_dir: Path) -> None:
    text = (seed_dir / "corrections.toml").read_text(encoding="utf-8")
    digest = "5413aceb76ee10e47ebe353956b06b3ea507e9043a60b53692fac74b59d1bb2a"
    (seed_dir / "corrections.toml").write_text(text.replace(f'evidence_sha256 = "{digest}"\n', "", 1), encoding="utf-8")
    problem = find_problem(_refused(raw_dir), folder=f"raw/{SEED_ID}", file="corrections.toml", field="evidence_sha256")
    assert problem.found == "nothing"
    assert problem.expected == (f"the sha256 of yonhap-wire-2024-09-03.md, which is '{digest}' (python -m pipeline "
                                f"hash-evidence raw/{SEED_ID} fills it in)")


def test_evidence_that_changed_since_its_correction_or_is_not_utf8_is_refused_naming_the_field(seed_dir: Path,
                                                                                               raw_dir: Path) -> None:
    digest = "5413aceb76ee10e47ebe353956b06b3ea507e9043a60b53692fac74b59d1bb2a"
    evidence = seed_dir / "yonhap-wire-2024-09-03.md"
    data = evidence.read_bytes() + "\nAdded later: \u201cquoted\u201d.\n".encode("cp1252")  # not UTF-8 any more
    evidence.write_bytes(data)
    actual = hashlib.sha256(data).hexdigest()
    refused = _refused(raw_dir)
    changed = find_problem(refused, folder=f"raw/{SEED_ID}", file="corrections.toml", field="evidence_sha256")
    assert changed.found == f"'{digest}'" and f"which is '{actual}' (the evidence changed" in changed.expected
    not_text = find_problem(refused, folder=f"raw/{SEED_ID}", file="corrections.toml", field="evidence_file")
    assert not_text.found.startswith("'yonhap-wire-2024-09-03.md', byte 0x93 at offset ")
    assert not_text.expected == "a UTF-8 text file"


# --- the words of the report checks' verdicts (report_checks: channels, totals, corrections), as published in
# validation_results.message; written from survivors of `make mutation` (docs/mutation.md)


def _channel(figure_id: str, amount: float, period: tuple[str, str], subject: str = "cyber") -> dict:
    return {**_total(figure_id, amount, period), "topic": "channel", "subject": subject}


def test_a_channel_stated_for_a_part_of_its_own_year_is_left_out_as_part_of_it_whatever_the_order() -> None:
    # the longer period is kept and summed, the shorter named as part of it, though it is stated first
    passed, message = channels_within_total(A_REPORT, [
        _total("total", 10e9, YEAR), _channel("cyber-h1", 1e9, FIRST_HALF), _channel("cyber-year", 3e9, YEAR)])
    assert passed is True
    assert message == ("channels sum to 3e9, within the stated total 10e9 (2023-01-01..2023-12-31; cyber 3e9; "
                       "not summed, a part or repeat of another figure of its channel: cyber-h1 "
                       "(2023-01-01..2023-06-30, part of cyber-year's 2023-01-01..2023-12-31))")


@pytest.mark.parametrize("earlier, later", [
    (("2023-01-01", "2023-06-30"), ("2023-06-30", "2023-12-31")),  # the later one is longer: kept
    (("2022-12-01", "2023-06-30"), ("2023-06-30", "2023-12-31")),  # the earlier one is longer: kept
])
def test_two_figures_of_a_channel_sharing_a_single_day_overlap_and_are_not_both_summed(earlier, later) -> None:
    passed, message = channels_within_total(A_REPORT, [
        _total("total", 10e9, ("2022-12-01", "2023-12-31")), _channel("a", 1e9, earlier), _channel("b", 2e9, later)])
    kept, left = ("a", "b") if earlier[0] == "2022-12-01" else ("b", "a")
    period = {"a": f"{earlier[0]}..{earlier[1]}", "b": f"{later[0]}..{later[1]}"}
    assert f"{left} ({period[left]}, overlaps {kept}'s {period[kept]})" in message
    assert message.startswith(f"channels sum to {'1e9' if kept == 'a' else '2e9'},")


def test_a_channel_is_compared_with_totals_that_cover_its_period_only_when_they_cover_every_day() -> None:
    channel = _channel("cyber-year", 20e9, YEAR)
    short_by_a_day = [_total("h1", 4e9, FIRST_HALF), _total("h2", 5e9, ("2023-07-01", "2023-12-30"))]
    passed, message = no_channel_exceeds_total(A_REPORT, [*short_by_a_day, channel])
    assert (passed, message) == (None, "not compared: no channel lies inside a total's period "
                                       "(cyber 20e9 (2023-01-01..2023-12-31))")
    covering = [_total("h1", 4e9, FIRST_HALF), _total("h2", 5e9, SECOND_HALF)]
    passed, message = no_channel_exceeds_total(A_REPORT, [*covering, channel])
    assert passed is False
    assert "cyber 20e9 (2023-01-01..2023-12-31) exceeds the totals that cover its period together" in message


def test_parts_that_miss_the_whole_by_exactly_the_tolerance_still_agree_with_it() -> None:
    # 2% of 100e9 either way: 102e9 and 98e9 agree, the edges included
    assert _halves_against_year(100e9, 51e9, 51e9)[0] is True
    assert _halves_against_year(100e9, 49e9, 49e9)[0] is True
    assert _halves_against_year(100e9, 52e9, 51e9)[0] is False


def test_a_ratio_near_one_is_shown_with_the_digits_that_place_it_against_the_tolerance_on_either_side() -> None:
    assert _times(97.95, 100) == "0.9795x"  # "0.98x" would read as exactly on the edge of a 2% tolerance
    assert _times(102.1, 100) == "1.021x"
    assert _times(830, 100) == "8.3x"
    assert _times(12000, 100) == "120x"
    assert _times(5, 0) == "against a stated 0"


def test_a_slip_is_named_for_amounts_of_one_and_against_a_stated_one() -> None:
    assert diagnose(1, 10) == "off by a factor of 10, a decimal or unit slip is likely"
    assert diagnose(10, 1) == "off by a factor of 10, a decimal or unit slip is likely"
    assert diagnose(0, 10) == "" and diagnose(10, 0) == ""


@pytest.mark.parametrize("missing_money", [None, float("nan"), pd.NA])
def test_a_count_correction_that_changes_the_count_is_seen_changing_it(missing_money) -> None:
    tonnes = {"figure_id": "coal-tonnes", "topic": "channel", "subject": "coal_smuggling", "amount_usd": missing_money,
              "best_amount_usd": missing_money, "quantity": 1_500_000.0, "best_quantity": 1_200_000.0,
              "corrected": True}
    assert corrections_change_values(A_REPORT, [tonnes]) == (True, "each of 1 correction(s) changes its figure's value")
    same = {**tonnes, "best_quantity": 1_500_000.0}
    assert corrections_change_values(A_REPORT, [same])[0] is False


def test_a_correction_citing_an_implausible_date_is_refused_naming_the_field(seed_dir: Path, raw_dir: Path) -> None:
    text = (seed_dir / "corrections.toml").read_text(encoding="utf-8")
    (seed_dir / "corrections.toml").write_text(text.replace("cited_date = 2024-09-03", "cited_date = 1850-09-03", 1),
                                               encoding="utf-8")
    problem = find_problem(_refused(raw_dir), folder=f"raw/{SEED_ID}", file="corrections.toml", field="cited_date")
    assert problem.found == "1850-09-03"
    assert problem.expected.startswith("a date between ")


# --- where a table check's problem is located (validation.table_problems), on hand-made frames


_CHECK_ROW = {"report_id": "r1", "check_name": "sources_agree", "severity": "warn", "value_basis": "as_published",
              "passed": True, "status": "passed", "message": "m"}


def test_a_bad_row_of_a_table_without_figures_is_named_by_its_report_and_check() -> None:
    frame = pd.DataFrame([_CHECK_ROW, {**_CHECK_ROW, "check_name": "totals_consistent", "severity": "bogus"}])
    assert table_problems("validation_results", frame, ValidationResultSchema) == [Problem(
        "table validation_results", "", where="row 1 (report r1, totals_consistent)", field="severity",
        found="'bogus'", expected="one of ['error', 'warn']")]


def test_a_table_without_its_report_id_column_is_refused_as_a_table_with_its_bad_rows() -> None:
    frame = pd.DataFrame([_CHECK_ROW, {**_CHECK_ROW, "check_name": "totals_consistent", "severity": "bogus"}]
                         ).drop(columns=["report_id"])
    assert table_problems("validation_results", frame, ValidationResultSchema) == [
        Problem("table validation_results", "", where="", field="ValidationResultSchema", found="'report_id'",
                expected="the column to be present"),
        Problem("table validation_results", "", where="", field="severity", found="'bogus'",
                expected="one of ['error', 'warn']")]


def test_a_bad_row_that_comes_from_a_figure_is_located_at_the_figure_in_its_raw_folder(raw_dir: Path) -> None:
    figures = load_raw(raw_dir).figures.copy()
    figures.loc[0, "topic"] = "bogus"
    [problem] = table_problems("figures", figures, TABLE_SCHEMAS["figures"], raw_name="raw")
    assert (problem.folder, problem.file, problem.where, problem.field) == (
        f"raw/{figures.loc[0, 'report_id']}", "figures.toml", f"figure '{figures.loc[0, 'figure_id']}' (table figures, row 0)",
        "topic")
    # without the raw folder's name (a table checked on its own), the row is named in its table
    [problem] = table_problems("figures", figures, TABLE_SCHEMAS["figures"])
    assert (problem.folder, problem.where) == (
        "table figures", f"row 0 (report {figures.loc[0, 'report_id']}, {figures.loc[0, 'figure_id']})")


def test_a_bad_row_of_a_table_keyed_by_report_only_is_named_by_its_report(raw_dir: Path) -> None:
    reports = load_raw(raw_dir).reports.copy()
    reports.loc[0, "source_sha256"] = "nothex"
    [problem] = table_problems("reports", reports, TABLE_SCHEMAS["reports"], raw_name="raw")
    assert (problem.folder, problem.file, problem.where) == (
        "table reports", "", f"row 0 (report {reports.loc[0, 'report_id']})")


# --- run_report_checks groups the figures by report, however the frame orders them


def _two_reports(raw_dir: Path) -> RawReports:
    shutil.copytree(RAW / SEED_ID, raw_dir / "another-report-2024-09-04")
    return load_raw(raw_dir)


def test_the_report_checks_see_each_reports_figures_however_the_rows_are_interleaved(raw_dir: Path) -> None:
    raw = _two_reports(raw_dir)
    together = run_report_checks(raw.reports, raw.figures)
    first = raw.figures.index[raw.figures["report_id"] == SEED_ID].tolist()
    second = raw.figures.index[raw.figures["report_id"] != SEED_ID].tolist()
    interleaved = raw.figures.loc[[i for pair in zip(first, second, strict=True) for i in pair]]
    pd.testing.assert_frame_equal(run_report_checks(raw.reports, interleaved), together)


def test_each_of_three_reports_is_checked_on_its_own_figures_alone(raw_dir: Path) -> None:
    # three editions of the seed, one after the other in the frame, the second without its channels and the
    # third without its total: each report's verdicts are those it gets when it is checked alone
    for name in ("another-report-2024-09-04", "third-report-2024-09-05"):
        shutil.copytree(RAW / SEED_ID, raw_dir / name)
    raw = load_raw(raw_dir)
    dropped = {"another-report-2024-09-04": "channel", "third-report-2024-09-05": "total"}
    figures = raw.figures[[dropped.get(r) != t for r, t in zip(raw.figures["report_id"], raw.figures["topic"], strict=True)]]
    figures = figures.sort_values("report_id", kind="stable").reset_index(drop=True)
    assert figures["report_id"].unique().tolist() == sorted(raw.reports["report_id"])
    together = run_report_checks(raw.reports, figures)
    messages = set()
    for report_id in raw.reports["report_id"]:
        alone = run_report_checks(raw.reports[raw.reports["report_id"] == report_id],
                                  figures[figures["report_id"] == report_id])
        mine = together[together["report_id"] == report_id].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone.reset_index(drop=True))
        messages.add(tuple(mine.loc[mine["check_name"] == "channels_within_total", "message"]))
    assert len(messages) == 3  # the three reports' figures differ, and so do their verdicts


def test_a_channels_yearly_rate_is_not_summed_with_the_channels_income() -> None:
    passed, message = channels_within_total(A_REPORT, [
        _total("total", 10e9, YEAR), _channel("cyber-year", 3e9, YEAR),
        {**_channel("workers", 2e9, YEAR, subject="overseas_labor"), "measure": "income_per_year"}])
    assert (passed, message) == (True, "channels sum to 3e9, within the stated total 10e9 (2023-01-01..2023-12-31; cyber 3e9)")


def test_a_report_without_figures_is_checked_as_stating_nothing(raw_dir: Path) -> None:
    raw = _two_reports(raw_dir)
    figures = raw.figures[raw.figures["report_id"] == SEED_ID]
    results = run_report_checks(raw.reports, figures)
    empty = results[results["report_id"] == "another-report-2024-09-04"]
    assert len(empty) == len(results[results["report_id"] == SEED_ID]) > 0
    assert (empty.loc[empty["check_name"] == "channels_within_total", "message"].tolist()
            == ["not compared: the report states no total"] * 2)


def test_a_frame_of_no_figures_without_columns_is_a_report_stating_nothing(raw_dir: Path) -> None:
    raw = load_raw(raw_dir)
    stating_nothing = run_report_checks(raw.reports, raw.figures.iloc[0:0])
    pd.testing.assert_frame_equal(run_report_checks(raw.reports, pd.DataFrame()), stating_nothing)
    assert "not compared: the report states no total" in stating_nothing["message"].tolist()


def test_no_reports_give_an_empty_frame_of_the_results_columns(raw_dir: Path) -> None:
    raw = load_raw(raw_dir)
    results = run_report_checks(raw.reports.iloc[0:0], raw.figures.iloc[0:0])
    assert len(results) == 0
    assert list(results.columns) == list(run_report_checks(raw.reports, raw.figures).columns)


def test_periods_given_as_dates_read_as_days_in_a_verdict() -> None:
    # records from another caller than the loader (dates, not pandas Timestamps) are worded the same
    figures = [{**_total("year", 10e9, YEAR), "period_start": datetime.date(2023, 1, 1),
                "period_end": datetime.date(2023, 12, 31)},
               {**_channel("cyber-year", 3e9, YEAR), "period_start": datetime.date(2023, 1, 1),
                "period_end": datetime.date(2023, 12, 31)}]
    passed, message = channels_within_total(A_REPORT, figures)
    assert (passed, message) == (True, "channels sum to 3e9, within the stated total 10e9 (2023-01-01..2023-12-31; "
                                       "cyber 3e9)")


def test_channels_that_are_all_upper_bounds_sum_to_at_least_zero() -> None:
    passed, message = channels_within_total(A_REPORT, [_total("total", 10e9, YEAR),
                                                       {**_channel("cyber-year", 2e9, YEAR), "qualifier": "up to"}])
    assert passed is True
    assert message == ("channels sum to 2e9 (at least 0: an upper bound ('up to 2e9') counted from 0), within the stated "
                       "total 10e9 (2023-01-01..2023-12-31; cyber 2e9)")


# --- load_and_check: what the loader refused is not refused again through what derives from it; the rest is


def _refused_at(raw_dir: Path) -> list[tuple[str, str, str]]:
    """(file, where without its line, field) of every problem load_and_check reports, sorted."""
    with pytest.raises(RawReportError) as refused:
        load_and_check(raw_dir)
    return sorted((p.file, p.where.split(" (line")[0], p.field) for p in refused.value.problems)


def test_a_value_the_loader_refused_is_not_refused_again_through_its_unit_but_another_figures_problem_is(
        seed_dir: Path, raw_dir: Path) -> None:
    # 937,500 shells written as 937,500,000,000: the loader refuses the value (too large, and not what its
    # value_text says); the schemas would add that the count has no quantity, which says the same again
    edit(seed_dir / "figures.toml", "value = 937_500\n", "value = 937_500_000_000\n")
    edit(seed_dir / "figures.toml", 'id = "arms-kn-23-missiles"', 'id = "KN_23"')  # only the schemas see this one
    assert _refused_at(raw_dir) == [("figures.toml", "figure 'KN_23'", "id"),
                                    ("figures.toml", "figure 'arms-152mm-shells'", "value"),
                                    ("figures.toml", "figure 'arms-152mm-shells'", "value")]


def test_a_report_whose_figures_could_not_be_read_is_still_checked_by_the_schemas(seed_dir: Path, raw_dir: Path) -> None:
    (seed_dir / "figures.toml").write_text("this is = = not TOML\n", encoding="utf-8")
    text = (seed_dir / "report.toml").read_text(encoding="utf-8")
    series = next(line for line in text.splitlines() if line.startswith("series = "))
    edit(seed_dir / "report.toml", series, 'series = "Not A Slug"')
    assert _refused_at(raw_dir) == [("figures.toml", "line 1", ""), ("report.toml", "", "series")]


# --- where a figure is located in figures.toml, however the file is written


def test_each_figure_id_is_found_on_its_own_line_and_not_inside_another_line() -> None:
    from pipeline.read.raw_reports import _figure_lines

    text = ("\n"  # a blank first line
            "[[figure]]\n"
            "id = \"first\"\n"  # line 3
            "quote = \"It was paid = 'x' in all\"\n"  # "id = 'x'" inside a line: not an id
            "\n"
            "[[figure]]\n"
            "  id = \"second\"\n"  # line 7, indented
            "\tid = \"first\"\n"  # the same id again: its first line is kept
            "id = 'third'\n")  # line 9
    assert _figure_lines(text) == {"first": 3, "second": 7, "third": 9}
    assert _figure_lines('\nid = "on-line-two"\n') == {"on-line-two": 2}


def _figures_file_problems(seed_dir: Path, raw_dir: Path, text: str) -> list[tuple[str, str, str]]:
    (seed_dir / "figures.toml").write_text(text, encoding="utf-8")
    with pytest.raises(RawReportError) as refused:
        load_and_check(raw_dir)
    return [(p.where, p.field, p.found) for p in refused.value.problems if p.file == "figures.toml"]


def test_a_figures_file_without_figures_says_what_it_holds_instead(seed_dir: Path, raw_dir: Path) -> None:
    assert _figures_file_problems(seed_dir, raw_dir, "# nothing yet\n") == [
        ("", "figure", "no [[figure]] table (the key 'figure' is missing)")]
    assert _figures_file_problems(seed_dir, raw_dir, "figure = 3\n") == [("", "figure", "3 (int)")]


def test_figures_without_an_id_or_that_are_not_tables_are_located_by_their_place(seed_dir: Path, raw_dir: Path) -> None:
    text = (seed_dir / "figures.toml").read_text(encoding="utf-8")
    problems = _figures_file_problems(seed_dir, raw_dir, 'figure = [1, "two"]\n')
    assert {where for where, _, _ in problems} == {"figure #1", "figure #2"}
    first = text.index('id = "total-illicit-income"')
    second = text.index('id = "cyber-income"')
    without_id = text[:second] + text[text.index("\n", second) + 1:]  # the second figure's id line removed
    assert ("figure #2", "id", "nothing (the field is missing)") in _figures_file_problems(seed_dir, raw_dir, without_id)
    # an id the file writes as a quoted key is not found on a line: the figure is named without one
    quoted = text[:first] + '"id" = "total-illicit-income"' + text[first + len('id = "total-illicit-income"'):]
    quoted = quoted.replace("value = 6.3\n", "value = 6.4\n", 1)  # not what its value_text says: the loader says so
    assert [where for where, field, _ in _figures_file_problems(seed_dir, raw_dir, quoted) if field == "value"][0] == \
        "figure 'total-illicit-income'"


@pytest.mark.parametrize("utc, latest", [((9, 59), datetime.date(2026, 11, 30)), ((10, 0), datetime.date(2026, 12, 1))])
def test_the_latest_date_anywhere_is_the_date_at_utc_plus_14(monkeypatch, utc, latest) -> None:
    from pipeline.read import raw_reports

    class _Clock(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.datetime(2026, 11, 30, *utc, tzinfo=datetime.UTC).astimezone(tz)

    monkeypatch.setattr(raw_reports, "datetime", _Clock)
    assert raw_reports.latest_today() == latest


# --- reading report.toml and figures.toml: their size limit and their encoding


def test_a_toml_file_of_the_largest_size_is_read_and_one_byte_more_is_refused_unread(seed_dir: Path, raw_dir: Path) -> None:
    from pipeline.read.raw_reports import MAX_TOML_BYTES

    figures = seed_dir / "figures.toml"
    text = figures.read_text(encoding="utf-8")
    padded = text + "#" * (MAX_TOML_BYTES - len(text.encode("utf-8")) - 1) + "\n"
    figures.write_text(padded, encoding="utf-8")
    assert figures.stat().st_size == MAX_TOML_BYTES
    assert len(load_and_check(raw_dir).figures) > 0
    figures.write_text("#" + padded, encoding="utf-8")
    assert _refused_at(raw_dir) == [("figures.toml", "", "")]
    with pytest.raises(RawReportError) as refused:
        load_and_check(raw_dir)
    assert refused.value.problems[0].expected == f"at most {MAX_TOML_BYTES:,} bytes (refused unread)"


def test_a_toml_file_in_windows_1252_says_where_and_how_to_convert_it(seed_dir: Path, raw_dir: Path) -> None:
    report = seed_dir / "report.toml"
    text = report.read_text(encoding="utf-8")
    report.write_bytes(text.replace('title = "', 'title = "\u201c', 1).encode("cp1252", errors="replace"))
    with pytest.raises(RawReportError) as refused:
        load_and_check(raw_dir)
    [problem] = [p for p in refused.value.problems if p.file == "report.toml"]
    line = text[:text.index('title = "')].count("\n") + 1
    assert (problem.where, problem.found) == (f"line {line}", "byte 0x93, which is not UTF-8")
    assert problem.expected == "a UTF-8 text file (" + ICONV.removeprefix("; ") + ")"


# --- corrections.toml: every correction's problems, each located at its correction


def _corrections(seed_dir: Path) -> tuple[Path, list[str]]:
    path = seed_dir / "corrections.toml"
    text = path.read_text(encoding="utf-8")
    head, *blocks = text.split("[[correction]]\n")
    return path, [head, *blocks]


def test_placeholders_left_in_two_corrections_are_each_named_and_the_others_checked(seed_dir: Path, raw_dir: Path) -> None:
    path, (head, *blocks) = _corrections(seed_dir)
    blocks[1] = blocks[1].replace('note = "', 'note = "TODO ', 1)
    blocks[3] = blocks[3].replace('note = "', 'note = "TBD ', 1)
    blocks[4] = blocks[4].replace('basis = "cited"', 'basis = "guessed"', 1)  # and another problem further on
    path.write_text(head + "".join("[[correction]]\n" + block for block in blocks), encoding="utf-8")
    ids = [block.split('figure_id = "', 1)[1].split('"', 1)[0] for block in blocks]
    problems = [(where, field) for file, where, field in _refused_at(raw_dir) if file == "corrections.toml"]
    assert problems == sorted([(f"correction of '{ids[1]}'", "note"), (f"correction of '{ids[3]}'", "note"),
                               (f"correction of '{ids[4]}'", "basis")])


def test_corrections_without_a_figure_id_are_located_by_their_place(seed_dir: Path, raw_dir: Path) -> None:
    path, (head, *blocks) = _corrections(seed_dir)
    for at in (1, 2):
        blocks[at] = "\n".join(line for line in blocks[at].splitlines() if not line.startswith("figure_id = ")) + "\n"
    path.write_text(head + "".join("[[correction]]\n" + block for block in blocks), encoding="utf-8")
    problems = [(where, field) for file, where, field in _refused_at(raw_dir) if file == "corrections.toml"]
    assert problems == [("correction #2", "figure_id"), ("correction #3", "figure_id")]


# --- load_report on one invented report: what each problem names, and which problems are kept together

def _invented(raw: Path, figures: list[dict] | None = None, report_id: str = "a-monitor-2024",
              document: str | None = None) -> Path:
    """The folder of the invented report of tests/test_strength_values.py (its figures and id given here)."""
    return write_report(raw, report_id, publisher="An invented monitor", published_on=PUBLISHED_ON,
                        series="monitor", period=(datetime.date(2023, 1, 1), datetime.date(2023, 12, 31)),
                        figures=figures or [THREE_BILLION], document=document)


def _fields(problems: list[Problem]) -> list[tuple[str, str, str]]:
    return sorted((p.file, p.where, p.field) for p in problems)


def test_a_report_folder_is_named_from_the_folder_above_raw_or_by_its_whole_path_outside_it(tmp_path: Path) -> None:
    from pipeline.read.raw_reports import load_report

    raw = tmp_path / "raw"
    folder = _invented(raw)
    edit(folder / "report.toml", 'publisher = "An invented monitor"', 'publisher = "TODO"')
    for root, named in ((None, "raw/a-monitor-2024"), (raw, "raw/a-monitor-2024"),
                        (tmp_path / "elsewhere" / "raw", folder.as_posix())):
        row, _, problems = load_report(folder, root)
        assert row is None
        assert [(p.folder, p.file, p.field) for p in problems] == [(named, "report.toml", "publisher")], root


@pytest.mark.parametrize("broken, field", [('published_on = "soon"', "published_on"),
                                           ('publisher = "TODO: who?"', "publisher")])
def test_a_broken_report_toml_keeps_the_folders_other_problems_and_its_document_is_still_checked(
        tmp_path: Path, broken: str, field: str) -> None:
    from pipeline.read.raw_reports import load_report

    raw = tmp_path / "raw"
    folder = _invented(raw, report_id="A_Monitor")  # not a slug
    key = broken.split(" = ")[0]
    text = (folder / "report.toml").read_text(encoding="utf-8")
    lines = [broken if line.startswith(f"{key} = ") else line for line in text.splitlines()]
    lines = [('source_sha256 = "' + "0" * 64 + '"') if line.startswith("source_sha256 = ") else line for line in lines]
    (folder / "report.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    row, _, problems = load_report(folder, raw)
    assert row is None
    assert _fields(problems) == [("", "folder name (the report id)", ""), ("report.toml", "", field),
                                 ("report.toml", "", "source_sha256")], problems


@pytest.mark.parametrize("name", ["published_on", "period_start", "period_end"])
def test_a_report_dated_outside_the_plausible_years_gives_no_row(tmp_path: Path, name: str) -> None:
    from pipeline.read.raw_reports import load_report

    raw = tmp_path / "raw"
    folder = _invented(raw)
    text = (folder / "report.toml").read_text(encoding="utf-8")
    (folder / "report.toml").write_text("\n".join(f"{name} = 1850-01-01" if line.startswith(f"{name} = ") else line
                                                  for line in text.splitlines()) + "\n", encoding="utf-8")
    row, _, problems = load_report(folder, raw)
    assert row is None
    assert [(p.field, p.found) for p in problems] == [(name, "1850-01-01")]


def test_a_figure_holding_a_placeholder_is_named_for_it_alone_and_the_next_figure_is_still_judged(tmp_path: Path) -> None:
    from pipeline.read.raw_reports import load_report

    raw = tmp_path / "raw"
    unfinished = {**THREE_BILLION, "id": "draft", "quote": "TODO: the sentence that says it took $3 billion"}
    wrong = {**THREE_BILLION, "id": "wrong", "quote": "Later it took $3 billion."}
    folder = _invented(raw, [unfinished, wrong], document="It took $3 billion.\n")
    _, rows, problems = load_report(folder, raw)
    assert [(p.folder, p.where.split(" (")[0], p.field) for p in problems] == [
        ("raw/a-monitor-2024", "figure 'draft'", "quote"), ("raw/a-monitor-2024", "figure 'wrong'", "quote")]
    assert problems[0].found.endswith("a placeholder left in")
    assert [row["figure_id"] for row in rows] == ["wrong"]  # no row for a figure not yet filled in


@pytest.mark.parametrize("start, end, problem", [
    ("1850-01-01", "2023-12-31", ("period_start", "1850-01-01")), ("2023-01-01", "2150-12-31", ("period_end", "2150-12-31")),
    ("2023-01-01", None, ("period_end", "nothing")), (None, "2023-12-31", ("period_start", "nothing"))])
def test_a_figures_implausible_or_half_given_period_is_named_by_its_field(tmp_path: Path, start, end, problem) -> None:
    from pipeline.read.raw_reports import load_report

    raw = tmp_path / "raw"
    figure = {**THREE_BILLION, **({"period_start": datetime.date.fromisoformat(start)} if start else {}),
              **({"period_end": datetime.date.fromisoformat(end)} if end else {})}
    folder = _invented(raw, [figure])
    _, rows, problems = load_report(folder, raw)
    assert [(p.field, p.found) for p in problems] == [problem]
    if "nothing" not in problem:  # an implausible date: no row (its period would be published)
        assert rows == []


def test_after_too_many_problems_the_rest_of_a_reports_figures_are_counted_not_checked(tmp_path: Path,
                                                                                       monkeypatch) -> None:
    from pipeline.read import raw_reports

    monkeypatch.setattr(raw_reports, "MAX_PROBLEMS_PER_REPORT", 5)
    monkeypatch.setattr(raw_reports, "MAX_LOCATED_QUOTES", 2)
    searches = []
    locate = raw_reports._quote_mismatch
    monkeypatch.setattr(raw_reports, "_quote_mismatch", lambda *args: searches.append(1) or locate(*args))
    raw = tmp_path / "raw"
    figures = [{**THREE_BILLION, "id": f"f{i}", "quote": f"In year {i} it took $3 billion."} for i in range(8)]
    folder = _invented(raw, figures, document="It took $3 billion.\n")
    _, _, problems = raw_reports.load_report(folder, raw)
    assert [p.where.split(" (")[0] for p in problems if p.field == "quote"] == [f"figure 'f{i}'" for i in range(5)]
    assert len(searches) == 2  # only the first quotes not found are searched for where they differ
    assert problems[-1].found == "3 more figure(s) whose quote and value were not checked, after 5 problems in this report"


def test_a_report_published_after_today_gives_no_row_and_names_its_folder(tmp_path: Path) -> None:
    from pipeline.read.raw_reports import latest_today, load_report

    raw = tmp_path / "raw"
    folder = _invented(raw)
    edit(folder / "report.toml", "published_on = 2024-03-01", f"published_on = {latest_today() + datetime.timedelta(days=1)}")
    row, _, problems = load_report(folder, raw)
    assert row is None
    assert [(p.folder, p.file, p.field) for p in problems] == [("raw/a-monitor-2024", "report.toml", "published_on")]


def test_something_other_than_a_file_in_a_report_folder_is_named_in_its_folder(tmp_path: Path) -> None:
    import os

    from pipeline.read.raw_reports import load_report

    raw = tmp_path / "raw"
    folder = _invented(raw)
    os.mkfifo(folder / "pipe")
    _, _, problems = load_report(folder, raw)
    assert [(p.folder, p.file) for p in problems] == [("raw/a-monitor-2024", "pipe")]


def test_the_report_row_holds_every_field_of_report_toml_as_written(raw_dir: Path) -> None:
    import tomllib

    invented = _invented(raw_dir)
    with open(invented / "report.toml", "a", encoding="utf-8") as toml:
        toml.write('source_url = "https://example.org/monitor/2024"\n')
    rows = {row["report_id"]: row for row in load_raw(raw_dir).reports.to_dict("records")}
    for folder in (raw_dir / SEED_ID, invented):
        row = rows[folder.name]
        meta = tomllib.loads((folder / "report.toml").read_text(encoding="utf-8"))
        for key, value in meta.items():
            assert row[key] == (pd.Timestamp(value) if isinstance(value, datetime.date) else value), key
        assert row["source_bytes"] == (folder / meta["source_file"]).stat().st_size
    # between them they state every optional field
    assert {"notes", "outlet", "published_on_basis", "period_basis", "source_url"} <= {
        key for folder in (raw_dir / SEED_ID, invented)
        for key in tomllib.loads((folder / "report.toml").read_text(encoding="utf-8"))}
