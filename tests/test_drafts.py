"""Drafts: `make new-report` makes one in raw/_drafts/, `make ready` checks it with the real loader and
moves it into raw/, the inbox sensor makes one from a dropped document, and neither the loader nor the
raw/ sensor ever reads a draft. Real files, real make, a real Dagster instance."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import rtoml

from pipeline.core.errors import RawReportError
from pipeline.defs.automation import raw_reports_sensor, scan_raw
from pipeline.defs.inbox import inbox_sensor
from pipeline.draft.drafts import DraftRefused, create_draft, make_ready
from pipeline.publish.warehouse import RawReportsDir
from pipeline.read.raw_reports import read_raw
from pipeline.validate.validation import load_and_check

from .conftest import PROJECT_ROOT, SEED_ID
from .test_sensor import sensor_resources

SEED_SOURCE_NAME = "000_7135ed9bf0dced39.txt"


@pytest.fixture
def article(tmp_path: Path, seed_dir: Path) -> Path:
    """The seed's document, as downloaded to some folder."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    return Path(shutil.copy(seed_dir / SEED_SOURCE_NAME, downloads / "article.txt"))


def _fill_in(folder: Path, seed_dir: Path) -> None:
    """What a person does to a draft: types the report's metadata (the seed's), keeps the drafted figures."""
    text = (folder / "report.toml").read_text(encoding="utf-8")
    seed = rtoml.loads((seed_dir / "report.toml").read_text(encoding="utf-8"))
    for key in ("title", "publisher", "series"):
        text = "\n".join(f"{key} = {json.dumps(seed[key])}" if line.startswith(f"{key} = ") else line
                         for line in text.splitlines()) + "\n"
    for key in ("published_on", "period_start", "period_end"):
        text = "\n".join(f"{key} = {seed[key].isoformat()}" if line.startswith(f"{key} = ") else line
                         for line in text.splitlines()) + "\n"
    (folder / "report.toml").write_text(text, encoding="utf-8")


def test_new_report_makes_a_draft_with_the_document_the_hash_and_no_date_no_one_typed(raw_dir, article):
    made = create_draft(raw_dir, "seed-again-2024-09-03", article)
    assert made.folder == raw_dir / "_drafts" / "seed-again-2024-09-03" and made.figures == 11
    assert (made.folder / "article.txt").read_bytes() == article.read_bytes()
    report = rtoml.loads((made.folder / "report.toml").read_text(encoding="utf-8"))
    assert report["source_sha256"] == hashlib.sha256(article.read_bytes()).hexdigest()
    assert report["source_file"] == "article.txt"
    # nothing a person has not typed: every date and period is a placeholder the loader refuses
    for key in ("published_on", "period_start", "period_end", "title", "publisher", "series"):
        assert isinstance(report[key], str) and "TODO" in report[key], key
    figures = rtoml.loads((made.folder / "figures.toml").read_text(encoding="utf-8"))["figure"]
    assert len(figures) == 11
    # the loader and the schemas refuse the untouched draft, naming each placeholder's field
    with pytest.raises(RawReportError) as refused:
        load_and_check(raw_dir / "_drafts", [made.folder])
    assert {p.field for p in refused.value.problems} >= {"published_on", "period_start", "period_end"}


def test_a_typed_date_is_written_and_relative_periods_resolved(raw_dir, tmp_path):
    import datetime

    doc = tmp_path / "wire.txt"
    doc.write_text("Since July last year, North Korean hackers stole $900m from exchanges.\n", encoding="utf-8")
    made = create_draft(raw_dir, "wire-2024-09-03", doc, published_on=datetime.date(2024, 9, 3))
    report = rtoml.loads((made.folder / "report.toml").read_text(encoding="utf-8"))
    assert report["published_on"] == datetime.date(2024, 9, 3)
    figure = rtoml.loads((made.folder / "figures.toml").read_text(encoding="utf-8"))["figure"][0]
    assert (figure["period_start"], figure["period_end"]) == (datetime.date(2023, 7, 1), datetime.date(2024, 9, 3))


@pytest.mark.parametrize("name", ["report.toml", "figures.toml", "corrections.toml", "Figures.TOML", ".hidden.txt"])
def test_a_document_named_like_the_folders_own_files_is_refused(raw_dir, tmp_path, name):
    doc = tmp_path / name
    doc.write_text("Hackers stole $1 billion in 2024.\n", encoding="utf-8")
    with pytest.raises(DraftRefused, match="rename"):
        create_draft(raw_dir, "collides-2024", doc)
    assert not (raw_dir / "_drafts" / "collides-2024").exists()


def test_bad_documents_and_ids_create_nothing(raw_dir, tmp_path, article):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 $1 billion".encode("latin-1"))
    for doc, message in ((empty, "empty"), (latin, "not UTF-8")):
        with pytest.raises(DraftRefused, match=message):
            create_draft(raw_dir, "bad-doc-2024", doc)
    for bad_id in ("Bad_ID", "seed\n", "a--b", "x; touch y"):
        with pytest.raises(DraftRefused, match="slug"):
            create_draft(raw_dir, bad_id, article)
    with pytest.raises(DraftRefused, match="already exists"):
        create_draft(raw_dir, SEED_ID, article)
    assert sorted(p.name for p in raw_dir.iterdir()) == [SEED_ID]


