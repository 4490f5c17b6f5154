"""corrections.toml: the seed's corrections load to exact best estimates beside the published values,
every kind of broken correction is refused with a message naming folder, file, correction and field,
a folder without corrections loads as published, and the whole thing survives a Dagster build into
DuckDB (both value bases, the reconciliation asset checks, write-audit-publish on a broken quote)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from pipeline.core.errors import Problem, RawReportError
from pipeline.read.raw_reports import CORRECTIONS_FILE, FIGURES_FILE, RawReports, load_raw
from pipeline.validate.validation import load_and_check, validate_raw

from .conftest import RAW, SEED_ID
from .helpers import build, failure_message, find_problem
from .helpers import edit as _edit

FOLDER = f"raw/{SEED_ID}"


def _find(exc: RawReportError, *, file: str = CORRECTIONS_FILE, folder: str = FOLDER, **match) -> Problem:
    return find_problem(exc, folder=folder, file=file, **match)
EVIDENCE = "yonhap-wire-2024-09-03.md"
CITED_URL = "https://www.koreaherald.com/view.php?ud=20240903050185"
CITED_PUBLISHER = "Yonhap News Agency, republished by The Korea Herald"
CITED_TITLE = "N. Korea earned over $6b through illicit activities over past 7 years: report"
CITED_IDS = ("total-illicit-income", "cyber-income", "coal-smuggling-income", "overseas-labor-income",
             "arms-exports-income")
INFERRED_IDS = ("legal-trade-deficit", "deficit-after-illicit-income")
ARMS_COUNT_IDS = ("arms-152mm-shells", "arms-122mm-shells", "arms-kn-23-missiles", "arms-kn-24-missiles")


# ---------------------------------------------------------------------------------------------
# helpers


def _block(seed_dir: Path, figure_id: str) -> str:
    """The [[correction]] table of one figure, as text (to edit inside it only)."""
    text = (seed_dir / CORRECTIONS_FILE).read_text(encoding="utf-8")
    head = f'[[correction]]\nfigure_id = "{figure_id}"\n'
    assert text.count(head) == 1, figure_id
    start = text.index(head)
    end = text.find("[[correction]]", start + len(head))
    return text[start:] if end == -1 else text[start:end]


def _edit_block(seed_dir: Path, figure_id: str, old: str, new: str) -> None:
    """Replace `old` by `new` inside the correction of `figure_id` (old occurs exactly once there)."""
    block = _block(seed_dir, figure_id)
    assert block.count(old) == 1, f"{old!r} should occur exactly once in the correction of {figure_id}"
    _edit(seed_dir / CORRECTIONS_FILE, block, block.replace(old, new))


def _load_error(raw_dir: Path) -> RawReportError:
    with pytest.raises(RawReportError) as info:
        load_raw(raw_dir)
    assert info.value.problems
    return info.value


def _where(figure_id: str) -> str:
    return f"correction of '{figure_id}'"


def _figure(raw: RawReports, figure_id: str) -> pd.Series:
    rows = raw.figures[raw.figures["figure_id"] == figure_id]
    assert len(rows) == 1, figure_id
    return rows.iloc[0]


# ---------------------------------------------------------------------------------------------
# 1. the seed's corrections


@pytest.fixture
def seed(raw_dir: Path) -> RawReports:
    return load_raw(raw_dir)


def test_seed_best_estimates_are_exact_whole_dollars(seed: RawReports) -> None:
    expected = {
        "cyber-income": (13_500_000_000, 1_350_000_000),
        "coal-smuggling-income": (21_500_000_000, 2_150_000_000),
        "overseas-labor-income": (17_500_000_000, 1_750_000_000),
        "arms-exports-income": (5_400_000_000, 540_000_000),
        "total-illicit-income": (6_300_000_000, 6_290_000_000),
        "legal-trade-deficit": (82_500_000_000, 8_250_000_000),
        "deficit-after-illicit-income": (19_700_000_000, 1_970_000_000),
    }
    for figure_id, (published, best) in expected.items():
        figure = _figure(seed, figure_id)
        assert figure["amount_usd"] == published, figure_id  # the published value is kept as written
        assert figure["best_amount_usd"] == best, figure_id  # exact: no float drift (1.35 * 1e9 etc.)
        assert float(figure["best_amount_usd"]).is_integer(), figure_id
        assert bool(figure["corrected"]) is True, figure_id
        assert pd.isna(figure["best_quantity"]), figure_id
    assert seed.figures["best_amount_usd"].dtype == "float64"
    assert str(seed.figures["best_quantity"].dtype) == "Int64"


def test_seed_correction_values_and_units(seed: RawReports) -> None:
    arms = _figure(seed, "arms-exports-income")
    assert arms["correction_value"] == 540.0
    assert arms["correction_unit"] == "USD million"
    assert arms["correction_value_text"] == "$540 million"
    cyber = _figure(seed, "cyber-income")
    assert cyber["correction_value"] == 1.35
    assert cyber["correction_unit"] == "USD billion"
    assert cyber["correction_value_text"] == "$1.35 billion"
    assert "decimal slip" in cyber["correction_note"]


def test_seed_inferred_corrections_carry_reasoning_and_no_citation(seed: RawReports) -> None:
    for figure_id in INFERRED_IDS:
        figure = _figure(seed, figure_id)
        assert figure["correction_basis"] == "inferred", figure_id
        assert "8.25 - 1.97 = 6.28" in figure["correction_reasoning"], figure_id
        assert pd.isna(figure["correction_value_text"]), figure_id
        for column in ("cited_publisher", "cited_title", "cited_date", "cited_url"):
            assert pd.isna(figure[column]), (figure_id, column)
        assert figure["correction_evidence_file"] == EVIDENCE
        assert "$8.25 billion and $1.97 billion" in figure["correction_evidence_quote"]
        assert figure["correction_note"].startswith("An inference, not a citation")


def test_seed_cited_corrections_carry_the_citation(seed: RawReports) -> None:
    for figure_id in CITED_IDS:
        figure = _figure(seed, figure_id)
        assert figure["correction_basis"] == "cited", figure_id
        assert figure["cited_publisher"] == CITED_PUBLISHER, figure_id
        assert figure["cited_title"] == CITED_TITLE, figure_id
        assert figure["cited_date"] == pd.Timestamp("2024-09-03"), figure_id
        assert figure["cited_url"] == CITED_URL, figure_id
        assert figure["correction_evidence_file"] == EVIDENCE, figure_id
        assert pd.isna(figure["correction_reasoning"]), figure_id
        evidence = (RAW / SEED_ID / EVIDENCE).read_text(encoding="utf-8")
        assert figure["correction_evidence_quote"] in evidence, figure_id
        assert figure["correction_value_text"] in figure["correction_evidence_quote"], figure_id


def test_seed_arms_counts_are_not_corrected(seed: RawReports) -> None:
    for figure_id in ARMS_COUNT_IDS:
        figure = _figure(seed, figure_id)
        assert bool(figure["corrected"]) is False, figure_id
        assert figure["best_quantity"] == figure["quantity"], figure_id
        assert pd.isna(figure["best_amount_usd"]), figure_id
        for column in ("correction_basis", "correction_value", "correction_unit", "correction_note",
                       "cited_url", "correction_reasoning"):
            assert pd.isna(figure[column]), (figure_id, column)
    assert sorted(seed.figures.loc[~seed.figures["corrected"], "figure_id"]) == sorted(ARMS_COUNT_IDS)


def test_seed_with_corrections_passes_validate_raw(seed: RawReports, raw_dir: Path) -> None:
    validated = validate_raw(seed)
    assert len(validated.figures) == 11
    assert int(validated.figures["corrected"].sum()) == 7
    assert _figure(validated, "cyber-income")["best_amount_usd"] == 1_350_000_000
    assert len(load_and_check(raw_dir).figures) == 11


def test_folder_without_corrections_loads_as_published(raw_dir: Path, seed_dir: Path) -> None:
    (seed_dir / CORRECTIONS_FILE).unlink()
    raw = validate_raw(load_raw(raw_dir))
    figures = raw.figures
    assert len(figures) == 11
    assert not figures["corrected"].any()
    money = figures["amount_usd"].notna()
    assert (figures.loc[money, "best_amount_usd"] == figures.loc[money, "amount_usd"]).all()
    assert figures.loc[~money, "best_amount_usd"].isna().all()
    counts = figures["quantity"].notna()
    assert (figures.loc[counts, "best_quantity"] == figures.loc[counts, "quantity"]).all()
    assert figures.loc[~counts, "best_quantity"].isna().all()
    for column in ("correction_basis", "correction_value", "correction_note", "cited_url", "cited_date",
                   "correction_reasoning", "correction_evidence_quote"):
        assert figures[column].isna().all(), column
    assert _figure(raw, "cyber-income")["best_amount_usd"] == 13_500_000_000


# ---------------------------------------------------------------------------------------------
# 2. broken corrections: refused, with folder, file, correction and field


def test_correction_of_an_unknown_figure(raw_dir: Path, seed_dir: Path) -> None:
    _edit(seed_dir / CORRECTIONS_FILE, 'figure_id = "cyber-income"', 'figure_id = "cyber-incom"')
    exc = _load_error(raw_dir)
    problem = _find(exc, field="figure_id", where=_where("cyber-incom"), found="'cyber-incom'")
    assert "the id of a figure in figures.toml" in problem.expected


def test_unknown_basis(raw_dir: Path, seed_dir: Path) -> None:
    _edit_block(seed_dir, "cyber-income", 'basis = "cited"', 'basis = "guessed"')
    exc = _load_error(raw_dir)
    problem = _find(exc, field="basis", where=_where("cyber-income"), found="'guessed'")
    assert "cited" in problem.expected and "inferred" in problem.expected


def test_cited_without_url(raw_dir: Path, seed_dir: Path) -> None:
    _edit_block(seed_dir, "coal-smuggling-income", f'cited_url = "{CITED_URL}"\n', "")
    exc = _load_error(raw_dir)
    _find(exc, field="cited_url", where=_where("coal-smuggling-income"), expected="basis = cited")
    assert len(exc.problems) == 1, str(exc)


@pytest.mark.parametrize("name", ["cited_publisher", "cited_title", "cited_date"])
def test_cited_without_another_citation_field(raw_dir: Path, seed_dir: Path, name: str) -> None:
    block = _block(seed_dir, "overseas-labor-income")
    line = next(line for line in block.splitlines(keepends=True) if line.startswith(f"{name} ="))
    _edit_block(seed_dir, "overseas-labor-income", line, "")
    exc = _load_error(raw_dir)
    _find(exc, field=name, where=_where("overseas-labor-income"), expected="basis = cited")


def test_inferred_without_reasoning(raw_dir: Path, seed_dir: Path) -> None:
    block = _block(seed_dir, "deficit-after-illicit-income")
    start = block.index('reasoning = """')
    end = block.index('"""', start + len('reasoning = """')) + 3
    _edit_block(seed_dir, "deficit-after-illicit-income", block[start:end] + "\n", "")
    exc = _load_error(raw_dir)
    _find(exc, field="reasoning", where=_where("deficit-after-illicit-income"), expected="basis = inferred")
    assert len(exc.problems) == 1, str(exc)


