"""Reading raw/: one folder per report, parsed into two frames (reports, figures).

A report folder holds
    report.toml   the report's metadata (title, publisher, dates, series, period, source file + sha256)
    figures.toml  every figure the document states, one [[figure]] table each
    <source>      the document as received, byte for byte (named by report.toml's source_file)

This module checks the *structure* of each file (valid TOML, UTF-8, required fields present and
non-empty, no unknown field, right types) with pydantic models, and the *provenance* of each figure
(its quote occurs in the stored source; its value as written occurs in its quote and says the
same number as its value). Constraints across rows (ids unique, known topics and units, periods
ordered) are the pandera schemas' work (`pipeline.validate.schemas`). Every problem in every report is
collected before one `RawReportError` is raised, so a run reports them all at once.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import rtoml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from pipeline.core import vocabulary as v
from pipeline.core.errors import Problem, RawReportError
from pipeline.core.text import expression_in_context, normalize, states_percent, value_expressions, visible
from pipeline.read.report_files import MAX_LOCATED_QUOTES, MAX_PROBLEMS_PER_REPORT, entry_problems

REPORT_FILE = "report.toml"
FIGURES_FILE = "figures.toml"
CORRECTIONS_FILE = "corrections.toml"  # optional
# Hand-typed TOML files are small; anything this large is a mistake and is refused unread.
MAX_TOML_BYTES = 1_000_000
# A stored document (article, PDF text) larger than this is refused rather than read whole.
MAX_SOURCE_BYTES = 20_000_000
# What a template leaves for a person to replace ("TODO: the document's headline"): a value still holding
# one is refused, never published. Upper case only: "todo" is a word of some languages' quotes.
PLACEHOLDER = re.compile(r"\b(?:TODO|FIXME|TBD|XXX)\b")

Text = Annotated[str, StringConstraints(pattern=r"\S")]  # required, not empty, not only spaces


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ReportMeta(_Strict):
    title: Text
    publisher: Text  # the body that made the estimate (think tank, panel, firm, agency)
    outlet: Text | None = None  # the outlet that published the stored document, where it is another
    published_on: date
    published_on_basis: Text | None = None
    series: Text
    period_start: date
    period_end: date
    period_basis: Text | None = None
    source_file: Text
    source_sha256: Text
    source_url: Text | None = None
    notes: Text | None = None


class FigureEntry(_Strict):
    id: Text
    topic: Text
    subject: Text
    item_type: Text | None = None
    measure: Text | None = None  # income, income_per_year, event, incidents, people, share; default from topic
    value: float | int = Field(allow_inf_nan=False)
    unit: Text
    value_text: Text
    qualifier: Text | None = None
    period_start: date | None = None
    period_end: date | None = None
    quote: Text


class CorrectionEntry(_Strict):
    """A person's correction of one figure, with its basis. The pipeline never corrects by itself."""

    figure_id: Text
    value: float | int = Field(allow_inf_nan=False)
    unit: Text
    value_text: Text | None = None  # the corrected value as the cited source writes it
    basis: Text  # "cited" or "inferred"
    cited_publisher: Text | None = None
    cited_title: Text | None = None
    cited_date: date | None = None
    cited_url: Text | None = None
    evidence_file: Text | None = None  # a stored copy of the cited source, in the report folder
    evidence_sha256: Text | None = None  # its sha256, verified at every load (python -m pipeline hash-evidence)
    evidence_quote: Text | None = None  # the passage of evidence_file that states the value
    reasoning: Text | None = None
    note: Text


CORRECTION_BASES = ("cited", "inferred")

# Every [[figure]] of a figures.toml validated in one call: much cheaper than one model_validate per
# figure. Used only as a fast path (see _figure_entries): when it fails, each figure is validated on
# its own again, so that the problems are exactly those of per-figure validation.
_FIGURE_LIST = TypeAdapter(list[FigureEntry])


@dataclass
class RawReports:
    """What raw/ holds, as frames with the columns of ReportSchema and FigureSchema."""

    reports: pd.DataFrame
    figures: pd.DataFrame


REPORT_COLUMNS = [
    "report_id", "title", "publisher", "published_on", "published_on_basis", "series",
    "period_start", "period_end", "period_basis", "source_file", "source_sha256", "source_bytes",
    "source_url", "notes", "outlet",
]
FIGURE_COLUMNS = [
    "report_id", "figure_id", "topic", "subject", "item_type", "value_as_published",
    "unit_as_published", "value_text", "qualifier", "amount_usd", "quantity", "period_start",
    "period_end", "period_inherited", "quote",
    "best_amount_usd", "best_quantity", "corrected", "correction_basis", "correction_value",
    "correction_unit", "correction_value_text", "correction_note", "correction_reasoning",
    "cited_publisher", "cited_title", "cited_date", "cited_url", "correction_evidence_file",
    "correction_evidence_quote", "measure", "bound", "share_percent", "best_share_percent",
]
_NO_CORRECTION = {
    "corrected": False, "correction_basis": None, "correction_value": None, "correction_unit": None,
    "correction_value_text": None, "correction_note": None, "correction_reasoning": None,
    "cited_publisher": None, "cited_title": None, "cited_date": None, "cited_url": None,
    "correction_evidence_file": None, "correction_evidence_quote": None,
}


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _read_small_text(path: Path, folder: str, problems: list[Problem], limit: int) -> str | None:
    """Read a UTF-8 text file, or record why it cannot be read."""
    if not path.is_file():
        problems.append(Problem(folder, path.name, found="no such file", expected=f"a file named {path.name}"))
        return None
    size = path.stat().st_size
    if size > limit:
        problems.append(Problem(folder, path.name, found=f"{size:,} bytes",
                                expected=f"at most {limit:,} bytes (refused unread)"))
        return None
    data = path.read_bytes()
    if not data.strip():
        problems.append(Problem(folder, path.name, found="an empty file", expected="content"))
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        problems.append(Problem(folder, path.name, where="line 1", found="a UTF-8 byte-order mark",
                                expected="UTF-8 without a byte-order mark (re-save without BOM)"))
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        hint = not_utf8(data, exc).partition("; ")[2]  # how to convert it, where it looks like Windows-1252
        problems.append(Problem(folder, path.name, where=f"line {line}",
                                found=f"byte 0x{data[exc.start]:02x}, which is not UTF-8",
                                expected="a UTF-8 text file" + (f" ({hint})" if hint else "")))
        return None


