"""Shared fixtures: a private copy of raw/ and a warehouse in a temporary folder, so that no test
touches the project's own raw/, warehouse/ or Dagster instance."""

from __future__ import annotations

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


# Shared fixtures cheap enough to be made once on every worker: the tests that use them are not grouped.
PER_WORKER = {"seed_release"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`, --dist loadgroup), the tests that share a module- or session-scoped
    fixture (a warehouse built once, a PostgreSQL server) run on one worker, so it is made once; every
    other test goes to whichever worker is free."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        shared = sorted(name for name in item.fixturenames  # this suite's own fixtures, not pytest's tmp_path_factory
                        if name not in PER_WORKER
                        and any(d.scope in ("module", "session") and d.func.__module__.startswith("tests")
                               for d in info.name2fixturedefs.get(name, ())))
        if shared:
            item.add_marker(pytest.mark.xdist_group(f"{item.module.__name__}:{shared[0]}"))
