"""Loading raw/: the seed report loads to the exact figures it states, and every kind of broken
report folder is refused with a message naming folder, file, figure and field.

Every broken case starts from a private copy of the seed (the `raw_dir` / `seed_dir` fixtures) and
edits it by text replacement; `_edit` asserts that the text being replaced is there (exactly once),
so a test cannot pass silently after the seed changes.
"""

from __future__ import annotations

import hashlib
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core import vocabulary as v
from pipeline.core.errors import Problem, RawReportError
from pipeline.core.text import normalize, parse_value_text
from pipeline.read.raw_reports import FIGURES_FILE, REPORT_FILE, RawReports, load_raw, load_report
from pipeline.validate.validation import load_and_check, validate_raw

from .conftest import RAW, SEED_ID, SEED_SHA256
from .helpers import edit as _edit
from .helpers import find_problem

FOLDER = f"raw/{SEED_ID}"


def _find(exc: RawReportError, *, file: str, folder: str = FOLDER, **match) -> Problem:
    return find_problem(exc, folder=folder, file=file, **match)
SOURCE = "000_7135ed9bf0dced39.txt"

# Unique anchors in the seed's figures.toml (each occurs exactly once).
CYBER_VALUE = 'value = 13.5\nunit = "USD billion"\nvalue_text = "$13.5 billion"'
CYBER_QUOTE_LINE = (
    'quote = "The report estimates that North Korea has earned approximately $13.5 billion through cyber '
    'activities, which include hacking into financial institutions and cryptocurrency exchanges."\n'
)
KN23_BLOCK = ('value = 9\nunit = "count"\nvalue_text = "nine"\nperiod_start = 2023-07-01\nperiod_end = 2024-02-29\n'
              'quote = "nine KN-23 missiles"')
KN23_QUOTE = 'quote = "nine KN-23 missiles"'


# ---------------------------------------------------------------------------------------------
# helpers


def _line_of(path: Path, needle: str) -> int:
    """1-based line of the first occurrence of needle in a file."""
    text = path.read_text(encoding="utf-8", errors="replace")
    assert needle in text, needle
    return text[: text.index(needle)].count("\n") + 1


def _load_error(raw_dir: Path) -> RawReportError:
    with pytest.raises(RawReportError) as info:
        load_raw(raw_dir)
    assert info.value.problems, "a RawReportError must carry at least one problem"
    return info.value


def _validation_error(raw_dir: Path) -> RawReportError:
    """The loader accepts the folder; the pandera schemas (validate_raw) must refuse it."""
    raw = load_raw(raw_dir)
    with pytest.raises(RawReportError) as info:
        validate_raw(raw)
    assert info.value.problems
    assert "schemas" in info.value.stage
    return info.value


def _figure_where(seed_dir: Path, figure_id: str) -> str:
    """How the loader locates a figure: "figure '<id>' (line N)", N the line of its id."""
    line = _line_of(seed_dir / FIGURES_FILE, f'id = "{figure_id}"')
    return f"figure '{figure_id}' (line {line})"


# ---------------------------------------------------------------------------------------------
# 1. the seed loads, exactly


@pytest.fixture
def seed(raw_dir: Path) -> RawReports:
    return load_raw(raw_dir)


def _figure(raw: RawReports, figure_id: str) -> pd.Series:
    rows = raw.figures[raw.figures["figure_id"] == figure_id]
    assert len(rows) == 1, figure_id
    return rows.iloc[0]


def test_seed_loads_one_report_and_eleven_figures(seed: RawReports) -> None:
    assert len(seed.reports) == 1
    assert len(seed.figures) == 11
    assert list(seed.figures["figure_id"]) == [
        "total-illicit-income", "cyber-income", "coal-smuggling-income", "overseas-labor-income",
        "arms-152mm-shells", "arms-122mm-shells", "arms-kn-23-missiles", "arms-kn-24-missiles",
        "arms-exports-income", "legal-trade-deficit", "deficit-after-illicit-income",
    ]
    assert set(seed.figures["report_id"]) == {SEED_ID}


def test_seed_report_row(seed: RawReports, seed_dir: Path) -> None:
    report = seed.reports.iloc[0]
    assert report["report_id"] == SEED_ID
    assert report["series"] == "inss-illicit-income"
    assert report["published_on"] == pd.Timestamp("2024-09-03")
    assert report["period_start"] == pd.Timestamp("2017-01-01")
    assert report["period_end"] == pd.Timestamp("2023-12-31")
    assert report["source_file"] == SOURCE
    assert report["source_sha256"] == SEED_SHA256
    assert report["source_sha256"] == "2af4a8a4de0bd9d74886c96678754c119367bc15cacb8e8575f32ba4b8252ecf"
    assert report["source_sha256"] == hashlib.sha256((seed_dir / SOURCE).read_bytes()).hexdigest()
    assert report["source_bytes"] == (seed_dir / SOURCE).stat().st_size > 0