def _parse_toml(text: str, folder: str, name: str, problems: list[Problem]) -> dict | None:
    """A TOML document as plain data (rtoml: no object construction, no code), or None with a
    problem naming the line and column of the error."""
    try:
        return rtoml.loads(text)
    except rtoml.TomlParsingError as exc:
        message = str(exc).strip()
        match = re.search(r"at line (\d+) column (\d+)", message)
        where = f"line {match.group(1)}" if match else ""
        reason = re.sub(r"\s*at line \d+ column \d+", "", message).splitlines()[0]
        if match:
            reason += f", at column {match.group(2)}"
        lines = text.splitlines()
        line_number = int(match.group(1)) if match else 0
        year_range = _YEAR_RANGE.match(lines[line_number - 1]) if 0 < line_number <= len(lines) else None
        if year_range:
            key, first, last = year_range.groups()
            problems.append(Problem(folder, name, where=where, field=key,
                                    found=f"invalid TOML (a bare year range {first}-{last})",
                                    expected=f"a year range {first}-{last} means period_start = {first}-01-01 and "
                                             f"period_end = {last}-12-31 (TOML dates, no quotes)"))
        elif "recurs" in reason:
            problems.append(Problem(folder, name, where=where, found="tables or arrays nested too deeply to read",
                                    expected="a flat TOML file of [[figure]] / key = value lines"))
        else:
            problems.append(Problem(folder, name, where=where, found=f"invalid TOML ({reason})",
                                    expected="a valid TOML file (a stray or missing quote, bracket or '=' is the "
                                             "usual cause)"))
        return None


# `period_start = 2017-2023`: a year range typed where TOML wants a date
_YEAR_RANGE = re.compile(r"^[ \t]*([A-Za-z_]+)[ \t]*=[ \t]*(\d{4})[ \t]*[-\u2013\u2014][ \t]*(\d{4})[ \t]*(?:#.*)?$")


# `id = "..."`, searched for from its literal start "id" (a pattern that starts with "^[ \t]*" makes
# the regex engine try every position of the file); whether only blanks precede it on its line is
# checked per match. A match cannot span lines, so one inside a line never hides one at a line start.
_ID_ASSIGNMENT = re.compile(r"""id[ \t]*=[ \t]*["']([^"'\n]*)["']""")


def _figure_lines(text: str) -> dict[str, int]:
    """Line of each `id = "..."` (at the start of a line, after blanks) in figures.toml, so messages
    can point at the line."""
    lines: dict[str, int] = {}
    line, last = 1, 0
    for match in _ID_ASSIGNMENT.finditer(text):
        start = match.start()
        line_start = text.rfind("\n", 0, start) + 1
        if line_start != start and text[line_start:start].strip(" \t"):
            continue  # "id" inside a line ("paid = ..."), not an id assignment
        line += text.count("\n", last, line_start)
        last = line_start
        lines.setdefault(match.group(1), line)
    return lines


# When pydantic reports several errors for one field (a union such as float | int reports one per
# member), the most specific is kept.
_PRIORITY = {"missing": 0, "extra_forbidden": 0, "finite_number": 1, "string_pattern_mismatch": 2}


def _pydantic_problems(exc: ValidationError, folder: str, name: str, where: str = "") -> list[Problem]:
    best: dict[str, dict] = {}
    for err in exc.errors():
        # drop the union-member part of the location ("value.float") to keep the field name only
        loc = [p for p in err["loc"] if isinstance(p, (str, int)) and p not in ("float", "int", "str", "date")]
        field = ".".join(str(p) for p in loc)
        if field not in best or _PRIORITY.get(err["type"], 9) < _PRIORITY.get(best[field]["type"], 9):
            best[field] = err
    problems = []
    for field, err in best.items():
        kind = err["type"]
        if kind == "missing":
            found, expected = "nothing (the field is missing)", "a value"
        elif kind == "extra_forbidden":
            found = f"an unknown field = {_describe(err.get('input'))}"
            expected = "only the documented fields (see README, 'Adding a report'); check the spelling"
        elif kind == "string_pattern_mismatch":
            found, expected = _describe(err.get("input")), "a non-empty text"
        elif kind in ("float_type", "int_type", "float_parsing", "int_parsing"):
            found, expected = _describe(err.get("input")), "a number (TOML integer or float, no unit or text)"
        elif kind == "finite_number":
            found, expected = _describe(err.get("input")), "a finite number (not nan or inf)"
        elif kind in ("date_type", "date_parsing", "date_from_datetime_inexact"):
            found, expected = _describe(err.get("input")), "a TOML date such as 2024-09-03 (no quotes)"
        elif kind == "model_type":
            found, expected = _describe(err.get("input")), "a table of fields"
        else:
            found, expected = _describe(err.get("input")), err["msg"]
        problems.append(Problem(folder, name, where=where, field=field, found=found, expected=expected))
    return problems


