"""Checks across reports: rows of `validation_results` that depend on more than one report.

The per-report checks (pipeline.report_checks) see one report at a time, so the report cache keeps their
rows and an incremental refresh recomputes them only for the reports that changed. These checks compare
reports with each other, so their rows are recomputed from the whole warehouse at every refresh, after
the tables and views are built, in SQL views they read (`source_comparisons`, `reports`):

- `sources_agree` (warn, both value bases): on each report, its estimates against every other series'
  estimate of the same channel and measure for a comparable period (the `source_comparisons` view):
  fails when two sources are more than SOURCES_AGREE_FACTOR apart, naming the channel, the periods,
  both report ids and both values;
- `distinct_documents` (warn): no other report folder stores the same document (the same sha256): the same
  report added twice under two ids would count as two sources that agree.
"""

from __future__ import annotations

from collections import defaultdict

from pipeline import vocabulary as v
from pipeline.report_checks import AS_PUBLISHED, BEST_ESTIMATE, BOTH, ReportCheck, usd

SOURCES_AGREE = "sources_agree"
DISTINCT_DOCUMENTS = "distinct_documents"
# Two estimates of the same thing further apart than this are a finding (source_comparisons.sql says
# the same number: a test keeps them equal). Reports round and hedge ("nearly", "about"), and one
# source's figure 20% above another's is ordinary; 1.5x is not.
SOURCES_AGREE_FACTOR = 1.5


def _not_run(*_args) -> tuple[bool, str]:  # pragma: no cover - these rows come from write_rows
    raise NotImplementedError("cross-report checks are computed from the whole warehouse by write_rows")


CROSS_REPORT_CHECKS: tuple[ReportCheck, ...] = (
    ReportCheck(SOURCES_AGREE, "warn",
                f"Each report's estimates agree, within a factor of {SOURCES_AGREE_FACTOR:g}, with every other series' "
                "estimate of the same channel (or total) and measure for a comparable period (the same period, or "
                "periods overlapping by at least half, compared per year); bounds are respected. See the "
                "source_comparisons view.",
                _not_run, BOTH),
    ReportCheck(DISTINCT_DOCUMENTS, "warn",
                "No other report folder stores the same document (the same sha256): one document under two report "
                "ids would count as two sources that agree.",
                _not_run),
)
CROSS_REPORT_CHECK_NAMES = tuple(check.name for check in CROSS_REPORT_CHECKS)

_COMPARISONS = """
SELECT report_id, other_report_id, channel, measure, unit, basis, period_start, period_end, other_period_start,
       other_period_end, years, other_years, qualifier, other_qualifier,
       value, other_value, compared_value, other_compared_value, factor, agree,
       value_as_published, other_value_as_published, compared_value_as_published, other_compared_value_as_published,
       factor_as_published, agree_as_published
FROM source_comparisons
ORDER BY report_id, channel, measure, period_start, period_end, other_report_id, figure_id, other_figure_id
"""


def _amount(value: float, unit: str) -> str:
    if unit == "USD":
        return usd(value)
    if unit == "USD per year":
        return f"{usd(value)}/year"
    if unit == "percent":
        return f"{value:g}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _factor(factor: float) -> str:
    """The factor with enough digits to show which side of SOURCES_AGREE_FACTOR it lies on."""
    if factor == float("inf"):
        return "infinitely far"
    digits = 3
    while digits < 8 and (float(f"{factor:.{digits}g}") > SOURCES_AGREE_FACTOR) != (factor > SOURCES_AGREE_FACTOR):
        digits += 1
    return f"{factor:.{digits}g}x apart"


def _said(report_id: str, qualifier: str | None, value: float, compared: float, unit: str, years: float,
          basis: str) -> str:
    hedge = f"{qualifier} " if qualifier else ""
    if basis == "per_year_average":
        return (f"{report_id} says {hedge}{_amount(compared, unit)}/year ({_amount(value, unit)} over "
                f"{years:.3g} years)")
    return f"{report_id} says {hedge}{_amount(value, unit)}"


