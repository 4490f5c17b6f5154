"""What a warehouse file holds, read from the file itself, and the data dictionary written into it.

Every other view of the data (the previews in the UI, the charts, the report page, the exports and
their datapackage.json) discovers the tables and views of schema `main` here, from DuckDB's own
catalog (`duckdb_tables()`, `duckdb_views()`, `duckdb_columns()`), so that a table or view added to
the warehouse is previewed, exported and described without a change to them.

`describe` writes the data dictionary into the file: `COMMENT ON` every table, view and column whose
pandera model describes it (pipeline/validate/column_schemas.json, derived from pipeline.validate.schemas), so that

    SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'main'

is the dictionary, in whatever tool opens the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipeline.validate.column_schemas import _stored, column_schema, description

# Units of columns, by the naming rules of the warehouse contract (money in whole US dollars in
# columns ending _usd; counts of items in quantity columns).
USD = "USD"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB's type name: VARCHAR, DOUBLE, DATE, BIGINT, BOOLEAN, TIMESTAMP ...
    comment: str
    nullable: bool

    @property
    def sql(self) -> str:
        """The name as a quoted SQL identifier."""
        return identifier(self.name)

    @property
    def unit(self) -> str:
        """The unit of the column's values, or "" where it has none (text, dates, flags)."""
        if self.name.endswith("_usd") or self.name.endswith("_usd_as_published"):
            return USD
        if self.name in ("quantity", "best_quantity", "quantity_as_published"):
            return "count"
        if self.name == "years":  # the length of an estimate's period (estimates)
            return "year"
        return ""


@dataclass(frozen=True)
class Relation:
    name: str
    kind: str  # "table" or "view"
    comment: str
    columns: tuple[Column, ...]

    @property
    def sql(self) -> str:
        """The name as a quoted SQL identifier."""
        return identifier(self.name)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def relations(con) -> list[Relation]:
    """Every table and view of schema main, tables first, each in name order, with its columns in
    the relation's own order and DuckDB's type names."""
    found = con.execute("""
        SELECT table_name AS name, 'table' AS kind, coalesce(comment, '') FROM duckdb_tables()
         WHERE schema_name = 'main' AND database_name = current_database() AND NOT internal AND NOT temporary
        UNION ALL
        SELECT view_name, 'view', coalesce(comment, '') FROM duckdb_views()
         WHERE schema_name = 'main' AND database_name = current_database() AND NOT internal AND NOT temporary
        ORDER BY kind, name""").fetchall()
    columns: dict[str, list[Column]] = {}
    for table, column, data_type, comment, nullable in con.execute("""
            SELECT table_name, column_name, data_type, coalesce(comment, ''), is_nullable FROM duckdb_columns()
             WHERE schema_name = 'main' AND database_name = current_database() AND NOT internal
             ORDER BY table_name, column_index""").fetchall():
        columns.setdefault(table, []).append(Column(column, data_type, comment, bool(nullable)))
    return [Relation(name, kind, comment, tuple(columns.get(name, ()))) for name, kind, comment in found]


def identifier(name: str) -> str:
    """A name as a quoted SQL identifier (its double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """Text as an SQL string literal (its single quotes doubled), where DuckDB takes no parameter
    (COMMENT ON, COPY TO)."""
    return "'" + text.replace("'", "''") + "'"


def _described() -> dict[str, tuple[str, dict[str, str]]]:
    """{table: (description, {column: description})} from the pandera models (column_schemas.json)."""
    return {name: (description(name), {c.name: c.description or "" for c in column_schema(name).columns})
            for name in _stored()}


def describe(con) -> int:
    """COMMENT ON every table, view and column of schema main that a pandera model describes (the unit
    of money and count columns is added to their comment). Returns how many comments were written.
    Run on the staging file of every refresh (a rebuilt table loses its comments)."""
    described = _described()
    written = 0
    con.execute("BEGIN")  # one commit for hundreds of comments, not one each
    for relation in relations(con):
        table_text, column_texts = described.get(relation.name, ("", {}))
        keyword = "VIEW" if relation.kind == "view" else "TABLE"
        if table_text:
            comment = literal(" ".join(table_text.split()))
            con.execute(f"COMMENT ON {keyword} {relation.sql} IS {comment}")
            written += 1
        for column in relation.columns:
            text = " ".join(column_texts.get(column.name, "").split())
            if column.unit == USD and "dollar" not in text.lower():
                text = (text + " In US dollars (whole dollars).").strip()
            if text:
                comment = literal(text)
                con.execute(f"COMMENT ON COLUMN {relation.sql}.{column.sql} IS {comment}")
                written += 1
    con.execute("COMMIT")
    return written


_SCALES = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"), (1e3, "thousand"))


def money(value: float | None) -> str:
    """A dollar amount as a person reads it: 1.35e9 -> "$1.35 billion", 540e6 -> "$540 million"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    sign = "-" if value < 0 else ""
    amount = abs(value)
    for scale, word in _SCALES[:3]:
        if amount >= scale:
            return f"{sign}${amount / scale:.3g} {word}"
    return f"{sign}${amount:,.0f}"


def exact(value: float | None) -> str:
    """A dollar amount written in full (1350000000), as stored."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.0f}" if float(value).is_integer() else repr(value)


def display(value, column: Column, row: dict | None = None) -> str:
    """A cell as a person reads it: money readable with the exact value beside it ("$1.35 billion
    (1350000000)"), dates as ISO dates, counts with thousands separators, NULL as ""."""
    if value is None:
        return ""
    if column.unit == USD or (column.type == "DOUBLE" and not column.unit and (row or {}).get("unit") == USD):
        return f"{money(value)} ({exact(value)})"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.10g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
