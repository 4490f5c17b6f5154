"""Shared fixtures: a private copy of raw/ and a warehouse in a temporary folder, so that no test
touches the project's own raw/, warehouse/ or Dagster instance."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RAW = PROJECT_ROOT / "raw"
SEED_ID = "inss-illicit-income-2024-09-03"
SEED_SHA256 = "2af4a8a4de0bd9d74886c96678754c119367bc15cacb8e8575f32ba4b8252ecf"


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    """A copy of the project's raw/ (the seed report) that a test may break."""
    target = tmp_path / "raw"
    shutil.copytree(RAW, target)
    return target


@pytest.fixture
def seed_dir(raw_dir: Path) -> Path:
    return raw_dir / SEED_ID


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "illicit_income.duckdb"


@pytest.fixture(scope="session")
def seed_release(tmp_path_factory) -> Path:
    """The warehouse folder (published file, page, exports, report cache) that the real job published from
    the seed's raw/, built once per test process (per xdist worker). Never changed: tests get copies."""
    from .helpers import build

    base = tmp_path_factory.mktemp("seed-release")
    shutil.copytree(RAW, base / "raw")
    assert build(base / "raw", base / "warehouse" / "illicit_income.duckdb").success
    return base / "warehouse"


@pytest.fixture
def published_seed(raw_dir: Path, warehouse_path: Path, seed_release: Path) -> Path:
    """The seed in raw_dir as the last good refresh published it at warehouse_path: a copy of
    `seed_release` (built by the real job from the same bytes), its links as they are, recorded as
    published as the publish step records it. For tests whose subject is what comes after a good
    refresh; a refresh from nothing costs a second, a copy a few milliseconds."""
    from .helpers import restamp

    shutil.copytree(seed_release, warehouse_path.parent, symlinks=True)
    restamp(warehouse_path)
    return warehouse_path


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch) -> Path:
    """A Dagster home configured as `make setup` configures the project's, set as DAGSTER_HOME."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "pipeline" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


# The test files that take longest, measured (docs/benchmark.md: about a minute each on a worker), longest
# first. `make test` gives each worker a whole file at a time (pytest-xdist --dist loadfile, so that the tests
# of a file share its module-scoped fixtures: a warehouse built once, one dagster dev, one PostgreSQL server),
# in the order collected: these go first, so that none of them is left running alone at the end while the
# other workers have finished. dagster dev and PostgreSQL mostly wait on their servers, which overlaps well
# with the other workers' CPU work. A file not listed keeps its place after them.
LONGEST_FIRST = ("test_dagster_dev", "test_tables", "test_concurrency_faults", "test_publish_atomic", "test_postgres",
                 "test_report_cache", "test_fuzz", "test_silent_bugs", "test_history", "test_dev_start")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # only to spread files over workers: a run in one process (mutmut's, fastest first) keeps its order

    def rank(item: pytest.Item) -> int:
        name = item.path.stem
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within a file, and among the others, is kept