def test_seed_money_figures_are_exact_whole_dollars(seed: RawReports) -> None:
    cyber = _figure(seed, "cyber-income")
    assert cyber["value_as_published"] == 13.5
    assert cyber["unit_as_published"] == "USD billion"
    assert cyber["value_text"] == "$13.5 billion"
    assert cyber["qualifier"] == "approximately"
    assert cyber["amount_usd"] == 13.5e9 == 13_500_000_000
    assert pd.isna(cyber["quantity"])
    expected = {
        "total-illicit-income": 6_300_000_000, "coal-smuggling-income": 21_500_000_000,
        "overseas-labor-income": 17_500_000_000, "arms-exports-income": 5_400_000_000,
        "legal-trade-deficit": 82_500_000_000, "deficit-after-illicit-income": 19_700_000_000,
    }
    for figure_id, dollars in expected.items():
        assert _figure(seed, figure_id)["amount_usd"] == dollars, figure_id  # exact, no float drift
    assert seed.figures["amount_usd"].dtype == "float64"


def test_seed_count_figures_are_whole_quantities(seed: RawReports) -> None:
    assert str(seed.figures["quantity"].dtype) == "Int64"
    expected = {"arms-152mm-shells": 937_500, "arms-122mm-shells": 187_500,
                "arms-kn-23-missiles": 9, "arms-kn-24-missiles": 9}
    for figure_id, count in expected.items():
        figure = _figure(seed, figure_id)
        assert figure["quantity"] == count, figure_id
        assert figure["unit_as_published"] == "count"
        assert pd.isna(figure["amount_usd"]), figure_id
    kn23 = _figure(seed, "arms-kn-23-missiles")
    assert kn23["value_text"] == "nine"
    assert kn23["item_type"] == "missile"


def test_seed_periods_own_and_inherited(seed: RawReports) -> None:
    arms = ["arms-152mm-shells", "arms-122mm-shells", "arms-kn-23-missiles", "arms-kn-24-missiles",
            "arms-exports-income"]
    for figure_id in arms:
        figure = _figure(seed, figure_id)
        assert figure["period_start"] == pd.Timestamp("2023-07-01"), figure_id
        assert figure["period_end"] == pd.Timestamp("2024-02-29"), figure_id
        assert bool(figure["period_inherited"]) is False, figure_id
    inherited = ["cyber-income", "coal-smuggling-income", "overseas-labor-income"]
    for figure_id in inherited:
        figure = _figure(seed, figure_id)
        assert figure["period_start"] == pd.Timestamp("2017-01-01"), figure_id
        assert figure["period_end"] == pd.Timestamp("2023-12-31"), figure_id
        assert bool(figure["period_inherited"]) is True, figure_id
    # exactly those three take the report's period
    assert sorted(seed.figures.loc[seed.figures["period_inherited"], "figure_id"]) == sorted(inherited)


def test_amounts_are_whole_dollars_without_float_drift(seed_dir: Path, raw_dir: Path) -> None:
    # In floats 0.267 * 1e9 == 267000000.00000003 and 1.005 * 1e6 == 1004999.9999999999: the loader must
    # scale exactly (Decimal), as it does for the seed.
    source = seed_dir / SOURCE
    source.write_bytes(source.read_bytes() + b"\nFishing rights brought in $0.267 billion, and sand $1.005 million.\n")
    _edit(seed_dir / REPORT_FILE, f'source_sha256 = "{SEED_SHA256}"',
          f'source_sha256 = "{hashlib.sha256(source.read_bytes()).hexdigest()}"')
    figures = seed_dir / FIGURES_FILE
    figures.write_text(figures.read_text(encoding="utf-8") + """
[[figure]]
id = "fishing-income"
topic = "channel"
subject = "fishing"
value = 0.267
unit = "USD billion"
value_text = "$0.267 billion"
quote = "Fishing rights brought in $0.267 billion"

[[figure]]
id = "sand-income"
topic = "channel"
subject = "sand"
value = 1.005
unit = "USD million"
value_text = "$1.005 million"
quote = "and sand $1.005 million."
""", encoding="utf-8")
    raw = validate_raw(load_raw(raw_dir))
    assert len(raw.figures) == 13
    assert _figure(raw, "fishing-income")["amount_usd"] == 267_000_000
    assert _figure(raw, "sand-income")["amount_usd"] == 1_005_000
    assert bool(_figure(raw, "fishing-income")["period_inherited"]) is True


