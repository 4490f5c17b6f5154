"""Tests written for `make mutation` (docs/mutation.md): the release switch that publishes the file, the page
and the exports together (pipeline/publish/release.py), called directly on real folders, in milliseconds.

The refreshes that kill a publish at every point (tests/test_publish_atomic.py) take minutes; here the same
switch, adoption of the earlier layout and clean-up are checked step by step on a temporary warehouse folder."""

from __future__ import annotations

import datetime
import os
import re
import time
from pathlib import Path

from pipeline.publish.release import CURRENT, RELEASES, activate, adopt, current_release, discard, link_or_copy
from pipeline.publish.warehouse import Warehouse

FILE = "illicit_income.duckdb"


def _release(warehouse: Path, name: str) -> Path:
    """A staged release as `stage` leaves it with the staging file renamed in: the file, its page and exports."""
    release = warehouse / RELEASES / name
    (release / "site").mkdir(parents=True)
    (release / "export").mkdir()
    (release / FILE).write_text(f"file of {name}")
    (release / "site" / "index.html").write_text(f"page of {name}")
    (release / "export" / "figures.csv").write_text(f"export of {name}")
    return release


def _shown(warehouse: Path) -> tuple[str, str, str]:
    """What an analyst reads through the stable names."""
    return ((warehouse / FILE).read_text(), (warehouse / "site" / "index.html").read_text(),
            (warehouse / "export" / "figures.csv").read_text())


def test_a_switch_publishes_file_page_and_exports_of_one_release_through_stable_links(tmp_path):
    activate(_release(tmp_path, "run-1"), tmp_path / FILE)
    assert _shown(tmp_path) == ("file of run-1", "page of run-1", "export of run-1")
    assert os.readlink(tmp_path / CURRENT) == os.path.join(RELEASES, "run-1")
    for name in (FILE, "site", "export"):
        assert os.readlink(tmp_path / name) == os.path.join(CURRENT, name)
    assert current_release(tmp_path) == (tmp_path / RELEASES / "run-1").resolve()

    activate(_release(tmp_path, "run-2"), tmp_path / FILE)
    assert _shown(tmp_path) == ("file of run-2", "page of run-2", "export of run-2")
    assert current_release(tmp_path) == (tmp_path / RELEASES / "run-2").resolve()


def test_a_stable_name_that_points_elsewhere_is_made_the_stable_link_again_by_the_next_switch(tmp_path):
    activate(_release(tmp_path, "run-1"), tmp_path / FILE)
    os.remove(tmp_path / "export")
    os.symlink(os.path.join(RELEASES, "run-1", "export"), tmp_path / "export")  # pinned to one release by hand
    activate(_release(tmp_path, "run-2"), tmp_path / FILE)
    assert os.readlink(tmp_path / "export") == os.path.join(CURRENT, "export")
    assert _shown(tmp_path) == ("file of run-2", "page of run-2", "export of run-2")


def test_the_replaced_release_is_kept_until_the_next_switch_and_older_ones_are_removed(tmp_path):
    for run in ("run-1", "run-2"):
        activate(_release(tmp_path, run), tmp_path / FILE)
    unfinished = _release(tmp_path, "run-killed")  # staged by a refresh killed before its switch
    assert sorted(p.name for p in (tmp_path / RELEASES).iterdir()) == ["run-1", "run-2", "run-killed"]
    activate(_release(tmp_path, "run-3"), tmp_path / FILE)
    assert sorted(p.name for p in (tmp_path / RELEASES).iterdir()) == ["run-2", "run-3"]
    assert not unfinished.exists()
    assert _shown(tmp_path) == ("file of run-3", "page of run-3", "export of run-3")


def test_a_discarded_release_is_removed_but_never_the_published_one(tmp_path):
    published = _release(tmp_path, "run-1")
    activate(published, tmp_path / FILE)
    failed = _release(tmp_path, "run-2")
    discard(failed, tmp_path)
    assert not failed.exists()
    discard(published.resolve(), tmp_path)
    assert _shown(tmp_path) == ("file of run-1", "page of run-1", "export of run-1")


def test_no_release_is_published_before_the_first_switch_or_when_its_folder_is_gone(tmp_path):
    assert current_release(tmp_path) is None
    (tmp_path / "elsewhere").write_text("not a release")
    os.symlink("elsewhere", tmp_path / CURRENT)  # a link to a file, not a release folder
    assert current_release(tmp_path) is None
    os.remove(tmp_path / CURRENT)
    os.symlink(os.path.join(RELEASES, "gone"), tmp_path / CURRENT)
    assert current_release(tmp_path) is None


