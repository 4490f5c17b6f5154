"""Text helpers for provenance: normalizing quotes for comparison, and reading the number a
figure's `value_text` states ("$13.5 billion", "937,500", "nine")."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_TRANSLATE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ",
})


def visible(text: str) -> str:
    """text with every character that prints as nothing or as white space other than a space escaped, so
    that a message shows it: a zero-width space as \\u200b, a no-break space as \\xa0."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


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


# -- the value expression of a figure, wherever it stands in its value_text or its quote ----------

# Scale words and the money unit each means ("$3 billion" is value 3, unit "USD billion").
SCALE_UNITS = {Decimal(10) ** 3: "USD thousand", Decimal(10) ** 6: "USD million", Decimal(10) ** 9: "USD billion",
               Decimal(10) ** 12: "USD trillion"}
_SCALE_WORD = r"(?P<scale>thousand|million|billion|trillion|mn|bn|tn|k|m|b)"
# A number written with digits ("13.5", "937,500") or as a word ("nine", "a dozen"), with the scale word
# that follows it ("billion", "bn"). A number inside a token ("KN-23", "152mm", "v2") is not a value.
_NUMBER_WORDS = "|".join(sorted((re.escape(w) for w in _WORDS), key=len, reverse=True))
_EXPRESSION = re.compile(
    r"(?<![\w.,\-])(?:(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)|(?P<word>" + _NUMBER_WORDS + r"))"
    r"(?:\s*" + _SCALE_WORD + r"(?![\w]))?(?![\w])")
# "half a billion", "a billion": a scale word made a number by the word before it
_FRACTION = re.compile(r"(?<![\w])(?P<frac>half a|a)\s+" + _SCALE_WORD.replace("|k|m|b", "") + r"(?![\w])")
_FRACTIONS = {"half a": Decimal("0.5"), "a": Decimal(1)}


@dataclass(frozen=True)
class Expression:
    """A number as a text writes it: `text` ("$3 billion" -> "3 billion"), its number and its scale
    (1 when no scale word follows it), and the scale word itself ("" when none)."""

    text: str
    number: Decimal
    scale: Decimal
    scale_word: str

    @property
    def money_unit(self) -> str | None:
        """The money unit the scale word means ("billion", "bn" -> "USD billion"), None without one."""
        return SCALE_UNITS.get(self.scale) if self.scale_word else None


def value_expressions(text: str, *, normalized: bool = False) -> list[Expression]:
    """Every number `text` writes, with its scale word, in order: "approximately $13.5 billion" ->
    [13.5 billion]; "nine KN-23 missiles" -> [nine] (the 23 belongs to a name); "half a billion
    dollars" -> [0.5 billion]. normalized=True: text is already normalize(d)."""
    plain = (text if normalized else normalize(text)).lower()
    found: list[tuple[int, Expression]] = []
    for match in _EXPRESSION.finditer(plain):
        num, word, scale_word = match.group("num", "word", "scale")
        number = Decimal(num.replace(",", "")) if num else Decimal(_WORDS[word])
        scale = _SCALES[scale_word] if scale_word else _ONE
        found.append((match.start(), Expression(match.group(0), number, scale, scale_word or "")))
    for match in _FRACTION.finditer(plain):
        scale_word = match.group("scale")
        found.append((match.start(), Expression(match.group(0), _FRACTIONS[match.group("frac")], _SCALES[scale_word],
                                                scale_word)))
    return [expression for _, expression in sorted(found, key=lambda item: item[0])]


def expression_in_context(value_text: str, context: str, *, normalized: bool = False) -> tuple[Expression, str] | None:
    """Where `value_text` occurs in `context` (a quote) only as part of a longer value expression, that
    expression and the text value_text should be: "$3" in "worth $3 billion" -> (3 billion, "$3 billion")
    (its scale word left out); "$3" in "$3.5 billion" -> (3.5 billion, "$3.5 billion") (a number cut
    short). None when some occurrence of value_text stands whole, or value_text does not occur in context
    (reported on its own). normalized=True: both are already normalize(d)."""
    needle = (value_text if normalized else normalize(value_text)).lower()
    context = context if normalized else normalize(context)
    haystack = context.lower()
    if not needle or len(haystack) != len(context):
        return None
    longer = None
    start = haystack.find(needle)
    while start >= 0:
        end = start + len(needle)
        around = _expression_around(haystack, start, end)
        if around is None:
            return None
        if longer is None:
            expression, span_start, span_end = around
            longer = expression, context[min(start, span_start):max(end, span_end)]
        start = haystack.find(needle, start + 1)
    return longer


def _expression_around(text: str, start: int, end: int) -> tuple[Expression, int, int] | None:
    """The value expression (with its span) that the span [start, end) of text cuts short, or None when
    it does not: the span ends inside a number or before the number's scale word, or starts inside a number."""
    for match in _EXPRESSION.finditer(text, max(0, start - 40), min(len(text), end + 40)):
        if match.start() >= end or match.end() <= start:
            continue  # a number beside the span, not in it
        if match.start() < start and text[match.start():start].strip("$ ") or match.end() > end:
            expressions = value_expressions(match.group(0), normalized=True)
            return (expressions[0], match.start(), match.end()) if expressions else None
    return None
