"""What the build step makes: the names of the published tables and views, and the SQL that builds each
(pipeline/build/sql/<name>.sql). The publish step audits the same names; it imports them from here."""

from __future__ import annotations

from importlib import resources

TABLES = ("reports", "figures", "channels", "arms", "deficit", "validation_results", "report_changes")
VIEWS = ("latest_channels", "latest_arms", "latest_deficit", "estimates")
# Tables whose rows pair reports of different series (pipeline.build.tables keeps them up to date pair by pair).
COMPARISON_TABLES = ("source_comparisons",)
PUBLISHED = TABLES + VIEWS + COMPARISON_TABLES


def sql(name: str) -> str:
    """The text of pipeline/build/sql/<name>.sql."""
    return resources.files("pipeline.build").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
