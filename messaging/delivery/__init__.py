"""Delivery adapters: where a claimed message goes. Local ones (outbox, in-app inbox) write into the ledger's
own SQLite transaction, so message and status commit together; external ones (SES, SNS) are called after
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
    local = False  # True: `deliver` writes with the ledger connection `con` inside its transaction

    def deliver(self, message: OutgoingMessage, con=None) -> None:
        raise NotImplementedError

    def deliver_many(self, messages: list[OutgoingMessage], con=None) -> None:
        """Local adapters write a batch at once inside the ledger transaction `con`."""
        for message in messages:
            self.deliver(message, con)
