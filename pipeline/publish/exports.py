"""The exports: every table and view of a warehouse file as Parquet and CSV, with a Frictionless data
package (`datapackage.json`) that describes them: each field's type, description and unit, and the
sources of the figures (each report's document and every source a correction cites).

    export/<table>.parquet      DuckDB's COPY (types kept: DATE, DOUBLE, BIGINT ...)
    export/<table>.csv          DuckDB's COPY, with a header; the data package's resources (a table of
                                more than CSV_MAX_ROWS rows is exported as Parquet only, and its
                                resource is the Parquet file: see below)
    export/datapackage.json     written by frictionless; `frictionless validate export/datapackage.json`

The tables and views are discovered in the file (pipeline.publish.catalog), so every one published is
exported; the build record (`build.info`: which refresh made the file) is exported as `build_info`.
The descriptions are the file's own `COMMENT ON` text, so the data dictionary is one text in both.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.publish.catalog import Column, Relation, literal, relations

# DuckDB type -> Frictionless field type (Table Schema).
TYPES = {"VARCHAR": "string", "DOUBLE": "number", "FLOAT": "number", "BIGINT": "integer", "INTEGER": "integer",
         "SMALLINT": "integer", "HUGEINT": "integer", "UBIGINT": "integer", "BOOLEAN": "boolean", "DATE": "date",
         "TIMESTAMP": "datetime"}
BUILD_INFO = "build_info"
# A table with more rows than this is exported as Parquet only. source_comparisons grows with the square of
# the number of series: the benchmark's 1,000 synthetic series give 8.5 million pairs, 4.4 GB of CSV written
# again at every refresh, where the same rows are 0.3 GB of Parquet. No spreadsheet opens a CSV of this size;
# every tool that reads that many rows (DuckDB, pandas, R, Spark) reads Parquet.
CSV_MAX_ROWS = 1_000_000
PARQUET_MEDIATYPE = "application/vnd.apache.parquet"


def _field(column: Column) -> dict:
    field = {"name": column.name, "type": TYPES.get(column.type, "any")}
    if field["type"] == "datetime":
        field["format"] = "any"  # DuckDB writes "2026-11-29 16:05:55.8", which the default ISO format refuses
    if column.comment:
        field["description"] = column.comment
    if column.unit:
        field["unit"] = column.unit  # a custom property: "USD" (whole US dollars) or "count"
    field["constraints"] = {"required": not column.nullable} if not column.nullable else {}
    if not field["constraints"]:
        del field["constraints"]
    return field


def _build_relation(con) -> Relation | None:
    rows = con.execute("""SELECT column_name, data_type, coalesce(comment, ''), is_nullable FROM duckdb_columns()
                           WHERE schema_name = 'build' AND table_name = 'info' AND database_name = current_database()
                           ORDER BY column_index""").fetchall()
    if not rows:
        return None
    return Relation(BUILD_INFO, "table", "Which refresh built the published file (build.info).",
                    tuple(Column(n, t, c, bool(nullable)) for n, t, c, nullable in rows))


def sources(con) -> list[dict]:
    """The sources of the published figures: each report's stored document (with its URL where known),
    then every source a correction cites, as Data Package `sources`."""
    found = []
    for report_id, title, publisher, published_on, url, source_file in con.execute(
            "SELECT report_id, title, publisher, published_on, source_url, source_file FROM reports ORDER BY report_id"
    ).fetchall():
        entry = {"title": f"{publisher}: {title} ({published_on})",
                 "path": url or f"raw/{report_id}/{source_file}", "report_id": report_id}
        found.append(entry)
    for publisher, title, date, url in con.execute(
            """SELECT DISTINCT cited_publisher, cited_title, cited_date, cited_url FROM figures
                WHERE correction_basis = 'cited' AND cited_publisher IS NOT NULL ORDER BY ALL""").fetchall():
        entry = {"title": f"{publisher}: {title or 'untitled'} ({date or 'undated'}), cited by a correction"}
        if url:
            entry["path"] = url
        found.append(entry)
    return found


def write(con, target: Path, built: dict | None = None) -> dict[str, list[str]]:
    """Write every table and view of the file `con` has open, and datapackage.json, into `target`
    (created). Returns each resource's name and the formats written (["csv", "parquet"], or ["parquet"]
    for a table of more than CSV_MAX_ROWS rows)."""
    from frictionless import Package

    target.mkdir(parents=True, exist_ok=True)
    exported: list[tuple[Relation, str]] = [(r, r.sql) for r in relations(con)]
    build = _build_relation(con)
    if build is not None:
        exported.append((build, "build.info"))
    resources, formats = [], {}
    for relation, source in exported:
        # each relation is read once (a view is evaluated once): the CSV is written from the Parquet file,
        # which keeps the types and reads back fast
        parquet = literal(str(target / f"{relation.name}.parquet"))
        rows = con.execute(f"COPY (SELECT * FROM {source}) TO {parquet} (FORMAT parquet)").fetchone()[0]
        resource = {"name": relation.name, "type": "table", "scheme": "file"}
        if rows <= CSV_MAX_ROWS:
            path = literal(str(target / f"{relation.name}.csv"))
            con.execute(f"COPY (SELECT * FROM read_parquet({parquet})) TO {path} (FORMAT csv, HEADER)")
            resource |= {"path": f"{relation.name}.csv", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
                         "parquet": f"{relation.name}.parquet"}  # the same rows as Parquet (a custom property)
            formats[relation.name] = ["csv", "parquet"]
        else:
            resource |= {"path": f"{relation.name}.parquet", "format": "parquet", "mediatype": PARQUET_MEDIATYPE}
            formats[relation.name] = ["parquet"]
        resources.append(resource | {
            "description": relation.comment or f"The {relation.kind} {relation.name}.",
            "schema": {"fields": [_field(c) for c in relation.columns]},
        })
    descriptor = {
        "name": "nk-illicit-income",
        "title": "Published estimates of North Korea's illicit income",
        "description": "Every figure as its report states it, with the sentence that states it, the best estimate "
                       "(a recorded, cited or reasoned correction where there is one) and the checks that did not "
                       "pass. Money is in whole US dollars (unit USD), counts are counts (unit count). Cite a figure "
                       "by its report (see sources), its figure_id and this package's build_info.run_id.",
        "sources": sources(con),
        "resources": resources,
    }
    if built:
        descriptor["version"] = str(built.get("run_id", ""))
        descriptor["created"] = str(built.get("built_at", "")).replace(" ", "T")
    package = Package.from_descriptor(descriptor, basepath=str(target))
    (target / "datapackage.json").write_text(json.dumps(package.to_descriptor(), indent=1, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
    return formats
