"""Whether the published warehouse is current: built by this pipeline's code from exactly the report
folders that raw/ holds now. The raw/ sensor asks it on its first evaluation, so that starting `dagster
dev` right after `make warehouse` published does not rebuild the same file."""

from __future__ import annotations

from pipeline.publish.warehouse import RawReportsDir, Warehouse


def published_is_current(raw: RawReportsDir, warehouse: Warehouse) -> bool:
    """True when the published file records (build.info, build.report_folders) the current code version and
    the current digest of every report folder in raw/, and no other folder: what a refresh would find
    nothing to rebuild in. The digests are the refresh's own (pipeline.read.report_cache), so a folder whose
    files' sizes and times are those the report cache recorded is not read again."""
    import duckdb

    from pipeline.build.tables import Plan
    from pipeline.read.raw_reports import report_folders
    from pipeline.read.report_cache import digest_folders

    published = warehouse.published_path
    if not published.is_file():
        return False
    raw_dir = raw.resolved
    folders = report_folders(raw_dir) if raw_dir.is_dir() else []
    digests, _ = digest_folders(folders, warehouse.cached_folders())
    try:
        con = duckdb.connect(str(published), read_only=True)
    except duckdb.Error:  # being replaced, or not a DuckDB file: a refresh will say
        return False
    try:
        plan = Plan(digests, max_share=1.0)
        return plan.decide(con) and not plan.changed
    finally:
        con.close()
