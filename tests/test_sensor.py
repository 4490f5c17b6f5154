"""The raw/ sensor: evaluated directly against a private copy of raw/ and a real ephemeral instance."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from pipeline.defs.automation import CURSOR_VERSION, raw_reports_sensor, scan_raw
from pipeline.publish.warehouse import RawReportsDir, Warehouse
from tests.conftest import SEED_ID

SEED_FILES = {
    "report.toml",
    "figures.toml",
    "corrections.toml",
    "000_7135ed9bf0dced39.txt",
    "yonhap-wire-2024-09-03.md",
}


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


def sensor_resources(raw_dir: Path, warehouse_path: Path | None = None) -> dict:
    """The sensor's resources: raw_dir, and a warehouse beside it (none published unless a test builds one)."""
    return {"raw": RawReportsDir(path=str(raw_dir)),
            "warehouse": Warehouse(path=str(warehouse_path or raw_dir.parent / "warehouse" / "illicit_income.duckdb"))}


def evaluate(instance: dg.DagsterInstance, raw_dir: Path, cursor: str | None = None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=sensor_resources(raw_dir))
    return raw_reports_sensor.evaluate_tick(context)


def only_run_request(data) -> dg.RunRequest:
    assert data.skip_message is None
    assert len(data.run_requests) == 1
    return data.run_requests[0]


def assert_skipped(data) -> None:
    assert data.run_requests == []
    assert data.skip_message is not None
    assert "unchanged" in data.skip_message


