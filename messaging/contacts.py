"""The contact store (addresses from `contact_updated` events), suppressions (hard bounces, complaints),
consent changes seen after the last warehouse build, and signed one-click unsubscribe tokens.

Raw addresses live only here (the ledger's SQLite file or its DynamoDB table); the lake and the marts see
an HMAC of the address keyed by `messaging_contact_secret`, so they can count and join without holding it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime

from messaging.records import MessagingState


def address_hash(secret: str, address: str) -> str:
    return hmac.new(secret.encode(), address.strip().lower().encode(), hashlib.sha256).hexdigest()


def record_contact(ledger: MessagingState, profile_id: str, channel: str, address: str, at: datetime,
                   secret: str) -> None:
    record_contacts(ledger, [(profile_id, channel, address, at)], secret)


def record_contacts(ledger: MessagingState, rows: list[tuple[str, str, str, datetime]], secret: str) -> None:
    """(profile_id, channel, address, at) rows in one write; a newer address wins."""
    ledger.record_contacts([(p, c, a.strip(), address_hash(secret, a), t) for p, c, a, t in rows])


def contacts_for(ledger: MessagingState, profile_ids: Iterable[str]) -> dict[str, dict[str, str]]:
    """profile -> {channel: address} of deliverable (not suppressed) addresses."""
    return ledger.contacts_for(profile_ids)


def suppress(ledger: MessagingState, hashed: str, reason: str, at: datetime) -> None:
    ledger.suppress(hashed, reason, at)


def set_consent(ledger: MessagingState, profile_id: str, channel: str, granted: bool, at: datetime) -> None:
    ledger.set_consent(profile_id, channel, granted, at)


def consents_for(ledger: MessagingState, profile_ids: Iterable[str]) -> dict[str, dict[str, bool]]:
    """Consent changes recorded since the mart was built (unsubscribe route, collector): they win."""
    return ledger.consents_for(profile_ids)


# -- one-click unsubscribe tokens (RFC 8058) -------------------------------------------------------
def unsubscribe_token(secret: str, profile_id: str, channel: str, message_id: str) -> str:
    payload = f"{profile_id}\x1f{channel}\x1f{message_id}".encode()
    mac = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(mac)}"


def read_unsubscribe_token(secret: str, token: str) -> tuple[str, str, str] | None:
    """(profile_id, channel, message_id) if the token was signed with `secret`, else None."""
    try:
        payload_text, mac_text = token.split(".", 1)
        payload = _unb64(payload_text)
        mac = _unb64(mac_text)
    except (ValueError, TypeError):
        return None
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(mac, expected):
        return None
    parts = payload.decode(errors="replace").split("\x1f")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
