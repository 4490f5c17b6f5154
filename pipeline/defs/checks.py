"""Asset checks, so that `dagster dev` shows every check with its history.

- `<table>_matches_schema` (blocking, one per warehouse table): the staging table re-read from
  DuckDB passes its pandera model. A failure stops `published_warehouse`, so the last good file
  stays published (write, audit, publish).
- one check per entry of `pipeline.validate.report_checks.REPORT_CHECKS`, on `validation_results`: passes
  when that check failed on no report; a warn check that fails is published, not blocking. A Dagster
  check result is passed or failed, nothing else, and "not compared" is not a failure (a red check for
  a report that states no total would be a false alarm), so a check that compared nothing on any
  report is passed=True with metadata status=not_compared and a description that says "not compared";
  the metadata counts the reports passed, failed and not compared.
- `contract_satisfied` and `opens_in_duckdb_cli` on `published_warehouse`: the file analysts open
  has every contract name and is readable by the DuckDB CLI that analysts use.

The checks are check specs of the assets they check and are evaluated in the same step (the table
checks where the tables are built, the file checks where it is published): as separate steps, the
25 checks cost about 0.15 s of Dagster bookkeeping each, more than the checks themselves.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg

from pipeline.build.cross_checks import CROSS_REPORT_CHECKS
from pipeline.build.queries import PUBLISHED
from pipeline.validate.column_schemas import model_name
from pipeline.validate.report_checks import FAILED, NOT_COMPARED, PASSED, REPORT_CHECKS, ReportCheck

# The names ../shared/warehouse-contract.md fixes; never rename or drop one.
CONTRACT: dict[str, tuple[str, ...]] = {
    "reports": ("report_id", "title", "publisher", "published_on", "series", "period_start", "period_end",
                "source_sha256"),
    "figures": ("report_id", "figure_id", "topic", "subject", "value_as_published", "unit_as_published",
                "qualifier", "amount_usd", "quantity", "period_start", "period_end", "quote"),
    "channels": ("report_id", "channel", "income_usd", "period_start", "period_end"),
    "arms": ("report_id", "item", "item_type", "quantity", "period_start", "period_end"),
    "deficit": ("report_id", "period_start", "period_end", "legal_trade_deficit_usd", "deficit_after_illicit_usd",
                "implied_illicit_income_usd", "reported_illicit_income_usd"),
    "validation_results": ("report_id", "check_name", "severity", "passed", "message"),
}


def schema_check_name(table: str) -> str:
    return f"{table}_matches_schema"


def report_check_name(check: ReportCheck, basis: str) -> str:
    """One Dagster check per value basis for reconciliation checks, so the UI shows both histories."""
    return check.name if len(check.bases) == 1 else f"{check.name}_{basis}"


def _problems_md(problems: list) -> dg.MetadataValue:
    return dg.MetadataValue.md("\n".join(f"- {p}" for p in problems[:200]) or "none")


# A table that can hold millions of rows (source_comparisons grows with the square of the number of series that
# estimate one channel) is not read into pandas: its columns are checked against its pandera model, and the
# rules of what it computes are checked on every row a build wrote, in one SQL pass (what it copies are `estimates` rows,
# which pandera validates). Each rule: (SQL condition every row meets, what it says).
SQL_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "source_comparisons": (
        ("series <> other_series", "the two estimates come from different series"),
        ("channel IS NOT NULL AND measure IS NOT NULL AND unit IS NOT NULL", "channel, measure and unit are given"),
        ("published_on > other_published_on OR (published_on = other_published_on AND report_id > other_report_id)",
         "the row is on the later report"),
        ("basis IN ('same_period', 'per_year_average', 'overlapping_periods')", "basis is one of the three"),
        ("overlap_share > 0 AND overlap_share <= 1", "the periods overlap"),
        ("basis <> 'same_period' OR (period_start = other_period_start AND period_end = other_period_end)",
         "same_period pairs have the same period"),
        ("basis = 'same_period' OR overlap_share >= 0.5", "other pairs overlap by at least half"),
        ("factor >= 1 AND factor_as_published >= 1", "factor and factor_as_published are at least 1"),
        ("agree = (factor <= 1.5) AND agree_as_published = (factor_as_published <= 1.5)", "agree means factor <= 1.5"),
    ),
}


def _schema_check_description(table: str) -> str:
    if table in SQL_RULES:
        return (f"The staging `{table}` table has the columns of the pandera model {model_name(table)}, and every row "
                "this refresh wrote meets the rules of what it computes, checked in one SQL pass (it can hold millions "
                "of pairs; the estimates it pairs are validated by pandera; rows kept from the published file were "
                "checked when they were written, under the same code). Blocks publishing.")
    return (f"The staging `{table}` table, read back from DuckDB, passes the pandera model "
            f"{model_name(table)} (lazily: every failing row and column is listed). A refresh that rebuilt "
            "only the changed reports' rows validates those rows; the rows it kept passed when they "
            "were published, under the same code. Uniqueness is checked on the whole table every "
            "time. Blocks publishing.")


SCHEMA_CHECK_SPECS = [
    dg.AssetCheckSpec(name=schema_check_name(table), asset=table, blocking=True,
                      description=_schema_check_description(table))
    for table in PUBLISHED
]

REPORT_CHECK_SPECS = [
    dg.AssetCheckSpec(
        name=report_check_name(check, basis), asset="validation_results", blocking=check.severity == "error",
        description=check.description + ("" if len(check.bases) == 1
                                         else f" Runs on the {basis.replace('_', ' ')} values."))
    for check in (*REPORT_CHECKS, *CROSS_REPORT_CHECKS) for basis in check.bases
]


def _sql_rule_problems(con, table: str, model, where: str | None = None) -> tuple[list, int, int]:
    """The rules of SQL_RULES[table] broken by its rows (those `where` selects, or all), the rows checked,
    and the rows in the table."""
    from pipeline.core.errors import Problem

    expected = list(model.to_schema().columns)
    found = [row[0] for row in con.execute(f'DESCRIBE "{table}"').fetchall()]
    problems = []
    if found != expected:
        problems.append(Problem(f"table {table}", "", field="columns", found=", ".join(found),
                                expected=", ".join(expected)))
        return problems, 0, 0
    rules = SQL_RULES[table]
    total = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    counts = con.execute("SELECT count(*), " + ", ".join(f"count(*) FILTER (WHERE NOT coalesce(({rule}), false))"
                                                         for rule, _ in rules) + f' FROM "{table}"'
                         + (f" WHERE {where}" if where else "")).fetchall()[0]
    for (rule, says), broken in zip(rules, counts[1:], strict=True):
        if broken:
            problems.append(Problem(f"table {table}", "", field=rule, found=f"{broken} row(s) that break it",
                                    expected=says))
    return problems, counts[0], total


def schema_check_results(con, models: dict, rows_to_validate=lambda table: None,
                         raw_name: str | None = None) -> list[dg.AssetCheckResult]:
    """One result per table of `models` (table -> pandera model), from the staging connection `con`;
    pandera sees the rows `rows_to_validate(table)` selects (None: all; pipeline.build.tables.Built). With
    raw_name, a failing row that comes from a figure is located at that figure in raw/."""
    from pipeline.validate.validation import validate_table

    results = []
    for table, model in models.items():
        if table in SQL_RULES:
            problems, checked, rows = _sql_rule_problems(con, table, model, rows_to_validate(table))
            results.append(dg.AssetCheckResult(
                asset_key=table, check_name=schema_check_name(table), passed=not problems,
                metadata={"rows": rows, "rows_checked_in_sql": checked, "rows_unchanged_since_checked": rows - checked,
                          "rules": len(SQL_RULES[table]), "failures": len(problems), "details": _problems_md(problems)}))
            continue
        problems, validated = validate_table(con, table, model, rows_to_validate(table), raw_name)
        rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        results.append(dg.AssetCheckResult(
            asset_key=table, check_name=schema_check_name(table), passed=not problems,
            metadata={"rows": rows, "rows_validated_by_pandera": validated,
                      "rows_unchanged_since_validated": rows - validated,
                      "failures": len(problems), "details": _problems_md(problems)}))
    return results


def report_check_results(con) -> list[dg.AssetCheckResult]:
    """One result per report check and value basis, from validation_results in `con`."""
    summary = {(name, basis): rest for name, basis, *rest in con.execute(
        "SELECT check_name, value_basis, count(*), count(*) FILTER (status = 'failed'), "
        "count(*) FILTER (status = 'not_compared'), "
        "list('- **' || report_id || '**: ' || message ORDER BY report_id) FILTER (status = 'failed')[:200] "
        "FROM validation_results GROUP BY ALL").fetchall()}
    results = []
    for check in (*REPORT_CHECKS, *CROSS_REPORT_CHECKS):
        severity = dg.AssetCheckSeverity.ERROR if check.severity == "error" else dg.AssetCheckSeverity.WARN
        for basis in check.bases:
            checked, failed, not_compared, messages = summary.get((check.name, basis), (0, 0, 0, None))
            passed = checked - failed - not_compared
            outcome = FAILED if failed else PASSED if passed else NOT_COMPARED
            results.append(dg.AssetCheckResult(
                asset_key="validation_results", check_name=report_check_name(check, basis), passed=not failed,
                severity=severity,
                description=(f"not compared: nothing to compare on any of {checked} report(s)" if outcome == NOT_COMPARED
                             else f"{failed} failed, {passed} passed, {not_compared} not compared of {checked} report(s)"),
                metadata={
                    "value_basis": basis,
                    "status": outcome,
                    "reports_checked": checked,
                    "passed": passed,
                    "failed": failed,
                    "not_compared": not_compared,
                    "messages": dg.MetadataValue.md("\n".join(messages or []) or "no report failed"),
                }))
    return results


CONTRACT_SATISFIED = "contract_satisfied"
OPENS_IN_DUCKDB_CLI = "opens_in_duckdb_cli"

PUBLISH_CHECK_SPECS = [
    dg.AssetCheckSpec(name=CONTRACT_SATISFIED, asset="published_warehouse",
                      description="The published file has every table, view and column the warehouse contract names."),
    dg.AssetCheckSpec(name=OPENS_IN_DUCKDB_CLI, asset="published_warehouse",
                      description="The DuckDB command line (PyPI duckdb-cli, the 1.5 line) opens the published file "
                                  "read-only and reads every table and view in it: the storage version is one "
                                  "analysts can read."),
]


def contract_satisfied(path: Path) -> dg.AssetCheckResult:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        have: dict[str, set[str]] = {}
        for table, column in con.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'").fetchall():
            have.setdefault(table, set()).add(column)
    finally:
        con.close()
    missing = [f"{t}.{c}" for t, cols in CONTRACT.items() for c in cols if c not in have.get(t, set())]
    return dg.AssetCheckResult(asset_key="published_warehouse", check_name=CONTRACT_SATISFIED, passed=not missing,
                               metadata={"missing": ", ".join(missing) or "none"})


def duckdb_cli() -> str | None:
    """The DuckDB CLI of this environment (PyPI duckdb-cli), else one on PATH."""
    beside = Path(sys.executable).parent / "duckdb"
    return str(beside) if beside.exists() else shutil.which("duckdb")


def opens_in_duckdb_cli(path: Path) -> dg.AssetCheckResult:
    cli = duckdb_cli()
    if cli is None:
        return dg.AssetCheckResult(asset_key="published_warehouse", check_name=OPENS_IN_DUCKDB_CLI, passed=False,
                                   severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"error": "no duckdb CLI in this environment"})
    import duckdb

    from pipeline.publish.catalog import relations

    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [relation.name for relation in relations(con)]  # every table and view the file holds
    finally:
        con.close()
    query = "SELECT version(); " + "; ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in names)
    proc = subprocess.run([cli, "-readonly", "-csv", "-noheader", str(path), "-c", query],
                          capture_output=True, text=True, timeout=60)
    lines = proc.stdout.strip().splitlines()
    return dg.AssetCheckResult(
        asset_key="published_warehouse", check_name=OPENS_IN_DUCKDB_CLI,
        passed=proc.returncode == 0,
        metadata={"cli_version": lines[0] if lines else "", "output": "\n".join(lines[1:]) or proc.stderr.strip()},
    )