def _figure_entries(figures_raw: dict, folder: str, lines: dict[str, int],
                    problems: list[Problem]) -> list[tuple[FigureEntry, str]]:
    """Each [[figure]] validated on its own, so one bad figure hides no other figure's problems."""
    unknown = [key for key in figures_raw if key != "figure"]
    for key in unknown:
        problems.append(Problem(folder, FIGURES_FILE, field=key, found=f"an unknown top-level key = "
                                f"{_describe(figures_raw[key])}", expected="only [[figure]] tables"))
    entries = figures_raw.get("figure")
    if not isinstance(entries, list) or not entries:
        found = _describe(entries) if entries else "no [[figure]] table (the key 'figure' is missing)"
        problems.append(Problem(folder, FIGURES_FILE, field="figure", found=found,
                                expected="at least one [[figure]] table"))
        return []
    try:  # the usual case, every figure valid: one call for them all
        models: list[FigureEntry] | None = _FIGURE_LIST.validate_python(entries)
    except ValidationError:
        models = None  # each figure is validated below on its own, for its own problems
    valid = []
    seen: dict[str, int] = {}
    for index, raw_entry in enumerate(entries):
        fig_id = raw_entry.get("id") if isinstance(raw_entry, dict) else None
        if isinstance(fig_id, str) and fig_id in seen:
            first = lines.get(fig_id)
            problems.append(Problem(folder, FIGURES_FILE, where=f"figure '{fig_id}'", field="id",
                                    found=f"the id of figures #{seen[fig_id] + 1}"
                                          + (f" (line {first})" if first else "") + f" and #{index + 1}",
                                    expected="an id unique within the report"))
        elif isinstance(fig_id, str):
            seen[fig_id] = index
        if isinstance(fig_id, str) and fig_id.strip():
            line = lines.get(fig_id)
            where = f"figure '{fig_id}'" + (f" (line {line})" if line else "")
        else:
            where = f"figure #{index + 1}"
        if models is not None:
            valid.append((models[index], where))
            continue
        try:
            valid.append((FigureEntry.model_validate(raw_entry), where))
        except ValidationError as exc:
            problems += _pydantic_problems(exc, folder, FIGURES_FILE, where)
    return valid


def _amount_and_quantity(entry: FigureEntry | CorrectionEntry
                         ) -> tuple[float | None, int | None, float | None, str | None]:
    """(amount_usd, quantity, share_percent, problem) for one figure's value and unit: money in whole
    dollars, counts whole, shares in percent. Exactly one of the three is set for a known unit."""
    if entry.unit in v.MONEY_UNITS:
        dollars = Decimal(repr(entry.value)) * v.MONEY_UNITS[entry.unit]
        if abs(dollars) > v.MAX_AMOUNT_USD:
            return None, None, None, (f"an amount of at most {v.MAX_AMOUNT_USD:.0e} US dollars (a figure larger than "
                                      "that is a typo or a wrong unit)")
        return float(round(dollars)), None, None, None
    if entry.unit in v.COUNT_UNITS:
        if isinstance(entry.value, float) and not float(entry.value).is_integer():
            return None, None, None, "a whole number for a count"
        if abs(entry.value) > v.MAX_QUANTITY:
            return None, None, None, f"a count of at most {v.MAX_QUANTITY:.0e}"
        return None, int(entry.value), None, None
    if entry.unit in v.SHARE_UNITS:
        if not 0 <= entry.value <= 100:
            return None, None, None, "a share between 0 and 100 (percent)"
        return None, None, float(entry.value), None
    return None, None, None, None  # an unknown unit is the schema's to report, with the accepted list


