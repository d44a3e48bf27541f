"""Erasers: one per store that may hold a person's data. Each finds and removes every row or item that
names one of the subject's ids. A new store registers its eraser with `register` (messaging's stores,
the model registry), so `forget` reaches it without this module knowing it.

Matching rule, everywhere: a record names an id when the id is the value of a field (any field, at any
depth: `profile_id`, a Segment `userId`, a list of profiles) — or, for text that is not valid JSON, when
the id appears as a JSON string ("p1" with its quotes, so `p1` never matches `p10`).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from streamloop.core.settings import Settings


@dataclass
class Erasure:
    """What one eraser removed: rows or items, and (for the lake) the event ids of removed records."""

    store: str
    rows: int
    event_ids: set[str] = field(default_factory=set)


class Eraser(Protocol):
    name: str

    def erase(self, ids: frozenset[str], event_ids: frozenset[str]) -> Erasure: ...

    def count(self, ids: frozenset[str]) -> int:
        """Rows or items that still name one of `ids` (0 after a successful erase)."""


# (order, factory): factories take settings and return an eraser, or None when the store is not in use
_REGISTRY: list[tuple[int, Callable[[Settings], Eraser | None]]] = []


def register(factory: Callable[[Settings], Eraser | None], order: int = 50) -> None:
    """Adds a store's eraser factory. Lower `order` runs first (the lake runs first: it yields event ids)."""
    if factory not in [f for _, f in _REGISTRY]:
        _REGISTRY.append((order, factory))


def registered_erasers(settings: Settings) -> list[Eraser]:
    erasers = (factory(settings) for _, factory in sorted(_REGISTRY, key=lambda item: item[0]))
    return [e for e in erasers if e is not None]


# -- matching ---------------------------------------------------------------------------------------
def _names(value, ids: frozenset[str]) -> bool:
    if isinstance(value, str):
        return value in ids
    if isinstance(value, dict):
        return any(_names(v, ids) for v in value.values())
    if isinstance(value, list):
        return any(_names(v, ids) for v in value)
    return False


def record_names(raw: str | bytes | None, ids: frozenset[str], needles: tuple[bytes, ...]) -> bool:
    """Does this raw record (JSON text, possibly malformed) name one of `ids`?"""
    if raw is None:
        return False
    data = raw.encode() if isinstance(raw, str) else raw
    if not any(n in data for n in needles):
        return False  # cheap: an id that is not in the text as a JSON string is not a field value either
    try:
        return _names(orjson.loads(data), ids)
    except orjson.JSONDecodeError:
        return True  # malformed but holds the id as a JSON string: remove it


def needles_of(ids: Iterable[str]) -> tuple[bytes, ...]:
    return tuple(orjson.dumps(i) for i in ids)


