"""What each table asset's materialization shows in the Dagster UI: its rows, as Markdown.

- `preview`: a Markdown table of the rows (all of them where the table is small, else the first rows
  and the count), money in readable form beside the exact value ("$1.35 billion (1350000000)"),
  what each row is about and its numbers first. The asset's Overview tab shows metadata in a narrow
  column that cuts what is wider, so the preview has at most NARROW_COLUMNS columns (the others are
  named below it; every column is on the report page and in the exports). The UI renders Markdown
  inline only under 1,000 characters (longer entries hide behind a "[Show Markdown]" click), so the
  preview is fitted to that: values every row shares are said once above the table, long texts are
  cut, and columns that do not fit are named below it.
- `dagster/column_schema`: the table's columns in its own order with DuckDB's types (VARCHAR,
  DOUBLE, DATE) and the descriptions written into the file (pipeline.publish.catalog.describe).
- for `validation_results`, `checks_not_passed`: the checks that did not pass with their messages,
  as a table (which the UI renders inline at any length).
"""

from __future__ import annotations

import dagster as dg

from pipeline.publish.catalog import USD, Relation, display

INLINE_LIMIT = 1000  # the UI renders Markdown shorter than this inline
SMALL = 10  # tables with at most this many rows are shown whole
FIRST_ROWS = 5
CELL = 40  # characters of a text cell shown
NARROW_COLUMNS = 3  # columns of a preview table: what fits the Overview tab's metadata column (seen in Chromium)


def _cell(value, column, row: dict) -> str:
    text = " ".join(display(value, column, row).split()).replace("|", "\\|")
    return text if len(text) <= CELL else text[:CELL - 1] + "…"


def preview_markdown(con, relation: Relation, limit: int = INLINE_LIMIT) -> str:
    """The rows of `relation` as Markdown, fitted under `limit` characters where it can be: columns of
    long text are left out first, then columns from the right (their names are listed)."""
    total = con.execute(f"SELECT count(*) FROM {relation.sql}").fetchone()[0]
    if total == 0:
        return f"**{relation.name}**: no rows."
    shown = total if total <= SMALL else FIRST_ROWS
    cursor = con.execute(f"SELECT * FROM {relation.sql} ORDER BY ALL LIMIT ?", [shown])
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    columns = [relation.column(n) for n in names]
    cells = [[_cell(row[c.name], c, row) for c in columns] for row in rows]
    count = f"all {total} rows" if shown == total else f"the first {shown} of {total:,} rows (ordered by every column)"
    if len(rows) == 1:  # one row reads better as a list of columns and values
        names_and_values = [(c.name, cells[0][i]) for i, c in enumerate(columns)]
        return _fit(f"**{relation.name}**: its only row", ["column", "value"], names_and_values, limit)
    # values every row shares are said once, above the table
    shared = [i for i in range(len(columns)) if len({r[i] for r in cells}) == 1]
    # as a list, one short line each: a long paragraph runs past the Overview tab's column and is cut
    header = f"**{relation.name}**: {count}" + ("; in every row:\n\n" + "\n".join(
        f"- `{columns[i].name}` = {cells[0][i] or 'NULL'}" for i in shared) if shared else "")
    sparse = {i for i in range(len(columns)) if sum(row[i] == "" for row in cells) * 2 > len(cells)}
    varying = [i for i in range(len(columns)) if i not in shared]
    varying = sorted(varying, key=lambda i: (i in sparse, _priority(columns[i], [columns[j] for j in varying])))
    varying, narrowed = varying[:NARROW_COLUMNS], varying[NARROW_COLUMNS:]
    return _fit(header, [columns[i].name for i in varying], [[row[i] for i in varying] for row in cells], limit,
                by_column=True, left_out_before=[columns[i].name for i in narrowed])


def _priority(column, columns) -> int:
    """The order in which the preview shows a table's columns, the UI's value column being narrow: what
    the row is about (its first text column that is not an id), then the numbers, the periods, other
    short values, ids, and text last; columns empty in most rows shown come after all of them."""
    first_text = next((c for c in columns if c.type == "VARCHAR" and not c.name.endswith("_id")), None)
    if column is first_text:
        return 0
    if column.type in ("DOUBLE", "BIGINT", "INTEGER", "HUGEINT", "FLOAT", "DECIMAL"):
        return 1 if column.unit in ("", USD, "count") else 2  # the values before a period's length in years
    if column.type in ("DATE", "TIMESTAMP"):
        return 2
    if column.name.endswith("_id"):
        return 4
    return 3


def _fit(header: str, names: list[str], rows: list, limit: int, by_column: bool = False,
         left_out_before: list[str] | None = None) -> str:
    """A Markdown table under `limit` characters: with `by_column`, columns are left out (those whose
    text was cut first, then the last ones); else rows (those whose value was cut first, then from the
    end). What was left out is named, after `left_out_before` (columns the caller left out)."""
    count = len(names) if by_column else len(rows)
    def cut(i: int) -> bool:
        values = [row[i] for row in rows] if by_column else [rows[i][1]]
        return any(v.endswith("…") for v in values)
    order = sorted(range(count), key=lambda i: (not cut(i), -i))  # the order in which to leave them out
    text = ""
    for drop in range(count):
        kept = sorted(set(range(count)) - set(order[:drop]))
        left_out = (left_out_before or []) + [names[i] if by_column else rows[i][0] for i in sorted(order[:drop])]
        if by_column:
            table = ["| " + " | ".join(names[i] for i in kept) + " |", "|" + "---|" * len(kept)]
            table += ["| " + " | ".join(row[i] for i in kept) + " |" for row in rows]
        else:
            table = ["| " + " | ".join(names) + " |", "|---|---|"]
            table += [f"| {rows[i][0]} | {rows[i][1]} |" for i in kept]
        named = ", ".join(left_out)
        named = named if len(named) <= 120 else named[:named.rfind(", ", 0, 120)] + ", …"
        text = "\n".join([header, "", *table] + ([f"\nNot shown here ({len(left_out)}): {named}."] if left_out else []))
        if len(text) < limit:
            return text
    return text  # the smallest form: behind the UI's "[Show Markdown]"


def column_schema(relation: Relation) -> dg.TableSchema:
    return dg.TableSchema(columns=[
        dg.TableColumn(name=c.name, type=c.type, description=c.comment or None,
                       constraints=dg.TableColumnConstraints(nullable=c.nullable))
        for c in relation.columns])


def checks_not_passed(con) -> dg.MetadataValue:
    """The rows of validation_results that did not pass, as a table the UI shows inline."""
    # the message right after the check's name: the UI's value column is narrow and cuts what is on its right
    rows = con.execute("""SELECT check_name, message, value_basis, severity, report_id FROM validation_results
                           WHERE NOT passed ORDER BY report_id, check_name, value_basis""").fetchall()
    names = ["check_name", "message", "value_basis", "severity", "report_id"]
    return dg.MetadataValue.table(
        records=[dg.TableRecord(dict(zip(names, row, strict=True))) for row in rows],
        schema=dg.TableSchema(columns=[dg.TableColumn(name=n, type="VARCHAR") for n in names]))


def metadata(con, relation: Relation) -> dict:
    """The metadata of one table asset's materialization."""
    entries: dict = {
        "preview": dg.MetadataValue.md(preview_markdown(con, relation)),
        "dagster/column_schema": column_schema(relation),
    }
    if relation.name == "validation_results":
        failed = con.execute("SELECT count(*) FROM validation_results WHERE NOT passed").fetchone()[0]
        entries["checks_not_passed_count"] = failed
        entries["checks_not_passed"] = checks_not_passed(con)
    return entries
