"""Erasers: one per store that may hold a person's data. Each finds and removes every row or item that
names one of the subject's ids. A new store registers its eraser with `register` (messaging's stores,
the model registry), so `forget` reaches it without this module knowing it.

Matching rule, everywhere: a record names an id when the id is the value of a field (any field, at any
depth: `profile_id`, a Segment `userId`, a list of profiles) — or, for text that is not valid JSON, when
the id appears as a JSON string ("p1" with its quotes, so `p1` never matches `p10`).

A store this process cannot reach is never counted as erased: its eraser returns an Erasure with
`unreached` (the reason), and the deletion is incomplete (forget.py). That covers a store whose eraser
lives in a package this process does not have (`expect`: the model registry's eraser is in `ml`, which the
API Lambda ships without), the warehouse file on AWS (it lives on the Dagster machine, not in Lambda), and
an S3 object the process cannot read or write.
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
    """What one eraser removed: rows or items, and (for the lake) the event ids of removed records; or, with
    `unreached`, why the store could not be erased from this process (then nothing is claimed for it)."""

    store: str
    rows: int
    event_ids: set[str] = field(default_factory=set)
    unreached: str | None = None
    residue: str | None = None  # why deleted bytes may still be in the store's files (SQLite), else None


class Eraser(Protocol):
    name: str

    def erase(self, ids: frozenset[str], event_ids: frozenset[str]) -> Erasure: ...

    def count(self, ids: frozenset[str]) -> int:
        """Rows or items that still name one of `ids` (0 after a successful erase)."""


# (order, factory): factories take settings and return an eraser, or None when the store is not in use
_REGISTRY: list[tuple[int, Callable[[Settings], Eraser | None]]] = []
# store name -> why it cannot be erased without its registered eraser (None: the store is not in use)
_EXPECTED: dict[str, Callable[[Settings], str | None]] = {}


def register(factory: Callable[[Settings], Eraser | None], order: int = 50) -> None:
    """Adds a store's eraser factory. Lower `order` runs first (the lake runs first: it yields event ids)."""
    if factory not in [f for _, f in _REGISTRY]:
        _REGISTRY.append((order, factory))


def expect(name: str, missing: Callable[[Settings], str | None]) -> None:
    """Declares a store whose eraser registers from a package above core. Where no eraser named `name` is
    registered (that package is not in the process) and `missing(settings)` gives a reason (the store is in
    use), the store is reported unreached instead of silently skipped."""
    _EXPECTED[name] = missing


class Unreached:
    """The stand-in for a store this process cannot erase: erases nothing and says why."""

    def __init__(self, name: str, reason: str):
        self.name = name
        self.reason = reason

    def erase(self, ids: frozenset[str], event_ids: frozenset[str]) -> Erasure:
        return Erasure(self.name, 0, unreached=self.reason)

    def count(self, ids: frozenset[str]) -> int:
        return 0


def registered_erasers(settings: Settings) -> list[Eraser]:
    erasers = (factory(settings) for _, factory in sorted(_REGISTRY, key=lambda item: item[0]))
    found: list[Eraser] = [e for e in erasers if e is not None]
    names = {e.name for e in found}
    for name, missing in _EXPECTED.items():
        reason = None if name in names else missing(settings)
        if reason:
            found.append(Unreached(name, reason))
    return found


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


def _byte_needles(ids: Iterable[str]) -> list[bytes]:
    """What a scan of a SQLite file's raw bytes looks for: the bare ids (columns hold them undelimited)."""
    return [i.encode() for i in sorted(ids)]


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

    def __init__(self, path: Path, built_elsewhere: bool = False):
        self.path = path
        # on AWS the warehouse file lives on the Dagster machine: a process without it (the API Lambda) did
        # not erase it. Locally a missing file only means nothing was built yet, so nothing to erase.
        self.built_elsewhere = built_elsewhere

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
        if self.built_elsewhere and not self.path.exists():
            return Erasure(self.name, 0, unreached=(
                f"no warehouse file at {self.path} in this process: on AWS it lives on the Dagster machine; "
                "run `streamloop privacy forget` there"))
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
        residue = self.store.erase(sorted(items | {("seen", e) for e in present}), _byte_needles(ids))
        return Erasure(self.name, len(items) + len(present), residue=residue)

    def count(self, ids: frozenset[str]) -> int:
        return len(self._items(ids))


def _lake(settings: Settings) -> Eraser:
    return LakeEraser(settings.lake_root)


def _warehouse(settings: Settings) -> Eraser | None:
    return WarehouseEraser(settings.warehouse_file, built_elsewhere=settings.environment == "aws")


