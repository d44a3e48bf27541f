"""In-app messages: kept in the inbox until the app fetches them (GET /v1/profiles/{id}/messages)."""
from __future__ import annotations

from datetime import UTC, datetime

from messaging.delivery import Delivery, OutgoingMessage


class InAppInbox(Delivery):
    local = True

    def deliver(self, message: OutgoingMessage, con=None) -> None:
        self.deliver_many([message], con)

    def deliver_many(self, messages: list[OutgoingMessage], con=None) -> None:
        written = datetime.now(UTC).isoformat(timespec="seconds")
        con.executemany("insert into inbox (message_id, profile_id, subject, body, written_at) values (?, ?, ?, ?, ?)",
                        [(m.message_id, m.profile_id, m.subject, m.body, written) for m in messages])
