"""The Dagster instance `python -m pipeline refresh` runs in: the project's, as DAGSTER_HOME's dagster.yaml
configures it, made by Dagster's public `DagsterInstance.get()`.

With the default dagster.yaml that is Dagster's SQLite storage in DAGSTER_HOME (one person, one
machine); with the PostgreSQL one (pipeline/dagster-postgres.yaml, `make postgres`) every run, event and
tick goes to PostgreSQL, which is what Dagster recommends when more than one process writes. Nothing
here reaches into Dagster's internals: they change between releases. What the default SQLite event log
costs a refresh (it opens a connection per event) is measured by `make bench`; see docs/team.md.
"""

from __future__ import annotations

import dagster as dg


def refresh_instance() -> dg.DagsterInstance:
    """The instance of DAGSTER_HOME, exactly as its dagster.yaml configures it (Dagster says what is
    wrong when DAGSTER_HOME is unset or not a folder). Use it as a context manager, so that its
    storage is disposed of when the refresh is done."""
    return dg.DagsterInstance.get()
