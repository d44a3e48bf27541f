"""The embedded default for email and push: the local outbox (what a provider would have received)."""
from __future__ import annotations

import orjson

from messaging.delivery import Delivery, OutgoingMessage


class LocalOutbox(Delivery):
    local = True
    kind = "outbox"

    def record(self, message: OutgoingMessage, written_at: str) -> dict:
        return {"message_id": message.message_id, "channel": message.channel, "profile_id": message.profile_id,
                "address": message.address, "subject": message.subject, "body": message.body,
                "headers": orjson.dumps(message.headers).decode(), "written_at": written_at}
