"""How the collector's records reach the raw lake, whatever the request rate.

Every landing has one method, `write_batch(batch, source, received_at, batch_id)` — the raw lake's own
(streamloop.core.lake) — which returns only once the batch is durable and raises otherwise, so the
collector acknowledges nothing from memory. `batch` maps a lake kind (events, rejected, ignored) to
(record_index, raw text, reason or None) triples.

- `Lake` itself lands one file per request and kind: fine for imports and low rates, but at 40
  requests/s it makes 3.5 million small files a day.
- `BufferedLanding` (group commit) queues requests and writes everything that arrived during one flush
  interval as one file per kind and received date; each request waits for the flush that holds it and
  is acknowledged only after that file is durable — or fails with the flush.
- `FirehoseLanding` hands records to Kinesis Data Firehose (`put_record_batch`, a request's rows packed
  into as few Firehose records as fit), which buffers up to
  128 MB / 15 minutes and writes Parquet files into the same lake layout (terraform/modules/firehose);
  a request is acknowledged once Firehose has accepted every one of its records.

A buffered file holds many requests, so its rows carry the flush's batch id (the file's name, which the
warehouse's incremental listing compares with the batches it processed) and are renumbered within it;
the request's own id is kept nowhere. A client's retry of a request that was already flushed therefore
lands its records again under another batch: the `seen` claims report them as duplicates and the
warehouse keeps the first copy of each event_id.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from streamloop.core.errors import StreamloopError

if TYPE_CHECKING:
    from streamloop.core.lake import Lake

# pyarrow (through streamloop.core.lake) is imported on the first flush, not when the API function starts

log = logging.getLogger("streamloop.landing")

Triple = tuple[int, str, "str | None"]
Batch = Mapping[str, Sequence[Triple]]


class LandingError(StreamloopError):
    """Records could not be made durable; the request that sent them must fail."""


class _LakeWriter:
    """Lake.write_records on top of write_batch, so any writer of the raw lake can take any landing."""

    def write_batch(self, batch: Batch, source: str, received_at: datetime, batch_id: str,
                    validated: Mapping[int, dict] | None = None) -> list[str]:
        raise NotImplementedError

    def write_records(self, kind: str, raws: Sequence[str], source: str, received_at: datetime,
                      batch_id: str | None = None, reasons: Sequence[str] | None = None,
                      record_indexes: Sequence[int] | None = None,
                      validated: Sequence[dict | None] | None = None) -> list[str]:
        indexes = list(record_indexes) if record_indexes is not None else list(range(len(raws)))
        reasons = list(reasons) if reasons is not None else [None] * len(raws)
        by_index = {i: v for i, v in zip(indexes, validated, strict=True) if v is not None} if validated else None
        from streamloop.core.lake import new_batch_id

        return self.write_batch({kind: list(zip(indexes, raws, reasons, strict=True))}, source, received_at,
                                batch_id or new_batch_id(), validated=by_index)


@dataclass
class _Pending:
    batch: Batch
    source: str
    received_at: datetime
    done: Future
    validated: Mapping[int, dict] | None = None  # record index -> the edge's parsed event (Lake.write_batch)


class BufferedLanding(_LakeWriter):
    """Group commit: one file per kind and received date per flush interval, requests wait for it."""

    def __init__(self, lake: Lake, flush_interval_s: float = 0.2, max_records: int = 50_000,
                 batch_ids: Callable[[], str] | None = None, timeout_s: float = 30.0):
        self.lake = lake
        self.flush_interval_s = flush_interval_s
        self.max_records = max_records  # flush early when this many records wait (bounds memory)
        self.timeout_s = timeout_s
        self._batch_ids = batch_ids  # default: a random id per flush (streamloop.core.lake.new_batch_id)
        self._pending: list[_Pending] = []
        self._pending_records = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._flusher = threading.Thread(target=self._run, name="landing-flush", daemon=True)
        self._flusher.start()
        self.flushes = 0  # files written per kind are counted by callers through the lake

    def write_batch(self, batch: Batch, source: str, received_at: datetime, batch_id: str | None = None,
                    validated: Mapping[int, dict] | None = None) -> list[str]:
        """Queues the batch and blocks until the flush holding it is durable; returns that flush's files."""
        if not any(batch.values()):
            return []
        pending = _Pending(batch, source, received_at, Future(), validated)
        with self._lock:
            if self._closed:
                raise LandingError("the landing buffer is closed")
            self._pending.append(pending)
            self._pending_records += sum(len(v) for v in batch.values())
            if self._pending_records >= self.max_records:
                self._wake.notify()
        try:
            return pending.done.result(timeout=self.timeout_s)
        except TimeoutError as exc:
            raise LandingError(f"no flush within {self.timeout_s:.0f} s") from exc

    def close(self) -> None:
        """Flushes what is queued and stops the flusher."""
        with self._lock:
            self._closed = True
            self._wake.notify()
        self._flusher.join()

    # -- the flusher thread ------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._closed and self._pending_records < self.max_records:
                    self._wake.wait(self.flush_interval_s)
                taken, self._pending, self._pending_records = self._pending, [], 0
                closed = self._closed
            if taken:
                self._flush(taken)
            if closed:
                with self._lock:  # anything queued between the take and the close
                    rest, self._pending = self._pending, []
                if rest:
                    self._flush(rest)
                return

    def _flush(self, taken: list[_Pending]) -> None:
        try:
            paths = self._write(taken)
        except Exception as exc:  # every waiting request fails with the flush that held it
            log.exception("flush of %d request(s) failed", len(taken))
            error = LandingError(f"could not land events in the lake: {type(exc).__name__}: {exc}")
            for pending in taken:
                pending.done.set_exception(error)
            return
        self.flushes += 1
        for pending in taken:
            pending.done.set_result(paths)

    def _write(self, taken: list[_Pending]) -> list[str]:
        from streamloop.core.lake import RAW_SCHEMA, REJECTED_SCHEMA, WITH_REASON, new_batch_id, raw_table

        flush_id = (self._batch_ids or new_batch_id)()
        paths: list[str] = []
        offset = 0  # one numbering across the flush's kinds: batch_id:record_index names one record
        kinds = sorted({kind for p in taken for kind, triples in p.batch.items() if triples},
                       key=lambda kind: kind == "events")  # events last, as Lake.write_batch does
        for kind in kinds:
            rows = [(p.source, p.received_at, raw, reason) for p in taken for _, raw, reason in p.batch.get(kind, ())]
            columns = {
                "batch_id": [flush_id] * len(rows),
                "record_index": list(range(offset, offset + len(rows))),
                "received_at": [row[1] for row in rows],
                "source": [row[0] for row in rows],
                "raw": [row[2] for row in rows],
            }
            if kind in WITH_REASON:
                columns["reason"] = [row[3] or "" for row in rows]
            offset += len(rows)
            schema = REJECTED_SCHEMA if kind in WITH_REASON else RAW_SCHEMA
            validated = None
            if kind == "events" and any(p.validated for p in taken):
                validated = [(p.validated or {}).get(index) for p in taken for index, _, _ in p.batch.get(kind, ())]
            paths += self.lake.write_table(kind, raw_table(columns, schema), validated=validated)
        return paths


