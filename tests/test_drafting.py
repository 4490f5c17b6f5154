"""The figure drafter on real documents, through the real loader and schemas: what it drafts loads as
written (quotes and value_text untouched), the seed's figures come out right, and a document the
loader would refuse is refused by the drafter with the loader's own words."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import rtoml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.core.errors import RawReportError
from pipeline.draft.drafting import draft, draft_file, render, sentences, word_number
from pipeline.read.raw_reports import load_report
from pipeline.validate.validation import load_and_check

from .conftest import PROJECT_ROOT, RAW, SEED_ID

HERE = Path(__file__).resolve().parent / "drafting"
ARTICLES = sorted([*(HERE / "articles").glob("*.txt"), *(HERE / "held_out").glob("*.txt")])
SEED_SOURCE = RAW / SEED_ID / "000_7135ed9bf0dced39.txt"


def _expected(article: Path) -> dict:
    return rtoml.loads(article.with_name(article.stem + ".expected.toml").read_text(encoding="utf-8"))


def _drafted(article: Path, published_on: date | None) -> str:
    text, count, problems = draft_file(article, published_on)
    assert problems == [] and count > 0
    return text


def _round_trip_params():
    params = []
    for article in [*ARTICLES, SEED_SOURCE]:
        published = _expected(article)["published_on"] if article != SEED_SOURCE else date(2024, 9, 3)
        params.append(pytest.param(article, published, id=article.stem))
    return params


def _report_folder(raw: Path, document: Path, published_on: date, figures_toml: str) -> Path:
    """A report folder as a person leaves it after filling in report.toml: the document byte for byte
    and the drafted figures.toml unchanged."""
    import hashlib

    folder = raw / ("drafted-" + re.sub(r"[^a-z0-9]+", "-", document.stem.lower()).strip("-"))
    folder.mkdir(parents=True)
    shutil.copyfile(document, folder / document.name)
    sha = hashlib.sha256(document.read_bytes()).hexdigest()
    (folder / "report.toml").write_text(
        f'title = "A test article"\npublisher = "Test desk"\npublished_on = {published_on.isoformat()}\n'
        f'series = "test-series"\nperiod_start = 2017-01-01\nperiod_end = {published_on.isoformat()}\n'
        f'source_file = "{document.name}"\nsource_sha256 = "{sha}"\n', encoding="utf-8")
    (folder / "figures.toml").write_text(figures_toml, encoding="utf-8")
    return folder


@pytest.mark.parametrize(("article", "published_on"), _round_trip_params())
def test_every_draft_loads_through_the_real_loader_unedited(tmp_path, article, published_on):
    folder = _report_folder(tmp_path / "raw", article, published_on, _drafted(article, published_on))
    loaded = load_and_check(tmp_path / "raw", [folder])
    assert len(loaded.figures) == len(rtoml.loads((folder / "figures.toml").read_text())["figure"])


def test_every_seed_figure_is_drafted_with_its_value_unit_value_text_and_quote():
    drafted = rtoml.loads(_drafted(SEED_SOURCE, date(2024, 9, 3)))["figure"]
    seed = rtoml.loads((RAW / SEED_ID / "figures.toml").read_text(encoding="utf-8"))["figure"]
    got = {(f["subject"], float(f["value"]), f["unit"], f["value_text"]) for f in drafted}
    want = {(f["subject"], float(f["value"]), f["unit"], f["value_text"]) for f in seed}
    assert got == want
    by_subject = {f["subject"]: f for f in drafted}
    for figure in seed:
        mine = by_subject[figure["subject"]]
        assert figure.get("qualifier") == mine.get("qualifier")
        assert (figure.get("period_start"), figure.get("period_end")) == (mine.get("period_start"), mine.get("period_end"))
        assert figure["topic"] == mine["topic"] and figure.get("item_type") == mine.get("item_type")


def test_amounts_counts_shares_and_periods_as_prose(tmp_path):
    text = ("Hackers stole half a billion dollars in 2021. They took $1.5bn from one exchange between July 2023 and "
            "February 2024, and $900m since July last year. Over the past three years, three million shells were "
            "sent, about 61 percent of the total. A further 2.5 trillion won (about US$1.9 billion) went missing.\n")
    result = draft(text, date(2024, 9, 3))
    figures = {f.value_text: f for f in result.figures}
    assert {k: (str(f.value), f.unit) for k, f in figures.items()} == {
        "half a billion dollars": ("0.5", "USD billion"), "$1.5bn": ("1.5", "USD billion"),
        "$900m": ("900", "USD million"), "three million": ("3000000", "count"), "61 percent": ("61", "percent"),
        "US$1.9 billion": ("1.9", "USD billion")}
    periods = {k: (f.period.start, f.period.end) if f.period else None for k, f in figures.items()}
    assert periods["half a billion dollars"] == (date(2021, 1, 1), date(2021, 12, 31))
    assert periods["$1.5bn"] == (date(2023, 7, 1), date(2024, 2, 29))
    assert periods["$900m"] == (date(2023, 7, 1), date(2024, 9, 3))
    assert periods["three million"] == (date(2021, 1, 1), date(2023, 12, 31))
    assert figures["61 percent"].qualifier == "about" and figures["three million"].guess.topic == "arms"
    # another currency is never converted: a comment asks for the USD figure
    assert [c for c, _ in result.other_currencies] == ["2.5 trillion won"]
    assert "ANOTHER CURRENCY" in render(result, "x.txt", "0" * 64, date(2024, 9, 3))


def test_relative_periods_wait_for_the_reports_date():
    result = draft("Since July last year, hackers stole $900m.\n", None)
    assert result.figures[0].period.start is None and "--published-on" in result.figures[0].period_why
    rendered = render(result, "x.txt", "0" * 64, None)
    assert "period_start =" not in rendered  # never a guessed date that no one can check


def test_may_the_verb_is_not_a_month_and_years_are_not_counts():
    result = draft("The figures may change. In 2023 the regime may have earned $2 billion; 2,000 km of rail "
                   "and Resolution 2397 (2017) are not figures, nor are KN-23 missiles or 152mm guns.\n", None)
    assert [(f.value_text, f.unit) for f in result.figures] == [("$2 billion", "USD billion")]
    assert (result.figures[0].period.start, result.figures[0].period.end) == (date(2023, 1, 1), date(2023, 12, 31))


def test_sentences_do_not_break_at_abbreviations_or_decimals():
    text = "The U.S. said on Jan. 5 that $1.5 billion was stolen. Another $2.5 million went missing.\n\nNew paragraph."
    assert [s.text for s in sentences(text)] == [
        "The U.S. said on Jan. 5 that $1.5 billion was stolen.", "Another $2.5 million went missing.", "New paragraph."]


def test_word_numbers():
    assert [word_number(w) for w in ("nine", "twenty-three", "a dozen", "million")] == [9, 23, 12, None]


# --- bad input: the loader's refusals, word for word ------------------------------------------------------

def _bad_documents(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "docs"
    folder.mkdir()
    cases = {
        "empty": b"",
        "binary": bytes(range(256)) * 8,
        "windows-1252": "North Korea earned \u201c$1 billion\u201d.".encode("cp1252"),
        "too-large": None,
    }
    paths = {}
    for name, data in cases.items():
        path = folder / f"{name}.txt"
        if data is None:
            with open(path, "wb") as handle:  # 20 MB and one byte, sparse: refused unread
                handle.truncate(20_000_001)
        else:
            path.write_bytes(data)
        paths[name] = path
    return paths


def test_bad_documents_are_refused_as_the_loader_refuses_them(tmp_path):
    for name, path in _bad_documents(tmp_path).items():
        text, count, problems = draft_file(path)
        assert text is None and count == 0 and problems, name
        # the same document stored in a report folder: the loader's message for it
        folder = tmp_path / "raw" / f"bad-{name}"
        folder.mkdir(parents=True)
        shutil.copyfile(path, folder / path.name)
        (folder / "report.toml").write_text(f'source_file = "{path.name}"\n')
        _, _, loader_problems = load_report(folder, tmp_path / "raw")
        about_document = [p for p in loader_problems if p.file == path.name]
        assert [(p.found, p.expected) for p in problems] == [(p.found, p.expected) for p in about_document], name


def test_the_command_prints_a_draft_and_refuses_bad_input(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "pipeline", "draft-figures", str(SEED_SOURCE), "--published-on",
                         "2024-09-03"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert len(rtoml.loads(ok.stdout)["figure"]) == 11
    bad = _bad_documents(tmp_path)["windows-1252"]
    refused = subprocess.run([sys.executable, "-m", "pipeline", "draft-figures", str(bad)], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("not UTF-8") == 1, refused.stderr


def test_a_draft_with_a_wrong_quote_would_be_refused(tmp_path):
    """The round trip is a real proof: the same draft with one quote edited fails the loader."""
    text = _drafted(SEED_SOURCE, date(2024, 9, 3)).replace("through cyber activities", "through cyber operations", 1)
    folder = _report_folder(tmp_path / "raw", SEED_SOURCE, date(2024, 9, 3), text)
    with pytest.raises(RawReportError, match="quote"):
        load_and_check(tmp_path / "raw", [folder])


def test_the_drafter_meets_its_targets_on_the_test_articles_and_the_seed():
    """What `make eval-drafter` reports, held to issue 15's targets (a regression here fails a test)."""
    from tests.drafting import eval_drafter

    _, articles, seed = eval_drafter.table(eval_drafter.cases())
    assert seed.matched == seed.expected == 11
    assert articles.matched / articles.expected >= 0.95 and articles.matched / articles.drafted >= 0.85
    assert articles.counts_as_money + seed.counts_as_money == 0


# --- any text: a draft that parses, whose quotes and values are the document's -------------------------

_WORDS = ["$", "US$", "USD ", "1.5", "900", "13,500", "bn", "m", " billion", " million", " dollars", " won", "€2",
          " nine", " three million", " shells", " workers", " attacks", " 61%", " percent", " in ", " 2023", " May",
          " July", " from 2017 to 2023", " since July last year", " about", " more than", " hack", " coal", " deficit",
          ". ", ".\n\n", "\n", "\u201c", "\u201d", "\u2014", "\\", '"', "\x7f", "\u200b", "\t", " U.S.", " e.g."]


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(_WORDS), st.text(max_size=4)), max_size=60), st.booleans())
def test_any_text_drafts_to_toml_whose_quotes_and_values_occur_in_it(pieces, dated):
    from pipeline.core.text import normalize

    text = "".join(pieces)
    published = date(2024, 9, 3) if dated else None
    result = draft(text, published)
    parsed = rtoml.loads(render(result, "doc.txt", "0" * 64, published))
    document = normalize(text)
    for figure in parsed.get("figure", []):
        assert normalize(figure["quote"]) in document
        assert normalize(figure["value_text"]) in normalize(figure["quote"])
        assert figure["value"] >= 0
