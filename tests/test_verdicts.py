"""Verdicts an analyst can sign (issue 18): a pass means something was compared and agreed, a check that
compared nothing says so as its own outcome (status not_compared, passed NULL) and names what it skipped,
bounds are respected, sub-periods are parts and not additions, totals are checked against totals and
deficits across periods, two values for one thing are a located warning, and messages do not mislead.

The check functions are called on hand-built records (the helpers of test_reconciliation); the seed and
small generated reports go through the real loader, and the published outcome through a real Dagster
build into DuckDB."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline.build.queries import sql
from pipeline.read.raw_reports import CORRECTIONS_FILE, load_raw
from pipeline.validate import report_checks as rc
from pipeline.validate.report_checks import AS_PUBLISHED, BEST_ESTIMATE

from .conftest import SEED_ID
from .helpers import build, edit, rows
from .test_history import add_report, money
from .test_reconciliation import REPORT, _channel, _deficit, _fig, _frame, _total

D = dt.date


def _years(first: int, last: int) -> tuple[str, str]:
    return f"{first}-01-01", f"{last}-12-31"


def _q(figure: dict, qualifier: str) -> dict:
    return {**figure, "qualifier": qualifier}


def _no_period(figure: dict, report: pd.Series = REPORT) -> dict:
    """A figure that states no period: it takes the report's."""
    return {**figure, "period_start": report["period_start"], "period_end": report["period_end"],
            "period_inherited": True}


def _report(first: int, last: str) -> pd.Series:
    return pd.Series({"report_id": "a-report", "period_start": pd.Timestamp(f"{first}-01-01"),
                      "period_end": pd.Timestamp(last)})


def _checks(raw_dir: Path) -> dict[tuple[str, str], tuple]:
    raw = load_raw(raw_dir)
    results = rc.run_report_checks(raw.reports, raw.figures)
    return {(r.check_name, r.value_basis): (None if pd.isna(r.passed) else bool(r.passed), r.status, r.message)
            for r in results.itertuples()}


# ---------------------------------------------------------------------------------------------
# 1. a pass that compared nothing


def test_the_seed_with_a_longer_report_period_still_compares_its_channels(raw_dir: Path, seed_dir: Path) -> None:
    """The channels state no period; with the report's period ending 2024-02-29 (so that the arms figures
    fit inside it) they are no longer inside the total's 2017-2023, but the total is the only period they
    can have been meant to share: the 8.3x contradiction stays a failure and says what was assumed."""
    edit(seed_dir / "report.toml", "period_end = 2023-12-31", "period_end = 2024-02-29")
    checks = _checks(raw_dir)
    passed, status, message = checks[("channels_within_total", AS_PUBLISHED)]
    assert (passed, status) == (False, "failed"), message
    assert "channels sum to 52.5e9, 8.3x the stated total 6.3e9" in message
    assert "cyber 13.5e9 (states no period: taken as the total's, the only period of a total the report states)" in message
    assert "not summed, outside that period: arms_exports" in message
    assert checks[("no_channel_exceeds_total", AS_PUBLISHED)][:2] == (False, "failed")
    assert checks[("channels_within_total", BEST_ESTIMATE)][:2] == (True, "passed")
    assert checks[("figure_periods_within_report", AS_PUBLISHED)][:2] == (True, "passed")


def test_a_channel_without_a_period_is_not_compared_with_totals_of_several_periods() -> None:
    report = _report(2017, "2024-12-31")
    figures = _frame(_total(6e9, period=_years(2017, 2023)), _total(1e9, period=_years(2024, 2024)),
                     _no_period(_channel("cyber", 13.5e9), report))
    passed, message = rc.channels_within_total(report, figures, AS_PUBLISHED)
    assert passed is None
    assert message.startswith("not compared: no channel lies inside the total's period 2017-01-01..2023-12-31 "
                              "(not compared, states no period while the report's totals state 2 different ones: cyber)")
    # whatever part of the report's period the channel meant, it cannot exceed the totals that cover all of it
    passed, message = rc.no_channel_exceeds_total(report, figures, AS_PUBLISHED)
    assert passed is False
    assert ("cyber 13.5e9 (2017-01-01..2024-12-31) exceeds the totals that cover its period together, "
            "6e9 (2017-01-01..2023-12-31) + 1e9 (2024-01-01..2024-12-31) = 7e9 (1.9x)") in message
    passed, message = rc.no_channel_exceeds_total(report, figures[:2].assign(period_end=pd.Timestamp("2023-06-30"))
                                                  .pipe(lambda f: pd.concat([f, figures[2:]])), AS_PUBLISHED)
    assert passed is None
    assert message == "not compared: no channel lies inside a total's period (cyber 13.5e9 (2017-01-01..2024-12-31))"


