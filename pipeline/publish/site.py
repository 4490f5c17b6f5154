"""The offline report page: `site/index.html` and one page per report (`site/reports/<id>.html`),
written from a warehouse file by every refresh (pipeline.publish.release publishes them with the file).

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
import os
from pathlib import Path

from pipeline.publish.catalog import Relation, display, money, relations
from pipeline.publish.charts import all_charts

MAX_ROWS = 500  # rows of a table on the index page; all of them are in the exports


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("pipeline.publish", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = money
    return env


def _rows(con, query: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(query, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _table(con, relation: Relation) -> dict:
    """A relation's rows (the first MAX_ROWS), every cell as a person reads it (for tables the page does
    not know by name)."""
    total = con.execute(f"SELECT count(*) FROM {relation.sql}").fetchone()[0]
    rows = _rows(con, f"SELECT * FROM {relation.sql} ORDER BY ALL LIMIT ?", [MAX_ROWS])
    return {"name": relation.name, "comment": relation.comment, "columns": [c.name for c in relation.columns],
            "rows": [[display(row[c.name], c, row) for c in relation.columns] for row in rows], "total": total}


def build_info(con) -> dict:
    rows = _rows(con, "SELECT * REPLACE (date_trunc('second', built_at) AS built_at) FROM build.info")
    return rows[0] if rows else {}


def write(con, target: Path, export_formats: dict[str, list[str]], previous: Path | None = None) -> Path:
    """Write the pages for the file `con` has open into `target` (created); returns index.html. A report's
    page that `previous` (the published site) has, made from the same report folder and code, is reused
    (hard-linked) rather than written again: an incremental refresh writes only the changed reports' pages."""
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
    failed_total = con.execute("SELECT count(*) FROM validation_results WHERE NOT passed").fetchone()[0]
    failed = _rows(con, """SELECT report_id, check_name, severity, value_basis, message FROM validation_results
                            WHERE NOT passed ORDER BY report_id, check_name, value_basis LIMIT ?""", [MAX_ROWS])
    comparisons = [_table(con, have[name]) for name in ("source_comparisons", "estimates") if name in have]
    changes = _table(con, have["report_changes"]) if "report_changes" in have else None
    info = build_info(con)
    charts = all_charts(con)
    (target / "charts").mkdir(parents=True, exist_ok=True)
    for chart in charts:  # also as files, for the UI's metadata (pipeline.publish.release.charts_markdown) and for reuse
        if chart.svg:
            (target / "charts" / f"{chart.name}.svg").write_text(chart.svg, encoding="utf-8")
    (target / "charts" / "charts.json").write_text(json.dumps(
        [{"name": c.name, "title": c.title, "caption": c.caption, "skipped": c.skipped} for c in charts], indent=1),
        encoding="utf-8")
    index = target / "index.html"
    index.write_text(env.get_template("index.html").render(
        build=info, latest=latest, totals=totals, charts=charts, failed=failed, failed_total=failed_total, reports=reports,
        comparisons=comparisons, missing_views=[n for n in ("estimates", "source_comparisons") if n not in have],
        changes=changes, exports=export_formats, dictionary=[have[n] for n in sorted(have)]), encoding="utf-8")

    figures = _rows(con, "SELECT * FROM figures ORDER BY report_id, topic, subject, period_start, figure_id")
    checks = _rows(con, "SELECT * FROM validation_results ORDER BY report_id, passed, check_name, value_basis")
    by_report: dict[str, tuple[list, list]] = {r["report_id"]: ([], []) for r in reports}
    for figure in figures:
        by_report[figure["report_id"]][0].append(figure)
    for check in checks:
        by_report[check["report_id"]][1].append(check)
    pages = target / "reports"
    pages.mkdir(exist_ok=True)
    style = env.get_template("_style.html").render()
    keys = _page_keys(con, style)
    reusable = _previous_pages(previous, keys)
    for report in reports:
        report_id = report["report_id"]
        page = pages / f"{report_id}.html"
        if report_id in reusable:
            try:
                os.link(reusable[report_id], page)  # the same bytes, shared: pages are never written in place
                continue
            except OSError:
                pass
        report_figures, report_checks = by_report[report_id]
        page.write_text(report_page(style, keys.get(report_id, ""), report, report_figures, report_checks),
                        encoding="utf-8")
    (pages / PAGES_MANIFEST).write_text(json.dumps(keys, sort_keys=True), encoding="utf-8")
    return index


PAGES_MANIFEST = "pages.json"


def _page_keys(con, style: str) -> dict[str, str]:
    """{report_id: what its page is made from}: the report folder's digest (its files and the pipeline's
    code, pipeline.read.report_cache) and the page's style."""
    import hashlib

    style_digest = hashlib.sha256(style.encode()).hexdigest()[:16]
    try:
        folders = con.execute("SELECT report_id, folder_digest FROM build.report_folders").fetchall()
    except Exception:  # a file without its build record: every page is written
        return {}
    return {report_id: f"{digest}:{style_digest}" for report_id, digest in folders}


