"""Checks that run on every report and become rows of `validation_results`.

Each check is a pure function of one report's row and its figures, returning (passed, message).
Error-severity checks here record what the loader and schemas already enforced (a report that
failed one never reaches the warehouse, so a published row says "passed" and what was verified).
Warn-severity checks flag what a reader must know but that does not stop publication: the data
is published as the report states it, with the warning beside it.

Each entry of REPORT_CHECKS also becomes a Dagster asset check (pipeline.checks), so `dagster dev`
shows its history.
"""

from __future__ import annotations

import functools
import itertools
import math
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING

from pipeline import vocabulary as v

if TYPE_CHECKING:
    import pandas as pd

Record = dict
CheckFn = Callable[[Record, list[Record], str], tuple[bool, str]]

AS_PUBLISHED = "as_published"
BEST_ESTIMATE = "best_estimate"
BOTH = (AS_PUBLISHED, BEST_ESTIMATE)
# Reported figures are rounded and hedged ("nearly", "about"); sums and identities that agree within
# 2% of the stated total agree. 8.25e9 - 1.97e9 = 6.28e9 against 6.29e9 is 0.16% off.
TOLERANCE = 0.02
# A ratio within 5% of a power of ten (9.97x, 0.101x) reads as a decimal or unit slip.
POWER_OF_TEN_SLACK = 0.05


@dataclass(frozen=True)
class ReportCheck:
    name: str
    severity: str  # "error" or "warn"
    description: str
    fn: CheckFn
    bases: tuple[str, ...] = (AS_PUBLISHED,)  # value bases it runs on; value-free checks run once


def _records(fn: Callable) -> Callable:
    """Checks work on plain records (a dict per figure): thousands of reports cost milliseconds, not
    the minutes per-report pandas filtering took. A DataFrame and a Series are accepted too."""

    @functools.wraps(fn)
    def wrapper(report, figures, basis: str = AS_PUBLISHED) -> tuple[bool, str]:
        import pandas as pd

        if isinstance(report, pd.Series):
            report = report.to_dict()
        if isinstance(figures, pd.DataFrame):
            figures = figures.to_dict("records")
        return fn(report, figures, basis)

    wrapper.on_records = fn  # run_report_checks passes records already and calls this directly
    return wrapper


def _missing(value: object) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    # pandas is imported by whoever built the records (this module imports it only when it runs, so
    # that loading the Dagster definitions does not): without pandas loaded, nothing is pandas.NA
    pd = sys.modules.get("pandas")
    return pd is not None and value is pd.NA


def _day(ts) -> str:
    # A naive Timestamp prints the same as every Timestamp equal to it, so its day is looked up; anything
    # else (NaT, an aware Timestamp, a string) is formatted each time.
    import pandas as pd

    if type(ts) is pd.Timestamp and ts.tzinfo is None:
        return _naive_day(ts)
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