def test_evidence_quote_not_in_the_evidence_file(raw_dir: Path, seed_dir: Path) -> None:
    _edit_block(seed_dir, "cyber-income", "| $1.35 billion | $13.5 billion | 10 |", "| $1.35 billion | $13.6 billion | 10 |")
    exc = _load_error(raw_dir)
    # the quote is shown shortened (60 characters); its start is enough to find it
    problem = _find(exc, field="evidence_quote", where=_where("cyber-income"), found="'| illegal cyber activities")
    assert EVIDENCE in problem.expected
    assert len(exc.problems) == 1, str(exc)  # value_text still occurs in the (edited) quote


def test_evidence_file_missing(raw_dir: Path, seed_dir: Path) -> None:
    _edit_block(seed_dir, "cyber-income", f'evidence_file = "{EVIDENCE}"', 'evidence_file = "yonhap-wire.md"')
    exc = _load_error(raw_dir)
    problem = _find(exc, field="evidence_file", where=_where("cyber-income"), found="'yonhap-wire.md'")
    assert "stored file in the report folder" in problem.expected


def test_evidence_file_deleted_names_every_correction_citing_it(raw_dir: Path, seed_dir: Path) -> None:
    (seed_dir / EVIDENCE).unlink()
    exc = _load_error(raw_dir)
    for figure_id in (*CITED_IDS, *INFERRED_IDS):
        _find(exc, field="evidence_file", where=_where(figure_id), found=EVIDENCE)


