"""Lazy pandera validation, with every failure turned into a located, readable message."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from pipeline.core import vocabulary as v
from pipeline.core.errors import Problem, RawReportError
from pipeline.read.raw_reports import FIGURES_FILE, REPORT_FILE, RawReports, read_raw
from pipeline.validate.schemas import FigureSchema, ReportSchema

Locate = Callable[[object], tuple[str, str, str]]  # row index -> (folder, file, where)


_PATTERN_NAMES = {
    v.SLUG_PATTERN: "a slug of lower-case letters, digits and single hyphens (e.g. inss-report-2024)",
    v.SNAKE_PATTERN: "lower snake_case: lower-case letters, digits and single underscores (e.g. coal_smuggling)",
    r"^[0-9a-f]{64}$": "64 lower-case hex digits (a sha256)",
}


def _check_label(check: object) -> str:
    text = str(check)
    match = re.fullmatch(r"str_matches\('(.*)'\)", text)
    if match and match.group(1) in _PATTERN_NAMES:
        return _PATTERN_NAMES[match.group(1)]
    match = re.fullmatch(r"isin\((.*)\)", text)
    if match:
        return f"one of {match.group(1)}"
    for name, words in (("greater_than_or_equal_to", ">="), ("greater_than", ">"), ("less_than_or_equal_to", "<="),
                        ("less_than", "<")):
        match = re.fullmatch(name + r"\((.*)\)", text)
        if match:
            return f"a value {words} {match.group(1)}" + (" (not negative)" if words == ">=" and match.group(1) == "0" else "")
    if text.startswith("str_length"):
        return "a non-empty text"
    return {
        "multiple_fields_uniqueness": "unique together with the other key columns",
        "field_uniqueness": "unique",
        "not_nullable": "a value (not empty)",
        "column_in_schema": "only the schema's columns",
        "column_in_dataframe": "the column to be present",
    }.get(text, text)


def failure_problems(exc: pa.errors.SchemaErrors, model: type[pa.DataFrameModel], locate: Locate,
                     frame: pd.DataFrame | None = None) -> list[Problem]:
    """One Problem per failing cell or row of a lazy validation (pandera lists a row-level check's
    failure once per column; those collapse into one Problem that shows the row's values)."""
    descriptions = {name: (chk.description or name) for name, chk in _dataframe_checks(model).items()}
    problems = []
    cases = exc.failure_cases
    for case in cases.itertuples(index=False):
        index = case.index
        if index is None or (isinstance(index, float) and pd.isna(index)):
            folder, file, where = locate(None)
        else:
            folder, file, where = locate(index)
        check = str(case.check)
        column = str(case.column) if case.column is not None else ""
        if case.schema_context == "DataFrameSchema" and check in descriptions:
            field = _check_columns(check)
            expected = descriptions[check]
            found = "a row that breaks it"
            if frame is not None and index is not None and index in frame.index:
                found = ", ".join(f"{col}={_show(frame.at[index, col])}" for col in _CHECK_COLUMNS.get(check, ())
                                  if col in frame.columns) or found
        else:
            field = column
            expected = _check_label(check)
            found = repr(case.failure_case)
        problems.append(Problem(folder, file, where=where, field=field, found=found, expected=expected))
    return list(dict.fromkeys(problems))


def _show(value: object) -> str:
    if isinstance(value, datetime.date):  # a pandas Timestamp, or a date DuckDB gives (a table check's duplicate key)
        return value.strftime("%Y-%m-%d")
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return "empty"
    if hasattr(value, "item"):  # numpy scalars print as np.float64(...) otherwise
        value = value.item()
    return repr(value)


def _dataframe_checks(model: type[pa.DataFrameModel]) -> dict[str, pa.Check]:
    schema = model.to_schema()
    return {chk.name: chk for chk in schema.checks if chk.name}


_CHECK_COLUMNS = {
    "period_ordered": ("period_start", "period_end"),
    "positive_where_zero_is_meaningless": ("topic", "value_as_published"),
    "period_plausible": ("period_start", "period_end"),
    "measure_fits_topic": ("topic", "measure"),
    "unit_fits_measure": ("topic", "measure", "unit_as_published"),
    "amount_or_quantity": ("unit_as_published", "amount_usd", "quantity", "share_percent"),
    "channel_not_total": ("topic", "subject"),
    "item_type_only_for_arms": ("topic", "item_type"),
    "total_subject": ("topic", "subject"),
    "trade_subject": ("topic", "subject"),
}


def _check_columns(check: str) -> str:
    return {
        "period_ordered": "period_start, period_end",
        "positive_where_zero_is_meaningless": "value",
        "period_plausible": "period_start, period_end",
        "measure_fits_topic": "measure",
        "unit_fits_measure": "unit",
        "channel_not_total": "subject",
        "amount_or_quantity": "value, unit",
        "item_type_only_for_arms": "item_type",
        "total_subject": "subject",
        "trade_subject": "subject",
    }.get(check, check)


# Loaded-frame column -> the field a person writes in figures.toml / report.toml.
_FIGURE_FIELD = {"figure_id": "id", "value_as_published": "value", "unit_as_published": "unit"}


_DERIVED_FROM_VALUE = ("amount_usd", "quantity", "value, unit")


def _currency_hint(problem: Problem) -> str:
    match = re.match(r"'([A-Z]{3})\b", problem.found)
    if problem.field in ("unit_as_published", "unit") and match and match.group(1) != "USD":
        return (f"; {match.group(1)} is not US dollars: the warehouse holds USD only, so enter the US-dollar figure "
                "the report itself states (the pipeline applies no exchange rate of its own)")
    return ""


def validate_raw(raw: RawReports, raw_dir_name: str = "raw") -> RawReports:
    """Validate the loaded frames against ReportSchema and FigureSchema, lazily, both at once.

    Raises RawReportError naming folder, file, figure id, field and what was wrong for every failure.
    """
    problems: list[Problem] = []
    reports, figures = raw.reports, raw.figures

    def locate_report(index: object) -> tuple[str, str, str]:
        if index is None:
            return raw_dir_name, "", ""
        return f"{raw_dir_name}/{reports.at[index, 'report_id']}", REPORT_FILE, ""

    def locate_figure(index: object) -> tuple[str, str, str]:
        if index is None:
            return raw_dir_name, "", ""
        return (f"{raw_dir_name}/{figures.at[index, 'report_id']}", FIGURES_FILE,
                f"figure '{figures.at[index, 'figure_id']}'")

    validated_reports = validated_figures = None
    try:
        validated_reports = ReportSchema.validate(reports, lazy=True)
    except pa.errors.SchemaErrors as exc:
        problems += failure_problems(exc, ReportSchema, locate_report, reports)
    try:
        validated_figures = FigureSchema.validate(figures, lazy=True)
    except pa.errors.SchemaErrors as exc:
        found = failure_problems(exc, FigureSchema, locate_figure, figures)
        renamed = [Problem(p.folder, p.file, p.where, _FIGURE_FIELD.get(p.field, p.field), p.found,
                           p.expected + _currency_hint(p)) for p in found]
        # amount_usd and quantity are derived from value: when value itself is reported, they add nothing.
        value_wrong = {(p.folder, p.where) for p in renamed if p.field == "value"}
        problems += list(dict.fromkeys(p for p in renamed if not (
            p.field in _DERIVED_FROM_VALUE and (p.folder, p.where) in value_wrong)))
    if problems:
        raise RawReportError(problems, stage="validating raw reports against the schemas")
    return RawReports(reports=validated_reports, figures=validated_figures)


def table_problems(table: str, frame: pd.DataFrame, model: type[pa.DataFrameModel],
                   raw_name: str | None = None) -> list[Problem]:
    """Validate a warehouse table; [] when it passes. Rows are named by their report and key; with
    `raw_name` (the folder of report folders), a row that comes from one figure is located at that
    figure, raw/<report>/figures.toml, figure '<id>', so that a person knows what to open."""
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        def locate(index: object) -> tuple[str, str, str]:
            if index is None or "report_id" not in frame.columns:
                return f"table {table}", "", ""
            row = frame.loc[index]
            key = row.get("figure_id", row.get("check_name", ""))
            if raw_name is not None and "figure_id" in frame.columns and isinstance(key, str) and key:
                return f"{raw_name}/{row['report_id']}", FIGURES_FILE, f"figure '{key}' (table {table}, row {index})"
            return f"table {table}", "", f"row {index} (report {row['report_id']}{', ' + str(key) if key else ''})"
        return _one_per_row(failure_problems(exc, model, locate, frame))
    return []


_TIMESTAMP = re.compile(r"Timestamp\('(\d{4}-\d\d-\d\d) 00:00:00'\)")


def _one_per_row(problems: list[Problem]) -> list[Problem]:
    """A row that breaks a key of several columns is one problem, not one per column: pandera lists
    each column of the key for each duplicate row ("field 'channel' ... field 'period_start' ...")."""
    keys: dict[tuple, list[Problem]] = {}
    out: list[Problem | tuple] = []
    for problem in problems:
        if problem.expected.startswith("unique together"):
            group = (problem.folder, problem.file, problem.where, problem.expected)
            if group not in keys:
                keys[group] = []
                out.append(group)
            keys[group].append(problem)
        else:
            out.append(problem)
    merged = []
    for item in out:
        if isinstance(item, Problem):
            merged.append(item)
            continue
        parts = keys[item]
        fields = ", ".join(p.field for p in parts)
        found = ", ".join(p.field + "=" + _TIMESTAMP.sub(r"\1", p.found) for p in parts)
        expected = f"a row whose {fields} no other row has (another row has the same)"
        if item[1] == FIGURES_FILE:
            expected += ("; two figures of the report make the same row: give each the period its quote states "
                         "(period_start, period_end), or keep one")
        merged.append(Problem(item[0], item[1], where=item[2], field=fields, found=found, expected=expected))
    return merged


def load_and_check(raw_dir, folders: list[Path] | None = None) -> RawReports:
    """Read raw/ (or only `folders` of it) and, if anything is wrong, raise one RawReportError with
    every problem: those of reading (files, fields, provenance) and those the schemas find in what
    could be read."""
    loaded, problems = read_raw(raw_dir, folders)
    if problems:
        if len(loaded.figures) or len(loaded.reports):
            try:
                validate_raw(loaded, Path(raw_dir).name)
            except RawReportError as schema_errors:
                # what the loader already reported is not reported again through what derives from it:
                # a refused value (amount_usd, quantity), a duplicate id or a folder name (report_id)
                value_wrong = {(p.folder, p.where.split(" (line")[0]) for p in problems if p.field == "value"}
                problems += [p for p in schema_errors.problems if not (
                    (p.field in _DERIVED_FROM_VALUE and (p.folder, p.where) in value_wrong)
                    or p.field in ("report_id", "id") and "unique" in p.expected
                    or p.field == "report_id" and "slug" in p.expected)]
        raise RawReportError(problems)
    return loaded


def _unique_keys(model: type[pa.DataFrameModel]) -> list[list[str]]:
    """The column sets the model declares unique (Config.unique and unique=True fields)."""
    schema = model.to_schema()
    keys = []
    if schema.unique:
        keys.append(list(schema.unique) if isinstance(schema.unique, list | tuple) else [schema.unique])
    keys += [[name] for name, column in schema.columns.items() if column.unique]
    return keys


# Rows validated by pandera at a time (a multiple of DuckDB's 2,048-row vectors): the frame of a whole
# table (162k figures with their quotes at 5,000 reports) costs 250 MB; chunks keep that bounded.
CHUNK_ROWS = 49_152


def validate_table(con, table: str, model: type[pa.DataFrameModel], where: str | None = None,
                   raw_name: str | None = None) -> tuple[list[Problem], int]:
    """Validate the DuckDB table `table` against `model`; returns (problems, rows validated by pandera).

    Rows are read by one query and validated CHUNK_ROWS at a time. Every column and row check of the
    models is a function of one row, so this gives the result of validating the whole frame;
    uniqueness, the one rule across rows, is checked on the whole table in SQL.

    With `where` (a constant SQL condition from pipeline.build.tables: the rows a build wrote), pandera sees
    only the rows that meet it; the others passed before, under the same code. An empty table is
    validated too: pandera checks its columns and types.
    """
    # a row is named by its position in the table: row_number() for a whole table or view, rowid (the
    # same for a table, and it lets DuckDB filter before reading the other rows) for some of a table
    numbered = f'SELECT row_number() OVER () - 1 AS "__row", * FROM "{table}"'
    if where is None:
        query = numbered
    elif con.execute("SELECT count(*) FROM duckdb_views() WHERE database_name = current_database() AND view_name = ?",
                     [table]).fetchone()[0]:  # a view has no rowid
        query = f"SELECT * FROM ({numbered}) WHERE {where}"
    else:
        query = f'SELECT rowid AS "__row", * FROM "{table}" WHERE {where}'
    problems: list[Problem] = []
    seen: set[Problem] = set()
    validated = 0
    for frame in _chunks(con.execute(query)):
        if where is not None and not len(frame):
            continue  # this build wrote no row of the table: what it kept passed before
        frame = frame.set_index("__row").rename_axis(None)
        validated += len(frame)
        problems += [p for p in table_problems(table, frame, model, raw_name) if p not in seen]
        seen.update(problems)
    # pandera saw a chunk at a time: a duplicate across chunks is found here, on the whole table (a key
    # whose duplicates pandera already listed row by row is not listed again)
    listed = {c.strip() for p in problems if p.expected.startswith(("unique", "a row whose")) for c in p.field.split(",")}
    # a key that is the table's PRIMARY KEY or UNIQUE constraint: DuckDB refused any duplicate on insert
    enforced = {frozenset(columns) for (columns,) in con.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ? AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
        [table]).fetchall()}
    for columns in _unique_keys(model):
        if listed & set(columns) or frozenset(columns) in enforced:
            continue
        names = ", ".join(f'"{c}"' for c in columns)
        for values in con.execute(f'SELECT {names}, count(*) FROM "{table}" GROUP BY ALL HAVING count(*) > 1 '
                                  f'ORDER BY ALL LIMIT 50').fetchall():
            found = ", ".join(f"{c}={_show(x)}" for c, x in zip(columns, values[:-1], strict=True))
            problems.append(Problem(f"table {table}", "", where="", field=", ".join(columns),
                                    found=f"{values[-1]} rows with {found}",
                                    expected="unique together with the other key columns" if len(columns) > 1
                                    else "unique"))
    return problems, validated


def _chunks(result) -> Iterator[pd.DataFrame]:
    """The rows of a DuckDB result as frames of CHUNK_ROWS (a multiple of its 2,048-row vectors), read
    to the end; at least one frame, empty when there are no rows."""
    frame = result.fetch_df_chunk(CHUNK_ROWS // 2048)
    yield frame
    while len(frame):
        frame = result.fetch_df_chunk(CHUNK_ROWS // 2048)
        if len(frame):
            yield frame
