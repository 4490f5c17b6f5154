"""The Dagster instance `python -m pipeline refresh` runs in: the project's (DAGSTER_HOME), with its
SQLite event log written through connections kept open for the life of the process.

Dagster's SqliteEventLogStorage makes a new SQLAlchemy engine and SQLite connection for every event
it writes, and for every "does the table exist" it asks before storing an asset check's result. It
has to: the webserver that uses it reads the shards (one SQLite file per run) of hundreds of runs,
and a pool per shard would hold a file open for each. A refresh writes about 136 events to two
shards (its run's and the index) from one thread; opening some 450 connections for them took about
1 s of a one-report refresh (of 5-6 s). Here each shard has one engine whose pool keeps its
connections until the instance is disposed.

Only how connections are made differs: the files, their schema and every row are Dagster's own,
and `dagster dev` reads them with its standard storage. When DAGSTER_HOME's dagster.yaml configures
a storage (Postgres, say, or SQLite elsewhere), the instance is exactly as configured.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

# The sections of dagster.yaml that choose a storage, or an instance class with storage defaults of its
# own; with none of them, Dagster's default SQLite storage in DAGSTER_HOME (the project's sets none).
STORAGE_SECTIONS = ("storage", "run_storage", "event_log_storage", "schedule_storage", "instance_class")


class KeptConnectionsSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage with one engine per shard (SQLAlchemy's QueuePool), for one process that
    writes one run. Disposing the instance (`with refresh_instance() as instance:`) closes every
    connection. Between two events no connection holds a transaction or a lock: each write is one
    transaction that commits, and the pool rolls back what it takes back, so `dagster dev`'s daemon
    and webserver write and read the same files as before (tests/test_instance.py checks it)."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: dict[str, Engine] = {}  # before Dagster's __init__, which may create the index shard
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = self._engines[shard] = create_engine(
                    self.conn_string_for_shard(shard), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # as Dagster's: one _connect at a time per storage, the shard created on first use, one transaction
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        # Not under _db_lock: Dagster asks this while it holds the index shard's _connect (storing an asset
        # event's tags), so it takes a second connection from the pool and only reads.
        with self._engine(INDEX_SHARD_NAME).connect() as conn:
            return bool(conn.dialect.has_table(conn, table_name))

    def _dispose_engines(self, keep_index: bool = False) -> None:
        with self._engines_lock:
            gone = [shard for shard in self._engines if not (keep_index and shard == INDEX_SHARD_NAME)]
            engines = [self._engines.pop(shard) for shard in gone]
        for engine in engines:
            engine.dispose()

    def wipe(self) -> None:
        # Dagster deletes the run shards' files: connections kept open on them would write to deleted files
        self._dispose_engines(keep_index=True)
        super().wipe()

    def dispose(self) -> None:
        super().dispose()  # stops Dagster's file watcher first, the one other user of connections
        self._dispose_engines()


def refresh_instance() -> dg.DagsterInstance:
    """The instance of DAGSTER_HOME, as dg.DagsterInstance.get() makes it, with the event log storage
    above when its dagster.yaml leaves the storage to Dagster's default. (Dagster then builds its storage
    from the separate run, event log and schedule storages, in the same folders as its default.)"""
    home = os.path.expanduser(os.environ.get("DAGSTER_HOME", ""))
    if not (os.path.isabs(home) and os.path.isdir(home)):
        return dg.DagsterInstance.get()  # which says what is wrong with it
    config, _ = dagster_instance_config(home)
    if any(section in config for section in STORAGE_SECTIONS):
        return dg.DagsterInstance.from_config(home)
    default = InstanceRef.config_defaults(home)["event_log_storage"]
    kept = {"module": __name__, "class": KeptConnectionsSqliteEventLogStorage.__name__,
            "config": default.config_dict}
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(home, overrides={"event_log_storage": kept}))