@functools.lru_cache(maxsize=4096)
def _naive_day(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d")


@_records
def source_verified(report: Record, figures: list[Record], basis: str = AS_PUBLISHED) -> tuple[bool, str]:
    return True, (f"{report['source_file']} ({report['source_bytes']} bytes) matches its recorded sha256 "
                  f"{report['source_sha256'][:12]}...")


@_records
def quotes_found(report: Record, figures: list[Record], basis: str = AS_PUBLISHED) -> tuple[bool, str]:
    return True, (f"all {len(figures)} figure quotes occur in {report['source_file']}, and each carries its "
                  "value as written")


@_records
def corrections_documented(report: Record, figures: list[Record], basis: str = AS_PUBLISHED) -> tuple[bool, str]:
    corrected = [f for f in figures if f["corrected"]]
    if not corrected:
        return True, "no corrections: every best estimate is the published value"
    cited = sum(1 for f in corrected if f["correction_basis"] == "cited")
    evidenced = sum(1 for f in corrected if not _missing(f["correction_evidence_quote"]))
    return True, (f"{len(corrected)} correction(s), {cited} cited (publisher, title, date and url given) and "
                  f"{len(corrected) - cited} inferred (reasoning given); {evidenced} with an evidence passage "
                  f"verified in its stored file: {', '.join(f['figure_id'] for f in corrected)}")


@_records
def figures_schema(report: Record, figures: list[Record], basis: str = AS_PUBLISHED) -> tuple[bool, str]:
    topics = Counter(map(itemgetter("topic"), figures))
    summary = ", ".join(f"{topics.get(t, 0)} {t}" for t in v.TOPICS)
    return True, f"{len(figures)} figures pass the figures schema ({summary})"


@_records
def periods_within_report(report: Record, figures: list[Record], basis: str = AS_PUBLISHED) -> tuple[bool, str]:
    outside = [f for f in figures
               if f["period_start"] < report["period_start"] or f["period_end"] > report["period_end"]]
    span = f"{_day(report['period_start'])}..{_day(report['period_end'])}"
    if not outside:
        return True, f"every figure's period lies inside the report's period {span}"
    listed = "; ".join(f"{f['figure_id']} ({_day(f['period_start'])}..{_day(f['period_end'])})" for f in outside)
    return False, f"{len(outside)} figure(s) cover a period outside the report's period {span}: {listed}"


@_records
def channel_names_known(report: Record, figures: list[Record], basis: str = AS_PUBLISHED) -> tuple[bool, str]:
    channels = sorted({f["subject"] for f in figures if f["topic"] == "channel"})
    new = [c for c in channels if c not in v.KNOWN_CHANNELS]
    if not new:
        return True, f"channels {', '.join(channels) or '(none)'} are all contract channel names"
    return False, (f"new channel name(s) {', '.join(new)} (known: {', '.join(v.KNOWN_CHANNELS)}): published under "
                   "their own name; if one is a misspelling of a known channel, fix figures.toml")


def usd(amount: float) -> str:
    """Whole dollars in the short form the messages use: 52.5e9, 540e6, 12345."""
    # Reports repeat the same amounts, so a float's text is looked up. Equal non-zero floats are the same
    # number; 0.0 and -0.0 are equal but print "0" and "-0", so zero (and any other type) is formatted each time.
    if type(amount) is float and amount:
        return _usd_float(amount)
    return _usd(amount)


@functools.lru_cache(maxsize=65536)
def _usd_float(amount: float) -> str:
    return _usd(amount)


def _usd(amount: float) -> str:
    for exponent in (12, 9, 6):
        scaled = float(f"{amount / 10 ** exponent:.4g}")  # round first, so 999.96e6 reads 1e9, not 1000e6
        if abs(scaled) >= 1:
            if abs(scaled) >= 1000 and exponent < 12:
                continue
            return f"{scaled:g}e{exponent}"
    return f"{amount:.0f}"


def _times(found: float, stated: float) -> str:
    """8.3x; 1.02x near one, where two digits would read "1x"."""
    if not stated:
        return "against a stated 0"
    ratio = found / stated
    return f"{ratio:.3g}x" if abs(ratio - 1) < 0.1 else f"{ratio:.2g}x"


def diagnose(found: float, stated: float) -> str:
    """Words for a ratio near a power of ten; "" when there is nothing to say."""
    if found <= 0 or stated <= 0:
        return ""
    ratio = found / stated
    exponent = round(math.log10(ratio))
    if exponent != 0 and abs(ratio / 10 ** exponent - 1) <= POWER_OF_TEN_SLACK:
        factor = f"{10 ** abs(exponent):g}"
        return f"off by a factor of {factor}, a decimal or unit slip is likely"
    return ""


def _is_income(figure: Record) -> bool:
    """Only income over a period adds up to a total: counts, shares, rates and single events never do."""
    return figure.get("measure", v.INCOME) == v.INCOME


def _amount_column(basis: str) -> str:
    return "best_amount_usd" if basis == BEST_ESTIMATE else "amount_usd"


def _amount(figure: Record, basis: str) -> float:
    return figure[_amount_column(basis)]


def _same_period(a: Record, b: Record) -> bool:
    return a["period_start"] == b["period_start"] and a["period_end"] == b["period_end"]


@_records
def channels_within_total(report: Record, figures: list[Record], basis: str) -> tuple[bool, str]:
    totals = [f for f in figures if f["topic"] == "total" and _is_income(f)]
    if not totals:
        return True, "not applicable: the report states no total"
    channels = [f for f in figures if f["topic"] == "channel" and _is_income(f)]
    column = _amount_column(basis)
    passed, parts = True, []
    for total in totals:
        stated = total[column]
        start, end = total["period_start"], total["period_end"]
        inside, outside = [], []
        for c in channels:
            (inside if c["period_start"] >= start and c["period_end"] <= end else outside).append(c)
        span = f"{_day(start)}..{_day(end)}"
        summed = float(sum(c[column] for c in inside))
        listed = ", ".join(f"{c['subject']} {usd(c[column])}" for c in inside)
        excluded = (f"; not summed, outside that period: {', '.join(c['subject'] for c in outside)}" if outside else "")
        if not inside:
            parts.append(f"no channel lies inside the total's period {span}")
        elif summed > stated * (1 + TOLERANCE):
            passed = False
            hint = diagnose(summed, stated)
            parts.append(f"channels sum to {usd(summed)}, {_times(summed, stated)} the stated total {usd(stated)} "
                         f"({span}; {listed}{excluded})" + (f": {hint}" if hint else ""))
        else:
            parts.append(f"channels sum to {usd(summed)}, within the stated total {usd(stated)} "
                         f"({span}; {listed}{excluded})")
    return passed, "; ".join(parts)


@_records
def no_channel_exceeds_total(report: Record, figures: list[Record], basis: str) -> tuple[bool, str]:
    totals = [f for f in figures if f["topic"] == "total" and _is_income(f)]
    if not totals:
        return True, "not applicable: the report states no total"
    channels = [f for f in figures if f["topic"] == "channel" and _is_income(f)]
    column = _amount_column(basis)
    over = []
    for total in totals:
        stated = total[column]
        start, end = total["period_start"], total["period_end"]
        for channel in channels:
            if not (channel["period_start"] >= start and channel["period_end"] <= end):
                continue
            amount = channel[column]
            if amount > stated * (1 + TOLERANCE):
                hint = diagnose(amount, stated)
                over.append(f"{channel['subject']} {usd(amount)} exceeds the stated total {usd(stated)} "
                            f"({_times(amount, stated)})" + (f", {hint}" if hint else ""))
    if over:
        return False, f"{len(over)} channel(s) exceed the total on their own: " + "; ".join(over)
    return True, "no channel inside the total's period exceeds the total"


@_records
def deficit_identity(report: Record, figures: list[Record], basis: str) -> tuple[bool, str]:
    legal, after, totals = [], [], []
    for f in figures:
        topic = f["topic"]
        if topic == "trade":
            subject = f["subject"]
            if subject == v.LEGAL_TRADE_DEFICIT:
                legal.append(f)
            elif subject == v.DEFICIT_AFTER_ILLICIT:
                after.append(f)
        elif topic == "total" and _is_income(f):
            totals.append(f)
    passed, parts = True, []
    for row in legal:
        pair = [f for f in after if _same_period(f, row)]
        total = [f for f in totals if _same_period(f, row)]
        span = f"{_day(row['period_start'])}..{_day(row['period_end'])}"
        if not pair:
            parts.append(f"no deficit after illicit income for {span}")
            continue
        implied = float(_amount(row, basis) - _amount(pair[0], basis))
        formula = f"{usd(_amount(row, basis))} - {usd(_amount(pair[0], basis))}"
        if not total:
            parts.append(f"{usd(implied)} implied ({formula}); no total stated for {span} to compare")
            continue
        stated = float(_amount(total[0], basis))
        if abs(implied - stated) > TOLERANCE * stated:
            passed = False
            hint = diagnose(implied, stated)
            parts.append(f"{usd(implied)} implied ({formula}) vs {usd(stated)} stated"
                         + (f": {hint}" if hint else f", {_times(implied, stated)}"))
        else:
            parts.append(f"{usd(implied)} implied ({formula}) agrees with {usd(stated)} stated "
                         f"(within {TOLERANCE:.0%})")
    if not parts:
        return True, "not applicable: the report states no legal-trade deficit"
    return passed, "; ".join(parts)


REPORT_CHECKS: tuple[ReportCheck, ...] = (
    ReportCheck("source_verified", "error",
                "The stored document exists, is non-empty UTF-8, and matches the sha256 in report.toml.",
                source_verified),
    ReportCheck("quotes_found_in_source", "error",
                "Every figure's quote occurs in the stored document (after normalizing white space, typographic "
                "quotes and dashes) and contains the figure's whole value expression as written (its number with its "
                "scale word), which states the figure's value in its unit.",
                quotes_found),
    ReportCheck("corrections_documented", "error",
                "Every correction names an existing figure and its basis: cited corrections give publisher, title, "
                "date and url, inferred ones their reasoning; an evidence file, where given, is UTF-8 and matches its "
                "recorded evidence_sha256, and the evidence passage occurs in it.",
                corrections_documented),
    ReportCheck("figures_schema", "error",
                "The report's figures pass the pandera figures schema (ids unique, known topics and units, "
                "money non-negative, counts whole, periods ordered).",
                figures_schema),
    ReportCheck("figure_periods_within_report", "warn",
                "Every figure's period lies inside the report's period; the rows that do not are named.",
                periods_within_report),
    ReportCheck("channel_names_known", "warn",
                "Every channel is one of the contract's channel names; a new name is published but flagged.",
                channel_names_known),
    ReportCheck("channels_within_total", "warn",
                f"The channels whose period lies inside the total's period add up to no more than the total "
                f"(tolerance {TOLERANCE:.0%}); a ratio near a power of ten is named as a likely slip.",
                channels_within_total, BOTH),
    ReportCheck("no_channel_exceeds_total", "warn",
                f"No single channel inside the total's period exceeds the total (tolerance {TOLERANCE:.0%}).",
                no_channel_exceeds_total, BOTH),
    ReportCheck("deficit_identity", "warn",
                f"Legal-trade deficit minus deficit after illicit income equals the stated illicit-income total "
                f"of the same period (tolerance {TOLERANCE:.0%}); a ratio near a power of ten is named.",
                deficit_identity, BOTH),
)

RECONCILIATION_CHECKS = tuple(c.name for c in REPORT_CHECKS if c.bases == BOTH)


# The figure columns the checks read (building dicts of all thirty columns cost more than the checks). A
# record leaves out report_id: it is the key the records are grouped by, the same as the report's.
_FIGURE_COLUMNS = ("figure_id", "topic", "subject", "amount_usd", "best_amount_usd", "period_start", "period_end",
                   "corrected", "correction_basis", "correction_evidence_quote", "measure")
_RESULT_COLUMNS = ["report_id", "check_name", "severity", "value_basis", "passed", "message"]


def _values(column: pd.Series) -> list:
    """column.tolist(); a datetime column's few distinct days become one Timestamp each, shared by
    every row that has it (building a Timestamp per row cost more than the checks)."""
    import pandas as pd

    if isinstance(column.dtype, pd.DatetimeTZDtype) or column.dtype.kind == "M":
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        distinct = [*uniques.tolist(), pd.NaT]  # code -1 (missing) picks the last
        return [distinct[code] for code in codes.tolist()]
    return column.tolist()


class _FigureRecords:
    """The figures as records, built one report at a time: the records of the report being checked are
    all that is alive, where 162k records at once kept Python's garbage collector busy for half the run."""

    def __init__(self, figures: pd.DataFrame) -> None:
        report_ids = figures["report_id"].tolist() if "report_id" in figures.columns or len(figures) else []
        positions: dict[str, list[int]] = {}  # report_id -> its figures' rows, in their order
        for row, report_id in enumerate(report_ids):
            group = positions.get(report_id)
            if group is None:
                positions[report_id] = [row]
            else:
                group.append(row)
        order = [row for group in positions.values() for row in group]
        self.spans: dict[str, tuple[int, int]] = {}
        start = 0
        for report_id, group in positions.items():
            self.spans[report_id] = (start, start + len(group))
            start += len(group)
        self.columns = tuple(c for c in _FIGURE_COLUMNS if c in figures.columns)
        values = [_values(figures[c]) for c in self.columns]
        if order != list(range(len(order))):  # one report's figures are not all together: bring them together
            values = [[column[row] for row in order] for column in values]
        self.values = values

    def of(self, report_id: str) -> list[Record]:
        span = self.spans.get(report_id)
        if span is None:
            return []
        start, end = span
        if not self.columns:
            return [{} for _ in range(start, end)]
        rows = zip(*(column[start:end] for column in self.values), strict=True)
        return list(map(dict, map(zip, itertools.repeat(self.columns), rows)))


def run_report_checks(reports: pd.DataFrame, figures: pd.DataFrame) -> pd.DataFrame:
    """One row per report, check and value basis."""
    import pandas as pd

    records = _FigureRecords(figures)
    # the records are built already, so each check's function on records is called without its wrapper
    runs = [(check.name, check.severity, basis, getattr(check.fn, "on_records", check.fn))
            for check in REPORT_CHECKS for basis in check.bases]
    report_ids, names, severities, bases, passes, messages = [], [], [], [], [], []
    for report in reports.to_dict("records"):
        report_id = report["report_id"]
        report_figures = records.of(report_id)
        for name, severity, basis, fn in runs:
            passed, message = fn(report, report_figures, basis)
            report_ids.append(report_id)
            names.append(name)
            severities.append(severity)
            bases.append(basis)
            passes.append(bool(passed))
            messages.append(message)
    if not report_ids:
        return pd.DataFrame([], columns=_RESULT_COLUMNS)
    return pd.DataFrame(dict(zip(_RESULT_COLUMNS, (report_ids, names, severities, bases, passes, messages), strict=True)))
