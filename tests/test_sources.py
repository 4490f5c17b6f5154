"""Many sources, one picture: estimates that disagree stand side by side.

The seed and five invented reports of three other series (tests/multi_source.py) go through the whole
Dagster job into a DuckDB file once per module; each test reads what an analyst would read.
"""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest

from pipeline.build.cross_checks import SOURCES_AGREE_FACTOR
from pipeline.build.queries import sql
from tests.conftest import RAW, SEED_ID
from tests.helpers import build, publish_for_reading, rows
from tests.multi_source import CHAIN_2023, CHAIN_2024, THINK_TANK, UN_FIRST, UN_SECOND, write_report, write_sources

D = datetime.date


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    """The published file built from the seed and the invented sources, through the real job."""
    root = tmp_path_factory.mktemp("sources")
    raw = root / "raw"
    shutil.copytree(RAW, raw)
    write_sources(raw)
    path = root / "warehouse" / "illicit_income.duckdb"
    publish_for_reading(raw, path)
    return path


@pytest.fixture(scope="module")
def seed_alone(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("seed")
    path = root / "warehouse" / "illicit_income.duckdb"
    publish_for_reading(RAW, path)
    return path


def test_estimates_hold_every_figure_about_a_channel_or_the_total_with_its_measure_and_unit(sources):
    expected = rows(sources, "SELECT count(*) FROM figures WHERE topic IN ('channel', 'total')")[0][0]
    assert rows(sources, "SELECT count(*) FROM estimates")[0][0] == expected == 19
    kinds = dict(((channel, measure), unit) for channel, measure, unit in rows(
        sources, "SELECT DISTINCT channel, measure, unit FROM estimates"))
    assert kinds[("cyber", "incidents")] == "count"
    assert kinds[("cyber", "share")] == "percent"
    assert kinds[("cyber", "income_per_year")] == "USD per year"
    assert kinds[("cyber", "event")] == "USD"
    assert kinds[("overseas_labor", "people")] == "count"
    assert kinds[("total", "income")] == "USD"
    # the estimating body and the outlet that published the document, separately
    assert rows(sources, "SELECT DISTINCT publisher, outlet FROM estimates WHERE report_id = ?", [UN_FIRST]) == [
        ("UN Panel of Experts on the DPRK", "Reuters")]


def test_a_per_year_average_only_where_a_quantity_flows_over_the_period(sources):
    got = dict(((r, f), (years, avg)) for r, f, years, avg in rows(
        sources, "SELECT report_id, figure_id, years, per_year_average FROM estimates"))
    assert got[(UN_FIRST, "cyber-income")] == (7.0, pytest.approx(3e9 / 7))
    assert got[(UN_SECOND, "cyber-income")][0] == pytest.approx(88 / 12)  # 2017-01 .. 2024-04, whole months
    assert got[(UN_FIRST, "cyber-attacks")][1] == pytest.approx(58 / 7)
    for rate_like in ((THINK_TANK, "cyber-rate"), (THINK_TANK, "workers"), (CHAIN_2024, "share-2024"),
                      (UN_SECOND, "exchange-theft")):
        assert got[rate_like][1] is None, rate_like


def test_incidents_per_year_across_sources_in_one_query(sources):
    got = rows(sources, "SELECT report_id, period_start, period_end, value, per_year_average FROM estimates "
                        "WHERE channel = 'cyber' AND measure = 'incidents' ORDER BY published_on")
    assert [(r, value, round(avg, 2)) for r, _, _, value, avg in got] == [
        (CHAIN_2023, 20.0, 20.0), (UN_FIRST, 58.0, 8.29), (CHAIN_2024, 47.0, 47.0)]


def test_counts_shares_rates_and_events_never_reach_the_channels_table(sources):
    assert rows(sources, "SELECT DISTINCT f.measure FROM channels JOIN figures AS f USING (report_id, figure_id)") == [
        ("income",)]
    # the seed's channels are exactly as before
    assert rows(sources, "SELECT channel, income_usd, income_usd_as_published FROM channels WHERE report_id = ? "
                         "ORDER BY channel", [SEED_ID]) == [
        ("arms_exports", 540e6, 5.4e9), ("coal_smuggling", 2.15e9, 21.5e9), ("cyber", 1.35e9, 13.5e9),
        ("overseas_labor", 1.75e9, 17.5e9)]


def test_two_sources_that_disagree_for_the_same_period_are_compared_and_flagged(sources):
    pair = rows(sources, "SELECT basis, value, other_value, ratio, ratio_as_published, factor, agree, agree_as_published "
                         "FROM source_comparisons WHERE report_id = ? AND other_report_id = ? AND channel = 'cyber'",
                [THINK_TANK, SEED_ID])
    assert pair == [("same_period", 3e9, 1.35e9, pytest.approx(3e9 / 1.35e9), pytest.approx(3 / 13.5),
                     pytest.approx(3e9 / 1.35e9), False, False)]
    (passed, message), = rows(sources, "SELECT passed, message FROM validation_results WHERE report_id = ? "
                                       "AND check_name = 'sources_agree' AND value_basis = 'best_estimate'", [THINK_TANK])
    assert not passed
    assert "cyber 2017-01-01..2023-12-31" in message
    assert f"{THINK_TANK} says about 3e9" in message and f"{SEED_ID} says approximately 1.35e9" in message
    assert "2.22x apart" in message


def test_a_figure_its_own_series_revised_is_compared_no_more(sources):
    # the panel's first 2017-2023 figure was revised by its next edition (2017-01..2024-04): the revision speaks
    assert rows(sources, "SELECT count(*) FROM source_comparisons WHERE ? IN (report_id, other_report_id) "
                         "AND measure = 'income'", [UN_FIRST])[0][0] == 0
    # a year-end series' figure for another year is no revision: the firm's 2023 figure is still compared
    assert rows(sources, "SELECT count(*) FROM source_comparisons WHERE other_report_id = ?", [CHAIN_2023])[0][0] == 1


def test_overlapping_periods_compare_per_year_averages(sources):
    (basis, overlap, compared, other, agree), = rows(
        sources, "SELECT basis, overlap_share, compared_value, other_compared_value, agree FROM source_comparisons "
                 "WHERE report_id = ? AND other_report_id = ?", [UN_SECOND, SEED_ID])
    assert basis == "per_year_average" and overlap > 0.9
    assert compared == pytest.approx(3.6e9 / (88 / 12)) and other == pytest.approx(1.35e9 / 7)
    assert agree is False


def test_a_part_of_a_period_is_not_compared_with_the_whole(sources):
    # the panel's 2023 figure against the seed's 2017-2023: a seventh of the period, a part, not another estimate
    assert rows(sources, "SELECT count(*) FROM source_comparisons WHERE figure_id = 'cyber-2023' "
                         "AND other_period_start = DATE '2017-01-01'")[0][0] == 0
    # ... but against another series' 2023 figure it is compared
    assert rows(sources, "SELECT other_report_id, agree FROM source_comparisons WHERE figure_id = 'cyber-2023'") == [
        (CHAIN_2023, False)]


def test_a_lower_bound_agrees_with_any_larger_value(sources):
    (factor, agree), = rows(sources, "SELECT factor, agree FROM source_comparisons WHERE report_id = ? "
                                     "AND channel = 'total'", [THINK_TANK])
    assert (factor, agree) == (1.0, True)  # "more than $6 billion" and 6.29e9
    (message,), = rows(sources, "SELECT message FROM validation_results WHERE report_id = ? "
                                "AND check_name = 'sources_agree' AND value_basis = 'best_estimate'", [THINK_TANK])
    # the cyber pair with the seed disagrees; the totals agree, and so does its cyber figure with the panel's, per year
    assert message.startswith("1 of 3 comparison(s)")


def test_editions_of_one_series_are_not_compared_as_two_sources(sources):
    assert rows(sources, "SELECT count(*) FROM source_comparisons WHERE series = other_series")[0][0] == 0


def test_the_seed_alone_has_no_comparison(seed_alone):
    assert rows(seed_alone, "SELECT count(*) FROM source_comparisons")[0][0] == 0
    assert rows(seed_alone, "SELECT value_basis, passed, status FROM validation_results WHERE check_name = "
                            "'sources_agree' ORDER BY value_basis") == [("as_published", None, "not_compared"),
                                                                       ("best_estimate", None, "not_compared")]


def test_the_factor_of_the_view_and_of_the_check_are_one(sources):
    assert f"factor <= {SOURCES_AGREE_FACTOR:g} " in sql("source_comparisons").replace("\n", " ")


def test_latest_channels_never_hide_a_period(sources):
    got = rows(sources, "SELECT period_start, period_end, report_id, income_usd FROM latest_channels "
                        "WHERE channel = 'cyber' ORDER BY period_start, period_end")
    assert got == [
        (D(2017, 1, 1), D(2023, 12, 31), THINK_TANK, 3e9),  # published after the seed, for the same period
        (D(2017, 1, 1), D(2024, 4, 30), UN_SECOND, 3.6e9),
        (D(2023, 1, 1), D(2023, 12, 31), UN_SECOND, 1.2e9),  # the panel's, published after the firm's
        (D(2024, 1, 1), D(2024, 12, 31), CHAIN_2024, 1.34e9),
    ]


def test_report_changes_match_an_edition_on_the_period_that_overlaps_most(sources):
    got = rows(sources, "SELECT change, old_value, new_value, old_period_end, new_period_end, new_figure_id "
                        "FROM report_changes WHERE new_report_id = ? AND measure = 'income' ORDER BY change",
               [UN_SECOND])
    assert got == [("changed", 3e9, 3.6e9, D(2023, 12, 31), D(2024, 4, 30), "cyber-income"),
                   ("new", None, 1.2e9, None, D(2023, 12, 31), "cyber-2023")]


def test_the_disagreement_is_an_asset_check_in_the_ui(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    write_sources(raw)
    result = build(raw, tmp_path / "w.duckdb")
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    check = evaluations["sources_agree_best_estimate"]
    assert not check.passed
    assert "2.22x apart" in check.metadata["messages"].value


def test_the_same_document_under_two_ids_is_flagged_naming_both(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    shutil.copytree(raw / SEED_ID, raw / "inss-illicit-income-copy")
    path = tmp_path / "w.duckdb"
    publish_for_reading(raw, path)
    got = dict(rows(path, "SELECT report_id, message FROM validation_results WHERE check_name = 'distinct_documents' "
                          "AND NOT passed"))
    assert set(got) == {SEED_ID, "inss-illicit-income-copy"}
    [(sha,)] = rows(path, "SELECT source_sha256 FROM reports WHERE report_id = ?", [SEED_ID])
    for report_id, other in [(SEED_ID, "inss-illicit-income-copy"), ("inss-illicit-income-copy", SEED_ID)]:
        assert got[report_id] == (f"report folders '{report_id}', '{other}' store the same document (sha256 {sha[:12]}...): "
                                  "one report under two ids counts as two sources that agree; keep one folder, or store "
                                  "each folder's own document")


def test_a_report_that_agrees_passes_and_one_added_later_is_compared_after_an_incremental_refresh(tmp_path, dagster_home):
    from tests.helpers import refresh_cli

    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    path = tmp_path / "warehouse" / "illicit_income.duckdb"
    assert build(raw, path).success  # the seed published (in this process: only the refresh below is the subject)
    write_report(raw, "wire-2024-09-04", publisher="Another Wire", published_on=D(2024, 9, 4), series="another-wire",
                 period=(D(2017, 1, 1), D(2023, 12, 31)), figures=[
                     {"id": "cyber", "topic": "channel", "subject": "cyber", "value": 1.4, "unit": "USD billion",
                      "value_text": "$1.4 billion", "quote": "Hacking brought in $1.4 billion from 2017 to 2023."}])
    proc = refresh_cli(raw, path, dagster_home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert rows(path, "SELECT method FROM build.info") == [("incremental",)]
    assert rows(path, "SELECT value_basis, passed FROM validation_results WHERE report_id = 'wire-2024-09-04' "
                      "AND check_name = 'sources_agree' ORDER BY value_basis") == [
        ("as_published", False), ("best_estimate", True)]  # 1.4e9 against 1.35e9; against 13.5e9 as published
    assert "sources_agree (on the as published values)" in proc.stdout


def test_the_rules_of_source_comparisons_are_checked_on_every_row(sources, tmp_path):
    """The table can hold millions of pairs, so it is checked in SQL: a pair that breaks a rule is found, among
    the rows a build wrote when it is given them."""
    import duckdb

    from pipeline.defs.checks import _sql_rule_problems
    from pipeline.validate.schemas import TABLE_SCHEMAS

    copy = tmp_path / "copy.duckdb"
    shutil.copy(sources, copy)
    con = duckdb.connect(str(copy))
    model = TABLE_SCHEMAS["source_comparisons"]
    assert _sql_rule_problems(con, "source_comparisons", model) == ([], 5, 5)
    con.execute("UPDATE source_comparisons SET factor = 0.5 WHERE channel = 'total'")
    con.execute("UPDATE source_comparisons SET agree = NOT agree WHERE basis = 'per_year_average'")
    problems, checked, total = _sql_rule_problems(con, "source_comparisons", model)
    assert (checked, total) == (5, 5)
    assert [(p.expected, p.found) for p in problems] == [
        ("factor and factor_as_published are at least 1", "1 row(s) that break it"),
        ("agree means factor <= 1.5", "2 row(s) that break it"),
    ]
    # the rows an incremental build wrote: only theirs are checked
    problems, checked, total = _sql_rule_problems(con, "source_comparisons", model, "channel = 'total'")
    assert (checked, total) == (1, 5)
    assert [p.expected for p in problems] == ["factor and factor_as_published are at least 1"]
    con.execute("ALTER TABLE source_comparisons DROP COLUMN ratio")
    assert [p.field for p in _sql_rule_problems(con, "source_comparisons", model)[0]] == ["columns"]
    con.close()


def test_the_message_names_as_many_pairs_as_the_query_fetches():
    from pipeline.build.cross_checks import SHOWN

    assert sql("source_agreement").count(f"other_figure_id), {SHOWN})") == 4
