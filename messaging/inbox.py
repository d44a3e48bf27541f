"""What the app-facing routes do with the messaging state: hand out pending in-app messages (marking them
delivered in the same write, so a message is handed out once), and one-click unsubscribes (RFC 8058)."""
from __future__ import annotations

from datetime import datetime

from messaging import contacts
from messaging.events import message_event
from messaging.records import MessagingState


def fetch_pending(ledger: MessagingState, profile_id: str, at: datetime, limit: int = 20) -> list[dict]:
    """Pending in-app messages of the profile, oldest first; each is marked delivered (and a
    `message_delivered` event queued for the lake) in the write that returns it."""
    return ledger.fetch_inbox(profile_id, at, limit, lambda row: message_event("message_delivered", row, at))


def unsubscribe(ledger: MessagingState, secret: str, token: str, at: datetime) -> dict | None:
    """Honours a signed one-click unsubscribe token: the channel's consent is withdrawn at once (the next
    run sees it, before any warehouse build) and a `message_unsubscribed` event is queued. None: bad token."""
    parsed = contacts.read_unsubscribe_token(secret, token)
    if parsed is None:
        return None
    profile_id, channel, message_id = parsed
    contacts.set_consent(ledger, profile_id, channel, False, at)
    rows = ledger.rows([message_id])
    if rows:
        ledger.add_events([message_event("message_unsubscribed", rows[0], at)])
    return {"profile_id": profile_id, "channel": channel, "message_id": message_id}
