"""The charts of the estimates, drawn with altair and rendered to SVG offline by vl-convert: shown in
the Dagster UI (as `data:` images inside Markdown metadata, the only images the UI renders) and in
the report page (the SVG inline, so the page needs no script and no network).

Each chart is computed from a warehouse file's tables and views as they are, for any number of
reports, series and channels:

- `estimates_by_source`: each channel's estimates over the periods they cover (a horizontal span from
  period_start to period_end at the estimate's value), one colour per source (the report's series),
  the best estimate as a solid line and the value as published, where a correction changed it, dashed.
- `source_disagreements`: the ratios between sources' estimates of the same thing, from the view
  `source_comparisons` where the warehouse has it (skipped, with the reason, where it does not).
- `published_vs_best`: for every report with corrections, each money figure as published against its
  best estimate (log scale: a slip of a factor of ten shows as one step).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from pipeline.publish.catalog import Relation, relations

# A money axis labelled as people read it ($1.4 bn, $540 m), not in SI prefixes ($1.4G).
MONEY_LABEL = ("datum.value >= 1e9 ? '$' + format(datum.value / 1e9, '.3~g') + ' bn' : "
               "datum.value >= 1e6 ? '$' + format(datum.value / 1e6, '.3~g') + ' m' : '$' + format(datum.value, ',')")
WIDTH = 560
# What one chart can show legibly; the caption says when there is more (all of it is in the tables).
MAX_SOURCES = 10
MAX_REPORTS = 6
MAX_PAIRS = 40


@dataclass
class Chart:
    name: str
    title: str
    caption: str  # what the chart shows, in one or two sentences
    svg: str = ""  # empty when skipped
    skipped: str = ""  # why the chart was not drawn

    @property
    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode()


def _render(chart) -> str:
    """SVG text of an altair chart. The padding leaves room for a browser's fonts, which may be wider
    than the ones vl-convert measured the labels with."""
    import vl_convert

    return vl_convert.vegalite_to_svg(chart.properties(padding={"left": 40, "right": 90, "top": 5, "bottom": 5})
                                      .to_dict())


def estimates_by_source(con) -> Chart:
    import altair as alt

    chart = Chart("estimates_by_source", "Each channel's estimates, by source, over the periods they cover",
                  "One panel per income channel. A line runs from the first to the last day of the period an "
                  "estimate covers, at the estimate's value; colour tells the sources (each report series) apart. "
                  "Solid: the best estimate. Dashed: the value as published, where a recorded correction changed it.")
    sources = con.execute("""SELECT count(DISTINCT coalesce(r.series, r.report_id)) FROM channels c
                               JOIN reports r USING (report_id)""").fetchone()[0]
    frame = con.execute("""
        WITH source AS (SELECT report_id, coalesce(series, report_id) AS source, published_on FROM reports),
             shown AS (SELECT s.source FROM source s JOIN channels c USING (report_id)
                        GROUP BY s.source ORDER BY max(s.published_on) DESC, s.source LIMIT ?)
        SELECT c.channel, s.source, c.report_id, s.published_on, c.period_start, c.period_end, v.basis, v.value
          FROM channels c JOIN source s USING (report_id),
               LATERAL (SELECT 'best estimate' AS basis, c.income_usd AS value
                        UNION ALL
                        SELECT 'as published', c.income_usd_as_published
                         WHERE c.income_usd_as_published IS DISTINCT FROM c.income_usd) v
         WHERE v.value IS NOT NULL AND s.source IN (SELECT source FROM shown)
         ORDER BY ALL""", [MAX_SOURCES]).df()
    if frame.empty:
        chart.skipped = "no channel estimates in the warehouse"
        return chart
    if sources > MAX_SOURCES:
        chart.caption += (f" Shown: the {MAX_SOURCES} sources published most recently, of {sources:,} (every estimate is "
                          "in the channels table and its export).")
    frame["label"] = frame["value"].map(lambda x: _short_money(x))
    for column in ("period_start", "period_end", "published_on"):
        frame[column] = frame[column].astype(str)
    base = alt.Chart().encode(  # the data is given once, to the layer (below)
        y=alt.Y("value:Q", title="US dollars", axis=alt.Axis(labelExpr=MONEY_LABEL), scale=alt.Scale(zero=True)),
        color=alt.Color("source:N", title="source (report series)",
                        legend=alt.Legend(orient="right", titleLimit=300, labelLimit=300)),
    )
    spans = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("period_start:T", title="period covered"), x2="period_end:T",
        strokeDash=alt.StrokeDash("basis:N", title="value", scale=alt.Scale(
            domain=["best estimate", "as published"], range=[[1, 0], [6, 4]]),
            legend=alt.Legend(orient="right")),
    )
    ends = base.mark_point(filled=True, size=30).encode(x="period_end:T", shape=alt.Shape("basis:N", legend=None))
    labels = base.mark_text(align="left", dx=6, fontSize=11).encode(x="period_end:T", text="label:N")
    layered = alt.layer(spans, ends, labels, data=frame).properties(width=WIDTH, height=110)
    faceted = layered.facet(row=alt.Row("channel:N", title=None, header=alt.Header(
        labelAngle=0, labelOrient="top", labelAnchor="start", labelFontWeight="bold", labelFontSize=13))) \
        .resolve_scale(y="independent")
    chart.svg = _render(faceted)
    return chart


def _short_money(value: float) -> str:
    from pipeline.publish.catalog import money

    return money(value).replace(" billion", " bn").replace(" million", " m").replace(" trillion", " tn")


def source_disagreements(con, have: dict[str, Relation]) -> Chart:
    import altair as alt

    chart = Chart("source_disagreements", "Where sources disagree",
                  "For each pair of estimates of the same channel and measure from different sources "
                  "(source_comparisons), how many times larger one is than the other; 1 means they agree.")
    comparisons = have.get("source_comparisons")
    if comparisons is None:
        chart.skipped = ("this warehouse has no source_comparisons view (it compares estimates of the same "
                         "channel from different series), so there is nothing to chart yet")
        return chart
    column = next((c for c in comparisons.columns if "ratio" in c.name), None)
    if column is None:
        chart.skipped = "source_comparisons has no ratio column"
        return chart
    ratio = column.name
    labels = [c.name for c in comparisons.columns if c.type == "VARCHAR"][:6]
    # the largest disagreements first (either way), as many as a chart can show
    frame = con.execute(f"SELECT * FROM source_comparisons WHERE {column.sql} > 0 ORDER BY abs(ln({column.sql})) DESC "
                        "LIMIT ?", [MAX_PAIRS]).df()
    if frame.empty:
        chart.skipped = "source_comparisons has no pair of estimates with a ratio yet"
        return chart
    frame["pair"] = frame[labels].astype(str).agg(" · ".join, axis=1) if labels else frame.index.astype(str)
    frame = frame[["pair", ratio]].rename(columns={ratio: "ratio"})
    bars = alt.Chart().mark_bar().encode(
        x=alt.X("ratio:Q", title="ratio of the two estimates (log scale; 1 = they agree)", scale=alt.Scale(type="log")),
        y=alt.Y("pair:N", title=None, sort="-x", axis=alt.Axis(labelLimit=420)),
    )
    rule = alt.Chart().mark_rule(color="black").encode(x=alt.datum(1))
    chart.svg = _render(alt.layer(bars, rule, data=frame).properties(width=WIDTH - 200))
    return chart


def published_vs_best(con) -> Chart:
    import altair as alt

    chart = Chart("published_vs_best", "As published against the best estimates",
                  "For each report with recorded corrections, every money figure: hollow circle as the report "
                  "published it, filled circle the best estimate (the cited or reasoned correction). Log scale: "
                  "a slip of a factor of ten is one step.")
    corrected = con.execute("""SELECT count(DISTINCT report_id) FROM figures
                                 WHERE corrected AND amount_usd IS NOT NULL""").fetchone()[0]
    frame = con.execute("""
        WITH shown AS (SELECT report_id FROM reports WHERE report_id IN (
                           SELECT report_id FROM figures WHERE corrected AND amount_usd IS NOT NULL)
                        ORDER BY published_on DESC, report_id LIMIT ?)
        SELECT f.report_id, replace(f.subject, '_', ' ') || ' (' || f.topic || ')' AS figure, v.basis, v.value
          FROM figures f,
               LATERAL (SELECT 'as published' AS basis, f.amount_usd AS value
                        UNION ALL SELECT 'best estimate', f.best_amount_usd) v
         WHERE f.amount_usd IS NOT NULL AND f.report_id IN (SELECT report_id FROM shown) AND v.value > 0
         ORDER BY ALL""", [MAX_REPORTS]).df()
    if frame.empty:
        chart.skipped = "no report has a corrected money figure"
        return chart
    if corrected > MAX_REPORTS:
        chart.caption += (f" Shown: the {MAX_REPORTS} most recently published of the {corrected:,} reports with "
                          "corrections (each report's page has all of its figures).")
    frame["label"] = frame["value"].map(_short_money)
    base = alt.Chart().encode(  # the data is given once, to the layer (below)
        y=alt.Y("figure:N", title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X("value:Q", title="US dollars (log scale)", scale=alt.Scale(type="log"),
                axis=alt.Axis(labelExpr=MONEY_LABEL)),
    )
    link = base.mark_line(color="#999").encode(detail="figure:N")
    points = base.mark_point(size=70, strokeWidth=2).encode(
        shape=alt.Shape("basis:N", title="value", scale=alt.Scale(domain=["as published", "best estimate"],
                                                                    range=["circle", "circle"]),
                        legend=alt.Legend(orient="right")),
        fill=alt.Fill("basis:N", scale=alt.Scale(domain=["as published", "best estimate"],
                                                 range=["white", "#1f77b4"]), legend=alt.Legend(orient="right")),
        color=alt.value("#1f77b4"),
    )
    published = base.mark_text(align="left", dx=8, fontSize=10).encode(text="label:N").transform_filter(
        "datum.basis == 'as published'")
    best = base.mark_text(align="right", dx=-8, fontSize=10).encode(text="label:N").transform_filter(
        "datum.basis == 'best estimate'")
    layered = alt.layer(link, points, published, best, data=frame).properties(width=WIDTH - 160)
    chart.svg = _render(layered.facet(row=alt.Row("report_id:N", title=None, header=alt.Header(
        labelAngle=0, labelOrient="top", labelAnchor="start", labelFontWeight="bold", labelLimit=500))))
    return chart


def all_charts(con) -> list[Chart]:
    """Every chart, drawn from the file `con` has open (skipped ones say why)."""
    have = {r.name: r for r in relations(con)}
    return [estimates_by_source(con), source_disagreements(con, have), published_vs_best(con)]


def markdown(charts: list[Chart]) -> str:
    """The charts as Markdown for Dagster metadata: each an image given as a data: URI."""
    parts = []
    for chart in charts:
        parts.append(f"### {chart.title}\n\n{chart.caption}\n")
        parts.append(f"*Not drawn: {chart.skipped}.*\n" if chart.skipped else f"![{chart.title}]({chart.data_uri})\n")
    return "\n".join(parts)
