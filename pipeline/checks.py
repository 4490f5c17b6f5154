"""Asset checks, so that `dagster dev` shows every check with its history.

- `<table>_matches_schema` (blocking, one per warehouse table): the staging table re-read from
  DuckDB passes its pandera model. A failure stops `published_warehouse`, so the last good file
  stays published (write, audit, publish).
- one check per entry of `pipeline.report_checks.REPORT_CHECKS`, on `validation_results`: passes
  when that check passed for every report; a warn check that fails is published, not blocking.
- `contract_satisfied` and `opens_in_duckdb_cli` on `published_warehouse`: the file analysts open
  has every contract name and is readable by the DuckDB CLI that analysts use.
"""


import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb

from pipeline import assets
from pipeline.report_checks import REPORT_CHECKS, ReportCheck
from pipeline.schemas import TABLE_SCHEMAS
from pipeline.validation import table_problems
from pipeline.warehouse import Warehouse

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

_TABLE_ASSETS = {a.key.to_user_string(): a for a in assets.TABLE_ASSETS}


def schema_check_name(table: str) -> str:
    return f"{table}_matches_schema"


def _problems_md(problems: list) -> dg.MetadataValue:
    return dg.MetadataValue.md("\n".join(f"- {p}" for p in problems[:200]) or "none")


def _schema_check(table: str) -> dg.AssetChecksDefinition:
    model = TABLE_SCHEMAS[table]

    @dg.asset_check(
        asset=_TABLE_ASSETS[table],
        name=schema_check_name(table),
        blocking=True,
        description=f"The staging `{table}` table, read back from DuckDB, passes the pandera model "
                    f"{model.__name__} (lazily: every failing row and column is listed). Blocks publishing.",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.read_staging() as con:
            frame = con.execute(f'SELECT * FROM "{table}"').df()
        problems = table_problems(table, frame, model)
        return dg.AssetCheckResult(
            passed=not problems,
            metadata={"rows": len(frame), "failures": len(problems), "details": _problems_md(problems)},
        )

    return _check


def report_check_name(check: ReportCheck, basis: str) -> str:
    """One Dagster check per value basis for reconciliation checks, so the UI shows both histories."""
    return check.name if len(check.bases) == 1 else f"{check.name}_{basis}"


def _report_check(check: ReportCheck, basis: str) -> dg.AssetChecksDefinition:
    severity = dg.AssetCheckSeverity.ERROR if check.severity == "error" else dg.AssetCheckSeverity.WARN
    on = "" if len(check.bases) == 1 else f" Runs on the {basis.replace('_', ' ')} values."

    @dg.asset_check(asset=assets.validation_results, name=report_check_name(check, basis),
                    description=check.description + on)
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.read_staging() as con:
            rows = con.execute(
                "SELECT report_id, passed, message FROM validation_results "
                "WHERE check_name = ? AND value_basis = ? ORDER BY report_id", [check.name, basis]).fetchall()
        failed = [r for r in rows if not r[1]]
        return dg.AssetCheckResult(
            passed=not failed,
            severity=severity,
            metadata={
                "value_basis": basis,
                "reports_checked": len(rows),
                "failed": len(failed),
                "messages": dg.MetadataValue.md(
                    "\n".join(f"- **{r[0]}**: {r[2]}" for r in failed) or "every report passed"),
            },
        )

    return _check


CONTRACT_SATISFIED = "contract_satisfied"
OPENS_IN_DUCKDB_CLI = "opens_in_duckdb_cli"


@dg.asset_check(asset=assets.published_warehouse, name=CONTRACT_SATISFIED,
                description="The published file has every table, view and column the warehouse contract names.")
def contract_satisfied(warehouse: Warehouse) -> dg.AssetCheckResult:
    con = duckdb.connect(str(warehouse.published_path), read_only=True)
    try:
        have: dict[str, set[str]] = {}
        for table, column in con.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'").fetchall():
            have.setdefault(table, set()).add(column)
    finally:
        con.close()
    missing = [f"{t}.{c}" for t, cols in CONTRACT.items() for c in cols if c not in have.get(t, set())]
    return dg.AssetCheckResult(passed=not missing, metadata={"missing": ", ".join(missing) or "none"})


def duckdb_cli() -> str | None:
    """The DuckDB CLI of this environment (PyPI duckdb-cli), else one on PATH."""
    beside = Path(sys.executable).parent / "duckdb"
    return str(beside) if beside.exists() else shutil.which("duckdb")


@dg.asset_check(asset=assets.published_warehouse, name=OPENS_IN_DUCKDB_CLI,
                description="The DuckDB command line (PyPI duckdb-cli, the 1.5 line) opens the published file "
                            "read-only and reads every contract table: the storage version is one analysts can read.")
def opens_in_duckdb_cli(warehouse: Warehouse) -> dg.AssetCheckResult:
    cli = duckdb_cli()
    if cli is None:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"error": "no duckdb CLI in this environment"})
    query = "; ".join(f"SELECT '{t}', count(*) FROM {t}" for t in CONTRACT)
    proc = subprocess.run([cli, "-readonly", "-csv", "-noheader", str(warehouse.published_path), "-c", query],
                          capture_output=True, text=True, timeout=60)
    version = subprocess.run([cli, "-version"], capture_output=True, text=True, timeout=60).stdout.strip()
    return dg.AssetCheckResult(
        passed=proc.returncode == 0,
        metadata={"cli_version": version, "output": proc.stdout.strip() or proc.stderr.strip()},
    )


ASSET_CHECKS = [
    *[_schema_check(table) for table in TABLE_SCHEMAS],
    *[_report_check(check, basis) for check in REPORT_CHECKS for basis in check.bases],
    contract_satisfied,
    opens_in_duckdb_cli,
]
