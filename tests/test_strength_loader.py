"""Tests written from the survivors of `make mutation` (docs/mutation.md): what the loader, validation
and the per-report checks decide."""

from __future__ import annotations

from pathlib import Path

from pipeline.read.raw_reports import load_raw
from pipeline.validate.report_checks import AS_PUBLISHED, run_report_checks
from tests.helpers import edit


def _verdict(raw_dir: Path, check: str, basis: str) -> tuple:
    raw = load_raw(raw_dir)
    results = run_report_checks(raw.reports, raw.figures)
    (row,) = results[(results["check_name"] == check) & (results["value_basis"] == basis)].itertuples()
    return row.passed, row.status, row.message


def test_a_money_correction_equal_to_the_published_value_is_named_in_dollars(seed_dir: Path, raw_dir: Path) -> None:
    # the wire story's table also states the article's $13.5 billion: a correction to it loads, and changes nothing
    edit(seed_dir / "corrections.toml", 'value = 1.35\nunit = "USD billion"\nvalue_text = "$1.35 billion"',
         'value = 13.5\nunit = "USD billion"\nvalue_text = "$13.5 billion"')
    passed, status, message = _verdict(raw_dir, "corrections_change_values", AS_PUBLISHED)
    assert (passed, status) == (False, "failed")
    assert message.startswith("1 of 7 correction(s) leave the value as published: cyber-income (13.5e9); ")
