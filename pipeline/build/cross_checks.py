"""Checks across reports: rows of `validation_results` that depend on more than one report.

The per-report checks (pipeline.validate.report_checks) see one report at a time, so the report cache keeps their
rows and an incremental refresh recomputes them only for the reports that changed. These checks compare
reports with each other, so their rows are recomputed from the whole warehouse at every refresh, after
the tables and views are built, from the tables they read (`source_comparisons`, `reports`): after an
incremental build only for the reports whose comparisons may have changed (pipeline.build.tables):

- `sources_agree` (warn, both value bases): on each report, its estimates against every other series'
  estimate of the same channel and measure for a comparable period (the `source_comparisons` view):
  fails when two sources are more than SOURCES_AGREE_FACTOR apart, naming the channel, the periods,
  both report ids and both values;
- `distinct_documents` (warn): no other report folder stores the same document (the same sha256): the same
  report added twice under two ids would count as two sources that agree.
"""

from __future__ import annotations

from collections import defaultdict

from pipeline.build.queries import sql
from pipeline.core import vocabulary as v
from pipeline.validate.report_checks import AS_PUBLISHED, BEST_ESTIMATE, BOTH, ReportCheck, usd
from pipeline.validate.report_checks import status as _status

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

# What each report's comparisons say, in one pass over the view (pipeline/build/sql/source_agreement.sql): how
# many there are, how many are further apart than the factor, and the SHOWN furthest apart (or, when all
# agree, the SHOWN closest) to name in the message; every pair is in source_comparisons.
SHOWN = 3  # the query's max_by/min_by take 3: a test keeps them equal


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


def _describe(pair: dict, basis: str) -> str:
    suffix = "" if basis == BEST_ESTIMATE else "_as_published"
    value, other = pair["value" + suffix], pair["other_value" + suffix]
    compared, other_compared = pair["compared_value" + suffix], pair["other_compared_value" + suffix]
    span = f"{pair['period_start']:%Y-%m-%d}..{pair['period_end']:%Y-%m-%d}"
    other_span = f"{pair['other_period_start']:%Y-%m-%d}..{pair['other_period_end']:%Y-%m-%d}"
    periods = span if span == other_span else f"{span} vs {other_span}"
    measure = "" if pair["measure"] == v.INCOME else f" {pair['measure'].replace('_', ' ')}"
    per_year = " per year" if pair["basis"] == "per_year_average" else ""
    unit, kind = pair["unit"], pair["basis"]
    return (f"{pair['channel']}{measure}{per_year} {periods}: "
            f"{_said(pair['report_id'], pair['qualifier'], value, compared, unit, pair['years'], kind)}, "
            f"{_said(pair['other_report_id'], pair['other_qualifier'], other, other_compared, unit, pair['other_years'], kind)} "  # noqa: E501
            f"({_factor(pair['factor' + suffix])})")


def _sources_agree(summary: dict, basis: str) -> tuple[bool, str]:
    suffix = "" if basis == BEST_ESTIMATE else "_as_published"
    compared, apart = summary["compared"], summary["apart" + suffix]
    if apart:
        listed = "; ".join(_describe(pair, basis) for pair in summary["furthest" + suffix])
        more = f"; and {apart - SHOWN} more" if apart > SHOWN else ""
        return False, (f"{apart} of {compared} comparison(s) with other sources differ by more than "
                       f"{SOURCES_AGREE_FACTOR:g}x{', the furthest apart' if apart > 1 else ''}: {listed}{more} "
                       "(every pair is in source_comparisons)")
    listed = "; ".join(_describe(pair, basis) for pair in summary["closest" + suffix])
    more = f"; and {compared - SHOWN} more in source_comparisons" if compared > SHOWN else ""
    return True, (f"{compared} comparison(s) with other sources, all within {SOURCES_AGREE_FACTOR:g}x: "
                  f"{listed}{more}")


_NOTHING_TO_COMPARE = ("not compared: no other series published before it states the same channel (or total) and "
                       "measure for a comparable period")


def rows(con, reports: str | None = None) -> list[tuple]:
    """The cross-report rows of validation_results (report_id, check_name, severity, value_basis, passed,
    status, message), computed from the tables in `con`: `sources_agree` for the reports the query
    `reports` selects (every report when None), `distinct_documents` for every report. A report that is
    the later report of no comparison is not compared (its estimates may be compared on later reports:
    those rows say so)."""
    result = []
    check = CROSS_REPORT_CHECKS[0]
    chosen = f"report_id IN ({reports})" if reports else "true"
    cursor = con.execute(sql("source_agreement").replace("/* reports */ true", chosen))
    names = [column[0] for column in cursor.description]
    compared = {}
    for values in cursor.fetchall():
        summary = dict(zip(names, values, strict=True))
        compared[summary["report_id"]] = summary
    documents: dict[str, list[str]] = defaultdict(list)
    for report_id, sha, agreement in con.execute(f"SELECT report_id, source_sha256, {chosen} FROM reports "
                                                 "ORDER BY report_id").fetchall():
        documents[sha].append(report_id)
        for basis in check.bases if agreement else ():
            summary = compared.get(report_id)
            passed, message = (None, _NOTHING_TO_COMPARE) if summary is None else _sources_agree(summary, basis)
            result.append((report_id, SOURCES_AGREE, check.severity, basis, passed, _status(passed), message))
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
                           _status(not others), message))
    return result


def write_rows(con, reports: str | None = None) -> None:
    """Replace the cross-report rows of validation_results in `con` with what the warehouse says now:
    `sources_agree` of the reports the query `reports` selects (all when None: pipeline.build.tables gives the
    reports whose comparisons may have changed), `distinct_documents` of every report."""
    import pandas as pd

    from pipeline.core.frames import registered

    columns = ["report_id", "check_name", "severity", "value_basis", "passed", "status", "message"]
    computed = pd.DataFrame(rows(con, reports), columns=columns).astype({"passed": "boolean"})
    con.execute("BEGIN")
    con.execute(f"DELETE FROM validation_results WHERE check_name = '{DISTINCT_DOCUMENTS}' OR (check_name = "
                f"'{SOURCES_AGREE}'" + (f" AND report_id IN ({reports}))" if reports else ")")).fetchall()
    with registered(con, "_cross_report_rows", computed):
        con.execute("INSERT INTO validation_results (report_id, check_name, severity, value_basis, passed, status, message) "
                    "SELECT report_id, check_name, severity, value_basis, passed, status, message "
                    "FROM _cross_report_rows").fetchall()
    con.execute("COMMIT")
