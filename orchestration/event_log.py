"""Dagster's SQLite event log with one open connection per shard and thread, instead of one per event.

The stock `SqliteEventLogStorage` creates a SQLAlchemy engine, opens a connection, commits, closes
and disposes for every event it stores: a `streamloop build` stores ~800 (materializations, one
asset check per dbt test, logs), and that per-event set-up was ~5 of the parent's CPU-seconds in a
profile of a nothing-new build on the 10M set (docs/benchmarks.md). This keeps each shard's engine
and a connection per thread (`SingletonThreadPool`) for the life of the instance. Each write is
still its own committed transaction, so `streamloop ui` (another process) reads every event as
soon as it is stored; files the storage deletes (wipe) are released first.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log import SqliteEventLogStorage
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import SingletonThreadPool

# the stock storage's busy timeout (dagster._core.storage.event_log.sqlite.sqlite_event_log)
_BUSY_TIMEOUT_SECONDS = 30


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` (same files, same schema) keeping its engines open. Configured in
    STREAMLOOP_HOME/dagster/dagster.yaml (orchestration/instance.py)."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: dict[str, Engine] = {}
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(self.conn_string_for_shard(shard), poolclass=SingletonThreadPool,
                                       pool_size=8, connect_args={"timeout": _BUSY_TIMEOUT_SECONDS})
                self._engines[shard] = engine
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _dispose_engines(self) -> None:
        with self._engines_lock:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.dispose()

    def wipe(self) -> None:
        self._dispose_engines()  # the shard files are about to be deleted
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