def test_seed_passes_validate_raw(seed: RawReports) -> None:
    validated = validate_raw(seed)
    assert len(validated.reports) == 1
    assert len(validated.figures) == 11
    assert _figure(validated, "cyber-income")["amount_usd"] == 13.5e9
    assert _figure(validated, "arms-152mm-shells")["quantity"] == 937_500


def test_load_report_on_the_seed_folder_finds_no_problem(raw_dir: Path, seed_dir: Path) -> None:
    report, figures, problems = load_report(seed_dir, raw_dir)
    assert problems == []
    assert report is not None and report["report_id"] == SEED_ID
    assert len(figures) == 11


# ---------------------------------------------------------------------------------------------
# 2. broken copies of the seed: file-level failures


@pytest.mark.parametrize(("name", "old", "new"), [
    (FIGURES_FILE, 'value_text = "$13.5 billion"', 'value_text = "$13.5 billion'),
    (REPORT_FILE, 'series = "inss-illicit-income"', 'series = "inss-illicit-income'),
])
def test_invalid_toml_names_file_and_line(seed_dir: Path, raw_dir: Path, name: str, old: str, new: str) -> None:
    line = _line_of(seed_dir / name, old)
    _edit(seed_dir / name, old, new)
    exc = _load_error(raw_dir)
    problem = _find(exc, file=name, found="invalid TOML")
    assert f"line {line}" in str(problem)
    assert "a valid TOML file" in problem.expected


def test_invalid_toml_line_is_the_problems_where(seed_dir: Path, raw_dir: Path) -> None:
    old = 'value_text = "$13.5 billion"'
    line = _line_of(seed_dir / FIGURES_FILE, old)
    _edit(seed_dir / FIGURES_FILE, old, 'value_text = "$13.5 billion')
    exc = _load_error(raw_dir)
    problem = _find(exc, file=FIGURES_FILE, found="invalid TOML")
    assert problem.where == f"line {line}"


def test_nonexistent_date_is_a_toml_error_with_line(seed_dir: Path, raw_dir: Path) -> None:
    old = KN23_BLOCK
    line = _line_of(seed_dir / FIGURES_FILE, old) + 3  # the period_start line of the block
    _edit(seed_dir / FIGURES_FILE, old, old.replace("period_start = 2023-07-01", "period_start = 2023-02-30"))
    assert _line_of(seed_dir / FIGURES_FILE, "2023-02-30") == line
    exc = _load_error(raw_dir)
    problem = _find(exc, file=FIGURES_FILE, found="invalid TOML")
    assert "date" in problem.found.lower()
    assert f"line {line}" in str(problem)


@pytest.mark.parametrize("content", ["", "\n  \n", "# nothing yet\n"])
def test_empty_figures_toml(seed_dir: Path, raw_dir: Path, content: str) -> None:
    path = seed_dir / FIGURES_FILE
    assert "[[figure]]" in path.read_text(encoding="utf-8")
    path.write_text(content, encoding="utf-8")
    exc = _load_error(raw_dir)
    if content.strip():  # valid TOML without any [[figure]] table
        _find(exc, file=FIGURES_FILE, field="figure", found="missing")
    else:
        _find(exc, file=FIGURES_FILE, found="an empty file")
    # no figure slipped through
    assert all(p.file in (FIGURES_FILE,) for p in exc.problems), str(exc)


def test_figure_table_list_empty(seed_dir: Path, raw_dir: Path) -> None:
    (seed_dir / FIGURES_FILE).write_text("figure = []\n", encoding="utf-8")
    exc = _load_error(raw_dir)
    _find(exc, file=FIGURES_FILE, field="figure", expected="at least one [[figure]]")


def test_utf8_bom(seed_dir: Path, raw_dir: Path) -> None:
    path = seed_dir / FIGURES_FILE
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    path.write_bytes(b"\xef\xbb\xbf" + data)
    exc = _load_error(raw_dir)
    problem = _find(exc, file=FIGURES_FILE, where="line 1", found="byte-order mark")
    assert "without a byte-order mark" in problem.expected


def test_non_utf8_bytes(seed_dir: Path, raw_dir: Path) -> None:
    path = seed_dir / FIGURES_FILE
    line = _line_of(path, 'subject = "cyber"')
    data = path.read_bytes()
    assert data.count(b'subject = "cyber"') == 1
    path.write_bytes(data.replace(b'subject = "cyber"', 'subject = "cyb\u00e9r"'.encode("latin-1")))
    exc = _load_error(raw_dir)
    problem = _find(exc, file=FIGURES_FILE, where=f"line {line}", found="0xe9")
    assert "not UTF-8" in problem.found
    assert "UTF-8" in problem.expected


def test_missing_report_toml(seed_dir: Path, raw_dir: Path) -> None:
    (seed_dir / REPORT_FILE).unlink()
    exc = _load_error(raw_dir)
    _find(exc, file=REPORT_FILE, found="no such file", expected=REPORT_FILE)


