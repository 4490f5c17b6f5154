"""Asset checks, so that `dagster dev` shows every check with its history.

- `<table>_matches_schema` (blocking, one per warehouse table): the staging table re-read from
  DuckDB passes its pandera model. A failure stops `published_warehouse`, so the last good file
  stays published (write, audit, publish).
- one check per entry of `pipeline.report_checks.REPORT_CHECKS`, on `validation_results`: passes
  when that check passed for every report; a warn check that fails is published, not blocking.
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

from pipeline.column_schemas import model_name
from pipeline.report_checks import REPORT_CHECKS, ReportCheck
from pipeline.warehouse import PUBLISHED

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


SCHEMA_CHECK_SPECS = [
    dg.AssetCheckSpec(
        name=schema_check_name(table), asset=table, blocking=True,
        description=f"The staging `{table}` table, read back from DuckDB, passes the pandera model "
                    f"{model_name(table)} (lazily: every failing row and column is listed). A refresh that rebuilt "
                    "only the changed reports' rows validates those rows; the rows it kept passed when they "
                    "were published, under the same code. Uniqueness is checked on the whole table every "
                    "time. Blocks publishing.")
    for table in PUBLISHED
]

REPORT_CHECK_SPECS = [
    dg.AssetCheckSpec(
        name=report_check_name(check, basis), asset="validation_results", blocking=check.severity == "error",
        description=check.description + ("" if len(check.bases) == 1
                                         else f" Runs on the {basis.replace('_', ' ')} values."))
    for check in REPORT_CHECKS for basis in check.bases
]


def schema_check_results(con, models: dict, rows_to_validate=lambda table: None) -> list[dg.AssetCheckResult]:
    """One result per table of `models` (table -> pandera model), from the staging connection `con`;
    pandera sees the rows `rows_to_validate(table)` selects (None: all; pipeline.tables.Built)."""
    from pipeline.validation import validate_table

    results = []
    for table, model in models.items():
        problems, validated = validate_table(con, table, model, rows_to_validate(table))
        rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        results.append(dg.AssetCheckResult(
            asset_key=table, check_name=schema_check_name(table), passed=not problems,
            metadata={"rows": rows, "rows_validated_by_pandera": validated,
                      "rows_unchanged_since_validated": rows - validated,
                      "failures": len(problems), "details": _problems_md(problems)}))
    return results


def report_check_results(con) -> list[dg.AssetCheckResult]:
    """One result per report check and value basis, from validation_results in `con`."""
    summary = {(name, basis): (checked, failed, messages) for name, basis, checked, failed, messages in con.execute(
        "SELECT check_name, value_basis, count(*), count(*) FILTER (NOT passed), "
        "list('- **' || report_id || '**: ' || message ORDER BY report_id) FILTER (NOT passed)[:200] "
        "FROM validation_results GROUP BY ALL").fetchall()}
    results = []
    for check in REPORT_CHECKS:
        severity = dg.AssetCheckSeverity.ERROR if check.severity == "error" else dg.AssetCheckSeverity.WARN
        for basis in check.bases:
            checked, failed, messages = summary.get((check.name, basis), (0, 0, None))
            results.append(dg.AssetCheckResult(
                asset_key="validation_results", check_name=report_check_name(check, basis), passed=not failed,
                severity=severity,
                metadata={
                    "value_basis": basis,
                    "reports_checked": checked,
                    "failed": failed,
                    "messages": dg.MetadataValue.md("\n".join(messages or []) or "every report passed"),
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

    from pipeline.catalog import relations

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
