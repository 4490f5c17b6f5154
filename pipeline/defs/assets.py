"""The assets, in lineage order:

    raw/  -> raw_reports -> validated_figures -> reports, figures -> channels, arms, deficit
                                              -> validation_results
          all tables and views -> published_warehouse (audit, then one atomic swap)

Table assets build into the staging DuckDB file; only `published_warehouse` touches the file
analysts open, and only after every blocking check on every table passed.

The ten tables and views are one multi-asset (`warehouse_tables`): the graph shows each as its own
asset with its own checks and lineage, and they are built in one step on one DuckDB connection.
Built as ten steps with their checks as 25 more, a refresh paid about 0.15 s of Dagster bookkeeping
per step, several seconds in all, for SQL that takes well under a second. Materializing any one of
them rebuilds all ten (can_subset=False): they are derived from the same cached rows in one pass.

Work that did not change is not redone: raw_reports re-reads only the report folders whose
content changed since the last refresh (pipeline.read.report_cache), and warehouse_tables replaces only
their reports' rows in a copy of the published file (pipeline.build.tables).

Modules that import pandas, pandera or DuckDB are imported inside the asset bodies, so loading the
definitions (what `dagster dev` does at every reload) costs little more than importing Dagster.
"""

from collections.abc import Iterator

import dagster as dg

from pipeline.core.errors import MAX_SHOWN, PublishError, RawReportError
from pipeline.defs.checks import (
    PUBLISH_CHECK_SPECS,
    REPORT_CHECK_SPECS,
    SCHEMA_CHECK_SPECS,
    contract_satisfied,
    opens_in_duckdb_cli,
    report_check_results,
    schema_check_results,
)
from pipeline.publish.warehouse import PUBLISHED, PUBLISHED_STORAGE_VERSION, RawReportsDir, Warehouse
from pipeline.validate.column_schemas import column_schema, description

OWNERS = ["team:data"]
# Times raw_reports reads a folder that keeps changing while it is read before it gives up.
READ_ATTEMPTS = 3


def _failure(exc: RawReportError) -> dg.Failure:
    table = "| folder | file | where | field | found | expected |\n|---|---|---|---|---|---|\n" + "\n".join(
        f"| {p.folder} | {p.file} | {p.where} | {p.field} | {p.found} | {p.expected} |".replace("\n", " ")
        for p in exc.problems[:MAX_SHOWN]) + (
        f"\n\n... and {len(exc.problems) - MAX_SHOWN:,} more problem(s)" if len(exc.problems) > MAX_SHOWN else "")
    return dg.Failure(description=str(exc), metadata={"problems": dg.MetadataValue.md(table)}, allow_retries=False)


@dg.asset(
    group_name="raw",
    kinds={"python", "toml"},
    owners=OWNERS,
    description="Every report folder in raw/ (report.toml, figures.toml and the stored document), hashed, and "
                "parsed where its content changed since the last refresh (the others' rows are kept in the "
                "report cache). Fails, naming folder, file, figure and field, if any file is malformed, a "
                "figure's quote does not occur in its document, or a document no longer matches its sha256.",
)
def raw_reports(context: dg.AssetExecutionContext, raw: RawReportsDir, warehouse: Warehouse):
    from pipeline.defs.run_liveness import process_tag
    from pipeline.read.raw_reports import report_folders
    from pipeline.read.report_cache import ReportBatch, hash_folders, unchanged_since
    from pipeline.validate.validation import load_and_check

    # which process runs this refresh, so that a run left unfinished by a killed process is found (pipeline.defs.run_liveness)
    context.instance.add_run_tags(context.run.run_id, process_tag(context.run.run_id))
    raw_dir = raw.resolved
    folders = report_folders(raw_dir) if raw_dir.is_dir() else []
    # a build from nothing trusts nothing a refresh kept: every folder is hashed and read again
    cached = {} if warehouse.build_from_nothing else warehouse.cached_folders()
    digests, signatures, states = hash_folders(folders, cached)
    stale = [folder for folder in folders if cached.get(folder.name, ("",))[0] != digests[folder.name]]
    # The rows of a folder are kept under its digest only if they were read from the bytes it describes:
    # a folder edited while it was read is hashed and read again (see report_cache.unchanged_since).
    for attempt in range(1, READ_ATTEMPTS + 1):
        try:
            loaded = load_and_check(raw_dir, folders=stale)
        except RawReportError as exc:
            raise _failure(exc) from exc
        moved = [f for f in stale if not unchanged_since(f, states[f.name], signatures[f.name], digests[f.name])]
        if not moved:
            break
        if attempt == READ_ATTEMPTS:
            raise dg.Failure(description=(
                f"{len(moved)} report folder(s) changed while they were read, {READ_ATTEMPTS} times in a row: "
                f"{', '.join(f.name for f in moved[:10])}{' ...' if len(moved) > 10 else ''}. Nothing was published "
                "and nothing was kept; run the refresh again when they are no longer being edited."),
                allow_retries=False)
        context.log.warning("report folder(s) changed while they were read, reading them again: %s",
                            ", ".join(f.name for f in moved[:10]))
        again = hash_folders(moved, {})
        for mapping, update in zip((digests, signatures, states), again, strict=True):
            mapping.update(update)
    batch = ReportBatch(digests=digests, signatures=signatures, loaded=loaded, reused=len(folders) - len(stale),
                        stale=[folder.name for folder in stale])
    context.add_output_metadata({
        "figures_read": len(loaded.figures),
        "reports": len(folders),
        "reports_read": len(stale),
        "reports_unchanged": batch.reused,
        "figures": len(loaded.figures) + _cached_figures(warehouse, batch),
        "raw_dir": str(raw_dir),
    })
    return batch


