"""Invented reports from several series, written for the tests of comparing sources: a UN panel in two
editions, a chain-analysis firm's year-end notes, a think tank that states bounds, counts, a share and a
yearly rate. Their words are the tests' own; each document is made of the sentences its figures quote,
so every quote is verified by the real loader.

`write_report` writes one report folder as a person would (document, report.toml with its sha256,
figures.toml); `write_sources` writes the whole set beside the seed.
"""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

import tomli_w


def write_report(raw: Path, report_id: str, *, publisher: str, published_on: datetime.date, series: str,
                 period: tuple[datetime.date, datetime.date], figures: list[dict], outlet: str | None = None,
                 document: str | None = None, title: str | None = None) -> Path:
    """A report folder in raw/: its document (the figures' quotes, one paragraph each, unless given), its
    report.toml and figures.toml. Each figure is a dict of figures.toml fields."""
    folder = raw / report_id
    folder.mkdir(parents=True)
    text = document if document is not None else (
        f"{title or report_id}\n\n" + "\n\n".join(figure["quote"] for figure in figures) + "\n")
    (folder / "document.txt").write_text(text, encoding="utf-8")
    meta = {
        "title": title or f"Invented test report {report_id}",
        "publisher": publisher,
        "published_on": published_on,
        "series": series,
        "period_start": period[0],
        "period_end": period[1],
        "source_file": "document.txt",
        "source_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
    }
    if outlet:
        meta["outlet"] = outlet
    (folder / "report.toml").write_text(tomli_w.dumps(meta), encoding="utf-8")
    (folder / "figures.toml").write_text(tomli_w.dumps({"figure": figures}), encoding="utf-8")
    return folder


D = datetime.date
UN_FIRST = "un-panel-2024-03"
UN_SECOND = "un-panel-2024-09"
CHAIN_2023 = "chain-firm-2023-12"
CHAIN_2024 = "chain-firm-2024-12"
THINK_TANK = "think-tank-2024-10"


def write_sources(raw: Path) -> None:
    """Five invented reports of three series beside whatever raw/ holds (the seed, in the tests)."""
    write_report(raw, UN_FIRST, publisher="UN Panel of Experts on the DPRK", outlet="Reuters",
                 published_on=D(2024, 3, 20), series="un-panel-of-experts", period=(D(2017, 1, 1), D(2023, 12, 31)),
                 figures=[
                     {"id": "cyber-income", "topic": "channel", "subject": "cyber", "value": 3.0, "unit": "USD billion",
                      "value_text": "$3 billion", "qualifier": "estimated",
                      "quote": "The panel estimated that cyber theft brought the country $3 billion from 2017 to 2023."},
                     {"id": "cyber-attacks", "topic": "channel", "subject": "cyber", "measure": "incidents", "value": 58,
                      "unit": "count", "value_text": "58",
                      "quote": "It investigated 58 cyberattacks on cryptocurrency firms over the same years."},
                 ])
    write_report(raw, UN_SECOND, publisher="UN Panel of Experts on the DPRK", outlet="Reuters",
                 published_on=D(2024, 9, 10), series="un-panel-of-experts", period=(D(2017, 1, 1), D(2024, 4, 30)),
                 figures=[
                     {"id": "cyber-income", "topic": "channel", "subject": "cyber", "value": 3.6, "unit": "USD billion",
                      "value_text": "$3.6 billion", "period_start": D(2017, 1, 1), "period_end": D(2024, 4, 30),
                      "quote": "Revised figures put cyber theft at $3.6 billion between January 2017 and April 2024."},
                     {"id": "cyber-2023", "topic": "channel", "subject": "cyber", "value": 1.2, "unit": "USD billion",
                      "value_text": "$1.2 billion", "period_start": D(2023, 1, 1), "period_end": D(2023, 12, 31),
                      "quote": "Of that hacking income, $1.2 billion came in 2023 alone."},
                     {"id": "exchange-theft", "topic": "channel", "subject": "cyber", "measure": "event", "value": 147.5,
                      "unit": "USD million", "value_text": "$147.5 million", "period_start": D(2024, 3, 1),
                      "period_end": D(2024, 3, 31),
                      "quote": "Hackers took $147.5 million from one exchange in March 2024."},
                 ])
    write_report(raw, CHAIN_2023, publisher="Chainsight Analytics", published_on=D(2023, 12, 20),
                 series="chainsight-year-end", period=(D(2023, 1, 1), D(2023, 12, 31)),
                 figures=[
                     {"id": "stolen-2023", "topic": "channel", "subject": "cyber", "value": 660.5, "unit": "USD million",
                      "value_text": "US$660.5 million",
                      "quote": "North Korea-linked hackers stole US$660.5 million in 2023."},
                     {"id": "incidents-2023", "topic": "channel", "subject": "cyber", "measure": "incidents", "value": 20,
                      "unit": "count", "value_text": "20", "quote": "We attribute 20 incidents to them this year."},
                 ])
    write_report(raw, CHAIN_2024, publisher="Chainsight Analytics", published_on=D(2024, 12, 19),
                 series="chainsight-year-end", period=(D(2024, 1, 1), D(2024, 12, 31)),
                 figures=[
                     {"id": "stolen-2024", "topic": "channel", "subject": "cyber", "value": 1.34, "unit": "USD billion",
                      "value_text": "$1.34 billion", "quote": "In 2024 they stole $1.34 billion."},
                     {"id": "incidents-2024", "topic": "channel", "subject": "cyber", "measure": "incidents", "value": 47,
                      "unit": "count", "value_text": "47", "quote": "That came from 47 incidents in 2024."},
                     {"id": "share-2024", "topic": "channel", "subject": "cyber", "measure": "share", "value": 61,
                      "unit": "percent", "value_text": "61 percent",
                      "quote": "It was 61 percent of all funds stolen that year."},
                 ])
    write_report(raw, THINK_TANK, publisher="Institute for Invented Studies", published_on=D(2024, 10, 1),
                 series="invented-institute", period=(D(2017, 1, 1), D(2023, 12, 31)),
                 figures=[
                     {"id": "total", "topic": "total", "subject": "illicit_income", "value": 6, "unit": "USD billion",
                      "value_text": "$6 billion", "qualifier": "more than",
                      "quote": "The regime earned more than $6 billion illicitly from 2017 to 2023."},
                     {"id": "cyber", "topic": "channel", "subject": "cyber", "value": 3, "unit": "USD billion",
                      "value_text": "$3 billion", "qualifier": "about",
                      "quote": "Hacking brought it about $3 billion over those seven years."},
                     {"id": "workers", "topic": "channel", "subject": "overseas_labor", "measure": "people",
                      "value": 100000, "unit": "count", "value_text": "100,000", "qualifier": "roughly",
                      "quote": "Roughly 100,000 workers were abroad."},
                     {"id": "cyber-rate", "topic": "channel", "subject": "cyber", "measure": "income_per_year",
                      "value": 500, "unit": "USD million", "value_text": "$500 million", "qualifier": "more than",
                      "quote": "Cyber theft earned more than $500 million a year."},
                 ])
