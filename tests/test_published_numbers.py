"""The published deficit table from reports written for it: which figures it pairs (same report, same
period), what it computes from them, and when it says a number is a correction. Found by mutation
testing (docs/mutation.md): the seed report alone corrects both trade figures, so a `corrected` flag
that needed both corrections, or a pairing across periods, published unnoticed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.core.errors import RawReportError
from pipeline.read.raw_reports import load_raw
from pipeline.validate.report_checks import AS_PUBLISHED, usd

from .helpers import publish_for_reading, rows
from .test_silent_bugs import channel_figure, write_report

B = 1e9


def _trade(figure_id: str, subject: str, value: float, sentence: str, period: tuple[str, str] | None = None) -> dict:
    figure = {"id": figure_id, "topic": "trade" if subject != "illicit_income" else "total", "subject": subject,
              "value": value, "unit": "USD billion", "value_text": f"${value:g} billion", "quote": sentence}
    if period:
        figure["period_start"], figure["period_end"] = (date.fromisoformat(day) for day in period)
    return figure


def _deficit_report(raw_dir: Path, report_id: str, *, corrected: str | None = None,
                    total_period: tuple[str, str] | None = None, after_period: tuple[str, str] | None = None) -> None:
    sentences = {
        "legal": "The legal trade deficit was $80 billion.",
        "after": "Counting illicit income the deficit was $20 billion.",
        "total": "Illicit income was $55 billion.",
    }
    figures = [
        _trade("legal", "legal_trade_deficit", 80, sentences["legal"]),
        _trade("after", "deficit_after_illicit_income", 20, sentences["after"], after_period),
        _trade("total", "illicit_income", 55, sentences["total"], total_period),
    ]
    corrections = None
    if corrected:
        corrections = [{"figure_id": corrected, "value": 25 if corrected == "after" else 81, "unit": "USD billion",
                        "basis": "inferred", "reasoning": "the report's own table says so",
                        "note": "corrected for the test"}]
    write_report(raw_dir, figures, "Trade.\n" + "\n".join(sentences.values()) + "\n", report_id=report_id,
                 corrections=corrections)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("deficit")
    raw_dir, path = tmp / "raw", tmp / "warehouse" / "illicit_income.duckdb"
    _deficit_report(raw_dir, "plain-2024-05-01")
    _deficit_report(raw_dir, "after-corrected-2024-05-01", corrected="after")
    _deficit_report(raw_dir, "legal-corrected-2024-05-01", corrected="legal")
    _deficit_report(raw_dir, "total-elsewhere-2024-05-01", total_period=("2022-01-01", "2022-12-31"))
    _deficit_report(raw_dir, "after-elsewhere-2024-05-01", after_period=("2022-01-01", "2022-12-31"))
    # the same start and another end: a period that differs in one bound only is another period
    _deficit_report(raw_dir, "total-half-year-2024-05-01", total_period=("2023-01-01", "2023-06-30"))
    _deficit_report(raw_dir, "after-half-year-2024-05-01", after_period=("2023-01-01", "2023-06-30"))
    _deficit_report(raw_dir, "after-late-half-2024-05-01", after_period=("2023-07-01", "2023-12-31"))
    publish_for_reading(raw_dir, path)
    return path


def _deficit(path: Path, report_id: str) -> dict:
    con_rows = rows(path, "SELECT * FROM deficit WHERE report_id = ?", [report_id])
    names = [r[0] for r in rows(path, "SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'deficit' ORDER BY ordinal_position")]
    assert len(con_rows) == 1, con_rows
    return dict(zip(names, con_rows[0], strict=True))


def test_a_report_without_corrections_publishes_its_deficit_as_stated(warehouse):
    row = _deficit(warehouse, "plain-2024-05-01")
    assert (row["legal_trade_deficit_usd"], row["deficit_after_illicit_usd"]) == (80 * B, 20 * B)
    assert row["implied_illicit_income_usd"] == pytest.approx(60 * B)
    assert row["implied_illicit_income_usd_as_published"] == pytest.approx(60 * B)
    assert (row["reported_illicit_income_usd"], row["reported_illicit_income_usd_as_published"]) == (55 * B, 55 * B)
    assert row["corrected"] is False
    assert (row["legal_figure_id"], row["after_figure_id"], row["total_figure_id"]) == ("legal", "after", "total")
    assert (row["period_start"], row["period_end"]) == (date(2023, 1, 1), date(2023, 12, 31))


@pytest.mark.parametrize(("report_id", "legal", "after"), [
    ("after-corrected-2024-05-01", 80, 25),
    ("legal-corrected-2024-05-01", 81, 20),
])
def test_one_corrected_trade_figure_makes_the_deficit_corrected(warehouse, report_id, legal, after):
    row = _deficit(warehouse, report_id)
    assert row["corrected"] is True
    assert (row["legal_trade_deficit_usd"], row["deficit_after_illicit_usd"]) == (legal * B, after * B)
    assert row["implied_illicit_income_usd"] == pytest.approx((legal - after) * B)
    assert (row["legal_trade_deficit_usd_as_published"], row["deficit_after_illicit_usd_as_published"]) == (80 * B, 20 * B)
    assert row["implied_illicit_income_usd_as_published"] == pytest.approx(60 * B)


@pytest.mark.parametrize("report_id", ["total-elsewhere-2024-05-01", "total-half-year-2024-05-01"])
def test_a_total_of_another_period_is_not_compared_with_the_deficit(warehouse, report_id):
    row = _deficit(warehouse, report_id)
    assert row["legal_trade_deficit_usd"] == 80 * B
    assert row["reported_illicit_income_usd"] is None and row["reported_illicit_income_usd_as_published"] is None
    assert row["total_figure_id"] is None and row["corrected"] is False


@pytest.mark.parametrize("report_id", ["after-elsewhere-2024-05-01", "after-half-year-2024-05-01",
                                       "after-late-half-2024-05-01"])
def test_trade_figures_of_different_periods_make_no_deficit_row(warehouse, report_id):
    assert rows(warehouse, "SELECT count(*) FROM deficit WHERE report_id = ?", [report_id]) == [(0,)]
    assert rows(warehouse, "SELECT count(*) FROM deficit") == [(5,)]


def _identity(path: Path, report_id: str) -> tuple[bool, str]:
    [(passed, message)] = rows(path, "SELECT passed, message FROM validation_results WHERE report_id = ? "
                                     "AND check_name = 'deficit_identity' AND value_basis = ?", [report_id, AS_PUBLISHED])
    return passed, message


def test_the_deficit_identity_compares_the_implied_income_with_the_total_of_the_same_period(warehouse):
    passed, message = _identity(warehouse, "plain-2024-05-01")
    assert passed is False
    assert message.startswith("60e9 implied (80e9 - 20e9) vs 55e9 stated")


@pytest.mark.parametrize(("report_id", "message"), [
    ("total-half-year-2024-05-01", "60e9 implied (80e9 - 20e9); no total stated for 2023-01-01..2023-12-31 to compare"),
    ("after-half-year-2024-05-01", "no deficit after illicit income for 2023-01-01..2023-12-31"),
    ("after-late-half-2024-05-01", "no deficit after illicit income for 2023-01-01..2023-12-31"),
])
def test_the_deficit_identity_pairs_only_figures_of_the_same_period(warehouse, report_id, message):
    """A total or a deficit that shares one bound of the period only is of another period: not compared."""
    assert _identity(warehouse, report_id) == (None, f"not compared: {message}")


@pytest.mark.parametrize(("amount", "text"), [
    (1.5e12, "1.5e12"), (52.5e9, "52.5e9"), (5e6, "5e6"), (999.94e6, "999.9e6"), (999.96e6, "1e9"),
    (12_345, "12345"), (2e15, "2000e12"),
])
def test_amounts_in_published_messages_read_in_the_short_form(amount, text):
    assert usd(amount) == text


# The largest amount and count a report may state are accepted; one more is refused -------------------

def _one_figure(raw_dir: Path, topic: str, subject: str, value, unit: str, value_text: str) -> None:
    quote = f"The report puts it at {value_text}"
    figure = {"id": "the-figure", "topic": topic, "subject": subject, "value": value, "unit": unit,
              "value_text": value_text, "quote": quote}
    if topic == "arms":
        figure["item_type"] = "artillery_shell"
    write_report(raw_dir, [figure], quote + ".\n", report_id="bounds-2024-05-01")


@pytest.mark.parametrize(("value", "unit", "value_text", "column", "expected"), [
    (10, "USD trillion", "$10 trillion", "amount_usd", 1e13),
    (10_000_000_000, "USD", "$10,000,000,000", "amount_usd", 1e10),
    (10_000_000_000, "count", "10,000,000,000", "quantity", 10_000_000_000),
    (1_200_000, "count", "1.2 million", "quantity", 1_200_000),  # a count written with a scale word
    (200.0, "count", "200", "quantity", 200),  # a whole count written as a TOML float
])
def test_the_largest_amount_and_count_load(tmp_path, value, unit, value_text, column, expected):
    topic, subject = ("arms", "152mm_artillery_shell") if unit == "count" else ("channel", "cyber")
    _one_figure(tmp_path / "raw", topic, subject, value, unit, value_text)
    assert load_raw(tmp_path / "raw").figures[column].tolist() == [expected]


@pytest.mark.parametrize(("value", "unit", "value_text"), [
    (10.000001, "USD trillion", "$10.000001 trillion"),
    (10_000_000_001, "count", "10,000,000,001"),
])
def test_one_more_than_the_largest_amount_or_count_is_refused(tmp_path, value, unit, value_text):
    topic, subject = ("arms", "152mm_artillery_shell") if unit == "count" else ("channel", "cyber")
    _one_figure(tmp_path / "raw", topic, subject, value, unit, value_text)
    with pytest.raises(RawReportError) as caught:
        load_raw(tmp_path / "raw")
    assert "the-figure" in str(caught.value) and "field 'value'" in str(caught.value)


# The latest_* views: the most recently published report that states an item or channel -------------

@pytest.fixture(scope="module")
def editions(tmp_path_factory) -> Path:
    """Three reports that state the same item, channel and deficit: the latest by date, ties to the greater id."""
    tmp = tmp_path_factory.mktemp("editions")
    raw_dir, path = tmp / "raw", tmp / "warehouse" / "illicit_income.duckdb"
    for report_id, published_on, shells, cyber in (("a-2024-01-01", "2024-01-01", 100, 1),
                                                   ("b-2024-01-01", "2024-01-01", 300, 3),
                                                   ("z-2023-06-01", "2023-06-01", 200, 2)):
        sentences = [f"It shipped {shells} shells", f"Hackers stole ${cyber} billion",
                     f"The legal trade deficit was ${10 * cyber} billion", f"Net of illicit income it was ${cyber} billion"]
        figures = [{"id": "shells", "topic": "arms", "subject": "152mm_artillery_shell", "item_type": "artillery_shell",
                    "value": shells, "unit": "count", "value_text": str(shells), "quote": sentences[0]},
                   channel_figure(cyber, "USD billion", f"${cyber} billion", sentences[1]),
                   _trade("legal", "legal_trade_deficit", 10 * cyber, sentences[2]),
                   _trade("after", "deficit_after_illicit_income", cyber, sentences[3])]
        write_report(raw_dir, figures, ". ".join(sentences) + ".\n", report_id=report_id, published_on=published_on)
    publish_for_reading(raw_dir, path)
    return path


def test_latest_arms_are_those_of_the_latest_report(editions):
    assert rows(editions, "SELECT item, quantity, report_id, published_on FROM latest_arms") == [
        ("152mm_artillery_shell", 300, "b-2024-01-01", date(2024, 1, 1))]


def test_latest_channels_are_those_of_the_latest_report(editions):
    assert rows(editions, "SELECT channel, income_usd, report_id FROM latest_channels") == [("cyber", 3 * B, "b-2024-01-01")]


def test_the_latest_deficit_is_that_of_the_latest_report(editions):
    assert rows(editions, "SELECT legal_trade_deficit_usd, deficit_after_illicit_usd, report_id FROM latest_deficit") == [
        (30 * B, 3 * B, "b-2024-01-01")]


# Corrections: what a person may correct a figure to -----------------------------------------------

def _corrected(raw_dir: Path, figure: dict, correction: dict, extra_files: dict[str, str] | None = None) -> Path:
    folder = write_report(raw_dir, [figure], figure["quote"] + ".\n", report_id="corrected-2024-05-01",
                          corrections=[{"figure_id": figure["id"], "basis": "inferred", "reasoning": "the table says so",
                                        "note": "a test", **correction}])
    for name, text in (extra_files or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(("figure", "correction", "column", "best"), [
    (channel_figure(5, "USD billion", "$5 billion", "Hackers stole $5 billion"),
     {"value": 0.5, "unit": "USD billion"}, "best_amount_usd", 0.5e9),
    ({"id": "legal", "topic": "trade", "subject": "legal_trade_deficit", "value": 3, "unit": "USD billion",
      "value_text": "$3 billion", "quote": "The deficit was $3 billion"},
     {"value": 0, "unit": "USD billion"}, "best_amount_usd", 0.0),
    ({"id": "shells", "topic": "arms", "subject": "152mm_artillery_shell", "item_type": "artillery_shell", "value": 100,
      "unit": "count", "value_text": "100", "quote": "It shipped 100 shells"},
     {"value": 200.0, "unit": "count"}, "best_quantity", 200),
])
def test_a_correction_to_a_small_zero_or_whole_value_is_published(tmp_path, figure, correction, column, best):
    _corrected(tmp_path / "raw", figure, correction)
    assert load_raw(tmp_path / "raw").figures[column].tolist() == [best]


@pytest.mark.parametrize("evidence_file", [".notes.md", "sub/notes.md"])
def test_evidence_must_be_a_visible_file_of_the_report_folder(tmp_path, evidence_file):
    figure = channel_figure(5, "USD billion", "$5 billion", "Hackers stole $5 billion")
    folder = _corrected(tmp_path / "raw", figure, {"value": 4, "unit": "USD billion", "evidence_file": evidence_file,
                                                   "evidence_quote": "stole $4 billion"})
    (folder / evidence_file).parent.mkdir(exist_ok=True)
    (folder / evidence_file).write_text("They stole $4 billion.\n", encoding="utf-8")
    with pytest.raises(RawReportError) as caught:
        load_raw(tmp_path / "raw")
    assert "field 'evidence_file'" in str(caught.value)
    # a refused evidence file is not read: its quote is not also looked for in it
    assert [(p.file, p.field) for p in caught.value.problems] == [("corrections.toml", "evidence_file")]


def test_evidence_of_the_largest_size_accepted_is_read(tmp_path):
    from pipeline.read.raw_reports import MAX_SOURCE_BYTES

    figure = channel_figure(5, "USD billion", "$5 billion", "Hackers stole $5 billion")
    text = "They stole $4 billion.\n"
    folder = _corrected(tmp_path / "raw", figure, {"value": 4, "unit": "USD billion", "evidence_file": "notes.md",
                                                   "evidence_quote": "stole $4 billion"})
    (folder / "notes.md").write_text(text + "x" * (MAX_SOURCE_BYTES - len(text) - 1) + "\n", encoding="utf-8")
    assert (folder / "notes.md").stat().st_size == MAX_SOURCE_BYTES
    with pytest.raises(RawReportError) as caught:  # read, and refused only for the sha256 the test did not fill in
        load_raw(tmp_path / "raw")
    assert [(p.file, p.field) for p in caught.value.problems] == [("corrections.toml", "evidence_sha256")]


def test_a_corrections_value_text_is_read_in_its_evidence_quote_with_the_scale_word_that_follows_it(tmp_path):
    # "$4" of "stole $4 billion" is 4 billion, not 4 dollars: refused, saying so in the words of the evidence_quote
    figure = channel_figure(5, "USD billion", "$5 billion", "Hackers stole $5 billion")
    folder = _corrected(tmp_path / "raw", figure, {"value": 4, "unit": "USD", "value_text": "$4", "evidence_file": "notes.md",
                                                   "evidence_quote": "stole $4 billion"})
    (folder / "notes.md").write_text("They stole $4 billion.\n", encoding="utf-8")
    with pytest.raises(RawReportError) as caught:
        load_raw(tmp_path / "raw")
    [problem] = [p for p in caught.value.problems if p.field == "value_text"]
    assert problem.found == ("'$4', but the evidence_quote writes it as part of '4 billion', which means 4 USD billion "
                             "(4,000,000,000 US dollars)")
    assert problem.expected == ("the whole value expression as the evidence_quote writes it, with its scale word: "
                                "value_text = '$4 billion', value = 4, unit = 'USD billion'")