def test_ready_refuses_a_draft_with_problems_and_moves_a_good_one(raw_dir, seed_dir, article):
    made = create_draft(raw_dir, "seed-again-2024-09-03", article)
    with pytest.raises(RawReportError) as refused:
        make_ready(raw_dir, "seed-again-2024-09-03")
    assert all(p.folder == "_drafts/seed-again-2024-09-03" for p in refused.value.problems)
    assert made.folder.is_dir() and not (raw_dir / "seed-again-2024-09-03").exists()

    _fill_in(made.folder, seed_dir)
    text = (made.folder / "report.toml").read_text(encoding="utf-8").replace(
        json.dumps(rtoml.loads((seed_dir / "report.toml").read_text())["title"]), '"TODO: a title"')
    (made.folder / "report.toml").write_text(text, encoding="utf-8")
    with pytest.raises(RawReportError, match="placeholder"):  # a TODO left in a text field
        make_ready(raw_dir, "seed-again-2024-09-03")

    _fill_in(made.folder, seed_dir)
    target = make_ready(raw_dir, "seed-again-2024-09-03")
    assert target == raw_dir / "seed-again-2024-09-03" and not made.folder.exists()
    loaded = load_and_check(raw_dir)
    assert sorted(loaded.reports["report_id"]) == [SEED_ID, "seed-again-2024-09-03"]
    with pytest.raises(DraftRefused, match="no draft"):
        make_ready(raw_dir, "seed-again-2024-09-03")


def test_the_loader_and_the_raw_sensor_leave_drafts_and_the_inbox_alone(raw_dir, tmp_path, dagster_home):
    for name in ("_drafts/broken-2024", "_inbox"):
        (raw_dir / name).mkdir(parents=True)
    (raw_dir / "_drafts" / "broken-2024" / "report.toml").write_text("title = [unclosed\n")
    (raw_dir / "_inbox" / "article.txt").write_bytes(b"\xff\xfe not text")
    loaded, problems = read_raw(raw_dir)
    assert problems == [] and list(loaded.reports["report_id"]) == [SEED_ID]
    assert all(not path.startswith("_") for path in scan_raw(raw_dir, {}))

    with dg.instance_for_test() as instance:
        resources = sensor_resources(raw_dir)
        first = dg.build_sensor_context(instance=instance, resources=resources)
        assert isinstance(raw_reports_sensor(first), dg.RunRequest)  # the first look at raw/
        (raw_dir / "_drafts" / "broken-2024" / "figures.toml").write_text("edited while in progress\n")
        (raw_dir / "_inbox" / "another.txt").write_text("dropped\n")
        again = raw_reports_sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor))
        assert isinstance(again, dg.SkipReason), again


def _evaluate_inbox(instance, raw_dir: Path, cursor: str | None = None):
    context = dg.build_sensor_context(instance=instance, resources={"raw": RawReportsDir(path=str(raw_dir))},
                                      cursor=cursor)
    return inbox_sensor(context)


def test_the_inbox_sensor_drafts_a_dropped_document_and_reports_it(raw_dir, seed_dir):
    inbox = raw_dir / "_inbox"
    inbox.mkdir()
    dropped = inbox / "INSS report (Yonhap).txt"
    shutil.copy(seed_dir / SEED_SOURCE_NAME, dropped)
    bad = inbox / "scan.txt"
    bad.write_bytes("\x93quoted\x94 $1 billion".encode("latin-1"))
    with dg.instance_for_test() as instance:
        first = _evaluate_inbox(instance, raw_dir)  # first seen: perhaps still being copied
        assert not first.asset_events and dropped.exists()
        result = _evaluate_inbox(instance, raw_dir, first.cursor)
        materialized = [e for e in result.asset_events if isinstance(e, dg.AssetMaterialization)]
        observed = [e for e in result.asset_events if isinstance(e, dg.AssetObservation)]
        assert [e.asset_key.to_user_string() for e in result.asset_events] == ["report_drafts", "report_drafts"]
        assert len(materialized) == 1 and len(observed) == 1
        metadata = materialized[0].metadata
        folder = raw_dir / "_drafts" / "inss-report-yonhap"
        assert metadata["draft_path"].value == str(folder) and metadata["figures_drafted"].value == 11
        assert (folder / dropped.name).read_bytes() == (seed_dir / SEED_SOURCE_NAME).read_bytes()
        assert not dropped.exists()  # moved into the draft, not copied
        assert "not UTF-8" in observed[0].metadata["refused"].value and bad.exists()
        # the next tick: nothing new, the refused file is not reported again
        again = _evaluate_inbox(instance, raw_dir, result.cursor)
        assert not again.asset_events and again.skip_reason
        # the refused file, fixed, is drafted
        bad.write_text("Hackers stole $1 billion in 2024.\n", encoding="utf-8")
        changed = _evaluate_inbox(instance, raw_dir, again.cursor)
        assert not changed.asset_events
        fixed = _evaluate_inbox(instance, raw_dir, changed.cursor)
        assert [e.metadata["report_id"].value for e in fixed.asset_events] == ["scan"]