@pytest.mark.parametrize("name", ["../figures.toml", ".hidden", "sub/evidence.md"])
def test_evidence_file_outside_the_folder_is_refused(raw_dir: Path, seed_dir: Path, name: str) -> None:
    _edit_block(seed_dir, "cyber-income", f'evidence_file = "{EVIDENCE}"', f'evidence_file = "{name}"')
    exc = _load_error(raw_dir)
    _find(exc, field="evidence_file", where=_where("cyber-income"), expected="stored file in the report folder")


def test_evidence_file_without_evidence_quote(raw_dir: Path, seed_dir: Path) -> None:
    block = _block(seed_dir, "cyber-income")
    line = next(line for line in block.splitlines(keepends=True) if line.startswith("evidence_quote ="))
    _edit_block(seed_dir, "cyber-income", line, "")
    exc = _load_error(raw_dir)
    _find(exc, field="evidence_quote", where=_where("cyber-income"), expected="both evidence_file and evidence_quote")


def test_value_text_not_in_evidence_quote(raw_dir: Path, seed_dir: Path) -> None:
    _edit_block(seed_dir, "cyber-income", 'value_text = "$1.35 billion"', 'value_text = "$1.53 billion"')
    exc = _load_error(raw_dir)
    problem = _find(exc, field="value_text", where=_where("cyber-income"), found="'$1.53 billion'")
    assert "evidence_quote" in problem.expected