def load_report(folder_path: Path, raw_root: Path | None = None) -> tuple[dict | None, list[dict], list[Problem]]:
    """Parse one report folder. Returns (report row, figure rows, problems)."""
    report_id = folder_path.name
    base = raw_root.parent if raw_root is not None else folder_path.parent.parent
    try:
        folder = folder_path.relative_to(base).as_posix()
    except ValueError:
        folder = folder_path.as_posix()
    problems: list[Problem] = []
    if not re.fullmatch(v.SLUG_PATTERN, report_id):
        # the folder name is the report id (so two folders can never share one): say it once, here
        problems.append(Problem(folder, "", where="folder name (the report id)", found=repr(report_id),
                                expected="a slug of lower-case letters, digits and single hyphens: rename the folder"))

    meta_text = _read_small_text(folder_path / REPORT_FILE, folder, problems, MAX_TOML_BYTES)
    meta_raw = _parse_toml(meta_text, folder, REPORT_FILE, problems) if meta_text is not None else None
    meta = None
    if meta_raw is not None:
        try:
            meta = ReportMeta.model_validate(meta_raw)
        except ValidationError as exc:
            problems += _pydantic_problems(exc, folder, REPORT_FILE)
        if PLACEHOLDER.search(meta_text):
            placeholders = _placeholders(meta_raw, folder, REPORT_FILE, "")
            problems += placeholders
            if placeholders:
                meta = None  # no row: the schemas would only repeat what a placeholder breaks

    figures_text = _read_small_text(folder_path / FIGURES_FILE, folder, problems, MAX_TOML_BYTES)
    figures_raw = _parse_toml(figures_text, folder, FIGURES_FILE, problems) if figures_text is not None else None
    lines = _figure_lines(figures_text) if figures_text else {}
    entries = _figure_entries(figures_raw, folder, lines, problems) if figures_raw is not None else []

    # The document as received: hashed byte for byte, decoded only to find quotes in it. Even when
    # report.toml has problems, a usable source_file still lets every quote be checked.
    source_file = meta.source_file if meta else (meta_raw or {}).get("source_file")
    recorded_sha = meta.source_sha256 if meta else (meta_raw or {}).get("source_sha256")
    source_text, actual_sha, source_bytes = None, None, 0
    if isinstance(source_file, str) and source_file.strip():
        source_text, actual_sha, source_bytes = _read_source(folder_path, folder, source_file, recorded_sha, problems)

    # A row is built only from what passed its own checks, so the schemas never report the same
    # problem again through a derived column (a refused date, a missing document's size).
    usable_report = meta is not None and source_text is not None
    if meta is not None:
        for name in ("period_start", "period_end", "published_on"):
            if not _plausible(getattr(meta, name)):
                usable_report = False
                problems.append(Problem(folder, REPORT_FILE, field=name, found=str(getattr(meta, name)),
                                        expected=f"a date between {v.EARLIEST_PERIOD_YEAR} and {v.LATEST_PERIOD_YEAR}"))

    # Figures that failed their own checks are already reported: their corrections are not judged again.
    entries_raw = (figures_raw or {}).get("figure")
    written_ids = {e.get("id") for e in entries_raw if isinstance(e, dict) and isinstance(e.get("id"), str)} \
        if isinstance(entries_raw, list) else None
    corrections = _read_corrections(folder_path, folder, {e.id: e for e, _ in entries}, problems, written_ids)

    figure_rows: list[dict] = []
    normalized_source = normalize(source_text) if source_text is not None else None
    # Rows are built only under a report whose period is plausible (its figures inherit it).
    rows_wanted = meta is not None and _plausible(meta.period_start) and _plausible(meta.period_end)
    placeholder_figures = {id(e) for e, where in entries
                           if _placeholders(e.model_dump(exclude_none=True), folder, FIGURES_FILE, where, problems)
                           } if entries and PLACEHOLDER.search(figures_text or "") else set()
    unchecked = 0  # figures whose provenance is not checked once the report has too many problems
    for entry, where in entries:
        if id(entry) in placeholder_figures:
            continue  # the placeholder is the problem; its quote and value are not judged before it is filled in
        amount, quantity, share, value_problem = _amount_and_quantity(entry)
        if value_problem:
            problems.append(Problem(folder, FIGURES_FILE, where=where, field="value",
                                    found=_describe(entry.value), expected=value_problem))
        dates_ok = True
        for name, day in (("period_start", entry.period_start), ("period_end", entry.period_end)):
            if day is not None and not _plausible(day):
                dates_ok = False
                problems.append(Problem(folder, FIGURES_FILE, where=where, field=name, found=str(day),
                                        expected=f"a date between {v.EARLIEST_PERIOD_YEAR} and {v.LATEST_PERIOD_YEAR}"))
        if (entry.period_start is None) != (entry.period_end is None):
            missing = "period_end" if entry.period_end is None else "period_start"
            problems.append(Problem(folder, FIGURES_FILE, where=where, field=missing, found="nothing",
                                    expected="both period_start and period_end, or neither (to take the report's period)"))
        if len(problems) >= MAX_PROBLEMS_PER_REPORT:
            unchecked += 1
        else:
            located = sum(p.field == "quote" for p in problems) < MAX_LOCATED_QUOTES
            problems += _provenance_problems(entry, normalized_source, folder, where, source_file, located)
        if not rows_wanted or not dates_ok:
            continue
        row = {
            "report_id": report_id, "figure_id": entry.id, "topic": entry.topic, "subject": entry.subject,
            "item_type": entry.item_type, "value_as_published": float(entry.value),
            "unit_as_published": entry.unit, "value_text": entry.value_text, "qualifier": entry.qualifier,
            "amount_usd": amount, "quantity": quantity,
            "period_start": _timestamp(entry.period_start or meta.period_start),
            "period_end": _timestamp(entry.period_end or meta.period_end),
            "period_inherited": entry.period_start is None and entry.period_end is None, "quote": entry.quote,
            "best_amount_usd": amount, "best_quantity": quantity, **_NO_CORRECTION,
            # what the figure measures (income over its period unless the report says otherwise) and on
            # which side of the value the truth lies, as the qualifier says
            "measure": entry.measure or v.DEFAULT_MEASURE.get(entry.topic, v.INCOME),
            "bound": v.QUALIFIER_BOUNDS.get(entry.qualifier) if entry.qualifier else None,
            "share_percent": share, "best_share_percent": share,
        }
        if entry.id in corrections:
            row.update(corrections[entry.id])
        figure_rows.append(row)
    if meta is not None and meta.published_on > latest_today():
        usable_report = False
        problems.append(Problem(folder, REPORT_FILE, field="published_on",
                                found=f"{meta.published_on}, which is after today ({date.today()})",
                                expected="the date the document was published, which cannot be in the future "
                                         "(a typo in the year? a report dated ahead would become every latest_* row)"))
    if unchecked:
        problems.append(Problem(folder, FIGURES_FILE, found=f"{unchecked:,} more figure(s) whose quote and value were "
                                f"not checked, after {MAX_PROBLEMS_PER_REPORT} problems in this report",
                                expected="the problems above fixed first (the next refresh checks the rest)"))
    used = {REPORT_FILE, FIGURES_FILE, CORRECTIONS_FILE, source_file if isinstance(source_file, str) else ""}
    problems += entry_problems(folder_path, folder, used | {row.get("correction_evidence_file") for row in corrections.values()})
    if not usable_report:
        return None, figure_rows, problems
    report_row = {
        "report_id": report_id, "title": meta.title, "publisher": meta.publisher,
        "published_on": _timestamp(meta.published_on), "published_on_basis": meta.published_on_basis,
        "series": meta.series, "period_start": _timestamp(meta.period_start),
        "period_end": _timestamp(meta.period_end), "period_basis": meta.period_basis,
        "source_file": meta.source_file, "source_sha256": actual_sha or meta.source_sha256,
        "source_bytes": source_bytes, "source_url": meta.source_url, "notes": meta.notes, "outlet": meta.outlet,
    }
    return report_row, figure_rows, problems


def latest_today() -> date:
    """Today's date somewhere on Earth (UTC+14): a document dated today where it was published is not
    in the future here."""
    return (datetime.now(UTC) + timedelta(hours=14)).date()


def _placeholders(values: dict, folder: str, file: str, where: str, problems: list[Problem] | None = None
                  ) -> list[Problem]:
    """A problem for each field whose text still holds a template's placeholder (TODO, FIXME, TBD, XXX),
    added to `problems` when given."""
    found = [Problem(folder, file, where=where, field=key, found=f"{_describe(value)}, a placeholder left in",
                     expected="the value itself: fill in every TODO (an optional field may be deleted)")
             for key, value in values.items() if isinstance(value, str) and PLACEHOLDER.search(value)]
    if problems is not None:
        problems += found
    return found


