"""The SQL that compares sources (pipeline/build/sql/estimates.sql, source_comparisons.sql, source_agreement.sql) on
hand-made `reports` and `figures` tables in an in-memory DuckDB: each rule of the files' headers stated as a case
(milliseconds, no build). The published tables on invented reports built through the real job: tests/test_sources.py."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.build.queries import sql

_FIGURES = ("report_id VARCHAR, figure_id VARCHAR, topic VARCHAR, subject VARCHAR, measure VARCHAR, amount_usd DOUBLE, "
            "quantity BIGINT, share_percent DOUBLE, best_amount_usd DOUBLE, best_quantity BIGINT, best_share_percent DOUBLE, "
            "period_start DATE, period_end DATE, qualifier VARCHAR, bound VARCHAR, corrected BOOLEAN, "
            "correction_basis VARCHAR, period_inherited BOOLEAN, value_text VARCHAR, quote VARCHAR")


def _report(report_id: str, series: str, published_on: str) -> tuple:
    return report_id, series, f"{series} publisher", f"{series} outlet", published_on


def _figure(report_id: str, figure_id: str, start: str, end: str, value: float, *, channel: str = "cyber",
            measure: str = "income", best: float | None = None, bound: str | None = None, topic: str = "channel") -> tuple:
    """A figure in dollars (income, income_per_year, event), a count (incidents, people) or a share."""
    money, count, share = ((value, None, None) if measure in ("income", "income_per_year", "event")
                           else (None, value, None) if measure in ("incidents", "people") else (None, None, value))
    best = value if best is None else best
    bests = (best if money is not None else None, best if count is not None else None, best if share is not None else None)
    return (report_id, figure_id, topic, channel, measure, money, count, share, *bests, start, end,
            {"lower": "more than", "upper": "up to"}.get(bound), bound, best != value, None, False, None, None)


def _warehouse(reports: list[tuple], figures: list[tuple], touched: list[str] | None = None) -> duckdb.DuckDBPyConnection:
    """The estimates view and the source_comparisons table as pipeline.build.tables makes them, for the series
    `touched` (every series when None)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE reports (report_id VARCHAR, series VARCHAR, publisher VARCHAR, outlet VARCHAR, "
                "published_on DATE)")
    con.executemany("INSERT INTO reports VALUES (?, ?, ?, ?, ?)", reports)
    con.execute(f"CREATE TABLE figures ({_FIGURES})")
    con.executemany(f"INSERT INTO figures VALUES ({', '.join(['?'] * 20)})", figures)
    con.execute(sql("estimates"))
    con.execute("CREATE TEMP TABLE _comparison_series AS " + (
        "SELECT DISTINCT series FROM reports" if touched is None else
        "SELECT * FROM (VALUES " + ", ".join(f"('{s}')" for s in touched) + ") AS t(series)"))
    con.execute(f"CREATE TABLE source_comparisons AS {sql('source_comparisons')}")
    return con


def _pairs(con, columns: str = "report_id, other_report_id, basis, factor, agree") -> list[tuple]:
    return con.execute(f"SELECT {columns} FROM source_comparisons ORDER BY report_id, other_report_id, figure_id, "
                       "other_figure_id").fetchall()


TWO = [_report("a1", "a", "2024-01-10"), _report("b1", "b", "2024-03-10")]


@pytest.mark.parametrize("later, factor, agree", [(1.4e9, 1.4, True), (1.5e9, 1.5, True), (1.6e9, 1.6, False),
                                                  (0.6e9, 1 / 0.6, False)])
def test_two_series_on_one_period_are_one_pair_on_the_later_report_agreeing_within_one_and_a_half(later, factor,
                                                                                                   agree) -> None:
    con = _warehouse(TWO, [_figure("a1", "x", "2023-01-01", "2023-12-31", 1e9),
                           _figure("b1", "y", "2023-01-01", "2023-12-31", later)])
    assert _pairs(con, "report_id, other_report_id, basis, overlap_share, ratio, factor, agree") == [
        ("b1", "a1", "same_period", 1.0, pytest.approx(later / 1e9), pytest.approx(factor), agree)]


def test_editions_of_one_series_are_not_compared_with_each_other() -> None:
    con = _warehouse([_report("a1", "a", "2024-01-10"), _report("a2", "a", "2024-03-10")],
                     [_figure("a1", "x", "2022-01-01", "2022-12-31", 1e9), _figure("a2", "y", "2023-01-01", "2023-12-31", 5e9)])
    assert _pairs(con) == []


