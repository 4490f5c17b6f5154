"""Work that did not change is not redone: what each report yielded, kept between refreshes.

The unit of work is the report folder. Everything the pipeline does to one report (parse its files,
check its quotes against its document, validate its rows with the pandera schemas, run the report
checks) depends only on that folder's files and on the pipeline's code, so its result is kept under
a digest of both:

    folder digest = sha256(code version, and the name, size and sha256 of every file in the folder)
    code version  = sha256(the pipeline's modules and SQL, the Python version, every installed
                           distribution's version)

A refresh hashes every folder whose files changed since it was last hashed (folder_signature: the
files' sizes, inodes and times; about 0.2 s for 5,000 unchanged folders) and parses only the folders
whose digest is not in the cache; the tables are then built from the cached rows with DuckDB (all of them,
or only the changed reports' rows in a copy of the published file: pipeline.build.tables). The published
result is the same as a rebuild from nothing (tests/test_report_cache.py and the benchmark compare them);
any change to the code or the libraries invalidates everything.

The cache is a DuckDB file beside the staging file (warehouse/.staging/report_cache.duckdb), written
only in the step that builds the tables and only with rows that passed validation; deleting it costs
one full refresh and nothing else. It is never published.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.core.frames import registered

PACKAGE = Path(__file__).resolve().parents[1]  # pipeline/, with every step folder
# the files of the package that decide a published row: code, SQL, column descriptions, page templates
CODE_SUFFIXES = (".py", ".sql", ".json", ".html")
# Bump when the layout of the cache file changes.
CACHE_FORMAT = 2


def code_files() -> list[Path]:
    """Every file of the package that decides what is published, in every step folder (sorted)."""
    return sorted(path for path in PACKAGE.rglob("*")
                  if path.suffix in CODE_SUFFIXES and path.is_file() and "__pycache__" not in path.parts)


@cache
def code_version() -> str:
    """A digest of what decides a report's rows: this package's Python, SQL, JSON and templates in every
    folder (code_files), the Python version (and its Unicode tables, which normalize quotes), and every
    installed distribution's version."""
    digest = hashlib.sha256(f"cache format {CACHE_FORMAT}\n{sys.version}\n{unicodedata.unidata_version}\n".encode())
    for path in code_files():
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    # an installed distribution's metadata folder is named <name>-<version>.dist-info
    installed = sorted({name for entry in sys.path if os.path.isdir(entry)
                        for name in os.listdir(entry) if name.endswith(".dist-info")})
    digest.update("\n".join(installed).encode())
    return digest.hexdigest()


def folder_files(folder: Path) -> list[tuple[str, str]]:
    """(name relative to the folder, path) of every file in the folder and its subfolders, in name
    order; hidden files and folders left out. What os.walk lists (a symbolic link to a folder is not
    followed, nor listed as a file), with os.scandir directly: the listing of 5,000 report folders
    takes half the time, which every refresh pays."""
    entries: list[tuple[str, str]] = []
    pending = [("", os.fspath(folder))]
    while pending:
        prefix, directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                for entry in listing:
                    if entry.name.startswith("."):
                        continue
                    if not entry.is_dir():
                        entries.append((prefix + entry.name, entry.path))
                    elif not entry.is_symlink():
                        pending.append((f"{prefix}{entry.name}/", entry.path))
        except OSError:
            continue  # as os.walk: a folder that cannot be listed lists nothing
    entries.sort()
    return entries


# The largest file the loader reads (pipeline.read.raw_reports.MAX_SOURCE_BYTES; tests/test_bad_input_faults.py
# checks they agree). A larger file is refused unread, so its size alone decides what a report yields.
MAX_READ_BYTES = 20_000_000


