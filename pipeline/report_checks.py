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

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from pipeline import vocabulary as v

CheckFn = Callable[[pd.Series, pd.DataFrame, str], tuple[bool, str]]

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


def _day(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def source_verified(report: pd.Series, figures: pd.DataFrame, basis: str = AS_PUBLISHED) -> tuple[bool, str]:
    return True, (f"{report['source_file']} ({report['source_bytes']} bytes) matches its recorded sha256 "
                  f"{report['source_sha256'][:12]}...")


def quotes_found(report: pd.Series, figures: pd.DataFrame, basis: str = AS_PUBLISHED) -> tuple[bool, str]:
    return True, (f"all {len(figures)} figure quotes occur in {report['source_file']}, and each carries its "
                  "value as written")


def corrections_documented(report: pd.Series, figures: pd.DataFrame, basis: str = AS_PUBLISHED) -> tuple[bool, str]:
    corrected = figures[figures["corrected"].astype(bool)]
    if corrected.empty:
        return True, "no corrections: every best estimate is the published value"
    cited = int((corrected["correction_basis"] == "cited").sum())
    evidenced = int(corrected["correction_evidence_quote"].notna().sum())
    return True, (f"{len(corrected)} correction(s), {cited} cited (publisher, title, date and url given) and "
                  f"{len(corrected) - cited} inferred (reasoning given); {evidenced} with an evidence passage "
                  f"verified in its stored file: {', '.join(corrected['figure_id'])}")


def figures_schema(report: pd.Series, figures: pd.DataFrame, basis: str = AS_PUBLISHED) -> tuple[bool, str]:
    topics = figures["topic"].value_counts().to_dict()
    summary = ", ".join(f"{topics.get(t, 0)} {t}" for t in v.TOPICS)
    return True, f"{len(figures)} figures pass the figures schema ({summary})"


def periods_within_report(report: pd.Series, figures: pd.DataFrame, basis: str = AS_PUBLISHED) -> tuple[bool, str]:
    outside = figures[(figures["period_start"] < report["period_start"]) | (figures["period_end"] > report["period_end"])]
    span = f"{_day(report['period_start'])}..{_day(report['period_end'])}"
    if outside.empty:
        return True, f"every figure's period lies inside the report's period {span}"
    listed = "; ".join(
        f"{row.figure_id} ({_day(row.period_start)}..{_day(row.period_end)})" for row in outside.itertuples())
    return False, f"{len(outside)} figure(s) cover a period outside the report's period {span}: {listed}"


def channel_names_known(report: pd.Series, figures: pd.DataFrame, basis: str = AS_PUBLISHED) -> tuple[bool, str]:
    channels = sorted(set(figures.loc[figures["topic"] == "channel", "subject"]))
    new = [c for c in channels if c not in v.KNOWN_CHANNELS]
    if not new:
        return True, f"channels {', '.join(channels) or '(none)'} are all contract channel names"
    return False, (f"new channel name(s) {', '.join(new)} (known: {', '.join(v.KNOWN_CHANNELS)}): published under "
                   "their own name; if one is a misspelling of a known channel, fix figures.toml")


def usd(amount: float) -> str:
    """Whole dollars in the short form the messages use: 52.5e9, 540e6, 12345."""
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


def _amount(figures: pd.DataFrame, basis: str) -> pd.Series:
    return figures["best_amount_usd" if basis == BEST_ESTIMATE else "amount_usd"]


def _inside(figures: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    return (figures["period_start"] >= start) & (figures["period_end"] <= end)


def _totals(figures: pd.DataFrame) -> pd.DataFrame:
    return figures[figures["topic"] == "total"]


def channels_within_total(report: pd.Series, figures: pd.DataFrame, basis: str) -> tuple[bool, str]:
    totals = _totals(figures)
    if totals.empty:
        return True, "not applicable: the report states no total"
    channels = figures[figures["topic"] == "channel"]
    amounts = _amount(figures, basis)
    passed, parts = True, []
    for total in totals.itertuples():
        stated = amounts[total.Index]
        inside = channels[_inside(channels, total.period_start, total.period_end)]
        outside = channels.drop(inside.index)
        span = f"{_day(total.period_start)}..{_day(total.period_end)}"
        summed = float(amounts[inside.index].sum())
        listed = ", ".join(f"{c.subject} {usd(amounts[c.Index])}" for c in inside.itertuples())
        excluded = (f"; not summed, outside that period: {', '.join(outside['subject'])}" if len(outside) else "")
        if inside.empty:
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


def no_channel_exceeds_total(report: pd.Series, figures: pd.DataFrame, basis: str) -> tuple[bool, str]:
    totals = _totals(figures)
    if totals.empty:
        return True, "not applicable: the report states no total"
    channels = figures[figures["topic"] == "channel"]
    amounts = _amount(figures, basis)
    over = []
    for total in totals.itertuples():
        stated = amounts[total.Index]
        inside = channels[_inside(channels, total.period_start, total.period_end)]
        for channel in inside.itertuples():
            if amounts[channel.Index] > stated * (1 + TOLERANCE):
                hint = diagnose(amounts[channel.Index], stated)
                over.append(f"{channel.subject} {usd(amounts[channel.Index])} exceeds the stated total "
                            f"{usd(stated)} ({_times(amounts[channel.Index], stated)})" + (f", {hint}" if hint else ""))
    if over:
        return False, f"{len(over)} channel(s) exceed the total on their own: " + "; ".join(over)
    return True, "no channel inside the total's period exceeds the total"


def deficit_identity(report: pd.Series, figures: pd.DataFrame, basis: str) -> tuple[bool, str]:
    amounts = _amount(figures, basis)
    trade = figures[figures["topic"] == "trade"]
    legal = trade[trade["subject"] == v.LEGAL_TRADE_DEFICIT]
    after = trade[trade["subject"] == v.DEFICIT_AFTER_ILLICIT]
    totals = _totals(figures)
    passed, parts = True, []
    for row in legal.itertuples():
        pair = after[(after["period_start"] == row.period_start) & (after["period_end"] == row.period_end)]
        total = totals[(totals["period_start"] == row.period_start) & (totals["period_end"] == row.period_end)]
        span = f"{_day(row.period_start)}..{_day(row.period_end)}"
        if pair.empty:
            parts.append(f"no deficit after illicit income for {span}")
            continue
        implied = float(amounts[row.Index] - amounts[pair.index[0]])
        formula = f"{usd(amounts[row.Index])} - {usd(amounts[pair.index[0]])}"
        if total.empty:
            parts.append(f"{usd(implied)} implied ({formula}); no total stated for {span} to compare")
            continue
        stated = float(amounts[total.index[0]])
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
                "quotes and dashes) and contains the figure's value as written, which states the same number.",
                quotes_found),
    ReportCheck("corrections_documented", "error",
                "Every correction names an existing figure and its basis: cited corrections give publisher, title, "
                "date and url, inferred ones their reasoning; an evidence passage, where given, occurs in its "
                "stored file.",
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


def run_report_checks(reports: pd.DataFrame, figures: pd.DataFrame) -> pd.DataFrame:
    """One row per report, check and value basis."""
    rows = []
    by_report = dict(tuple(figures.groupby("report_id", sort=False)))
    empty = figures.iloc[0:0]
    for report in reports.itertuples(index=False):
        row = pd.Series(report._asdict())
        report_figures = by_report.get(report.report_id, empty)
        for check in REPORT_CHECKS:
            for basis in check.bases:
                passed, message = check.fn(row, report_figures, basis)
                rows.append({"report_id": report.report_id, "check_name": check.name, "severity": check.severity,
                             "value_basis": basis, "passed": bool(passed), "message": message})
    return pd.DataFrame(rows, columns=["report_id", "check_name", "severity", "value_basis", "passed", "message"])
