"""How `report_changes` matches the figures of one edition with those of the next (pipeline/build/sql/report_changes.sql),
on hand-made `reports` and `figures` tables in an in-memory DuckDB: the rules of the SQL file's header, each
case stated directly (milliseconds, no build). The published table on real editions: tests/test_history.py."""

from __future__ import annotations

import datetime

import duckdb
import pytest

from pipeline.build.queries import sql

OLD, NEW = "panel-2024-01", "panel-2024-06"


def _changes(old: list[tuple], new: list[tuple], columns: str = "old_value, new_value") -> list[tuple]:
    """report_changes' (change, old figure, new figure, and the columns asked: old and new value) for two editions of
    one series; each figure is (figure_id, period_start, period_end, amount_usd), or with a measure and a count."""
    con = duckdb.connect()
    con.execute("CREATE TABLE reports (series VARCHAR, report_id VARCHAR, published_on DATE)")
    con.execute("INSERT INTO reports VALUES ('panel', ?, DATE '2024-01-15'), ('panel', ?, DATE '2024-06-15')",
                [OLD, NEW])
    con.execute("CREATE TABLE figures (report_id VARCHAR, figure_id VARCHAR, topic VARCHAR, subject VARCHAR, "
                "measure VARCHAR, amount_usd DOUBLE, quantity BIGINT, share_percent DOUBLE, best_amount_usd DOUBLE, "
                "best_quantity BIGINT, best_share_percent DOUBLE, period_start DATE, period_end DATE)")
    for report_id, figures in ((OLD, old), (NEW, new)):
        for figure_id, start, end, amount, *rest in figures:
            measure, count = rest if rest else ("income", None)
            con.execute("INSERT INTO figures VALUES (?, ?, 'channel', 'cyber', ?, ?, ?, NULL, ?, ?, NULL, ?, ?)",
                        [report_id, figure_id, measure, amount, count, amount, count, start, end])
    got = con.execute(f"{sql('report_changes')}; SELECT change, old_figure_id, new_figure_id, {columns} "
                      "FROM report_changes ORDER BY change, old_figure_id NULLS LAST, new_figure_id").fetchall()
    con.close()
    return got


def test_the_same_period_with_another_value_is_a_change_and_an_unchanged_figure_is_no_row() -> None:
    assert _changes([("a", "2023-01-01", "2023-12-31", 3e9), ("b", "2022-01-01", "2022-12-31", 1e9)],
                    [("a2", "2023-01-01", "2023-12-31", 3.6e9), ("b2", "2022-01-01", "2022-12-31", 1e9)]) == [
        ("changed", "a", "a2", 3e9, 3.6e9)]


def test_an_exact_period_is_matched_before_a_longer_one_that_overlaps_as_much() -> None:
    # b2 holds all of a's days as a2 does; a2 states a's very period and is a's match, b2 is new
    assert _changes([("a", "2023-01-01", "2023-12-31", 3e9)],
                    [("b2", "2023-01-01", "2024-04-30", 4e9), ("a2", "2023-01-01", "2023-12-31", 3.5e9)]) == [
        ("changed", "a", "a2", 3e9, 3.5e9), ("new", None, "b2", None, 4e9)]


def test_an_extended_period_is_the_change_and_a_sub_period_of_it_is_new() -> None:
    # the header's example: 3.0e9 for 2017-2023, then 3.6e9 for 2017-01..2024-04 and a month of 2024 beside it
    assert _changes([("total", "2017-01-01", "2023-12-31", 3.0e9)],
                    [("month", "2024-03-01", "2024-03-31", 0.1e9), ("total2", "2017-01-01", "2024-04-30", 3.6e9)]) == [
        ("changed", "total", "total2", 3.0e9, 3.6e9), ("new", None, "month", None, 0.1e9)]


def test_the_largest_overlap_is_matched_only_when_the_choice_is_mutual() -> None:
    # b overlaps 2020 (214 days) more than 2021 (181): 2020's figure is its match; 2021's best is b too, but b is
    # taken and 2021 is not the only figure of its kind left with b: dropped
    assert _changes([("y2020", "2020-01-01", "2020-12-31", 1e9), ("y2021", "2021-01-01", "2021-12-31", 2e9)],
                    [("b", "2020-06-01", "2021-06-30", 1.5e9)]) == [
        ("changed", "y2020", "b", 1e9, 1.5e9), ("dropped", "y2021", None, 2e9, None)]


def test_each_figure_takes_the_one_it_overlaps_most_among_several() -> None:
    # a overlaps c (245 days) more than b (182); c's best is a
    assert _changes([("a", "2020-01-01", "2020-12-31", 1e9)],
                    [("b", "2020-01-01", "2020-06-30", 0.4e9), ("c", "2020-05-01", "2021-12-31", 2e9)]) == [
        ("changed", "a", "c", 1e9, 2e9), ("new", None, "b", None, 0.4e9)]


def test_one_figure_of_its_kind_per_edition_is_matched_across_periods_that_do_not_meet() -> None:
    # a yearly series: 2023's figure, then 2024's
    assert _changes([("y2023", "2023-01-01", "2023-12-31", 1e9)], [("y2024", "2024-01-01", "2024-12-31", 1.2e9)]) == [
        ("changed", "y2023", "y2024", 1e9, 1.2e9)]


