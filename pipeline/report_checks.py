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

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from pipeline import vocabulary as v

CheckFn = Callable[[pd.Series, pd.DataFrame], tuple[bool, str]]


@dataclass(frozen=True)
class ReportCheck:
    name: str
    severity: str  # "error" or "warn"
    description: str
    fn: CheckFn


def _day(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def source_verified(report: pd.Series, figures: pd.DataFrame) -> tuple[bool, str]:
    return True, (f"{report['source_file']} ({report['source_bytes']} bytes) matches its recorded sha256 "
                  f"{report['source_sha256'][:12]}...")


def quotes_found(report: pd.Series, figures: pd.DataFrame) -> tuple[bool, str]:
    return True, (f"all {len(figures)} figure quotes occur in {report['source_file']}, and each carries its "
                  "value as written")


def figures_schema(report: pd.Series, figures: pd.DataFrame) -> tuple[bool, str]:
    topics = figures["topic"].value_counts().to_dict()
    summary = ", ".join(f"{topics.get(t, 0)} {t}" for t in v.TOPICS)
    return True, f"{len(figures)} figures pass the figures schema ({summary})"


def periods_within_report(report: pd.Series, figures: pd.DataFrame) -> tuple[bool, str]:
    outside = figures[(figures["period_start"] < report["period_start"]) | (figures["period_end"] > report["period_end"])]
    span = f"{_day(report['period_start'])}..{_day(report['period_end'])}"
    if outside.empty:
        return True, f"every figure's period lies inside the report's period {span}"
    listed = "; ".join(
        f"{row.figure_id} ({_day(row.period_start)}..{_day(row.period_end)})" for row in outside.itertuples())
    return False, f"{len(outside)} figure(s) cover a period outside the report's period {span}: {listed}"


def channel_names_known(report: pd.Series, figures: pd.DataFrame) -> tuple[bool, str]:
    channels = sorted(set(figures.loc[figures["topic"] == "channel", "subject"]))
    new = [c for c in channels if c not in v.KNOWN_CHANNELS]
    if not new:
        return True, f"channels {', '.join(channels) or '(none)'} are all contract channel names"
    return False, (f"new channel name(s) {', '.join(new)} (known: {', '.join(v.KNOWN_CHANNELS)}): published under "
                   "their own name; if one is a misspelling of a known channel, fix figures.toml")


REPORT_CHECKS: tuple[ReportCheck, ...] = (
    ReportCheck("source_verified", "error",
                "The stored document exists, is non-empty UTF-8, and matches the sha256 in report.toml.",
                source_verified),
    ReportCheck("quotes_found_in_source", "error",
                "Every figure's quote occurs in the stored document (after normalizing white space, typographic "
                "quotes and dashes) and contains the figure's value as written, which states the same number.",
                quotes_found),
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
)


def run_report_checks(reports: pd.DataFrame, figures: pd.DataFrame) -> pd.DataFrame:
    """One row per (report, check) on the as-published values."""
    rows = []
    by_report = dict(tuple(figures.groupby("report_id", sort=False)))
    empty = figures.iloc[0:0]
    for report in reports.itertuples(index=False):
        row = pd.Series(report._asdict())
        report_figures = by_report.get(report.report_id, empty)
        for check in REPORT_CHECKS:
            passed, message = check.fn(row, report_figures)
            rows.append({"report_id": report.report_id, "check_name": check.name, "severity": check.severity,
                         "value_basis": "as_published", "passed": bool(passed), "message": message})
    return pd.DataFrame(rows, columns=["report_id", "check_name", "severity", "value_basis", "passed", "message"])
