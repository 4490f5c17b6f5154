"""Assembles the Dagster definitions; the work lives in the modules it imports.

`dagster dev`, `dg dev` and `make dev` load this module (see pyproject.toml [tool.dagster] and
[tool.dg]). Loading it reads no file in raw/, opens no database and imports neither pandas, pandera
nor DuckDB (the asset bodies do, when they run).
"""

from __future__ import annotations

import dagster as dg

from pipeline.defs import assets
from pipeline.defs.automation import daily_refresh, raw_reports_sensor
from pipeline.defs.inbox import inbox_sensor, report_drafts
from pipeline.defs.jobs import refresh_warehouse
from pipeline.publish.warehouse import RawReportsDir, Warehouse

defs = dg.Definitions(
    assets=[*assets.ALL_ASSETS, report_drafts],
    jobs=[refresh_warehouse],
    schedules=[daily_refresh],
    sensors=[raw_reports_sensor, inbox_sensor],
    resources={"raw": RawReportsDir(), "warehouse": Warehouse()},
    # One process per run: the table assets share one DuckDB staging file, which has one writer at
    # a time, and a run of small steps is dominated by process start-up otherwise.
    executor=dg.in_process_executor,
)