# ---------------------------------------------------------------------------------------------
# 2. broken copies of the seed: fields of a figure / of report.toml


def test_missing_required_field(seed_dir: Path, raw_dir: Path) -> None:
    where = _figure_where(seed_dir, "cyber-income")
    _edit(seed_dir / FIGURES_FILE, CYBER_QUOTE_LINE, "")
    exc = _load_error(raw_dir)
    problem = _find(exc, file=FIGURES_FILE, where=where, field="quote", found="missing")
    assert problem.where == where
    assert len(exc.problems) == 1, str(exc)


def test_missing_required_field_in_report_toml(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / REPORT_FILE, 'series = "inss-illicit-income"\n', "")
    exc = _load_error(raw_dir)
    _find(exc, file=REPORT_FILE, field="series", found="missing")


@pytest.mark.parametrize("blank", ['""', '"   "'])
def test_empty_string_field(seed_dir: Path, raw_dir: Path, blank: str) -> None:
    where = _figure_where(seed_dir, "cyber-income")
    _edit(seed_dir / FIGURES_FILE, 'subject = "cyber"', f"subject = {blank}")
    exc = _load_error(raw_dir)
    problem = _find(exc, file=FIGURES_FILE, where=where, field="subject")
    assert problem.expected == "a non-empty text"
    assert repr(blank.strip('"')) in problem.found


def test_empty_string_field_in_report_toml(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / REPORT_FILE, 'publisher = "Institute', 'publisher = ""\nignored = "Institute')
    exc = _load_error(raw_dir)
    _find(exc, file=REPORT_FILE, field="publisher", expected="a non-empty text")
    _find(exc, file=REPORT_FILE, field="ignored", found="unknown field")


def test_unknown_field_is_reported_and_the_real_one_missing(seed_dir: Path, raw_dir: Path) -> None:
    where = _figure_where(seed_dir, "cyber-income")
    _edit(seed_dir / FIGURES_FILE, CYBER_VALUE, CYBER_VALUE.replace("value = 13.5", "vaule = 13.5"))
    exc = _load_error(raw_dir)
    unknown = _find(exc, file=FIGURES_FILE, where=where, field="vaule", found="unknown field")
    assert "13.5" in unknown.found
    assert "spelling" in unknown.expected
    _find(exc, file=FIGURES_FILE, where=where, field="value", found="missing")


def test_value_given_as_string(seed_dir: Path, raw_dir: Path) -> None:
    where = _figure_where(seed_dir, "cyber-income")
    _edit(seed_dir / FIGURES_FILE, CYBER_VALUE, CYBER_VALUE.replace("value = 13.5", 'value = "13.5bn"'))
    exc = _load_error(raw_dir)
    problem = _find(exc, file=FIGURES_FILE, where=where, field="value", found="'13.5bn'")
    assert "a number" in problem.expected


def test_value_given_as_string_is_reported_once(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / FIGURES_FILE, CYBER_VALUE, CYBER_VALUE.replace("value = 13.5", 'value = "13.5bn"'))
    exc = _load_error(raw_dir)
    assert len(exc.problems) == 1, str(exc)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_value_not_finite(seed_dir: Path, raw_dir: Path, bad: str) -> None:
    where = _figure_where(seed_dir, "cyber-income")
    _edit(seed_dir / FIGURES_FILE, CYBER_VALUE, CYBER_VALUE.replace("value = 13.5", f"value = {bad}"))
    exc = _load_error(raw_dir)
    _find(exc, file=FIGURES_FILE, where=where, field="value", found=bad, expected="finite")


def test_nan_value_is_reported_once_as_not_finite(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / FIGURES_FILE, CYBER_VALUE, CYBER_VALUE.replace("value = 13.5", "value = nan"))
    exc = _load_error(raw_dir)
    value_problems = [p for p in exc.problems if p.field == "value"]
    assert len(value_problems) == 1, str(exc)
    assert "finite" in value_problems[0].expected


def test_count_that_is_not_whole(seed_dir: Path, raw_dir: Path) -> None:
    where = _figure_where(seed_dir, "arms-kn-23-missiles")
    _edit(seed_dir / FIGURES_FILE, KN23_BLOCK, KN23_BLOCK.replace("value = 9\n", "value = 9.5\n"))
    exc = _load_error(raw_dir)
    problem = _find(exc, file=FIGURES_FILE, where=where, field="value", found="9.5", expected="whole number")
    assert "count" in problem.expected