def _describe(row: dict, basis: str) -> str:
    suffix = "" if basis == BEST_ESTIMATE else "_as_published"
    value, other = row["value" + suffix], row["other_value" + suffix]
    compared, other_compared = row["compared_value" + suffix], row["other_compared_value" + suffix]
    span = f"{row['period_start']:%Y-%m-%d}..{row['period_end']:%Y-%m-%d}"
    other_span = f"{row['other_period_start']:%Y-%m-%d}..{row['other_period_end']:%Y-%m-%d}"
    periods = span if span == other_span else f"{span} vs {other_span}"
    measure = "" if row["measure"] == v.INCOME else f" {row['measure'].replace('_', ' ')}"
    per_year = " per year" if row["basis"] == "per_year_average" else ""
    factor = row["factor" + suffix]
    return (f"{row['channel']}{measure}{per_year} {periods}: "
            f"{_said(row['report_id'], row['qualifier'], value, compared, row['unit'], row['years'], row['basis'])}, "
            f"{_said(row['other_report_id'], row['other_qualifier'], other, other_compared, row['unit'], row['other_years'], row['basis'])} "  # noqa: E501
            f"({'not comparable' if factor is None else _factor(factor)})")


def _sources_agree(report_id: str, comparisons: list[dict], basis: str) -> tuple[bool, str]:
    agree = "agree" if basis == BEST_ESTIMATE else "agree_as_published"
    apart = [row for row in comparisons if row[agree] is False]
    if apart:
        listed = "; ".join(_describe(row, basis) for row in apart)
        return False, (f"{len(apart)} of {len(comparisons)} comparison(s) with other sources differ by more than "
                       f"{SOURCES_AGREE_FACTOR:g}x: {listed}")
    listed = "; ".join(_describe(row, basis) for row in comparisons)
    return True, f"{len(comparisons)} comparison(s) with other sources, all within {SOURCES_AGREE_FACTOR:g}x: {listed}"


def rows(con) -> list[tuple]:
    """The cross-report rows of validation_results (report_id, check_name, severity, value_basis, passed,
    message), computed from the tables and views in `con`."""
    names = [column[0] for column in con.execute(_COMPARISONS).description]
    by_report: dict[str, list[dict]] = defaultdict(list)
    for values in con.execute(_COMPARISONS).fetchall():
        row = dict(zip(names, values, strict=True))
        by_report[row["report_id"]].append(row)
    result = []
    check = CROSS_REPORT_CHECKS[0]
    for report_id, comparisons in by_report.items():
        for basis in check.bases:
            passed, message = _sources_agree(report_id, comparisons, basis)
            result.append((report_id, SOURCES_AGREE, check.severity, basis, passed, message))
    documents: dict[str, list[str]] = defaultdict(list)
    for report_id, sha in con.execute("SELECT report_id, source_sha256 FROM reports ORDER BY report_id").fetchall():
        documents[sha].append(report_id)
    for sha, report_ids in documents.items():
        for report_id in report_ids:
            others = [other for other in report_ids if other != report_id]
            if others:
                message = (f"report folders {', '.join(repr(r) for r in [report_id, *others])} store the same document "
                           f"(sha256 {sha[:12]}...): one report under two ids counts as two sources that agree; keep one "
                           "folder, or store each folder's own document")
            else:
                message = f"no other report folder stores this document (sha256 {sha[:12]}...)"
            result.append((report_id, DISTINCT_DOCUMENTS, CROSS_REPORT_CHECKS[1].severity, AS_PUBLISHED, not others,
                           message))
    return result


def write_rows(con) -> None:
    """Replace every cross-report row of validation_results in `con` with what the warehouse says now."""
    import pandas as pd

    from pipeline.frames import registered

    columns = ["report_id", "check_name", "severity", "value_basis", "passed", "message"]
    computed = pd.DataFrame(rows(con), columns=columns).astype({"passed": bool})
    placeholders = ", ".join("?" for _ in CROSS_REPORT_CHECK_NAMES)
    con.execute("BEGIN")
    con.execute(f"DELETE FROM validation_results WHERE check_name IN ({placeholders})",
                list(CROSS_REPORT_CHECK_NAMES)).fetchall()
    with registered(con, "_cross_report_rows", computed):
        con.execute(f"INSERT INTO validation_results ({', '.join(columns)}) "
                    f"SELECT {', '.join(columns)} FROM _cross_report_rows").fetchall()
    con.execute("COMMIT")