def file_token(path: str, info: os.stat_result) -> str:
    """sha256 hex of what the loader can make of one directory entry (`info`: its os.lstat, which every caller
    has already taken), without following a symbolic link
    and without blocking: a regular file's contents (hashed in chunks, hashlib.file_digest, so an
    oversized document costs no memory); for a regular file larger than MAX_READ_BYTES only its size (the
    loader refuses it unread); for a symbolic link its target's name; for anything else (a FIFO, a
    socket, a device) its kind. The loader refuses everything but regular files (raw_reports.irregular_files).
    OSError when the entry vanishes or cannot be read."""
    if stat.S_ISLNK(info.st_mode):
        return hashlib.sha256(b"symbolic link\0" + os.fsencode(os.readlink(path))).hexdigest()
    if not stat.S_ISREG(info.st_mode):
        return hashlib.sha256(f"not a regular file\0{stat.S_IFMT(info.st_mode)}".encode()).hexdigest()
    if info.st_size > MAX_READ_BYTES:
        return hashlib.sha256(f"larger than the loader reads\0{info.st_size}".encode()).hexdigest()
    # O_NONBLOCK: an entry replaced by a FIFO since lstat opens without waiting for a writer
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} changed kind while it was hashed")
        return hashlib.file_digest(handle, "sha256").hexdigest()


def folder_digest(folder: Path) -> str:
    """sha256 of the code version and of every entry in the folder and its subfolders (names, sizes and
    what file_token makes of it: a regular file's contents), in name order. Hidden files (editor swap
    files, .DS_Store) are left out: the loader refuses a hidden file as a document or evidence, so they
    cannot change a report's rows. Nothing but a regular file is ever opened.

    A file that vanishes or cannot be read while it is hashed makes the digest one that matches nothing,
    so the folder is read again (and the loader names the problem).
    """
    return files_digest(folder_files(folder))


def files_digest(files: list[tuple[str, str]]) -> str:
    """folder_digest of a folder whose files folder_files has listed (a refresh lists each folder once)."""
    digest = hashlib.sha256(code_version().encode())
    try:
        for name, path in files:
            info = os.lstat(path)
            digest.update(f"{name}\0{info.st_size}\0{file_token(path, info)}\n".encode())
    except OSError:
        return f"unreadable {uuid.uuid4()}"
    return digest.hexdigest()


# A file changed less than this before its folder was hashed makes the folder's signature untrusted:
# a change within the same tick of the file system's clock would leave its times as they were.
RACY_SECONDS = 2.0


def _stat_digest(files: list[tuple[str, str]]) -> tuple[str, int] | None:
    """(sha256 of the name, mode, size, inode, device and modification and change times (ns) of every
    file, the newest of those times), or None when a file cannot be looked at."""
    digest = hashlib.sha256()
    newest = 0
    try:
        for name, path in files:
            info = os.stat(path)
            newest = max(newest, info.st_mtime_ns, info.st_ctime_ns)
            digest.update(f"{name}\0{info.st_mode}\0{info.st_size}\0{info.st_ino}\0{info.st_dev}\0"
                          f"{info.st_mtime_ns}\0{info.st_ctime_ns}\n".encode())
    except OSError:
        return None
    return digest.hexdigest(), newest


def folder_signature(folder: Path, now: float) -> str | None:
    """sha256 of the name, size, inode, device and modification and change times (ns) of every file
    folder_digest reads, or None when a file changed less than RACY_SECONDS before `now` or cannot be
    read. Any write to a file, and any rename or replacement of one, changes its change time (which no
    program can set back), so a folder with the same signature as when it was hashed has the same
    digest: the rule git, make and rsync rely on, with git's guard against a change in the same tick."""
    return _trusted(_stat_digest(folder_files(folder)), now)


def _trusted(state: tuple[str, int] | None, now: float) -> str | None:
    """The signature of a folder's file states (_stat_digest), or None when a file could not be looked at or
    changed less than RACY_SECONDS before `now`."""
    if state is None or state[1] >= (now - RACY_SECONDS) * 1e9:
        return None
    return state[0]


