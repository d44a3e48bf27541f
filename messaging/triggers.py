"""Event and catalog triggers: a durable delayed queue (in the messaging state: the ledger's SQLite file, or
the DynamoDB messaging table on AWS) that the scheduled runner drains.

The collector calls `TriggerIndex.on_events` with accepted events: an event whose type starts a campaign
enqueues (campaign, profile, subject) due after the campaign's delay — once per subject, so a second new
episode is a second message but a repeated play_stop of the same title is not; an event whose type is one
of a campaign's exit events cancels that profile's waiting trigger for the same subject if the exit happened
after the trigger. A catalog update (`streamloop ingest --catalog`, through `messaging.service.catalog_hook`)
enqueues one trigger per new episode for every profile (`*`) that the runner expands to the series' bingers.
The subject is the title (or episode) id.

A trigger stays `pending` until the run that read it has claimed its messages in the ledger (or decided not
to send them): a run that fails in between leaves it to the next run, and the ledger's claim keeps a
message that was already claimed from going out twice.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from messaging.campaigns import Campaign
from messaging.records import MessagingState, iso
from streamloop.core.contract.validate import parse_timestamp

# an episode that reaches the catalog more than a week after its release is back catalog (a first load, a
# re-sent dump), not a new episode worth a message
NEW_EPISODE_DAYS = 7


def trigger_id(campaign_id: str, profile_id: str, subject: str) -> str:
    return hashlib.sha256(f"{campaign_id}\x1f{profile_id}\x1f{subject}".encode()).hexdigest()[:32]


class TriggerQueue:
    """The queue's rules (ids, due times, re-arming) over whichever MessagingState holds it."""

    def __init__(self, ledger: MessagingState):
        self.ledger = ledger

    def apply(self, starts: list, exits: list) -> tuple[int, int]:
        """`cancel(exits)` and `enqueue(starts)` in one write (the collector calls this per batch);
        returns (enqueued, canceled). Within a batch starts and exits concern different keys."""
        return self.ledger.write_triggers(self._starts(starts), self._exits(exits))

    def enqueue(self, rows: Iterable[tuple[Campaign, str, str, datetime, dict]]) -> int:
        """(campaign, profile_id, subject, fired_at, context) → pending triggers; returns how many were new.
        A canceled trigger is re-armed by a newer start (stopped again after resuming); the ledger's message
        id (campaign, profile, subject) still allows one message per subject."""
        return self.ledger.write_triggers(self._starts(rows), [])[0]

    def cancel(self, rows: Iterable[tuple[str, str, str, datetime]]) -> int:
        """(campaign_id, profile_id, subject, exit_at): cancels a pending trigger fired before the exit."""
        return self.ledger.write_triggers([], self._exits(rows))[1]

    @staticmethod
    def _starts(rows) -> list[dict]:
        return [{"trigger_id": trigger_id(c.id, p, s), "campaign_id": c.id, "profile_id": p, "subject": s,
                 "fired_at": iso(t), "due_at": iso(t + timedelta(minutes=c.trigger.delay_minutes)),
                 "status": "pending", "context": ctx} for c, p, s, t, ctx in rows]

    @staticmethod
    def _exits(rows) -> list[tuple[str, str]]:
        return [(trigger_id(c, p, s), iso(at)) for c, p, s, at in rows]

    def due(self, campaign_id: str, at: datetime) -> list[dict]:
        """Pending triggers of the campaign due at `at`. Reading takes nothing: `consume` does, once the run
        has claimed (or decided against) their messages."""
        return self.ledger.due_triggers(campaign_id, at)

    def consume(self, triggers: list[dict]) -> int:
        """Marks triggers read by `due` as done. Only the version that was read: a trigger canceled or
        re-armed since (a newer due time) stays as it is now."""
        return self.ledger.consume_triggers(triggers) if triggers else 0


class TriggerIndex:
    """Which event types start or stop which campaigns; built once from the loaded campaigns."""

    def __init__(self, campaigns: Iterable[Campaign]):
        self.starts: dict[str, list[Campaign]] = {}
        self.exits: dict[str, list[Campaign]] = {}
        self.catalog: list[Campaign] = []
        for campaign in campaigns:
            trigger = campaign.trigger
            if trigger.event:
                self.starts.setdefault(trigger.event, []).append(campaign)
                for exit_type in trigger.exit_events:
                    self.exits.setdefault(exit_type, []).append(campaign)
            elif trigger.catalog:
                self.catalog.append(campaign)
        self.types = frozenset(self.starts) | frozenset(self.exits)

    def on_events(self, events: Iterable[dict], queue: TriggerQueue) -> tuple[int, int]:
        """Enqueues and cancels for a batch of accepted events; returns (enqueued, canceled)."""
        latest: dict[tuple[str, str, str], tuple[datetime, str, Campaign]] = {}
        for event in events:
            event_type = event.get("event_type")
            if event_type not in self.types or not event.get("profile_id"):
                continue  # the common case costs one set lookup
            subject = (event.get("properties") or {}).get("title_id")
            at = parse_timestamp(event.get("occurred_at"))
            if subject is None or at is None:
                continue
            at = at.astimezone(UTC)
            for kind, campaigns in (("start", self.starts.get(event_type, ())), ("exit", self.exits.get(event_type, ()))):
                for campaign in campaigns:
                    key = (campaign.id, event["profile_id"], subject)
                    if key not in latest or latest[key][0] <= at:  # the latest event of the batch decides
                        latest[key] = (at, kind, campaign)
        starts = [(c, p, s, at, {"title_id": s}) for (_, p, s), (at, kind, c) in latest.items() if kind == "start"]
        exits = [(cid, p, s, at) for (cid, p, s), (at, kind, _) in latest.items() if kind == "exit"]
        return queue.apply(starts, exits)

    def on_catalog(self, records: Iterable[dict], queue: TriggerQueue, at: datetime) -> int:
        """New episodes: one trigger per episode and catalog campaign, due at its release (at `at` if already
        out) and expanded to the series' bingers when due; returns how many were new. An episode released
        more than NEW_EPISODE_DAYS before `at`, or without a release date, is back catalog, not news: loading
        a whole catalog (or sending the same dump again) never messages anyone about old episodes."""
        if not self.catalog:
            return 0
        at = at.astimezone(UTC)
        rows = []
        for record in records:
            if record.get("kind") != "episode" or not record.get("series_id"):
                continue
            released = release_instant(record.get("release_date"))
            if released is None or released < at - timedelta(days=NEW_EPISODE_DAYS):
                continue
            context = {"title_id": record["title_id"], "series_id": record["series_id"],
                       "name": record.get("name", record["title_id"])}
            rows += [(campaign, "*", record["title_id"], max(at, released), context) for campaign in self.catalog]
        return queue.enqueue(rows)


def release_instant(value) -> datetime | None:
    """A catalog `release_date` (YYYY-MM-DD) as 00:00 UTC of that day; None when absent or unreadable."""
    try:
        return datetime.combine(date.fromisoformat(value), time(), UTC) if isinstance(value, str) else None
    except ValueError:
        return None
