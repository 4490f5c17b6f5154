"""The warehouse: a staging DuckDB file that the table assets build, and the publish step that
audits it and makes it the published file with one atomic rename (write, audit, publish).

    warehouse/.staging/illicit_income.<run>.duckdb   built by one refresh, table by table
    warehouse/.staging/report_cache.duckdb           per-report rows kept between refreshes (never published)
    warehouse/illicit_income.duckdb                  what analysts open; a link through warehouse/.published
                                                     to the published release's file (pipeline.release)

Staging is written with a storage version that DuckDB 1.5 readers (the PyPI CLI) open, so the file
that passed every check is the file that is published, renamed into its release rather than copied (a
copy of 540,000 rows cost 1.8 s). The published file is never opened read-write: readers holding it
keep their snapshot while one rename of the `.published` link switches the file, the report page and
the exports to the new release together, and a new connection sees the new data.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from pipeline.build.queries import PUBLISHED
from pipeline.core.errors import PublishError
from pipeline.publish import release

if TYPE_CHECKING:
    import duckdb

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# DuckDB 1.5 (the CLI on PyPI) reads files up to this storage version; 2.x defaults to a newer one.
PUBLISHED_STORAGE_VERSION = "v1.3.0"
# DuckDB's default block is 256 KiB and every table's columns take whole blocks: the seed's 42 rows made a
# 3.4 MB file. DuckDB 1.5 and 2.0 read files of smaller blocks (docs/design.md has the sizes measured).
PUBLISHED_BLOCK_SIZE = 16384
# An incremental build deletes and inserts in a copy of the published file, whose freed blocks DuckDB keeps
# in the file: a copy with more than this share of free blocks is rewritten compactly first.
MAX_FREE_SHARE = 0.2


def _is_lock_error(exc: Exception) -> bool:
    """DuckDB's error for a file another process holds: "Could not set lock on file ...", followed by who
    holds it ("Conflicting lock is held in ... (PID ...)") or, when the system cannot say, its error text."""
    return "could not set lock" in str(exc).lower()


def _stamp(path: Path) -> str:
    """Inode, size, modification and change times of a file, and a digest of its first 12 KiB (DuckDB's
    file header and its two database headers, which every checkpoint rewrites): any write to the file,
    or its replacement, changes one of them. A refresh starts from a copy of the published file only if
    this is still what the publish step recorded, so that a change made outside the pipeline is never
    carried forward."""
    import hashlib

    info = path.stat()
    with open(path, "rb") as handle:
        header = hashlib.sha256(handle.read(12 * 1024)).hexdigest()
    return f"{info.st_ino} {info.st_size} {info.st_mtime_ns} {info.st_ctime_ns} {header}"


def _compact_if_sparse(path: Path) -> None:
    """Rewrite the DuckDB file at `path` into a new file (COPY FROM DATABASE keeps every table, view,
    constraint and comment) when it has other blocks than PUBLISHED_BLOCK_SIZE (published by an earlier
    version) or more than MAX_FREE_SHARE of its blocks free, so that a warehouse refreshed incrementally
    again and again stays the size of its rows."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute("ATTACH ? AS sparse (READ_ONLY)", [str(path)])
        block_size, free, total = con.execute("SELECT block_size, free_blocks, total_blocks FROM pragma_database_size() "
                                              "WHERE database_name = 'sparse'").fetchone()
        if block_size == PUBLISHED_BLOCK_SIZE and free <= total * MAX_FREE_SHARE:
            return
        compact = path.with_name(path.name + ".compact")
        compact.unlink(missing_ok=True)
        con.execute(f"ATTACH ? AS compact (BLOCK_SIZE {PUBLISHED_BLOCK_SIZE}, "
                    f"STORAGE_VERSION '{PUBLISHED_STORAGE_VERSION}')", [str(compact)])
        con.execute("COPY FROM DATABASE sparse TO compact")
        con.execute("DETACH compact")
    finally:
        con.close()
    os.replace(compact, path)


def _wal_paths(published: Path) -> list[Path]:
    """Where a write-ahead log of the published file can be: beside the link analysts open (a DuckDB that
    does not follow links for it) and beside the release's file (DuckDB 2.0 follows them)."""
    paths = [published.with_name(published.name + ".wal")]
    real = Path(os.path.realpath(published))
    if real != published:
        paths.append(real.with_name(real.name + ".wal"))
    return paths