class FirehoseLanding(_LakeWriter):
    """Lands through Kinesis Data Firehose: acknowledged once Firehose accepted every record."""

    MAX_RECORDS_PER_CALL = 500           # PutRecordBatch limits
    MAX_BYTES_PER_CALL = 4 * 1024 * 1024
    MAX_ENTRY_BYTES = 1000 * 1024        # one Firehose record

    def __init__(self, streams: Mapping[str, str], client=None, region: str = "us-east-1",
                 attempts: int = 4, backoff_s: float = 0.05, max_entry_bytes: int = MAX_ENTRY_BYTES):
        if client is None:
            import boto3

            client = boto3.client("firehose", region_name=region)
        self.client = client
        self.streams = dict(streams)  # lake kind -> delivery stream name
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_entry_bytes = max_entry_bytes

    def write_batch(self, batch: Batch, source: str, received_at: datetime, batch_id: str,
                    validated: Mapping[int, dict] | None = None) -> list[str]:
        # `validated` is not used: Firehose's conversion writes RAW_SCHEMA files, which staging parses
        delivered = []
        for kind, triples in batch.items():
            if not triples:
                continue
            if kind not in self.streams:
                if kind == "suppressed":  # counts only: no stream for them yet (docs/privacy.md, "Not covered yet")
                    continue
                raise LandingError(f"no Firehose stream configured for lake kind {kind!r}")
            received_ms = int(received_at.timestamp() * 1000)  # the Glue schema reads epoch milliseconds
            records = []
            for index, raw, reason in triples:
                row = {"batch_id": batch_id, "record_index": index, "received_at": received_ms,
                       "source": source, "raw": raw}
                if kind != "events":
                    row["reason"] = reason or ""
                records.append((json.dumps(row, ensure_ascii=False) + "\n").encode())
            too_big = [len(line) for line in records if len(line) > self.max_entry_bytes]
            if too_big:
                raise LandingError(f"a {kind} record of {too_big[0]} bytes exceeds Firehose's record size")
            # A request's rows share Firehose records (JSON documents one after another, which the format
            # conversion and the stream's de-aggregation read back as rows): Firehose bills each record
            # rounded up to 5 KB, so one row per record would cost ~10x more for ~500-byte events.
            entries = [b"".join(group) for group in _chunks(records, len(records), self.max_entry_bytes)]
            for chunk in _chunks(entries, self.MAX_RECORDS_PER_CALL, self.MAX_BYTES_PER_CALL):
                self._put(self.streams[kind], chunk)
            delivered.append(f"firehose://{self.streams[kind]}")
        return delivered

    def _put(self, stream: str, records: list[bytes]) -> None:
        # Hand-written rather than tenacity: only the entries Firehose refused are resent, not the call.
        todo = records
        for attempt in range(self.attempts):
            try:
                response = self.client.put_record_batch(DeliveryStreamName=stream,
                                                        Records=[{"Data": data} for data in todo])
            except Exception as exc:  # botocore raises many kinds; all mean "not accepted"
                if attempt == self.attempts - 1:
                    raise LandingError(f"Firehose {stream} refused the batch: {exc}") from exc
            else:
                if response.get("FailedPutCount", 0) == 0:
                    return
                todo = [data for data, result in zip(todo, response["RequestResponses"], strict=True)
                        if "ErrorCode" in result]
            time.sleep(self.backoff_s * 2 ** attempt)
        raise LandingError(f"Firehose {stream} did not accept {len(todo)} record(s) after {self.attempts} attempts")


def _chunks(records: list[bytes], max_count: int, max_bytes: int):
    chunk, size = [], 0
    for data in records:
        if chunk and (len(chunk) == max_count or size + len(data) > max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(data)
        size += len(data)
    if chunk:
        yield chunk


def landing_for(settings) -> Lake | BufferedLanding | FirehoseLanding:
    """The landing the settings choose (STREAMLOOP_LANDING = direct | buffered | firehose)."""
    if settings.landing == "firehose":
        return FirehoseLanding({"events": settings.firehose_events_stream, "rejected": settings.firehose_rejected_stream,
                                "ignored": settings.firehose_ignored_stream}, region=settings.aws_region)
    from streamloop.core.lake import Lake

    lake = Lake(settings.lake_root)
    if settings.landing == "buffered":
        return BufferedLanding(lake, settings.landing_flush_interval_ms / 1000)
    return lake
