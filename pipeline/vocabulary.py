"""The controlled vocabulary of the raw format and the warehouse: one place, used by the loader,
the pandera schemas and the README's tables.

Every set here is closed on purpose: a spelling that is not listed is rejected with a message
that lists what is accepted, never guessed at.
"""

from __future__ import annotations

from decimal import Decimal

TOPICS = ("total", "channel", "arms", "trade")

QUALIFIERS = ("nearly", "approximately", "about", "estimated")

# Money units as a report's figure writes them, with the factor to whole US dollars.
# Accepted spellings only; "USD bn", "$bn", "billion USD" are rejected on purpose.
MONEY_UNITS: dict[str, Decimal] = {
    "USD": Decimal(1),
    "USD thousand": Decimal(10) ** 3,
    "USD million": Decimal(10) ** 6,
    "USD billion": Decimal(10) ** 9,
    "USD trillion": Decimal(10) ** 12,
}
# Counts of things (shells, missiles): a whole number, no scale.
COUNT_UNITS = ("count",)
UNITS = (*MONEY_UNITS, *COUNT_UNITS)

# Which units each topic may use.
TOPIC_UNITS: dict[str, tuple[str, ...]] = {
    "total": tuple(MONEY_UNITS),
    "channel": tuple(MONEY_UNITS),
    "trade": tuple(MONEY_UNITS),
    "arms": COUNT_UNITS,
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