def test_not_compared_is_stored_as_its_own_status_with_passed_null() -> None:
    reports = pd.DataFrame([{**REPORT.to_dict(), "source_file": "a.txt", "source_bytes": 10, "source_sha256": "0" * 64}])
    figures = _frame(_channel("cyber", 13.5e9)).assign(report_id="a-report")
    results = rc.run_report_checks(reports, figures)
    con = duckdb.connect(":memory:")
    con.register("validation_frame", results)
    con.execute(sql("validation_results"))
    got = dict(con.execute("SELECT check_name || ':' || value_basis, status FROM validation_results "
                           "WHERE passed IS NULL").fetchall())
    assert got["channels_within_total:as_published"] == "not_compared"
    assert got["deficit_identity:best_estimate"] == "not_compared"
    # `where not passed` lists failures only, `where passed` real passes only
    assert con.execute("SELECT count(*) FROM validation_results WHERE NOT passed").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM validation_results WHERE passed AND check_name = "
                       "'channels_within_total'").fetchone()[0] == 0
    assert set(r[0] for r in con.execute("SELECT DISTINCT status FROM validation_results").fetchall()) == {
        "passed", "not_compared"}

    from pipeline.defs.checks import report_check_results

    evaluations = {e.check_name: e for e in report_check_results(con)}
    nothing = evaluations["channels_within_total_as_published"]
    assert nothing.passed is True  # not a failure, but not shown as a pass either:
    assert nothing.metadata["status"].value == "not_compared"
    assert nothing.metadata["not_compared"].value == 1 and nothing.metadata["passed"].value == 0
    assert nothing.description.startswith("not compared")
    known = evaluations["channel_names_known"]
    assert known.metadata["status"].value == "passed" and known.description.startswith("0 failed, 1 passed")
    con.close()


# ---------------------------------------------------------------------------------------------
# 2. a figure for a sub-period of another figure of the same channel is part of it


def test_a_sub_period_of_a_channel_is_part_of_it_not_beside_it() -> None:
    figures = _frame(_total(6e9, period=_years(2017, 2023)), _channel("cyber", 3e9), _channel("coal_smuggling", 2e9),
                     _fig("cyber-2023", "channel", "cyber", 1.2e9, period=_years(2023, 2023)))
    passed, message = rc.channels_within_total(REPORT, figures, AS_PUBLISHED)
    assert passed is True, message
    assert message.startswith("channels sum to 5e9, within the stated total 6e9")
    assert ("not summed, a part or repeat of another figure of its channel: cyber-2023 "
            "(2023-01-01..2023-12-31, part of cyber-income's 2017-01-01..2023-12-31)") in message


def test_channel_figures_of_periods_side_by_side_are_summed() -> None:
    figures = _frame(_total(6e9), _fig("cyber-early", "channel", "cyber", 4e9, period=_years(2017, 2020)),
                     _fig("cyber-late", "channel", "cyber", 3e9, period=_years(2021, 2023)))
    passed, message = rc.channels_within_total(REPORT, figures, AS_PUBLISHED)
    assert passed is False
    assert message.startswith("channels sum to 7e9, 1.2x the stated total 6e9")


# ---------------------------------------------------------------------------------------------
# 3. bounds


