"""Synthetic raw/ trees shaped like real reports, for the benchmark.

Each report: a source text of a few kilobytes whose sentences state every figure, a dozen to fifty
figures across total, channels, arms and trade, some corrections; reports fall into series of several
editions. Deterministic for a given (n, seed).

    python tests/benchmark/generate.py OUT_DIR N [--seed 7]
"""

from __future__ import annotations

import argparse
import hashlib
import random
from datetime import date
from pathlib import Path

CHANNELS = ["cyber", "coal_smuggling", "overseas_labor", "arms_exports", "seafood_exports", "ship_to_ship_oil",
            "textile_exports", "sand_exports", "wildlife_trafficking", "counterfeit_currency"]
ITEMS = [("152mm_artillery_shell", "artillery_shell"), ("122mm_artillery_shell", "artillery_shell"),
         ("kn_23_missile", "missile"), ("kn_24_missile", "missile"), ("mlrs_rocket", "rocket"),
         ("rifle", "small_arms"), ("truck", "vehicle")]
FILLER = ("Analysts cautioned that the estimates rely on partial data from customs records, satellite imagery "
          "and interviews, and that the true figures may differ. ")


def _money_text(billions: float) -> tuple[float, str, str]:
    if billions < 1:
        millions = round(billions * 1000)
        return float(millions), "USD million", f"${millions} million"
    value = round(billions, 2)
    return value, "USD billion", f"${value:g} billion"


def write_report(folder: Path, rng: random.Random, series: str, edition: int, published: date) -> None:
    folder.mkdir(parents=True)
    start_year = 2010 + rng.randrange(8)
    end_year = start_year + 3 + edition
    period = (date(start_year, 1, 1), date(end_year, 12, 31))
    sentences, figures = [], []
    n_channels = rng.randrange(4, len(CHANNELS) + 1)
    channel_values = {}
    for i, channel in enumerate(rng.sample(CHANNELS, n_channels)):
        value, unit, text = _money_text(rng.uniform(0.05, 3.0))
        channel_values[channel] = value if unit == "USD billion" else value / 1000
        quote = f"Income from {channel.replace('_', ' ')} reached about {text} over the period"
        sentences.append(quote + ".")
        figures.append({"id": f"channel-{i}-{channel.replace('_', '-')}", "topic": "channel", "subject": channel,
                        "value": value, "unit": unit, "value_text": text, "qualifier": "about", "quote": quote})
    total_value, total_unit, total_text = _money_text(sum(channel_values.values()) * rng.uniform(1.0, 1.2))
    quote = f"The regime earned an estimated {total_text} in illicit income from {start_year} to {end_year}"
    sentences.insert(0, quote + ".")
    figures.insert(0, {"id": "total-illicit-income", "topic": "total", "subject": "illicit_income",
                       "value": total_value, "unit": total_unit, "value_text": total_text, "qualifier": "estimated",
                       "quote": quote})
    for i in range(rng.randrange(8, 38)):
        item, item_type = ITEMS[i % len(ITEMS)]
        count = rng.randrange(1, 2_000_000)
        year = rng.randrange(start_year, end_year + 1)
        quote = f"In shipment {i + 1} of {year} it delivered {count:,} units of {item.replace('_', ' ')}"
        sentences.append(quote + ".")
        figures.append({"id": f"arms-{i}", "topic": "arms", "subject": f"{item}_{i}", "item_type": item_type,
                        "value": count, "unit": "count", "value_text": f"{count:,}",
                        "period_start": date(year, 1, 1), "period_end": date(year, 12, 31), "quote": quote})
    legal = rng.uniform(10, 90)
    after = legal - sum(channel_values.values())
    if after > 0:
        for fid, subject, billions in (("legal-trade-deficit", "legal_trade_deficit", legal),
                                       ("deficit-after-illicit-income", "deficit_after_illicit_income", after)):
            value, unit, text = _money_text(billions)
            quote = f"The {subject.replace('_', ' ')} stood at {text}"
            sentences.append(quote + ".")
            figures.append({"id": fid, "topic": "trade", "subject": subject, "value": value, "unit": unit,
                            "value_text": text, "quote": quote})
    body = []
    for sentence in sentences:
        body.append(sentence + " " + FILLER * rng.randrange(0, 3))
    source = "\n\n".join(body) + "\n"
    (folder / "source.txt").write_text(source, encoding="utf-8")
    sha = hashlib.sha256(source.encode("utf-8")).hexdigest()
    (folder / "report.toml").write_text(
        f'title = "Synthetic estimate {folder.name}"\npublisher = "Benchmark Institute {series[-3:]}"\n'
        f"published_on = {published.isoformat()}\nseries = \"{series}\"\n"
        f"period_start = {period[0].isoformat()}\nperiod_end = {period[1].isoformat()}\n"
        f'source_file = "source.txt"\nsource_sha256 = "{sha}"\n', encoding="utf-8")
    lines = []
    for figure in figures:
        lines.append("[[figure]]")
        for key, value in figure.items():
            if isinstance(value, str):
                lines.append(f'{key} = "{value}"')
            elif isinstance(value, date):
                lines.append(f"{key} = {value.isoformat()}")
            else:
                lines.append(f"{key} = {value!r}")
        lines.append("")
    (folder / "figures.toml").write_text("\n".join(lines), encoding="utf-8")
    corrected = [f for f in figures if f["topic"] == "channel"][: rng.randrange(0, 3)]
    if corrected:
        blocks = []
        for figure in corrected:
            blocks.append(f'[[correction]]\nfigure_id = "{figure["id"]}"\nvalue = {figure["value"] / 10!r}\n'
                          f'unit = "{figure["unit"]}"\nbasis = "inferred"\n'
                          f'reasoning = "A decimal slip, as in the seed."\nnote = "Synthetic correction."\n')
        (folder / "corrections.toml").write_text("\n".join(blocks), encoding="utf-8")


def generate(out: Path, n: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    editions = 5
    for i in range(n):
        series_no, edition = divmod(i, editions)
        series = f"series-{series_no:04d}"
        published = date(2015 + edition, 1 + series_no % 12, 1 + series_no % 28)
        write_report(out / f"{series}-ed{edition}", rng, series, edition, published)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("n", type=int)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(args.out, args.n, args.seed)