def test_value_that_disagrees_with_value_text(seed_dir: Path, raw_dir: Path) -> None:
    where = _figure_where(seed_dir, "cyber-income")
    _edit(seed_dir / FIGURES_FILE, CYBER_VALUE, CYBER_VALUE.replace("value = 13.5", "value = 1.35"))
    exc = _load_error(raw_dir)
    problem = _find(exc, file=FIGURES_FILE, where=where, field="value", found="1.35")
    assert "$13.5 billion" in problem.expected
    assert len(exc.problems) == 1, str(exc)


def test_value_text_not_in_quote(seed_dir: Path, raw_dir: Path) -> None:
    where = _figure_where(seed_dir, "cyber-income")
    # "US$13.5 billion" states the same number, but the quote writes "$13.5 billion"
    _edit(seed_dir / FIGURES_FILE, CYBER_VALUE,
          CYBER_VALUE.replace('value_text = "$13.5 billion"', 'value_text = "US$13.5 billion"'))
    exc = _load_error(raw_dir)
    problem = _find(exc, file=FIGURES_FILE, where=where, field="value_text", found="US$13.5 billion")
    assert "quote" in problem.expected
    assert len(exc.problems) == 1, str(exc)


def test_quote_not_in_source(seed_dir: Path, raw_dir: Path) -> None:
    where = _figure_where(seed_dir, "cyber-income")
    _edit(seed_dir / FIGURES_FILE, "has earned approximately $13.5 billion through cyber",
          "has earned roughly $13.5 billion through cyber")
    exc = _load_error(raw_dir)
    problem = _find(exc, file=FIGURES_FILE, where=where, field="quote")
    assert SOURCE in problem.expected
    assert "verbatim" in problem.expected
    assert len(exc.problems) == 1, str(exc)


def test_quote_with_typographic_punctuation_and_spacing_still_matches(seed_dir: Path, raw_dir: Path) -> None:
    # the normalisation the message promises: white space and typographic dashes may differ
    _edit(seed_dir / FIGURES_FILE, 'quote = "nine KN-23 missiles"', 'quote = "nine  KN\u201123\nmissiles"')
    # a literal newline is not allowed in a basic TOML string: use an escaped one
    path = seed_dir / FIGURES_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("KN\u201123\nmissiles", "KN\u201123\\nmissiles"),
                    encoding="utf-8")
    raw = load_raw(raw_dir)
    assert _figure(raw, "arms-kn-23-missiles")["quote"] == "nine  KN\u201123\nmissiles"


# ---------------------------------------------------------------------------------------------
# 2. broken copies of the seed: the stored source


def test_source_file_missing(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / REPORT_FILE, f'source_file = "{SOURCE}"', 'source_file = "missing.txt"')
    exc = _load_error(raw_dir)
    problem = _find(exc, file=REPORT_FILE, field="source_file", found="missing.txt")
    assert "does not exist" in problem.found
    assert FOLDER in problem.found


def test_source_file_deleted(seed_dir: Path, raw_dir: Path) -> None:
    (seed_dir / SOURCE).unlink()
    exc = _load_error(raw_dir)
    _find(exc, file=REPORT_FILE, field="source_file", found=SOURCE)


def test_source_zero_bytes(seed_dir: Path, raw_dir: Path) -> None:
    assert (seed_dir / SOURCE).stat().st_size > 0
    (seed_dir / SOURCE).write_bytes(b"")
    exc = _load_error(raw_dir)
    _find(exc, file=SOURCE, found="0 bytes")


def test_source_edited_sha256_mismatch(seed_dir: Path, raw_dir: Path) -> None:
    path = seed_dir / SOURCE
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == SEED_SHA256
    path.write_bytes(data + b"\n")  # every quote still occurs; only the bytes changed
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    exc = _load_error(raw_dir)
    problem = _find(exc, file=REPORT_FILE, field="source_sha256", found=SEED_SHA256)
    assert actual in problem.expected
    assert SOURCE in problem.expected
    assert len(exc.problems) == 1, str(exc)


def test_source_edited_under_a_quote(seed_dir: Path, raw_dir: Path) -> None:
    path = seed_dir / SOURCE
    data = path.read_bytes()
    assert data.count(b"approximately $13.5 billion") == 1
    path.write_bytes(data.replace(b"approximately $13.5 billion", b"approximately $14.5 billion"))
    exc = _load_error(raw_dir)
    _find(exc, file=REPORT_FILE, field="source_sha256")
    _find(exc, file=FIGURES_FILE, where=_figure_where(seed_dir, "cyber-income"), field="quote")


# ---------------------------------------------------------------------------------------------
# 2. broken copies of the seed: the raw folder itself


def test_empty_raw_dir(raw_dir: Path, seed_dir: Path) -> None:
    shutil.rmtree(seed_dir)
    assert raw_dir.is_dir() and not any(raw_dir.iterdir())
    exc = _load_error(raw_dir)
    problem = _find(exc, file="", folder="raw", found="no report folders")
    assert "at least one report folder" in problem.expected