@pytest.mark.parametrize(("qualifier", "passed", "said"), [
    ("more than", True, "the stated total is a lower bound ('more than 6e9'): channels above it agree with it"),
    ("at least", True, "the stated total is a lower bound ('at least 6e9'): channels above it agree with it"),
    ("nearly", False, "channels sum to 6.5e9, 1.08x the stated total 6e9 ("),  # above "nearly X" by more than 2%
    ("about", False, "channels sum to 6.5e9, 1.08x the stated total 6e9 ("),
    ("up to", False, "channels sum to 6.5e9, 1.08x the stated total 6e9, an upper bound ('up to 6e9')"),
    ("less than", False, "the stated total 6e9, an upper bound ('less than 6e9')"),
])
def test_channels_against_a_bounded_total(qualifier: str, passed: bool, said: str) -> None:
    figures = _frame(_q(_total(6e9), qualifier), _channel("cyber", 4e9), _channel("coal_smuggling", 2.5e9))
    verdict, message = rc.channels_within_total(REPORT, figures, AS_PUBLISHED)
    assert verdict is passed, message
    assert said in message


def test_a_lower_bound_total_allows_any_single_channel() -> None:
    passed, message = rc.no_channel_exceeds_total(REPORT, _frame(_q(_total(6e9), "at least"), _channel("cyber", 7e9)),
                                                  AS_PUBLISHED)
    assert passed is None
    assert message == ("not compared: a bound allows it: cyber 7e9 against the stated total 6e9 "
                       "(a lower bound ('at least 6e9'))")


def test_an_upper_bound_channel_counts_from_zero() -> None:
    figures = _frame(_total(6e9), _q(_channel("cyber", 5e9), "up to"), _channel("coal_smuggling", 3e9))
    passed, message = rc.channels_within_total(REPORT, figures, AS_PUBLISHED)
    assert passed is True, message
    assert "channels sum to 8e9 (at least 3e9: an upper bound ('up to 5e9') counted from 0), within" in message
    passed, message = rc.no_channel_exceeds_total(REPORT, _frame(_total(6e9), _q(_channel("cyber", 7e9), "up to")),
                                                  AS_PUBLISHED)
    assert passed is None and "an upper bound ('up to 7e9')" in message


def test_a_lower_bound_channel_above_the_total_still_contradicts_it() -> None:
    figures = _frame(_total(6e9), _q(_channel("cyber", 7e9), "more than"))
    assert rc.channels_within_total(REPORT, figures, AS_PUBLISHED)[0] is False
    assert rc.no_channel_exceeds_total(REPORT, figures, AS_PUBLISHED)[0] is False


def test_the_deficit_identity_respects_a_lower_bound_total() -> None:
    figures = _frame(*_deficit(20e9, 10e9), _q(_total(6e9), "more than"))
    passed, message = rc.deficit_identity(REPORT, figures, AS_PUBLISHED)
    assert passed is True, message
    assert "(bounds applied: a lower bound ('more than 6e9'))" in message
    passed, message = rc.deficit_identity(REPORT, _frame(*_deficit(8e9, 4e9), _q(_total(6e9), "more than")), AS_PUBLISHED)
    assert passed is False
    assert "4e9 implied (8e9 - 4e9) vs 6e9 stated" in message


def test_more_than_is_recorded_as_the_text_gives_it(raw_dir: Path) -> None:
    add_report(raw_dir, "bounded-2024", published_on=D(2024, 10, 1), series="bounded", period=(D(2017, 1, 1), D(2023, 12, 31)),
               figures=[{**money("total", "total", "illicit_income", 6, "USD billion", "$6 billion",
                                 "North Korea earned more than $6 billion from 2017 to 2023."), "qualifier": "more than"},
                        money("cyber", "channel", "cyber", 4, "USD billion", "$4 billion", "Hacking brought $4 billion."),
                        money("coal", "channel", "coal_smuggling", 2.5, "USD billion", "$2.5 billion",
                              "Coal brought $2.5 billion.")])
    raw = load_raw(raw_dir)
    mine = raw.figures[raw.figures["report_id"] == "bounded-2024"]
    results = rc.run_report_checks(raw.reports[raw.reports["report_id"] == "bounded-2024"], mine)
    row = results[(results["check_name"] == "channels_within_total") & (results["value_basis"] == AS_PUBLISHED)].iloc[0]
    assert row["status"] == "passed", row["message"]
    assert "a lower bound ('more than 6e9')" in row["message"]


