"""The Dagster definitions: assets, asset checks, jobs, schedules, sensors and run liveness
(pipeline/definitions.py assembles them)."""