def test_value_text_that_disagrees_with_the_corrected_value(raw_dir: Path, seed_dir: Path) -> None:
    _edit_block(seed_dir, "cyber-income", 'value_text = "$1.35 billion"', 'value_text = "$13.5 billion"')
    with pytest.raises(RawReportError) as info:
        load_raw(raw_dir)
    problems = [p for p in info.value.problems
                if p.folder == FOLDER and p.file == CORRECTIONS_FILE and p.where == _where("cyber-income")]
    assert {p.field for p in problems} & {"value", "value_text"}, str(info.value)


def test_money_correction_with_unit_count(raw_dir: Path, seed_dir: Path) -> None:
    _edit_block(seed_dir, "cyber-income", 'unit = "USD billion"', 'unit = "count"')
    exc = _load_error(raw_dir)
    problem = _find(exc, field="unit", where=_where("cyber-income"), found="'count'")
    assert "USD billion" in problem.expected


def test_count_figure_corrected_with_money(raw_dir: Path, seed_dir: Path) -> None:
    (seed_dir / CORRECTIONS_FILE).write_text(
        (seed_dir / CORRECTIONS_FILE).read_text(encoding="utf-8") + """
[[correction]]
figure_id = "arms-kn-23-missiles"
value = 9
unit = "USD million"
basis = "inferred"
reasoning = "None; a test."
note = "A money unit for a count."
""", encoding="utf-8")
    exc = _load_error(raw_dir)
    _find(exc, field="unit", where=_where("arms-kn-23-missiles"), found="'USD million'")


def test_unknown_unit(raw_dir: Path, seed_dir: Path) -> None:
    _edit_block(seed_dir, "cyber-income", 'unit = "USD billion"', 'unit = "USD bn"')
    exc = _load_error(raw_dir)
    problem = _find(exc, field="unit", where=_where("cyber-income"), found="'USD bn'")
    assert "USD billion" in problem.expected


def test_negative_corrected_value(raw_dir: Path, seed_dir: Path) -> None:
    _edit_block(seed_dir, "legal-trade-deficit", "value = 8.25", "value = -8.25")
    exc = _load_error(raw_dir)
    problem = _find(exc, field="value", where=_where("legal-trade-deficit"), found="-8.25")
    assert "not negative" in problem.expected


def test_count_correction_that_is_not_whole(raw_dir: Path, seed_dir: Path) -> None:
    (seed_dir / CORRECTIONS_FILE).write_text(
        (seed_dir / CORRECTIONS_FILE).read_text(encoding="utf-8") + """
[[correction]]
figure_id = "arms-kn-24-missiles"
value = 8.5
unit = "count"
basis = "inferred"
reasoning = "A test."
note = "Half a missile."
""", encoding="utf-8")
    exc = _load_error(raw_dir)
    _find(exc, field="value", where=_where("arms-kn-24-missiles"), expected="a whole number")


def test_count_correction_loads_as_best_quantity(raw_dir: Path, seed_dir: Path) -> None:
    (seed_dir / CORRECTIONS_FILE).write_text(
        (seed_dir / CORRECTIONS_FILE).read_text(encoding="utf-8") + """
[[correction]]
figure_id = "arms-kn-24-missiles"
value = 8
unit = "count"
basis = "inferred"
reasoning = "A test."
note = "One fewer."
""", encoding="utf-8")
    raw = validate_raw(load_raw(raw_dir))
    figure = _figure(raw, "arms-kn-24-missiles")
    assert figure["quantity"] == 9
    assert figure["best_quantity"] == 8
    assert bool(figure["corrected"]) is True
    assert pd.isna(figure["best_amount_usd"])


