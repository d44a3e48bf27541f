"""What every importer shares: validating and landing mapped records, timestamps, the summary."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np
import orjson

from streamloop.core.ingest import PROGRESS_EVERY, Landing, Tally, content_sha1, edge_landing
from streamloop.core.lake import Lake, new_batch_id
from streamloop.core.progress import say
from streamloop.core.store.base import OnlineStore

# A title's maturity rating when the source has none: the middle of the scale, so kids profiles
# never see unrated content while adult profiles see everything.
UNKNOWN_MATURITY = "13+"
ADULT_PROFILE = {"is_kids": False, "maturity_rating": "18+"}
# Plays longer than this send heartbeats: under the warehouse's 30-minute session gap, a play whose
# events are further apart would be split across two sessions and lose its end.
HEARTBEAT_EVERY_S = 1500


def iso_from_epoch_us(epoch_us: np.ndarray) -> list[str]:
    """Epoch microseconds -> RFC 3339 UTC strings with microseconds, vectorized."""
    text = np.datetime_as_string(np.asarray(epoch_us, dtype="int64").astype("datetime64[us]"), unit="us")
    return [f"{t}Z" for t in text.tolist()]


def fingerprint(paths: list[Path]) -> str:
    """One id for a set of input files' contents: batch ids built on it always name the same records."""
    return new_batch_id(*(content_sha1(p) for p in sorted(paths)))


def make_event(event_id: str, event_type: str, occurred_at: str, device_id: str, profile_id: str | None,
               account_id: str | None, context: dict, properties: dict) -> dict:
    return {"event_id": event_id, "event_type": event_type, "occurred_at": occurred_at, "device_id": device_id,
            "profile_id": profile_id, "account_id": account_id, "context": context, "properties": properties,
            "schema_version": 1}


@dataclass
class ImportSummary:
    dataset: str
    source_path: str
    events: Tally
    catalog: Tally
    event_types: Counter
    facts: dict[str, int]
    notes: list[str]
    files_written: list[str]
    batches_already_landed: int

    def render(self) -> str:
        lines = [f"import {self.dataset} from {self.source_path}",
                 f"  events:  {self.events.line()}",
                 f"  catalog: {self.catalog.line()}"]
        if self.event_types:
            lines.append("  accepted events by type: "
                         + " · ".join(f"{t} {n:,}" for t, n in sorted(self.event_types.items())))
        if self.facts:
            lines.append("  " + " · ".join(f"{name} {n:,}" for name, n in self.facts.items()))
        lines += [f"  note: {note}" for note in self.notes]
        already = f" ({self.batches_already_landed} batch file(s) already in the lake, not rewritten)" \
            if self.batches_already_landed else ""
        lines.append(f"  lake files written: {len(self.files_written)}{already}")
        both = Tally(reasons=self.events.reasons + self.catalog.reasons)
        if both.reasons:
            lines.append("  top rejection reasons:")
            lines += [f"    {reason}" for reason in both.top_reasons()]
        return "\n".join(lines)


class ImportRun:
    """Validates mapped events and catalog records and lands them under deterministic batch ids.

    A batch id is built from the dataset, the input files' fingerprint and the batch's key, so
    re-importing the same files lands nothing new (see streamloop.core.ingest.Landing).
    Duplicate ids are detected within a batch; the mappings produce unique ids by construction.
    Events land through the edge's privacy rules (`edge_landing`): a forgotten person's events are
    suppressed (counted, never landed), personal context minimized. Use it as a context manager: it
    closes the online store it opened for the suppression list.
    """

    def __init__(self, dataset: str, source_fingerprint: str, lake: Lake | None = None,
                 store: OnlineStore | None = None):
        self.dataset = dataset
        self.source = f"import:{dataset}"
        self.fingerprint = source_fingerprint
        self._exit = ExitStack()
        self.events = self._exit.enter_context(edge_landing("events", lake, store))
        self.catalog = Landing("catalog", self.events.lake, received_at=self.events.received_at)
        self.event_tally = Tally()
        self.catalog_tally = Tally()
        self.event_types: Counter = Counter()
        self._next_report = PROGRESS_EVERY

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self._exit.close()

    def _batch_id(self, kind: str, key: str) -> str:
        return new_batch_id("import", self.dataset, self.fingerprint, kind, key)

    def land_events(self, events: list[dict], batch_key: str,
                    source_rejects: Sequence[tuple[str, str]] = ()) -> None:
        """Validates and lands mapped events; `source_rejects` are (raw, reason) source records that could
        not be mapped at all, landed in `rejected/` and counted like any reject."""
        candidates = [(orjson.dumps(e).decode(), e, None) for e in events]
        candidates += [(raw, None, reason) for raw, reason in source_rejects]
        screened = self.events.screen(candidates, set(), self.event_tally)
        self.event_types.update(record["event_type"] for record in screened.accepted_records)
        self.events.land(screened, self.source, self._batch_id("events", batch_key))
        if self.event_tally.received >= self._next_report:
            say(f"    {self.dataset}: {self.event_tally.received:,} events mapped …")
            self._next_report = self.event_tally.received + PROGRESS_EVERY

    def land_catalog(self, records: list[dict], batch_key: str = "all") -> None:
        screened = self.catalog.screen(((orjson.dumps(r).decode(), r, None) for r in records), set(),
                                       self.catalog_tally)
        self.catalog.land(screened, self.source, self._batch_id("catalog", batch_key))

    def summary(self, source_path: str | Path, facts: dict[str, int], notes: list[str]) -> ImportSummary:
        self.event_tally.check()
        self.catalog_tally.check()
        return ImportSummary(
            dataset=self.dataset, source_path=str(source_path), events=self.event_tally, catalog=self.catalog_tally,
            event_types=self.event_types, facts=facts, notes=notes,
            files_written=self.events.files_written + self.catalog.files_written,
            batches_already_landed=self.events.batches_already_landed + self.catalog.batches_already_landed,
        )
