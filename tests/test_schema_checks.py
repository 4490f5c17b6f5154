"""The schemas' checks that are computed once per distinct value (pipeline.validate.schemas): each gives what
its row-by-row definition gives, on text columns with missing values, any index and name, no rows, and columns
that are not text; and the rules they apply, on every kind of value a frame can hold."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.core import vocabulary as v
from pipeline.validate.schemas import _measure_fits_topic, _pairs_by_value, _str_matches_by_value, _unit_fits_measure

SLUG = v.SLUG_PATTERN
TEXTS = ["an-id", "An-Id", "an-id\n", "an-id", "", "two-ids", "an-id"]


@pytest.mark.parametrize("series", [
    pd.Series(TEXTS + [None], dtype="string", index=[10, 3, 7, 1, 0, 5, 2, 9], name="report_id"),
    pd.Series(TEXTS + [None], dtype=object, index=list("abcdefgh"), name="figure_id"),
    pd.Series([None, None], dtype="string", name="series"),
    pd.Series([], dtype="string", name="series"),
], ids=["text", "objects", "all missing", "no rows"])
def test_a_text_check_by_distinct_value_is_the_full_match_of_every_row(series: pd.Series) -> None:
    expected = series.str.fullmatch(SLUG, na=False)
    found = _str_matches_by_value(series, SLUG)
    pd.testing.assert_series_equal(found, expected)
    assert found.fillna(False).tolist() == [isinstance(t, str) and t in ("an-id", "two-ids") for t in series]


def _row_by_row(rule, first: pd.Series, second: pd.Series) -> pd.Series:
    return pd.Series([rule(a, b) for a, b in zip(first, second, strict=True)], index=first.index)


def _both(a, b) -> bool:
    return f"{'missing' if a is pd.NA else a}/{'missing' if b is pd.NA else b}" in ("x/1", "missing/1", "y/missing")


@pytest.mark.parametrize("rows", [
    [("x", "1"), (None, "1"), ("y", None), ("x", "2"), ("y", "1"), (None, None), ("x", "1")],
    [(None, "1"), (None, "1")],
    [],
], ids=["values and missing ones", "missing first", "no rows"])
def test_a_rule_of_two_text_columns_by_distinct_pair_is_the_rule_of_every_row(rows) -> None:
    index = pd.Index([100 + 7 * i for i in range(len(rows))])
    first = pd.Series([a for a, _ in rows], dtype="string", index=index)
    second = pd.Series([b for _, b in rows], dtype="string", index=index)
    pd.testing.assert_series_equal(_pairs_by_value(_both, first, second), _row_by_row(_both, first, second))


def test_a_rule_of_columns_that_are_not_both_text_is_left_to_the_rows() -> None:
    text = pd.Series(["a", "b"], dtype="string")
    assert _pairs_by_value(_both, text, pd.Series([1.0, 2.0])) is None
    assert _pairs_by_value(_both, pd.Series(["a", "b"], dtype=object), text) is None


def test_a_measure_fits_its_topic_by_the_vocabulary_and_unknown_values_are_left_to_their_own_check() -> None:
    for topic, measures in v.TOPIC_MEASURES.items():
        for measure in v.MEASURES:
            assert _measure_fits_topic(topic, measure) is (measure in measures), (topic, measure)
    assert _measure_fits_topic("arms", "a measure no one knows") is True  # the measure's own check names it
    assert _measure_fits_topic("a topic no one knows", v.INCOME) is True
    assert _measure_fits_topic(pd.NA, v.INCOME) is True


def test_a_unit_fits_its_measure_by_the_kind_of_both() -> None:
    assert _unit_fits_measure(v.INCOME, "USD billion") is True
    assert _unit_fits_measure(v.INCOME, "count") is False
    assert _unit_fits_measure(v.PEOPLE, "count") is True
    assert _unit_fits_measure(v.PEOPLE, "USD million") is False
    assert _unit_fits_measure(v.SHARE, "percent") is True
    assert _unit_fits_measure(v.SHARE, "USD") is False
    assert _unit_fits_measure(v.INCOME, "a unit no one knows") is True  # the unit's own check names it
    assert _unit_fits_measure(pd.NA, "count") is True


# --- validate_raw: where each schema problem is located, what it shows, and what it does not say twice


def _schema_problems(reports: pd.DataFrame, figures: pd.DataFrame) -> tuple[str, list[tuple]]:
    from pipeline.core.errors import RawReportError
    from pipeline.read.raw_reports import RawReports
    from pipeline.validate.validation import validate_raw

    with pytest.raises(RawReportError) as refused:
        validate_raw(RawReports(reports=reports, figures=figures), "raw-copy")
    return str(refused.value), [(p.folder, p.file, p.where, p.field, p.found) for p in refused.value.problems]


@pytest.fixture(scope="module")
def seed():
    from pipeline.read.raw_reports import load_raw
    from tests.conftest import RAW

    return load_raw(RAW)


def test_a_negative_value_is_one_problem_not_again_through_the_amount_it_gives(seed) -> None:
    from tests.conftest import SEED_ID

    figures = seed.figures.copy()
    row = figures.index[figures["figure_id"] == "cyber-income"][0]
    figures.loc[row, ["value_as_published", "amount_usd"]] = [-13.5, -13.5e9]
    message, problems = _schema_problems(seed.reports, figures)
    assert problems == [(f"raw-copy/{SEED_ID}", "figures.toml", "figure 'cyber-income'", "value", "-13.5")]
    assert message.startswith("1 problem(s) validating raw reports against the schemas; nothing was published")


def test_a_reports_rule_of_two_columns_shows_both_values_at_its_report(seed) -> None:
    from tests.conftest import SEED_ID

    reports = seed.reports.copy()
    reports.loc[reports.index[0], "period_start"] = pd.Timestamp("2024-01-03")
    _, problems = _schema_problems(reports, seed.figures)
    assert problems == [(f"raw-copy/{SEED_ID}", "report.toml", "", "period_start, period_end",
                         "period_start=2024-01-03, period_end=2023-12-31")]


def test_a_missing_column_is_located_at_the_raw_folder_and_a_bad_row_beside_it_at_its_report(seed) -> None:
    from tests.conftest import SEED_ID

    reports = seed.reports.drop(columns=["publisher"])
    reports.loc[reports.index[0], ["period_start", "series"]] = [pd.Timestamp("2024-01-03"), "Not A Slug"]
    _, problems = _schema_problems(reports, seed.figures)
    assert [(folder, file, where, field) for folder, file, where, field, _ in problems] == [
        ("raw-copy", "", "", "ReportSchema"),
        (f"raw-copy/{SEED_ID}", "report.toml", "", "period_start, period_end"),
        (f"raw-copy/{SEED_ID}", "report.toml", "", "series")]
    assert problems[0][4] == "'publisher'"


def test_an_amount_that_disagrees_with_a_valid_value_is_reported(seed) -> None:
    from tests.conftest import SEED_ID

    figures = seed.figures.copy()
    row = figures.index[figures["figure_id"] == "cyber-income"][0]
    figures.loc[row, "amount_usd"] = -13.5e9  # only what derives from the value is wrong: it is not hidden
    _, problems = _schema_problems(seed.reports, figures)
    assert problems == [(f"raw-copy/{SEED_ID}", "figures.toml", "figure 'cyber-income'", "amount_usd", "-13500000000.0")]