def test_unknown_field_and_the_real_one_missing(raw_dir: Path, seed_dir: Path) -> None:
    _edit_block(seed_dir, "cyber-income", "note = ", "notes = ")
    exc = _load_error(raw_dir)
    unknown = _find(exc, field="notes", where=_where("cyber-income"), found="an unknown field")
    assert "check the spelling" in unknown.expected
    _find(exc, field="note", where=_where("cyber-income"), found="missing")


def test_two_corrections_of_the_same_figure(raw_dir: Path, seed_dir: Path) -> None:
    path = seed_dir / CORRECTIONS_FILE
    path.write_text(path.read_text(encoding="utf-8") + "\n" + _block(seed_dir, "cyber-income"), encoding="utf-8")
    exc = _load_error(raw_dir)
    problem = _find(exc, field="figure_id", where=_where("cyber-income"), found="a second correction of 'cyber-income'")
    assert problem.expected == "one correction per figure"
    assert len(exc.problems) == 1, str(exc)


def test_invalid_toml_in_corrections(raw_dir: Path, seed_dir: Path) -> None:
    path = seed_dir / CORRECTIONS_FILE
    old = 'value_text = "$2.15 billion"'
    text = path.read_text(encoding="utf-8")
    line = text[: text.index(old)].count("\n") + 1
    _edit(path, old, 'value_text = "$2.15 billion')
    exc = _load_error(raw_dir)
    problem = _find(exc, field="", where=f"line {line}", found="invalid TOML")
    assert "a valid TOML file" in problem.expected
    assert all(p.file == CORRECTIONS_FILE for p in exc.problems), str(exc)


@pytest.mark.parametrize("content", ["# nothing yet\n", "correction = []\n"])
def test_corrections_without_a_correction_table(raw_dir: Path, seed_dir: Path, content: str) -> None:
    (seed_dir / CORRECTIONS_FILE).write_text(content, encoding="utf-8")
    exc = _load_error(raw_dir)
    problem = _find(exc, field="correction", where="", found="no [[correction]] table")
    assert "or no corrections.toml" in problem.expected


def test_unknown_top_level_key_in_corrections(raw_dir: Path, seed_dir: Path) -> None:
    path = seed_dir / CORRECTIONS_FILE
    path.write_text('author = "someone"\n' + path.read_text(encoding="utf-8"), encoding="utf-8")
    exc = _load_error(raw_dir)
    _find(exc, field="author", where="", found="an unknown top-level key", expected="only [[correction]] tables")


def test_problems_in_two_corrections_are_all_reported(raw_dir: Path, seed_dir: Path) -> None:
    _edit_block(seed_dir, "cyber-income", 'basis = "cited"', 'basis = "guessed"')
    _edit_block(seed_dir, "legal-trade-deficit", "value = 8.25", "value = -8.25")
    exc = _load_error(raw_dir)
    _find(exc, field="basis", where=_where("cyber-income"))
    _find(exc, field="value", where=_where("legal-trade-deficit"))


# ---------------------------------------------------------------------------------------------
# 3. end to end through Dagster into DuckDB

D = dt.date


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[dg.ExecuteInProcessResult, Path]:
    base = tmp_path_factory.mktemp("corrections-build")
    shutil.copytree(RAW, base / "raw")
    warehouse_path = base / "warehouse" / "illicit_income.duckdb"
    result = build(base / "raw", warehouse_path)
    assert result.success
    return result, warehouse_path


