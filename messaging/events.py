"""Message events as contract events (CONTRACT §2): `message_sent`, `message_delivered`, `message_opened`,
`message_clicked`, `message_unsubscribed`, each carrying the profile's real latest context (device,
country, device type, app, time zone from messaging_profiles), never placeholders. The event id is derived
from the message id and the type, so re-exporting an event never duplicates it in the warehouse."""
from __future__ import annotations

from datetime import UTC, datetime

MESSAGE_EVENT_TYPES = ("message_sent", "message_delivered", "message_opened", "message_clicked",
                       "message_unsubscribed")


def message_event(event_type: str, message: dict, at: datetime) -> dict:
    """`message` is a ledger row (message_id, campaign_id, profile_id, channel, context)."""
    if event_type not in MESSAGE_EVENT_TYPES:
        raise ValueError(f"not a message event type: {event_type}")
    stored = message.get("context") or {}
    context = {k: v for k, v in (stored.get("context") or {}).items() if v is not None}
    return {
        "event_id": f"{message['message_id']}:{event_type.removeprefix('message_')}",
        "event_type": event_type,
        "occurred_at": at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "device_id": stored.get("device_id"),
        "profile_id": message["profile_id"],
        "account_id": stored.get("account_id"),
        "context": context,
        "properties": {"campaign_id": message["campaign_id"], "message_id": message["message_id"],
                       "channel": message["channel"]},
        "schema_version": 1,
    }
