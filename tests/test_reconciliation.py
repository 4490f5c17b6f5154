"""Reconciliation checks (pipeline.validate.report_checks): the seed's exact outcome on both value bases, and
the pure check functions on small hand-built frames (tolerance edges, periods, the power-of-ten
diagnosis, the short dollar format)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.read.raw_reports import load_raw
from pipeline.validate.report_checks import (
    AS_PUBLISHED,
    BEST_ESTIMATE,
    REPORT_CHECKS,
    TOLERANCE,
    channels_within_total,
    deficit_identity,
    diagnose,
    no_channel_exceeds_total,
    run_report_checks,
    usd,
)

from .conftest import SEED_ID

ARMS_PERIOD_IDS = ("arms-152mm-shells", "arms-122mm-shells", "arms-kn-23-missiles", "arms-kn-24-missiles",
                   "arms-exports-income")


# ---------------------------------------------------------------------------------------------
# the seed, exactly


@pytest.fixture
def seed_results(raw_dir: Path) -> pd.DataFrame:
    raw = load_raw(raw_dir)
    return run_report_checks(raw.reports, raw.figures)


def _result(results: pd.DataFrame, check: str, basis: str = AS_PUBLISHED) -> pd.Series:
    rows = results[(results["check_name"] == check) & (results["value_basis"] == basis)]
    assert len(rows) == 1, (check, basis, rows)
    return rows.iloc[0]


def test_seed_has_one_row_per_check_and_basis(seed_results: pd.DataFrame) -> None:
    declared = {(c.name, b) for c in REPORT_CHECKS for b in c.bases}
    pairs = list(zip(seed_results["check_name"], seed_results["value_basis"], strict=False))
    assert len(pairs) == len(set(pairs)) == len(declared)
    assert set(pairs) == declared
    assert set(seed_results["report_id"]) == {SEED_ID}
    # the reconciliation checks run on both bases, and nothing else does
    both = {name for name, basis in declared if basis == BEST_ESTIMATE}
    assert both == {"channels_within_total", "no_channel_exceeds_total", "deficit_identity", "totals_consistent",
                    "one_value_per_period"}
    severity = {c.name: c.severity for c in REPORT_CHECKS}
    assert all(seed_results["severity"] == seed_results["check_name"].map(severity))


def test_seed_every_error_check_passed(seed_results: pd.DataFrame) -> None:
    errors = seed_results[seed_results["severity"] == "error"]
    assert len(errors) == sum(1 for c in REPORT_CHECKS if c.severity == "error" for _ in c.bases)
    assert errors["passed"].all(), errors[~errors["passed"]].to_dict("records")


def test_seed_channels_within_total(seed_results: pd.DataFrame) -> None:
    published = _result(seed_results, "channels_within_total", AS_PUBLISHED)
    assert published["severity"] == "warn"
    assert not published["passed"]
    assert "channels sum to 52.5e9, 8.3x the stated total 6.3e9" in published["message"]
    assert "not summed, outside that period: arms_exports" in published["message"]

    best = _result(seed_results, "channels_within_total", BEST_ESTIMATE)
    assert best["passed"]
    assert "channels sum to 5.25e9, within the stated total 6.29e9" in best["message"]


def test_seed_no_channel_exceeds_total(seed_results: pd.DataFrame) -> None:
    published = _result(seed_results, "no_channel_exceeds_total", AS_PUBLISHED)
    assert not published["passed"]
    message = published["message"]
    assert message.startswith("3 channel(s) exceed the total on their own")
    for channel, amount in (("cyber", "13.5e9"), ("coal_smuggling", "21.5e9"), ("overseas_labor", "17.5e9")):
        assert f"{channel} {amount} exceeds the stated total 6.3e9" in message
    # 5.4e9 would not exceed 6.3e9 anyway, but its period lies outside the total's: not named at all
    assert "arms_exports" not in message

    best = _result(seed_results, "no_channel_exceeds_total", BEST_ESTIMATE)
    assert best["passed"]
    assert best["message"] == "no channel inside the total's period exceeds the total"


def test_seed_deficit_identity(seed_results: pd.DataFrame) -> None:
    published = _result(seed_results, "deficit_identity", AS_PUBLISHED)
    assert not published["passed"]
    assert "62.8e9 implied" in published["message"]
    assert "(82.5e9 - 19.7e9)" in published["message"]
    assert "vs 6.3e9 stated: off by a factor of 10, a decimal or unit slip is likely" in published["message"]

    best = _result(seed_results, "deficit_identity", BEST_ESTIMATE)
    assert best["passed"]
    assert "6.28e9" in best["message"] and "6.29e9" in best["message"]
    assert "6.28e9 implied (8.25e9 - 1.97e9) agrees with 6.29e9 stated" in best["message"]


def test_seed_figure_periods_within_report_names_the_arms_period(seed_results: pd.DataFrame) -> None:
    row = _result(seed_results, "figure_periods_within_report")
    assert row["severity"] == "warn"
    assert not row["passed"]
    assert row["message"].startswith("5 figure(s) cover a period outside the report's period 2017-01-01..2023-12-31")
    for figure_id in ARMS_PERIOD_IDS:
        assert f"{figure_id} (2023-07-01..2024-02-29)" in row["message"], figure_id
    for figure_id in ("cyber-income", "total-illicit-income", "legal-trade-deficit"):
        assert figure_id not in row["message"]


def test_seed_other_warn_checks(seed_results: pd.DataFrame) -> None:
    assert _result(seed_results, "channel_names_known")["passed"]
    corrections = _result(seed_results, "corrections_documented")
    assert corrections["passed"]
    assert corrections["message"].startswith("7 correction(s), 5 cited")


# ---------------------------------------------------------------------------------------------
# pure functions on hand-built frames

PERIOD = ("2017-01-01", "2023-12-31")
OTHER = ("2023-07-01", "2024-02-29")
REPORT = pd.Series({"report_id": "a-report", "period_start": pd.Timestamp(PERIOD[0]),
                    "period_end": pd.Timestamp(PERIOD[1])})


def _fig(figure_id: str, topic: str, subject: str, amount: float, best: float | None = None,
         period: tuple[str, str] = PERIOD) -> dict:
    best = amount if best is None else best
    return {"figure_id": figure_id, "topic": topic, "subject": subject, "amount_usd": float(amount),
            "best_amount_usd": float(best), "period_start": pd.Timestamp(period[0]),
            "period_end": pd.Timestamp(period[1]), "corrected": best != amount,
            "correction_basis": "cited" if best != amount else None, "correction_evidence_quote": None}


def _frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def _total(amount: float, best: float | None = None, period: tuple[str, str] = PERIOD) -> dict:
    return _fig("total", "total", "illicit_income", amount, best, period)


def _channel(subject: str, amount: float, best: float | None = None, period: tuple[str, str] = PERIOD) -> dict:
    return _fig(f"{subject.replace('_', '-')}-income", "channel", subject, amount, best, period)


@pytest.mark.parametrize("check", [channels_within_total, no_channel_exceeds_total])
@pytest.mark.parametrize("basis", [AS_PUBLISHED, BEST_ESTIMATE])
def test_no_total_is_not_compared_and_names_the_channels(check, basis: str) -> None:
    figures = _frame(_channel("cyber", 13.5e9), _channel("coal_smuggling", 21.5e9))
    passed, message = check(REPORT, figures, basis)
    assert passed is None
    assert message == ("not compared: the report states no total (channels not compared: "
                       "cyber 13.5e9 (2017-01-01..2023-12-31), coal_smuggling 21.5e9 (2017-01-01..2023-12-31))")


def test_deficit_identity_without_deficit_is_not_compared() -> None:
    passed, message = deficit_identity(REPORT, _frame(_total(6.3e9), _channel("cyber", 1e9)), AS_PUBLISHED)
    assert passed is None
    assert message == "not compared: the report states no legal-trade deficit"


def test_channels_summing_to_exactly_the_total_pass() -> None:
    figures = _frame(_total(100e6), _channel("cyber", 60e6), _channel("coal_smuggling", 40e6))
    passed, message = channels_within_total(REPORT, figures, AS_PUBLISHED)
    assert passed is True, message
    assert "channels sum to 100e6, within the stated total 100e6" in message
    assert no_channel_exceeds_total(REPORT, figures, AS_PUBLISHED)[0] is True


def test_channels_at_the_tolerance_edge_pass_and_just_above_fail() -> None:
    total = 100e6
    edge = total * (1 + TOLERANCE)
    assert edge == 102e6  # so that the two channels below sum to it exactly
    at_edge = _frame(_total(total), _channel("cyber", 60e6), _channel("coal_smuggling", 42e6))
    passed, message = channels_within_total(REPORT, at_edge, AS_PUBLISHED)
    assert passed is True, message
    assert "within the stated total" in message

    above = _frame(_total(total), _channel("cyber", 60e6), _channel("coal_smuggling", 42e6 + 1))
    passed, message = channels_within_total(REPORT, above, AS_PUBLISHED)
    assert passed is False
    assert "channels sum to 102e6" in message and "the stated total 100e6" in message
    assert "within" not in message


def test_single_channel_at_the_tolerance_edge_does_not_exceed_but_just_above_does() -> None:
    total = 100e6
    passed, message = no_channel_exceeds_total(REPORT, _frame(_total(total), _channel("cyber", 102e6)), AS_PUBLISHED)
    assert passed is True, message
    passed, message = no_channel_exceeds_total(REPORT, _frame(_total(total), _channel("cyber", 102e6 + 1)),
                                               AS_PUBLISHED)
    assert passed is False
    assert "cyber 102e6 exceeds the stated total 100e6" in message


def test_basis_chooses_the_column() -> None:
    figures = _frame(_total(6.3e9, 6.29e9), _channel("cyber", 13.5e9, 1.35e9), _channel("coal_smuggling", 21.5e9, 2.15e9))
    assert channels_within_total(REPORT, figures, AS_PUBLISHED)[0] is False
    passed, message = channels_within_total(REPORT, figures, BEST_ESTIMATE)
    assert passed is True
    assert "3.5e9" in message and "6.29e9" in message


def test_channels_outside_the_totals_period_are_not_summed() -> None:
    figures = _frame(_total(1e9), _channel("cyber", 13.5e9, period=OTHER), _channel("coal_smuggling", 21.5e9,
                                                                                      period=OTHER))
    for basis in (AS_PUBLISHED, BEST_ESTIMATE):
        passed, message = channels_within_total(REPORT, figures, basis)
        assert passed is None, message
        assert "channels sum to" not in message
        assert message == ("not compared: no channel lies inside the total's period 2017-01-01..2023-12-31 "
                           "(not summed, outside that period: cyber, coal_smuggling)")
        passed, message = no_channel_exceeds_total(REPORT, figures, basis)
        assert passed is None, message
        assert message.startswith("not compared: no channel lies inside a total's period (cyber ")
        assert "coal_smuggling" in message


def test_a_channel_outside_the_period_is_named_as_not_summed() -> None:
    figures = _frame(_total(1e9), _channel("cyber", 0.5e9), _channel("arms_exports", 5e9, period=OTHER))
    passed, message = channels_within_total(REPORT, figures, AS_PUBLISHED)
    assert passed is True, message
    assert "channels sum to 500e6, within the stated total 1e9" in message
    assert "not summed, outside that period: arms_exports" in message


def _deficit(legal: float, after: float, period: tuple[str, str] = PERIOD) -> list[dict]:
    return [_fig("legal", "trade", "legal_trade_deficit", legal, period=period),
            _fig("after", "trade", "deficit_after_illicit_income", after, period=period)]


def test_deficit_without_a_total_of_the_same_period_is_not_compared() -> None:
    figures = _frame(*_deficit(82.5e9, 19.7e9), _total(6.3e9, period=OTHER))
    passed, message = deficit_identity(REPORT, figures, AS_PUBLISHED)
    assert passed is None
    assert "not compared: 62.8e9 implied (82.5e9 - 19.7e9); no total stated for 2017-01-01..2023-12-31 to compare" in message


def test_deficit_identity_fails_beyond_tolerance_without_a_power_of_ten() -> None:
    figures = _frame(*_deficit(10e9, 5e9), _total(3e9))
    passed, message = deficit_identity(REPORT, figures, AS_PUBLISHED)
    assert passed is False
    assert message == "5e9 implied (10e9 - 5e9) vs 3e9 stated, 1.7x"


def test_deficit_identity_agrees_within_tolerance() -> None:
    figures = _frame(*_deficit(8.25e9, 1.97e9), _total(6.29e9))
    passed, message = deficit_identity(REPORT, figures, AS_PUBLISHED)
    assert passed is True
    assert message == "6.28e9 implied (8.25e9 - 1.97e9) agrees with 6.29e9 stated (within 2%)"


def test_deficit_without_its_pair_is_reported_not_failed() -> None:
    figures = _frame(_fig("legal", "trade", "legal_trade_deficit", 82.5e9), _total(6.3e9))
    passed, message = deficit_identity(REPORT, figures, AS_PUBLISHED)
    assert passed is None
    assert message == "not compared: no deficit after illicit income for 2017-01-01..2023-12-31"


@pytest.mark.parametrize(("found", "stated", "expected"), [
    (62.8e9, 6.3e9, "off by a factor of 10, a decimal or unit slip is likely"),
    (52.5e9, 6.3e9, ""),
    (0.63e9, 6.3e9, "off by a factor of 10, a decimal or unit slip is likely"),
    (630e9, 6.3e9, "off by a factor of 100, a decimal or unit slip is likely"),
    (6.3e12, 6.3e9, "off by a factor of 1000, a decimal or unit slip is likely"),
    (6.3e9, 6.3e9, ""),
    (6.28e9, 6.29e9, ""),
    (0, 6.3e9, ""),
    (6.3e9, 0, ""),
    (-63e9, 6.3e9, ""),
])
def test_diagnose(found: float, stated: float, expected: str) -> None:
    assert diagnose(found, stated) == expected


def test_diagnose_slack_is_five_percent() -> None:
    assert "factor of 10" in diagnose(6.3e9 * 10 * 1.049, 6.3e9)
    assert diagnose(6.3e9 * 10 * 1.06, 6.3e9) == ""
    assert "factor of 10" in diagnose(6.3e9 * 0.1 * 0.951, 6.3e9)


@pytest.mark.parametrize(("amount", "text"), [
    (52.5e9, "52.5e9"),
    (540e6, "540e6"),
    (6.28e9, "6.28e9"),
    (8.25e9 - 1.97e9, "6.28e9"),
    (82.5e9 - 19.7e9, "62.8e9"),
    (6.29e9, "6.29e9"),
    (1.35e12, "1.35e12"),
    (1_200, "1200"),
    (0, "0"),
])
def test_usd(amount: float, text: str) -> None:
    assert usd(amount) == text


def test_a_zero_total_fails_channel_checks_without_raising() -> None:
    figures = _frame(_total(0), _channel("cyber", 1e9))
    passed, message = channels_within_total(REPORT, figures, AS_PUBLISHED)
    assert passed is False
    assert "channels sum to 1e9" in message and "the stated total 0" in message
    assert "inf" not in message
    passed, message = no_channel_exceeds_total(REPORT, figures, AS_PUBLISHED)
    assert passed is False
    assert "cyber 1e9 exceeds the stated total 0" in message


def test_a_zero_total_fails_deficit_identity_without_raising() -> None:
    figures = _frame(*_deficit(10e9, 5e9), _total(0))
    passed, message = deficit_identity(REPORT, figures, AS_PUBLISHED)
    assert passed is False
    assert "5e9 implied (10e9 - 5e9) vs 0 stated" in message


@pytest.mark.parametrize(("amount", "text"), [(12_345, "12345"), (250_000, "250000"), (999_960_000, "1e9")])
def test_usd_short_form_between_the_units(amount: float, text: str) -> None:
    assert usd(amount) == text
