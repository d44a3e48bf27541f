"""The embedded default for email and push: the local outbox table (what a provider would have received)."""
from __future__ import annotations

from datetime import UTC, datetime

import orjson

from messaging.delivery import Delivery, OutgoingMessage


class LocalOutbox(Delivery):
    local = True

    def deliver(self, message: OutgoingMessage, con=None) -> None:
        self.deliver_many([message], con)

    def deliver_many(self, messages: list[OutgoingMessage], con=None) -> None:
        written = datetime.now(UTC).isoformat(timespec="seconds")
        con.executemany("insert into outbox values (?, ?, ?, ?, ?, ?, ?, ?)",
                        [(m.message_id, m.channel, m.profile_id, m.address, m.subject, m.body,
                          orjson.dumps(m.headers).decode(), written) for m in messages])
