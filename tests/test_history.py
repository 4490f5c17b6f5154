"""History across reports: several editions of one series (`report_changes`), the current numbers
(`latest_channels`, `latest_arms`, `latest_deficit`), a small report beside the seed, and what a
refresh says changed against the warehouse it replaces (`diff_warehouses`, the published_warehouse
metadata, the CLI)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import dagster as dg
import pytest

from pipeline.build.changes import diff_warehouses

from .conftest import SEED_ID
from .helpers import build, edit, publish_for_reading, refresh_cli, rows

D = dt.date
SERIES = "inss-illicit-income"
SEED_PUBLISHED = D(2024, 9, 3)


# ---------------------------------------------------------------------------------------------
# writing a report folder


def _toml_value(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string


def add_report(raw_dir: Path, report_id: str, *, published_on: dt.date, series: str, period: tuple[dt.date, dt.date],
               figures: list[dict], publisher: str = "Test Institute", title: str | None = None) -> Path:
    """Write raw/<report_id>/: a generated source document holding every figure's quote, its sha256 in
    report.toml, and figures.toml from `figures` (dicts with the figures.toml keys)."""
    folder = raw_dir / report_id
    folder.mkdir()
    source_name = f"{report_id}.txt"
    source = "\n\n".join([f"{title or report_id}", f"{publisher}, {published_on.isoformat()}",
                          *(f["quote"] for f in figures), "End of document."]) + "\n"
    (folder / source_name).write_text(source, encoding="utf-8")
    sha256 = hashlib.sha256((folder / source_name).read_bytes()).hexdigest()
    meta = {
        "title": title or f"Test report {report_id}",
        "publisher": publisher,
        "published_on": published_on,
        "series": series,
        "period_start": period[0],
        "period_end": period[1],
        "source_file": source_name,
        "source_sha256": sha256,
    }
    (folder / "report.toml").write_text("".join(f"{k} = {_toml_value(v)}\n" for k, v in meta.items()), encoding="utf-8")
    blocks = ["[[figure]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in figure.items()) for figure in figures]
    (folder / "figures.toml").write_text("\n".join(blocks), encoding="utf-8")
    return folder


def money(fig_id: str, topic: str, subject: str, value: float, unit: str, value_text: str, quote: str,
          period: tuple[dt.date, dt.date] | None = None) -> dict:
    figure = {"id": fig_id, "topic": topic, "subject": subject, "value": value, "unit": unit,
              "value_text": value_text}
    if period:
        figure["period_start"], figure["period_end"] = period
    figure["quote"] = quote
    return figure


# ---------------------------------------------------------------------------------------------
# a second edition of the seed's series

SECOND_ID = "inss-illicit-income-2025-09-01"
SECOND_PUBLISHED = D(2025, 9, 1)
SECOND_PERIOD = (D(2017, 1, 1), D(2024, 12, 31))
SEED_PERIOD = (D(2017, 1, 1), D(2023, 12, 31))
SECOND_FIGURES = [
    money("total-2017-2024", "total", "illicit_income", 7.1, "USD billion", "$7.1 billion",
          "North Korea earned $7.1 billion in illicit income from 2017 to 2024."),
    money("cyber-2017-2024", "channel", "cyber", 2.4, "USD billion", "$2.4 billion",
          "Cyber theft brought in $2.4 billion."),
    # the seed's as-published coal figure, under another id and for the seed's period: unchanged
    money("coal-2017-2023", "channel", "coal_smuggling", 21.5, "USD billion", "$21.5 billion",
          "Coal smuggling from 2017 to 2023 earned $21.5 billion.", SEED_PERIOD),
    money("labor-2017-2024", "channel", "overseas_labor", 2.0, "USD billion", "$2.0 billion",
          "Workers sent abroad earned $2.0 billion."),
    money("ransomware-2017-2024", "channel", "ransomware", 300, "USD million", "$300 million",
          "Ransomware payments added $300 million."),
]


def add_second_edition(raw_dir: Path) -> Path:
    return add_report(raw_dir, SECOND_ID, published_on=SECOND_PUBLISHED, series=SERIES, period=SECOND_PERIOD,
                      figures=SECOND_FIGURES, publisher="Institute for National Security Strategy")


# (change, topic, subject, old_value, new_value, old_figure_id, new_figure_id), values as published
EXPECTED_CHANGES = {
    ("changed", "total", "illicit_income", 6.3e9, 7.1e9, "total-illicit-income", "total-2017-2024"),
    ("changed", "channel", "cyber", 13.5e9, 2.4e9, "cyber-income", "cyber-2017-2024"),
    ("changed", "channel", "overseas_labor", 17.5e9, 2.0e9, "overseas-labor-income", "labor-2017-2024"),
    ("new", "channel", "ransomware", None, 300e6, None, "ransomware-2017-2024"),
    ("dropped", "channel", "arms_exports", 5.4e9, None, "arms-exports-income", None),
    ("dropped", "arms", "152mm_artillery_shell", 937_500.0, None, "arms-152mm-shells", None),
    ("dropped", "arms", "122mm_artillery_shell", 187_500.0, None, "arms-122mm-shells", None),
    ("dropped", "arms", "kn_23_missile", 9.0, None, "arms-kn-23-missiles", None),
    ("dropped", "arms", "kn_24_missile", 9.0, None, "arms-kn-24-missiles", None),
    ("dropped", "trade", "legal_trade_deficit", 82.5e9, None, "legal-trade-deficit", None),
    ("dropped", "trade", "deficit_after_illicit_income", 19.7e9, None, "deficit-after-illicit-income", None),
}

CHANGES_QUERY = """
    SELECT change, topic, subject, old_value, new_value, old_figure_id, new_figure_id,
           series, old_report_id, new_report_id, old_published_on, new_published_on, unit,
           abs_change, rel_change, old_best_value, new_best_value,
           old_period_start, old_period_end, new_period_start, new_period_end
    FROM report_changes"""


def test_second_edition_latest_values_and_report_changes(raw_dir, warehouse_path):
    add_second_edition(raw_dir)
    publish_for_reading(raw_dir, warehouse_path)

    # latest_channels: for each channel and period, the newer edition where it states that period; the
    # seed's 2017-2023 figures stay beside the second edition's 2017-2024 ones (a new period hides no other)
    assert rows(warehouse_path, "SELECT channel, income_usd, income_usd_as_published, corrected, report_id, "
                                "published_on, series, figure_id, period_start, period_end "
                                "FROM latest_channels ORDER BY channel, period_start, period_end") == [
        ("arms_exports", 540e6, 5.4e9, True, SEED_ID, SEED_PUBLISHED, SERIES, "arms-exports-income",
         D(2023, 7, 1), D(2024, 2, 29)),
        ("coal_smuggling", 21.5e9, 21.5e9, False, SECOND_ID, SECOND_PUBLISHED, SERIES, "coal-2017-2023", *SEED_PERIOD),
        ("cyber", 1.35e9, 13.5e9, True, SEED_ID, SEED_PUBLISHED, SERIES, "cyber-income", *SEED_PERIOD),
        ("cyber", 2.4e9, 2.4e9, False, SECOND_ID, SECOND_PUBLISHED, SERIES, "cyber-2017-2024", *SECOND_PERIOD),
        ("overseas_labor", 1.75e9, 17.5e9, True, SEED_ID, SEED_PUBLISHED, SERIES, "overseas-labor-income",
         *SEED_PERIOD),
        ("overseas_labor", 2.0e9, 2.0e9, False, SECOND_ID, SECOND_PUBLISHED, SERIES, "labor-2017-2024",
         *SECOND_PERIOD),
        ("ransomware", 300e6, 300e6, False, SECOND_ID, SECOND_PUBLISHED, SERIES, "ransomware-2017-2024",
         *SECOND_PERIOD),
    ]
    # the second edition states no arms and no deficit: both stay the seed's
    assert rows(warehouse_path, "SELECT item, quantity, report_id, published_on, figure_id FROM latest_arms "
                                "ORDER BY item") == [
        ("122mm_artillery_shell", 187_500, SEED_ID, SEED_PUBLISHED, "arms-122mm-shells"),
        ("152mm_artillery_shell", 937_500, SEED_ID, SEED_PUBLISHED, "arms-152mm-shells"),
        ("kn_23_missile", 9, SEED_ID, SEED_PUBLISHED, "arms-kn-23-missiles"),
        ("kn_24_missile", 9, SEED_ID, SEED_PUBLISHED, "arms-kn-24-missiles"),
    ]
    assert rows(warehouse_path, "SELECT report_id, published_on, period_start, period_end, legal_trade_deficit_usd, "
                                "deficit_after_illicit_usd, legal_trade_deficit_usd_as_published, "
                                "deficit_after_illicit_usd_as_published FROM latest_deficit") == [
        (SEED_ID, SEED_PUBLISHED, *SEED_PERIOD, 8.25e9, 1.97e9, 82.5e9, 19.7e9),
    ]

    # report_changes: exactly the expected rows, and no row for the unchanged coal figure
    found = rows(warehouse_path, CHANGES_QUERY)
    assert {r[:7] for r in found} == EXPECTED_CHANGES
    assert len(found) == len(EXPECTED_CHANGES)
    for r in found:
        (change, topic, _subject, old, new, _of, _nf, series, old_rid, new_rid, old_on, new_on, unit,
         abs_change, rel_change, old_best, new_best, old_start, old_end, new_start, new_end) = r
        assert (series, old_rid, new_rid, old_on, new_on) == (SERIES, SEED_ID, SECOND_ID, SEED_PUBLISHED,
                                                              SECOND_PUBLISHED)
        assert unit == ("count" if topic == "arms" else "USD")
        if change == "changed":
            assert abs_change == pytest.approx(new - old)
            assert rel_change == pytest.approx((new - old) / old)
        else:
            assert abs_change is None and rel_change is None
        if change == "new":
            assert (old_best, old_start, old_end) == (None, None, None)
            assert (new_start, new_end) == SECOND_PERIOD
        if change == "dropped":
            assert (new_best, new_start, new_end) == (None, None, None)
    by_subject = {r[2]: r for r in found}
    # relative changes by hand; best estimates beside the published values (the seed's are corrected)
    assert by_subject["illicit_income"][13:17] == (pytest.approx(0.8e9), pytest.approx(0.8 / 6.3), 6.29e9, 7.1e9)
    assert by_subject["cyber"][13:17] == (pytest.approx(-11.1e9), pytest.approx(-11.1 / 13.5), 1.35e9, 2.4e9)
    assert by_subject["overseas_labor"][13:17] == (pytest.approx(-15.5e9), pytest.approx(-15.5 / 17.5), 1.75e9, 2.0e9)
    assert by_subject["illicit_income"][17:] == (*SEED_PERIOD, *SECOND_PERIOD)
    assert by_subject["legal_trade_deficit"][15:17] == (8.25e9, None)
    assert by_subject["152mm_artillery_shell"][15:17] == (937_500.0, None)


def test_an_edition_of_another_series_is_not_paired_with_the_seed_series(raw_dir, warehouse_path):
    add_second_edition(raw_dir)
    # published between the two editions of the seed's series, and later than both, in two other series
    add_report(raw_dir, "un-panel-2025-03-01", published_on=D(2025, 3, 1), series="un-panel", period=SEED_PERIOD,
               figures=[money("cyber", "channel", "cyber", 3.0, "USD billion", "$3.0 billion",
                              "Cyber theft yielded $3.0 billion."),
                        money("coal", "channel", "coal_smuggling", 1.0, "USD billion", "$1.0 billion",
                              "Coal exports yielded $1.0 billion.")])
    add_report(raw_dir, "chain-firm-2026-01-15", published_on=D(2026, 1, 15), series="chain-firm",
               period=(D(2025, 1, 1), D(2025, 12, 31)),
               figures=[money("cyber-2025", "channel", "cyber", 2.0, "USD billion", "$2.0 billion",
                              "Hackers stole $2.0 billion in 2025.")])
    publish_for_reading(raw_dir, warehouse_path)

    assert rows(warehouse_path, "SELECT DISTINCT series, old_report_id, new_report_id FROM report_changes") == [
        (SERIES, SEED_ID, SECOND_ID)]
    found = rows(warehouse_path, CHANGES_QUERY)
    assert {r[:7] for r in found} == EXPECTED_CHANGES
    assert len(found) == len(EXPECTED_CHANGES)
    # the latest report of any series wins each channel's period; no period hides another
    assert rows(warehouse_path, "SELECT channel, report_id, income_usd, period_end FROM latest_channels "
                                "WHERE channel IN ('cyber', 'coal_smuggling') ORDER BY channel, period_end") == [
        ("coal_smuggling", SECOND_ID, 21.5e9, D(2023, 12, 31)),
        ("cyber", "un-panel-2025-03-01", 3.0e9, D(2023, 12, 31)),
        ("cyber", SECOND_ID, 2.4e9, D(2024, 12, 31)),
        ("cyber", "chain-firm-2026-01-15", 2.0e9, D(2025, 12, 31))]


# ---------------------------------------------------------------------------------------------
# a single-year, cyber-only report beside the seed

CYBER_ID = "chain-firm-crypto-2023"
CYBER_PERIOD = (D(2023, 1, 1), D(2023, 12, 31))


def add_cyber_report(raw_dir: Path, published_on: dt.date) -> Path:
    return add_report(raw_dir, CYBER_ID, published_on=published_on, series="chain-firm-crypto", period=CYBER_PERIOD,
                      publisher="A chain-analysis firm",
                      figures=[money("cyber-2023", "channel", "cyber", 660.5, "USD million", "$660.5 million",
                                     "North Korean hackers stole $660.5 million in 2023.")])


@pytest.mark.parametrize("published_on, latest_cyber", [
    (D(2024, 2, 1), (CYBER_ID, D(2024, 2, 1), 660.5e6, "cyber-2023", *CYBER_PERIOD)),
    (D(2025, 2, 1), (CYBER_ID, D(2025, 2, 1), 660.5e6, "cyber-2023", *CYBER_PERIOD)),
], ids=["published-before-the-seed", "published-after-the-seed"])
def test_a_cyber_only_report_loads_beside_the_seed(raw_dir, warehouse_path, published_on, latest_cyber):
    add_cyber_report(raw_dir, published_on)
    publish_for_reading(raw_dir, warehouse_path)

    assert rows(warehouse_path, "SELECT report_id, channel, income_usd, income_usd_as_published, corrected, "
                                "period_start, period_end, figure_id FROM channels WHERE report_id <> ?", [SEED_ID]) == [
        (CYBER_ID, "cyber", 660.5e6, 660.5e6, False, *CYBER_PERIOD, "cyber-2023")]
    assert rows(warehouse_path, "SELECT count(*) FROM channels") == [(5,)]
    assert rows(warehouse_path, "SELECT DISTINCT report_id FROM arms") == [(SEED_ID,)]
    assert rows(warehouse_path, "SELECT count(*) FROM arms") == [(4,)]
    assert rows(warehouse_path, "SELECT report_id, implied_illicit_income_usd FROM deficit") == [(SEED_ID, 6.28e9)]

    checks = {(name, basis): (passed, message) for name, basis, passed, message in rows(
        warehouse_path, "SELECT check_name, value_basis, passed, message FROM validation_results WHERE report_id = ?",
        [CYBER_ID])}
    no_total = "not compared: the report states no total (channels not compared: cyber 660.5e6 (2023-01-01..2023-12-31))"
    for basis in ("as_published", "best_estimate"):
        assert checks[("channels_within_total", basis)] == (None, no_total)
        assert checks[("no_channel_exceeds_total", basis)] == (None, no_total)
        assert checks[("deficit_identity", basis)] == (None, "not compared: the report states no legal-trade deficit")
    assert checks[("figure_periods_within_report", "as_published")] == (
        True, "every figure's period lies inside the report's period 2023-01-01..2023-12-31")
    assert checks[("channel_names_known", "as_published")] == (True, "channels cyber are all contract channel names")
    assert not any(passed is False for passed, _ in checks.values())

    # one edition per series: nothing to compare
    assert rows(warehouse_path, "SELECT count(*) FROM report_changes") == [(0,)]
    # whenever it was published, its 2023 figure stands beside the seed's 2017-2023 one: no period hides another
    assert rows(warehouse_path, "SELECT report_id, published_on, income_usd, figure_id, period_start, period_end "
                                "FROM latest_channels WHERE channel = 'cyber' ORDER BY period_start") == [
        (SEED_ID, SEED_PUBLISHED, 1.35e9, "cyber-income", *SEED_PERIOD), latest_cyber]
    assert rows(warehouse_path, "SELECT DISTINCT report_id FROM latest_channels WHERE channel <> 'cyber'") == [
        (SEED_ID,)]


# ---------------------------------------------------------------------------------------------
# what a refresh changed


def test_diff_warehouses_names_a_new_report_and_a_changed_best_estimate(published_seed, raw_dir,
                                                                        seed_dir, warehouse_path, tmp_path):
    old = tmp_path / "old.duckdb"
    shutil.copyfile(warehouse_path, old)

    assert diff_warehouses(old, warehouse_path) == []
    assert diff_warehouses(warehouse_path, warehouse_path) == []

    add_cyber_report(raw_dir, D(2025, 2, 1))
    edit(seed_dir / "corrections.toml", 'value = 1.35\nunit = "USD billion"\nvalue_text = "$1.35 billion"\n',
         'value = 1.4\nunit = "USD billion"\n')
    result = build(raw_dir, warehouse_path)
    assert result.success

    assert diff_warehouses(old, warehouse_path) == [
        f"new report {CYBER_ID}",
        f"{SEED_ID}/cyber-income: best estimate 1.35e9 -> 1.4e9",
    ]
    assert diff_warehouses(warehouse_path, old) == [
        f"report removed: {CYBER_ID}",
        f"{SEED_ID}/cyber-income: best estimate 1.4e9 -> 1.35e9",
    ]
    # and the published_warehouse metadata of that build says the same
    assert _changes_metadata(result) == (
        f"- new report {CYBER_ID}\n- {SEED_ID}/cyber-income: best estimate 1.35e9 -> 1.4e9", 2)


def test_a_change_made_to_the_published_file_outside_the_pipeline_is_reported_when_undone(published_seed, raw_dir,
                                                                                          warehouse_path):
    import duckdb

    con = duckdb.connect(str(warehouse_path))  # an analyst's read-write session
    con.execute("UPDATE figures SET best_amount_usd = 2e9 WHERE figure_id = 'cyber-income'")
    con.close()
    result = build(raw_dir, warehouse_path)  # no folder changed, but the published file did
    assert result.success
    assert _changes_metadata(result) == (f"- {SEED_ID}/cyber-income: best estimate 2e9 -> 1.35e9", 1)


def _changes_metadata(result: dg.ExecuteInProcessResult) -> tuple[str, int]:
    (event,) = [e for e in result.get_asset_materialization_events()
                if e.asset_key.to_user_string() == "published_warehouse"]
    metadata = event.materialization.metadata
    return metadata["changes_since_previous"].value, metadata["changed_items"].value


def test_published_warehouse_metadata_says_first_publication_then_nothing_changed(raw_dir, warehouse_path):
    first = build(raw_dir, warehouse_path)
    assert first.success
    assert _changes_metadata(first) == ("first publication", -1)

    again = build(raw_dir, warehouse_path)
    assert again.success
    assert _changes_metadata(again) == ("nothing changed", 0)


def test_cli_prints_first_publication_then_nothing_changed(raw_dir, warehouse_path, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    prefix = "changes since the previous published warehouse: "

    first = refresh_cli(raw_dir, warehouse_path, home)
    assert first.returncode == 0, first.stdout + first.stderr
    assert [line for line in first.stdout.splitlines() if line.startswith(prefix)] == [prefix + "first publication"]

    second = refresh_cli(raw_dir, warehouse_path, home)
    assert second.returncode == 0, second.stdout + second.stderr
    assert [line for line in second.stdout.splitlines() if line.startswith(prefix)] == [prefix + "nothing changed"]
