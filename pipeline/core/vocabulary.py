"""The controlled vocabulary of the raw format and the warehouse: one place, used by the loader,
the pandera schemas and the README's tables.

Every set here is closed on purpose: a spelling that is not listed is rejected with a message
that lists what is accepted, never guessed at.
"""

from __future__ import annotations

from decimal import Decimal

TOPICS = ("total", "channel", "arms", "trade")

# How a report hedges or bounds a figure, as the text gives it. Three kinds, which the checks respect:
# - approximate: the figure is rounded or estimated; the true value is near it ("nearly X" is just
#   below X: channels above "nearly X" by more than the tolerance contradict it);
# - lower: the true value is at least the figure ("more than $6 billion" is not contradicted by 6.5e9);
# - upper: the true value is at most the figure ("up to 100,000 workers").
APPROXIMATE_QUALIFIERS = ("nearly", "almost", "approximately", "about", "around", "roughly", "some", "estimated")
LOWER_BOUND_QUALIFIERS = ("more than", "over", "at least")
UPPER_BOUND_QUALIFIERS = ("up to", "less than", "under", "at most")
QUALIFIERS = (*APPROXIMATE_QUALIFIERS, *LOWER_BOUND_QUALIFIERS, *UPPER_BOUND_QUALIFIERS)
APPROXIMATE, LOWER_BOUND, UPPER_BOUND = "approximate", "lower", "upper"
QUALIFIER_BOUNDS: dict[str, str] = {
    **{q: APPROXIMATE for q in APPROXIMATE_QUALIFIERS},
    **{q: LOWER_BOUND for q in LOWER_BOUND_QUALIFIERS},
    **{q: UPPER_BOUND for q in UPPER_BOUND_QUALIFIERS},
}

# Money units as a report's figure writes them, with the factor to whole US dollars.
# Accepted spellings only; "USD bn", "$bn", "billion USD" are rejected on purpose.
MONEY_UNITS: dict[str, Decimal] = {
    "USD": Decimal(1),
    "USD thousand": Decimal(10) ** 3,
    "USD million": Decimal(10) ** 6,
    "USD billion": Decimal(10) ** 9,
    "USD trillion": Decimal(10) ** 12,
}
# Counts of things (shells, missiles, incidents, people): a whole number, no scale.
COUNT_UNITS = ("count",)
# Shares: a percentage as written (61 for "61 percent"), between 0 and 100.
SHARE_UNITS = ("percent",)
UNITS = (*MONEY_UNITS, *COUNT_UNITS, *SHARE_UNITS)

MONEY, COUNT, PERCENT = "money", "count", "percent"


def unit_kind(unit: str) -> str | None:
    """money, count or percent for a known unit; None for another spelling."""
    if unit in MONEY_UNITS:
        return MONEY
    if unit in COUNT_UNITS:
        return COUNT
    return PERCENT if unit in SHARE_UNITS else None


# What a figure measures. Money, counts and shares are never added together, and a rate is never
# summed as a total: each view and check compares figures of one measure only.
INCOME = "income"                    # money earned over the figure's period (the default for total, channel)
INCOME_PER_YEAR = "income_per_year"  # money per year ("more than half a billion dollars a year"): a rate
EVENT = "event"                      # money of one event ("$147.5 million from one exchange in March 2024")
INCIDENTS = "incidents"              # a count of incidents ("58 cyberattacks")
PEOPLE = "people"                    # a count of people ("roughly 100,000 workers abroad")
SHARE = "share"                      # a share in percent ("61 percent of all funds stolen that year")
QUANTITY = "quantity"                # a count of items shipped (the default, and only measure, of arms)
AMOUNT = "amount"                    # a trade figure in money (the default, and only measure, of trade)
MEASURES = (INCOME, INCOME_PER_YEAR, EVENT, INCIDENTS, PEOPLE, SHARE, QUANTITY, AMOUNT)
MONEY_MEASURES = (INCOME, INCOME_PER_YEAR, EVENT, AMOUNT)
COUNT_MEASURES = (INCIDENTS, PEOPLE, QUANTITY)
SHARE_MEASURES = (SHARE,)
# The kind of unit each measure is stated in.
MEASURE_UNIT_KIND: dict[str, str] = {
    **{m: MONEY for m in MONEY_MEASURES}, **{m: COUNT for m in COUNT_MEASURES}, **{m: PERCENT for m in SHARE_MEASURES},
}
# Measures that flow over a period, so that a figure over several years has a per-year average that can
# be compared with another period's; a rate, a count of people or a share is a level, never averaged.
FLOW_MEASURES = (INCOME, INCIDENTS)
# The measure a figure has when figures.toml gives none (folders written before measures existed).
DEFAULT_MEASURE = {"total": INCOME, "channel": INCOME, "arms": QUANTITY, "trade": AMOUNT}
# Which measures each topic may state.
TOPIC_MEASURES: dict[str, tuple[str, ...]] = {
    "total": (INCOME, INCOME_PER_YEAR, EVENT, INCIDENTS, PEOPLE, SHARE),
    "channel": (INCOME, INCOME_PER_YEAR, EVENT, INCIDENTS, PEOPLE, SHARE),
    "arms": (QUANTITY,),
    "trade": (AMOUNT,),
}


# Channel names the contract fixes. A report may bring a new one (its own snake_case name);
# the warehouse then carries a `channel_name_known` warning so that a typo is seen, not merged.
KNOWN_CHANNELS = ("cyber", "coal_smuggling", "overseas_labor", "arms_exports")

# The subject of a `total` figure and of the two `trade` figures that make the deficit table.
TOTAL_SUBJECT = "illicit_income"
LEGAL_TRADE_DEFICIT = "legal_trade_deficit"
DEFICIT_AFTER_ILLICIT = "deficit_after_illicit_income"
TRADE_SUBJECTS = (LEGAL_TRADE_DEFICIT, DEFICIT_AFTER_ILLICIT)

ITEM_TYPES = ("artillery_shell", "missile", "rocket", "rocket_launcher", "small_arms", "vehicle", "other")

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SNAKE_PATTERN = r"^[a-z0-9]+(?:_[a-z0-9]+)*$"

# Topics where a figure of zero means nothing (no report states "$0 of illicit income" or "0 shells"
# as a finding); a trade deficit may be zero.
POSITIVE_TOPICS = ("total", "channel", "arms")
# Bounds that catch typos and wrong units: North Korea's whole economy is tens of billions of dollars.
MAX_AMOUNT_USD = 10**13
MAX_QUANTITY = 10**10

# Periods a report about this subject can plausibly cover.
EARLIEST_PERIOD_YEAR = 1945
LATEST_PERIOD_YEAR = 2100