@dg.asset(
    group_name="validated",
    kinds={"pandas", "pandera"},
    owners=OWNERS,
    description="The figures and report metadata of the reports read in this refresh, validated lazily against "
                "the pandera schemas: one run reports every failure at once. Unchanged reports were validated "
                "when they were read and are not validated again.",
    metadata={"dagster/column_schema": column_schema("validated_figures")},
)
def validated_figures(context: dg.AssetExecutionContext, raw_reports, raw: RawReportsDir, warehouse: Warehouse):
    from dataclasses import replace

    from pipeline.validate.validation import validate_raw

    try:
        validated = validate_raw(raw_reports.loaded, raw.resolved.name)
    except RawReportError as exc:
        raise _failure(exc) from exc
    context.add_output_metadata({
        "figures_validated": len(validated.figures),
        "reports_validated": len(validated.reports),
        "reports": len(raw_reports.digests),
        "figures": len(validated.figures) + _cached_figures(warehouse, raw_reports),
        "reports_unchanged_validated_before": raw_reports.reused,
        "figures_validated_by_topic": dg.MetadataValue.json(validated.figures["topic"].value_counts().to_dict()),
    })
    return replace(raw_reports, loaded=validated)


def _cached_figures(warehouse: Warehouse, batch) -> int:
    """Figures of the reports this refresh did not re-read (kept in the report cache)."""
    from pipeline.read.report_cache import cached_figure_count

    stale = set(batch.stale)
    return cached_figure_count(warehouse.cache_path, [r for r in batch.digests if r not in stale])


def _table_spec(table: str, deps: list[str], group: str = "warehouse", kind: str = "table") -> dg.AssetSpec:
    return dg.AssetSpec(
        key=table,
        deps=deps,
        group_name=group,
        kinds={"duckdb", "sql", kind},
        owners=OWNERS,
        description=description(table),
        metadata={"dagster/column_schema": column_schema(table)},
    )


TABLE_SPECS = [
    _table_spec("reports", ["validated_figures"]),
    _table_spec("figures", ["validated_figures"]),
    _table_spec("channels", ["figures"]),
    _table_spec("arms", ["figures"]),
    _table_spec("deficit", ["figures"]),
    _table_spec("validation_results", ["validated_figures", "source_comparisons"]),
    _table_spec("report_changes", ["reports", "figures"], group="history"),
    _table_spec("latest_channels", ["channels", "reports"], group="history", kind="view"),
    _table_spec("latest_arms", ["arms", "reports"], group="history", kind="view"),
    _table_spec("latest_deficit", ["deficit", "reports"], group="history", kind="view"),
    _table_spec("estimates", ["figures", "reports"], group="sources", kind="view"),
    _table_spec("source_comparisons", ["estimates"], group="sources"),
]
assert [spec.key.to_user_string() for spec in TABLE_SPECS] == list(PUBLISHED)


@dg.multi_asset(
    name="warehouse_tables",
    specs=TABLE_SPECS,
    check_specs=[*SCHEMA_CHECK_SPECS, *REPORT_CHECK_SPECS],
    ins={"validated_figures": dg.AssetIn()},
    can_subset=False,
)
def warehouse_tables(context: dg.AssetExecutionContext, warehouse: Warehouse, raw: RawReportsDir,
                     validated_figures) -> Iterator:
    """_build_tables; a file another process kept locked too long fails the step with the lock's message."""
    try:
        yield from _build_tables(context, warehouse, raw, validated_figures)
    except PublishError as exc:  # a lock held too long: said as it is, as in the publish step
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