def test_reports_published_the_same_day_pair_on_the_later_id() -> None:
    con = _warehouse([_report("b1", "b", "2024-01-10"), _report("a1", "a", "2024-01-10")],
                     [_figure("a1", "x", "2023-01-01", "2023-12-31", 1e9), _figure("b1", "y", "2023-01-01", "2023-12-31", 1e9)])
    assert _pairs(con) == [("b1", "a1", "same_period", 1.0, True)]


def test_income_over_periods_that_overlap_by_half_or_more_is_compared_per_year() -> None:
    # 3.0e9 over 2017-2023 (7 years) against 3.6e9 over 2017-01..2024-04 (88 months): 428.6e6 vs 490.9e6 a year
    con = _warehouse(TWO, [_figure("a1", "x", "2017-01-01", "2023-12-31", 3.0e9),
                           _figure("b1", "y", "2017-01-01", "2024-04-30", 3.6e9)])
    [(basis, share, compared, other, ratio, ratio_as_published)] = _pairs(
        con, "basis, overlap_share, compared_value, other_compared_value, ratio, ratio_as_published")
    assert basis == "per_year_average"
    assert share == pytest.approx(2556 / 2677)  # the days of 2017-2023 over those of 2017-01..2024-04
    assert (compared, other) == (pytest.approx(3.6e9 / (88 / 12)), pytest.approx(3.0e9 / 7))
    assert ratio == ratio_as_published == pytest.approx((3.6e9 / (88 / 12)) / (3.0e9 / 7))


def test_the_overlap_share_is_over_the_longer_period_whichever_report_states_it() -> None:
    con = _warehouse(TWO, [_figure("a1", "x", "2017-01-01", "2024-04-30", 3.6e9),
                           _figure("b1", "y", "2017-01-01", "2023-12-31", 3.0e9)])
    assert _pairs(con, "overlap_share") == [(pytest.approx(2556 / 2677),)]


@pytest.mark.parametrize("start, end, compared", [
    ("2020-07-02", "2021-07-01", True),   # 183 days in common, half of 2020's 366 exactly
    ("2020-07-03", "2021-07-02", False),  # 182 days: less than half
])
def test_periods_are_comparable_from_an_overlap_of_half_the_longer_one(start, end, compared) -> None:
    con = _warehouse(TWO, [_figure("a1", "x", "2020-01-01", "2020-12-31", 1e9), _figure("b1", "y", start, end, 1e9)])
    assert len(_pairs(con)) == int(compared)


def test_a_level_over_overlapping_periods_is_compared_as_it_is_and_an_event_only_on_the_same_period() -> None:
    con = _warehouse(TWO, [
        _figure("a1", "workers", "2023-01-01", "2023-12-31", 100_000, channel="overseas_labor", measure="people"),
        _figure("b1", "workers2", "2023-03-01", "2024-02-29", 50_000, channel="overseas_labor", measure="people"),
        _figure("a1", "heist", "2023-06-01", "2023-06-30", 100e6, measure="event"),
        _figure("b1", "heist2", "2023-06-01", "2023-07-31", 100e6, measure="event"),
        _figure("a1", "hack", "2022-02-01", "2022-02-28", 600e6, measure="event"),
        _figure("b1", "hack2", "2022-02-01", "2022-02-28", 620e6, measure="event")])
    assert _pairs(con, "figure_id, basis, compared_value, other_compared_value, unit") == [
        ("hack2", "same_period", 620e6, 600e6, "USD"), ("workers2", "overlapping_periods", 50_000.0, 100_000.0, "count")]


@pytest.mark.parametrize("a_bound, a_value, b_value, factor", [
    ("lower", 3e9, 5e9, 1.0),    # more than 3e9 holds 5e9
    ("lower", 3e9, 1e9, 3.0),    # more than 3e9 is 3x above 1e9
    ("upper", 1e9, 0.2e9, 1.0),  # up to 1e9 holds 0.2e9
    ("upper", 1e9, 2e9, 2.0),    # up to 1e9 is 2x below 2e9
])
@pytest.mark.parametrize("bounded", ["a1", "b1"])  # the earlier report's figure, or the later one's (the pair's own)
def test_a_bound_is_a_range_and_the_factor_the_gap_between_the_ranges(a_bound, a_value, b_value, factor,
                                                                     bounded) -> None:
    other = "b1" if bounded == "a1" else "a1"
    con = _warehouse(TWO, [_figure(bounded, "x", "2023-01-01", "2023-12-31", a_value, bound=a_bound),
                           _figure(other, "y", "2023-01-01", "2023-12-31", b_value)])
    assert _pairs(con, "factor, factor_as_published") == [(pytest.approx(factor), pytest.approx(factor))]