# -- the raw lake -----------------------------------------------------------------------------------
class LakeEraser:
    """Rewrites each lake file (events, rejected) that holds a record of the subject, keeping its name and
    layout: the warehouse found the file's batch by name before, so the rewritten file is not new to the
    next incremental build; the removed records are deleted from the warehouse by its own eraser."""

    name = "raw lake"

    def __init__(self, lake_root: str):
        from streamloop.core.lake import Lake

        self.lake = Lake(lake_root)

    def _affected(self, ids: frozenset[str]) -> list[tuple[str, pa.Table, list[bool]]]:
        from streamloop.core.lake import RECORD_KINDS

        needles = needles_of(ids)
        found = []
        for kind in RECORD_KINDS:  # ignored Segment messages carry userId too
            for path in self.lake.files(kind):
                table = self._read(path)
                raws = table.column("raw")
                quick = [pc.match_substring(raws, n.decode()) for n in needles]
                hits = quick[0]
                for extra in quick[1:]:
                    hits = pc.or_(hits, extra)
                if not pc.any(hits).as_py():
                    continue
                mask = [bool(h) and record_names(r, ids, needles)
                        for h, r in zip(hits.to_pylist(), raws.to_pylist(), strict=True)]
                if any(mask):
                    found.append((path, table, mask))
        return found

    def erase(self, ids: frozenset[str], event_ids: frozenset[str]) -> Erasure:
        removed, erased_ids = 0, set()
        for path, table, mask in self._affected(ids):
            for raw, hit in zip(table.column("raw").to_pylist(), mask, strict=True):
                if hit:
                    try:
                        event_id = orjson.loads(raw).get("event_id")
                    except (orjson.JSONDecodeError, AttributeError):
                        event_id = None
                    if isinstance(event_id, str):
                        erased_ids.add(event_id)
            keep = table.filter(pa.array([not h for h in mask]))
            removed += table.num_rows - keep.num_rows
            self._replace(path, keep)
        return Erasure(self.name, removed, erased_ids)

    def count(self, ids: frozenset[str]) -> int:
        return sum(sum(mask) for _, _, mask in self._affected(ids))

    def profiles_of_account(self, account_id: str) -> set[str]:
        """Profile ids that the lake's records of `account_id` carry (an account's forget covers them)."""
        profiles = set()
        for _, table, mask in self._affected(frozenset([account_id])):
            for raw, hit in zip(table.column("raw").to_pylist(), mask, strict=True):
                try:
                    record = orjson.loads(raw) if hit else None
                except orjson.JSONDecodeError:
                    continue
                if isinstance(record, dict) and record.get("account_id") == account_id \
                        and isinstance(record.get("profile_id"), str):
                    profiles.add(record["profile_id"])
        return profiles

    # file IO, local or S3
    def _read(self, path: str) -> pa.Table:
        if self.lake.is_s3:
            bucket, key = path[5:].split("/", 1)
            body = self.lake._s3().get_object(Bucket=bucket, Key=key)["Body"].read()
            return pq.read_table(pa.BufferReader(body))
        return pq.read_table(path)

    def _replace(self, path: str, table: pa.Table) -> None:
        if table.num_rows == 0:  # nothing left: the file goes (the warehouse already knows its batch)
            if self.lake.is_s3:
                bucket, key = path[5:].split("/", 1)
                self.lake._s3().delete_object(Bucket=bucket, Key=key)
            else:
                os.remove(path)
            return
        if self.lake.is_s3:
            sink = pa.BufferOutputStream()
            pq.write_table(table, sink, compression="zstd")
            bucket, key = path[5:].split("/", 1)
            self.lake._s3().put_object(Bucket=bucket, Key=key, Body=sink.getvalue().to_pybytes())
            return
        tmp = f"{path}.forget-tmp"
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)


# -- the DuckDB warehouse ---------------------------------------------------------------------------
class WarehouseEraser:
    """Deletes every row of every warehouse table (incremental models and their ledgers included) in which
    a text column equals one of the ids or holds it as a JSON string (raw records in rejected_events)."""

    name = "warehouse"

    def __init__(self, path: Path):
        self.path = path

    def _tables(self, con) -> dict[tuple[str, str], list[str]]:
        rows = con.execute(
            "select c.table_schema, c.table_name, c.column_name from information_schema.columns c"
            " join information_schema.tables t using (table_catalog, table_schema, table_name)"
            " where t.table_type = 'BASE TABLE' and (c.data_type = 'VARCHAR' or c.data_type = 'JSON')"
        ).fetchall()
        tables: dict[tuple[str, str], list[str]] = {}
        for schema, table, column in rows:
            tables.setdefault((schema, table), []).append(column)
        return tables

    @staticmethod
    def _predicate(columns: list[str], ids: frozenset[str]) -> tuple[str, list[str]]:
        parts, params = [], []
        for column in columns:
            quoted = f'"{column}"'
            parts.append(f"cast({quoted} as varchar) in ({', '.join('?' for _ in ids)})")
            params += sorted(ids)
            for needle in needles_of(sorted(ids)):
                parts.append(f"contains(cast({quoted} as varchar), ?)")
                params.append(needle.decode())
        return " or ".join(parts), params

    def _run(self, ids: frozenset[str], delete: bool) -> int:
        import duckdb

        if not self.path.exists():
            return 0
        total = 0
        with duckdb.connect(str(self.path)) as con:
            for (schema, table), columns in self._tables(con).items():
                where, params = self._predicate(columns, ids)
                name = f'"{schema}"."{table}"'
                count = con.execute(f"select count(*) from {name} where {where}", params).fetchone()[0]
                if count and delete:
                    con.execute(f"delete from {name} where {where}", params)
                total += count
        return total

    def erase(self, ids: frozenset[str], event_ids: frozenset[str]) -> Erasure:
        return Erasure(self.name, self._run(ids, delete=True))

    def count(self, ids: frozenset[str]) -> int:
        return self._run(ids, delete=False)


