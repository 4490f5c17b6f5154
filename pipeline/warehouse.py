"""The warehouse: a staging DuckDB file that the table assets build, and the publish step that
audits it and replaces the published file in one atomic rename (write, audit, publish).

    warehouse/.staging/illicit_income.duckdb   built table by table by the assets (DuckDB 2.x format)
    warehouse/illicit_income.duckdb            what analysts open; only ever replaced whole

The published file is written with a storage version that DuckDB 1.5 readers (the PyPI CLI) open,
and is never opened read-write by the pipeline: readers holding it keep their snapshot while
`os.replace` swaps in the new file, and a new connection sees the new data.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import dagster as dg
import duckdb

from pipeline.changes import diff_warehouses
from pipeline.errors import PublishError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# DuckDB 1.5 (the CLI on PyPI) reads files up to this storage version; 2.x defaults to a newer one.
PUBLISHED_STORAGE_VERSION = "v1.3.0"
TABLES = ("reports", "figures", "channels", "arms", "deficit", "validation_results", "report_changes")
VIEWS = ("latest_channels", "latest_arms", "latest_deficit")
PUBLISHED = TABLES + VIEWS


def sql(name: str) -> str:
    """The text of pipeline/sql/<name>.sql."""
    return resources.files("pipeline").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def _is_lock_error(exc: Exception) -> bool:
    return "lock" in str(exc).lower()


class Warehouse(dg.ConfigurableResource):
    """Where the DuckDB warehouse is published. Relative paths are taken from the project root."""

    path: str = "warehouse/illicit_income.duckdb"
    lock_timeout_seconds: float = 30.0

    @property
    def published_path(self) -> Path:
        path = Path(self.path)
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def staging_path(self) -> Path:
        return self.published_path.parent / ".staging" / self.published_path.name

    def _connect_with_wait(self, path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.1
        while True:
            try:
                return duckdb.connect(str(path), read_only=read_only)
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
    def staging(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to the staging file (created if missing)."""
        self.staging_path.parent.mkdir(parents=True, exist_ok=True)
        con = self._connect_with_wait(self.staging_path, read_only=False)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def read_staging(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = self._connect_with_wait(self.staging_path, read_only=True)
        try:
            yield con
        finally:
            con.close()

    def publish(self, run_id: str) -> tuple[dict[str, int], list[str] | None]:
        """Copy staging into a new file beside the published one, audit it, then swap it in.

        Returns row counts per table and view, and what changed against the file it replaced (None
        when there was none). On any failure the published file is untouched and the temporary file
        is removed.
        """
        published = self.published_path
        published.parent.mkdir(parents=True, exist_ok=True)
        tmp = published.with_name(f".{published.name}.{run_id}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            with self.read_staging() as staging_con:
                expected = {t: staging_con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in PUBLISHED}
            con = duckdb.connect(":memory:")
            try:
                con.execute("ATTACH ? AS staging (READ_ONLY)", [str(self.staging_path)])
                con.execute(f"ATTACH ? AS fresh (STORAGE_VERSION '{PUBLISHED_STORAGE_VERSION}')", [str(tmp)])
                con.execute("COPY FROM DATABASE staging TO fresh")
                con.execute("CHECKPOINT fresh")
                con.execute("DETACH fresh")
                con.execute("DETACH staging")
            finally:
                con.close()
            counts = self._audit(tmp, expected)
            # A writer holding the published file would see it vanish under it: wait for it to go.
            self._wait_for_no_writer(published)
            changes = diff_warehouses(published, tmp) if published.exists() else None
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, published)
            wal = published.with_name(published.name + ".wal")
            wal.unlink(missing_ok=True)  # a WAL of the old file must never meet the new one
            dir_fd = os.open(published.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            self._remove_stale_temporaries(keep=tmp)
            return counts, changes
        finally:
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)

    def _remove_stale_temporaries(self, keep: Path, older_than_seconds: float = 3600) -> None:
        """Temporary files of refreshes that were killed half-way (never the published file)."""
        cutoff = time.time() - older_than_seconds
        for path in self.published_path.parent.glob(f".{self.published_path.name}.*.tmp*"):
            if path != keep and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)

    def _audit(self, path: Path, expected: dict[str, int]) -> dict[str, int]:
        """The new file opens read-only, holds every table, and as many rows as staging."""
        con = duckdb.connect(str(path), read_only=True)
        try:
            have = {r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
            missing = [t for t in PUBLISHED if t not in have]
            if missing:
                raise PublishError(f"the new warehouse lacks table(s) or view(s) {', '.join(missing)}; "
                                   "nothing was published")
            counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in PUBLISHED}
        finally:
            con.close()
        if counts != expected:
            raise PublishError(f"the new warehouse's row counts {counts} differ from staging {expected}; "
                               "nothing was published")
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
