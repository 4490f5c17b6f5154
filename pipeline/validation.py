"""Lazy pandera validation, with every failure turned into a located, readable message."""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import pandera.pandas as pa

from pipeline import vocabulary as v
from pipeline.errors import Problem, RawReportError
from pipeline.raw_reports import FIGURES_FILE, REPORT_FILE, RawReports
from pipeline.schemas import FigureSchema, ReportSchema

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
    return {
        "multiple_fields_uniqueness": "unique together with the other key columns",
        "field_uniqueness": "unique",
        "not_nullable": "a value (not empty)",
        "column_in_schema": "only the schema's columns",
        "column_in_dataframe": "the column to be present",
    }.get(text, text)


def failure_problems(exc: pa.errors.SchemaErrors, model: type[pa.DataFrameModel], locate: Locate) -> list[Problem]:
    """One Problem per failure case of a lazy validation."""
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
        else:
            field = column
            expected = _check_label(check)
            found = repr(case.failure_case)
        problems.append(Problem(folder, file, where=where, field=field, found=found, expected=expected))
    return problems


def _dataframe_checks(model: type[pa.DataFrameModel]) -> dict[str, pa.Check]:
    schema = model.to_schema()
    return {chk.name: chk for chk in schema.checks if chk.name}


def _check_columns(check: str) -> str:
    return {
        "period_ordered": "period_start, period_end",
        "period_plausible": "period_start, period_end",
        "unit_fits_topic": "unit",
        "amount_or_quantity": "value, unit",
        "item_type_only_for_arms": "item_type",
        "total_subject": "subject",
        "trade_subject": "subject",
    }.get(check, check)


# Loaded-frame column -> the field a person writes in figures.toml / report.toml.
_FIGURE_FIELD = {"figure_id": "id", "value_as_published": "value", "unit_as_published": "unit"}


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
        problems += failure_problems(exc, ReportSchema, locate_report)
    try:
        validated_figures = FigureSchema.validate(figures, lazy=True)
    except pa.errors.SchemaErrors as exc:
        found = failure_problems(exc, FigureSchema, locate_figure)
        problems += [Problem(p.folder, p.file, p.where, _FIGURE_FIELD.get(p.field, p.field), p.found, p.expected)
                     for p in found]
    if problems:
        raise RawReportError(problems, stage="validating raw reports against the schemas")
    return RawReports(reports=validated_reports, figures=validated_figures)


def table_problems(table: str, frame: pd.DataFrame, model: type[pa.DataFrameModel]) -> list[Problem]:
    """Validate a warehouse table; [] when it passes. Rows are named by their report and key."""
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        def locate(index: object) -> tuple[str, str, str]:
            if index is None or "report_id" not in frame.columns:
                return f"table {table}", "", ""
            row = frame.loc[index]
            key = row.get("figure_id", row.get("check_name", ""))
            return f"table {table}", "", f"row {index} (report {row['report_id']}{', ' + str(key) if key else ''})"
        return failure_problems(exc, model, locate)
    return []
