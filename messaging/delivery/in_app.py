"""In-app messages: kept in the inbox until the app fetches them (GET /v1/profiles/{id}/messages)."""
from __future__ import annotations

from messaging.delivery import Delivery, OutgoingMessage


class InAppInbox(Delivery):
    local = True
    kind = "inbox"

    def record(self, message: OutgoingMessage, written_at: str) -> dict:
        return {"message_id": message.message_id, "profile_id": message.profile_id, "subject": message.subject,
                "body": message.body, "written_at": written_at, "delivered_at": None}
