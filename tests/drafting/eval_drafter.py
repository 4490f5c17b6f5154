"""How well the drafter reads figures: recall and precision on the test articles and on the seed.

    make eval-drafter                      # prints the table
    .venv/bin/python tests/drafting/eval_drafter.py --write docs/drafter.md

Each article in tests/drafting/articles/ has beside it `<name>.expected.toml`: its publication date and
every figure it states (kind money | count | share, value, unit, value_text as written, topic, subject,
and the period when the text gives one). The seed's expected figures are its own figures.toml.

A drafted figure matches an expected one when value, unit and value_text are the same and its quote
occurs verbatim in the document (after the loader's normalization) and contains its value_text. Each
expected figure is matched once. Periods and subjects are scored on the matched figures: a period is
right when its start and end are the expected ones (or both are absent), a subject when it is the
expected subject. Deterministic and offline; timed on a 50 KB document made of the articles.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import rtoml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pipeline.core.text import normalize  # noqa: E402
from pipeline.draft.drafting import draft, render  # noqa: E402

ARTICLES = Path(__file__).resolve().parent / "articles"
# Articles written after the drafter's rules were set, and measured before any rule was changed for them.
HELD_OUT = Path(__file__).resolve().parent / "held_out"
SEED = ROOT / "raw" / "inss-illicit-income-2024-09-03"
MONEY_AND_COUNT = ("money", "count")


@dataclass
class Case:
    name: str
    group: str  # articles | held_out | seed
    text: str
    published_on: date | None
    expected: list[dict]


@dataclass
class Score:
    expected: int = 0  # money and count figures expected
    drafted: int = 0  # money and count figures drafted
    matched: int = 0
    shares_expected: int = 0
    shares_matched: int = 0
    counts_as_money: int = 0
    subject_right: int = 0
    subject_guessed: int = 0  # matched drafted figures with a subject that is not a placeholder
    period_expected: int = 0  # matched figures whose expected period is stated
    period_right: int = 0  # ... and drafted with that period
    period_drafted: int = 0  # matched figures drafted with a period
    period_drafted_right: int = 0
    misses: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)  # subjects and periods

    def add(self, other: Score) -> None:
        for name in ("expected", "drafted", "matched", "shares_expected", "shares_matched", "counts_as_money",
                     "subject_right", "subject_guessed", "period_expected", "period_right", "period_drafted",
                     "period_drafted_right"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _kind(unit: str) -> str:
    return "count" if unit == "count" else "share" if unit == "percent" else "money"


def cases() -> list[Case]:
    found = []
    for group, folder in (("articles", ARTICLES), ("held_out", HELD_OUT)):
        for path in sorted(folder.glob("*.txt")):
            expected = rtoml.loads(path.with_name(path.stem + ".expected.toml").read_text(encoding="utf-8"))
            found.append(Case(path.stem, group, path.read_text(encoding="utf-8"), expected.get("published_on"),
                              expected["figure"]))
    report = rtoml.loads((SEED / "report.toml").read_text(encoding="utf-8"))
    figures = rtoml.loads((SEED / "figures.toml").read_text(encoding="utf-8"))["figure"]
    seed_expected = [{**f, "kind": _kind(f["unit"])} for f in figures]
    found.append(Case("seed (" + SEED.name + ")", "seed", (SEED / report["source_file"]).read_text(encoding="utf-8"),
                      report["published_on"], seed_expected))
    return found


def score(case: Case) -> Score:
    drafted = rtoml.loads(render(draft(case.text, case.published_on), case.name, "0" * 64, case.published_on))
    drafted = drafted.get("figure", [])
    document = normalize(case.text)
    result = Score()
    unmatched = list(drafted)
    for want in case.expected:
        kind = want["kind"]
        if kind in MONEY_AND_COUNT:
            result.expected += 1
        else:
            result.shares_expected += 1
        hit = next((d for d in unmatched if float(d["value"]) == float(want["value"]) and d["unit"] == want["unit"]
                    and d["value_text"] == want["value_text"] and normalize(d["quote"]) in document
                    and normalize(d["value_text"]) in normalize(d["quote"])), None)
        if kind == "count" and any(d["value_text"] == want["value_text"] and _kind(d["unit"]) == "money" for d in drafted):
            result.counts_as_money += 1
        if hit is None:
            result.misses.append(f"{want['value_text']} ({want['unit']})")
            continue
        unmatched.remove(hit)
        if kind in MONEY_AND_COUNT:
            result.matched += 1
        else:
            result.shares_matched += 1
        if "TODO" not in hit["subject"]:
            result.subject_guessed += 1
        result.subject_right += hit["subject"] == want["subject"]
        if hit["subject"] != want["subject"]:
            result.wrong.append(f"{want['value_text']}: subject {hit['subject']}, expected {want['subject']}")
        wanted_period = (want.get("period_start"), want.get("period_end"))
        drafted_period = (hit.get("period_start"), hit.get("period_end"))
        if wanted_period != (None, None):
            result.period_expected += 1
            result.period_right += drafted_period == wanted_period
        if drafted_period != wanted_period:
            result.wrong.append(f"{want['value_text']}: period {_period(drafted_period)}, expected {_period(wanted_period)}")
        if drafted_period != (None, None):
            result.period_drafted += 1
            result.period_drafted_right += drafted_period == wanted_period
    for d in unmatched:
        if _kind(d["unit"]) in MONEY_AND_COUNT:
            result.extras.append(f"{d['value_text']} ({d['unit']})")
    result.drafted = sum(_kind(d["unit"]) in MONEY_AND_COUNT for d in drafted)
    return result


def _period(period: tuple) -> str:
    return "the report's" if period == (None, None) else f"{period[0]} to {period[1]}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def seconds_for_50_kb(all_cases: list[Case]) -> tuple[int, float]:
    text = "\n\n".join(c.text for c in all_cases)
    while len(text.encode()) < 50_000:
        text += "\n\n" + text
    text = text.encode()[:50_000].decode("utf-8", errors="ignore")
    started = time.perf_counter()
    draft(text, date(2025, 1, 1))
    return len(text.encode()), time.perf_counter() - started


def table(all_cases: list[Case]) -> tuple[str, Score, Score]:
    rows = ["| document | money+count expected | drafted | matched | recall | precision | shares matched "
            "| subjects right | periods right (recall / precision) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    totals = {"articles": Score(), "held_out": Score(), "seed": Score()}
    details = []
    for case in all_cases:
        s = score(case)
        totals[case.group].add(s)
        label = case.name + (" (held out)" if case.group == "held_out" else "")
        rows.append(f"| {label} | {s.expected} | {s.drafted} | {s.matched} | {_pct(s.matched, s.expected)} | "
                    f"{_pct(s.matched, s.drafted)} | {s.shares_matched}/{s.shares_expected} | "
                    f"{s.subject_right}/{s.matched + s.shares_matched} | "
                    f"{_pct(s.period_right, s.period_expected)} / {_pct(s.period_drafted_right, s.period_drafted)} |")
        if s.misses or s.extras or s.wrong:
            details.append(f"- {case.name}: " + "; ".join(
                ([f"missed {', '.join(s.misses)}"] if s.misses else []) + ([f"extra {', '.join(s.extras)}"] if s.extras else [])
                + s.wrong))
    articles, seed = Score(), totals["seed"]
    articles.add(totals["articles"])
    articles.add(totals["held_out"])
    for label, s in (("**held-out articles**", totals["held_out"]), ("**all test articles**", articles),
                     ("**seed**", seed)):
        rows.append(f"| {label} | {s.expected} | {s.drafted} | {s.matched} | **{_pct(s.matched, s.expected)}** | "
                    f"**{_pct(s.matched, s.drafted)}** | {s.shares_matched}/{s.shares_expected} | "
                    f"{_pct(s.subject_right, s.matched + s.shares_matched)} (precision "
                    f"{_pct(s.subject_right, s.subject_guessed)}) | "
                    f"{_pct(s.period_right, s.period_expected)} / {_pct(s.period_drafted_right, s.period_drafted)} |")
    return "\n".join(rows) + ("\n\nWhere the drafter is wrong:\n\n" + "\n".join(details) if details else ""), articles, seed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", help="also write the table into this Markdown file, between its markers")
    args = parser.parse_args(argv)
    all_cases = cases()
    text, articles, seed = table(all_cases)
    size, seconds = seconds_for_50_kb(all_cases)
    text += (f"\n\nCounts drafted as money: {articles.counts_as_money + seed.counts_as_money}. "
             f"Drafting a {size:,}-byte document took {seconds:.3f} s.")
    print(text)
    if args.write:
        path = Path(args.write)
        start, end = "<!-- eval-drafter:start -->", "<!-- eval-drafter:end -->"
        page = path.read_text(encoding="utf-8")
        head, rest = page.split(start, 1)
        path.write_text(head + start + "\n" + text + "\n" + end + rest.split(end, 1)[1], encoding="utf-8")
    met = (articles.expected and articles.matched / articles.expected >= 0.95
           and articles.matched / max(articles.drafted, 1) >= 0.85 and seed.matched == seed.expected
           and articles.counts_as_money + seed.counts_as_money == 0)
    print("targets met" if met else "TARGETS NOT MET (recall >= 95%, precision >= 85%, every seed figure, no count as money)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