def test_missing_raw_dir(raw_dir: Path) -> None:
    shutil.rmtree(raw_dir)
    exc = _load_error(raw_dir)
    _find(exc, file="", folder="raw", found="no such folder")


def test_hidden_folders_are_not_reports(raw_dir: Path) -> None:
    (raw_dir / ".drafts").mkdir()
    (raw_dir / "_template").mkdir()
    (raw_dir / "loose.txt").write_text("not a report", encoding="utf-8")
    raw = load_raw(raw_dir)
    assert list(raw.reports["report_id"]) == [SEED_ID]


# ---------------------------------------------------------------------------------------------
# 2. broken copies of the seed: what only the pandera schemas catch (validate_raw)


def test_negative_value(raw_dir: Path) -> None:
    # A negative value can no longer reach the schemas from figures.toml (its value_text, which must
    # occur in the quote, states its number whatever words surround it); the schema's ge=0 still holds
    # on its own for a frame that has one.
    raw = load_raw(raw_dir)
    cyber = raw.figures.index[raw.figures["figure_id"] == "cyber-income"]
    raw.figures.loc[cyber, "value_as_published"] = -13.5
    with pytest.raises(RawReportError) as info:
        validate_raw(raw)
    problem = _find(info.value, file=FIGURES_FILE, where="figure 'cyber-income'", field="value", found="-13.5")
    assert "0" in problem.expected


def test_negative_value_behind_words_is_refused_at_load(seed_dir: Path, raw_dir: Path) -> None:
    # "approximately $13.5 billion" states 13.5 USD billion, whatever word precedes it: -13.5 disagrees.
    _edit(seed_dir / FIGURES_FILE, CYBER_VALUE,
          CYBER_VALUE.replace("value = 13.5", "value = -13.5")
                     .replace('value_text = "$13.5 billion"', 'value_text = "approximately $13.5 billion"'))
    exc = _load_error(raw_dir)
    _find(exc, file=FIGURES_FILE, where=_figure_where(seed_dir, "cyber-income"), field="value", found="-13.5",
          expected="the number its value_text 'approximately $13.5 billion' states")


def test_negative_value_that_disagrees_with_value_text_is_refused_at_load(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / FIGURES_FILE, CYBER_VALUE, CYBER_VALUE.replace("value = 13.5", "value = -13.5"))
    exc = _load_error(raw_dir)
    _find(exc, file=FIGURES_FILE, where=_figure_where(seed_dir, "cyber-income"), field="value", found="-13.5")


def test_unknown_unit_lists_accepted_units(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / FIGURES_FILE, CYBER_VALUE, CYBER_VALUE.replace('unit = "USD billion"', 'unit = "USD bn"'))
    exc = _validation_error(raw_dir)
    problem = _find(exc, file=FIGURES_FILE, where="figure 'cyber-income'", field="unit", found="'USD bn'")
    for unit in v.UNITS:
        assert repr(unit) in problem.expected, unit
    assert str(problem) in str(exc)


def test_unknown_topic(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / FIGURES_FILE, 'topic = "channel"\nsubject = "cyber"', 'topic = "chanel"\nsubject = "cyber"')
    exc = _validation_error(raw_dir)
    problem = _find(exc, file=FIGURES_FILE, where="figure 'cyber-income'", field="topic", found="'chanel'")
    for topic in v.TOPICS:
        assert repr(topic) in problem.expected, topic


def test_figure_period_end_before_start(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / FIGURES_FILE, KN23_BLOCK, KN23_BLOCK.replace("period_start = 2023-07-01", "period_start = 2024-07-01"))
    exc = _validation_error(raw_dir)
    problem = _find(exc, file=FIGURES_FILE, where="figure 'arms-kn-23-missiles'")
    assert "period_start" in problem.field and "period_end" in problem.field
    assert "period_start <= period_end" in problem.expected
    # only that figure is named
    assert {p.where for p in exc.problems} == {"figure 'arms-kn-23-missiles'"}, str(exc)


def test_figure_period_end_before_start_is_reported_once(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / FIGURES_FILE, KN23_BLOCK, KN23_BLOCK.replace("period_start = 2023-07-01", "period_start = 2024-07-01"))
    exc = _validation_error(raw_dir)
    assert len(exc.problems) == len(set(exc.problems)) == 1, str(exc)


def test_report_period_end_before_start(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / REPORT_FILE, "period_start = 2017-01-01", "period_start = 2024-01-01")
    exc = _validation_error(raw_dir)
    problem = _find(exc, file=REPORT_FILE)
    assert "period_start" in problem.field and "period_end" in problem.field
    # the figures that inherit the report's period are named too
    _find(exc, file=FIGURES_FILE, where="figure 'cyber-income'")