def test_a_warehouse_of_the_earlier_layout_is_adopted_showing_the_same_bytes_of_the_same_file(tmp_path):
    (tmp_path / FILE).write_text("file published before releases")
    for name, text in (("site", "page before"), ("export", "export before")):
        (tmp_path / name).mkdir()
        (tmp_path / name / ("index.html" if name == "site" else "figures.csv")).write_text(text)
    inodes = [(tmp_path / name).stat().st_ino for name in (FILE, "site/index.html", "export/figures.csv")]
    adopt(tmp_path / FILE)
    assert _shown(tmp_path) == ("file published before releases", "page before", "export before")
    # hard-linked, page and exports too: an open reader and the stamp keep their file, and nothing is copied
    assert [(tmp_path / name).stat().st_ino for name in (FILE, "site/index.html", "export/figures.csv")] == inodes
    for name in (FILE, "site", "export"):
        assert os.readlink(tmp_path / name) == os.path.join(CURRENT, name)
    [adopted] = (tmp_path / RELEASES).iterdir()
    assert adopted.name.startswith("adopted-") and current_release(tmp_path) == adopted.resolve()

    adopt(tmp_path / FILE)  # already the stable link: nothing to do
    assert [p.name for p in (tmp_path / RELEASES).iterdir()] == [adopted.name]


def test_the_first_switch_over_a_warehouse_of_the_earlier_layout_keeps_the_adopted_release(tmp_path):
    (tmp_path / FILE).write_text("file published before releases")
    activate(_release(tmp_path, "run-1"), tmp_path / FILE)
    assert _shown(tmp_path)[0] == "file of run-1"
    names = sorted(p.name for p in (tmp_path / RELEASES).iterdir())
    assert names[1] == "run-1" and names[0].startswith("adopted-")  # replaced: kept until the next switch
    assert (tmp_path / RELEASES / names[0] / FILE).read_text() == "file published before releases"


def test_nothing_to_adopt_where_nothing_was_published(tmp_path):
    adopt(tmp_path / FILE)
    assert not (tmp_path / RELEASES).exists() and not (tmp_path / CURRENT).exists()


def test_discarding_a_release_already_removed_is_no_error(tmp_path):
    """stage() removes its folder when the page or exports fail; the caller's discard then finds nothing."""
    activate(_release(tmp_path, "run-1"), tmp_path / FILE)
    discard(tmp_path / RELEASES / "run-2", tmp_path)
    assert _shown(tmp_path)[0] == "file of run-1"


def test_where_a_hard_link_cannot_be_made_the_bytes_are_copied(tmp_path):
    source, target = tmp_path / "source.duckdb", tmp_path / "target.duckdb"
    source.write_bytes(b"the published bytes")
    target.write_bytes(b"in the way")  # link(2) refuses an existing name, as it refuses another file system
    link_or_copy(source, target)
    assert target.read_bytes() == b"the published bytes" and target.stat().st_ino != source.stat().st_ino


def test_an_unreadable_published_file_and_its_wal_are_set_aside_beside_it_stamped_in_utc(tmp_path, monkeypatch):
    activate(_release(tmp_path, "run-1"), tmp_path / FILE)
    published = tmp_path / FILE
    (tmp_path / f"{FILE}.wal").write_text("a log of the damaged file")
    monkeypatch.setenv("TZ", "Asia/Seoul")  # the machine's zone is not the stamp's
    time.tzset()
    try:
        before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        said = Warehouse(path=str(published))._set_aside(published, "IO Error: damaged block")
        after = datetime.datetime.now(datetime.UTC)
    finally:
        monkeypatch.undo()
        time.tzset()
    [aside] = [p for p in tmp_path.iterdir() if p.name.startswith("illicit_income.unreadable-") and p.suffix == ".duckdb"]
    stamp = re.fullmatch(r"illicit_income\.unreadable-(\d{8}T\d{6}Z)\.duckdb", aside.name).group(1)
    # UTC, not Seoul's time (9 hours apart), with a few seconds of slack: the stamp (time.gmtime(), whose
    # clock the C library may read coarser than datetime.now()'s) was once seen a second before `before`
    slack = datetime.timedelta(seconds=5)
    assert before - slack <= datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC) <= after + slack
    assert aside.read_text() == "file of run-1" and aside.stat().st_ino == published.stat().st_ino  # the same bytes
    assert (tmp_path / f"{aside.name}.wal").read_text() == "a log of the damaged file"
    assert not (tmp_path / f"{FILE}.wal").exists()
    assert said == (f"the previous published file could not be read (IO Error: damaged block); it was moved to {aside} "
                    "for inspection and replaced by this build")
