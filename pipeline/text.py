"""Text helpers for provenance: normalizing quotes for comparison, and reading the number a
figure's `value_text` states ("$13.5 billion", "937,500", "nine")."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

_TRANSLATE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ",
})


def normalize(text: str) -> str:
    """Compare-form of a text: NFC, typographic quotes and dashes made plain, white space collapsed."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text).translate(_TRANSLATE)
    return " ".join(text.split())


_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "dozen": 12,
    "a dozen": 12, "hundred": 100, "a hundred": 100,
}
_SCALES = {
    "thousand": Decimal(10) ** 3, "million": Decimal(10) ** 6, "billion": Decimal(10) ** 9,
    "trillion": Decimal(10) ** 12, "k": Decimal(10) ** 3, "m": Decimal(10) ** 6, "mn": Decimal(10) ** 6,
    "bn": Decimal(10) ** 9, "b": Decimal(10) ** 9, "tn": Decimal(10) ** 12,
}
_ONE = Decimal(1)
# The words as digits, so that a word and the same number in digits take one path.
_WORD_DIGITS = {word: str(number) for word, number in _WORDS.items()}
_NUMBER = re.compile(
    r"^(?:us\s*)?\$?\s*(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*(?P<scale>[a-z]+)?(?:\s*(?:dollars|usd))?$"
)


_PERCENT = re.compile(r"\s*(?:%|percent|per cent)$")


def states_percent(text: str) -> bool:
    """True when a value as written is a percentage ("61%", "61 percent", "61 per cent")."""
    return _PERCENT.search(normalize(text).lower()) is not None


def value_text_parts(text: str, *, normalized: bool = False) -> tuple[str, Decimal] | None:
    """The number a value as written states, as (its digits without commas, its scale), or None when
    it is not a plain form we read: `parse_value_text` without building the Decimal, for callers that
    can often decide from the digits alone. "$13.5 billion" -> ("13.5", 1e9); "nine" -> ("9", 1).
    normalized=True says text is already normalize(d), which is then not done twice."""
    plain = (text if normalized else normalize(text)).lower()
    plain = _PERCENT.sub("", plain)  # "61%": the number is 61 (that it is a share is states_percent's to say)
    word = _WORD_DIGITS.get(plain)
    if word is not None:
        return word, _ONE
    match = _NUMBER.match(plain)
    if not match:
        return None
    num, scale_word = match.group("num", "scale")
    if scale_word is None:
        return num.replace(",", ""), _ONE
    scale = _SCALES.get(scale_word)
    if scale is None:
        return None
    return num.replace(",", ""), scale


def parse_value_text(text: str) -> tuple[Decimal, Decimal] | None:
    """(number, scale) a value as written states, or None when it is not a plain form we read.

    "$13.5 billion" -> (13.5, 1e9); "937,500" -> (937500, 1); "nine" -> (9, 1).
    None means "not checked", never "wrong": the quote check still applies.
    """
    parts = value_text_parts(text)
    if parts is None:
        return None
    digits, scale = parts
    try:
        return Decimal(digits), scale
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        return None