# ---------------------------------------------------------------------------------------------
# 4. totals against totals, deficits against totals, across nested and covering periods


def test_two_totals_for_the_same_period_ten_times_apart() -> None:
    figures = _frame(_fig("total-a", "total", "illicit_income", 6.3e9), _fig("total-b", "total", "illicit_income", 63e9))
    passed, message = rc.totals_consistent(REPORT, figures, AS_PUBLISHED)
    assert passed is False
    assert message == ("two totals for 2017-01-01..2023-12-31 disagree: total-a 6.3e9 and total-b 63e9, 10x: "
                       "off by a factor of 10, a decimal or unit slip is likely")


def test_a_one_year_total_above_the_seven_year_total_that_contains_it() -> None:
    figures = _frame(_fig("total-7y", "total", "illicit_income", 6e9),
                     _fig("total-2023", "total", "illicit_income", 7e9, period=_years(2023, 2023)))
    passed, message = rc.totals_consistent(REPORT, figures, AS_PUBLISHED)
    assert passed is False
    assert ("the total for 2023-01-01..2023-12-31 (total-2023 7e9) exceeds the total for 2017-01-01..2023-12-31 "
            "that contains it (total-7y 6e9), 1.2x") in message


def test_totals_of_sub_periods_that_cover_a_period_add_up_to_its_total() -> None:
    parts = (_fig("total-early", "total", "illicit_income", 4e9, period=_years(2017, 2020)),
             _fig("total-late", "total", "illicit_income", 2.3e9, period=_years(2021, 2023)))
    passed, message = rc.totals_consistent(REPORT, _frame(_fig("total", "total", "illicit_income", 63e9), *parts),
                                           AS_PUBLISHED)
    assert passed is False
    assert "totals for the parts of 2017-01-01..2023-12-31 sum to 6.3e9" in message
    assert "off by a factor of 10" in message
    passed, message = rc.totals_consistent(REPORT, _frame(_fig("total", "total", "illicit_income", 6.3e9), *parts),
                                           AS_PUBLISHED)
    assert passed is True, message


def test_a_channel_above_the_sub_period_totals_that_cover_its_period() -> None:
    figures = _frame(_fig("total-early", "total", "illicit_income", 1e9, period=_years(2017, 2020)),
                     _fig("total-late", "total", "illicit_income", 2e9, period=_years(2021, 2023)),
                     _channel("cyber", 13.5e9))
    passed, message = rc.no_channel_exceeds_total(REPORT, figures, AS_PUBLISHED)
    assert passed is False
    assert ("cyber 13.5e9 (2017-01-01..2023-12-31) exceeds the totals that cover its period together, "
            "1e9 (2017-01-01..2020-12-31) + 2e9 (2021-01-01..2023-12-31) = 3e9 (4.5x)") in message


def test_two_sub_period_deficits_against_a_whole_period_total() -> None:
    figures = _frame(_fig("legal-a", "trade", "legal_trade_deficit", 5e9, period=_years(2017, 2020)),
                     _fig("after-a", "trade", "deficit_after_illicit_income", 2e9, period=_years(2017, 2020)),
                     _fig("legal-b", "trade", "legal_trade_deficit", 5e9, period=_years(2021, 2023)),
                     _fig("after-b", "trade", "deficit_after_illicit_income", 1.7e9, period=_years(2021, 2023)),
                     _total(63e9))
    passed, message = rc.deficit_identity(REPORT, figures, AS_PUBLISHED)
    assert passed is False
    assert ("the deficits of the parts of 2017-01-01..2023-12-31 imply 6.3e9 ((5e9 - 2e9) for "
            "2017-01-01..2020-12-31 + (5e9 - 1.7e9) for 2021-01-01..2023-12-31) vs 63e9 stated for the whole: "
            "off by a factor of 10") in message