def digest_folders(folders: list[Path], known: dict[str, tuple[str, str | None]]
                   ) -> tuple[dict[str, str], dict[str, str | None]]:
    """({report_id: digest}, {report_id: signature}) of the folders: a folder whose signature is the one
    `known` (report_id -> (digest, signature), from the cache) holds keeps its digest without being read;
    every other folder is hashed."""
    digests, signatures, _ = hash_folders(folders, known)
    return digests, signatures


def hash_folders(folders: list[Path], known: dict[str, tuple[str, str | None]]
                 ) -> tuple[dict[str, str], dict[str, str | None], dict[str, tuple[str, int] | None]]:
    """digest_folders, and each folder's file states as they were just before it was hashed
    (_stat_digest), for unchanged_since."""
    now = time.time()
    digests, signatures, states = {}, {}, {}
    for folder in folders:
        files = folder_files(folder)  # listed once for both
        state = _stat_digest(files)
        signature = _trusted(state, now)
        before = known.get(folder.name)
        trusted = signature is not None and before is not None and before[1] == signature
        digests[folder.name] = before[0] if trusted else files_digest(files)
        signatures[folder.name] = signature
        states[folder.name] = state
    return digests, signatures, states


def unchanged_since(folder: Path, state: tuple[str, int] | None, signature: str | None, digest: str) -> bool:
    """True when the folder still holds what it held when hash_folders hashed it (`state`, `signature`
    and `digest`: what it recorded), so rows read from it in between were read from the bytes the digest
    describes. Any write or replacement since then changes a file's change time, except one within the
    same tick of the file system's clock as a change made just before the folder was hashed (its
    signature is then None): such a folder is hashed again and compared."""
    files = folder_files(folder)
    now = _stat_digest(files)
    if state is None or now is None or now[0] != state[0]:
        return False
    return signature is not None or files_digest(files) == digest


@dataclass
class ReportBatch:
    """The reports of one refresh: every folder's digest, and the rows of the folders that had to be
    (re)read because the cache did not hold their digest."""

    digests: dict[str, str]  # report_id -> folder digest, for every report folder in raw/
    signatures: dict[str, str | None]  # report_id -> folder signature (None: not to be trusted next time)
    loaded: Any  # pipeline.read.raw_reports.RawReports of the re-read folders only
    reused: int = 0  # folders whose cached rows are used as they are
    stale: list[str] = field(default_factory=list)  # report ids re-read this time


# The cache file's tables. Rows are keyed by report_id; `folders` says which digest they belong to.
FOLDERS = "cache.folders"
ROWS = {"reports": "cache.reports", "figures": "cache.figures", "checks": "cache.checks"}


def cached_folders(con) -> dict[str, tuple[str, str | None]]:
    """{report_id: (digest, signature)} of the reports the attached cache holds, or {} for an empty or
    stale cache."""
    if not _current(con):
        return {}
    return {r: (d, sig) for r, d, sig in con.execute(f"SELECT report_id, digest, signature FROM {FOLDERS}").fetchall()}


def cached_figure_count(cache_path: Path, report_ids: list[str]) -> int:
    """How many figures the cache file holds for these reports (0 where it cannot be read): with the
    figures read in this refresh, the total a refresh stands on."""
    import duckdb

    if not report_ids or not cache_path.exists():
        return 0
    con = duckdb.connect(":memory:")
    try:
        con.execute("ATTACH ? AS cache (READ_ONLY)", [str(cache_path)])
        if not _current(con):
            return 0
        return con.execute(f"SELECT count(*) FROM {ROWS['figures']} WHERE report_id IN (SELECT unnest(?))",
                           [report_ids]).fetchall()[0][0]
    except duckdb.Error:
        return 0
    finally:
        con.close()


def _current(con) -> bool:
    """The attached cache was written by this code version (else it is dropped whole, never mixed)."""
    if not _has_table(con, "meta"):
        return False
    version = con.execute("SELECT value FROM cache.meta WHERE key = 'code_version'").fetchall()
    return bool(version) and version[0][0] == code_version()


