"""Opening a SQLite file that several processes may be creating at the same moment.

Two campaign runners (or a collector and a runner) started together both find a new, empty file in rollback
journal mode. `pragma journal_mode=wal` then needs an exclusive lock while the other process holds a shared
one, and SQLite answers "database is locked" at once instead of calling the busy handler (waiting could
deadlock). Creating the schema has the same shape in WAL mode: a read snapshot that turns into a write after
another process committed fails with SQLITE_BUSY_SNAPSHOT without waiting. Both are safe to retry, so the
first opening retries them with jitter up to the caller's busy timeout; after that one process has made the
file WAL and every later opening finds it so.
"""
from __future__ import annotations

import sqlite3

from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random


def _is_busy(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def prepare_wal(con: sqlite3.Connection, timeout_s: float, schema: str = "") -> None:
    """Put the file in WAL mode and run the `;`-separated `schema` in one write transaction, retrying lock races.

    `con` must be in autocommit mode (isolation_level=None). The statements must be idempotent
    (`create ... if not exists`) and hold no `;` in literals. They run one by one, not through
    `executescript`, which would commit the transaction first.
    """
    statements = [s for s in schema.split(";") if s.strip()]
    for attempt in Retrying(retry=retry_if_exception(_is_busy), stop=stop_after_delay(timeout_s),
                            wait=wait_random(0.005, 0.05), reraise=True):
        with attempt:
            if con.execute("pragma journal_mode").fetchone()[0].lower() != "wal":
                con.execute("pragma journal_mode=wal")
            if statements:
                con.execute("begin immediate")  # waits for other writers through the busy handler
                try:
                    for statement in statements:
                        con.execute(statement)
                except BaseException:
                    con.execute("rollback")
                    raise
                con.execute("commit")