def _checked_error(raw_dir: Path) -> RawReportError:
    """What the raw_reports asset raises: the loader's problems and the schemas' on what it read."""
    with pytest.raises(RawReportError) as info:
        load_and_check(raw_dir)
    return info.value


def test_duplicate_figure_id(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / FIGURES_FILE, 'id = "arms-kn-24-missiles"', 'id = "arms-kn-23-missiles"')
    exc = _checked_error(raw_dir)
    problem = _find(exc, file=FIGURES_FILE, where="figure 'arms-kn-23-missiles'", field="id",
                    found="the id of figures #7 (line 72) and #8")
    assert "unique" in problem.expected
    assert len(exc.problems) == 1  # said once, not again by the schema's key check


def test_report_folder_not_a_slug(seed_dir: Path, raw_dir: Path) -> None:
    seed_dir.rename(raw_dir / "Bad Report")
    exc = _checked_error(raw_dir)
    problem = _find(exc, folder="raw/Bad Report", file="", where="folder name (the report id)", found="'Bad Report'")
    assert "slug" in problem.expected and "rename the folder" in problem.expected
    assert len(exc.problems) == 1  # once for the folder, not once per figure


# ---------------------------------------------------------------------------------------------
# 3. laziness: every problem in one error


def test_structural_problems_in_two_figures_and_report_are_all_reported(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / FIGURES_FILE, 'subject = "cyber"', 'subject = ""')
    _edit(seed_dir / FIGURES_FILE, KN23_QUOTE + "\n", "")
    _edit(seed_dir / REPORT_FILE, 'series = "inss-illicit-income"\n', "")
    exc = _load_error(raw_dir)
    _find(exc, file=FIGURES_FILE, where="figure 'cyber-income'", field="subject")
    _find(exc, file=FIGURES_FILE, where="figure 'arms-kn-23-missiles'", field="quote", found="missing")
    _find(exc, file=REPORT_FILE, field="series", found="missing")
    assert str(exc).startswith(f"{len(exc.problems)} problem(s)")


def test_schema_problems_in_two_figures_and_report_are_all_reported(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / FIGURES_FILE, 'topic = "channel"\nsubject = "cyber"', 'topic = "chanel"\nsubject = "cyber"')
    _edit(seed_dir / FIGURES_FILE, 'id = "arms-kn-24-missiles"', 'id = "arms-kn-23-missiles"')
    _edit(seed_dir / REPORT_FILE, 'series = "inss-illicit-income"', 'series = "INSS illicit income"')
    exc = _checked_error(raw_dir)
    _find(exc, file=FIGURES_FILE, where="figure 'cyber-income'", field="topic")
    _find(exc, file=FIGURES_FILE, where="figure 'arms-kn-23-missiles'", field="id")
    _find(exc, file=REPORT_FILE, field="series", found="INSS illicit income", expected="slug")


def test_structural_problem_does_not_hide_provenance_problem_in_another_figure(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / FIGURES_FILE, CYBER_VALUE, CYBER_VALUE.replace("value = 13.5", 'value = "13.5bn"'))
    _edit(seed_dir / FIGURES_FILE, KN23_QUOTE, 'quote = "nine KN-99 missiles"')
    exc = _load_error(raw_dir)
    _find(exc, file=FIGURES_FILE, where="figure 'cyber-income'", field="value", found="13.5bn")
    _find(exc, file=FIGURES_FILE, where="figure 'arms-kn-23-missiles'", field="quote", found="KN-99")


def test_report_toml_problem_does_not_hide_figure_problems(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / REPORT_FILE, 'series = "inss-illicit-income"\n', "")
    _edit(seed_dir / FIGURES_FILE, CYBER_VALUE, CYBER_VALUE.replace("value = 13.5", "value = 1.35"))
    _edit(seed_dir / FIGURES_FILE, KN23_QUOTE, 'quote = "nine KN-99 missiles"')
    exc = _load_error(raw_dir)
    _find(exc, file=REPORT_FILE, field="series", found="missing")
    _find(exc, file=FIGURES_FILE, where="figure 'cyber-income'", field="value", found="1.35")
    _find(exc, file=FIGURES_FILE, where="figure 'arms-kn-23-missiles'", field="quote", found="KN-99")


