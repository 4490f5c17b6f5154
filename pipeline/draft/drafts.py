"""Report folders in the draft state: made from a document, checked, and moved into raw/ when ready.

    raw/_inbox/<document>        dropped here, drafted by the inbox sensor (pipeline.defs.inbox) under `dagster dev`
    raw/_drafts/<report-id>/     a draft: the document, report.toml to fill in, figures.toml drafted
    raw/<report-id>/             a report, read by every refresh

Folders whose name starts with `_` are not reports: the loader and the raw/ sensor leave drafts alone,
so a half-filled draft never starts or fails a refresh. `make new-report` creates a draft;
`make ready ID=...` checks it with the real loader and schemas and moves it into raw/ in one rename.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline.core import vocabulary as v
from pipeline.core.errors import Problem, RawReportError
from pipeline.draft.drafting import draft, read_document, render, toml_string
from pipeline.read.raw_reports import CORRECTIONS_FILE, FIGURES_FILE, REPORT_FILE

DRAFTS_DIR = "_drafts"
INBOX_DIR = "_inbox"
# A document may not take the name of a file the report folder has of its own.
RESERVED_NAMES = (REPORT_FILE, FIGURES_FILE, CORRECTIONS_FILE)
PLACEHOLDER = "TODO"

REPORT_TEMPLATE = """\
# Metadata of the report. Replace every TODO: a draft is not moved into raw/ while one is left.
# Dates are TOML dates (2024-09-03, no quotes). Optional fields may be deleted.
title = "TODO: the document's headline or title"
publisher = "TODO: the body that made the estimate"
# outlet = "the outlet that published this document, when it is not the publisher (e.g. a wire service)"
{published_on}
# published_on_basis = "where the date came from, if the document does not state it whole"
series = "TODO-series-slug"
period_start = "TODO: first day of the period the report covers, a TOML date such as 2017-01-01"
period_end = "TODO: last day of the period the report covers, a TOML date such as 2023-12-31"
# period_basis = "how the period was read from the text"
{period_hints}source_file = {source_file}
source_sha256 = "{sha256}"
# source_url = "https://..."
# notes = "anything a reader of the figures should know"
"""

FIGURES_TEMPLATE = """\
# The drafter found no figure in the document: add one [[figure]] table per figure it states,
# exactly as written (no corrections here). See README, "Adding a report".
# topic: total | channel | arms | trade.  unit: USD, USD thousand, USD million, USD billion,
# USD trillion, count, or percent.

