"""The raw lake: a received-date-partitioned landing zone of Parquet files, local or on S3.

Layout (identical under a local folder and under s3://bucket/prefix):

    events/received_date=YYYY-MM-DD/batch-<batch_id>.parquet    raw event records, as received
    catalog/batch-<batch_id>.parquet                             raw catalog records, as received
    rejected/received_date=YYYY-MM-DD/batch-<batch_id>.parquet   records refused at the edge, with reasons
    ignored/received_date=YYYY-MM-DD/batch-<batch_id>.parquet    records acknowledged but not collected (Segment
                                                                 page/screen, ads, buffering), with reasons

Every file has the columns of RAW_SCHEMA. `raw` keeps the record's original JSON text byte for byte
(forensics, rejects, privacy scans). `events` files add the typed columns of
streamloop.core.contract.landed (EVENTS_SCHEMA), filled here for every record the contract accepts:
records are parsed once, when landed, and dbt staging reads those columns instead of the JSON; it still
parses, validates and rejects the rest (and files landed before typed columns existed).
Files are written once and never modified: a batch id names them, so re-landing the same batch
(a retried upload) overwrites the same file with the same content instead of duplicating it.
Writes return only once durable: locally the file and its folder are fsynced after an atomic rename;
on S3 `put_object` returns once S3 has stored the object. `record_index` is the record's position in
the request or file it came from, shared by the kinds of one batch, so `batch_id:record_index` names one
received record whichever kind it landed in.
Partitioning by *received* date makes "what is new since the last build" a cheap file-level question,
while late events (old `occurred_at`) still land in today's partition.
"""
from __future__ import annotations

import hashlib
import os
import re
import uuid
from array import array
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from streamloop.core.contract.landed import TYPED_FLAG, TYPED_SCHEMA, typed_columns, untyped_columns

RAW_SCHEMA = pa.schema([
    ("batch_id", pa.string()),
    ("record_index", pa.int32()),
    ("received_at", pa.timestamp("us", tz="UTC")),
    ("source", pa.string()),       # simulator | api | ingest:<file name> | import:movielens | import:sparkify
    ("raw", pa.string()),          # the record's JSON text as received
])
REJECTED_SCHEMA = pa.schema(list(RAW_SCHEMA) + [("reason", pa.string())])
EVENTS_SCHEMA = pa.schema(list(RAW_SCHEMA) + list(TYPED_SCHEMA))

KINDS = ("events", "catalog", "rejected", "ignored", "suppressed")
# kinds holding received records, partitioned by received date: what compaction, retention and a privacy
# deletion go through (the catalog is reference data, small and unpartitioned). `suppressed` rows stand for
# records of forgotten people dropped at the edge: batch, position, time and source, `raw` empty (no
# personal data), so ingestion_reconciliation can count them.
RECORD_KINDS = ("events", "rejected", "ignored", "suppressed")
WITH_REASON = ("rejected", "ignored")  # kinds whose files carry a `reason` column
# The layout above, defined once: every reader (dbt's sources via var streamloop_lake_globs, the lake sensor,
# ingest's re-landing check) goes through these. tests/test_warehouse_constants.py checks dbt's copy.
PARTITION_COLUMN = "received_date"
LAYOUT = {"events": "events/*/*.parquet", "catalog": "catalog/*.parquet", "rejected": "rejected/*/*.parquet",
          "ignored": "ignored/*/*.parquet", "suppressed": "suppressed/*/*.parquet"}
SUPPRESSED_RAW = ""  # the raw text of a `suppressed` row: nothing of the dropped record is kept
_PARTITION_RE = re.compile(rf"/{PARTITION_COLUMN}=(\d{{4}}-\d{{2}}-\d{{2}})/")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def raw_table(columns: Mapping[str, Sequence], schema: pa.Schema) -> pa.Table:
    """An Arrow table of RAW_SCHEMA/REJECTED_SCHEMA from Python lists, built from buffers.

    Why not `pa.table(columns, schema=schema)`: converting Python lists makes pyarrow import pandas when it
    is installed (its array-like check), ~0.3–0.45 s on a cold Lambda's first request. Offsets, int32 and
    microsecond buffers come from the standard library's `array`; anything unusual (a None, a batch over
    the 2 GiB string-offset limit) takes pyarrow's own conversion."""
    arrays = []
    for field in schema:
        values = columns[field.name]
        try:
            arrays.append(_array_from_buffers(values, field.type))
        except (TypeError, ValueError, OverflowError, AttributeError):
            arrays.append(pa.array(list(values), type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def with_typed_columns(table: pa.Table, typed: bool = True, validated: Sequence[dict | None] | None = None) -> pa.Table:
    """A RAW_SCHEMA table of event records with EVENTS_SCHEMA's typed columns appended (`validated` as
    typed_columns takes it, one per row)."""
    if typed:
        columns = typed_columns(table.column("raw").to_pylist(), table.column("received_at").combine_chunks(),
                                validated)
    else:
        columns = untyped_columns(table.num_rows)
    return pa.Table.from_arrays(list(table.columns) + columns, schema=EVENTS_SCHEMA)


def _array_from_buffers(values: Sequence, kind: pa.DataType) -> pa.Array:
    n = len(values)
    if kind == pa.string():
        encoded = [v.encode() for v in values]  # AttributeError on a None: pyarrow's conversion takes it
        offsets = array("i", [0])
        total = 0
        for item in encoded:
            total += len(item)
            offsets.append(total)  # OverflowError past 2**31 - 1
        return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])
    if kind == pa.int32():
        return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(array("i", values))])
    if kind == pa.timestamp("us", tz="UTC"):
        micros = array("q", [(v.astimezone(UTC) - _EPOCH) // _MICROSECOND for v in values])
        return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(micros)])
    raise TypeError(f"no buffer conversion for {kind}")


