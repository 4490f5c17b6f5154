"""What a refresh changes for analysts: the new warehouse against the one it replaces."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.validate.report_checks import usd

# One row per figure, keyed by report and figure id, with what an analyst reads from it.
_FIGURE_STATE = """
SELECT report_id, figure_id, topic, subject,
       coalesce(amount_usd, quantity::DOUBLE) AS value,
       coalesce(best_amount_usd, best_quantity::DOUBLE) AS best_value,
       period_start, period_end
FROM {db}.figures
"""


def _value(value: float | None, topic: str) -> str:
    if value is None:
        return "NULL"
    return f"{value:,.0f}" if topic == "arms" else usd(value)


def diff_warehouses(old: Path, new: Path) -> list[str]:
    """Lines saying what differs: reports added or removed, figures added, removed or changed
    (value as published, best estimate or period). [] when nothing did."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("ATTACH ? AS old (READ_ONLY)", [str(old)])
        con.execute("ATTACH ? AS new (READ_ONLY)", [str(new)])
        added = [r[0] for r in con.execute(
            "SELECT report_id FROM new.reports EXCEPT SELECT report_id FROM old.reports ORDER BY 1").fetchall()]
        removed = [r[0] for r in con.execute(
            "SELECT report_id FROM old.reports EXCEPT SELECT report_id FROM new.reports ORDER BY 1").fetchall()]
        rows = con.execute(f"""
            WITH o AS ({_FIGURE_STATE.format(db="old")}), n AS ({_FIGURE_STATE.format(db="new")})
            SELECT coalesce(n.report_id, o.report_id), coalesce(n.figure_id, o.figure_id),
                   coalesce(n.topic, o.topic), o.figure_id IS NULL, n.figure_id IS NULL,
                   o.value, n.value, o.best_value, n.best_value,
                   o.period_start, o.period_end, n.period_start, n.period_end
            FROM o FULL OUTER JOIN n ON o.report_id = n.report_id AND o.figure_id = n.figure_id
            WHERE (o.figure_id IS NULL OR n.figure_id IS NULL
                   OR o.value IS DISTINCT FROM n.value OR o.best_value IS DISTINCT FROM n.best_value
                   OR o.period_start IS DISTINCT FROM n.period_start OR o.period_end IS DISTINCT FROM n.period_end)
            ORDER BY 1, 2""").fetchall()
    finally:
        con.close()
    lines = [f"new report {r}" for r in added] + [f"report removed: {r}" for r in removed]
    for (report_id, figure_id, topic, is_new, is_gone, old_v, new_v, old_b, new_b,
         old_start, old_end, new_start, new_end) in rows:
        if report_id in added or report_id in removed:
            continue  # said once for the whole report
        if is_new:
            lines.append(f"{report_id}/{figure_id}: new figure, {_value(new_v, topic)}")
        elif is_gone:
            lines.append(f"{report_id}/{figure_id}: figure removed (was {_value(old_v, topic)})")
        else:
            parts = []
            if old_v != new_v:
                parts.append(f"as published {_value(old_v, topic)} -> {_value(new_v, topic)}")
            if old_b != new_b:
                parts.append(f"best estimate {_value(old_b, topic)} -> {_value(new_b, topic)}")
            if (old_start, old_end) != (new_start, new_end):
                parts.append(f"period {old_start}..{old_end} -> {new_start}..{new_end}")
            lines.append(f"{report_id}/{figure_id}: " + "; ".join(parts))
    return lines
