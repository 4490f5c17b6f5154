"""The assets, in lineage order:

    raw/  -> raw_reports -> validated_figures -> reports, figures -> channels, arms, deficit
                                              -> validation_results
          all six tables -> published_warehouse (audit, then one atomic swap)

Table assets build into the staging DuckDB file; only `published_warehouse` touches the file
analysts open, and only after every blocking check on every table passed.
"""


import dagster as dg
import pandas as pd

from pipeline.errors import PublishError, RawReportError
from pipeline.raw_reports import RawReports
from pipeline.report_checks import run_report_checks
from pipeline.schemas import (
    ArmsSchema,
    ChannelSchema,
    DeficitSchema,
    FigureSchema,
    LatestArmsSchema,
    LatestChannelSchema,
    LatestDeficitSchema,
    ReportChangeSchema,
    ReportSchema,
    ValidationResultSchema,
    column_schema,
)
from pipeline.validation import load_and_check, validate_raw
from pipeline.warehouse import PUBLISHED_STORAGE_VERSION, RawReportsDir, Warehouse, sql

OWNERS = ["team:data"]


def _failure(exc: RawReportError) -> dg.Failure:
    table = "| folder | file | where | field | found | expected |\n|---|---|---|---|---|---|\n" + "\n".join(
        f"| {p.folder} | {p.file} | {p.where} | {p.field} | {p.found} | {p.expected} |".replace("\n", " ")
        for p in exc.problems)
    return dg.Failure(description=str(exc), metadata={"problems": dg.MetadataValue.md(table)}, allow_retries=False)


@dg.asset(
    group_name="raw",
    kinds={"python", "toml"},
    owners=OWNERS,
    description="Every report folder in raw/ (report.toml, figures.toml and the stored document), parsed. "
                "Fails, naming folder, file, figure and field, if any file is malformed, a figure's quote "
                "does not occur in its document, or a document no longer matches its sha256.",
)
def raw_reports(context: dg.AssetExecutionContext, raw: RawReportsDir) -> RawReports:
    try:
        loaded = load_and_check(raw.resolved)
    except RawReportError as exc:
        raise _failure(exc) from exc
    context.add_output_metadata({
        "dagster/row_count": len(loaded.figures),
        "reports": len(loaded.reports),
        "raw_dir": str(raw.resolved),
    })
    return loaded


@dg.asset(
    group_name="validated",
    kinds={"pandas", "pandera"},
    owners=OWNERS,
    description="The figures (and report metadata) of every report, validated lazily against the pandera "
                "schemas: one run reports every failure at once.",
    metadata={"dagster/column_schema": column_schema(FigureSchema)},
)
def validated_figures(context: dg.AssetExecutionContext, raw_reports: RawReports, raw: RawReportsDir) -> RawReports:
    try:
        validated = validate_raw(raw_reports, raw.resolved.name)
    except RawReportError as exc:
        raise _failure(exc) from exc
    context.add_output_metadata({
        "dagster/row_count": len(validated.figures),
        "reports": len(validated.reports),
        "figures_by_topic": dg.MetadataValue.json(validated.figures["topic"].value_counts().to_dict()),
    })
    return validated


def _build(warehouse: Warehouse, table: str, **frames: pd.DataFrame) -> dg.MaterializeResult:
    """Run pipeline/sql/<table>.sql against staging, with `frames` visible to it by name."""
    with warehouse.staging() as con:
        for name, frame in frames.items():
            con.register(name, frame)
        con.execute("BEGIN")
        con.execute(sql(table))
        con.execute("COMMIT")
        rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "dagster/table_name": f"illicit_income.main.{table}",
        "staging_file": str(warehouse.staging_path),
    })


def _table_spec(model, group: str = "warehouse", kind: str = "table") -> dict:
    return {
        "group_name": group,
        "kinds": {"duckdb", "sql", kind},
        "owners": OWNERS,
        "description": (model.__doc__ or "").strip(),
        "metadata": {"dagster/column_schema": column_schema(model)},
    }


@dg.asset(**_table_spec(ReportSchema))
def reports(warehouse: Warehouse, validated_figures: RawReports) -> dg.MaterializeResult:
    return _build(warehouse, "reports", reports_frame=validated_figures.reports)


@dg.asset(**_table_spec(FigureSchema))
def figures(warehouse: Warehouse, validated_figures: RawReports) -> dg.MaterializeResult:
    return _build(warehouse, "figures", figures_frame=validated_figures.figures)


@dg.asset(deps=[figures], **_table_spec(ChannelSchema))
def channels(warehouse: Warehouse) -> dg.MaterializeResult:
    return _build(warehouse, "channels")


@dg.asset(deps=[figures], **_table_spec(ArmsSchema))
def arms(warehouse: Warehouse) -> dg.MaterializeResult:
    return _build(warehouse, "arms")


@dg.asset(deps=[figures], **_table_spec(DeficitSchema))
def deficit(warehouse: Warehouse) -> dg.MaterializeResult:
    return _build(warehouse, "deficit")


@dg.asset(**_table_spec(ValidationResultSchema))
def validation_results(warehouse: Warehouse, validated_figures: RawReports) -> dg.MaterializeResult:
    frame = run_report_checks(validated_figures.reports, validated_figures.figures)
    return _build(warehouse, "validation_results", validation_frame=frame)


@dg.asset(deps=[reports, figures], **_table_spec(ReportChangeSchema, group="history"))
def report_changes(warehouse: Warehouse) -> dg.MaterializeResult:
    return _build(warehouse, "report_changes")


@dg.asset(deps=[channels, reports], **_table_spec(LatestChannelSchema, group="history", kind="view"))
def latest_channels(warehouse: Warehouse) -> dg.MaterializeResult:
    return _build(warehouse, "latest_channels")


@dg.asset(deps=[arms, reports], **_table_spec(LatestArmsSchema, group="history", kind="view"))
def latest_arms(warehouse: Warehouse) -> dg.MaterializeResult:
    return _build(warehouse, "latest_arms")


@dg.asset(deps=[deficit, reports], **_table_spec(LatestDeficitSchema, group="history", kind="view"))
def latest_deficit(warehouse: Warehouse) -> dg.MaterializeResult:
    return _build(warehouse, "latest_deficit")


TABLE_ASSETS = [reports, figures, channels, arms, deficit, validation_results, report_changes, latest_channels,
                latest_arms, latest_deficit]


@dg.asset(
    deps=TABLE_ASSETS,
    group_name="publish",
    kinds={"duckdb"},
    owners=OWNERS,
    description="warehouse/illicit_income.duckdb, the file analysts open. Built beside the published file from "
                "staging, audited (every table present, row counts equal to staging), then swapped in with one "
                "atomic rename; readers keep their snapshot. Written with storage version "
                f"{PUBLISHED_STORAGE_VERSION} so that DuckDB 1.5 readers (the PyPI CLI) open it.",
)
def published_warehouse(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    try:
        counts, changes = warehouse.publish(context.run.run_id)
    except PublishError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    path = warehouse.published_path
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "bytes": path.stat().st_size,
        "storage_version": PUBLISHED_STORAGE_VERSION,
        "row_counts": dg.MetadataValue.json(counts),
        "dagster/row_count": sum(counts.values()),
        "changes_since_previous": dg.MetadataValue.md(
            "first publication" if changes is None
            else "\n".join(f"- {line}" for line in changes) or "nothing changed"),
        "changed_items": -1 if changes is None else len(changes),
    })
