"""SQLite online store: one WAL-mode file, one table keyed by (namespace, key), values as orjson bytes.

Why SQLite: a local file with sub-10 µs point reads, safe concurrent readers (WAL) and atomic
read-modify-write (BEGIN IMMEDIATE) is all a single-host deployment needs; DynamoDB is the same
interface in production. Each thread gets its own connection (sqlite3 connections are not shareable).
"""
from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from pathlib import Path

import orjson

from streamloop.core.sqlite_open import prepare_wal
from streamloop.core.sqlite_scrub import scrub, secure
from streamloop.core.store.base import EXPIRING_NAMESPACES, OnlineStore, StoreError, Updater, Value
from streamloop.core.store.generations import is_key_of

_SCHEMA = """
create table if not exists kv (
    ns         text not null,
    key        text not null,
    value      blob not null,
    expires_at integer,
    primary key (ns, key)
) without rowid
"""
_CHUNK = 500  # keys per IN (...) query, below SQLite's variable limit
_PURGE_EVERY_S = 600  # how often a writer of an expiring namespace deletes its expired items


_UPSERT = ("insert into kv (ns, key, value, expires_at) values (?, ?, ?, ?) "
           "on conflict (ns, key) do update set value = excluded.value, expires_at = excluded.expires_at")


def _expiry(ns: str) -> int | None:
    return int(time.time()) + EXPIRING_NAMESPACES[ns] if ns in EXPIRING_NAMESPACES else None