# -- the online store -------------------------------------------------------------------------------
class OnlineStoreEraser:
    """Removes the profile's items (profile, candidates, real-time state, …) and any item naming the ids,
    plus the idempotency markers (`seen`) of the removed lake records' event ids."""

    name = "online store"

    def __init__(self, store_factory: Callable[[], object]):
        self._factory = store_factory
        self._store = None

    @property
    def store(self):
        if self._store is None:
            self._store = self._factory()
        return self._store

    def _items(self, ids: frozenset[str]) -> set[tuple[str, str]]:
        items: set[tuple[str, str]] = set()
        for identifier in ids:
            items |= {(ns, key) for ns, key in self.store.keys_mentioning(identifier) if ns != "suppressed"}
        return items

    def erase(self, ids: frozenset[str], event_ids: frozenset[str]) -> Erasure:
        items = self._items(ids)
        seen = {("seen", e) for e in event_ids}
        present = set(self.store.get_many("seen", [e for _, e in seen])) if seen else set()
        for ns, key in items | {("seen", e) for e in present}:
            self.store.delete(ns, key)
        return Erasure(self.name, len(items) + len(present))

    def count(self, ids: frozenset[str]) -> int:
        return len(self._items(ids))


def _lake(settings: Settings) -> Eraser:
    return LakeEraser(settings.lake_root)


def _warehouse(settings: Settings) -> Eraser | None:
    return WarehouseEraser(settings.warehouse_file)


def _online_store(settings: Settings) -> Eraser:
    from streamloop.core.store import get_store

    return OnlineStoreEraser(lambda: get_store(settings))


register(_lake, order=0)
register(_warehouse, order=10)
register(_online_store, order=20)


# -- SQLite files and Parquet snapshots of other stores ----------------------------------------------
class SQLiteFileEraser:
    """Deletes, in every table of a SQLite file, the rows whose text columns name an id (equal to it, or
    holding it as a JSON string: event bodies, contexts). Stores such as messaging's ledger register one."""

    def __init__(self, name: str, path: Path):
        self.name = name
        self.path = Path(path)

    def _run(self, ids: frozenset[str], delete: bool) -> int:
        import sqlite3

        if not self.path.exists():
            return 0
        con = sqlite3.connect(self.path, timeout=30)
        try:
            total = 0
            tables = [r[0] for r in con.execute("select name from sqlite_master where type = 'table'")]
            for table in tables:
                columns = [r[1] for r in con.execute(f'pragma table_info("{table}")')
                           if (r[2] or "").lower() in ("text", "", "blob")]
                if not columns:
                    continue
                parts, params = [], []
                for column in columns:
                    parts.append(f'"{column}" in ({", ".join("?" for _ in ids)})')
                    params += sorted(ids)
                    for needle in needles_of(sorted(ids)):
                        parts.append(f'instr("{column}", ?) > 0')
                        params.append(needle.decode())
                where = " or ".join(parts)
                total += con.execute(f'select count(*) from "{table}" where {where}', params).fetchone()[0]
                if delete:
                    con.execute(f'delete from "{table}" where {where}', params)
            con.commit()
            return total
        finally:
            con.close()

    def erase(self, ids: frozenset[str], event_ids: frozenset[str]) -> Erasure:
        return Erasure(self.name, self._run(ids, delete=True))

    def count(self, ids: frozenset[str]) -> int:
        return self._run(ids, delete=False)


class ParquetFileEraser:
    """Rewrites one Parquet file (a store's snapshot in the lake) without the rows naming an id."""

    def __init__(self, name: str, path: str):
        self.name = name
        self.path = path

    def _hits(self, ids: frozenset[str]) -> tuple[pa.Table | None, list[bool]]:
        if self.path.startswith("s3://") or not os.path.exists(self.path):
            return None, []
        table = pq.read_table(self.path)
        needles = needles_of(ids)
        mask = [False] * table.num_rows
        for column in table.column_names:
            if not pa.types.is_string(table.schema.field(column).type):
                continue
            for i, value in enumerate(table.column(column).to_pylist()):
                if value is not None and (value in ids or any(n.decode() in value for n in needles)):
                    mask[i] = True
        return table, mask

    def erase(self, ids: frozenset[str], event_ids: frozenset[str]) -> Erasure:
        table, mask = self._hits(ids)
        if table is None or not any(mask):
            return Erasure(self.name, 0)
        keep = table.filter(pa.array([not m for m in mask]))
        tmp = f"{self.path}.forget-tmp"
        pq.write_table(keep, tmp, compression="zstd")
        os.replace(tmp, self.path)
        return Erasure(self.name, sum(mask))

    def count(self, ids: frozenset[str]) -> int:
        return sum(self._hits(ids)[1])
