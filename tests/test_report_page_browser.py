"""The report page in a real browser: headless Chromium (Debian's package, which `make test` installs
where missing) opens warehouse/site/index.html and a report's page from file://, through the DevTools
protocol. The charts render (SVG drawn with a size and text), the seed's channel values are on the
page, the page requests nothing outside file:// and logs no console error."""

from __future__ import annotations

import json

import pytest

from pipeline.publish.catalog import money

from .cdp import chromium
from .conftest import SEED_ID
from .helpers import build, rows
from .test_report_page import OTHER_ID, add_other_report

pytestmark = pytest.mark.slow


def _outside_file(requests: list[str]) -> list[str]:
    return [url for url in requests if not url.startswith(("file://", "data:", "about:"))]


def test_the_page_renders_offline_with_charts_and_the_seeds_values(raw_dir, warehouse_path):
    add_other_report(raw_dir)
    assert build(raw_dir, warehouse_path).success
    site = warehouse_path.parent / "site"
    seed_channels = rows(warehouse_path, "SELECT channel, income_usd, income_usd_as_published FROM channels "
                                         "WHERE report_id = ?", [SEED_ID])
    assert seed_channels
    with chromium() as page:
        page.navigate(site.resolve().as_uri() + "/index.html")
        page.drain(1.0)
        drawn = page.evaluate("""JSON.stringify([...document.querySelectorAll('figure.chart')].map(f => {
            const svg = f.querySelector('svg'); const box = svg ? svg.getBoundingClientRect() : null;
            return {id: f.id, width: box ? box.width : 0, height: box ? box.height : 0,
                    marks: svg ? svg.querySelectorAll('path, line, text').length : 0,
                    skipped: !!f.querySelector('.skipped')}; }))""")
        text = page.evaluate("document.body.innerText")
        report_links = page.evaluate("[...document.querySelectorAll('#report-list a')].map(a => a.href)")
        assert page.log.errors == [], page.log.errors
        assert _outside_file(page.log.requests) == []

        # a report's page, reached from the index's link
        seed_link = next(link for link in report_links if link.endswith(f"/reports/{SEED_ID}.html"))
        page.navigate(seed_link)
        page.drain(0.5)
        report_text = page.evaluate("document.body.innerText")
        assert page.log.errors == [], page.log.errors
        assert _outside_file(page.log.requests) == []

    charts = json.loads(drawn)
    rendered = {c["id"]: c for c in charts if not c["skipped"]}
    assert {"chart-estimates_by_source", "chart-published_vs_best"} <= set(rendered)
    for chart in rendered.values():
        assert chart["width"] > 200 and chart["height"] > 100 and chart["marks"] > 10, chart
    for channel, best, published in seed_channels:
        assert channel in text
        assert money(best) in text or money(best).replace(" billion", " bn").replace(" million", " m") in text
        assert money(published) in report_text and money(best) in report_text
    assert any(link.endswith(f"/reports/{OTHER_ID}.html") for link in report_links)
    for quote, in rows(warehouse_path, "SELECT quote FROM figures WHERE report_id = ?", [SEED_ID]):
        assert " ".join(quote.split())[:60] in " ".join(report_text.split())