def _has_table(con, name: str) -> bool:
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'cache' AND table_name = ?",
                       [name]).fetchall()[0][0] > 0


def update(con, batch: ReportBatch, checks) -> None:
    """Make the attached cache hold exactly the reports of `batch`: drop the rows of removed and
    re-read folders, insert the re-read folders' validated rows and report-check rows. One transaction."""
    loaded = batch.loaded
    con.execute("BEGIN")
    try:
        if not _current(con):
            _reset(con)
            _create(con, loaded.reports, loaded.figures, checks)
        stale = set(batch.stale)
        kept = [r for r in batch.digests if r not in stale]
        # the folders whose cached rows are kept, with the digest they must still have (lists zip in unnest)
        con.execute("CREATE OR REPLACE TEMP TABLE _keep AS SELECT unnest(?::VARCHAR[]) AS report_id, "
                    "unnest(?::VARCHAR[]) AS digest", [kept, [batch.digests[r] for r in kept]]).fetchall()
        for table in (FOLDERS, *ROWS.values()):
            con.execute(f"DELETE FROM {table} WHERE report_id NOT IN (SELECT report_id FROM _keep)").fetchall()
        matching = con.execute(f"SELECT count(*) FROM {FOLDERS} JOIN _keep USING (report_id) "
                               f"WHERE {FOLDERS}.digest = _keep.digest").fetchall()[0][0]
        con.execute("DROP TABLE _keep")
        if matching != len(kept):
            raise RuntimeError("the report cache changed while this refresh ran (another refresh of the same "
                               "warehouse at the same time?); nothing was published: run the refresh again")
        for table, frame in ((ROWS["reports"], loaded.reports), (ROWS["figures"], loaded.figures),
                             (ROWS["checks"], checks)):
            if len(frame):
                with registered(con, "_rows", frame):
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows").fetchall()
        # every folder's digest, and its signature as of this refresh
        con.execute(f"DELETE FROM {FOLDERS}").fetchall()
        con.execute(f"INSERT INTO {FOLDERS} SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
                    [list(batch.digests), list(batch.digests.values()),
                     [batch.signatures.get(r) for r in batch.digests]]).fetchall()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _reset(con) -> None:
    """Drop every table of a cache another code version wrote, whatever its format made (format 1 had a
    `validated` table, for one)."""
    tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'cache'").fetchall()
    for (name,) in tables:  # only this module writes the cache: no name of it holds a double quote
        con.execute(f'DROP TABLE cache."{name}"')


def _create(con, reports, figures, checks) -> None:
    """Tables typed like the validated frames (pandera coerces every column to its declared dtype)."""
    con.execute("CREATE TABLE cache.meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    con.execute("INSERT INTO cache.meta VALUES ('code_version', ?)", [code_version()]).fetchall()
    con.execute(f"CREATE TABLE {FOLDERS} (report_id VARCHAR PRIMARY KEY, digest VARCHAR NOT NULL, signature VARCHAR)")
    for table, frame in ((ROWS["reports"], reports), (ROWS["figures"], figures), (ROWS["checks"], checks)):
        with registered(con, "_shape", frame):  # the types DuckDB reads from the values, not just the dtypes
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM _shape LIMIT 0")


# The names the table SQL reads its inputs by (pipeline/build/sql/*.sql), and the cache table behind each.
FRAMES = {"reports_frame": ROWS["reports"], "figures_frame": ROWS["figures"], "validation_frame": ROWS["checks"]}


def use_cached_rows(con, only: str | None = None) -> None:
    """Name the cached rows as the table SQL expects its inputs (reports_frame, figures_frame,
    validation_frame), in this connection only; with `only` (a constant SELECT of report ids), only
    those reports' rows."""
    where = "" if only is None else f" WHERE report_id IN ({only})"
    for frame, table in FRAMES.items():
        con.execute(f"CREATE OR REPLACE TEMP VIEW {frame} AS SELECT * FROM {table}{where}")