# ---------------------------------------------------------------------------------------------
# 5. a negative implied income


def test_a_negative_implied_income_without_a_total_is_flagged() -> None:
    passed, message = rc.deficit_identity(REPORT, _frame(*_deficit(5e9, 7e9)), AS_PUBLISHED)
    assert passed is False
    assert message.startswith("-2e9 implied (5e9 - 7e9) for 2017-01-01..2023-12-31: a negative illicit income")


# ---------------------------------------------------------------------------------------------
# 6. two values for one thing in one report


def test_two_values_for_one_channel_and_period_are_named() -> None:
    figures = _frame(_total(6.3e9), _channel("cyber", 13.5e9), _fig("cyber-again", "channel", "cyber", 1.35e9))
    passed, message = rc.one_value_per_period(REPORT, figures, AS_PUBLISHED)
    assert passed is False
    assert message == ("cyber for 2017-01-01..2023-12-31 is stated twice with different values: cyber-income 13.5e9 "
                       "and cyber-again 1.35e9, 0.1x: off by a factor of 10, a decimal or unit slip is likely")
    # summed once, not twice
    passed, message = rc.channels_within_total(REPORT, figures, AS_PUBLISHED)
    assert "cyber-again (2017-01-01..2023-12-31, the same period stated again)" in message


TWICE_ID = "twice-stated-2024"


def _add_report_stating_things_twice(raw_dir: Path) -> None:
    period = (D(2017, 1, 1), D(2023, 12, 31))
    add_report(raw_dir, TWICE_ID, published_on=D(2024, 10, 1), series="twice", period=period, figures=[
        money("total", "total", "illicit_income", 6.3, "USD billion", "$6.3 billion", "In all, $6.3 billion."),
        money("cyber", "channel", "cyber", 1.35, "USD billion", "$1.35 billion", "Hackers took $1.35 billion."),
        money("cyber-again", "channel", "cyber", 13.5, "USD billion", "$13.5 billion", "Cyber theft: $13.5 billion."),
        money("legal", "trade", "legal_trade_deficit", 8.25, "USD billion", "$8.25 billion", "Legal deficit $8.25 billion."),
        money("after", "trade", "deficit_after_illicit_income", 1.97, "USD billion", "$1.97 billion", "After: $1.97 billion."),
        money("after-again", "trade", "deficit_after_illicit_income", 19.7, "USD billion", "$19.7 billion",
              "Or after: $19.7 billion."),
    ])


def test_two_values_for_one_thing_publish_with_a_located_warning(raw_dir: Path, warehouse_path: Path) -> None:
    _add_report_stating_things_twice(raw_dir)
    result = build(raw_dir, warehouse_path)
    assert result.success
    assert rows(warehouse_path, "SELECT figure_id, income_usd FROM channels WHERE report_id = ? ORDER BY figure_id",
                [TWICE_ID]) == [("cyber", 1.35e9), ("cyber-again", 13.5e9)]
    assert rows(warehouse_path, "SELECT after_figure_id FROM deficit WHERE report_id = ? ORDER BY 1", [TWICE_ID]) == [
        ("after",), ("after-again",)]
    (passed, status, message), = rows(
        warehouse_path, "SELECT passed, status, message FROM validation_results WHERE report_id = ? "
                        "AND check_name = 'one_value_per_period' AND value_basis = 'as_published'", [TWICE_ID])
    assert (passed, status) == (False, "failed")
    assert ("cyber for 2017-01-01..2023-12-31 is stated twice with different values: cyber 1.35e9 and "
            "cyber-again 13.5e9, 10x: off by a factor of 10") in message
    assert "deficit_after_illicit_income for 2017-01-01..2023-12-31 is stated twice with different values: " \
           "after 1.97e9 and after-again 19.7e9, 10x" in message
    # the seed is published beside it, and its verdicts are its own
    assert rows(warehouse_path, "SELECT status FROM validation_results WHERE report_id = ? AND "
                                "check_name = 'one_value_per_period' AND value_basis = 'as_published'", [SEED_ID]) == [
        ("passed",)]
    evaluations = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["channels_matches_schema"].passed and evaluations["deficit_matches_schema"].passed
    assert evaluations["one_value_per_period_as_published"].passed is False