def test_periods_that_do_not_meet_are_not_matched_when_an_edition_has_two_of_the_kind_left() -> None:
    assert _changes([("y2022", "2022-01-01", "2022-12-31", 1e9), ("y2023", "2023-01-01", "2023-12-31", 1.1e9)],
                    [("y2024", "2024-01-01", "2024-12-31", 1.2e9)]) == [
        ("dropped", "y2022", None, 1e9, None), ("dropped", "y2023", None, 1.1e9, None), ("new", None, "y2024", None, 1.2e9)]


def test_two_figures_of_one_period_in_each_edition_are_matched_one_to_one() -> None:
    # a low and a high estimate for 2023 in both: each old one takes one new one, none is matched twice
    got = _changes([("low", "2023-01-01", "2023-12-31", 1e9), ("high", "2023-01-01", "2023-12-31", 2e9)],
                   [("low2", "2023-01-01", "2023-12-31", 1.5e9), ("high2", "2023-01-01", "2023-12-31", 2.5e9)])
    assert [row[0] for row in got] == ["changed", "changed"]
    assert sorted(row[1] for row in got) == ["high", "low"] and sorted(row[2] for row in got) == ["high2", "low2"]


def test_an_exactly_matched_figure_is_not_matched_again_by_overlap() -> None:
    # a2 is a's exact match; b (2023-H1) overlaps only a2, which is taken: b is dropped, not matched with a2
    assert _changes([("a", "2023-01-01", "2023-12-31", 3e9), ("b", "2023-01-01", "2023-06-30", 1e9),
                     ("c", "2021-01-01", "2021-12-31", 1e9)],
                    [("a2", "2023-01-01", "2023-12-31", 3.3e9), ("d", "2019-01-01", "2019-12-31", 1e9)]) == [
        ("changed", "a", "a2", 3e9, 3.3e9), ("dropped", "b", None, 1e9, None), ("dropped", "c", None, 1e9, None),
        ("new", None, "d", None, 1e9)]


def test_figures_of_another_measure_are_never_matched_and_each_keeps_its_unit() -> None:
    assert _changes([("money", "2023-01-01", "2023-12-31", 1e9)],
                    [("events", "2023-01-01", "2023-12-31", None, "incidents", 47)], "old_value, new_value, unit") == [
        ("dropped", "money", None, 1e9, None, "USD"), ("new", None, "events", None, 47.0, "count")]


def test_an_exact_period_wins_over_an_equal_overlap_whatever_the_names() -> None:
    # b holds all of a's days too, and its id sorts first: the exact period is still a's match
    assert _changes([("a", "2023-01-01", "2023-12-31", 3e9)],
                    [("b", "2022-07-01", "2023-12-31", 4e9), ("z", "2023-01-01", "2023-12-31", 3.5e9)]) == [
        ("changed", "a", "z", 3e9, 3.5e9), ("new", None, "b", None, 4e9)]


def test_an_exact_match_leaves_the_other_figures_of_the_editions_to_be_matched_by_overlap() -> None:
    # a-a2 exact; 2020's figure and q overlap; 2018's overlaps nothing and is dropped
    assert _changes([("a", "2023-01-01", "2023-12-31", 3e9), ("p", "2020-01-01", "2020-12-31", 1e9),
                     ("r", "2018-01-01", "2018-12-31", 1e9)],
                    [("a2", "2023-01-01", "2023-12-31", 3.3e9), ("q", "2020-06-01", "2021-06-30", 1.4e9)]) == [
        ("changed", "a", "a2", 3e9, 3.3e9), ("changed", "p", "q", 1e9, 1.4e9), ("dropped", "r", None, 1e9, None)]


def test_an_exact_match_leaves_the_last_figures_of_their_kind_to_be_matched_across_periods() -> None:
    assert _changes([("a", "2023-01-01", "2023-12-31", 3e9), ("y", "2021-01-01", "2021-12-31", 1e9)],
                    [("a2", "2023-01-01", "2023-12-31", 3.3e9), ("y2", "2019-01-01", "2019-12-31", 0.9e9)]) == [
        ("changed", "a", "a2", 3e9, 3.3e9), ("changed", "y", "y2", 1e9, 0.9e9)]


def test_the_overlap_is_the_days_both_periods_hold() -> None:
    # a shares 305 days with b and 122 with c (c runs on to 2022: the days after a's end are not shared)
    assert _changes([("a", "2020-01-01", "2020-12-31", 1e9)],
                    [("b", "2020-01-01", "2020-10-31", 0.8e9), ("c", "2020-09-01", "2022-12-31", 3e9)]) == [
        ("changed", "a", "b", 1e9, 0.8e9), ("new", None, "c", None, 3e9)]


@pytest.mark.parametrize("new_period", [("2022-01-01", "2023-12-31"), ("2023-01-01", "2024-06-30")])
def test_a_period_moved_at_one_end_is_a_change_though_the_value_is_the_same(new_period) -> None:
    assert _changes([("a", "2023-01-01", "2023-12-31", 1e9)], [("a2", *new_period, 1e9)],
                    "old_period_start, old_period_end, new_period_start, new_period_end") == [
        ("changed", "a", "a2", *(datetime.date.fromisoformat(day) for day in ("2023-01-01", "2023-12-31", *new_period)))]


@pytest.mark.parametrize("old_value, rel_change", [(2e9, 0.5), (0.0, None)])
def test_a_change_is_given_as_a_difference_and_a_ratio_and_no_ratio_from_zero(old_value, rel_change) -> None:
    assert _changes([("f1", "2023-01-01", "2023-12-31", old_value)], [("f2", "2023-01-01", "2023-12-31", 3e9)],
                    "abs_change, rel_change, unit") == [("changed", "f1", "f2", 3e9 - old_value, rel_change, "USD")]
