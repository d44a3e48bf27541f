"""The event collector behind POST /v1/events and /v1/segment/batch: validate, land, claim, update state.

Order of operations, and why (CONTRACT §2: nothing lost, counts reconcile, a retry never duplicates):
1. validate every record against the contract; failures are kept with reasons naming the field, and
   Segment messages the product does not use are kept as `ignored`;
2. land the request in the raw lake under one batch id derived from its content and received date:
   valid events (the first copy of each id), rejects and ignored messages, each at its position in the
   request. Landing returns once durable (fsync / S3). A retry of the same request rewrites the same
   files, so a crash at any point of the landing duplicates nothing;
3. only then claim each valid id in the store's `seen` namespace (atomic add-if-absent): an id already
   claimed is counted as a duplicate. Events are durable before they are claimed, so no failure needs a
   claim undone: a crash after landing leaves unclaimed events the retry claims; a crash after claiming
   leaves events the warehouse has and the retry reports as duplicates. Events landed by a request whose
   ids turn out to be duplicates are removed by the warehouse's de-duplication on event_id;
4. update real-time state (`state`) and bandit counts (`bandit`) from the newly claimed events. A failure
   here is reported in the response and the log rather than failing the request (a retry would be a
   duplicate and could not repair it).
"""
from __future__ import annotations

import logging
import sqlite3
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
from streamloop.core.store.values import BanditValue

log = logging.getLogger("streamloop.collector")


class LandingError(StreamloopError):
    """The raw lake could not be written; nothing from the request was accepted."""


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)
    ignored: int | None = None  # Segment batches only: messages acknowledged but not collected
    suppressed: int = 0  # events of people who asked to be forgotten: dropped, never landed
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        body = {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}
        if self.ignored is not None:
            body["ignored"] = self.ignored
        if self.suppressed:
            body["suppressed"] = self.suppressed
        if self.warnings:
            body["warnings"] = self.warnings
        return body


