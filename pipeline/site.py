"""The offline report page: `site/index.html` and one page per report (`site/reports/<id>.html`),
written from a warehouse file by every refresh (pipeline.release publishes them with the file).

The pages are self-contained: the charts are inline SVG, the styles are in the page, there is no
script, font or image to fetch, so they work from file:// with no network. They say which refresh
built them (the file's build.info) and link to the exports (../export/).

What the index shows: the current estimate of each channel (best estimate and as published), the
charts, the comparisons between sources and between editions where the warehouse has them, the checks
that did not pass, every report, the exports and the data dictionary. Each report's page: its
metadata and stored document, every figure with the quote that states it, its correction with the
citation or reasoning, and every check run on it.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.catalog import Relation, display, money, relations
from pipeline.charts import all_charts


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("pipeline", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = money
    return env


def _rows(con, query: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(query, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _table(con, relation: Relation, order: str = "ALL") -> dict:
    """A relation's rows, every cell as a person reads it (for tables the page does not know by name)."""
    rows = _rows(con, f'SELECT * FROM "{relation.name}" ORDER BY {order}')
    return {"name": relation.name, "comment": relation.comment, "columns": [c.name for c in relation.columns],
            "rows": [[display(row[c.name], c, row) for c in relation.columns] for row in rows]}


def build_info(con) -> dict:
    rows = _rows(con, "SELECT * REPLACE (date_trunc('second', built_at) AS built_at) FROM build.info")
    return rows[0] if rows else {}


def write(con, target: Path, export_names: list[str]) -> Path:
    """Write the pages for the file `con` has open into `target` (created); returns index.html."""
    env = _environment()
    have = {r.name: r for r in relations(con)}
    reports = _rows(con, """
        SELECT r.*, (SELECT count(*) FROM figures f WHERE f.report_id = r.report_id) AS figures,
               (SELECT count(*) FROM figures f WHERE f.report_id = r.report_id AND f.corrected) AS corrections,
               (SELECT count(*) FROM validation_results v WHERE v.report_id = r.report_id AND NOT v.passed) AS warnings
          FROM reports r ORDER BY r.published_on DESC, r.report_id""")
    latest = _rows(con, """SELECT channel, income_usd, income_usd_as_published, period_start, period_end, corrected,
                                  correction_basis, report_id, published_on, series
                             FROM latest_channels ORDER BY channel, period_start""") if "latest_channels" in have else []
    totals = _rows(con, """SELECT f.report_id, r.published_on, f.value_text, f.amount_usd, f.best_amount_usd,
                                  f.period_start, f.period_end, f.corrected
                             FROM figures f JOIN reports r USING (report_id)
                            WHERE f.topic = 'total' ORDER BY r.published_on DESC, f.report_id""")
    failed = _rows(con, """SELECT report_id, check_name, severity, value_basis, message FROM validation_results
                            WHERE NOT passed ORDER BY report_id, check_name, value_basis""")
    comparisons = [_table(con, have[name]) for name in ("source_comparisons", "estimates") if name in have]
    changes = _table(con, have["report_changes"]) if "report_changes" in have else None
    info = build_info(con)
    charts = all_charts(con)
    (target / "charts").mkdir(parents=True, exist_ok=True)
    for chart in charts:  # also as files, for the UI's metadata (pipeline.release.charts_markdown) and for reuse
        if chart.svg:
            (target / "charts" / f"{chart.name}.svg").write_text(chart.svg, encoding="utf-8")
    (target / "charts" / "charts.json").write_text(json.dumps(
        [{"name": c.name, "title": c.title, "caption": c.caption, "skipped": c.skipped} for c in charts], indent=1),
        encoding="utf-8")
    index = target / "index.html"
    index.write_text(env.get_template("index.html").render(
        build=info, latest=latest, totals=totals, charts=charts, failed=failed, reports=reports,
        comparisons=comparisons, missing_views=[n for n in ("estimates", "source_comparisons") if n not in have],
        changes=changes, exports=export_names, dictionary=[have[n] for n in sorted(have)]), encoding="utf-8")

    figures = _rows(con, "SELECT * FROM figures ORDER BY report_id, topic, subject, period_start, figure_id")
    checks = _rows(con, "SELECT * FROM validation_results ORDER BY report_id, passed, check_name, value_basis")
    by_report: dict[str, tuple[list, list]] = {r["report_id"]: ([], []) for r in reports}
    for figure in figures:
        by_report[figure["report_id"]][0].append(figure)
    for check in checks:
        by_report[check["report_id"]][1].append(check)
    pages = target / "reports"
    pages.mkdir(exist_ok=True)
    template = env.get_template("report.html")
    for report in reports:
        report_figures, report_checks = by_report[report["report_id"]]
        (pages / f"{report['report_id']}.html").write_text(template.render(
            build=info, report=report, figures=report_figures, checks=report_checks), encoding="utf-8")
    return index