def _previous_pages(previous: Path | None, keys: dict[str, str]) -> dict[str, Path]:
    """The pages of the previously published site that were made from what this one's would be."""
    if previous is None or not (previous / "reports" / PAGES_MANIFEST).exists():
        return {}
    try:
        before = json.loads((previous / "reports" / PAGES_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {report_id: previous / "reports" / f"{report_id}.html" for report_id, key in before.items()
            if key and keys.get(report_id) == key and (previous / "reports" / f"{report_id}.html").is_file()}


def report_page(style: str, key: str, report: dict, figures: list[dict], checks: list[dict]) -> str:
    """One report's page. Written with f-strings and html.escape rather than a Jinja template: a refresh
    of 5,000 reports writes 5,000 pages of 160,000 figures, which the template rendered three times slower."""
    from html import escape

    def e(value) -> str:
        return "" if value is None else escape(str(value))

    def note(text) -> str:
        return f'<br><span class="note">{e(text)}</span>' if text else ""

    inherited = " (the report's period)"

    def amount(usd, count) -> str:
        return f"{e(money(usd))} ({usd:.0f})" if usd is not None else e(count)

    r = report
    out = [f"""<!doctype html>
<html lang="en">
<head>
{style}
<title>{e(r["title"])}</title>
</head>
<body>
<p><a href="../index.html">All estimates</a></p>
<h1>{e(r["title"])}</h1>
<p class="stamp">Report <code>{e(r["report_id"])}</code>. Made from its folder as digested in
<code>build.report_folders</code> (<code>{e(key.split(":")[0][:16])}</code>); the index names the refresh.</p>
<table id="report-metadata">
<tr><th>publisher</th><td>{e(r["publisher"])}</td></tr>
<tr><th>published on</th><td>{e(r["published_on"])}{note(r.get("published_on_basis"))}</td></tr>
<tr><th>series</th><td>{e(r["series"])}</td></tr>
<tr><th>period</th><td>{e(r["period_start"])} to {e(r["period_end"])}{note(r.get("period_basis"))}</td></tr>
<tr><th>document</th><td><code>raw/{e(r["report_id"])}/{e(r["source_file"])}</code> ({e(r["source_bytes"])} bytes,
sha256 <code>{e(r["source_sha256"])}</code>){f"<br>from {e(r['source_url'])}" if r.get("source_url") else ""}</td></tr>
{f'<tr><th>notes</th><td>{e(r["notes"])}</td></tr>' if r.get("notes") else ""}
</table>
<h2>Figures</h2>
<p>Each figure as the report states it, the sentence that states it (verified in the stored document), and its best estimate.</p>
"""]
    for f in figures:
        out.append(f"""<div class="figure" id="figure-{e(f["figure_id"])}">
<h3><code>{e(f["figure_id"])}</code>: {e(f["topic"])} {e(f["subject"])}</h3>
<table>
<tr><th>as written</th><td>{e(f["value_text"])}{f" ({e(f['qualifier'])})" if f.get("qualifier") else ""}</td></tr>
<tr><th>as published</th><td{' class="published"' if f["corrected"] else ""}>{amount(f["amount_usd"], f["quantity"])}</td></tr>
<tr><th>best estimate</th><td>{amount(f["best_amount_usd"], f["best_quantity"])}</td></tr>
<tr><th>period</th><td>{e(f["period_start"])} to {e(f["period_end"])}{inherited if f.get("period_inherited") else ""}</td></tr>
</table>
<blockquote class="quote">{e(f["quote"])}</blockquote>
""")
        if f["corrected"]:
            out.append(f"<p><strong>Corrected</strong> ({e(f['correction_basis'])}) to "
                       f"{e(f['correction_value_text'] or f['correction_value'])}"
                       f"{': ' + e(f['correction_note']) if f.get('correction_note') else ''}</p>\n")
            if f["correction_basis"] == "cited":
                out.append(f'<p class="citation">Cited: {e(f["cited_publisher"])}, “{e(f["cited_title"])}”, '
                           f'{e(f["cited_date"])}{", " + e(f["cited_url"]) if f.get("cited_url") else ""}</p>\n')
            if f.get("correction_reasoning"):
                out.append(f'<p class="citation">Reasoning: {e(f["correction_reasoning"])}</p>\n')
            if f.get("correction_evidence_quote"):
                out.append(f'<blockquote class="evidence">{e(f["correction_evidence_quote"])}<br>'
                           f'<span class="note">({e(f["correction_evidence_file"])})</span></blockquote>\n')
        out.append("</div>\n")
    out.append('<h2>Checks</h2>\n<table id="report-checks">\n<tr><th>check</th><th>severity</th><th>values</th>'
               "<th>result</th><th>message</th></tr>\n")
    for c in checks:
        result = "passed" if c["passed"] else ("not compared" if c["passed"] is None else "did not pass")
        out.append(f"<tr><td>{e(c['check_name'])}</td><td>{e(c['severity'])}</td><td>{e(c['value_basis'])}</td>"
                   f"<td class=\"{'ok' if c['passed'] else 'warn'}\">{result}</td><td>{e(c['message'])}</td></tr>\n")
    out.append("</table>\n</body>\n</html>\n")
    return "".join(out)
