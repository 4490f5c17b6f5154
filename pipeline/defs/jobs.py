"""The main job: everything, from raw/ to the published file."""

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
    # A run's console log (the terminal of `dagster dev`) at INFO, not every DEBUG event of every step;
    # every event is still in the run's event log, in the UI.
    config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
)
