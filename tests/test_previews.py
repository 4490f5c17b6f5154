"""The previews fit the asset Overview tab's narrow metadata column: a few columns, what each row is about
first, each value in its own unit (pipeline.publish.previews)."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.publish import catalog, previews

pytestmark = pytest.mark.slow


def _table_columns(markdown: str) -> list[str]:
    """The header of the Markdown table in a preview."""
    header = next(line for line in markdown.splitlines() if line.startswith("| "))
    return [cell.strip() for cell in header.strip("|").split("|")]


def test_previews_are_narrow_and_start_with_what_each_row_is_about(published_seed, raw_dir, warehouse_path):
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        relations = {r.name: r for r in catalog.relations(con)}
        shown = {name: previews.preview_markdown(con, relation) for name, relation in relations.items()}
    finally:
        con.close()
    for name, text in shown.items():
        if "| " in text:
            assert len(_table_columns(text)) <= previews.NARROW_COLUMNS, (name, text)
    # each estimate is about a channel (or the total): its name comes first, not a number
    assert _table_columns(shown["estimates"])[0] == "channel", shown["estimates"]
    assert _table_columns(shown["channels"])[0] == "channel", shown["channels"]
    # the values come before the length of the period, which is never shown as money
    assert _table_columns(shown["estimates"])[1:] == ["value", "value_as_published"], shown["estimates"]
    assert "years" in shown["estimates"] and "$7 (7)" not in shown["estimates"]
    # what is left out is named
    assert "Not shown here" in shown["figures"] and "subject" in shown["figures"]
