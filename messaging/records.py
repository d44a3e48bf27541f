"""What the messaging state is made of, whatever holds it (SQLite by default, DynamoDB on AWS): the record
shapes, the timestamp format, the lease, and the `MessagingState` protocol both backends implement
(`messaging.ledger.Ledger`, `messaging.dynamodb.DynamoLedger`). Callers (runner, triggers, contacts, inbox,
feedback, export, collector hook) use only this protocol, never a backend's SQL or items."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

LEASE_S = 300.0  # a runner that has not finished a claimed message in 5 minutes is presumed dead
COUNTING_STATUSES = ("queued", "sending", "sent", "delivered")  # toward caps
OPEN_STATUSES = ("queued", "sending")  # a runner may still act on them
UNKNOWN_OUTCOME = "delivery outcome unknown: the runner stopped during the provider call"

# one message (ledger row): name -> kind ("text", "int", "real", "json"); the SQLite columns, the DynamoDB
# item attributes and the lake snapshot (export.LEDGER_COLUMNS) all follow this order
MESSAGE_FIELDS: dict[str, str] = {
    "message_id": "text", "campaign_id": "text", "profile_id": "text", "period": "text",
    "grp": "text",            # treated | holdout | control
    "channel": "text",
    "status": "text",         # queued | sending | sent | delivered | failed | canceled | holdout | control
    "reason": "text", "is_held": "int", "decided_at": "text", "send_at": "text", "sent_at": "text",
    "delivered_at": "text", "attempts": "int", "owner": "text", "lease_until": "real",
    "context": "json",        # the profile's real event context, for message events
}
TRIGGER_FIELDS = ("trigger_id", "campaign_id", "profile_id", "subject", "fired_at", "due_at", "status", "context")
OUTBOX_FIELDS = ("message_id", "channel", "profile_id", "address", "subject", "body", "headers", "written_at")
INBOX_FIELDS = ("message_id", "profile_id", "subject", "body", "written_at", "delivered_at")
LOCAL_KINDS = {"outbox": OUTBOX_FIELDS, "inbox": INBOX_FIELDS}  # what local delivery adapters write
CHANNELS = ("email", "push", "in_app")
CONTACT_CHANNELS = ("email", "push")


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def new_owner() -> str:
    return f"run-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Claim:
    message_id: str
    campaign_id: str
    profile_id: str
    period: str
    grp: str
    channel: str | None
    status: str
    reason: str
    is_held: bool
    decided_at: datetime
    send_at: datetime | None
    context: dict


@dataclass(frozen=True)
class LocalWrite:
    """One local delivery: the message row it settles, the record its adapter writes (`kind`: outbox or
    inbox, fields of LOCAL_KINDS[kind]) and the `message_sent` event, committed together."""

    message_id: str
    kind: str
    record: dict
    event: dict


class MessagingState(Protocol):
    """The ledger, local outbox/inbox, contact store, consents, suppressions, trigger queue and pending
    message events. Guarantees (docs/messaging.md "Exactly once") hold for every implementation."""

    # claims and their life
    def claim(self, claims: Iterable[Claim], owner: str) -> set[str]: ...
    def existing(self, message_ids: Iterable[str], campaign_id: str | None = None) -> set[str]: ...
    def take_due(self, now: datetime, owner: str, limit: int = 50_000, after: tuple[str, str] = ("", "")
                 ) -> list[dict]: ...
    def rows(self, message_ids: Iterable[str]) -> list[dict]: ...
    def close_interrupted(self) -> int: ...
    def mark_sending(self, message_id: str, owner: str) -> bool: ...
    def finish(self, message_id: str, owner: str, status: str, at: datetime, reason: str = "",
               events: list[dict] = ()) -> bool: ...
    def deliver_local(self, writes: list[LocalWrite], owner: str, at: datetime) -> set[str]: ...
    def all_history(self, since: datetime) -> dict[str, list[tuple[str, datetime]]]: ...
    def snapshot(self, columns: Iterable[str] | None = None) -> list[dict]: ...
    # events waiting for the lake
    def add_events(self, events: list[dict]) -> None: ...
    def pending_events(self) -> list[tuple[str, str]]: ...
    def mark_exported(self, event_ids: list[str]) -> None: ...
    # contacts, consents, suppressions
    def record_contacts(self, rows: list[tuple[str, str, str, str, datetime]]) -> None: ...
    def contacts_for(self, profile_ids: Iterable[str]) -> dict[str, dict[str, str]]: ...
    def suppress(self, hashed: str, reason: str, at: datetime) -> None: ...
    def set_consent(self, profile_id: str, channel: str, granted: bool, at: datetime) -> None: ...
    def consents_for(self, profile_ids: Iterable[str]) -> dict[str, dict[str, bool]]: ...
    # the delayed trigger queue (rows are dicts of TRIGGER_FIELDS)
    def write_triggers(self, starts: list[dict], exits: list[tuple[str, str]]) -> tuple[int, int]: ...
    def due_triggers(self, campaign_id: str, at: datetime) -> list[dict]: ...
    def consume_triggers(self, triggers: list[dict]) -> int: ...
    # app-facing routes and provider feedback
    def fetch_inbox(self, profile_id: str, at: datetime, limit: int,
                    delivered_event: Callable[[dict], dict]) -> list[dict]: ...
    def record_feedback(self, message_id: str, kind: str, at: datetime, reason: str,
                        event: Callable[[dict], dict | None]) -> dict | None: ...
    def local_records(self, kind: str) -> list[dict]: ...
    def close(self) -> None: ...
