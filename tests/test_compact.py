"""The published file is compact: small blocks (the seed's 42 rows took 3.4 MB in DuckDB's 256 KiB blocks),
readable by the DuckDB 1.5 CLI; a file of an earlier version (256 KiB blocks) is rewritten compactly by the
next incremental refresh (pipeline.publish.warehouse._compact_if_sparse, which also rewrites a copy whose free
blocks pass MAX_FREE_SHARE: measured at 1,000 reports, docs/design.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline.publish.warehouse import PUBLISHED_BLOCK_SIZE, PUBLISHED_STORAGE_VERSION

from .conftest import SEED_ID
from .helpers import build, restamp, rows
from .test_tables import A_2025, assert_incremental_and_right, four_reports, published, touch  # noqa: F401

pytestmark = pytest.mark.slow


def blocks(path: Path) -> tuple[int, int, int]:
    """(block size, free blocks, total blocks) of a DuckDB file."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT block_size, free_blocks, total_blocks FROM pragma_database_size() "
                           "WHERE database_name = current_database()").fetchone()
    finally:
        con.close()


def test_the_seed_warehouse_is_small_and_the_duckdb_cli_reads_it(raw_dir, warehouse_path):
    assert build(raw_dir, warehouse_path).success
    assert blocks(warehouse_path)[0] == PUBLISHED_BLOCK_SIZE
    assert warehouse_path.stat().st_size < 1_000_000  # 3.4 MB in 256 KiB blocks
    cli = Path(sys.executable).parent / "duckdb"
    out = subprocess.run([str(cli), "-readonly", "-csv", "-noheader", str(warehouse_path), "-c",
                          "SELECT count(*) FROM figures WHERE report_id = '" + SEED_ID + "'"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) == rows(warehouse_path, "SELECT count(*) FROM figures")[0][0]


def test_a_file_of_the_earlier_block_size_is_rewritten_compact_by_an_incremental_refresh(published):  # noqa: F811
    path = published.warehouse_path
    big = path.parent / "big.duckdb"
    con = duckdb.connect(":memory:")
    con.execute("ATTACH ? AS old (READ_ONLY)", [str(path)])
    con.execute(f"ATTACH ? AS big (BLOCK_SIZE 262144, STORAGE_VERSION '{PUBLISHED_STORAGE_VERSION}')", [str(big)])
    con.execute("COPY FROM DATABASE old TO big")
    con.close()
    os.replace(big, path.resolve())  # as an earlier version published it
    restamp(path)
    assert blocks(path)[0] == 262144
    before = path.stat().st_size
    touch(published.raw_dir / A_2025)
    assert_incremental_and_right(published, published.refresh())
    assert blocks(path)[0] == PUBLISHED_BLOCK_SIZE
    assert path.stat().st_size < before / 4, (before, path.stat().st_size)