# ---------------------------------------------------------------------------------------------
# 7. messages that mislead


def test_a_ratio_that_failed_the_tolerance_prints_the_digits_that_show_why() -> None:
    figures = _frame(_total(100e6), _channel("cyber", 102.1e6))
    passed, message = rc.channels_within_total(REPORT, figures, AS_PUBLISHED)
    assert passed is False
    assert "1.021x the stated total" in message
    figures = _frame(_total(100e6), _channel("cyber", 102e6 + 1))
    assert "1.02000001x the stated total" in rc.channels_within_total(REPORT, figures, AS_PUBLISHED)[1]


@pytest.mark.parametrize("ratio", [9.5, 10.5, 0.095, 0.105, 95, 105])
def test_the_five_percent_edge_is_inside(ratio: float) -> None:
    stated = 6.3e9
    found = stated * ratio
    assert "a decimal or unit slip is likely" in rc.diagnose(found, stated), (found / stated)


def test_large_ratios_are_printed_in_full() -> None:
    figures = _frame(_total(1e9), _channel("cyber", 100e9))
    message = rc.no_channel_exceeds_total(REPORT, figures, AS_PUBLISHED)[1]
    assert "(100x)" in message and "e+" not in message
    figures = _frame(_total(1e6), _channel("cyber", 1.23e9))
    assert "(1200x)" in rc.no_channel_exceeds_total(REPORT, figures, AS_PUBLISHED)[1]


def test_a_total_ten_times_the_channels_sum_carries_the_hint_without_failing() -> None:
    figures = _frame(_total(63e9), _channel("cyber", 4e9), _channel("coal_smuggling", 2.3e9))
    passed, message = rc.channels_within_total(REPORT, figures, AS_PUBLISHED)
    assert passed is True
    assert message.endswith("; the total is 10x the channels' sum: if the channels are all of the income, a decimal "
                            "or unit slip is likely (not a failure: they need not be)")


def _add_count_correction(seed_dir: Path, value: str) -> None:
    path = seed_dir / CORRECTIONS_FILE
    path.write_text(path.read_text(encoding="utf-8") + f"""
[[correction]]
figure_id = "arms-kn-24-missiles"
value = {value}
unit = "count"
basis = "inferred"
reasoning = "A test."
note = "A test."
""", encoding="utf-8")


def test_a_correction_to_zero_is_refused_as_a_published_zero_is(raw_dir: Path, seed_dir: Path) -> None:
    from pipeline.core.errors import RawReportError

    _add_count_correction(seed_dir, "0")
    with pytest.raises(RawReportError) as info:
        load_raw(raw_dir)
    text = str(info.value)
    assert f"{SEED_ID}/{CORRECTIONS_FILE}" in text and "correction of 'arms-kn-24-missiles'" in text
    assert "field 'value'" in text and "zero is meaningless for a total, a channel or a count" in text


def test_a_correction_equal_to_the_published_value_is_named(raw_dir: Path, seed_dir: Path) -> None:
    _add_count_correction(seed_dir, "9")
    passed, status, message = _checks(raw_dir)[("corrections_change_values", AS_PUBLISHED)]
    assert (passed, status) == (False, "failed")
    assert message.startswith("1 of 8 correction(s) leave the value as published: arms-kn-24-missiles (9)")


def test_checks_with_nothing_to_look_at_are_not_compared() -> None:
    """No channel to name, no correction to document: nothing was verified, so nothing passed."""
    figures = _frame(_total(6.3e9))
    assert rc.channel_names_known(REPORT, figures) == (None, "not compared: the report states no channel")
    assert rc.corrections_documented(REPORT, figures) == (
        None, "not compared: no corrections, every best estimate is the published value")


def test_the_seed_corrections_all_change_their_values(raw_dir: Path) -> None:
    assert _checks(raw_dir)[("corrections_change_values", AS_PUBLISHED)] == (
        True, "passed", "each of 7 correction(s) changes its figure's value")
