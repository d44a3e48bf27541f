"""The embedded default for email and push: the local outbox table (what a provider would have received)."""
from __future__ import annotations

from datetime import UTC, datetime

import orjson

from messaging.delivery import Delivery, OutgoingMessage


class LocalOutbox(Delivery):
    local = True

    def deliver(self, message: OutgoingMessage, con=None) -> None:
        con.execute("insert into outbox values (?, ?, ?, ?, ?, ?, ?, ?)",
                    (message.message_id, message.channel, message.profile_id, message.address, message.subject,
                     message.body, orjson.dumps(message.headers).decode(),
                     datetime.now(UTC).isoformat(timespec="seconds")))