def test_problems_in_two_report_folders_are_all_reported(raw_dir: Path, seed_dir: Path) -> None:
    second = raw_dir / "second-report-2024"
    shutil.copytree(seed_dir, second)
    _edit(seed_dir / FIGURES_FILE, CYBER_VALUE, CYBER_VALUE.replace("value = 13.5", "value = 1.35"))
    _edit(second / FIGURES_FILE, KN23_BLOCK, KN23_BLOCK.replace("value = 9\n", "value = 9.5\n"))
    exc = _load_error(raw_dir)
    _find(exc, file=FIGURES_FILE, where="figure 'cyber-income'", field="value", found="1.35")
    _find(exc, folder="raw/second-report-2024", file=FIGURES_FILE, where="figure 'arms-kn-23-missiles'",
          field="value", expected="whole number")


# ---------------------------------------------------------------------------------------------
# 4. pipeline.core.text


def test_normalize_typographic_quotes_dashes_and_spaces() -> None:
    assert normalize("\u201cnearly\u201d \u2018six\u2019") == "\"nearly\" 'six'"
    assert normalize("July 2023 \u2013 February 2024 \u2014 KN\u201123 \u2212 1") == "July 2023 - February 2024 - KN-23 - 1"
    assert normalize("  the\u00a0report \n\t estimates\u202f$13.5\u2009billion  ") == "the report estimates $13.5 billion"
    assert normalize("regime\u2019s") == "regime's"
    # NFC: a decomposed e + combining acute equals the composed character
    assert normalize("cafe\u0301") == "caf\u00e9"
    assert normalize("") == ""


@pytest.mark.parametrize(("text", "number", "scale"), [
    ("$13.5 billion", Decimal("13.5"), Decimal(10) ** 9),
    ("937,500", Decimal(937500), Decimal(1)),
    ("nine", Decimal(9), Decimal(1)),
    ("Nine", Decimal(9), Decimal(1)),
    ("$6.3 billion", Decimal("6.3"), Decimal(10) ** 9),
    ("US$5.4bn", Decimal("5.4"), Decimal(10) ** 9),
    ("$82.5 million dollars", Decimal("82.5"), Decimal(10) ** 6),
    ("1,234,567.5", Decimal("1234567.5"), Decimal(1)),
    ("a dozen", Decimal(12), Decimal(1)),
    ("\u00a0$13.5\u00a0billion ", Decimal("13.5"), Decimal(10) ** 9),
])
def test_parse_value_text(text: str, number: Decimal, scale: Decimal) -> None:
    assert parse_value_text(text) == (number, scale)


def test_parse_value_text_seed_examples_exact() -> None:
    number, scale = parse_value_text("$13.5 billion")
    assert number * scale == Decimal(13_500_000_000)
    assert parse_value_text("937,500") == (937500, 1)
    assert parse_value_text("nine") == (9, 1)


@pytest.mark.parametrize("text", [
    "", "several", "thirty-one", "approximately $13.5 billion", "$13.5 zillion", "13.5bn dollars extra",
    "1,23", "$", "billion", "-$13.5 billion",
])
def test_parse_value_text_unparseable_returns_none(text: str) -> None:
    assert parse_value_text(text) is None


# --- load_and_check: the loader's problems and the schemas' together, each reported once


def test_a_value_refused_at_load_is_not_refused_again_through_the_amount_it_gives(seed_dir: Path, raw_dir: Path) -> None:
    _edit(seed_dir / FIGURES_FILE, CYBER_VALUE, CYBER_VALUE.replace("value = 13.5", "value = -13.5"))
    with pytest.raises(RawReportError) as info:
        load_and_check(raw_dir)
    about_cyber = sorted(p.field for p in info.value.problems if p.where.startswith("figure 'cyber-income'"))
    assert about_cyber == ["value", "value"]  # the value_text it contradicts, and >= 0; not amount_usd >= 0 again


def test_the_schemas_problems_come_with_the_loaders_named_in_a_raw_folder_of_any_name(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    shutil.copytree(RAW, reports)
    seed = reports / SEED_ID
    _edit(seed / FIGURES_FILE, CYBER_VALUE, CYBER_VALUE.replace("value = 13.5", "value = -13.5"))  # the loader's
    _edit(seed / FIGURES_FILE, KN23_BLOCK, KN23_BLOCK.replace('unit = "count"', 'unit = "USD bn"'))  # the schemas'
    with pytest.raises(RawReportError) as info:
        load_and_check(reports)
    fields = {(p.folder, p.field) for p in info.value.problems}
    assert {(f"reports/{SEED_ID}", "value"), (f"reports/{SEED_ID}", "unit")} <= fields, fields


def test_only_the_folders_asked_for_are_read(raw_dir: Path) -> None:
    shutil.copytree(raw_dir / SEED_ID, raw_dir / "another-report-2024-09-04")
    (raw_dir / "another-report-2024-09-04" / REPORT_FILE).write_text("not toml", encoding="utf-8")  # broken: unread
    loaded = load_and_check(raw_dir, [raw_dir / SEED_ID])
    assert loaded.reports["report_id"].tolist() == [SEED_ID]
