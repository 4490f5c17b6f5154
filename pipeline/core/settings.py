"""Project settings a user may change, kept in pyproject.toml under [tool.illicit-income]."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
DEFAULT_REFRESH_CRON = "0 6 * * *"


@lru_cache(maxsize=1)
def _settings() -> dict:
    try:
        with open(PYPROJECT, "rb") as handle:
            return tomllib.load(handle).get("tool", {}).get("illicit-income", {})
    except FileNotFoundError:
        return {}


def refresh_cron() -> str:
    """The daily refresh's cron expression (UTC)."""
    return str(_settings().get("refresh_cron", DEFAULT_REFRESH_CRON))
