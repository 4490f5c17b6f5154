"""Tests written from the survivors of `make mutation` (docs/mutation.md): the report cache's change detection,
called directly on real files (the whole-refresh tests of the same behaviour are in test_report_cache.py).

A folder's digest decides whether its cached rows are used; its signature decides whether it is hashed at all.
A wrong answer in either publishes yesterday's rows for today's files, so each rule is checked on the entries
and the times that sit on its edge."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from pipeline.read import report_cache


def _token(path: Path) -> str:
    return report_cache.file_token(str(path), os.lstat(path))


def test_a_regular_files_token_is_its_contents_digest_and_a_links_is_its_targets_name(tmp_path):
    document = tmp_path / "document.txt"
    document.write_bytes(b"the document as received")
    assert _token(document) == hashlib.sha256(b"the document as received").hexdigest()
    link = tmp_path / "link.txt"
    link.symlink_to("document.txt")
    dangling = tmp_path / "dangling.txt"
    dangling.symlink_to("elsewhere.txt")
    before = _token(link)
    assert before != _token(dangling) and before != _token(document)
    document.write_bytes(b"another document")  # a link is never followed: its target's contents do not count
    assert _token(link) == before
    link.unlink()
    link.symlink_to("elsewhere.txt")  # only the target's name does
    assert _token(link) == _token(dangling)


def test_an_entry_that_is_not_a_regular_file_is_never_opened_and_gives_its_kind(tmp_path):
    fifo, other_fifo = tmp_path / "fifo", tmp_path / "other-fifo"
    os.mkfifo(fifo)
    os.mkfifo(other_fifo)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    # opening a FIFO for reading would wait for a writer: the token is its kind, the same for every FIFO
    assert _token(fifo) == _token(other_fifo) != _token(empty)


def test_a_file_larger_than_the_loader_reads_gives_its_size_and_one_of_that_size_exactly_its_contents(
        tmp_path, monkeypatch):
    monkeypatch.setattr(report_cache, "MAX_READ_BYTES", 5)
    files = {}
    for name, content in {"at-limit": b"12345", "at-limit-too": b"abcde", "over": b"123456", "over-too": b"abcdef",
                          "longer": b"1234567"}.items():
        files[name] = tmp_path / name
        files[name].write_bytes(content)
    assert _token(files["at-limit"]) == hashlib.sha256(b"12345").hexdigest()  # read: the loader reads it
    assert _token(files["at-limit"]) != _token(files["at-limit-too"])
    assert _token(files["over"]) == _token(files["over-too"])  # refused unread: only its size decides
    assert _token(files["over"]) != _token(files["longer"])


def test_an_entry_replaced_after_it_was_looked_at_is_refused_not_followed_or_waited_for(tmp_path):
    target = tmp_path / "target.txt"
    target.write_bytes(b"what a link would lead to")
    entry = tmp_path / "figures.toml"
    entry.write_bytes(b"figures")
    looked_at = os.lstat(entry)
    entry.unlink()
    entry.symlink_to(target)  # now a link: opening it must not follow it
    with pytest.raises(OSError):
        report_cache.file_token(str(entry), looked_at)
    entry.unlink()
    os.mkfifo(entry)  # now a FIFO: opened without waiting for a writer, and refused
    with pytest.raises(OSError, match="changed kind while it was hashed"):
        report_cache.file_token(str(entry), looked_at)


def test_a_folders_signature_is_trusted_only_when_its_newest_change_is_racy_seconds_before_now():
    seconds = 5_000_000_000  # a file changed at t = 5 s (ns)
    racy = report_cache.RACY_SECONDS
    assert report_cache._trusted(("signature", seconds), 5 + racy) is None  # exactly at the edge: not trusted
    assert report_cache._trusted(("signature", seconds - 1), 5 + racy) == "signature"
    assert report_cache._trusted(("signature", seconds), 5 + racy + 0.5) == "signature"
    assert report_cache._trusted(("signature", seconds), 5 + racy - 0.5) is None
    assert report_cache._trusted(None, 5 + racy + 100) is None  # a file could not be looked at


def test_a_folder_hashed_within_the_racy_interval_is_compared_by_its_digest_afterwards(seed_dir):
    (seed_dir / "notes.txt").write_text("written just now", encoding="utf-8")
    digests, signatures, states = report_cache.hash_folders([seed_dir], {})
    name = seed_dir.name
    assert signatures[name] is None and states[name] is not None  # changed just now: no signature
    assert digests[name] == report_cache.folder_digest(seed_dir)
    assert report_cache.unchanged_since(seed_dir, states[name], None, digests[name]) is True
    # the same file states, but not the bytes the digest describes (an edit within the same clock tick)
    assert report_cache.unchanged_since(seed_dir, states[name], None, "a digest of other bytes") is False


def test_a_folder_is_trusted_by_its_signature_only_when_the_cache_holds_that_signature(seed_dir, monkeypatch):
    import time

    later = time.time() + 10
    monkeypatch.setattr(report_cache.time, "time", lambda: later)
    name = seed_dir.name
    _, signatures, _ = report_cache.hash_folders([seed_dir], {})
    signature = signatures[name]
    assert signature == report_cache.folder_signature(seed_dir, later) is not None
    digests, _, _ = report_cache.hash_folders([seed_dir], {name: ("cached", signature)})
    assert digests == {name: "cached"}
    for known in ({name: ("cached", "another signature")}, {name: ("cached", None)}, {"another-report": ("x", signature)}):
        digests, _, _ = report_cache.hash_folders([seed_dir], known)
        assert digests == {name: report_cache.folder_digest(seed_dir)}, known
    monkeypatch.setattr(report_cache.time, "time", lambda: later - 10)  # every file changed just now
    digests, signatures, _ = report_cache.hash_folders([seed_dir], {name: ("cached", signature)})
    assert signatures == {name: None} and digests == {name: report_cache.folder_digest(seed_dir)}


def test_the_code_version_reads_code_sql_json_and_templates_and_never_a_compiled_cache(tmp_path, monkeypatch):
    for name in ("step/module.py", "step/sql/table.sql", "step/columns.json", "page/index.html", "step/notes.txt",
                 "step/__pycache__/module.py", "step/__pycache__/module.cpython-311.pyc", "step/sub.py/inner.sql"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    monkeypatch.setattr(report_cache, "PACKAGE", tmp_path)
    assert [path.relative_to(tmp_path).as_posix() for path in report_cache.code_files()] == [
        "page/index.html", "step/columns.json", "step/module.py", "step/sql/table.sql", "step/sub.py/inner.sql"]


def test_a_folders_newest_change_is_the_latest_modification_or_change_time_of_any_of_its_files(tmp_path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name, encoding="utf-8")
    future = os.stat(tmp_path / "b.txt").st_ctime_ns + 3_600 * 10**9
    os.utime(tmp_path / "a.txt", ns=(future, future))  # the first file listed, modified "in an hour"
    files = report_cache.folder_files(tmp_path)
    assert [name for name, _ in files] == ["a.txt", "b.txt"]
    assert report_cache._stat_digest(files)[1] == future


def test_a_subfolder_that_cannot_be_listed_lists_nothing_and_the_others_are_still_listed(tmp_path, monkeypatch):
    (tmp_path / "document.txt").write_text("d", encoding="utf-8")
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.txt").write_text(name, encoding="utf-8")
    listed, scandir = [], os.scandir

    def refusing_the_first_subfolder(path):  # a permission the tests' user (root) cannot be refused
        listed.append(os.path.basename(os.fspath(path)))
        if len(listed) == 2:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing_the_first_subfolder)
    names = [name for name, _ in report_cache.folder_files(tmp_path)]
    other = "two" if listed[1] == "one" else "one"
    assert names == sorted(["document.txt", f"{other}/{other}.txt"])