def sha16(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def test_first_evaluation_requests_a_run_and_records_every_seed_file(instance, raw_dir, seed_dir):
    context = dg.build_sensor_context(instance=instance, resources=sensor_resources(raw_dir))
    result = raw_reports_sensor(context)

    assert isinstance(result, dg.RunRequest)
    assert result.run_key.startswith("raw-1-")
    assert result.tags["trigger"] == "raw_reports_sensor"

    cursor = json.loads(context.cursor)
    assert cursor["v"] == CURSOR_VERSION
    assert cursor["generation"] == 1
    expected = {f"{SEED_ID}/{name}" for name in SEED_FILES}
    assert set(cursor["files"]) == expected
    for name in SEED_FILES:
        path = seed_dir / name
        size, mtime_ns, digest, _, inode = cursor["files"][f"{SEED_ID}/{name}"]
        assert size == path.stat().st_size
        assert mtime_ns == path.stat().st_mtime_ns
        assert inode == path.stat().st_ino
        assert digest == sha16(path)
    assert result.run_key == f"raw-1-{cursor['digest'][:16]}"


def test_unchanged_raw_is_skipped(instance, raw_dir):
    first = evaluate(instance, raw_dir)
    only_run_request(first)

    second = evaluate(instance, raw_dir, first.cursor)
    assert_skipped(second)
    assert second.skip_message == "raw/ unchanged: 5 files"
    assert json.loads(second.cursor) == json.loads(first.cursor)


def test_new_report_folder_requests_a_run(instance, raw_dir):
    first = evaluate(instance, raw_dir)
    first_request = only_run_request(first)

    folder = raw_dir / "new-report-2025-01-01"
    folder.mkdir()
    (folder / "report.toml").write_text('title = "new"\n')

    request = only_run_request(evaluate(instance, raw_dir, first.cursor))
    assert request.tags["raw_changes"] == "added new-report-2025-01-01/report.toml"
    assert request.run_key.startswith("raw-2-")
    assert request.run_key != first_request.run_key


def test_changed_file_requests_a_run(instance, raw_dir, seed_dir):
    first = evaluate(instance, raw_dir)
    first_request = only_run_request(first)

    with open(seed_dir / "figures.toml", "ab") as handle:
        handle.write(b"\n")

    data = evaluate(instance, raw_dir, first.cursor)
    request = only_run_request(data)
    assert request.tags["raw_changes"] == f"changed {SEED_ID}/figures.toml"
    assert request.run_key != first_request.run_key
    recorded = json.loads(data.cursor)["files"][f"{SEED_ID}/figures.toml"]
    assert recorded[2] == sha16(seed_dir / "figures.toml")


def test_removed_file_requests_a_run(instance, raw_dir, seed_dir):
    first = evaluate(instance, raw_dir)
    only_run_request(first)

    (seed_dir / "corrections.toml").unlink()

    data = evaluate(instance, raw_dir, first.cursor)
    request = only_run_request(data)
    assert request.tags["raw_changes"] == f"removed {SEED_ID}/corrections.toml"
    assert f"{SEED_ID}/corrections.toml" not in json.loads(data.cursor)["files"]


def test_touched_but_identical_file_is_skipped_and_its_mtime_remembered(instance, raw_dir, seed_dir):
    first = evaluate(instance, raw_dir)
    only_run_request(first)
    rel = f"{SEED_ID}/figures.toml"
    old_entry = json.loads(first.cursor)["files"][rel]

    path = seed_dir / "figures.toml"
    new_mtime_ns = old_entry[1] + 5_000_000_000
    os.utime(path, ns=(new_mtime_ns, new_mtime_ns))
    assert path.stat().st_mtime_ns == new_mtime_ns

    data = evaluate(instance, raw_dir, first.cursor)
    assert_skipped(data)
    cursor = json.loads(data.cursor)
    assert cursor["files"][rel][:3] == [old_entry[0], new_mtime_ns, old_entry[2]]
    old_cursor = json.loads(first.cursor)
    assert cursor["generation"] == old_cursor["generation"]
    assert cursor["digest"] == old_cursor["digest"]
    # every other file's entry is untouched
    assert {k: v for k, v in cursor["files"].items() if k != rel} == {
        k: v for k, v in old_cursor["files"].items() if k != rel
    }
    # the next tick sees the new mtime as known
    assert_skipped(evaluate(instance, raw_dir, data.cursor))
    info = path.stat()
    known = {rel: [old_entry[0], new_mtime_ns, "f" * 16, info.st_ctime_ns, info.st_ino]}
    assert scan_raw(raw_dir, known, now=time.time() + 10)[rel][2] == "f" * 16


def test_reverting_a_change_requests_a_run_with_a_new_run_key(instance, raw_dir, seed_dir):
    first = evaluate(instance, raw_dir)
    first_request = only_run_request(first)

    path = seed_dir / "figures.toml"
    original = path.read_bytes()
    base_ns = path.stat().st_mtime_ns

    path.write_bytes(original + b"# edit\n")
    os.utime(path, ns=(base_ns + 1_000_000_000, base_ns + 1_000_000_000))
    edited = evaluate(instance, raw_dir, first.cursor)
    edited_request = only_run_request(edited)

    path.write_bytes(original)
    os.utime(path, ns=(base_ns + 2_000_000_000, base_ns + 2_000_000_000))
    reverted = evaluate(instance, raw_dir, edited.cursor)
    reverted_request = only_run_request(reverted)

    assert reverted_request.tags["raw_changes"] == f"changed {SEED_ID}/figures.toml"
    assert reverted_request.tags["raw_digest"] == first_request.tags["raw_digest"]
    run_keys = [first_request.run_key, edited_request.run_key, reverted_request.run_key]
    assert len(set(run_keys)) == 3
    assert [key.split("-")[1] for key in run_keys] == ["1", "2", "3"]
    assert json.loads(reverted.cursor)["generation"] == 3


@pytest.mark.parametrize(
    "hidden",
    [
        ".DS_Store",  # a file at the top of raw/
        ".git/config",  # a hidden folder at the top of raw/
        ".hidden-report/report.toml",
        f"{SEED_ID}/.DS_Store",  # a hidden file inside a report folder
        f"{SEED_ID}/.git/HEAD",  # a hidden folder inside a report folder
        f"{SEED_ID}/sub/.notes.md",
    ],
)
def test_hidden_files_and_folders_are_ignored(instance, raw_dir, hidden):
    first = evaluate(instance, raw_dir)
    only_run_request(first)

    path = raw_dir / hidden
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("hidden\n")

    data = evaluate(instance, raw_dir, first.cursor)
    assert_skipped(data)
    assert json.loads(data.cursor) == json.loads(first.cursor)


def test_scan_raw_rehashes_only_files_whose_size_or_times_changed(raw_dir, seed_dir):
    fresh = scan_raw(raw_dir, {}, now=time.time() + 10)
    report_rel = f"{SEED_ID}/report.toml"
    figures_rel = f"{SEED_ID}/figures.toml"
    report_stat = (seed_dir / "report.toml").stat()
    figures_stat = (seed_dir / "figures.toml").stat()
    fake = "0123456789abcdef"
    previous = {
        # right size and mtime, fake hash: must be kept without reading the file
        report_rel: [report_stat.st_size, report_stat.st_mtime_ns, fake, report_stat.st_ctime_ns, report_stat.st_ino],
        # right size, wrong mtime, fake hash: must be re-hashed
        figures_rel: [figures_stat.st_size, figures_stat.st_mtime_ns - 1, fake, figures_stat.st_ctime_ns,
                      figures_stat.st_ino],
    }

    state = scan_raw(raw_dir, previous, now=time.time() + 10)  # as if the files were written long before

    assert state[report_rel] == previous[report_rel]
    assert state[figures_rel][:3] == [figures_stat.st_size, figures_stat.st_mtime_ns, sha16(seed_dir / "figures.toml")]
    assert {k: v for k, v in state.items() if k != report_rel} == {k: v for k, v in fresh.items() if k != report_rel}
    assert fresh[report_rel][2] == sha16(seed_dir / "report.toml") != fake


def test_old_version_cursor_counts_as_first_evaluation(instance, raw_dir):
    current = json.loads(evaluate(instance, raw_dir).cursor)
    # an old cursor's hashes are not trusted, even where size and mtime match
    stale_files = {rel: [size, mtime_ns, "0" * 16, *rest] for rel, (size, mtime_ns, _, *rest) in current["files"].items()}
    old = json.dumps({**current, "v": 0, "files": stale_files})

    data = evaluate(instance, raw_dir, old)
    request = only_run_request(data)
    assert request.tags["trigger"] == "raw_reports_sensor"
    assert request.tags["raw_digest"] == current["digest"][:16]
    cursor = json.loads(data.cursor)
    assert cursor["v"] == CURSOR_VERSION
    assert cursor["files"] == current["files"]
    assert cursor["digest"] == current["digest"]