def rows(path: Path, query: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_published_channels_hold_best_beside_as_published(built) -> None:
    _, path = built
    assert rows(path, "SELECT channel, figure_id, income_usd, income_usd_as_published, corrected, correction_basis, "
                      "period_start, period_end FROM channels ORDER BY channel") == [
        ("arms_exports", "arms-exports-income", 540_000_000.0, 5_400_000_000.0, True, "cited",
         D(2023, 7, 1), D(2024, 2, 29)),
        ("coal_smuggling", "coal-smuggling-income", 2_150_000_000.0, 21_500_000_000.0, True, "cited",
         D(2017, 1, 1), D(2023, 12, 31)),
        ("cyber", "cyber-income", 1_350_000_000.0, 13_500_000_000.0, True, "cited", D(2017, 1, 1), D(2023, 12, 31)),
        ("overseas_labor", "overseas-labor-income", 1_750_000_000.0, 17_500_000_000.0, True, "cited",
         D(2017, 1, 1), D(2023, 12, 31)),
    ]


def test_published_deficit_holds_best_beside_as_published(built) -> None:
    _, path = built
    (row,) = rows(path, "SELECT report_id, legal_trade_deficit_usd, deficit_after_illicit_usd, "
                        "implied_illicit_income_usd, reported_illicit_income_usd, "
                        "legal_trade_deficit_usd_as_published, deficit_after_illicit_usd_as_published, "
                        "implied_illicit_income_usd_as_published, reported_illicit_income_usd_as_published, "
                        "corrected, legal_figure_id, after_figure_id, total_figure_id FROM deficit")
    assert row[0] == SEED_ID
    assert row[1:3] == (8_250_000_000.0, 1_970_000_000.0)
    assert row[3] == pytest.approx(6_280_000_000.0, abs=1)
    assert row[4] == 6_290_000_000.0
    assert row[5:7] == (82_500_000_000.0, 19_700_000_000.0)
    assert row[7] == pytest.approx(62_800_000_000.0, abs=1)
    assert row[8] == 6_300_000_000.0
    assert row[9:] == (True, "legal-trade-deficit", "deficit-after-illicit-income", "total-illicit-income")


def test_published_arms_are_uncorrected(built) -> None:
    _, path = built
    for item, quantity, published, corrected, basis in rows(
            path, "SELECT item, quantity, quantity_as_published, corrected, correction_basis FROM arms"):
        assert quantity == published, item
        assert corrected is False and basis is None, item


def test_published_figures_carry_the_citation_and_the_reasoning(built) -> None:
    _, path = built
    figures = {r[0]: r[1:] for r in rows(
        path, "SELECT figure_id, correction_basis, cited_publisher, cited_title, cited_date, cited_url, "
              "correction_reasoning, best_amount_usd, amount_usd FROM figures")}
    assert figures["cyber-income"][:5] == ("cited", CITED_PUBLISHER, CITED_TITLE, D(2024, 9, 3), CITED_URL)
    assert figures["cyber-income"][5] is None
    legal = figures["legal-trade-deficit"]
    assert legal[0] == "inferred"
    assert legal[1:5] == (None, None, None, None)
    assert "8.25 - 1.97 = 6.28" in legal[5]
    assert legal[6:] == (8_250_000_000.0, 82_500_000_000.0)


def test_published_validation_results_show_both_bases(built) -> None:
    _, path = built
    results = {(r[0], r[1]): r[2:] for r in rows(
        path, f"SELECT check_name, value_basis, passed, severity, message FROM validation_results "
              f"WHERE report_id = '{SEED_ID}'")}
    for check in ("channels_within_total", "no_channel_exceeds_total", "deficit_identity"):
        assert results[(check, "as_published")][:2] == (False, "warn"), check
        assert results[(check, "best_estimate")][:2] == (True, "warn"), check
    assert "channels sum to 52.5e9, 8.3x the stated total 6.3e9" in results[("channels_within_total", "as_published")][2]
    assert "6.28e9" in results[("deficit_identity", "best_estimate")][2]
    assert results[("corrections_documented", "as_published")][:2] == (True, "error")


def test_reconciliation_asset_checks_warn_on_as_published_and_pass_on_best(built) -> None:
    result, _ = built
    evaluations = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
    for check in ("channels_within_total", "no_channel_exceeds_total", "deficit_identity"):
        published = evaluations[f"{check}_as_published"]
        assert published.passed is False, check
        assert published.severity == dg.AssetCheckSeverity.WARN, check
        best = evaluations[f"{check}_best_estimate"]
        assert best.passed is True, check
        assert check not in evaluations  # one Dagster check per basis, not a third unsuffixed one
    assert evaluations["corrections_documented"].passed is True


def test_a_quote_not_in_the_source_fails_the_build_and_keeps_the_published_file(published_seed, raw_dir: Path, seed_dir: Path,
                                                                                 warehouse_path: Path) -> None:
    before = warehouse_path.read_bytes()
    _edit(seed_dir / FIGURES_FILE, "which has generated an estimated $21.5 billion.",
          "which generated an estimated $21.5 billion.")

    result = build(raw_dir, warehouse_path)

    assert result.success is False
    message = failure_message(result)
    assert f"{FOLDER}/{FIGURES_FILE}" in message
    assert "figure 'coal-smuggling-income'" in message and "field 'quote'" in message
    assert warehouse_path.read_bytes() == before
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "published_warehouse" not in materialized