def test_a_document_still_being_written_waits(raw_dir):
    inbox = raw_dir / "_inbox"
    inbox.mkdir()
    growing = inbox / "growing.txt"
    growing.write_text("Hackers stole $1 billion", encoding="utf-8")
    with dg.instance_for_test() as instance:
        cursor = _evaluate_inbox(instance, raw_dir).cursor
        with open(growing, "a", encoding="utf-8") as handle:  # the copy goes on between two ticks
            handle.write(" in 2024.\n")
        result = _evaluate_inbox(instance, raw_dir, cursor)
        assert not result.asset_events and growing.exists()
        done = _evaluate_inbox(instance, raw_dir, result.cursor)
    figures = (raw_dir / "_drafts" / "growing" / "figures.toml").read_text(encoding="utf-8")
    assert [e.metadata["figures_drafted"].value for e in done.asset_events] == [1] and "2024-12-31" in figures


# --- make new-report: the arguments are never a shell command ---------------------------------------------

def _make(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(PROJECT_ROOT), *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "HOME": str(tmp_path)})


def test_make_new_report_and_ready_pass_arguments_without_a_shell(tmp_path, raw_dir, seed_dir):
    # each command would leave a file in the folder make runs in (the project's root)
    mark = f"PWNED-{tmp_path.name}"
    evil = tmp_path / f'doc"; touch {mark}-one; echo ".txt'
    shutil.copy(seed_dir / SEED_SOURCE_NAME, evil)
    try:
        made = _make(["new-report", "ID=evil-name-2024", f"SOURCE={evil}", f"RAW={raw_dir}"], tmp_path)
        for bad_id in (f'x"; touch {mark}-two; "', f"x`touch {mark}-three`", f"x$$(touch {mark}-four)",
                       f"$(shell touch {mark}-five)"):
            refused = _make(["new-report", f"ID={bad_id}", f"SOURCE={evil}", f"RAW={raw_dir}"], tmp_path)
            assert refused.returncode != 0 and "not a slug" in refused.stderr
    finally:
        left = sorted(path.name for path in PROJECT_ROOT.glob(f"{mark}-*"))
        for name in left:
            (PROJECT_ROOT / name).unlink()
    assert left == []
    assert made.returncode == 0, made.stdout + made.stderr
    assert (raw_dir / "_drafts" / "evil-name-2024" / evil.name).read_bytes() == evil.read_bytes()
    _fill_in(raw_dir / "_drafts" / "evil-name-2024", seed_dir)
    ready = _make(["ready", "ID=evil-name-2024", f"RAW={raw_dir}"], tmp_path)
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert (raw_dir / "evil-name-2024" / "figures.toml").is_file()


def test_new_report_from_the_command_line(tmp_path, raw_dir, article):
    out = subprocess.run([sys.executable, "-m", "pipeline", "new-report", "cli-2024", str(article), "--raw", str(raw_dir),
                          "--published-on", "2024-09-03"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "11 figure(s) drafted" in out.stdout and "make ready ID=cli-2024" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "pipeline", "new-report", "cli-2024", str(article), "--raw", str(raw_dir)],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("already exists") == 1


def test_a_document_too_large_to_draft_in_a_sensor_tick_gets_the_template(raw_dir, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("Hackers stole $1 billion in 2024.\n" * 100, encoding="utf-8")
    made = create_draft(raw_dir, "big-2024", big, draft_limit_bytes=1000)
    figures = (made.folder / "figures.toml").read_text(encoding="utf-8")
    assert made.figures == 0 and "draft-figures big.txt" in figures and 'id = "TODO-figure-id"' in figures
    assert (made.folder / "big.txt").read_bytes() == big.read_bytes()


def test_links_fifos_and_folders_are_refused_without_being_read(raw_dir, tmp_path, article):
    link = tmp_path / "link.txt"
    link.symlink_to(article)
    with pytest.raises(DraftRefused, match="symbolic link"):
        create_draft(raw_dir, "linked-2024", link)
    inbox = raw_dir / "_inbox"
    inbox.mkdir()
    os.mkfifo(inbox / "pipe.txt")  # opening it to read would wait for a writer for ever
    (inbox / "folder.txt").mkdir()
    (inbox / "secret.txt").symlink_to(article)
    with dg.instance_for_test() as instance:
        cursor = _evaluate_inbox(instance, raw_dir).cursor
        result = _evaluate_inbox(instance, raw_dir, cursor)
    refusals = {e.description: e.metadata["refused"].value for e in result.asset_events}
    assert set(refusals) == {"refused folder.txt", "refused pipe.txt", "refused secret.txt"}
    assert "symbolic link" in refusals["refused secret.txt"] and "FIFO" in refusals["refused pipe.txt"]
    assert not (raw_dir / "_drafts").exists()


def test_a_missing_document_is_named(raw_dir, tmp_path):
    with pytest.raises(DraftRefused, match="no such file"):
        create_draft(raw_dir, "missing-2024", tmp_path / "nowhere.txt")
