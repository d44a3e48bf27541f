"""Delivery adapters: where a claimed message goes. Local ones (outbox, in-app inbox) hand the messaging
state a record to write with the message's status and event in one write (`MessagingState.deliver_local`:
a SQLite transaction, or one DynamoDB transaction per message), so message and status commit together; external ones (SES, SNS) are called after
the ledger marks the message `sending` and are retried with backoff (tenacity) before ending `failed`."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str
    campaign_id: str
    profile_id: str
    channel: str
    address: str | None
    subject: str
    body: str
    headers: dict = field(default_factory=dict)


class DeliveryError(Exception):
    """The provider refused or failed; `retryable` says whether trying again may help."""

    def __init__(self, reason: str, retryable: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Delivery:
    local = False  # True: the adapter names a `kind` (messaging.records.LOCAL_KINDS) and builds its `record`
    kind = ""

    def deliver(self, message: OutgoingMessage, con=None) -> None:
        """External adapters: call the provider (raise DeliveryError when it refuses or fails)."""
        raise NotImplementedError

    def record(self, message: OutgoingMessage, written_at: str) -> dict:
        """Local adapters: the `kind` record the messaging state writes with the message's status."""
        raise NotImplementedError