@pytest.mark.parametrize("bounded", ["a1", "b1"])
def test_an_upper_bound_holds_everything_down_to_zero_below_one_too(bounded) -> None:
    # "up to 1%" holds 0.5%: the range of an upper bound starts at 0, not at 1
    other = "b1" if bounded == "a1" else "a1"
    con = _warehouse(TWO, [_figure(bounded, "x", "2023-01-01", "2023-12-31", 1.0, measure="share", bound="upper"),
                           _figure(other, "y", "2023-01-01", "2023-12-31", 0.5, measure="share")])
    assert _pairs(con, "factor, factor_as_published, agree") == [(1.0, 1.0, True)]


@pytest.mark.parametrize("earlier, factor, ratio", [(0.0, float("inf"), None), (1.0, 40.0, 40.0)])
def test_a_share_of_zero_is_infinitely_far_from_any_other_and_gives_no_ratio(earlier, factor, ratio) -> None:
    con = _warehouse(TWO, [_figure("a1", "x", "2023-01-01", "2023-12-31", earlier, measure="share"),
                           _figure("b1", "y", "2023-01-01", "2023-12-31", 40.0, measure="share")])
    assert _pairs(con, "factor, factor_as_published, ratio, ratio_as_published, agree, unit") == [
        (factor, factor, ratio, ratio, False, "percent")]


def test_best_estimates_and_values_as_published_are_compared_apart() -> None:
    con = _warehouse(TWO, [_figure("a1", "x", "2023-01-01", "2023-12-31", 1e9),
                           _figure("b1", "y", "2023-01-01", "2023-12-31", 10e9, best=1.2e9)])
    assert _pairs(con, "value, value_as_published, ratio, ratio_as_published, agree, agree_as_published") == [
        (1.2e9, 10e9, pytest.approx(1.2), pytest.approx(10.0), True, False)]


def test_an_estimate_revised_by_its_own_series_is_compared_no_more_but_its_other_years_are() -> None:
    reports = [_report("a1", "a", "2024-01-10"), _report("a2", "a", "2024-05-10"), _report("b1", "b", "2024-03-10")]
    con = _warehouse(reports, [
        _figure("a1", "old", "2023-01-01", "2023-12-31", 1e9), _figure("a1", "y2022", "2022-01-01", "2022-12-31", 2e9),
        _figure("a2", "new", "2023-01-01", "2023-12-31", 1.2e9),
        _figure("b1", "b2023", "2023-01-01", "2023-12-31", 1.1e9), _figure("b1", "b2022", "2022-01-01", "2022-12-31", 2e9)])
    assert _pairs(con, "report_id, figure_id, other_report_id, other_figure_id") == [
        ("a2", "new", "b1", "b2023"), ("b1", "b2022", "a1", "y2022")]


@pytest.mark.parametrize("year_end, start, end, superseded", [
    ("2020-12-31", "2020-07-02", "2021-07-01", True),   # 183 days in common, half of 2020's 366
    ("2020-12-31", "2020-07-03", "2021-07-02", False),  # 182 days
    ("2021-01-01", "2020-07-03", "2021-07-02", False),  # 183 days of 367: less than half
    ("2020-12-31", "2020-10-01", "2020-12-31", False),  # a quarter revised: half of the shorter, not of the longer
])
def test_a_revision_supersedes_an_estimate_it_overlaps_by_half_the_longer_period(year_end, start, end,
                                                                                 superseded) -> None:
    reports = [_report("a1", "a", "2024-01-10"), _report("a2", "a", "2024-05-10"), _report("b1", "b", "2024-03-10")]
    con = _warehouse(reports, [_figure("a1", "year", "2020-01-01", year_end, 1e9),
                               _figure("a2", "revision", start, end, 1e9),
                               _figure("b1", "other", "2020-01-01", "2020-12-31", 1e9)])
    assert (("b1", "a1") in {pair[:2] for pair in _pairs(con)}) == (not superseded)


def test_a_revision_published_the_same_day_supersedes_when_its_id_is_later() -> None:
    reports = [_report("a1", "a", "2024-01-10"), _report("a2", "a", "2024-01-10"), _report("b1", "b", "2024-03-10")]
    con = _warehouse(reports, [_figure("a1", "first", "2023-01-01", "2023-12-31", 1e9),
                               _figure("a2", "second", "2023-01-01", "2023-12-31", 1.1e9),
                               _figure("b1", "other", "2023-01-01", "2023-12-31", 1e9)])
    assert [pair[:2] for pair in _pairs(con)] == [("b1", "a2")]