def _build_tables(context: dg.AssetExecutionContext, warehouse: Warehouse, raw: RawReportsDir,
                  validated_figures) -> Iterator:
    """Update the report cache with this refresh's validated reports, build every table and view in
    this run's staging file (from nothing, or in a copy of the published file by replacing the changed
    reports' rows: pipeline.build.tables), then evaluate every table's checks; mark the staging file
    publishable only if every blocking check passed."""
    from pipeline.build import tables
    from pipeline.publish import catalog, previews
    from pipeline.read import report_cache
    from pipeline.validate.report_checks import run_report_checks
    from pipeline.validate.schemas import TABLE_SCHEMAS

    batch = validated_figures
    run_key = _run_key(context)
    checks = run_report_checks(batch.loaded.reports, batch.loaded.figures)
    plan = tables.Plan(batch.digests, max_share=0.0 if warehouse.build_from_nothing else warehouse.incremental_max_share)
    results: list = []
    with warehouse.fresh_staging(run_key, start_from_published=plan.decide) as con:
        report_cache.update(con, batch, checks)
        built = tables.build(con, plan, run_key)
        catalog.describe(con)  # the data dictionary, as COMMENT ON, in the file itself
        relations = {relation.name: relation for relation in catalog.relations(con)}
        # in the graph's order: validation_results holds the cross-report checks, which read source_comparisons
        for table in sorted(PUBLISHED, key=lambda name: name == "validation_results"):
            rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
            results.append(dg.MaterializeResult(asset_key=table, metadata={
                "dagster/row_count": rows,
                "dagster/table_name": f"illicit_income.main.{table}",
                "built": built.method,
                "why": built.reason,
                "reports_rebuilt": built.reports_rebuilt,
                **previews.metadata(con, relations[table]),
            }))
        con.execute("BEGIN")
        schema_results = schema_check_results(con, TABLE_SCHEMAS, built.rows_to_validate, raw.resolved.name)
        con.execute("COMMIT")
        results += schema_results + report_check_results(con)
    if all(result.passed for result in schema_results):
        warehouse.mark_passed(run_key)
    yield from results


def _run_key(context: dg.AssetExecutionContext) -> str:
    """The run that built the staging file: a re-execution of a run (say, of its failed publish step)
    publishes what that run built."""
    return context.run.root_run_id or context.run.run_id


@dg.asset(
    deps=[spec.key for spec in TABLE_SPECS],
    group_name="publish",
    kinds={"duckdb"},
    owners=OWNERS,
    check_specs=PUBLISH_CHECK_SPECS,
    description="warehouse/illicit_income.duckdb, the file analysts open (its row count: the figures it publishes), "
                "with the report page warehouse/site/index.html and the exports warehouse/export/ of the same file: "
                "the staging file this run built, "
                "published only if every blocking check passed on it, audited (opens read-only, every table and "
                "view present, reports and figures not empty), then renamed over the published file atomically; "
                f"readers keep their snapshot. Written with storage version {PUBLISHED_STORAGE_VERSION} so that "
                "DuckDB 1.5 readers (the PyPI CLI) open it.",
)
def published_warehouse(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    try:
        counts, changes = warehouse.publish(_run_key(context))
    except PublishError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    from pipeline.publish import release

    path = warehouse.published_path
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "report_page": dg.MetadataValue.path(str(release.published_page(path.parent))),
            "exports": dg.MetadataValue.path(str(path.parent / "export" / "datapackage.json")),
            "charts": dg.MetadataValue.md(release.charts_markdown(path.parent)),
            "bytes": path.stat().st_size,
            "storage_version": PUBLISHED_STORAGE_VERSION,
            "row_counts": dg.MetadataValue.json(counts),
            "reports": counts["reports"],
            "dagster/row_count": counts["figures"],  # every published number is one figure of one report
            "changes_since_previous": dg.MetadataValue.md(
                "first publication" if changes is None
                else "\n".join(f"- {line}" for line in changes) or "nothing changed"),
            "changed_items": -1 if changes is None else len(changes),
        },
        check_results=[contract_satisfied(path), opens_in_duckdb_cli(path)],
    )


ALL_ASSETS = [raw_reports, validated_figures, warehouse_tables, published_warehouse]