class Collector:
    def __init__(self, store_factory: Callable[[], OnlineStore], lake_root: str, titles: TitleCache,
                 experiments: Experiments, messaging=None, landing=None, privacy=None):
        self._store_factory = store_factory
        self.privacy = privacy  # streamloop.core.privacy.edge.EdgePrivacy: forgotten people, personal context
        self.messaging = messaging  # messaging.collector_hook.MessagingHook: contacts, consent, triggers
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
               mapping_errors: dict[int, list[str]] | None = None, claim: bool = True,
               ignored: dict[int, str] | None = None, landed: list | None = None) -> IngestResult:
        """Processes one request's records (see the module docstring for the order and why).

        `raws` are the records' texts as sent (default: the events, serialized); `mapping_errors`
        (index -> reasons found before the contract check, e.g. unparseable or unmappable records) and
        `ignored` (index -> why a Segment message is not collected) serve translated inputs, with
        `landed` (default `raws`) the text landed for an accepted event (Segment: the translated event).
        `claim=False` skips the `seen` claims, for server-made events whose ids are unique by
        construction (experiment exposures): their landing needs the store only for the suppression check."""
        received_at = datetime.now(UTC)  # lake time is the wall clock (streamloop.core.clock)
        result = IngestResult(ignored=None if ignored is None else len(ignored))
        raws = raws if raws is not None else [_text(e) for e in events]
        landed = landed if landed is not None else raws
        mapping_errors = mapping_errors or {}
        ignored = ignored or {}
        # forgotten people's events never land (docs/privacy.md); checked first, so a suppressed record
        # counts once, as suppressed, never also as a duplicate or a reject
        gone = self.privacy.suppressed(self.store, events) if self.privacy is not None else set()
        result.suppressed = len(gone)
        valid: dict[str, int] = {}  # event_id -> index of its first valid occurrence
        rejects: list[tuple[int, str, str]] = []
        for index, event in enumerate(events):
            if index in ignored or index in gone:
                continue
            errors = mapping_errors.get(index) or validate_event(event, received_at)
            if errors:
                event_id = event.get("event_id") if isinstance(event, dict) else None
                result.rejected.append({"index": index, "event_id": event_id if isinstance(event_id, str) else None,
                                        "errors": errors})
                rejects.append((index, _text(raws[index]), "; ".join(errors)))
            elif event["event_id"] in valid:
                result.duplicates += 1
            else:
                valid[event["event_id"]] = index
        landed_texts = {index: _text(landed[index]) for index in valid.values()}
        as_validated = dict(landed_texts)  # the texts the events were parsed from, before any rewrite
        ignored_texts = [(index, _text(raws[index]), reason) for index, reason in sorted(ignored.items())]
        if self.privacy is not None:  # personal context (ip, user agent) never lands, whatever the record's fate
            landed_texts = {index: self.privacy.minimized_text(events[index], text)
                            for index, text in landed_texts.items()}
            rejects = [(index, self.privacy.minimized_raw(text), reason) for index, text, reason in rejects]
            ignored_texts = [(index, self.privacy.minimized_raw(text), reason) for index, text, reason in ignored_texts]
        if self.messaging is not None:  # contact addresses never land raw (messaging/collector_hook.py)
            indexes = list(landed_texts)
            try:  # stores the addresses first: nothing has landed or been claimed yet, a retry is safe
                redacted = self.messaging.redact([events[i] for i in indexes], list(landed_texts.values()))
            except (sqlite3.Error, OSError) as exc:
                log.exception("the messaging store could not keep contact addresses; nothing was landed")
                raise LandingError(f"could not store contact addresses: {type(exc).__name__}") from exc
            landed_texts = dict(zip(indexes, redacted, strict=True))
            texts = self.messaging.redact([events[i] for i, _, _ in rejects], [text for _, text, _ in rejects],
                                          store=False)
            rejects = [(i, text, reason) for (i, _, reason), text in zip(rejects, texts, strict=True)]
        from streamloop.core.lake import SUPPRESSED_RAW

        batch = {
            "events": [(index, text, None) for index, text in landed_texts.items()],
            "rejected": rejects,
            "ignored": ignored_texts,
            # a row per dropped record, its text left out: ingestion_reconciliation counts them
            "suppressed": [(index, SUPPRESSED_RAW, None) for index in sorted(gone)],
        }
        # the lake types what it lands; an event whose text was not rewritten is the one just validated
        validated = {index: events[index] for index, text in landed_texts.items() if text is as_validated[index]}
        try:
            self._land(source, received_at, raws, batch, validated)
        except Exception as exc:
            log.exception("landing failed; nothing was claimed")
            raise LandingError(f"could not land events in the lake: {type(exc).__name__}") from exc
        if not claim:
            claimed = set(valid)
        elif valid:
            claimed = self.store.add_many_if_absent("seen", dict.fromkeys(valid, int(received_at.timestamp())))
        else:
            claimed = set()
        result.duplicates += len(valid) - len(claimed)
        result.accepted = len(claimed)
        accepted_events = [events[index] for event_id, index in valid.items() if event_id in claimed]
        for step, fn in (("real-time state", self._update_state), ("bandit counts", self._update_bandits)):
            try:
                fn(accepted_events)
            except StoreError as exc:
                log.error("collector could not update %s: %s", step, exc)
                result.warnings.append(f"{step} not updated: the online store failed")
        if self.messaging is not None:
            try:
                self.messaging.on_accepted(accepted_events)
            except (sqlite3.Error, OSError) as exc:
                log.error("collector could not update messaging triggers: %s", exc)
                result.warnings.append("messaging triggers and consent not updated: the messaging store failed")
        return result

    def _land(self, source: str, received_at: datetime, raws: list, batch: dict, validated: dict) -> None:
        if not any(batch.values()):
            return
        from streamloop.core.lake import new_batch_id

        # the same request on the same day is the same batch: a retry rewrites its files, never adds any
        batch_id = new_batch_id("collector", source, received_at.date().isoformat(), *map(_text, raws))
        self.lake().write_batch(batch, source=source, received_at=received_at, batch_id=batch_id, validated=validated)

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


def _add_counts(old: BanditValue | None, arms: dict) -> BanditValue:
    totals = {name: dict(c) for name, c in ((old or {}).get("arms") or {}).items()}
    for name, delta in arms.items():
        current = totals.setdefault(name, {"impressions": 0, "clicks": 0})
        for kind, n in delta.items():
            current[kind] = current.get(kind, 0) + n
    return {"arms": totals, "updated_at": time.time()}


def _text(raw) -> str:
    """The JSON text to land for a record (already text, or re-serialized from the parsed body)."""
    return raw if isinstance(raw, str) else orjson.dumps(raw).decode()