def _plausible(day: date) -> bool:
    return v.EARLIEST_PERIOD_YEAR <= day.year <= v.LATEST_PERIOD_YEAR


@functools.lru_cache(maxsize=4096)
def _timestamp(day: date) -> pd.Timestamp:
    """pd.Timestamp(day), built once per distinct day: the figures of a run share a few dozen
    periods, and a Timestamp costs microseconds to build (it is immutable, so sharing one is safe)."""
    return pd.Timestamp(day)


def _is_file(path: Path) -> bool:
    """Path.is_file that says False for a name the file system refuses (too long, NUL byte)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _read_corrections(folder_path: Path, folder: str, figures: dict[str, FigureEntry],
                      problems: list[Problem], written_ids: set | None) -> dict[str, dict]:
    """corrections.toml, if the folder has one: {figure_id: the figure row's correction columns}."""
    path = folder_path / CORRECTIONS_FILE
    if not path.exists():
        return {}
    text = _read_small_text(path, folder, problems, MAX_TOML_BYTES)
    raw = _parse_toml(text, folder, CORRECTIONS_FILE, problems) if text is not None else None
    if raw is None:
        return {}
    for key in raw:
        if key != "correction":
            problems.append(Problem(folder, CORRECTIONS_FILE, field=key, found=f"an unknown top-level key = "
                                    f"{_describe(raw[key])}", expected="only [[correction]] tables"))
    entries = raw.get("correction")
    if not isinstance(entries, list) or not entries:
        problems.append(Problem(folder, CORRECTIONS_FILE, field="correction", found="no [[correction]] table",
                                expected="at least one [[correction]] table (or no corrections.toml)"))
        return {}
    found: dict[str, dict] = {}
    seen: set[str] = set()
    has_placeholder = PLACEHOLDER.search(text) is not None
    for index, raw_entry in enumerate(entries):
        fig_id = raw_entry.get("figure_id") if isinstance(raw_entry, dict) else None
        where = f"correction of '{fig_id}'" if isinstance(fig_id, str) and fig_id else f"correction #{index + 1}"
        try:
            entry = CorrectionEntry.model_validate(raw_entry)
        except ValidationError as exc:
            problems.extend(_pydantic_problems(exc, folder, CORRECTIONS_FILE, where))
            continue
        before = len(problems)
        if has_placeholder and _placeholders(raw_entry, folder, CORRECTIONS_FILE, where, problems):
            continue
        if entry.figure_id in seen:
            problems.append(Problem(folder, CORRECTIONS_FILE, where=where, field="figure_id",
                                    found=f"a second correction of '{entry.figure_id}'", expected="one correction per figure"))
        seen.add(entry.figure_id)
        if entry.figure_id not in figures and (written_ids is None or entry.figure_id in written_ids):
            continue  # its figure is unreadable or broken, and reported as such
        _check_correction(entry, figures, folder_path, folder, where, problems)
        if len(problems) > before:
            continue
        amount, quantity, share, value_problem = _amount_and_quantity(entry)
        if value_problem:
            problems.append(Problem(folder, CORRECTIONS_FILE, where=where, field="value", found=_describe(entry.value),
                                    expected=value_problem))
            continue
        figure = figures[entry.figure_id]
        found[entry.figure_id] = {
            "best_amount_usd": amount if figure.unit in v.MONEY_UNITS else None,
            "best_quantity": quantity if figure.unit in v.COUNT_UNITS else None,
            "best_share_percent": share if figure.unit in v.SHARE_UNITS else None,
            "corrected": True, "correction_basis": entry.basis, "correction_value": float(entry.value),
            "correction_unit": entry.unit, "correction_value_text": entry.value_text, "correction_note": entry.note,
            "correction_reasoning": entry.reasoning, "cited_publisher": entry.cited_publisher,
            "cited_title": entry.cited_title,
            "cited_date": _timestamp(entry.cited_date) if entry.cited_date else None,
            "cited_url": entry.cited_url, "correction_evidence_file": entry.evidence_file,
            "correction_evidence_quote": entry.evidence_quote,
        }
    return found


def _check_correction(entry: CorrectionEntry, figures: dict[str, FigureEntry], folder_path: Path, folder: str,
                      where: str, problems: list[Problem]) -> None:
    def problem(field: str, found: str, expected: str) -> None:
        problems.append(Problem(folder, CORRECTIONS_FILE, where=where, field=field, found=found, expected=expected))

    figure = figures.get(entry.figure_id)
    if figure is None:
        problem("figure_id", _describe(entry.figure_id), f"the id of a figure in {FIGURES_FILE}")
        return
    if entry.basis not in CORRECTION_BASES:
        problem("basis", _describe(entry.basis), f"one of {', '.join(CORRECTION_BASES)}")
    if entry.basis == "cited":
        for name in ("cited_publisher", "cited_title", "cited_date", "cited_url"):
            if getattr(entry, name) is None:
                problem(name, "nothing", "the citation of the source that states the corrected value (basis = cited)")
    if entry.cited_date is not None and not _plausible(entry.cited_date):
        problem("cited_date", str(entry.cited_date),
                f"a date between {v.EARLIEST_PERIOD_YEAR} and {v.LATEST_PERIOD_YEAR}")
    if entry.basis == "inferred" and entry.reasoning is None:
        problem("reasoning", "nothing", "the reasoning that leads to the corrected value (basis = inferred)")
    if entry.unit not in v.UNITS:
        problem("unit", _describe(entry.unit), f"one of {list(v.UNITS)}")
    elif figure.unit in v.UNITS and v.unit_kind(figure.unit) != v.unit_kind(entry.unit):
        problem("unit", _describe(entry.unit), f"a unit of the same kind as the figure's '{figure.unit}'")
    if entry.value < 0:
        problem("value", _describe(entry.value), "a value >= 0 (not negative)")
    elif entry.value == 0 and figure.topic in v.POSITIVE_TOPICS:  # as a published 0 is refused (FigureSchema)
        problem("value", "0", "a value above zero: zero is meaningless for a total, a channel or a count")
    if entry.unit in v.COUNT_UNITS and isinstance(entry.value, float) and not float(entry.value).is_integer():
        problem("value", _describe(entry.value), "a whole number for a count")
    if (entry.evidence_file is None) != (entry.evidence_quote is None):
        problem("evidence_quote" if entry.evidence_quote is None else "evidence_file", "nothing",
                "both evidence_file and evidence_quote, or neither")
    if entry.evidence_file is not None and entry.evidence_quote is not None:
        evidence = folder_path / entry.evidence_file
        text = None
        if "/" in entry.evidence_file or entry.evidence_file.startswith(".") or not _is_file(evidence):
            problem("evidence_file", _describe(entry.evidence_file), "the name of a stored file in the report folder")
        elif (link := _link_problem(evidence, folder_path)) is not None:
            problem("evidence_file", f"'{entry.evidence_file}', {link}", _STORED_COPY)
        elif evidence.stat().st_size > MAX_SOURCE_BYTES:
            problem("evidence_file", f"{entry.evidence_file!r}, {evidence.stat().st_size:,} bytes",
                    f"a stored file of at most {MAX_SOURCE_BYTES:,} bytes (refused unread)")
        else:
            text = _evidence_text(evidence, entry, folder, problem)
        if text is not None:
            if normalize(entry.evidence_quote) not in text:
                problem("evidence_quote", _describe(entry.evidence_quote),
                        f"a passage that occurs verbatim in {entry.evidence_file}")
            if entry.value_text is not None and normalize(entry.value_text) not in normalize(entry.evidence_quote):
                problem("value_text", _describe(entry.value_text), "text that occurs in evidence_quote")
    if entry.value_text is not None and entry.unit in v.UNITS:
        value_text = normalize(entry.value_text)
        context = normalize(entry.evidence_quote) if entry.evidence_quote is not None else None
        for field, found, expected in _value_problems(entry.value, entry.unit, entry.value_text, value_text,
                                                      context if context and value_text in context else None,
                                                      "evidence_quote"):
            problem(field, found, expected)


_STORED_COPY = "a copy stored as a regular file in the report folder (cp --dereference), not a link to a file elsewhere"


def _link_problem(path: Path, folder_path: Path) -> str | None:
    """Why a stored file must not be used: a symbolic link (to any file on the machine), or a path that
    resolves outside its report folder. None for a regular file of the folder."""
    try:
        if path.is_symlink():
            return f"a symbolic link to {os.readlink(path)!r}"
        if path.resolve().parent != folder_path.resolve():
            return f"a path that resolves outside the report folder, to {str(path.resolve())!r}"
    except (OSError, ValueError):
        return "a path that cannot be resolved"
    return None


def _evidence_text(path: Path, entry: CorrectionEntry, folder: str, problem) -> str | None:
    """The normalized text of a correction's evidence file, once its bytes match evidence_sha256 and
    decode as UTF-8; else None, with the problem recorded."""
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if entry.evidence_sha256 is None:
        problem("evidence_sha256", "nothing",
                f"the sha256 of {entry.evidence_file}, which is '{actual}' (python -m pipeline hash-evidence "
                f"{folder} fills it in)")
    elif entry.evidence_sha256 != actual:
        problem("evidence_sha256", f"'{entry.evidence_sha256}'",
                f"the sha256 of {entry.evidence_file}, which is '{actual}' (the evidence changed since the correction "
                "was written: re-check its evidence_quote, then run python -m pipeline hash-evidence " + folder + ")")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem("evidence_file", f"'{entry.evidence_file}', {not_utf8(data, exc)}", "a UTF-8 text file")
        return None
    return normalize(text)


def not_utf8(data: bytes, exc: UnicodeDecodeError) -> str:
    """What a person needs to know of bytes that are not UTF-8: where, and how to convert them when they
    look like Windows-1252 (Word, Excel and older web pages write it)."""
    line = data[: exc.start].count(b"\n") + 1
    where = f"byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line}), which is not UTF-8"
    if data.startswith(b"%PDF"):
        return f"{where}; the file is a PDF: store the text extracted from it"
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        # mixed files: a typographic quote or dash as Windows-1252 writes it (0x80-0x9f) is never a UTF-8 lead byte
        if not (0x80 <= data[exc.start] <= 0x9f and _defined_in_cp1252(data[exc.start])):
            return where
    return (f"{where}; the file looks like Windows-1252: convert it with "
            "iconv -f WINDOWS-1252 -t UTF-8 <file> > <file>.utf8 and store that (then update its sha256)")


def _defined_in_cp1252(byte: int) -> bool:
    try:
        bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def _read_source(folder_path: Path, folder: str, source_file: str, recorded_sha: object,
                 problems: list[Problem]) -> tuple[str | None, str | None, int]:
    """(text, sha256, size) of the stored document, recording why it cannot be used."""
    if "/" in source_file or "\\" in source_file or source_file.startswith("."):
        problems.append(Problem(folder, REPORT_FILE, field="source_file", found=_describe(source_file),
                                expected="a file name inside the report folder"))
        return None, None, 0
    path = folder_path / source_file
    if not _is_file(path):
        problems.append(Problem(folder, REPORT_FILE, field="source_file",
                                found=f"'{source_file}', which does not exist in {folder}",
                                expected="the name of the stored document in the report folder"))
        return None, None, 0
    link = _link_problem(path, folder_path)
    if link is not None:
        problems.append(Problem(folder, REPORT_FILE, field="source_file", found=f"'{source_file}', {link}",
                                expected=_STORED_COPY))
        return None, None, 0
    size = path.stat().st_size
    if size == 0:
        problems.append(Problem(folder, source_file, found="an empty file (0 bytes)", expected="the document as received"))
        return None, None, 0
    if size > MAX_SOURCE_BYTES:
        problems.append(Problem(folder, source_file, found=f"{size:,} bytes",
                                expected=f"at most {MAX_SOURCE_BYTES:,} bytes (refused unread)"))
        return None, None, size
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if isinstance(recorded_sha, str) and actual != recorded_sha:
        problems.append(Problem(
            folder, REPORT_FILE, field="source_sha256", found=f"'{recorded_sha}'",
            expected=f"the sha256 of {source_file}, which is '{actual}' (the document changed since its figures "
                     "were written: re-check every quote, then update source_sha256)"))
    try:
        return data.decode("utf-8"), actual, size
    except UnicodeDecodeError as exc:
        found = not_utf8(data, exc)
        problems.append(Problem(folder, source_file, found=found, expected="a UTF-8 text document" + (
            "" if "Windows-1252" in found or "PDF" in found else " (for a PDF, store the text extracted from it)")))
        return None, actual, size


def _provenance_problems(entry: FigureEntry, normalized_source: str | None, folder: str, where: str,
                         source_file: object, locate: bool = True) -> list[Problem]:
    """The quote occurs in the source; the value as written occurs in the quote and means the value
    (locate: say where a quote leaves the document, a search per character length of it)."""
    problems = []
    quote = normalize(entry.quote)
    if normalized_source is not None and quote not in normalized_source:
        problems.append(Problem(folder, FIGURES_FILE, where=where, field="quote",
                                found=_quote_mismatch(quote, normalized_source) if locate else
                                f"'{quote[:80]}{'...' if len(quote) > 80 else ''}', which does not occur in the document",
                                expected=f"a sentence or clause that occurs verbatim in {source_file} "
                                         "(white space, typographic quotes and dashes may differ)"))
    value_text = normalize(entry.value_text)
    in_quote = value_text in quote
    if not in_quote:
        problems.append(Problem(folder, FIGURES_FILE, where=where, field="value_text",
                                found=_describe(entry.value_text), expected="text that occurs in the figure's quote"))
    if entry.unit in v.UNITS:
        problems += [Problem(folder, FIGURES_FILE, where=where, field=field, found=found, expected=expected)
                     for field, found, expected in _value_problems(entry.value, entry.unit, entry.value_text, value_text,
                                                                   quote if in_quote else None, "quote")]
    return problems


def _quote_mismatch(quote: str, source: str) -> str:
    """The quote, and where it leaves the source: the longest start of it that occurs there."""
    low, high = 0, len(quote)
    while low < high:  # the longest prefix found in the source (a prefix of a found prefix is found too)
        middle = (low + high + 1) // 2
        if quote[:middle] in source:
            low = middle
        else:
            high = middle - 1
    shown = f"'{visible(quote[:80])}{'...' if len(quote) > 80 else ''}'"
    if low == 0:
        return f"{shown}, whose start does not occur in the document"
    return (f"{shown}, which matches the document up to '...{visible(quote[max(0, low - 30):low])}' and then reads "
            f"'{visible(quote[low:low + 30])}{'...' if len(quote) > low + 30 else ''}' where the document does not")


def _value_problems(value: float | int, unit: str, value_text: str, normalized_text: str, context: str | None,
                    context_name: str) -> list[tuple[str, str, str]]:
    """(field, found, expected) for each way value_text and value, unit disagree. value_text must be the
    whole value expression as `context` (the quote, already normalize(d); None: not checked) writes it,
    scale word included ("$3" where the quote says "$3 billion" is refused); whatever words surround its
    number, that number and scale must state value in unit; and a scale word must agree with a money
    unit ("$3 billion" is value = 3, unit = "USD billion")."""
    problems: list[tuple[str, str, str]] = []
    factor = v.MONEY_UNITS.get(unit)
    if states_percent(normalized_text) != (unit in v.SHARE_UNITS):
        # a share is written as one ("61%", "61 percent"), and only a share is
        return [("unit", f"'{unit}' with value_text '{visible(value_text)}'",
                 "unit = 'percent' for a value written as a percentage, and a percentage (61%, 61 percent) "
                 "as the value_text of a unit = 'percent' figure")]
    if context is not None:
        cut_short = expression_in_context(normalized_text, context, normalized=True)
        if cut_short is not None:
            longer, whole = cut_short
            means = longer.money_unit if factor is not None and longer.money_unit else None
            problems.append((
                "value_text",
                f"'{visible(value_text)}', but the {context_name} writes it as part of '{longer.text}'"
                + (f", which means {_plain(longer.number)} {means}" if means else "")
                + f" ({_plain(longer.number * longer.scale)}{' US dollars' if factor is not None else ''})",
                "the whole value expression as the " + context_name + " writes it, with its scale word"
                + (f": value_text = '{whole}', value = {_plain(longer.number)}, unit = '{means}'" if means else
                   f": value_text = '{whole}'")))
            return problems  # what value_text states is judged once it is whole
    expressions = value_expressions(normalized_text, normalized=True)
    if not expressions:
        return [("value_text", f"'{visible(value_text)}', which writes no number",
                 "the value as written, with its number in digits or words and its scale word (e.g. '$13.5 billion', "
                 "'937,500', 'nine')")]
    stated = Decimal(repr(value)) * (factor if factor is not None else 1)
    for expression in expressions:
        if expression.scale == 1 and factor is not None and factor != 1:
            # no scale word: the unit gives the scale ("$640" with USD thousand), so the number is the value
            agrees = _same(expression.number, Decimal(repr(value)))
        else:
            agrees = _same(expression.number * expression.scale, stated)
        if agrees:
            # "$13.5" with the scale in the unit only; a scale word must name the unit itself
            if factor is not None and expression.money_unit and expression.money_unit != unit:
                problems.append(("unit", f"'{unit}' with value = {value}",
                                 f"'{expression.money_unit}', the unit '{expression.text}' of value_text "
                                 f"'{value_text}' means (value = {_plain(expression.number)}, the number as written)"))
            return problems
    first = expressions[0]
    if factor is not None and first.money_unit and first.money_unit != unit and _same(first.number, Decimal(repr(value))):
        return [("unit", f"'{unit}', which makes {value} {unit} = {_plain(stated)} US dollars",
                 f"'{first.money_unit}', the unit '{first.text}' of value_text '{value_text}' means "
                 f"({_plain(first.number * first.scale)} US dollars)")]
    means = f" ({_plain(first.number)} {first.money_unit})" if factor is not None and first.money_unit else ""
    return [("value", f"{value} {unit}",
             f"the number its value_text '{value_text}' states: '{first.text}'{means}, "
             f"{_plain(first.number * first.scale)}{' US dollars' if factor is not None else ''}")]


def _same(a: Decimal, b: Decimal) -> bool:
    return a == b or math.isclose(float(a), float(b), rel_tol=1e-9)


def _plain(number: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 3E+9 -> '3,000,000,000', 13.50 -> '13.5'."""
    text = f"{number:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def report_folders(raw_dir: Path) -> list[Path]:
    """The report folders in raw/, sorted. Hidden folders and loose files are ignored."""
    with os.scandir(raw_dir) as entries:  # the directory entry's type: no stat per folder
        names = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith((".", "_")))
    return [raw_dir / name for name in names]


def _frame(rows: list[dict], columns: list[str], date_columns: tuple[str, ...]) -> pd.DataFrame:
    """pd.DataFrame(rows, columns=columns), the same frame, built faster.

    A date column whose every value is a tz-naive pd.Timestamp is one pandas infers as datetime64[ns],
    but it converts the second-resolution Timestamps that pd.Timestamp(date) makes one at a time, at
    about a third of the whole frame's cost. Such a column is built here from the Timestamps' values
    in nanoseconds instead. Any other column (or a date column holding anything else) is pandas' own.
    """
    built: dict[str, Any] = {}
    for column in date_columns:
        values = [row.get(column) for row in rows]
        if not values or not all(type(value) is pd.Timestamp and value.tzinfo is None for value in values):
            continue
        try:
            nanoseconds = [value.value for value in values]
        except OverflowError:  # beyond datetime64[ns] (1677-2262): left to pandas
            continue
        built[column] = pd.to_datetime(nanoseconds, unit="ns").array
    frame = pd.DataFrame(rows, columns=[column for column in columns if column not in built])
    for column in sorted(built, key=columns.index):  # left to right, so that each lands at its place
        frame.insert(columns.index(column), column, built[column])
    return frame


def read_raw(raw_dir: Path, only: list[Path] | None = None) -> tuple[RawReports, list[Problem]]:
    """Every report folder under raw_dir (or only the folders `only` of it) as frames, with every
    problem found (the frames hold the reports and figures that could be read, so that schema
    problems can be reported alongside)."""
    raw_dir = Path(raw_dir)
    name = raw_dir.name or str(raw_dir)
    empty = RawReports(pd.DataFrame(columns=REPORT_COLUMNS), pd.DataFrame(columns=FIGURE_COLUMNS))
    if not raw_dir.is_dir():
        return empty, [Problem(name, "", found="no such folder", expected="a folder of report folders")]
    folders = only or report_folders(raw_dir)  # folders to read are report folders: raw/ is not empty
    if not folders:
        return empty, [Problem(name, "", found="no report folders",
                               expected="at least one report folder (see README, 'Adding a report')")]
    report_rows, figure_rows, problems = [], [], []
    for folder_path in (folders if only is None else only):
        report, figures, found = load_report(folder_path, raw_dir)
        problems += found
        if report is not None:
            report_rows.append(report)
        figure_rows += figures
    reports = _frame(report_rows, REPORT_COLUMNS, ("published_on", "period_start", "period_end"))
    figures = _frame(figure_rows, FIGURE_COLUMNS, ("period_start", "period_end"))
    for column in ("quantity", "best_quantity"):
        figures[column] = figures[column].astype("Int64")
    for column in ("amount_usd", "best_amount_usd", "correction_value", "share_percent", "best_share_percent"):
        figures[column] = figures[column].astype("float64")
    figures["cited_date"] = pd.to_datetime(figures["cited_date"])
    figures["corrected"] = figures["corrected"].astype(bool)
    _share_repeated_values(figures, _VOCABULARY_COLUMNS)
    return RawReports(reports=reports, figures=figures), problems


# Columns whose values come from a small vocabulary (or repeat across reports), for _share_repeated_values.
_VOCABULARY_COLUMNS = ("figure_id", "topic", "subject", "item_type", "unit_as_published", "qualifier",
                       "correction_basis", "correction_unit", "measure", "bound")


def _share_repeated_values(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    """Make equal strings of these columns one object each (values unchanged). The TOML parser gives
    every figure its own str for "channel" or "USD billion"; shared, the frames take less memory and
    pickle (Dagster's IO manager hands them from step to step) in half the time: at 5,000 reports, two
    pickles of 40 MB took 1.5 s."""
    for column in columns:
        values = frame[column]
        if values.dtype != object or not len(values):
            continue
        codes, uniques = pd.factorize(values)
        shared = values.to_numpy(dtype=object, copy=True)
        known = codes >= 0  # missing values stay as they are
        shared[known] = np.asarray(uniques, dtype=object)[codes[known]]
        frame[column] = shared


def load_raw(raw_dir: Path) -> RawReports:
    """Load every report folder under raw_dir, or raise RawReportError listing every problem."""
    loaded, problems = read_raw(raw_dir)
    if problems:
        raise RawReportError(problems)
    return loaded
