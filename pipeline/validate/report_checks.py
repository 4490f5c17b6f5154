"""Checks that run on every report and become rows of `validation_results`.

Each check is a pure function of one report's row and its figures, returning (passed, message):
passed is True when something was compared and agreed, False when a comparison failed, and None when
nothing could be compared (no total, no period in common, a bound that allows anything); the message
then names what was skipped and why. A row of `validation_results` carries it as its `status`
(passed, failed, not_compared), with `passed` NULL when not compared.
Error-severity checks here record what the loader and schemas already enforced (a report that
failed one never reaches the warehouse, so a published row says "passed" and what was verified).
Warn-severity checks flag what a reader must know but that does not stop publication: the data
is published as the report states it, with the warning beside it.

Each entry of REPORT_CHECKS also becomes a Dagster asset check (pipeline.defs.checks), so `dagster dev`
shows its history.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import math
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import TYPE_CHECKING

from pipeline.core import vocabulary as v

if TYPE_CHECKING:
    import pandas as pd

Record = dict
Verdict = tuple[bool | None, str]  # (passed, message); passed None: nothing was compared
CheckFn = Callable[[Record, list[Record], str], Verdict]

AS_PUBLISHED = "as_published"
BEST_ESTIMATE = "best_estimate"
BOTH = (AS_PUBLISHED, BEST_ESTIMATE)
# Reported figures are rounded and hedged ("nearly", "about"); sums and identities that agree within
# 2% of the stated total agree. 8.25e9 - 1.97e9 = 6.28e9 against 6.29e9 is 0.16% off.
TOLERANCE = 0.02
# A ratio within 5% of a power of ten (9.97x, 0.101x) reads as a decimal or unit slip.
POWER_OF_TEN_SLACK = 0.05
ONE_DAY = datetime.timedelta(days=1)

PASSED, FAILED, NOT_COMPARED = "passed", "failed", "not_compared"
STATUSES = (PASSED, FAILED, NOT_COMPARED)


def status(passed: bool | None) -> str:
    """The `status` of a verdict: passed, failed, or not_compared (passed is None)."""
    return NOT_COMPARED if passed is None else PASSED if passed else FAILED


@dataclass(frozen=True)
class ReportCheck:
    name: str
    severity: str  # "error" or "warn"
    description: str
    fn: CheckFn
    bases: tuple[str, ...] = (AS_PUBLISHED,)  # value bases it runs on; value-free checks run once


def _records(fn: Callable) -> Callable:
    """Checks work on plain records (a dict per figure): thousands of reports cost milliseconds, not
    the minutes per-report pandas filtering took. A DataFrame and a Series are accepted too."""

    @functools.wraps(fn)
    def wrapper(report, figures, basis: str = AS_PUBLISHED) -> Verdict:
        import pandas as pd

        if isinstance(report, pd.Series):
            report = report.to_dict()
        if isinstance(figures, pd.DataFrame):
            figures = figures.to_dict("records")
        return fn(report, figures, basis)

    wrapper.on_records = fn  # run_report_checks passes records already and calls this directly
    return wrapper


def _missing(value: object) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    # pandas is imported by whoever built the records (this module imports it only when it runs, so
    # that loading the Dagster definitions does not): without pandas loaded, nothing is pandas.NA
    pd = sys.modules.get("pandas")
    return pd is not None and value is pd.NA


def _day(ts) -> str:
    # A naive Timestamp prints the same as every Timestamp equal to it, so its day is looked up; anything
    # else (NaT, an aware Timestamp, a string) is formatted each time.
    import pandas as pd

    if type(ts) is pd.Timestamp and ts.tzinfo is None:
        return _naive_day(ts)
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


@functools.lru_cache(maxsize=4096)
def _naive_day(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d")


@_records
def source_verified(report: Record, figures: list[Record], basis: str = AS_PUBLISHED) -> Verdict:
    return True, (f"{report['source_file']} ({report['source_bytes']} bytes) matches its recorded sha256 "
                  f"{report['source_sha256'][:12]}...")


@_records
def quotes_found(report: Record, figures: list[Record], basis: str = AS_PUBLISHED) -> Verdict:
    return True, (f"all {len(figures)} figure quotes occur in {report['source_file']}, and each carries its "
                  "value as written")


@_records
def corrections_documented(report: Record, figures: list[Record], basis: str = AS_PUBLISHED) -> Verdict:
    corrected = [f for f in figures if f["corrected"]]
    if not corrected:
        return None, "not compared: no corrections, every best estimate is the published value"
    cited = sum(1 for f in corrected if f["correction_basis"] == "cited")
    evidenced = sum(1 for f in corrected if not _missing(f["correction_evidence_quote"]))
    return True, (f"{len(corrected)} correction(s), {cited} cited (publisher, title, date and url given) and "
                  f"{len(corrected) - cited} inferred (reasoning given); {evidenced} with an evidence passage "
                  f"verified in its stored file: {', '.join(f['figure_id'] for f in corrected)}")


@_records
def figures_schema(report: Record, figures: list[Record], basis: str = AS_PUBLISHED) -> Verdict:
    topics = Counter(map(itemgetter("topic"), figures))
    summary = ", ".join(f"{topics.get(t, 0)} {t}" for t in v.TOPICS)
    return True, f"{len(figures)} figures pass the figures schema ({summary})"


@_records
def periods_within_report(report: Record, figures: list[Record], basis: str = AS_PUBLISHED) -> Verdict:
    outside = [f for f in figures
               if f["period_start"] < report["period_start"] or f["period_end"] > report["period_end"]]
    span = f"{_day(report['period_start'])}..{_day(report['period_end'])}"
    if not outside:
        return True, f"every figure's period lies inside the report's period {span}"
    listed = "; ".join(f"{f['figure_id']} ({_day(f['period_start'])}..{_day(f['period_end'])})" for f in outside)
    return False, f"{len(outside)} figure(s) cover a period outside the report's period {span}: {listed}"


@_records
def channel_names_known(report: Record, figures: list[Record], basis: str = AS_PUBLISHED) -> Verdict:
    channels = sorted({f["subject"] for f in figures if f["topic"] == "channel"})
    new = [c for c in channels if c not in v.KNOWN_CHANNELS]
    if not channels:
        return None, "not compared: the report states no channel"
    if not new:
        return True, f"channels {', '.join(channels)} are all contract channel names"
    return False, (f"new channel name(s) {', '.join(new)} (known: {', '.join(v.KNOWN_CHANNELS)}): published under "
                   "their own name; if one is a misspelling of a known channel, fix figures.toml")


def usd(amount: float) -> str:
    """Whole dollars in the short form the messages use: 52.5e9, 540e6, 12345."""
    # Reports repeat the same amounts, so a float's text is looked up. Equal non-zero floats are the same
    # number; 0.0 and -0.0 are equal but print "0" and "-0", so zero (and any other type) is formatted each time.
    if type(amount) is float and amount:
        return _usd_float(amount)
    return _usd(amount)


@functools.lru_cache(maxsize=65536)
def _usd_float(amount: float) -> str:
    return _usd(amount)


def _usd(amount: float) -> str:
    for exponent in (12, 9, 6):
        scaled = float(f"{amount / 10 ** exponent:.4g}")  # round first, so 999.96e6 reads 1e9, not 1000e6
        if abs(scaled) >= 1:
            if abs(scaled) >= 1000 and exponent < 12:
                continue
            return f"{scaled:g}e{exponent}"
    return f"{amount:.0f}"


def _times(found: float, stated: float) -> str:
    """8.3x; 1.021x near one, with as many digits as it takes to show on which side of the tolerance the
    ratio lies (a ratio of 1.021 fails a 2% tolerance; "1.02x" would not say why); 120x, never 1.2e+02x."""
    if not stated:
        return "against a stated 0"
    ratio = found / stated
    if abs(ratio - 1) < 0.1:
        for digits in range(3, 18):
            text = f"{ratio:.{digits}g}"
            shown = float(text)
            if all((shown > limit) == (ratio > limit) and (shown < limit) == (ratio < limit)
                   for limit in (1 + TOLERANCE, 1 - TOLERANCE)):
                return f"{text}x"
        return f"{ratio!r}x"
    return f"{Decimal(f'{ratio:.2g}'):f}x"


def diagnose(found: float, stated: float) -> str:
    """Words for a ratio near a power of ten; "" when there is nothing to say."""
    if found <= 0 or stated <= 0:
        return ""
    ratio = found / stated
    exponent = round(math.log10(ratio))
    power = 10.0 ** exponent
    # 9.5 and 10.5 lie within 5% of 10; in floats 10.5 / 10 - 1 is 0.05000000000000071, so the edge gets
    # a margin far below any figure's precision
    if exponent != 0 and abs(ratio - power) <= POWER_OF_TEN_SLACK * power * (1 + 1e-9):
        factor = f"{10 ** abs(exponent):g}"
        return f"off by a factor of {factor}, a decimal or unit slip is likely"
    return ""


def _amount_column(basis: str) -> str:
    return "best_amount_usd" if basis == BEST_ESTIMATE else "amount_usd"


def _same_period(a: Record, b: Record) -> bool:
    return a["period_start"] == b["period_start"] and a["period_end"] == b["period_end"]


def _within(inner: Record, outer: Record) -> bool:
    return inner["period_start"] >= outer["period_start"] and inner["period_end"] <= outer["period_end"]


def _span(figure: Record) -> str:
    return f"{_day(figure['period_start'])}..{_day(figure['period_end'])}"


def _income(figures: list[Record], topic: str) -> list[Record]:
    """The figures of `topic` that are income over their period: rates, events, counts and shares are never
    summed with or compared to income (a figure without a measure is income, as its topic's default)."""
    return _by_topic(figures)[topic]


# Every check of a report asks for its totals and channels: they are sorted out once per list of figures.
# The list is kept with its result, so its id cannot be reused by another list while the entry is alive.
_sorted: list = [None, {}]


def _by_topic(figures: list[Record]) -> dict[str, list[Record]]:
    if _sorted[0] is not figures:
        topics: dict[str, list[Record]] = {"total": [], "channel": [], "trade": []}
        for f in figures:
            topic = f["topic"]
            if topic == "trade" or (topic in topics and f.get("measure", v.INCOME) == v.INCOME):
                topics[topic].append(f)
        _sorted[:] = [figures, topics]
    return _sorted[1]


def _inherited(figure: Record) -> bool:
    """The figure states no period of its own and took the report's."""
    value = figure.get("period_inherited")
    return value is not None and not _missing(value) and bool(value)


# --- bounds: "more than 6e9" allows anything from 6e9 up, "up to 2e9" anything from 0 to 2e9; a plain or
# approximate figure ("nearly", "about") is the value itself, within the tolerance of the comparison.

def _bound(figure: Record) -> str | None:
    # a missing qualifier (None, NaN, pandas.NA) is no key of the dict
    return v.QUALIFIER_BOUNDS.get(figure.get("qualifier"))


def _low(figure: Record, column: str) -> float:
    """The least value the figure allows (money is never negative)."""
    return 0.0 if _bound(figure) == v.UPPER_BOUND else float(figure[column])


def _high(figure: Record, column: str) -> float:
    """The greatest value the figure allows."""
    return math.inf if _bound(figure) == v.LOWER_BOUND else float(figure[column])


def _bounded(figure: Record, column: str) -> str:
    """How a bound reads in a message: "a lower bound ('more than 6e9')"; "" for a figure that is not one."""
    bound = _bound(figure)
    if bound not in (v.LOWER_BOUND, v.UPPER_BOUND):
        return ""
    return f"{'a lower' if bound == v.LOWER_BOUND else 'an upper'} bound ('{figure['qualifier']} {usd(figure[column])}')"


def _agrees(least: float, most: float, figure: Record, column: str) -> bool:
    """A value between least and most agrees with the figure: the two ranges meet, within the tolerance of
    the figure's stated value."""
    slack = TOLERANCE * float(figure[column])
    return least <= _high(figure, column) + slack and most >= _low(figure, column) - slack


def _parts_against_whole(whole: Record, column: str, what: str, found: float, least: float, most: float,
                         listed: str) -> tuple[bool, str]:
    """Figures for parts of a period that cover it together, against the figure for the whole:
    (agree, message)."""
    stated = float(whole[column])
    agree = _agrees(least, most, whole, column)
    hint = "" if agree else diagnose(found, stated)
    bound = _bounded(whole, column)
    return agree, (f"{what} {usd(found)} ({listed}) " + ("and agree with" if agree else "vs")
                   + f" {usd(stated)} stated for the whole" + (f", {bound}" if bound else "")
                   + ("" if agree else f": {hint}" if hint else f", {_times(found, stated)}"))


def _outcome(results: list[bool | None], parts: list[str]) -> tuple[bool | None, str]:
    """False if any comparison failed, True if one was made and none failed, None (not compared) if none was."""
    message = "; ".join(parts)
    if any(r is False for r in results):
        return False, message
    if any(r is True for r in results):
        return True, message
    return None, f"not compared: {message}"


def _named(figures: list[Record], column: str) -> str:
    return ", ".join(f"{f['subject']} {usd(f[column])} ({_span(f)})" for f in figures)


# --- periods: a figure for a part of another figure's period is part of it, not beside it

def _beside(channels: list[Record]) -> tuple[list[Record], list[str]]:
    """The channels that can be summed: for each channel, figures whose periods do not overlap, the longer
    kept first. A figure for a sub-period of a kept figure of the same channel is part of it ("$1.2 billion
    came in 2023 alone"), the same period stated again is a repeat, and a partial overlap would count the
    shared days twice: those are named and left out of the sum."""
    if len({c["subject"] for c in channels}) == len(channels):
        return channels, []  # one figure per channel: nothing to leave out
    kept: list[Record] = []
    left: list[str] = []
    order = sorted(range(len(channels)), key=lambda i: (
        channels[i]["period_start"] - channels[i]["period_end"], i))  # longest period first, then as stated
    for i in order:
        channel = channels[i]
        clash = next((k for k in kept if k["subject"] == channel["subject"]
                      and k["period_start"] <= channel["period_end"] and channel["period_start"] <= k["period_end"]),
                     None)
        if clash is None:
            kept.append(channel)
        else:
            how = ("the same period stated again" if _same_period(clash, channel)
                   else "part of" if _within(channel, clash) else "overlaps")
            left.append(f"{channel['figure_id']} ({_span(channel)}, {how}"
                        + ("" if how.startswith("the same") else f" {clash['figure_id']}'s {_span(clash)}") + ")")
    kept.sort(key=channels.index)
    return kept, left


def _partition(target: Record, candidates: list[Record]) -> list[Record] | None:
    """Figures among `candidates` whose periods lie inside `target`'s, do not overlap and together cover
    every day of it, at least two of them; None when there are none such."""
    inside = sorted((c for c in candidates if _within(c, target) and not _same_period(c, target)),
                    key=lambda c: (c["period_start"], c["period_end"]))
    end = target["period_end"]
    dead_ends: set = set()

    def walk(cursor, chosen: list[Record]) -> list[Record] | None:
        if cursor > end:
            return chosen
        if cursor in dead_ends:
            return None
        for c in inside:
            if c["period_start"] == cursor:
                found = walk(c["period_end"] + ONE_DAY, [*chosen, c])
                if found:
                    return found
        dead_ends.add(cursor)
        return None

    return walk(target["period_start"], []) if inside else None


def _place(channel: Record, total: Record, total_periods: set) -> str | None:
    """How a channel is compared with a total: "inside" when its period lies inside the total's; "assumed"
    when it states no period (it took the report's) and every total of the report states one and the same
    period, the only period it can have been meant to share with one; None when it is not compared."""
    if _within(channel, total):
        return "inside"
    if _inherited(channel) and len(total_periods) == 1:
        return "assumed"
    return None


def _periods(figures: list[Record]) -> set:
    return {(f["period_start"], f["period_end"]) for f in figures}


def _totals_and_channels(figures: list[Record], basis: str) -> tuple[list[Record], list[Record], str, str]:
    """The report's income totals and channels, the amount column of the basis, and why nothing can be
    compared ("" when a total is stated): what the checks of channels against the total start from."""
    totals = _income(figures, "total")
    channels = _income(figures, "channel")
    column = _amount_column(basis)
    not_compared = "" if totals else "not compared: the report states no total" + (
        f" (channels not compared: {_named(channels, column)})" if channels else "")
    return totals, channels, column, not_compared


@_records
def channels_within_total(report: Record, figures: list[Record], basis: str) -> Verdict:
    totals, channels, column, not_compared = _totals_and_channels(figures, basis)
    if not_compared:
        return None, not_compared
    periods = _periods(totals)
    results, parts = [], []
    for total in totals:
        stated = float(total[column])
        span = _span(total)
        placed, outside, unplaced = [], [], []
        assumed = set()
        for c in channels:
            how = _place(c, total, periods)
            if how:
                placed.append(c)
                if how == "assumed":
                    assumed.add(c["figure_id"])
            else:
                (unplaced if _inherited(c) else outside).append(c)
        summed_channels, repeats = _beside(placed)
        excluded = "".join((
            f"; not summed, outside that period: {', '.join(c['subject'] for c in outside)}" if outside else "",
            f"; not summed, a part or repeat of another figure of its channel: {', '.join(repeats)}" if repeats else "",
            (f"; not compared, states no period while the report's totals state {len(periods)} different ones: "
             f"{', '.join(c['subject'] for c in unplaced)}") if unplaced else ""))
        if not placed:
            results.append(None)
            parts.append(f"no channel lies inside the total's period {span}" + (f" ({excluded[2:]})" if excluded else ""))
            continue
        summed = float(sum(c[column] for c in summed_channels))
        least = float(sum(_low(c, column) for c in summed_channels))
        listed = ", ".join(f"{c['subject']} {usd(c[column])}" + (
            " (states no period: taken as the total's, the only period of a total the report states)"
            if c["figure_id"] in assumed else "") for c in summed_channels)
        upper = [c for c in summed_channels if _bound(c) == v.UPPER_BOUND]
        at_least = (f" (at least {usd(least)}: {', '.join(_bounded(c, column) for c in upper)} "
                    "counted from 0)") if upper else ""
        total_bound = _bounded(total, column)
        if _high(total, column) == math.inf:
            results.append(True)
            parts.append(f"channels sum to {usd(summed)}{at_least}; the stated total is {total_bound}: channels "
                         f"above it agree with it ({span}; {listed}{excluded})")
        elif least > stated * (1 + TOLERANCE):
            results.append(False)
            hint = diagnose(least, stated)
            parts.append(f"channels sum to {usd(summed)}{at_least}, {_times(least, stated)} the stated total {usd(stated)}"
                         + (f", {total_bound}" if total_bound else "")
                         + f" ({span}; {listed}{excluded})" + (f": {hint}" if hint else ""))
        else:
            results.append(True)
            hint = diagnose(stated, summed) if 0 < summed < stated else ""
            parts.append(f"channels sum to {usd(summed)}{at_least}, within the stated total {usd(stated)}"
                         + (f", {total_bound}" if total_bound else "") + f" ({span}; {listed}{excluded})"
                         + (f"; the total is {_times(stated, summed)} the channels' sum: if the channels are all of "
                            "the income, a decimal or unit slip is likely (not a failure: they need not be)"
                            if hint else ""))
    return _outcome(results, parts)


@_records
def no_channel_exceeds_total(report: Record, figures: list[Record], basis: str) -> Verdict:
    totals, channels, column, not_compared = _totals_and_channels(figures, basis)
    if not_compared:
        return None, not_compared
    periods = _periods(totals)
    # (channel, the totals it is compared with, how they read): each total whose period holds the channel's,
    # then, for a channel that no total holds, the totals that cover its period together
    pairs, placed_anywhere = [], set()
    for total in totals:
        for channel in channels:
            if _place(channel, total, periods):
                placed_anywhere.add(channel["figure_id"])
                pairs.append((channel, [total]))
    for channel in channels:
        parts = None if channel["figure_id"] in placed_anywhere else _partition(channel, totals)
        if parts is not None:
            placed_anywhere.add(channel["figure_id"])
            pairs.append((channel, parts))

    def described(channel: Record, against: list[Record]) -> tuple[str, str]:
        if len(against) == 1:
            return "", f"the stated total {usd(against[0][column])}"
        covering = " + ".join(f"{usd(t[column])} ({_span(t)})" for t in against)
        return f" ({_span(channel)})", (f"the totals that cover its period together, {covering} = "
                                        f"{usd(sum(t[column] for t in against))}")

    over, bounded, compared = [], [], 0
    for channel, against in pairs:
        amount = channel[column]
        bounds = [_bounded(f, column) for f in (*against, channel)
                  if _bound(f) == (v.UPPER_BOUND if f is channel else v.LOWER_BOUND)]
        if bounds:
            bounded.append(f"{channel['subject']} {usd(amount)} against {described(channel, against)[1]} "
                           f"({', '.join(bounds)})")
            continue
        compared += 1
        stated = float(sum(t[column] for t in against))
        if amount > stated * (1 + TOLERANCE):
            hint = diagnose(amount, stated)
            where, what = described(channel, against)
            over.append(f"{channel['subject']} {usd(amount)}{where} exceeds {what} "
                        f"({_times(amount, stated)})" + (f", {hint}" if hint else ""))
    skipped = f"; not compared, a bound allows it: {'; '.join(bounded)}" if bounded else ""
    if over:
        return False, f"{len(over)} channel(s) exceed the total on their own: " + "; ".join(over) + skipped
    if compared:
        return True, "no channel inside the total's period exceeds the total" + skipped
    away = [c for c in channels if c["figure_id"] not in placed_anywhere]
    reasons = [f"no channel lies inside a total's period ({_named(away, column)})" if away else "",
               f"a bound allows it: {'; '.join(bounded)}" if bounded else "",
               "" if channels else "the report states no channel"]
    return None, "not compared: " + "; ".join(r for r in reasons if r)


@_records
def totals_consistent(report: Record, figures: list[Record], basis: str) -> Verdict:
    totals = _income(figures, "total")
    column = _amount_column(basis)
    if len(totals) < 2:
        return None, f"not compared: the report states {len(totals) or 'no'} total{'s' if len(totals) != 1 else ''}"
    results, parts = [], []

    def described(figure: Record) -> str:
        bound = _bounded(figure, column)
        return f"{figure['figure_id']} {usd(figure[column])}" + (f", {bound}" if bound else "")

    for i, first in enumerate(totals):
        for second in totals[i + 1:]:
            if _same_period(first, second):  # the same period twice: the two agree
                a, b = first[column], second[column]
                agree = (_low(first, column) <= _high(second, column) * (1 + TOLERANCE)
                         and _low(second, column) <= _high(first, column) * (1 + TOLERANCE))
                results.append(agree)
                hint = "" if agree else diagnose(b, a)
                parts.append(f"two totals for {_span(first)} "
                             + (f"agree: {described(first)} and {described(second)}" if agree else
                                f"disagree: {described(first)} and {described(second)}, {_times(b, a)}"
                                + (f": {hint}" if hint else "")))
                continue
            for inner, outer in ((first, second), (second, first)):  # a part is never more than the whole
                if _within(inner, outer):
                    exceeds = _low(inner, column) > _high(outer, column) * (1 + TOLERANCE)
                    results.append(not exceeds)
                    relation = "exceeds" if exceeds else "lies within"
                    hint = diagnose(inner[column], outer[column]) if exceeds else ""
                    parts.append(f"the total for {_span(inner)} ({described(inner)}) {relation} the total for "
                                 f"{_span(outer)} that contains it ({described(outer)})"
                                 + (f", {_times(inner[column], outer[column])}" + (f": {hint}" if hint else "")
                                    if exceeds else ""))
    for whole in totals:  # totals of sub-periods that together cover a total's period add up to it
        pieces = _partition(whole, totals)
        if pieces is None:
            continue
        agree, message = _parts_against_whole(
            whole, column, f"totals for the parts of {_span(whole)} sum to", float(sum(p[column] for p in pieces)),
            sum(_low(p, column) for p in pieces), sum(_high(p, column) for p in pieces),
            " + ".join(f"{p['figure_id']} {usd(p[column])} ({_span(p)})" for p in pieces))
        results.append(agree)
        parts.append(message)
    if not parts:
        return None, ("not compared: the report's totals cover periods that neither contain nor cover one another: "
                      + ", ".join(f"{t['figure_id']} ({_span(t)})" for t in totals))
    return _outcome(results, parts)


def _deficit_pairs(figures: list[Record]) -> tuple[list[Record], list[Record], list[Record]]:
    legal, after = [], []
    for f in _by_topic(figures)["trade"]:
        subject = f["subject"]
        if subject == v.LEGAL_TRADE_DEFICIT:
            legal.append(f)
        elif subject == v.DEFICIT_AFTER_ILLICIT:
            after.append(f)
    return legal, after, _income(figures, "total")


@_records
def deficit_identity(report: Record, figures: list[Record], basis: str) -> Verdict:
    legal, after, totals = _deficit_pairs(figures)
    column = _amount_column(basis)
    results, parts = [], []
    implied_rows = []  # (the legal figure, its period, value, least, most, formula)
    for row in legal:
        pair = [f for f in after if _same_period(f, row)]
        total = [f for f in totals if _same_period(f, row)]
        span = _span(row)
        if not pair:
            results.append(None)
            parts.append(f"no deficit after illicit income for {span}")
            continue
        implied = float(row[column] - pair[0][column])
        least = _low(row, column) - _high(pair[0], column)
        most = _high(row, column) - _low(pair[0], column)
        formula = f"{usd(row[column])} - {usd(pair[0][column])}"
        bounds = "; ".join(b for b in (_bounded(row, column), _bounded(pair[0], column)) if b)
        implied_rows.append((row, implied, least, most, formula))
        if not total:
            if most < -TOLERANCE * row[column]:
                results.append(False)
                parts.append(f"{usd(implied)} implied ({formula}) for {span}: a negative illicit income, which cannot "
                             "be; no total stated for that period" + (f" (bounds applied: {bounds})" if bounds else ""))
            else:
                results.append(None)
                parts.append(f"{usd(implied)} implied ({formula}); no total stated for {span} to compare")
            continue
        stated = float(total[0][column])
        bounds = "; ".join(b for b in (bounds, _bounded(total[0], column)) if b)
        applied = f" (bounds applied: {bounds})" if bounds else ""
        if not _agrees(least, most, total[0], column):
            results.append(False)
            hint = diagnose(implied, stated)
            parts.append(f"{usd(implied)} implied ({formula}) vs {usd(stated)} stated"
                         + (f": {hint}" if hint else f", {_times(implied, stated)}")
                         + (", a negative illicit income, which cannot be" if implied < 0 else "") + applied)
        else:
            results.append(True)
            parts.append(f"{usd(implied)} implied ({formula}) agrees with {usd(stated)} stated "
                         f"(within {TOLERANCE:.0%})" + applied)
    if not parts:
        return None, "not compared: the report states no legal-trade deficit"
    # across periods: deficits of sub-periods that cover a total's period together, and a part never above the whole
    by_legal = {id(row): (implied, least, most, formula) for row, implied, least, most, formula in implied_rows}
    paired = [row for row, *_ in implied_rows]
    for total in totals:
        stated = float(total[column])
        pieces = None if any(_same_period(row, total) for row in paired) else _partition(total, paired)
        if pieces is not None:
            agree, message = _parts_against_whole(
                total, column, f"the deficits of the parts of {_span(total)} imply",
                *(sum(by_legal[id(p)][i] for p in pieces) for i in range(3)),
                " + ".join(f"({by_legal[id(p)][3]}) for {_span(p)}" for p in pieces))
            results.append(agree)
            parts.append(message)
        for row in paired:
            if _within(row, total) and not _same_period(row, total) and not (pieces and row in pieces):
                implied, least, _, formula = by_legal[id(row)]
                exceeds = least > _high(total, column) * (1 + TOLERANCE)
                results.append(not exceeds)
                hint = diagnose(implied, stated) if exceeds else ""
                parts.append(f"{usd(implied)} implied ({formula}) for {_span(row)} "
                             + (f"exceeds the total {usd(stated)} stated for {_span(total)} that contains it, "
                                f"{_times(implied, stated)}" + (f": {hint}" if hint else "") if exceeds else
                                f"lies within the total {usd(stated)} stated for {_span(total)} that contains it"))
    return _outcome(results, parts)


def _value(figure: Record, column: str) -> object:
    """The figure's money in `column`, or its count when it has no money."""
    value = figure.get(column)
    if value is None or _missing(value):
        value = figure.get("best_quantity" if column.startswith("best") else "quantity")
    return value


@_records
def one_value_per_period(report: Record, figures: list[Record], basis: str) -> Verdict:
    column = _amount_column(basis)
    things: dict[tuple, list[Record]] = {}
    for f in _income(figures, "channel") + _by_topic(figures)["trade"]:
        things.setdefault((f["topic"], f["subject"], f["period_start"], f["period_end"]), []).append(f)
    if not things:
        return None, "not compared: the report states no channel income or trade deficit"
    results, parts = [], []
    for stated in things.values():
        if len(stated) < 2:
            continue
        first = stated[0]
        for other in stated[1:]:
            agree = (_low(first, column) <= _high(other, column) * (1 + TOLERANCE)
                     and _low(other, column) <= _high(first, column) * (1 + TOLERANCE))
            results.append(agree)
            a, b = first[column], other[column]
            both = (f"{first['figure_id']} {usd(a)}" + (f" ({_bounded(first, column)})" if _bounded(first, column) else "")
                    + f" and {other['figure_id']} {usd(b)}"
                    + (f" ({_bounded(other, column)})" if _bounded(other, column) else ""))
            if agree:
                parts.append(f"{first['subject']} for {_span(first)} is stated twice and the values agree: {both}")
            else:
                hint = diagnose(b, a)
                parts.append(f"{first['subject']} for {_span(first)} is stated twice with different values: {both}, "
                             f"{_times(b, a)}" + (f": {hint}" if hint else ""))
    if not parts:
        return True, (f"each of {len(things)} channel and trade figure(s) is stated once for its period")
    return _outcome(results, parts)


@_records
def corrections_change_values(report: Record, figures: list[Record], basis: str = AS_PUBLISHED) -> Verdict:
    corrected = [f for f in figures if f["corrected"]]
    if not corrected:
        return None, "not compared: the report has no corrections"
    same = [f for f in corrected if _value(f, "amount_usd") == _value(f, "best_amount_usd")]
    if same:
        listed = ", ".join(f"{f['figure_id']} ({_shown(_value(f, 'amount_usd'), f)})" for f in same)
        return False, (f"{len(same)} of {len(corrected)} correction(s) leave the value as published: {listed}; a "
                       "correction that changes nothing is likely a slip in corrections.toml (wrong figure or value)")
    return True, f"each of {len(corrected)} correction(s) changes its figure's value"


def _shown(value: object, figure: Record) -> str:
    return usd(value) if not _missing(figure.get("amount_usd")) else f"{value}"


REPORT_CHECKS: tuple[ReportCheck, ...] = (
    ReportCheck("source_verified", "error",
                "The stored document exists, is non-empty UTF-8, and matches the sha256 in report.toml.",
                source_verified),
    ReportCheck("quotes_found_in_source", "error",
                "Every figure's quote occurs in the stored document (after normalizing white space, typographic "
                "quotes and dashes) and contains the figure's value as written, which states the same number.",
                quotes_found),
    ReportCheck("corrections_documented", "error",
                "Every correction names an existing figure and its basis: cited corrections give publisher, title, "
                "date and url, inferred ones their reasoning; an evidence passage, where given, occurs in its "
                "stored file.",
                corrections_documented),
    ReportCheck("figures_schema", "error",
                "The report's figures pass the pandera figures schema (ids unique, known topics and units, "
                "money non-negative, counts whole, periods ordered).",
                figures_schema),
    ReportCheck("figure_periods_within_report", "warn",
                "Every figure's period lies inside the report's period; the rows that do not are named.",
                periods_within_report),
    ReportCheck("channel_names_known", "warn",
                "Every channel is one of the contract's channel names; a new name is published but flagged.",
                channel_names_known),
    ReportCheck("channels_within_total", "warn",
                f"The channels whose period lies inside the total's period add up to no more than the total "
                f"(tolerance {TOLERANCE:.0%}); a channel stated for a part of another figure's period is part of it, "
                "not summed again; a channel that states no period is compared with the total when the report's "
                "totals state one period only; bounds (more than, up to) are respected; a ratio near a power of "
                "ten is named as a likely slip.",
                channels_within_total, BOTH),
    ReportCheck("no_channel_exceeds_total", "warn",
                f"No single channel inside the total's period, or covered by totals of its sub-periods together, "
                f"exceeds the total (tolerance {TOLERANCE:.0%}; bounds respected).",
                no_channel_exceeds_total, BOTH),
    ReportCheck("deficit_identity", "warn",
                f"Legal-trade deficit minus deficit after illicit income equals the stated illicit-income total "
                f"of the same period, or of the periods it covers together, and is never negative nor above a total "
                f"that contains its period (tolerance {TOLERANCE:.0%}; bounds respected); a ratio near a power of "
                "ten is named.",
                deficit_identity, BOTH),
    ReportCheck("totals_consistent", "warn",
                f"Totals of one report agree: two for the same period are equal, a sub-period's is no more than "
                f"the whole's, and totals of sub-periods covering a period add up to its total (tolerance "
                f"{TOLERANCE:.0%}; bounds respected); a ratio near a power of ten is named.",
                totals_consistent, BOTH),
    ReportCheck("one_value_per_period", "warn",
                "A channel's income and each trade deficit are stated once per period, or with values that agree: "
                "two different values for one thing are named with both figure ids, both values and their ratio.",
                one_value_per_period, BOTH),
    ReportCheck("corrections_change_values", "warn",
                "Every correction changes its figure's value; a correction equal to the published value is named.",
                corrections_change_values),
)

RECONCILIATION_CHECKS = tuple(c.name for c in REPORT_CHECKS if c.bases == BOTH)


# The figure columns the checks read (building dicts of all thirty columns cost more than the checks). A
# record leaves out report_id: it is the key the records are grouped by, the same as the report's.
_FIGURE_COLUMNS = ("figure_id", "topic", "subject", "amount_usd", "best_amount_usd", "period_start", "period_end",
                   "corrected", "correction_basis", "correction_evidence_quote", "measure", "qualifier",
                   "period_inherited", "quantity", "best_quantity")
_RESULT_COLUMNS = ["report_id", "check_name", "severity", "value_basis", "passed", "status", "message"]


def _values(column: pd.Series) -> list:
    """column.tolist(); a datetime column's few distinct days become one Timestamp each, shared by
    every row that has it (building a Timestamp per row cost more than the checks)."""
    import pandas as pd

    if isinstance(column.dtype, pd.DatetimeTZDtype) or column.dtype.kind == "M":
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        distinct = [*uniques.tolist(), pd.NaT]  # code -1 (missing) picks the last
        return [distinct[code] for code in codes.tolist()]
    return column.tolist()


class _FigureRecords:
    """The figures as records, built one report at a time: the records of the report being checked are
    all that is alive, where 162k records at once kept Python's garbage collector busy for half the run."""

    def __init__(self, figures: pd.DataFrame) -> None:
        report_ids = figures["report_id"].tolist() if "report_id" in figures.columns or len(figures) else []
        positions: dict[str, list[int]] = {}  # report_id -> its figures' rows, in their order
        for row, report_id in enumerate(report_ids):
            group = positions.get(report_id)
            if group is None:
                positions[report_id] = [row]
            else:
                group.append(row)
        order = [row for group in positions.values() for row in group]
        self.spans: dict[str, tuple[int, int]] = {}
        start = 0
        for report_id, group in positions.items():
            self.spans[report_id] = (start, start + len(group))
            start += len(group)
        self.columns = tuple(c for c in _FIGURE_COLUMNS if c in figures.columns)
        values = [_values(figures[c]) for c in self.columns]
        if order != list(range(len(order))):  # one report's figures are not all together: bring them together
            values = [[column[row] for row in order] for column in values]
        self.values = values

    def of(self, report_id: str) -> list[Record]:
        span = self.spans.get(report_id)
        if span is None:
            return []
        start, end = span
        rows = zip(*(column[start:end] for column in self.values), strict=True)
        return list(map(dict, map(zip, itertools.repeat(self.columns), rows)))


def run_report_checks(reports: pd.DataFrame, figures: pd.DataFrame) -> pd.DataFrame:
    """One row per report, check and value basis."""
    import pandas as pd

    records = _FigureRecords(figures)
    # the records are built already, so each check's function on records is called without its wrapper
    runs = [(check.name, check.severity, basis, getattr(check.fn, "on_records", check.fn))
            for check in REPORT_CHECKS for basis in check.bases]
    report_ids, names, severities, bases, passes, statuses, messages = [], [], [], [], [], [], []
    for report in reports.to_dict("records"):
        report_id = report["report_id"]
        report_figures = records.of(report_id)
        for name, severity, basis, fn in runs:
            passed, message = fn(report, report_figures, basis)
            report_ids.append(report_id)
            names.append(name)
            severities.append(severity)
            bases.append(basis)
            passed = None if passed is None else bool(passed)
            passes.append(passed)
            statuses.append(status(passed))
            messages.append(message)
    if not report_ids:
        return pd.DataFrame([], columns=_RESULT_COLUMNS)
    columns = (report_ids, names, severities, bases, pd.array(passes, dtype="boolean"), statuses, messages)
    return pd.DataFrame(dict(zip(_RESULT_COLUMNS, columns, strict=True)))
