"""Drafting figures.toml from a document: every amount, count and share the text states, with the
sentence that states it, so that a person confirms and corrects rather than types.

`python -m pipeline draft-figures DOCUMENT [--published-on YYYY-MM-DD]` prints the draft; `make
new-report` and the inbox sensor (pipeline.defs.inbox) write it into a draft folder.

What is read, by rules over the text (no model, no network; deterministic):
- money in US dollars: "$13.5 billion", "US$660.5 million", "USD 1.2 billion", "$1.5bn", "$900m",
  "$147,500,000", "1.7 billion dollars", "half a billion dollars", "a billion dollars";
- counts of things: a number in digits or words ("937,500", "nine", "three million", "a dozen") followed
  by a counted noun (shells, missiles, workers, attacks ...), with up to three words between;
- percentages ("61 percent", "61%");
- the qualifier or bound just before a figure (pipeline.core.vocabulary.QUALIFIERS);
- periods as prose, nearest to the figure in its sentence, else in an earlier sentence of the same
  paragraph: "from 2017 to 2023", "between July 2023 and February 2024", "2017-2023", "in 2024",
  "in March 2024", "in the first half of 2024", and, with the report's date, "last year", "this year",
  "since July last year", "over the past seven years";
- amounts in other currencies are listed as comments (the USD figure must be found, never converted).

Topic, subject, item type, measure and period are guesses: each carries a TOML comment saying why.
The value, unit, value_text and quote are read, not guessed: value_text is the amount exactly as the
document writes it and quote is the document's sentence (white space collapsed), so the loader's
provenance proof passes unchanged.

Why hand-written rules rather than a library: on this kind of text quantulum3 misreads "$900m" and
"$5.5bn", dateparser's in-text search takes the verb "may" for a month, and a blank spaCy pipeline
would only host the same patterns (its trained models do not install from the package registry). The
forms are a closed set, measured by `make eval-drafter` (tests/drafting/eval_drafter.py).
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from pipeline.core import vocabulary as v
from pipeline.core.errors import Problem

# ---------------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------------

UNITS_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
FRACTION_WORDS = {"half a": Decimal("0.5"), "a half": Decimal("0.5"), "a quarter of a": Decimal("0.25"),
                  "three quarters of a": Decimal("0.75"), "a": Decimal(1), "one": Decimal(1)}
SCALE_WORDS = {"thousand": 3, "million": 6, "billion": 9, "trillion": 12}
SCALE_ABBREVIATIONS = {"k": 3, "m": 6, "mn": 6, "mln": 6, "bn": 9, "b": 9, "tn": 12, "tr": 12}
MONEY_UNIT_BY_EXPONENT = {0: "USD", 3: "USD thousand", 6: "USD million", 9: "USD billion", 12: "USD trillion"}

_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_WORD_NUMBER = (r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|five|six|"
                r"seven|eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
                r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)")
_SCALE = r"(?:trillion|billion|million|thousand)"
_ABBREVIATION = r"(?:bn|mn|mln|tn|k|m|b)"

# "$13.5 billion", "US$ 660.5 million", "USD 1.2bn", "$900m", "$147,500,000", with "-1.5" of a range
MONEY_SYMBOL = re.compile(
    rf"(?<![\w$])(?P<currency>US\s?\$|U\.S\.\s?\$|USD\s?|\$)\s?(?P<num>{_DIGITS})"
    rf"(?:\s?(?:-|–|to)\s?\$?(?P<num2>{_DIGITS}))?"
    rf"(?:(?:\s|-)?(?P<scale>{_SCALE})\b|(?P<abbr>{_ABBREVIATION})\b)?"
    rf"(?:\s(?:US\s|U\.S\.\s)?dollars\b)?",
    re.IGNORECASE)
# "1.7 billion dollars", "1.7 billion US dollars", "1.7 billion USD", "500 million dollars"
MONEY_TRAILING = re.compile(
    rf"(?<![\w$.,])(?P<num>{_DIGITS})(?:\s(?P<scale>{_SCALE}))?\s(?:(?:US\s|U\.S\.\s)?dollars|USD)\b",
    re.IGNORECASE)
# "half a billion dollars", "two billion dollars", "a billion US dollars"
MONEY_WORDS = re.compile(
    rf"(?<!\w)(?P<words>half a|a half|a quarter of a|three quarters of a|{_WORD_NUMBER}|a|one)\s"
    rf"(?P<scale>{_SCALE})\s(?:(?:US\s|U\.S\.\s)?dollars|USD)\b",
    re.IGNORECASE)
# Other currencies: listed, never converted.
OTHER_CURRENCY = re.compile(
    rf"(?:(?:€|£|¥|₩|₽|EUR\s?|GBP\s?|JPY\s?|KRW\s?|CNY\s?|RMB\s?|RUB\s?)(?:{_DIGITS})(?:\s?(?:{_SCALE})|{_ABBREVIATION}\b)?"
    rf"|(?<![\w$.,])(?:{_DIGITS})(?:\s(?:{_SCALE}))?\s(?:euros?|pounds sterling|yen|won|yuan|renminbi|roubles?|rubles?)\b)",
    re.IGNORECASE)
PERCENT = re.compile(rf"(?<![\w.,])(?P<num>{_DIGITS})\s?(?:%|percent\b|per cent\b)", re.IGNORECASE)

# Counted nouns: what a count figure counts, with what it says about topic, subject and measure.
# kind "arms": an item shipped (topic arms, item_type); "people" and "incidents": channel figures.
PLURAL_ONLY = ("north korean",)  # "100,000 North Koreans"; "nine North Korean missiles" counts missiles
ARMS_NOUNS = {
    "artillery shell": "artillery_shell", "shell": "artillery_shell", "round": "artillery_shell",
    "missile": "missile", "rocket launcher": "rocket_launcher", "launcher": "rocket_launcher",
    "rocket": "rocket", "rifle": "small_arms", "machine gun": "small_arms", "gun": "small_arms",
    "howitzer": "other", "artillery piece": "other", "vehicle": "vehicle", "tank": "vehicle", "container": "other",
}
PEOPLE_NOUNS = ("north korean", "worker", "labourer", "laborer", "people", "person", "hacker", "employee", "national", "citizen",
                "personnel", "developer", "operative", "engineer", "soldier", "troop")
INCIDENT_NOUNS = ("cyberattack", "cyber attack", "cyber-attack", "attack", "hack", "heist", "incident", "theft",
                  "intrusion", "breach", "exploit", "shipment", "delivery", "deliveries", "transfer", "ship-to-ship transfer")


def _plural(noun: str) -> str:
    if noun.endswith(("people", "personnel", "deliveries")):
        return noun
    if noun.endswith("y"):
        return noun[:-1] + "ies"
    return noun + "s"


def _noun_alternatives() -> str:
    nouns = set(ARMS_NOUNS) | set(PEOPLE_NOUNS) | set(INCIDENT_NOUNS)
    forms = {form for noun in nouns for form in ((noun, _plural(noun)) if noun not in PLURAL_ONLY else (_plural(noun),))}
    return "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))


# words that may stand between a number and its noun ("937,500 152mm artillery shells", "100,000 North
# Korean IT workers"), but not words that end the noun phrase
_LINK_STOP = (r"(?:of|and|or|in|on|at|to|from|by|for|with|the|a|an|per|than|over|since|during|between|into|each|"
              r"was|were|is|are|has|have|had)")
COUNT = re.compile(
    rf"(?<![\w$.,\-])(?P<num>{_DIGITS}|{_WORD_NUMBER}|a dozen|dozen)(?:\s(?P<scale>million|thousand))?"
    rf"(?P<mods>(?:\s(?!{_LINK_STOP}\b)[\w\-]+){{0,3}}?)\s(?P<noun>{_noun_alternatives()})\b",
    re.IGNORECASE)


def word_number(text: str) -> int | None:
    """ "nine" -> 9, "twenty-three" -> 23, "a dozen" -> 12; None for anything else."""
    words = text.lower().replace("-", " ").split()
    if words in (["a", "dozen"], ["dozen"]):
        return 12
    total = 0
    for word in words:
        if word not in UNITS_WORDS:
            return None
        total += UNITS_WORDS[word]
    return total or None


def _number(digits: str) -> Decimal:
    return Decimal(digits.replace(",", ""))


def _toml_number(number: Decimal) -> str:
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL must be escaped too)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


# ---------------------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------------------

_ABBREVIATIONS = {"u.s", "u.n", "u.k", "mr", "mrs", "ms", "dr", "no", "st", "jan", "feb", "mar", "apr", "jun", "jul",
                  "aug", "sep", "sept", "oct", "nov", "dec", "approx", "e.g", "i.e", "inc", "ltd", "co", "corp", "vs",
                  "gen", "lt", "col", "sen", "rep", "gov", "est", "fig", "p", "pp"}
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_BLOCK = re.compile(r"\n[ \t]*\n|\n(?=[ \t]*(?:[-*•]|\d+[.)])\s)|\n(?=[ \t]*#)|\n(?=[ \t]*\|)")


@dataclass
class Sentence:
    start: int
    end: int
    paragraph: int
    text: str  # the document's characters, white space collapsed


def sentences(text: str) -> list[Sentence]:
    """Sentences with their offsets; paragraphs (blank lines, list items, headings) never join."""
    found: list[Sentence] = []
    for paragraph, block in enumerate(_split_keep(text, _BLOCK)):
        start, chunk = block
        cut = 0
        for match in _BOUNDARY.finditer(chunk):
            before = chunk[cut:match.start() + 1]
            last_word = re.search(r"([A-Za-z.]+)\.$", before)
            if last_word and (last_word.group(1).lower().rstrip(".") in _ABBREVIATIONS
                              or re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]?", last_word.group(1))):
                continue
            _add(found, text, start + cut, start + match.start() + len(match.group(0).rstrip()), paragraph)
            cut = match.end()
        _add(found, text, start + cut, start + len(chunk), paragraph)
    return found


def _split_keep(text: str, pattern: re.Pattern) -> list[tuple[int, str]]:
    parts, last = [], 0
    for match in pattern.finditer(text):
        parts.append((last, text[last:match.start()]))
        last = match.end()
    parts.append((last, text[last:]))
    return parts


def _add(found: list[Sentence], text: str, start: int, end: int, paragraph: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    start += len(piece) - len(piece.lstrip())
    end = start + len(stripped)
    found.append(Sentence(start, end, paragraph, " ".join(stripped.split())))


# ---------------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------------

MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): number for number, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
# Capitalised month names only, and "May" only when a year follows (the verb "may" is never a month).
_MONTH = (r"(?:January|February|March|April|June|July|August|September|October|November|December|"
          r"Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?|May(?=,?\s(?:19|20)\d\d))")
_YEAR = r"(?:19[4-9]\d|20\d\d)"
_NUMBER_WORDS = {**UNITS_WORDS, "a": 1, "an": 1}
_SPAN = re.compile(
    rf"\b(?:(?i:from|between|covering)\s)?(?:(?P<m1>{_MONTH})\s(?:of\s)?)?(?P<y1>{_YEAR})?\s?(?:to|through|until|till|and|-|–|—)\s?(?:the\s(?:end|close)\sof\s)?"
    rf"(?:(?P<m2>{_MONTH})\s(?:of\s)?)?(?P<y2>{_YEAR}|\d\d(?!\d))\b")
_HALF = re.compile(rf"\b(?P<which>first|second|1st|2nd)\s(?P<part>half|quarter)\sof\s(?P<year>{_YEAR})\b|"
                   rf"\b(?P<h>H[12]|Q[1-4])\s(?P<year2>{_YEAR})\b")
_QUARTER_WORDS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
_MONTH_YEAR = re.compile(rf"(?<!\d\s)\b(?:(?i:in|during|throughout|for|by|of|since)\s)?(?P<m>{_MONTH}),?\s(?P<y>{_YEAR})\b")
_IN_YEAR = re.compile(rf"\b(?P<prep>(?i:in|during|throughout|for|since|across|over))\s"
                      rf"(?:all\sof\s|the\s(?:whole\s)?(?:calendar\s)?year\s(?:of\s)?|calendar\s)?(?P<y>{_YEAR})\b(?!\s?(?:-|–|to|and)\s?\d)")
_RELATIVE = re.compile(
    rf"\b(?P<since>since\s(?P<sm>{_MONTH})\s(?P<sw>last|this)\syear)\b|"
    rf"\b(?P<past>(?:over|in|during)\sthe\s(?:past|last|previous)\s(?P<n>\d+|{_WORD_NUMBER})\syears)\b|"
    rf"\b(?P<last>last\syear|the\sprevious\syear|(?:so\sfar\s)?this\syear)\b|"
    rf"\b(?P<sofar>so\sfar\s(?:in|this\syear,?\sin)\s(?P<sy>{_YEAR}))\b", re.IGNORECASE)


@dataclass
class Period:
    start: date | None
    end: date | None
    text: str
    offset: int  # in the document
    note: str = ""  # why it was resolved so (or why it could not be)


def _month_number(name: str) -> int:
    return MONTHS[name.lower().rstrip(".")]


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def periods_in(sentence: Sentence, document: str, published_on: date | None) -> list[Period]:
    """Every period the sentence states, resolved (relative ones against published_on)."""
    text = document[sentence.start:sentence.end]
    found: list[Period] = []
    taken: list[tuple[int, int]] = []

    def add(match: re.Match, start: date | None, end: date | None, note: str = "") -> None:
        if any(a < match.end() and match.start() < b for a, b in taken):
            return
        if start and end and start > end:
            return
        taken.append((match.start(), match.end()))
        found.append(Period(start, end, " ".join(match.group(0).split()), sentence.start + match.start(), note))

    for match in _RELATIVE.finditer(text):
        if published_on is None:
            add(match, None, None, "a period relative to the report's date: give --published-on to resolve it")
            continue
        year = published_on.year
        if match.group("since"):
            start_year = year - 1 if match.group("sw").lower() == "last" else year
            add(match, date(start_year, _month_number(match.group("sm")), 1), published_on,
                f"resolved against the report's date {published_on}")
        elif match.group("sofar"):
            add(match, date(int(match.group("sy")), 1, 1), published_on, f"'so far': to the report's date {published_on}")
        elif match.group("past"):
            n = match.group("n")
            count = int(n) if n.isdigit() else word_number(n)
            if count:
                add(match, date(year - count, 1, 1), date(year - 1, 12, 31),
                    f"the {count} whole years before the report's year {year}")
        else:
            phrase = match.group("last").lower()
            if "this" in phrase:
                add(match, date(year, 1, 1), published_on, f"resolved against the report's date {published_on}")
            else:
                add(match, date(year - 1, 1, 1), date(year - 1, 12, 31), f"the year before the report's, {year}")
    for match in _HALF.finditer(text):
        if match.group("h"):
            tag, year = match.group("h").upper(), int(match.group("year2"))
            part, which = ("half" if tag[0] == "H" else "quarter"), int(tag[1])
        else:
            part, which, year = match.group("part"), _QUARTER_WORDS[match.group("which").lower()], int(match.group("year"))
        months = 6 if part == "half" else 3
        first = (which - 1) * months + 1
        add(match, date(year, first, 1), _month_end(year, first + months - 1))
    for match in _SPAN.finditer(text):
        y1, y2, m1, m2 = match.group("y1"), match.group("y2"), match.group("m1"), match.group("m2")
        if not y1 and not (m1 and m2):
            continue  # "2023" alone, or "July to 2024": not a span; "July to December 2023" is
        if len(y2) == 2:  # "2017-23"
            if not y1 or m1 or m2:
                continue
            y2 = y1[:2] + y2
        start = date(int(y1 or y2), _month_number(m1) if m1 else 1, 1)
        end = _month_end(int(y2), _month_number(m2)) if m2 else date(int(y2), 12, 31)
        add(match, start, end)
    for match in _MONTH_YEAR.finditer(text):
        year, month = int(match.group("y")), _month_number(match.group("m"))
        if match.group(0).lstrip().lower().startswith("since"):
            if published_on is None:
                add(match, date(year, month, 1), None, "'since' runs to the report's date: give --published-on")
            else:
                add(match, date(year, month, 1), published_on, f"'since' runs to the report's date {published_on}")
        else:
            add(match, date(year, month, 1), _month_end(year, month))
    for match in _IN_YEAR.finditer(text):
        year = int(match.group("y"))
        if match.group("prep").lower() == "since":
            if published_on is None:
                add(match, date(year, 1, 1), None, "'since' runs to the report's date: give --published-on")
            else:
                add(match, date(year, 1, 1), published_on, f"'since' runs to the report's date {published_on}")
        else:
            add(match, date(year, 1, 1), date(year, 12, 31))
    return found


# ---------------------------------------------------------------------------------------------------
# Topic and subject
# ---------------------------------------------------------------------------------------------------

CHANNEL_WORDS = {
    "cyber": r"cyber\w*|hack\w*|crypto\w*|bitcoin|ether(?:eum)?|exchanges?|heists?|stol(?:e|en)|theft|thefts|defi|"
             r"bridges?|lazarus|virtual[- ]assets?|digital[- ]assets?|blockchain|wallets?|tokens?|laundered",
    "coal_smuggling": r"coal|anthracite",
    "overseas_labor": r"workers?|labou?r\w*|it personnel|employ\w*|dispatched",
    "arms_exports": r"arms|(?:weapons?|missiles?|nuclear)(?!\s(?:of\smass|programmes?|programs?|development))|"
                    r"munitions?|ammunition|shells?|artillery|rockets?",
}
TOTAL_WORDS = (r"illicit income|illegal income|illicit revenue|illegal revenue|illicit earnings|illegal earnings|"
               r"in total|a total of|total|overall|combined|altogether|taken together|(?:illicit|illegal) activities|"
               r"all (?:illicit|illegal) sources")
_CHANNEL_PATTERNS = {name: re.compile(rf"\b(?:{words})\b", re.IGNORECASE) for name, words in CHANNEL_WORDS.items()}
_TOTAL_PATTERN = re.compile(rf"\b(?:{TOTAL_WORDS})\b", re.IGNORECASE)
_DEFICIT = re.compile(r"\bdeficit\b", re.IGNORECASE)
_DEFICIT_AFTER = re.compile(r"\b(?:after|reduced|factored|factoring|including|includ\w+|taking into account|offset|"
                            r"narrow\w*|net of)\b", re.IGNORECASE)
_PER_YEAR = re.compile(r"^\W{0,3}(?:a|per|each|every)\s(?:year|annum)\b|^\W{0,3}annually\b|^\W{0,3}yearly\b",
                       re.IGNORECASE)
_ONE_EVENT = re.compile(r"\b(?:the|a|one|single|this|that)\s(?:\w+\s){0,3}?(?:hack|heist|theft|exploit|breach|attack|"
                        r"robbery|raid)\b(?!s)", re.IGNORECASE)


@dataclass
class Guess:
    topic: str
    subject: str
    why: str
    measure: str | None = None  # only when not the topic's default
    measure_why: str = ""
    item_type: str | None = None


def _nearest(patterns: dict[str, re.Pattern], text: str, start: int, end: int) -> tuple[str, str, int] | None:
    best = None
    for name, pattern in patterns.items():
        for match in pattern.finditer(text):
            distance = start - match.end() if match.end() <= start else match.start() - end if match.start() >= end else 0
            if distance < 0:
                continue
            if best is None or distance < best[2]:
                best = (name, match.group(0), distance)
    return best


def guess_money(sentence_text: str, start: int, end: int) -> Guess:
    """Topic and subject of a money figure at [start, end) of its sentence."""
    after = sentence_text[end:]
    patterns = {**_CHANNEL_PATTERNS, "total": _TOTAL_PATTERN, "deficit": _DEFICIT}
    nearest = _nearest(patterns, sentence_text, start, end)
    if nearest is not None and nearest[0] == "deficit":
        if _DEFICIT_AFTER.search(sentence_text):
            return Guess("trade", v.DEFICIT_AFTER_ILLICIT,
                         "the nearest telling word is 'deficit', and the sentence speaks of it after illicit income")
        return Guess("trade", v.LEGAL_TRADE_DEFICIT, "the nearest telling word is 'deficit'")
    if nearest is None:
        guess = Guess("channel", "TODO_subject", "no channel word in the sentence: name the channel or use total")
    elif nearest[0] == "total":
        guess = Guess("total", v.TOTAL_SUBJECT, f"'{nearest[1]}' is the nearest telling word")
    else:
        guess = Guess("channel", nearest[0], f"'{nearest[1]}' is the nearest telling word")
    if _PER_YEAR.search(after):
        guess.measure, guess.measure_why = v.INCOME_PER_YEAR, "a rate: the amount is followed by 'a year' or the like"
    elif guess.subject == "cyber" and _ONE_EVENT.search(sentence_text) and not _TOTAL_PATTERN.search(sentence_text):
        guess.measure, guess.measure_why = v.EVENT, "the sentence speaks of one theft or attack"
    return guess


def guess_count(sentence_text: str, start: int, end: int, noun: str, mods: str) -> Guess:
    noun_l = noun.lower()
    for singular, item_type in sorted(ARMS_NOUNS.items(), key=lambda kv: -len(kv[0])):
        if noun_l in (singular, _plural(singular)):
            words = [w for w in re.split(r"[\s\-]+", f"{mods} {singular}".lower()) if w]
            words = [w for w in words if re.fullmatch(r"[a-z0-9]+", w) and w not in ("more", "new", "additional", "its",
                                                                                         "their", "north", "korean")]
            subject = "_".join(words) or item_type
            contents = re.match(r"\s(?:of|with)\s([a-z]+)", sentence_text[end:].lower())
            if singular == "container" and contents:
                subject = f"{contents.group(1)}_container"
            return Guess("arms", subject, f"'{noun}' is an item shipped; item_type from the noun", item_type=item_type)
    if any(noun_l in (p, _plural(p)) for p in PEOPLE_NOUNS):
        nearest = _nearest(_CHANNEL_PATTERNS, sentence_text.replace(noun, " " * len(noun)), start, end)
        if re.search(r"hacker|developer|engineer|operative", noun_l) or (nearest and nearest[0] == "cyber"):
            subject, why = "cyber", f"'{noun}' with cyber words nearby" if nearest else f"'{noun}'"
        elif re.search(r"soldier|troop", noun_l):
            subject, why = "arms_exports", f"'{noun}': soldiers sent abroad are counted with arms exports"
        else:
            subject, why = "overseas_labor", f"'{noun}' counts people"
        return Guess("channel", subject, why, measure=v.PEOPLE, measure_why="a count of people")
    nearest = _nearest(_CHANNEL_PATTERNS, sentence_text, start, end)
    if re.search(r"shipment|deliver|transfer", noun_l):
        subject = "coal_smuggling" if re.search(r"\bcoal\b", sentence_text, re.IGNORECASE) else (
            nearest[0] if nearest else "TODO_subject")
    else:
        subject = "cyber"
    return Guess("channel", subject, f"'{noun}' counts incidents", measure=v.INCIDENTS, measure_why="a count of incidents")


def guess_share(sentence_text: str, start: int, end: int) -> Guess:
    guess = guess_money(sentence_text, start, end)
    if guess.topic == "trade":
        guess = Guess("total", v.TOTAL_SUBJECT, guess.why)
    guess.measure, guess.measure_why = v.SHARE, "a percentage"
    return guess


# ---------------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------------

_QUALIFIER_BEFORE = re.compile(
    r"(?:^|[\s(,])(?P<q>" + "|".join(re.escape(q) for q in sorted(v.QUALIFIERS, key=len, reverse=True))
    + r")\s(?:an?\s|the\s)?(?:estimated\s)?$", re.IGNORECASE)


@dataclass
class Draft:
    kind: str  # money | count | share
    value: Decimal
    unit: str
    value_text: str
    offset: int
    sentence: Sentence
    guess: Guess
    qualifier: str | None = None
    period: Period | None = None
    period_why: str = ""
    notes: list[str] = field(default_factory=list)
    id: str = ""


@dataclass
class DraftResult:
    figures: list[Draft]
    other_currencies: list[tuple[str, Sentence]]
    periods: list[Period]  # every period the document states, in order


def _qualifier(sentence_text: str, start: int) -> str | None:
    match = _QUALIFIER_BEFORE.search(sentence_text[max(0, start - 40):start])
    return match.group("q").lower() if match else None


def _money_mentions(sentence_text: str) -> list[tuple[int, int, Decimal, str, str]]:
    """(start, end, value, unit, note) of every US-dollar amount in a sentence."""
    found: list[tuple[int, int, Decimal, str, str]] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, value: Decimal, unit: str, note: str = "") -> None:
        if any(a < end and start < b for a, b in taken):
            return
        taken.append((start, end))
        found.append((start, end, value, unit, note))

    for match in MONEY_SYMBOL.finditer(sentence_text):
        exponent = SCALE_WORDS.get((match.group("scale") or "").lower(),
                                   SCALE_ABBREVIATIONS.get((match.group("abbr") or "").lower(), 0))
        end = match.end()
        text = match.group(0)
        note = ""
        if match.group("num2"):
            note = f"a range ({text}): the low and the high end are drafted as two figures"
        add(match.start(), end, _number(match.group("num")), MONEY_UNIT_BY_EXPONENT[exponent], note)
        if match.group("num2"):
            found.append((match.start(), end, _number(match.group("num2")), MONEY_UNIT_BY_EXPONENT[exponent], note))
    for match in MONEY_TRAILING.finditer(sentence_text):
        exponent = SCALE_WORDS.get((match.group("scale") or "").lower(), 0)
        add(match.start(), match.end(), _number(match.group("num")), MONEY_UNIT_BY_EXPONENT[exponent])
    for match in MONEY_WORDS.finditer(sentence_text):
        words = match.group("words").lower()
        value = FRACTION_WORDS.get(words) or Decimal(word_number(words) or 0)
        if value:
            add(match.start(), match.end(), value, MONEY_UNIT_BY_EXPONENT[SCALE_WORDS[match.group("scale").lower()]])
    return sorted(found)


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(a < end and start < b for a, b in spans)


def draft(text: str, published_on: date | None = None) -> DraftResult:
    """Every figure the document states, in document order, duplicates (same value, unit, subject and
    period) kept once, at their first statement in running text."""
    result = DraftResult([], [], [])
    all_sentences = sentences(text)
    by_paragraph: dict[int, list[Period]] = {}
    paragraph_sentences: dict[int, list[Sentence]] = {}
    for sentence in all_sentences:
        stext = text[sentence.start:sentence.end]
        periods = periods_in(sentence, text, published_on)
        result.periods += periods
        earlier = by_paragraph.get(sentence.paragraph, [])[-1:]  # the last period of the paragraph so far
        paragraph_sentences.setdefault(sentence.paragraph, []).append(sentence)
        by_paragraph.setdefault(sentence.paragraph, []).extend(periods)
        spans: list[tuple[int, int]] = []
        mentions: list[Draft] = []
        for start, end, value, unit, note in _money_mentions(stext):
            spans.append((start, end))
            d = Draft("money", value, unit, stext[start:end], sentence.start + start, sentence,
                      guess_money(stext, start, end), _qualifier(stext, start))
            if note:
                d.notes.append(note)
            mentions.append(d)
        for match in OTHER_CURRENCY.finditer(stext):
            if not _overlaps(spans, match.start(), match.end()):
                spans.append((match.start(), match.end()))
                result.other_currencies.append((match.group(0), sentence))
        for match in PERCENT.finditer(stext):
            if _overlaps(spans, match.start(), match.end()):
                continue
            spans.append((match.start(), match.end()))
            mentions.append(Draft("share", _number(match.group("num")), "percent", match.group(0), sentence.start + match.start(),
                                  sentence, guess_share(stext, match.start(), match.end()), _qualifier(stext, match.start())))
        for match in COUNT.finditer(stext):
            if _overlaps(spans, match.start(), match.end("num")):
                continue
            number = match.group("num")
            value = _number(number) if number[0].isdigit() else Decimal(word_number(number) or 0)
            if not value or (number.isdigit() and len(number) == 4 and 1900 <= int(number) <= 2100
                             and not match.group("mods").strip() == ""):
                continue
            if match.group("scale"):
                value *= Decimal(10) ** SCALE_WORDS[match.group("scale").lower()]
            if value != value.to_integral_value():
                continue
            spans.append((match.start(), match.end("num")))
            value_end = match.end("scale") if match.group("scale") else match.end("num")
            mentions.append(Draft("count", value, "count", stext[match.start():value_end], sentence.start + match.start(),
                                  sentence, guess_count(stext, match.start(), match.end(), match.group("noun"),
                                                        match.group("mods")),
                                  _qualifier(stext, match.start())))
        same = _SAME_PERIOD.search(stext)
        for d in sorted(mentions, key=lambda m: m.offset):
            if periods:
                d.period = min(periods, key=lambda p: _distance(p.offset, d.offset))
                d.period_why = f"'{d.period.text}' in the same sentence"
            elif earlier:
                d.period = earlier[-1]
                d.period_why = f"'{d.period.text}' in an earlier sentence of the same paragraph"
            elif same and result.periods:
                d.period = result.periods[-1]
                d.period_why = f"'{same.group(0)}': the period stated last before it, '{d.period.text}'"
            else:
                d.period_why = "no period stated near it: it takes the report's period"
            if "TODO" in d.guess.subject:
                _subject_from_context(d, paragraph_sentences.get(sentence.paragraph, []), text, result.figures)
            if d.period is not None and d.period.note:
                d.period_why += f" ({d.period.note})"
            if d.guess.measure == v.EVENT and d.period is not None and d.period.start and d.period.end \
                    and (d.period.end - d.period.start).days > 62:
                d.guess.measure = None  # one theft is not a year's: money over a longer period is income
            result.figures.append(d)
    result.figures = _dedupe(result.figures)
    _assign_ids(result.figures)
    return result


_SAME_PERIOD = re.compile(r"\b(?:the\ssame\s(?:period|year|time|months?)|that\s(?:year|period)|during\sthe\syear)\b",
                          re.IGNORECASE)


def _distance(period_offset: int, figure_offset: int) -> int:
    """How far a period is from a figure; one written before the figure counts double ("stole $1.7 billion
    in 2022, and ... since 2017": the period after a figure is usually its own)."""
    gap = period_offset - figure_offset
    return gap if gap >= 0 else -2 * gap


def _subject_from_context(d: Draft, earlier: list[Sentence], text: str, before: list[Draft]) -> None:
    """A figure whose sentence has no telling word: the last telling word of an earlier sentence of its
    paragraph, else the subject of the figure before it."""
    for sentence in reversed(earlier[-20:-1]):  # the paragraph's last sentences before it
        stext = text[sentence.start:sentence.end]
        nearest = _nearest({**_CHANNEL_PATTERNS, "total": _TOTAL_PATTERN}, stext, len(stext), len(stext))
        if nearest is not None:
            topic, subject = ("total", v.TOTAL_SUBJECT) if nearest[0] == "total" else ("channel", nearest[0])
            d.guess.topic, d.guess.subject = topic, subject
            d.guess.why = f"no telling word in its sentence; '{nearest[1]}' in an earlier sentence of its paragraph"
            return
    previous = next((f for f in reversed(before)
                     if f.kind != "count" and "TODO" not in f.guess.subject and f.guess.topic != "trade"), None)
    if previous is not None:
        d.guess.topic, d.guess.subject = previous.guess.topic, previous.guess.subject
        d.guess.why = f"no telling word in its sentence; the subject of the figure before it ({previous.value_text})"


def _is_running_text(sentence: Sentence) -> bool:
    return sentence.text[-1:] in ".!?\"'”’)"


def _dedupe(figures: list[Draft]) -> list[Draft]:
    kept: dict[tuple, Draft] = {}
    for d in figures:
        period = (d.period.start, d.period.end) if d.period else None
        key = (d.kind, d.value, d.unit, d.guess.topic, d.guess.subject, d.guess.measure, period)
        first = kept.get(key)
        if first is None:
            kept[key] = d
        elif not _is_running_text(first.sentence) and _is_running_text(d.sentence):
            kept[key] = d  # a headline's figure stated again in the text: quote the text
    in_text = {(d.kind, d.value, d.unit) for d in kept.values() if _is_running_text(d.sentence)}
    # a headline restates a figure of the text, often rounded or with a looser period: the text's is kept
    return sorted((d for d in kept.values() if _is_running_text(d.sentence) or (d.kind, d.value, d.unit) not in in_text),
                  key=lambda d: d.offset)


def _assign_ids(figures: list[Draft]) -> None:
    seen: dict[str, int] = {}
    for d in figures:
        subject = d.guess.subject.replace("_", "-").lower()
        subject = re.sub(r"[^a-z0-9-]+", "-", subject).strip("-") or "figure"
        suffix = {v.PEOPLE: "people", v.INCIDENTS: "incidents", v.SHARE: "share", v.INCOME_PER_YEAR: "per-year",
                  v.EVENT: "event"}.get(d.guess.measure or "", "")
        if d.guess.topic == "arms":
            base = f"arms-{subject}"
        elif d.guess.topic == "trade":
            base = subject
        elif d.guess.topic == "total":
            base = f"total-{subject}" + (f"-{suffix}" if suffix else "")
        else:
            base = f"{subject}-{suffix or 'income'}"
        base = re.sub(r"-+", "-", base)
        seen[base] = seen.get(base, 0) + 1
        d.id = base if seen[base] == 1 else f"{base}-{seen[base]}"


# ---------------------------------------------------------------------------------------------------
# figures.toml
# ---------------------------------------------------------------------------------------------------

def render(result: DraftResult, source_name: str, sha256: str, published_on: date | None) -> str:
    lines = [
        f"# Drafted by `python -m pipeline draft-figures` from {source_name} (sha256 {sha256[:12]}...):",
        f"# {len(result.figures)} figure(s). value, unit, value_text and quote are read from the document;",
        "# every line marked 'guess' is a guess to check. Delete a figure that is not one; add any that is",
        "# missing. A figure without period_start/period_end takes the report's period.",
        "# Units: USD, USD thousand, USD million, USD billion, USD trillion, count, percent.",
    ]
    if published_on is None:
        lines.append("# Relative periods ('last year', 'since July') were not resolved: no --published-on was given.")
    for text, sentence in result.other_currencies:
        lines.append(f"# ANOTHER CURRENCY, not drafted: {text!r} in {sentence.text[:160]!r}")
        lines.append("#   find the US-dollar figure the document states; never convert it here.")
    for d in result.figures:
        lines.append("")
        lines.append("[[figure]]")
        lines.append(f"id = {toml_string(d.id)}")
        lines.append(f"topic = {toml_string(d.guess.topic)}  # guess: {d.guess.why}")
        lines.append(f"subject = {toml_string(d.guess.subject)}  # guess")
        if d.guess.item_type:
            lines.append(f"item_type = {toml_string(d.guess.item_type)}  # guess")
        if d.guess.measure:
            lines.append(f"measure = {toml_string(d.guess.measure)}  # guess: {d.guess.measure_why}")
        lines.append(f"value = {_toml_number(d.value)}")
        lines.append(f"unit = {toml_string(d.unit)}")
        lines.append(f"value_text = {toml_string(d.value_text)}")
        if d.qualifier:
            bound = v.QUALIFIER_BOUNDS.get(d.qualifier, "")
            lines.append(f"qualifier = {toml_string(d.qualifier)}  # as written ({bound})")
        if d.period is not None and d.period.start is not None and d.period.end is not None:
            lines.append(f"period_start = {d.period.start.isoformat()}  # guess: {d.period_why}")
            lines.append(f"period_end = {d.period.end.isoformat()}")
        else:
            lines.append(f"# period: {d.period_why}")
        for note in d.notes:
            lines.append(f"# note: {note}")
        lines.append(f"quote = {toml_string(d.sentence.text)}")
    return "\n".join(lines) + "\n"


def read_document(path: Path) -> tuple[str | None, str | None, list[Problem]]:
    """(text, sha256, problems) of a document, refused exactly as the loader refuses a stored one."""
    from pipeline.read.raw_reports import _read_source

    problems: list[Problem] = []
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        problems.append(Problem(path.parent.as_posix(), path.name, found="no such file",
                                expected="the path of the document as received"))
        return None, None, problems
    if path.is_symlink() or not path.is_file():
        problems.append(Problem(path.parent.as_posix(), path.name,
                                found="a symbolic link" if path.is_symlink() else "not a regular file (a folder, FIFO or device)",
                                expected="the document itself, a regular UTF-8 text file (copy it, do not link it)"))
        return None, None, problems
    text, sha, _ = _read_source(path.parent, path.parent.as_posix(), path.name, None, problems)
    if text is not None and "\x00" in text:
        problems.append(Problem(path.parent.as_posix(), path.name, found="NUL bytes (a binary file)",
                                expected="a UTF-8 text document (store the text extracted from a PDF)"))
        return None, sha, problems
    return (text if not problems else None), sha, problems


def draft_file(path: Path, published_on: date | None = None) -> tuple[str | None, int, list[Problem]]:
    """(figures.toml text, number of figures, problems) for a document."""
    text, sha, problems = read_document(path)
    if text is None:
        return None, 0, problems
    result = draft(text, published_on)
    return render(result, Path(path).name, sha or hashlib.sha256(text.encode()).hexdigest(), published_on), \
        len(result.figures), []
