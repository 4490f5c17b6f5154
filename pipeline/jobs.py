"""The main job and its daily schedule."""

from __future__ import annotations

import dagster as dg

REFRESH_JOB = "refresh_warehouse"

refresh_warehouse = dg.define_asset_job(
    REFRESH_JOB,
    selection=dg.AssetSelection.all(),
    description="Load every report in raw/, validate it, build every warehouse table in staging, run the "
                "checks, and publish warehouse/illicit_income.duckdb only if every blocking check passed. "
                "`make warehouse` runs this job.",
    tags={"dagster/max_retries": 0},
)

daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_warehouse,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Refresh the warehouse every day at 06:00 UTC, so that corrections and new reports in raw/ "
                "are published even when no one is watching.",
)