def _online_store(settings: Settings) -> Eraser:
    from streamloop.core.store import get_store

    return OnlineStoreEraser(lambda: get_store(settings))


def _registry_missing(settings: Settings) -> str | None:
    """The model registry holds per-person candidate lists; its eraser is `ml.privacy` (ml sits above core)."""
    root = settings.registry_root
    if not (root.startswith("s3://") or Path(root).exists()):
        return None  # nothing registered yet: nothing to erase
    return (f"the model registry at {root} has no eraser in this process (its eraser, ml.privacy, is not loaded: "
            "the API never imports ml, and its Lambda ships without it); run `streamloop privacy forget`, "
            "which loads it")


register(_lake, order=0)
register(_warehouse, order=10)
register(_online_store, order=20)
expect("model registry", _registry_missing)


# -- SQLite files and Parquet snapshots of other stores ----------------------------------------------
class SQLiteFileEraser:
    """Deletes, in every table of a SQLite file, the rows whose text columns name an id (equal to it, or
    holding it as a JSON string: event bodies, contexts). Stores such as messaging's ledger register one.

    In a Lambda execution environment a local file is that environment's own copy (under /tmp): the rows
    are deleted from it, but the store is reported unreached, since every other environment keeps its own."""

    def __init__(self, name: str, path: Path, busy_timeout_s: float = 30.0):
        self.name = name
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s  # how long a write or the WAL checkpoint waits for other connections

    def _run(self, ids: frozenset[str], delete: bool) -> tuple[int, str | None]:
        """(rows naming an id, why deleted bytes may remain on disk or None)."""
        import sqlite3

        from streamloop.core.sqlite_scrub import scrub, secure

        if not self.path.exists():
            return 0, None
        con = secure(sqlite3.connect(self.path, timeout=self.busy_timeout_s))
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
            # even with nothing deleted now: an earlier forget's checkpoint may have been blocked
            return total, scrub(con, self.path, _byte_needles(ids)) if delete else None
        finally:
            con.close()

    def erase(self, ids: frozenset[str], event_ids: frozenset[str]) -> Erasure:
        rows, residue = self._run(ids, delete=True)
        if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # set by the Lambda runtime
            return Erasure(self.name, rows, residue=residue, unreached=(
                f"{self.path} is a file of this Lambda execution environment; the function's other "
                "environments keep their own copies"))
        return Erasure(self.name, rows, residue=residue)

    def count(self, ids: frozenset[str]) -> int:
        return self._run(ids, delete=False)[0]


class ParquetFileEraser:
    """Rewrites one Parquet file (a store's snapshot in the lake) without the rows naming an id; on an S3 lake
    through the lake's own S3 file operations. An object the process cannot read or write is unreached."""

    def __init__(self, name: str, path: str):
        from streamloop.core.compaction import LakeFiles
        from streamloop.core.lake import Lake

        self.name = name
        self.path = path
        self._files = LakeFiles(Lake(path.rsplit("/", 1)[0]))  # local (fsynced) or S3, as the lake is

    def _read(self) -> pa.Table | None:
        """The file's table, None when there is no file (nothing to erase)."""
        try:
            return self._files.read_table(self.path)
        except FileNotFoundError:
            return None
        except Exception as exc:
            if _s3_code(exc) in ("NoSuchKey", "404"):
                return None
            raise

    def _hits(self, ids: frozenset[str]) -> tuple[pa.Table | None, list[bool]]:
        table = self._read()
        if table is None:
            return None, []
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
        try:
            table, mask = self._hits(ids)
            if table is None or not any(mask):
                return Erasure(self.name, 0)
            sink = pa.BufferOutputStream()
            pq.write_table(table.filter(pa.array([not m for m in mask])), sink, compression="zstd")
            self._files.write_bytes(self.path, sink.getvalue().to_pybytes())  # atomic locally; one PUT on S3
        except Exception as exc:
            if _s3_code(exc) is None:
                raise
            return Erasure(self.name, 0, unreached=f"{self.path}: S3 refused ({_s3_code(exc)}: {exc})")
        return Erasure(self.name, sum(mask))

    def count(self, ids: frozenset[str]) -> int:
        return sum(self._hits(ids)[1])


def _s3_code(exc: BaseException) -> str | None:
    """The S3 error code of a botocore error (None for anything else, e.g. a local file error)."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ModuleNotFoundError:
        return None
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    if isinstance(exc, BotoCoreError):
        return type(exc).__name__
    return None