class Warehouse(dg.ConfigurableResource):
    """Where the DuckDB warehouse is published. Relative paths are taken from the project root."""

    path: str = "warehouse/illicit_income.duckdb"
    lock_timeout_seconds: float = 30.0
    incremental_max_share: float = Field(
        default=0.5, ge=0.0, le=1.0,
        description="Largest share of the report folders that may have changed for a refresh to start from a "
                    "copy of the published file and rebuild only their reports' rows (pipeline.build.tables); above "
                    "it, or at 0, every table is built from nothing.")
    build_from_nothing: bool = Field(
        default=False,
        description="Build from nothing (`python -m pipeline refresh --full`): every report folder hashed and read "
                    "again without the report cache, every table built without the published file's build record.")

    @property
    def published_path(self) -> Path:
        path = Path(self.path)
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def staging_dir(self) -> Path:
        return self.published_path.parent / ".staging"

    def staging_path(self, run_key: str) -> Path:
        """The staging file of one refresh (`run_key`: the root run id, so that a re-execution of the
        run publishes what the run built)."""
        return self.staging_dir / f"{self.published_path.stem}.{run_key}.duckdb"

    def _passed_marker(self, run_key: str) -> Path:
        return self.staging_path(run_key).with_name(self.staging_path(run_key).name + ".passed")

    @property
    def cache_path(self) -> Path:
        """Per-report results kept between refreshes (pipeline.read.report_cache); never published."""
        return self.staging_dir / "report_cache.duckdb"

    def _connect_with_wait(self, path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
        import duckdb

        return self._wait_for_lock(path, lambda: duckdb.connect(str(path), read_only=read_only))

    def _wait_for_lock(self, path: Path, attempt: Callable):
        """attempt(), tried again while another process holds `path` (DuckDB's lock), for at most
        lock_timeout_seconds; then a PublishError that names the file and what to do."""
        import duckdb

        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.1
        while True:
            try:
                return attempt()
            except duckdb.IOException as exc:
                if not _is_lock_error(exc) or time.monotonic() >= deadline:
                    if _is_lock_error(exc):
                        raise PublishError(
                            f"{path} is locked by another process and stayed locked for "
                            f"{self.lock_timeout_seconds:.0f} s: {exc}. Close the program that has it open "
                            "read-write (a DuckDB CLI without -readonly, a notebook), then run the refresh "
                            "again. Nothing was published; the last good warehouse is unchanged."
                        ) from exc
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    @contextmanager
    def _staging_lock(self) -> Iterator[None]:
        """Held while a staging file is built or published and while the report cache is written, so
        that two refreshes of the same warehouse never interleave those (DuckDB's own lock ends when a
        connection closes, between steps)."""
        import fcntl

        self.staging_dir.mkdir(parents=True, exist_ok=True)
        with open(self.staging_dir / "lock", "w") as handle:
            deadline = time.monotonic() + self.lock_timeout_seconds
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise PublishError(
                            f"another refresh of {self.published_path} held {self.staging_dir} for "
                            f"{self.lock_timeout_seconds:.0f} s; nothing was published. Run the refresh again "
                            "when it has finished.") from None
                    time.sleep(0.1)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def fresh_staging(self, run_key: str, start_from_published: Callable | None = None
                      ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A new staging file for this refresh, with the report cache attached read-write as `cache`:
        empty, or a copy of the published file when `start_from_published` (given a read-only
        connection to the published file, or None and why there is none) returns True. Written with the
        published storage version (a copy keeps it), so that publishing is a rename. A build that fails
        leaves nothing (it can never be published); staging files of refreshes that ended more than an
        hour ago without publishing (failed checks, kept to be looked at) are removed."""
        import duckdb

        with self._staging_lock():
            staging = self.staging_path(run_key)
            for path in (staging, staging.with_name(staging.name + ".wal"), self._passed_marker(run_key)):
                path.unlink(missing_ok=True)
            cutoff = time.time() - 3600
            for path in self.staging_dir.glob(f"{self.published_path.stem}.*.duckdb*"):
                if path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
            con = None
            try:
                if start_from_published is not None:
                    self._copy_published(staging, start_from_published)
                    if staging.exists():
                        _compact_if_sparse(staging)
                con = duckdb.connect(str(staging), config={"storage_compatibility_version": PUBLISHED_STORAGE_VERSION,
                                                           "default_block_size": PUBLISHED_BLOCK_SIZE})
                self._attach_cache(con)
                yield con
                con.execute("CHECKPOINT")
            except BaseException:
                # a build that failed (a full disk, an error) can never be published: nothing of it is kept
                if con is not None:
                    con.close()
                    con = None
                for path in (staging, staging.with_name(staging.name + ".wal"), self._passed_marker(run_key)):
                    path.unlink(missing_ok=True)
                raise
            finally:
                if con is not None:
                    con.close()

    def _copy_published(self, staging: Path, decide: Callable) -> None:
        """Copy the published file to `staging` if it can be a starting point and `decide` says so. The
        file is checked and copied while this process holds it read-only, so no writer can change it
        meanwhile."""
        import duckdb

        published = self.published_path
        unusable = self._why_not_start_from(published)
        if unusable:
            decide(None, unusable)
            return
        try:
            con = duckdb.connect(str(published), read_only=True)
        except duckdb.Error as exc:
            decide(None, f"the published warehouse could not be opened read-only ({str(exc).splitlines()[0]})")
            return
        try:
            unusable = self._why_not_start_from(published)  # again, now that no writer can hold it
            if decide(None if unusable else con, unusable):
                shutil.copyfile(published, staging)
        finally:
            con.close()

    def _why_not_start_from(self, published: Path) -> str:
        """Why the published file cannot be a refresh's starting point, or "" when it can."""
        if not published.exists():
            return "no published warehouse to start from"
        if any(wal.exists() for wal in _wal_paths(published)):
            return "the published warehouse has a write-ahead log beside it (opened read-write outside the pipeline?)"
        stamp = self._published_stamp
        if not stamp.exists() or stamp.read_text(encoding="utf-8") != _stamp(published):
            return ("the published file is not the one this pipeline last published (changed or replaced outside "
                    "it, or published by an older version)")
        return ""

    def _attach_cache(self, con) -> None:
        """Attach the report cache; one that cannot be read (damaged, not a DuckDB file) is derived data:
        it is removed and the refresh goes on without it (raw_reports then read every folder)."""
        import duckdb

        from pipeline.read.report_cache import cached_folders

        try:
            # another process holding the cache (a DuckDB CLI, say) is waited for, as for the published file
            self._wait_for_lock(self.cache_path, lambda: con.execute("ATTACH ? AS cache", [str(self.cache_path)]))
            cached_folders(con)  # reads the cache's tables: a damaged block fails here
            return
        except duckdb.Error:
            pass  # a lock held past the timeout is not a duckdb.Error here but _wait_for_lock's PublishError
        try:
            con.execute("DETACH cache")
        except duckdb.Error:
            pass
        for path in (self.cache_path, self.cache_path.with_name(self.cache_path.name + ".wal")):
            path.unlink(missing_ok=True)
        con.execute("ATTACH ? AS cache", [str(self.cache_path)])

    @property
    def _published_stamp(self) -> Path:
        """The published file's identity as the publish step left it (see _stamp)."""
        return self.staging_dir / f"{self.published_path.stem}.published.stamp"

    def mark_passed(self, run_key: str) -> None:
        """Record that every blocking check passed on this refresh's staging file; publish requires it."""
        self._passed_marker(run_key).write_text(run_key + "\n", encoding="utf-8")

    def cached_folders(self) -> dict[str, tuple[str, str | None]]:
        """{report_id: (folder digest, folder signature)} of what the report cache holds ({} when there is none)."""
        from pipeline.read.report_cache import cached_folders

        if not self.cache_path.exists():
            return {}
        import duckdb

        con = duckdb.connect(":memory:")
        try:
            con.execute("ATTACH ? AS cache (READ_ONLY)", [str(self.cache_path)])
            return cached_folders(con)
        except duckdb.Error:
            return {}  # unreadable or locked: the refresh re-reads every folder, which is always correct
        finally:
            con.close()

    def publish(self, run_key: str) -> tuple[dict[str, int], list[str] | None]:
        """Audit this refresh's staging file, then make it the published file with one atomic rename.

        Only a staging file on which every blocking check passed is published (the marker written by
        mark_passed). Returns row counts per table and view, and what changed against the file it
        replaced (None when there was none). On any failure the published file is untouched.
        """
        import duckdb

        from pipeline.build.changes import diff_warehouses

        published = self.published_path
        published.parent.mkdir(parents=True, exist_ok=True)
        staging = self.staging_path(run_key)
        with self._staging_lock():
            if not staging.exists():
                raise PublishError(f"run {run_key} has no staging file {staging} to publish (its tables were not "
                                   "built, or were published already); nothing was published")
            if not self._passed_marker(run_key).exists():
                raise PublishError(f"the tables run {run_key} built in {staging} did not pass every blocking check; "
                                   "nothing was published")
            if staging.with_name(staging.name + ".wal").exists():
                raise PublishError(f"run {run_key}: {staging} has a write-ahead log: it was not closed cleanly "
                                   "after it was built; nothing was published")
            counts = self._audit(staging)
            staged = release.stage(staging, published.parent, run_key)  # the page and exports of this file
            try:
                try:
                    # A writer holding the published file would see it vanish under it: wait for it to go.
                    self._wait_for_no_writer(published)
                    self._refuse_an_older_build(published, staging, run_key)
                    changes = diff_warehouses(published, staging) if published.exists() else None
                except duckdb.Error as exc:  # not a lock (waited for above): the published file cannot be read
                    changes = [self._set_aside(published, str(exc).splitlines()[0])]
                with open(staging, "rb") as handle:
                    os.fsync(handle.fileno())
                os.replace(staging, staged / published.name)  # the release is whole: file, page, exports
            except BaseException:
                release.discard(staged, published.parent)
                raise
            # one rename publishes the three (pipeline.release); a WAL left beside the link by a reader that
            # opened it read-write belongs to the replaced file and must never meet the new one
            release.activate(staged, published)
            self._passed_marker(run_key).unlink(missing_ok=True)
            self._published_stamp.write_text(_stamp(published), encoding="utf-8")
            published.with_name(published.name + ".wal").unlink(missing_ok=True)
        return counts, changes

    def _refuse_an_older_build(self, published: Path, staging: Path, run_key: str) -> None:
        """A PublishError when the published file was built after `staging` (build.info.built_at): a run
        re-executed after a newer run published would roll the warehouse back. The staging file can then
        never be published and is removed."""
        import duckdb

        if not published.exists():
            return
        con = duckdb.connect(":memory:")
        try:
            con.execute("ATTACH ? AS published (READ_ONLY)", [str(published)])
            con.execute("ATTACH ? AS staging (READ_ONLY)", [str(staging)])
            if con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'published' "
                           "AND schema_name = 'build' AND table_name = 'info'").fetchall()[0][0] == 0:
                return  # published by a version that kept no record: any new build is newer
            newer = con.execute("SELECT p.run_id, p.built_at, s.built_at FROM published.build.info p, staging.build.info s "
                                "WHERE p.built_at > s.built_at").fetchall()
        finally:
            con.close()
        if newer:
            for path in (staging, self._passed_marker(run_key)):
                path.unlink(missing_ok=True)
            run_id, published_at, built_at = newer[0]
            raise PublishError(
                f"run {run_key} built its tables at {built_at:%Y-%m-%d %H:%M:%S} UTC, before the published warehouse "
                f"(run {run_id}, built at {published_at:%Y-%m-%d %H:%M:%S} UTC): publishing them would roll the warehouse "
                "back. Nothing was published and the older build was removed; start a new refresh instead of "
                "re-executing an old run.")

    def _set_aside(self, published: Path, reason: str) -> str:
        """Move a published file that cannot be read (truncated, overwritten, a damaged block) and its WAL
        aside, kept for inspection, so that this refresh's build (from nothing: its stamp no longer matched,
        see _why_not_start_from) replaces it. Returns what happened, for the run's record of changes."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = published.with_name(f"{published.stem}.unreadable-{stamp}{published.suffix}")
        # a hard link (the same bytes): the path keeps showing the damaged file until the switch replaces it
        release.link_or_copy(published, aside)
        for wal in _wal_paths(published):
            if wal.exists():
                os.replace(wal, aside.with_name(aside.name + ".wal"))
        return (f"the previous published file could not be read ({reason}); it was moved to {aside} for inspection "
                "and replaced by this build")

    def _audit(self, path: Path) -> dict[str, int]:
        """The file opens read-only, holds every table and view, with reports and figures in it."""
        import duckdb

        con = duckdb.connect(str(path), read_only=True)
        try:
            have = {r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
            missing = [t for t in PUBLISHED if t not in have]
            if missing:
                raise PublishError(f"the new warehouse lacks table(s) or view(s) {', '.join(missing)}; "
                                   "nothing was published")
            counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in PUBLISHED}
        finally:
            con.close()
        if counts["reports"] == 0 or counts["figures"] == 0:
            raise PublishError("the new warehouse has no reports or no figures; nothing was published")
        return counts

    def _wait_for_no_writer(self, published: Path) -> None:
        if not published.exists():
            return
        con = self._connect_with_wait(published, read_only=True)  # fails only while a writer holds it
        con.close()


class RawReportsDir(dg.ConfigurableResource):
    """The folder of report folders. Relative paths are taken from the project root."""

    path: str = "raw"

    @property
    def resolved(self) -> Path:
        path = Path(self.path)
        return path if path.is_absolute() else PROJECT_ROOT / path
