"""In-app messages: kept in the inbox until the app fetches them (GET /v1/profiles/{id}/messages)."""
from __future__ import annotations

from datetime import UTC, datetime

from messaging.delivery import Delivery, OutgoingMessage


class InAppInbox(Delivery):
    local = True

    def deliver(self, message: OutgoingMessage, con=None) -> None:
        con.execute("insert into inbox (message_id, profile_id, subject, body, written_at) values (?, ?, ?, ?, ?)",
                    (message.message_id, message.profile_id, message.subject, message.body,
                     datetime.now(UTC).isoformat(timespec="seconds")))
