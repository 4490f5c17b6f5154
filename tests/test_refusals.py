"""A figure the pandera schemas refuse is named with the values that break the rule: the folder, the
file, the figure, the fields of the rule, the row's values and the rule itself, once each. Found by
mutation testing (docs/mutation.md): the row's values and the figure could be lost from these
messages without any test failing."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.core.errors import Problem, RawReportError
from pipeline.read.raw_reports import load_raw
from pipeline.validate.validation import validate_raw

from .test_silent_bugs import REPORT_ID, channel_figure, write_report

QUOTE = "North Korea earned $5 billion from cyber theft"


def test_row_rules_name_the_figure_the_fields_and_the_values_that_break_them(tmp_path):
    backwards = channel_figure(5, "USD billion", "$5 billion", QUOTE)
    backwards["period_start"], backwards["period_end"] = date(2023, 12, 31), date(2023, 1, 1)
    counted = {**channel_figure(5, "count", "5", QUOTE + " and 5"), "id": "coal", "subject": "coal_smuggling"}
    write_report(tmp_path / "raw", [backwards, counted], QUOTE + " and 5.\n")

    loaded = load_raw(tmp_path / "raw")  # the loader's own checks pass; the schemas' row rules do not
    with pytest.raises(RawReportError) as caught:
        validate_raw(loaded, "raw")

    folder = f"raw/{REPORT_ID}"
    assert set(caught.value.problems) == {
        Problem(folder, "figures.toml", where="figure 'cyber-income'", field="period_start, period_end",
                found="period_start=2023-12-31, period_end=2023-01-01", expected="period_start <= period_end"),
        Problem(folder, "figures.toml", where="figure 'coal'", field="unit",
                found="topic='channel', measure='income', unit_as_published='count'",
                expected="unit of the measure's kind (money for income, income_per_year, event and amount; count for "
                         "incidents, people and quantity; percent for share)"),
    }
    assert len(caught.value.problems) == 2
    message = str(caught.value)
    assert message.count("period_start=2023-12-31") == 1
