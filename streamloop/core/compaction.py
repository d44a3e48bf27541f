"""Compaction: merges the small files of closed received-date partitions into a few large ones,
without losing or duplicating a record, and without making anything look new to the warehouse.

Which files: a partition is closed once its day (UTC) ended `grace` ago (late Firehose buffers and
retries land within minutes). Files named `batch-*` are candidates; for `events`, only those whose every
batch the warehouse has already processed (`processed(date)` gives the batch ids, e.g. from the
incremental ledger `int_events_received`): the warehouse finds new data by listing `batch-*` names, and
compacted files are named `compacted-*`, which it does not list, so an unprocessed batch must stay a
`batch-*` file until a build has read it. Kinds the warehouse reads whole (rejected, ignored) need no
such check. A partition's earlier compacted files are merged again with its new candidates, so records
are unique per partition by (batch_id, record_index) — a record's identity, kept through compaction.

How, crash-safe (a roll-forward journal, like a write-ahead log):
1. write the merged files to `_compaction/<kind>/received_date=D/` (outside every glob readers use);
   verify their keys equal the inputs' keys;
2. write the journal `_compaction/<kind>/received_date=D.json` naming inputs and outputs;
3. move the outputs into the partition, delete the inputs, delete the journal.
A crash before 2 leaves staged files `recover()` deletes; after 2, `recover()` finishes step 3. At no
point is a record missing from the partition; between the first move and the last delete a full-refresh
reader could see a record twice (the warehouse keeps one copy per event_id), never zero times.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from streamloop.core.lake import RECORD_KINDS, Lake

KINDS = RECORD_KINDS
STAGING = "_compaction"
_PARTITION = re.compile(r"/(?P<kind>[a-z]+)/received_date=(?P<day>\d{4}-\d{2}-\d{2})/(?P<name>[^/]+)$")


@dataclass
class Compacted:
    kind: str
    received_date: str
    inputs: list[str]
    outputs: list[str]
    records: int


@dataclass
class CompactionReport:
    compacted: list[Compacted] = field(default_factory=list)
    recovered: int = 0  # journals rolled forward (an earlier run crashed mid-way)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> partitions

    @property
    def files_removed(self) -> int:
        return sum(len(c.inputs) - len(c.outputs) for c in self.compacted)


class LakeFiles:
    """The few file operations compaction needs, on a local lake (fsynced) or on S3."""

    def __init__(self, lake: Lake):
        self.lake = lake

    def read_table(self, path: str) -> pa.Table:
        if self.lake.is_s3:
            bucket, key = _split(path)
            return pq.read_table(io.BytesIO(self._s3().get_object(Bucket=bucket, Key=key)["Body"].read()))
        return pq.read_table(path)

    def write_bytes(self, path: str, data: bytes) -> None:
        if self.lake.is_s3:
            bucket, key = _split(path)
            self._s3().put_object(Bucket=bucket, Key=key, Body=data)
            return
        folder = Path(path).parent
        folder.mkdir(parents=True, exist_ok=True)
        tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(folder)

    def read_text(self, path: str) -> str:
        if self.lake.is_s3:
            bucket, key = _split(path)
            return self._s3().get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        return Path(path).read_text()

    def exists(self, path: str) -> bool:
        if self.lake.is_s3:
            bucket, key = _split(path)
            return "Contents" in self._s3().list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        return Path(path).exists()

    def move(self, source: str, destination: str) -> None:
        if self.lake.is_s3:  # S3 has no rename: copy, then delete the staged copy
            bucket, key = _split(source)
            dest_bucket, dest_key = _split(destination)
            self._s3().copy_object(Bucket=dest_bucket, Key=dest_key, CopySource={"Bucket": bucket, "Key": key})
            self._s3().delete_object(Bucket=bucket, Key=key)
            return
        Path(destination).parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, destination)
        _fsync_dir(Path(destination).parent)

    def delete(self, path: str) -> None:
        if self.lake.is_s3:
            bucket, key = _split(path)
            self._s3().delete_object(Bucket=bucket, Key=key)
            return
        Path(path).unlink(missing_ok=True)
        _fsync_dir(Path(path).parent)

    def list(self, prefix: str) -> list[str]:
        """Every file under `prefix` (a folder path inside the lake root)."""
        if self.lake.is_s3:
            bucket, key = _split(prefix.rstrip("/") + "/")
            pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
            return sorted(f"s3://{bucket}/{o['Key']}" for page in pages for o in page.get("Contents", []))
        base = Path(prefix)
        return sorted(str(p) for p in base.rglob("*") if p.is_file()) if base.exists() else []

    def _s3(self):
        return self.lake._s3()  # the lake's one client


def _split(path: str) -> tuple[str, str]:
    bucket, _, key = path[5:].partition("/")
    return bucket, key


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def closed_before(now: datetime, grace: timedelta) -> date:
    """Partitions of days before this date are closed."""
    return (now.astimezone(UTC) - grace).date()


def compact(lake: Lake, processed: Callable[[str], set[str]] | None, now: datetime | None = None,
            grace: timedelta = timedelta(hours=1), max_rows_per_file: int = 2_000_000,
            files: LakeFiles | None = None, kinds: tuple[str, ...] = KINDS) -> CompactionReport:
    """Compacts every closed partition of `kinds`. `processed(received_date)` returns the event batch ids
    the warehouse has read for that day (None: no warehouse yet, so no events partition is compacted)."""
    files = files or LakeFiles(lake)
    report = CompactionReport(recovered=recover(lake, files))
    cutoff = closed_before(now or datetime.now(UTC), grace).isoformat()  # lake time is the wall clock
    for kind in kinds:
        by_day: dict[str, list[str]] = {}
        for path in lake.files(kind):
            match = _PARTITION.search(path)
            if match and match["day"] < cutoff:
                by_day.setdefault(match["day"], []).append(path)
        for day, paths in sorted(by_day.items()):
            done = _compact_partition(lake, files, kind, day, paths, processed, max_rows_per_file, report)
            if done:
                report.compacted.append(done)
    return report


def _compact_partition(lake, files, kind, day, paths, processed, max_rows, report) -> Compacted | None:
    candidates = [p for p in paths if _name(p).startswith("batch-")]
    earlier = [p for p in paths if _name(p).startswith("compacted-")]
    tables = {p: files.read_table(p) for p in candidates}
    if kind == "events":
        done = processed(day) if processed is not None else set()
        ready = [p for p in candidates if set(tables[p].column("batch_id").to_pylist()) <= done]
        if len(ready) < len(candidates):
            report.skipped["batches not yet built"] = report.skipped.get("batches not yet built", 0) + 1
        candidates = ready
    if not candidates or len(candidates) + len(earlier) < 2:
        return None
    inputs = sorted(candidates + earlier)
    merged = pa.concat_tables([tables.get(p) or files.read_table(p) for p in inputs], promote_options="default")
    merged = _unique_records(merged)
    digest = hashlib.sha256("\n".join(_name(p) for p in inputs).encode()).hexdigest()[:16]
    partition = f"{lake.root}/{kind}/received_date={day}"
    staging = f"{lake.root}/{STAGING}/{kind}/received_date={day}"
    outputs = []
    for number, start in enumerate(range(0, merged.num_rows, max_rows)):
        name = f"compacted-{digest}-{number:03d}.parquet"
        buffer = io.BytesIO()
        pq.write_table(merged.slice(start, max_rows), buffer, compression="zstd")
        files.write_bytes(f"{staging}/{name}", buffer.getvalue())
        outputs.append(name)
    staged_keys = set()
    for name in outputs:  # read back what is on disk, not what was in memory
        staged_keys |= _keys(files.read_table(f"{staging}/{name}"))
    input_keys = set().union(*(_keys(tables.get(p) or files.read_table(p)) for p in inputs))
    if staged_keys != input_keys or sum(files.read_table(f"{staging}/{n}").num_rows for n in outputs) != len(input_keys):
        raise RuntimeError(f"compaction of {kind}/{day}: staged files do not hold exactly the input records")
    journal = {"kind": kind, "received_date": day, "inputs": inputs,
               "outputs": [{"staged": f"{staging}/{n}", "final": f"{partition}/{n}"} for n in outputs]}
    files.write_bytes(f"{staging}.json", json.dumps(journal, indent=1).encode())
    _roll_forward(files, journal, f"{staging}.json")
    return Compacted(kind, day, inputs, [f"{partition}/{n}" for n in outputs], len(input_keys))


def _roll_forward(files: LakeFiles, journal: dict, journal_path: str) -> None:
    for output in journal["outputs"]:
        if files.exists(output["staged"]):
            files.move(output["staged"], output["final"])
        elif not files.exists(output["final"]):
            raise RuntimeError(f"compaction journal {journal_path}: output {output['final']} is lost")
    finals = {output["final"] for output in journal["outputs"]}
    for path in journal["inputs"]:
        if path not in finals:  # an earlier compacted file may share no name with the new ones
            files.delete(path)
    files.delete(journal_path)


def recover(lake: Lake, files: LakeFiles | None = None) -> int:
    """Finishes compactions a crash interrupted (journal written) and drops unjournaled staged files."""
    files = files or LakeFiles(lake)
    staged = files.list(f"{lake.root}/{STAGING}")
    journals = [p for p in staged if p.endswith(".json")]
    for path in journals:
        _roll_forward(files, json.loads(files.read_text(path)), path)
    for path in files.list(f"{lake.root}/{STAGING}"):  # staged before a journal existed: never visible
        files.delete(path)
    return len(journals)


def _unique_records(table: pa.Table) -> pa.Table:
    """One row per (batch_id, record_index), in key order, so compacting again gives the same files."""
    table = table.sort_by([("batch_id", "ascending"), ("record_index", "ascending")])
    if table.num_rows < 2:
        return table
    batch_ids, indexes = table["batch_id"].combine_chunks(), table["record_index"].combine_chunks()
    n = table.num_rows
    same_as_previous = pc.and_(pc.equal(batch_ids.slice(1), batch_ids.slice(0, n - 1)),
                               pc.equal(indexes.slice(1), indexes.slice(0, n - 1)))
    keep = pa.concat_arrays([pa.array([True]), pc.invert(same_as_previous)])
    return table.filter(keep)


def _keys(table: pa.Table) -> set[tuple[str, int]]:
    return set(zip(table["batch_id"].to_pylist(), table["record_index"].to_pylist(), strict=True))


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]
