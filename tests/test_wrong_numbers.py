"""No wrong number publishes silently (issue 13, and items 6, 8 and 14 of issue 14): inputs that used to
publish a wrong number or leave a person stuck, each refused through the whole Dagster build with a
located message, and the published warehouse left byte for byte as it was (the machinery of
tests/test_bad_input.py: `assert_refused` checks all three)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.core.text import expression_in_context, value_expressions
from pipeline.read.raw_reports import CORRECTIONS_FILE, FIGURES_FILE, REPORT_FILE, latest_today

from . import test_bad_input
from .conftest import PROJECT_ROOT, RAW, SEED_ID
from .helpers import break_the_arms_grain, build, edit
from .test_bad_input import (
    CYBER_VALUE,
    LOAD,
    SCHEMA,
    SEED,
    SOURCE,
    Good,
    Located,
    _fig,
    _line_of,
    _seed,
    _writable,
    assert_refused,
)

# the fixtures of the bad-input catalogue: a good warehouse built once, and each test's copy of it
good = test_bad_input.good
case_warehouse = test_bad_input.case_warehouse

EVIDENCE = "yonhap-wire-2024-09-03.md"


def _refused(raw: Path, warehouse: Path, good: Good, step: str, problems: list[Located]) -> str:
    return assert_refused(build(raw, warehouse), step, problems, warehouse, good)


def _add_report(raw: Path, report_id: str, document: str, figures: str) -> str:
    """A second report folder: a document, its report.toml (with the right sha256) and figures.toml."""
    folder = raw / report_id
    folder.mkdir()
    (folder / "article.txt").write_text(document, encoding="utf-8")
    sha = hashlib.sha256(document.encode("utf-8")).hexdigest()
    (folder / REPORT_FILE).write_text(
        f'title = "A test article"\npublisher = "A test publisher"\npublished_on = 2025-03-01\n'
        f'series = "{report_id}"\nperiod_start = 2023-01-01\nperiod_end = 2023-12-31\n'
        f'source_file = "article.txt"\nsource_sha256 = "{sha}"\n', encoding="utf-8")
    (folder / FIGURES_FILE).write_text(figures, encoding="utf-8")
    return f"raw/{report_id}"


def _figure(fid: str, value: str, unit: str, value_text: str, quote: str, subject: str = "cyber") -> str:
    return (f'[[figure]]\nid = "{fid}"\ntopic = "channel"\nsubject = "{subject}"\nvalue = {value}\nunit = "{unit}"\n'
            f'value_text = "{value_text}"\nquote = "{quote}"\n\n')


# ---------------------------------------------------------------------------------------------
# 13.1: a template's placeholder left in any file


def _replace_line(path: Path, start: str, new: str) -> None:
    """Replace the one line of path that starts with `start` by `new`."""
    lines = path.read_text(encoding="utf-8").split("\n")
    index = [i for i, line in enumerate(lines) if line.startswith(start)]
    assert len(index) == 1, start
    lines[index[0]] = new
    path.write_text("\n".join(lines), encoding="utf-8")


def test_placeholder_in_report_toml_is_refused(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    path = _seed(raw_dir) / REPORT_FILE
    _replace_line(path, "title = ", 'title = "TODO: the document\'s headline or title"')
    _replace_line(path, "series = ", 'series = "TODO-series-slug"')
    _refused(raw_dir, case_warehouse, good, LOAD, [
        Located(SEED, REPORT_FILE, field="title", found=("TODO: the document", "a placeholder left in"),
                expected="fill in every TODO"),
        Located(SEED, REPORT_FILE, field="series", found="'TODO-series-slug'", expected="fill in every TODO"),
    ])


def test_placeholder_in_figures_toml_is_refused(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    _replace_line(_seed(raw_dir) / FIGURES_FILE, 'quote = "The report estimates that North Korea',
                  'quote = "TODO: the sentence of the document that states it"')
    _refused(raw_dir, case_warehouse, good, LOAD, [
        Located(SEED, FIGURES_FILE, _fig(raw_dir, "cyber-income"), "quote", found="a placeholder left in",
                expected="fill in every TODO"),
    ])


def test_placeholder_in_corrections_toml_is_refused(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    edit(_seed(raw_dir) / CORRECTIONS_FILE,
         'note = "The article\'s $13.5 billion is ten times the wire story\'s figure: a decimal slip in the rewrite."',
         'note = "TODO: why"')
    _refused(raw_dir, case_warehouse, good, LOAD, [
        Located(SEED, CORRECTIONS_FILE, "correction of 'cyber-income'", "note", found="'TODO: why'",
                expected="fill in every TODO"),
    ])


# ---------------------------------------------------------------------------------------------
# 13.2: value_text is the whole value expression; its scale agrees with unit; its number is the value


def test_scale_word_left_out_of_value_text_is_refused(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    # the 1000x slip: "$13.5" with unit "USD million" where the quote says "$13.5 billion"
    edit(_seed(raw_dir) / FIGURES_FILE, CYBER_VALUE, 'value = 13.5\nunit = "USD million"\nvalue_text = "$13.5"')
    _refused(raw_dir, case_warehouse, good, LOAD, [
        Located(SEED, FIGURES_FILE, _fig(raw_dir, "cyber-income"), "value_text",
                found=("'$13.5'", "'13.5 billion'", "13.5 USD billion"),
                expected=("the whole value expression", "value_text = '$13.5 billion'", "unit = 'USD billion'")),
    ])


def test_unit_that_disagrees_with_the_scale_word_is_refused(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    edit(_seed(raw_dir) / FIGURES_FILE, CYBER_VALUE, 'value = 13.5\nunit = "USD million"\nvalue_text = "$13.5 billion"')
    _refused(raw_dir, case_warehouse, good, LOAD, [
        Located(SEED, FIGURES_FILE, _fig(raw_dir, "cyber-income"), "unit", found="'USD million'",
                expected=("'USD billion'", "'$13.5 billion'")),
    ])


def test_value_behind_words_is_checked(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    # the proof used to be off for any value_text that was not a bare number: 999e9 published
    edit(_seed(raw_dir) / FIGURES_FILE, CYBER_VALUE,
         'value = 999\nunit = "USD billion"\nvalue_text = "approximately $13.5 billion"')
    _refused(raw_dir, case_warehouse, good, LOAD, [
        Located(SEED, FIGURES_FILE, _fig(raw_dir, "cyber-income"), "value", found="999 USD billion",
                expected=("approximately $13.5 billion", "13.5 USD billion")),
    ])


DOCUMENT = ("Hackers stole $3bn from exchanges in 2023. Smugglers made $250m from coal. "
            "Workers abroad sent home $1.2 tn, a typo of the wire. IT workers earned $500k a month. "
            "Arms brokers took US$40 mn. Seafood exports brought in $7 million.\n")


def test_abbreviated_scale_words_must_agree_with_unit(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    figures = (
        _figure("cyber", "3", "USD million", "$3", "Hackers stole $3bn from exchanges in 2023")
        + _figure("coal", "250", "USD billion", "$250m", "Smugglers made $250m from coal", "coal_smuggling")
        + _figure("labor", "1.2", "USD billion", "$1.2 tn", "Workers abroad sent home $1.2 tn", "overseas_labor")
        + _figure("it", "500", "USD million", "$500k", "IT workers earned $500k a month", "it_workers")
        + _figure("arms", "40", "USD billion", "US$40 mn", "Arms brokers took US$40 mn", "arms_exports")
        + _figure("seafood", "7", "USD thousand", "$7", "Seafood exports brought in $7 million", "seafood"))
    folder = _add_report(raw_dir, "abbreviations-2025-03-01", DOCUMENT, figures)
    where = {fid: f"figure '{fid}' (line {2 + 9 * i})" for i, fid in
             enumerate(("cyber", "coal", "labor", "it", "arms", "seafood"))}
    _refused(raw_dir, case_warehouse, good, LOAD, [
        Located(folder, FIGURES_FILE, where["cyber"], "value_text", found=("'$3'", "'3bn'", "3 USD billion"),
                expected="value_text = '$3bn'"),
        Located(folder, FIGURES_FILE, where["coal"], "unit", found="'USD billion'", expected="'USD million'"),
        Located(folder, FIGURES_FILE, where["labor"], "unit", found="'USD billion'", expected="'USD trillion'"),
        Located(folder, FIGURES_FILE, where["it"], "unit", found="'USD million'", expected="'USD thousand'"),
        Located(folder, FIGURES_FILE, where["arms"], "unit", found="'USD billion'", expected="'USD million'"),
        Located(folder, FIGURES_FILE, where["seafood"], "value_text", found=("'$7'", "7 USD million"),
                expected="value_text = '$7 million'"),
    ])


def test_abbreviated_scale_words_that_agree_publish(raw_dir: Path, case_warehouse: Path) -> None:
    figures = (
        _figure("cyber", "3", "USD billion", "$3bn", "Hackers stole $3bn from exchanges in 2023")
        + _figure("coal", "250", "USD million", "$250m", "Smugglers made $250m from coal", "coal_smuggling")
        + _figure("it", "500", "USD thousand", "$500k", "IT workers earned $500k a month", "it_workers")
        + _figure("arms", "40", "USD million", "US$40 mn", "Arms brokers took US$40 mn", "arms_exports"))
    _add_report(raw_dir, "abbreviations-2025-03-01", DOCUMENT, figures)
    result = build(raw_dir, case_warehouse)
    assert result.success
    import duckdb
    with duckdb.connect(str(case_warehouse), read_only=True) as con:
        amounts = dict(con.execute("SELECT figure_id, amount_usd FROM figures "
                                   "WHERE report_id = 'abbreviations-2025-03-01'").fetchall())
    assert amounts == {"cyber": 3e9, "coal": 250e6, "it": 500e3, "arms": 40e6}


@pytest.mark.parametrize(("text", "number", "scale", "word"), [
    ("approximately $13.5 billion", "13.5", 10**9, "billion"),
    ("$3bn", "3", 10**9, "bn"),
    ("US$40 mn", "40", 10**6, "mn"),
    ("$250m", "250", 10**6, "m"),
    ("$500k", "500", 10**3, "k"),
    ("$1.2 tn", "1.2", 10**12, "tn"),
    ("nine KN-23 missiles", "9", 1, ""),
    ("937,500 152mm artillery shells", "937500", 1, ""),
    ("more than half a billion dollars", "0.5", 10**9, "billion"),
])
def test_value_expressions(text: str, number: str, scale: int, word: str) -> None:
    first = value_expressions(text)[0]
    assert (first.number, first.scale, first.scale_word) == (Decimal(number), Decimal(scale), word)


@pytest.mark.parametrize(("value_text", "quote", "whole"), [
    ("$3", "worth $3 billion in all", "$3 billion"),
    ("$3", "worth $3.5 billion in all", "$3.5 billion"),
    ("3 billion", "worth $13 billion", "13 billion"),
    ("$13.5", "earned $13.5bn", "$13.5bn"),
    ("$13.5 billion", "approximately $13.5 billion through", None),
    ("nine", "nine KN-23 missiles", None),
    ("937,500", "supplied 937,500 152mm artillery shells", None),
])
def test_expression_in_context(value_text: str, quote: str, whole: str | None) -> None:
    found = expression_in_context(value_text, quote)
    assert (found[1] if found else None) == whole


# ---------------------------------------------------------------------------------------------
# 13.4 and 14.6: evidence files are verified (sha256, encoding) and stored, not linked


def test_bytes_appended_to_evidence_are_refused(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    evidence = _writable(_seed(raw_dir) / EVIDENCE)
    evidence.write_bytes(evidence.read_bytes() + b"\nan extra line\n")
    new_sha = hashlib.sha256(evidence.read_bytes()).hexdigest()
    _refused(raw_dir, case_warehouse, good, LOAD, [
        Located(SEED, CORRECTIONS_FILE, "correction of 'cyber-income'", "evidence_sha256",
                expected=(f"which is '{new_sha}'", "hash-evidence")),
    ])


def test_evidence_that_is_not_utf8_is_refused_with_a_hint(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    evidence = _writable(_seed(raw_dir) / EVIDENCE)
    evidence.write_bytes(evidence.read_bytes() + "\u201cquoted\u201d\n".encode("cp1252"))
    _refused(raw_dir, case_warehouse, good, LOAD, [
        Located(SEED, CORRECTIONS_FILE, "correction of 'cyber-income'", "evidence_file",
                found=("byte 0x93", "not UTF-8", "Windows-1252", "iconv -f WINDOWS-1252 -t UTF-8"),
                expected="a UTF-8 text file"),
        Located(SEED, CORRECTIONS_FILE, "correction of 'cyber-income'", "evidence_sha256"),
    ])


def test_evidence_without_its_sha256_is_refused(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    path = _seed(raw_dir) / CORRECTIONS_FILE
    path.write_text("".join(line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                            if not line.startswith("evidence_sha256")), encoding="utf-8")
    sha = hashlib.sha256((_seed(raw_dir) / EVIDENCE).read_bytes()).hexdigest()
    _refused(raw_dir, case_warehouse, good, LOAD, [
        Located(SEED, CORRECTIONS_FILE, "correction of 'legal-trade-deficit'", "evidence_sha256", found="nothing",
                expected=(f"which is '{sha}'", f"python -m pipeline hash-evidence {SEED}")),
    ])


def test_hash_evidence_fills_in_what_the_seed_records(raw_dir: Path) -> None:
    path = _seed(raw_dir) / CORRECTIONS_FILE
    committed = path.read_text(encoding="utf-8")
    assert committed.count("evidence_sha256 = ") == committed.count("evidence_file = ") == 7
    path.write_text("".join(line for line in committed.splitlines(keepends=True)
                            if not line.startswith("evidence_sha256")), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "pipeline", "hash-evidence", str(_seed(raw_dir))], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "evidence_sha256 recorded for 7 correction(s)" in out.stdout
    assert path.read_text(encoding="utf-8") == committed


@pytest.mark.parametrize(("name", "problem"), [
    (EVIDENCE, Located(SEED, CORRECTIONS_FILE, "correction of 'cyber-income'", "evidence_file",
                       found="a symbolic link to", expected="regular file in the report folder")),
    (SOURCE, Located(SEED, REPORT_FILE, field="source_file", found="a symbolic link to",
                     expected="regular file in the report folder")),
])
def test_symlinked_document_or_evidence_is_refused(raw_dir: Path, case_warehouse: Path, good: Good, tmp_path: Path,
                                                   name: str, problem: Located) -> None:
    # a link may point at any file on the machine (the system's password file was "verified")
    outside = tmp_path / "elsewhere.txt"
    shutil.copyfile(_seed(raw_dir) / name, outside)
    (_seed(raw_dir) / name).unlink()
    (_seed(raw_dir) / name).symlink_to(outside)
    _refused(raw_dir, case_warehouse, good, LOAD, [problem])


# ---------------------------------------------------------------------------------------------
# 14.8: ids with a trailing newline; 14.14: a report dated in the future


def test_folder_name_with_a_trailing_newline_is_refused(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    name = SEED_ID + "\n"
    shutil.copytree(_seed(raw_dir), raw_dir / name)
    _refused(raw_dir, case_warehouse, good, LOAD, [
        # the location shows the newline escaped, so that the message stays one line per problem
        Located(f"raw/{SEED_ID}\\n", "", "folder name (the report id)", found=repr(name), expected="rename the folder"),
    ])


@pytest.mark.parametrize(("file", "old", "new", "where", "field"), [
    (REPORT_FILE, 'series = "inss-illicit-income"', 'series = "inss-illicit-income\\n"', "", "series"),
    (FIGURES_FILE, 'subject = "cyber"', 'subject = "cyber\\n"', "figure 'cyber-income'", "subject"),
    (FIGURES_FILE, 'id = "cyber-income"', 'id = "cyber-income\\n"', "figure 'cyber-income\\n'", "id"),
])
def test_ids_with_a_trailing_newline_are_refused(raw_dir: Path, case_warehouse: Path, good: Good, file: str,
                                                 old: str, new: str, where: str, field: str) -> None:
    if field == "id":  # the correction of that figure names it as it was
        edit(_seed(raw_dir) / CORRECTIONS_FILE, 'figure_id = "cyber-income"', 'figure_id = "cyber-income\\n"')
    edit(_seed(raw_dir) / file, old, new)
    _refused(raw_dir, case_warehouse, good, SCHEMA, [
        Located(SEED, file, where, field, expected="lower-case letters, digits and single"),
    ])


def test_report_dated_in_the_future_is_refused(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    edit(_seed(raw_dir) / REPORT_FILE, "published_on = 2024-09-03", "published_on = 2099-09-03")
    _refused(raw_dir, case_warehouse, good, LOAD, [
        Located(SEED, REPORT_FILE, field="published_on", found="2099-09-03, which is after today",
                expected="cannot be in the future"),
    ])


def test_a_report_dated_today_is_not_in_the_future() -> None:
    from datetime import date
    assert latest_today() >= date.today()


# ---------------------------------------------------------------------------------------------
# 13.7: messages a person can act on


def test_invisible_character_in_a_quote_is_shown_escaped(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    edit(_seed(raw_dir) / FIGURES_FILE, "hacking into financial institutions", "hacking into\u200b financial institutions")
    description = _refused(raw_dir, case_warehouse, good, LOAD, [
        Located(SEED, FIGURES_FILE, _fig(raw_dir, "cyber-income"), "quote", found="'\\u200b financial institutions",
                expected=f"occurs verbatim in {SOURCE}"),
    ])
    assert "\u200b" not in description


def test_windows_1252_document_gets_a_conversion_hint(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    source = _writable(_seed(raw_dir) / SOURCE)
    data = source.read_bytes()
    source.write_bytes(data.replace("\u2019".encode(), b"\x92"))  # the typographic apostrophe as Windows-1252 writes it
    description = _refused(raw_dir, case_warehouse, good, LOAD, [
        Located(SEED, SOURCE, found=("byte 0x92", "Windows-1252", "iconv -f WINDOWS-1252 -t UTF-8"),
                expected="a UTF-8 text document"),
    ])
    assert "PDF" not in description


def test_windows_1252_toml_file_gets_a_conversion_hint(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    path = _seed(raw_dir) / REPORT_FILE
    line = _line_of(path, "title = ")
    path.write_bytes(path.read_bytes().replace(b'title = "', 'title = "\u201c'.encode("cp1252"), 1))
    _refused(raw_dir, case_warehouse, good, LOAD, [
        Located(SEED, REPORT_FILE, f"line {line}", found="byte 0x93, which is not UTF-8",
                expected=("a UTF-8 text file", "iconv -f WINDOWS-1252 -t UTF-8")),
    ])


def test_bare_year_range_gets_the_dates_it_means(raw_dir: Path, case_warehouse: Path, good: Good) -> None:
    report = _seed(raw_dir) / REPORT_FILE
    edit(report, "period_start = 2017-01-01\nperiod_end = 2023-12-31\n", "period_start = 2017-2023\n")
    line = _line_of(report, "period_start = 2017-2023")
    description = _refused(raw_dir, case_warehouse, good, LOAD, [
        Located(SEED, REPORT_FILE, f"line {line}", "period_start", found="a bare year range 2017-2023",
                expected="a year range 2017-2023 means period_start = 2017-01-01 and period_end = 2023-12-31"),
    ])
    assert "stray" not in description


# ---------------------------------------------------------------------------------------------
# 13.5 and 13.6: what `make warehouse` prints


def _refresh(raw: Path, warehouse: Path, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "refresh", "--raw", str(raw), "--warehouse", str(warehouse)],
        cwd=PROJECT_ROOT, env={**os.environ, "DAGSTER_HOME": str(home)}, capture_output=True, text=True, timeout=300)


def test_blocking_check_problems_are_printed_located_once_without_stack_traces(
        raw_dir: Path, case_warehouse: Path, good: Good, tmp_path: Path) -> None:
    # two figures of one arms item for one period: the arms table's grain (a channel stated twice is a
    # located warning since issue 18, not a blocking failure)
    break_the_arms_grain(_seed(raw_dir))
    out = _refresh(raw_dir, case_warehouse, tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    text = out.stdout + out.stderr
    assert "Traceback" not in text and "Stack Trace" not in text and "dagster._core" not in text, text
    lines = [line for line in out.stdout.splitlines() if line.startswith("  - ")]
    for figure_id in ("arms-152mm-shells", "arms-152mm-shells-again"):
        mine = [line for line in lines if f"{SEED}/{FIGURES_FILE}, figure '{figure_id}' (table " in line]
        assert len(mine) == 1, out.stdout  # once, though arms and latest_arms both break
        assert "item='152mm_artillery_shell', period_start=2023-07-01, period_end=2024-02-29" in mine[0]
        assert "give each the period its quote states" in mine[0]
    assert "2 problem(s) found by the blocking check(s) arms_matches_schema" in out.stdout
    assert case_warehouse.read_bytes() == good.data


def test_a_load_failure_is_printed_once(raw_dir: Path, case_warehouse: Path, good: Good, tmp_path: Path) -> None:
    edit(_seed(raw_dir) / FIGURES_FILE, 'subject = "cyber"', 'subject = ""')
    out = _refresh(raw_dir, case_warehouse, tmp_path)
    assert out.returncode == 1
    text = out.stdout + out.stderr
    assert text.count("field 'subject': found '' (str)") == 1, text
    assert "Stack Trace" not in text and "Traceback" not in text
    assert case_warehouse.read_bytes() == good.data


def test_seed_publishes_the_same_numbers() -> None:
    """The seed, with its evidence hashes, loads as before (the published numbers: README's table)."""
    from pipeline.validate.validation import load_and_check
    loaded = load_and_check(RAW)
    best = dict(zip(loaded.figures["figure_id"], loaded.figures["best_amount_usd"], strict=True))
    assert best["cyber-income"] == 1.35e9 and best["coal-smuggling-income"] == 2.15e9
    assert best["overseas-labor-income"] == 1.75e9 and best["arms-exports-income"] == 540e6