[[figure]]
id = "TODO-figure-id"
topic = "TODO: total, channel, arms or trade"
subject = "TODO: a channel name, illicit_income, an arms item or a trade subject"
value = "TODO: the number as written, without unit"
unit = "TODO: the unit"
value_text = "TODO: the value exactly as written, e.g. $1 billion"
quote = "TODO: the sentence or clause of the document that states it, copied verbatim"
"""


class DraftRefused(Exception):
    """Nothing was created or moved; the message says why, and what to do."""


@dataclass
class Draft:
    folder: Path
    source_name: str
    sha256: str
    figures: int


def drafts_dir(raw_dir: Path) -> Path:
    return Path(raw_dir) / DRAFTS_DIR


def report_id_from_name(name: str) -> str:
    """A report id made from a file name: 'UN Panel report (2024).txt' -> 'un-panel-report-2024'."""
    slug = re.sub(r"[^a-z0-9]+", "-", Path(name).stem.lower()).strip("-")
    return slug[:80].strip("-") or "report"


def _refuse_name(name: str) -> str | None:
    if name.lower() in RESERVED_NAMES:
        return (f"the document is named {name!r}, which is the name of a file the report folder has of its own "
                f"({', '.join(RESERVED_NAMES)}): rename the document (for example to article.txt) and run it again")
    if name.startswith("."):
        return f"the document's name {name!r} starts with '.': rename it (the loader refuses hidden source files)"
    return None


def create_draft(raw_dir: Path, report_id: str, source: Path, published_on: date | None = None,
                 move: bool = False, draft_limit_bytes: int | None = None) -> Draft:
    """raw/_drafts/<report_id>/ with the document (byte for byte), report.toml (its sha256 filled in and
    placeholders wherever a person must type) and figures.toml as drafted. Made in a hidden folder and
    renamed into place, so no one sees half a draft. move=True removes the source afterwards (the inbox).
    A document larger than draft_limit_bytes gets the figures template instead of a drafted figures.toml
    (drafting reads about 4 MB a second: the inbox sensor must finish its tick)."""
    raw_dir, source = Path(raw_dir), Path(source)
    if not re.fullmatch(v.SLUG_PATTERN, report_id):
        raise DraftRefused(f"report id {report_id!r} is not a slug: use lower-case letters, digits and single hyphens, "
                           "for example un-panel-of-experts-2025-03")
    refused = _refuse_name(source.name)
    if refused:
        raise DraftRefused(refused)
    text, sha256, problems = read_document(source)
    if text is None:
        raise DraftRefused("\n".join(str(p) for p in problems) or f"cannot read {source}")
    for existing in (raw_dir / report_id, drafts_dir(raw_dir) / report_id):
        if existing.exists():
            raise DraftRefused(f"{existing} already exists; nothing was changed (choose another report id)")
    data = source.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise DraftRefused(f"{source} changed while it was read; nothing was changed (try again)")
    too_large = draft_limit_bytes is not None and len(data) > draft_limit_bytes
    result = draft("" if too_large else text, published_on)
    figures_toml = render(result, source.name, sha256, published_on) if result.figures else FIGURES_TEMPLATE
    if too_large:
        figures_toml = (f"# {source.name} is {len(data):,} bytes, more than the inbox drafts ({draft_limit_bytes:,}): draft\n"
                        f"# its figures with `python -m pipeline draft-figures {source.name}`.\n" + figures_toml)
    hints = "".join(
        f"# found in the text (a guess, not the report's period until you type it): {p.text!r} = "
        f"{p.start.isoformat()} to {p.end.isoformat()}\n"
        for p in _distinct_periods(result.periods)[:5])
    report_toml = REPORT_TEMPLATE.format(
        published_on=f"published_on = {published_on.isoformat()}" if published_on else
        'published_on = "TODO: the date the document was published, a TOML date such as 2024-09-03"',
        period_hints=hints, source_file=toml_string(source.name), sha256=sha256)
    drafts = drafts_dir(raw_dir)
    drafts.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{report_id}.", dir=drafts))
    try:
        (building / source.name).write_bytes(data)
        (building / REPORT_FILE).write_text(report_toml, encoding="utf-8")
        (building / FIGURES_FILE).write_text(figures_toml, encoding="utf-8")
        os.chmod(building, 0o755)
        target = drafts / report_id
        if target.exists():
            raise DraftRefused(f"{target} already exists; nothing was changed (choose another report id)")
        os.rename(building, target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    if move:
        source.unlink()
    return Draft(target, source.name, sha256, len(result.figures))


def _distinct_periods(periods: list) -> list:
    seen, found = set(), []
    for period in periods:
        if period.start and period.end and (period.start, period.end) not in seen:
            seen.add((period.start, period.end))
            found.append(period)
    return found


def _placeholders(folder: Path, folder_label: str) -> list[Problem]:
    """Every value that still holds the placeholder TODO (comments are not values)."""
    import rtoml

    problems = []
    for name in (REPORT_FILE, FIGURES_FILE, CORRECTIONS_FILE):
        path = folder / name
        if not path.is_file():
            continue
        data = rtoml.loads(path.read_text(encoding="utf-8"))
        tables = [("", data)] + [(f"figure '{t.get('id', i + 1)}'", t) for i, t in enumerate(data.get("figure", []))
                                 if isinstance(t, dict)]
        for where, table in tables:
            for key, value in table.items():
                if isinstance(value, str) and PLACEHOLDER in value:
                    problems.append(Problem(folder_label, name, where=where, field=key, found=f"the placeholder {value!r}",
                                            expected="what the document says (replace every TODO)"))
    return problems


def make_ready(raw_dir: Path, report_id: str) -> Path:
    """Check raw/_drafts/<report_id>/ with the real loader and schemas; move it to raw/<report_id>/.
    Raises RawReportError with every located problem, or DraftRefused; nothing is moved then."""
    from pipeline.validate.validation import load_and_check

    raw_dir = Path(raw_dir)
    if not re.fullmatch(v.SLUG_PATTERN, report_id):
        raise DraftRefused(f"report id {report_id!r} is not a slug")
    folder = drafts_dir(raw_dir) / report_id
    target = raw_dir / report_id
    if not folder.is_dir():
        raise DraftRefused(f"no draft {folder}: `make new-report ID={report_id} SOURCE=...` creates one")
    if target.exists():
        raise DraftRefused(f"{target} already exists; the draft was not moved (rename the draft's folder and "
                           "run it again with the new id)")
    load_and_check(drafts_dir(raw_dir), [folder])
    problems = _placeholders(folder, f"{raw_dir.name}/{DRAFTS_DIR}/{report_id}")
    if problems:
        raise RawReportError(problems, stage="checking the draft")
    os.rename(folder, target)
    return target
