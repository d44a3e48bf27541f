"""What the collector hands to messaging for each accepted batch (functions/collector.py calls it):

- `redact`: before landing, a `contact_updated` event's address goes to the contact store and the copy
  that lands in the lake carries `hmac-sha256:<hex>` instead (rejected events are redacted too);
- `on_accepted`: after landing, event triggers are enqueued or canceled (messaging/triggers.py) and
  `consent_updated` changes are recorded, so the next campaign run sees them before any warehouse build.
The common case (no contact, consent or trigger event in the batch) costs one set lookup per event.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

import orjson

from messaging import contacts
from messaging.campaigns import load_campaign
from messaging.ledger import Ledger
from messaging.records import MessagingState
from messaging.triggers import TriggerIndex, TriggerQueue
from streamloop.core.contract.validate import parse_timestamp

CONTACT, CONSENT = "contact_updated", "consent_updated"


class MessagingHook:
    def __init__(self, ledger_path, campaigns_dir, contact_secret: str,
                 open_ledger: Callable[[], MessagingState] | None = None):
        self.ledger_path = ledger_path
        self._open = open_ledger or (lambda: Ledger(self.ledger_path))  # DynamoDB on AWS (messaging.service)
        self.contact_secret = contact_secret
        campaigns = []
        for path in sorted(campaigns_dir.glob("*.yml")) if campaigns_dir.is_dir() else []:
            try:
                campaigns.append(load_campaign(path))
            except ValueError:
                continue  # `campaigns validate` and the runner report broken files; collection goes on
        self.triggers = TriggerIndex(campaigns)
        self.interesting = self.triggers.types | {CONTACT, CONSENT}
        self._ledger = None

    @property
    def ledger(self) -> MessagingState:
        if self._ledger is None:
            self._ledger = self._open()
        return self._ledger

    def redact(self, events: list, raws: list[str], store: bool = True) -> list[str]:
        """The texts to land: contact addresses replaced by their keyed hash (and, for accepted events,
        `store`, kept in the contact store)."""
        if not any(isinstance(e, dict) and e.get("event_type") == CONTACT for e in events):
            return raws
        out = list(raws)
        found = []
        for i, event in enumerate(events):
            if not isinstance(event, dict) or event.get("event_type") != CONTACT:
                continue
            props = event.get("properties")
            address = props.get("address") if isinstance(props, dict) else None
            if not isinstance(address, str) or not address:
                continue
            at = parse_timestamp(event.get("occurred_at"))
            if store and event.get("profile_id") and props.get("channel") in ("email", "push") and at is not None:
                found.append((event["profile_id"], props["channel"], address, at.astimezone(UTC)))
            redacted = {**event, "properties": {**props, "address": "hmac-sha256:" + contacts.address_hash(
                self.contact_secret, address)}}
            out[i] = orjson.dumps(redacted).decode()
        if found:  # one transaction per batch, before the hashed copies land
            contacts.record_contacts(self.ledger, found, self.contact_secret)
        return out

    def on_accepted(self, events: list[dict]) -> None:
        if not any(e.get("event_type") in self.interesting for e in events):
            return
        for event in events:
            if event.get("event_type") == CONSENT and event.get("profile_id"):
                props = event.get("properties") or {}
                at = parse_timestamp(event.get("occurred_at"))
                if props.get("channel") and at is not None:
                    contacts.set_consent(self.ledger, event["profile_id"], props["channel"], bool(props["granted"]),
                                         at.astimezone(UTC))
        if self.triggers.types:
            self.triggers.on_events(events, TriggerQueue(self.ledger))