def batch_file_name(batch_id: str) -> str:
    """The file name of one landed batch (the same for every kind)."""
    return f"batch-{batch_id}.parquet"


def partition_of(path: str) -> str | None:
    """The received-date partition (YYYY-MM-DD) a lake file lies in, None for the unpartitioned catalog."""
    found = _PARTITION_RE.search(path)
    return found.group(1) if found else None


def new_batch_id(*parts: str) -> str:
    """A batch id: deterministic from `parts` (idempotent re-landing) or random when none are given."""
    if parts:
        return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:20]
    return uuid.uuid4().hex[:20]


class Lake:
    """Writes raw records to the lake root (a local path or s3://bucket/prefix)."""

    def __init__(self, root: str | os.PathLike):
        self.root = str(root).rstrip("/")
        self.is_s3 = self.root.startswith("s3://")
        self._s3_client = None
        if not self.is_s3:
            self.root = str(Path(self.root).expanduser().resolve())

    # -- paths -------------------------------------------------------------------------------------
    def glob(self, kind: str) -> str:
        """Glob for every file of one kind, as DuckDB's read_parquet (and dbt sources) take it."""
        return f"{self.root}/{LAYOUT[kind]}"

    def _path(self, kind: str, batch_id: str, received_date: str | None) -> str:
        if kind == "catalog":
            return f"{self.root}/catalog/{batch_file_name(batch_id)}"
        return f"{self.root}/{kind}/{PARTITION_COLUMN}={received_date}/{batch_file_name(batch_id)}"

    def files(self, kind: str) -> list[str]:
        if self.is_s3:
            return self._s3_list(kind)
        base = Path(self.root) / kind
        return sorted(str(p) for p in base.rglob("*.parquet")) if base.exists() else []

    # -- writing -----------------------------------------------------------------------------------
    def write_table(self, kind: str, table: pa.Table, typed: bool = True,
                    validated: Sequence[dict | None] | None = None) -> list[str]:
        """Writes an Arrow table of RAW_SCHEMA (REJECTED_SCHEMA for `rejected`), split by received date.

        The table's batch_id column must hold one value; files are named after it. `events` get their
        typed columns here (EVENTS_SCHEMA); `typed=False` lands every record untyped, for staging to
        parse (tests compare both ways). `validated`: per row, the event the edge parsed from exactly
        that text and found valid, or None (streamloop.core.contract.landed.typed_columns).
        """
        if kind not in KINDS:
            raise ValueError(f"unknown lake kind {kind!r}")
        if table.num_rows == 0:
            return []
        if kind == "events" and TYPED_FLAG in table.column_names:  # typed already (a rewrite of lake rows)
            table = table.select(EVENTS_SCHEMA.names).cast(EVENTS_SCHEMA)
        else:
            table = table.cast(REJECTED_SCHEMA if kind in WITH_REASON else RAW_SCHEMA)
            if kind == "events":
                table = with_typed_columns(table, typed, validated)
        batch_id = table.column("batch_id")[0].as_py()
        if kind == "catalog":
            return [self._write(self._path(kind, batch_id, None), table)]
        import pyarrow.compute as pc

        dates = pc.strftime(table.column("received_at"), format="%Y-%m-%d")
        paths = []
        for day in pc.unique(dates):  # Arrow scalars: a Python str would make pyarrow import pandas
            part = table.filter(pc.equal(dates, day))
            paths.append(self._write(self._path(kind, batch_id, day.as_py()), part))
        return paths

    def write_batch(self, batch: Mapping[str, Sequence[tuple[int, str, str | None]]], source: str,
                    received_at: datetime, batch_id: str, validated: Mapping[int, dict] | None = None) -> list[str]:
        """Lands one request's records, every kind under one batch id, and returns once all are durable.

        `batch` maps a kind to (record_index, raw text, reason or None) triples; record indexes are the
        records' positions in the request, so no two records of the batch share a key. Re-landing the
        same batch (a client's retry) rewrites the same files: nothing is duplicated, whatever step a
        crash interrupted. Kinds are written rejected/ignored first and events last (any order would do:
        the warehouse reads a batch only through its files, each complete or absent). `validated` maps an
        event's record index to the event the edge parsed from its landed text and found valid at
        `received_at`: typing it then skips a second parse and validation."""
        paths: list[str] = []
        for kind in sorted(batch, key=lambda k: k == "events"):
            triples = batch[kind]
            if not triples:
                continue
            indexes, raws, reasons = zip(*triples, strict=True)
            events = [validated.get(i) for i in indexes] if validated and kind == "events" else None
            paths += self.write_records(kind, raws, source=source, received_at=received_at, batch_id=batch_id,
                                        reasons=reasons if kind in WITH_REASON else None, record_indexes=indexes,
                                        validated=events)
        return paths

    def write_records(self, kind: str, raws: Sequence[str], source: str, received_at: datetime | Sequence[datetime] | None = None,
                      batch_id: str | None = None, reasons: Sequence[str] | None = None,
                      record_indexes: Sequence[int] | None = None, typed: bool = True,
                      validated: Sequence[dict | None] | None = None) -> list[str]:
        """Lands raw JSON texts of one kind (durable on return). `received_at` is one time for all, one
        per record, or now; `record_indexes` default to 0..n-1; `typed` and `validated` as in write_table."""
        n = len(raws)
        if n == 0:
            return []
        now = datetime.now(UTC)
        if received_at is None or isinstance(received_at, datetime):
            times = [received_at or now] * n
        else:
            times = list(received_at)
        columns = {
            "batch_id": [batch_id or new_batch_id()] * n,
            "record_index": list(record_indexes) if record_indexes is not None else list(range(n)),
            "received_at": times,
            "source": [source] * n,
            "raw": list(raws),
        }
        if kind in WITH_REASON:
            columns["reason"] = list(reasons or [""] * n)
        schema = REJECTED_SCHEMA if kind in WITH_REASON else RAW_SCHEMA
        return self.write_table(kind, raw_table(columns, schema), typed=typed, validated=validated)

    def _write(self, path: str, table: pa.Table) -> str:
        if self.is_s3:
            import io

            buf = io.BytesIO()
            pq.write_table(table, buf, compression="zstd")
            bucket, key = path[5:].split("/", 1)
            self._s3().put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
            return path
        folder = Path(path).parent
        if not folder.is_dir():
            _make_durable_dirs(folder)
        tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            with open(tmp, "wb") as f:
                pq.write_table(table, f, compression="zstd")
                f.flush()
                os.fsync(f.fileno())  # the bytes are on disk before the name points at them
            os.replace(tmp, path)  # atomic: readers never see a half-written file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(folder)  # the rename itself survives a crash
        return path

    def read_table(self, path: str) -> pa.Table | None:
        """A Parquet file the lake's writer wrote (`_write`), local or S3; None when it is not there."""
        if not self.is_s3:
            return pq.read_table(path) if Path(path).is_file() else None
        import io

        from botocore.exceptions import ClientError

        bucket, key = path[5:].split("/", 1)
        try:
            body = self._s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return pq.read_table(io.BytesIO(body))

    # -- S3 ----------------------------------------------------------------------------------------
    def _s3(self):
        """One client per lake: building a boto3 client costs milliseconds and memory on every call."""
        if self._s3_client is None:
            import boto3

            from streamloop.core.settings import get_settings

            self._s3_client = boto3.client("s3", region_name=get_settings().aws_region)
        return self._s3_client

    def _s3_list(self, kind: str) -> list[str]:
        bucket, _, prefix = self.root[5:].partition("/")
        prefix = f"{prefix}/{kind}/" if prefix else f"{kind}/"
        keys: list[str] = []
        for page in self._s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [f"s3://{bucket}/{o['Key']}" for o in page.get("Contents", []) if o["Key"].endswith(".parquet")]
        return sorted(keys)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_durable_dirs(folder: Path) -> None:
    """mkdir -p, fsyncing each new folder's parent so the new entries survive a crash."""
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
        _fsync_dir(new.parent)


def default_lake() -> Lake:
    from streamloop.core.settings import get_settings

    return Lake(get_settings().lake_root)
