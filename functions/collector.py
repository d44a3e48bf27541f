"""The event collector behind POST /v1/events: validate, deduplicate, land, update real-time state.

Order of operations, and why:
1. validate every event against the contract (streamloop.core.contract) — failures are kept with reasons;
2. claim each valid event id in the store's `seen` namespace (atomic add-if-absent) — a retried event
   is counted as a duplicate and landed once;
3. land accepted events (and rejected ones, with reasons) in the raw lake, one file per request;
   if landing fails the claims are released and the request fails, so the client's retry succeeds;
4. update real-time state (`state`) and bandit counts (`bandit`) from the accepted events.
   Events are already durable at this point; a failure here is reported in the response and the log
   rather than failing the request (a retry would be a duplicate and could not repair it).
"""
from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from functions.catalog import TitleCache
from functions.experiments import Experiments, decode_decision
from functions.realtime import STATE_EVENTS, apply_events
from streamloop.core.contract import validate_event
from streamloop.core.errors import StreamloopError
from streamloop.core.store import OnlineStore, StoreError

log = logging.getLogger("streamloop.collector")


class LandingError(StreamloopError):
    """The raw lake could not be written; nothing from the request was accepted."""


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        body = {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}
        if self.warnings:
            body["warnings"] = self.warnings
        return body


class Collector:
    def __init__(self, store_factory: Callable[[], OnlineStore], lake_root: str, titles: TitleCache,
                 experiments: Experiments, landing=None):
        self._store_factory = store_factory
        self.lake_root = lake_root
        self.titles = titles
        self.experiments = experiments
        # a streamloop.core.landing writer (group commit, Firehose) replaces the one-file-per-request lake
        self._lake = landing

    @property
    def store(self) -> OnlineStore:
        return self._store_factory()

    def lake(self):
        # pyarrow (via streamloop.core.lake) is imported on the first landing, not at cold start
        if self._lake is None:
            from streamloop.core.lake import Lake

            self._lake = Lake(self.lake_root)
        return self._lake

    def ingest(self, events: list, source: str = "api", raws: list | None = None,
               mapping_errors: dict[int, list[str]] | None = None, claim: bool = True) -> IngestResult:
        """Processes one request's events. `raws` (what to land for each index, default the event) and
        `mapping_errors` (index -> reasons found before the contract check) serve translated inputs
        such as Segment batches. `claim=False` skips the `seen` claims, for server-made events whose
        ids are unique by construction (experiment exposures), so they land even while the store is down."""
        received_at = datetime.now(UTC)
        result = IngestResult()
        raws = raws if raws is not None else events
        mapping_errors = mapping_errors or {}
        valid: dict[str, int] = {}  # event_id -> index of its first valid occurrence
        rejected_raws, reasons = [], []
        for index, event in enumerate(events):
            errors = mapping_errors.get(index) or validate_event(event, received_at)
            if errors:
                event_id = event.get("event_id") if isinstance(event, dict) else None
                result.rejected.append({"index": index, "event_id": event_id if isinstance(event_id, str) else None,
                                        "errors": errors})
                rejected_raws.append(_text(raws[index]))
                reasons.append("; ".join(errors))
            elif event["event_id"] in valid:
                result.duplicates += 1
            else:
                valid[event["event_id"]] = index
        if not claim:
            claimed = set(valid)
        elif valid:
            claimed = self.store.add_many_if_absent("seen", dict.fromkeys(valid, int(received_at.timestamp())))
        else:
            claimed = set()
        result.duplicates += len(valid) - len(claimed)
        accepted = [index for event_id, index in valid.items() if event_id in claimed]
        try:
            self._land(source, received_at, [_text(raws[i]) for i in accepted], rejected_raws, reasons)
        except Exception as exc:
            if claim:
                self._release(claimed)
            log.exception("landing failed; released %d claims", len(claimed))
            raise LandingError(f"could not land events in the lake: {type(exc).__name__}") from exc
        result.accepted = len(accepted)
        accepted_events = [events[i] for i in accepted]
        for step, fn in (("real-time state", self._update_state), ("bandit counts", self._update_bandits)):
            try:
                fn(accepted_events)
            except StoreError as exc:
                log.error("collector could not update %s: %s", step, exc)
                result.warnings.append(f"{step} not updated: the online store failed")
        return result

    def _land(self, source, received_at, accepted_raws, rejected_raws, reasons) -> None:
        if not accepted_raws and not rejected_raws:
            return
        from streamloop.core.lake import new_batch_id

        batch_id = new_batch_id()
        if accepted_raws:
            self.lake().write_records("events", accepted_raws, source=source, received_at=received_at,
                                      batch_id=batch_id)
        if rejected_raws:
            self.lake().write_records("rejected", rejected_raws, source=source, received_at=received_at,
                                      batch_id=batch_id, reasons=reasons)

    def _release(self, claimed: set[str]) -> None:
        for event_id in claimed:
            try:
                self.store.delete("seen", event_id)
            except StoreError:
                log.error("could not release claim %s; a retry will count it as a duplicate", event_id)

    def _update_state(self, events: list[dict]) -> None:
        by_profile: dict[str, list[dict]] = defaultdict(list)
        for event in events:
            if event["event_type"] in STATE_EVENTS and event.get("profile_id"):
                by_profile[event["profile_id"]].append(event)
        if not by_profile:
            return
        title_ids = {e["properties"]["title_id"] for evs in by_profile.values() for e in evs
                     if "title_id" in e["properties"]}
        titles = self.titles.get_many(self.store.get_many, title_ids)
        self.store.update_many("state", {
            profile_id: (lambda old, evs=evs: apply_events(old, evs, titles))
            for profile_id, evs in by_profile.items()
        })

    def _update_bandits(self, events: list[dict]) -> None:
        counts: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
        for event in events:
            if event["event_type"] not in ("impression", "click"):
                continue
            decision = decode_decision(event["properties"]["request_id"])
            if decision is None:
                continue
            bandit = self.experiments.bandit(decision[0])
            if bandit is None or bandit.arm(decision[1]) is None:
                continue
            kind = "impressions" if event["event_type"] == "impression" else "clicks"
            counts[bandit.id][decision[1]][kind] += 1
        for bandit_id, arms in counts.items():
            self.store.update("bandit", bandit_id, lambda old, arms=arms: _add_counts(old, arms))


def _add_counts(old: dict | None, arms: dict) -> dict:
    totals = {name: dict(c) for name, c in ((old or {}).get("arms") or {}).items()}
    for name, delta in arms.items():
        current = totals.setdefault(name, {"impressions": 0, "clicks": 0})
        for kind, n in delta.items():
            current[kind] = current.get(kind, 0) + n
    return {"arms": totals, "updated_at": time.time()}


def _text(raw) -> str:
    """The JSON text to land for a record (already text, or re-serialized from the parsed body)."""
    return raw if isinstance(raw, str) else orjson.dumps(raw).decode()