class SQLiteStore(OnlineStore):
    def __init__(self, path: str | Path, busy_timeout_s: float = 5.0):
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._purged_at: dict[str, float] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = self._con()
            prepare_wal(con, busy_timeout_s, _SCHEMA)
            if "expires_at" not in {row[1] for row in con.execute("pragma table_info(kv)")}:  # older file
                con.execute("alter table kv add column expires_at integer")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the online store {self.path}: {exc}") from exc

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                  timeout=self.busy_timeout_s)
            # NORMAL is durable across process crashes in WAL mode (not across power loss); mmap speeds reads
            con.execute("pragma synchronous=normal")
            con.execute("pragma mmap_size=1073741824")
            con.execute("pragma cache_size=-65536")
            self._local.con = con
            with self._lock:
                self._connections.append(con)
        return con

    def keys_mentioning(self, text: str) -> list[tuple[str, str]]:
        needle = orjson.dumps(text)  # the JSON string, quotes included: "p1" does not match "p10"
        try:
            rows = self._con().execute("select ns, key, value from kv").fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"online store scan failed: {exc}") from exc
        return [(ns, key) for ns, key, value in rows if is_key_of(key, text) or needle in bytes(value)]

    @contextmanager
    def deadline(self, seconds: float):
        """Reads in this block (on this thread) are interrupted after `seconds` and raise StoreError.

        SQLite calls the progress handler every 1,000 VM steps, so the check costs nothing measurable
        and the budget holds without handing the read to another thread."""
        con = self._con()
        end = time.monotonic() + seconds
        con.set_progress_handler(lambda: time.monotonic() > end, 1000)
        try:
            yield
        finally:
            con.set_progress_handler(None, 0)

    # -- reads ---------------------------------------------------------------------------------------
    def get(self, ns: str, key: str) -> Value | None:
        try:
            row = self._con().execute("select value from kv where ns = ? and key = ?", (ns, key)).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"online store read failed: {exc}") from exc
        return None if row is None else orjson.loads(row[0])

    def get_many(self, ns: str, keys: Iterable[str]) -> dict[str, Value]:
        try:
            return self._read(self._con(), ns, list(dict.fromkeys(keys)))
        except sqlite3.Error as exc:
            raise StoreError(f"online store read failed: {exc}") from exc

    # -- writes --------------------------------------------------------------------------------------
    def _transaction(self, work):
        con = self._con()
        try:
            con.execute("begin immediate")
            try:
                result = work(con)
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")
            return result
        except sqlite3.Error as exc:
            raise StoreError(f"online store write failed: {exc}") from exc

    def put_many(self, ns: str, items: Mapping[str, Value]) -> None:
        expires_at = _expiry(ns)
        rows = [(ns, key, orjson.dumps(value), expires_at) for key, value in items.items()]
        self._transaction(lambda con: con.executemany(_UPSERT, rows))

    def add_if_absent(self, ns: str, key: str, value: Value) -> bool:
        return bool(self.add_many_if_absent(ns, {key: value}))

    def add_many_if_absent(self, ns: str, items: Mapping[str, Value]) -> set[str]:
        # one read and one batched insert per call (the collector claims ~500 ids per request); the
        # immediate transaction holds the write lock, so no other writer can claim a key in between
        def work(con):
            self._purge_expired(con, ns)
            existing = self._existing(con, ns, list(items))
            absent = [key for key in items if key not in existing]
            expires_at = _expiry(ns)
            con.executemany("insert into kv (ns, key, value, expires_at) values (?, ?, ?, ?)",
                            [(ns, key, orjson.dumps(items[key]), expires_at) for key in absent])
            return set(absent)
        return self._transaction(work)

    def _purge_expired(self, con: sqlite3.Connection, ns: str) -> None:
        """Deletes the namespace's expired items, at most every _PURGE_EVERY_S per store: what DynamoDB's
        TTL does for the same namespaces, so the file does not grow with every event ever claimed."""
        now = time.time()
        if ns not in EXPIRING_NAMESPACES or now - self._purged_at.get(ns, 0.0) < _PURGE_EVERY_S:
            return
        con.execute("delete from kv where ns = ? and expires_at < ?", (ns, int(now)))
        self._purged_at[ns] = now

    def update(self, ns: str, key: str, fn: Updater) -> Value | None:
        return self.update_many(ns, {key: fn})[key]

    def update_many(self, ns: str, fns: Mapping[str, Updater]) -> dict[str, Value | None]:
        def work(con):
            current = self._read(con, ns, list(fns))
            out = {key: fn(current.get(key)) for key, fn in fns.items()}
            con.executemany("delete from kv where ns = ? and key = ?",
                            [(ns, key) for key, new in out.items() if new is None])
            expires_at = _expiry(ns)
            con.executemany(_UPSERT, [(ns, key, orjson.dumps(new), expires_at)
                                      for key, new in out.items() if new is not None])
            return out
        return self._transaction(work)

    @staticmethod
    def _read(con: sqlite3.Connection, ns: str, keys: list[str]) -> dict[str, Value]:
        out = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for key, value in con.execute(f"select key, value from kv where ns = ? and key in ({marks})",
                                          (ns, *chunk)):
                out[key] = orjson.loads(value)
        return out

    @staticmethod
    def _existing(con: sqlite3.Connection, ns: str, keys: list[str]) -> set[str]:
        found = set()
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(row[0] for row in con.execute(
                f"select key from kv where ns = ? and key in ({marks})", (ns, *chunk)))
        return found

    def delete(self, ns: str, key: str) -> None:
        self._transaction(lambda con: con.execute("delete from kv where ns = ? and key = ?", (ns, key)))

    def erase(self, items: Iterable[tuple[str, str]], needles: Iterable[bytes]) -> str | None:
        # a connection of its own: secure_delete is per connection, and the request paths' connections keep
        # the cheaper default (streamloop.core.sqlite_scrub says what each step removes)
        con = secure(sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout_s))
        try:
            con.execute("begin immediate")
            try:
                con.executemany("delete from kv where ns = ? and key = ?", list(items))
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")
            return scrub(con, self.path, needles)
        except sqlite3.Error as exc:
            raise StoreError(f"online store erase failed: {exc}") from exc
        finally:
            con.close()

    def delete_prefix(self, ns: str, prefix: str) -> int:
        if not prefix:
            raise ValueError("delete_prefix needs a non-empty prefix")
        # a range on the primary key (not LIKE, whose wildcards a key may contain), in transactions of
        # _CHUNK * 20 keys so the collector's writes never wait behind a whole generation's delete
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        sql = ("delete from kv where ns = ? and key in "
               "(select key from kv where ns = ? and key >= ? and key < ? limit ?)")
        total = 0
        while True:
            deleted = self._transaction(lambda con: con.execute(sql, (ns, ns, prefix, upper, _CHUNK * 20)).rowcount)
            total += deleted
            if deleted < _CHUNK * 20:
                return total

    def close(self) -> None:
        with self._lock:
            for con in self._connections:
                con.close()
            self._connections.clear()
        self._local = threading.local()