def test_a_refresh_of_some_series_computes_only_the_pairs_that_touch_them_each_once() -> None:
    reports = [_report("a1", "a", "2024-01-10"), _report("b1", "b", "2024-02-10"), _report("c1", "c", "2024-03-10")]
    figures = [_figure(r, f"{r}-x", "2023-01-01", "2023-12-31", 1e9) for r in ("a1", "b1", "c1")]
    assert [pair[:2] for pair in _pairs(_warehouse(reports, figures, touched=["b"]))] == [("b1", "a1"), ("c1", "b1")]
    assert [pair[:2] for pair in _pairs(_warehouse(reports, figures, touched=["a", "c"]))] == [
        ("b1", "a1"), ("c1", "a1"), ("c1", "b1")]
    assert len(_pairs(_warehouse(reports, figures))) == 3


@pytest.mark.parametrize("start, end, years", [
    ("2017-01-01", "2023-12-31", 7.0),                    # whole months: 84 / 12
    ("2023-07-01", "2024-02-29", 8 / 12),
    ("2023-01-01", "2023-06-15", 166 / 365.2425),         # starts on the 1st, ends mid-month: days
    ("2023-01-15", "2023-06-30", 167 / 365.2425),         # ends on a month's last day only: days
])
def test_an_estimate_lasts_its_whole_months_or_else_its_days(start, end, years) -> None:
    con = _warehouse(TWO[:1], [_figure("a1", "x", start, end, 1e9)])
    assert con.execute("SELECT years, per_year_average FROM estimates").fetchall() == [
        (pytest.approx(years), pytest.approx(1e9 / years))]


def test_estimates_hold_channels_and_totals_with_their_units_and_averages_only_for_flows() -> None:
    con = _warehouse(TWO[:1], [
        _figure("a1", "total", "2023-01-01", "2023-12-31", 3e9, channel="illicit_income", topic="total"),
        _figure("a1", "rate", "2023-01-01", "2023-12-31", 2e9, measure="income_per_year"),
        _figure("a1", "count", "2023-01-01", "2023-12-31", 47, measure="incidents"),
        _figure("a1", "people", "2023-01-01", "2023-12-31", 100_000, channel="overseas_labor", measure="people"),
        _figure("a1", "share", "2023-01-01", "2023-12-31", 61.0, measure="share"),
        _figure("a1", "arms", "2023-01-01", "2023-12-31", 5e8, channel="artillery", topic="arms"),
        _figure("a1", "corrected", "2022-01-01", "2022-12-31", 10e9, best=1e9)])
    got = {row[0]: row[1:] for row in con.execute(
        "SELECT figure_id, channel, unit, value, value_as_published, per_year_average, per_year_average_as_published "
        "FROM estimates").fetchall()}
    assert got == {"total": ("total", "USD", 3e9, 3e9, 3e9, 3e9),
                   "rate": ("cyber", "USD per year", 2e9, 2e9, None, None),
                   "count": ("cyber", "count", 47.0, 47.0, 47.0, 47.0),
                   "people": ("overseas_labor", "count", 100_000.0, 100_000.0, None, None),
                   "share": ("cyber", "percent", 61.0, 61.0, None, None),
                   "corrected": ("cyber", "USD", 1e9, 10e9, 1e9, 10e9)}


def test_source_agreement_counts_a_reports_pairs_and_names_the_furthest_apart_and_the_closest() -> None:
    reports = [_report(r, r[0], f"2024-0{i + 1}-10") for i, r in enumerate(("a1", "b1", "c1", "d1", "e1"))]
    values = {"a1": 1e9, "b1": 3e9, "c1": 1.2e9, "d1": 0.1e9, "e1": 2e9}
    con = _warehouse(reports, [_figure(r, f"{r}-x", "2023-01-01", "2023-12-31", v) for r, v in values.items()])
    ids = "list_transform({}, lambda p: p.other_report_id)"
    agreement = {row[0]: row[1:] for row in con.execute(
        "SELECT report_id, compared, apart, apart_as_published, "
        + ", ".join(ids.format(c) for c in ("furthest", "furthest_as_published", "closest", "closest_as_published"))
        + f" FROM ({sql('source_agreement').rstrip().rstrip(';')})").fetchall()}
    # e1 (2e9) against a1 1e9 (2x), b1 3e9 (1.5x: agrees), c1 1.2e9 (1.67x), d1 0.1e9 (20x)
    assert agreement["e1"] == (4, 3, 3, ["d1", "a1", "c1"], ["d1", "a1", "c1"], ["b1", "c1", "a1"], ["b1", "c1", "a1"])
    assert agreement["b1"] == (1, 1, 1, ["a1"], ["a1"], ["a1"], ["a1"])
    # c1 (1.2e9) agrees with a1 (1.2x) and not with b1 (2.5x): only b1 is furthest apart
    assert agreement["c1"] == (2, 1, 1, ["b1"], ["b1"], ["a1", "b1"], ["a1", "b1"])
