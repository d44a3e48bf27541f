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

from messaging.ledger import Ledger, iso

_CHUNK = 500
SCAN_ABOVE = 5_000  # past this many ids, one scan of the table beats thousands of IN (...) queries


def address_hash(secret: str, address: str) -> str:
    return hmac.new(secret.encode(), address.strip().lower().encode(), hashlib.sha256).hexdigest()


def record_contact(ledger: Ledger, profile_id: str, channel: str, address: str, at: datetime, secret: str) -> None:
    record_contacts(ledger, [(profile_id, channel, address, at)], secret)


def record_contacts(ledger: Ledger, rows: list[tuple[str, str, str, datetime]], secret: str) -> None:
    """(profile_id, channel, address, at) rows in one transaction; a newer address wins."""
    with ledger.transaction() as con:
        con.executemany("insert into contacts values (?, ?, ?, ?, ?) on conflict (profile_id, channel) do update "
                        "set address = excluded.address, address_hash = excluded.address_hash, "
                        "updated_at = excluded.updated_at where excluded.updated_at >= contacts.updated_at",
                        [(p, c, a.strip(), address_hash(secret, a), iso(t)) for p, c, a, t in rows])


def contacts_for(ledger: Ledger, profile_ids: Iterable[str]) -> dict[str, dict[str, str]]:
    """profile -> {channel: address} of deliverable (not suppressed) addresses."""
    ids = list(profile_ids)
    out: dict[str, dict[str, str]] = {}
    con = ledger._con()
    if len(ids) > SCAN_ABOVE:
        wanted = set(ids)
        for profile_id, channel, address in con.execute(
                "select c.profile_id, c.channel, c.address from contacts c left join suppressions s "
                "on c.address_hash = s.address_hash where s.address_hash is null"):
            if profile_id in wanted:
                out.setdefault(profile_id, {})[channel] = address
        return out
    for i in range(0, len(ids), _CHUNK):
        part = ids[i:i + _CHUNK]
        for profile_id, channel, address in con.execute(
                "select c.profile_id, c.channel, c.address from contacts c left join suppressions s "
                f"on c.address_hash = s.address_hash where s.address_hash is null "
                f"and c.profile_id in ({','.join('?' * len(part))})", part):
            out.setdefault(profile_id, {})[channel] = address
    return out


def suppress(ledger: Ledger, hashed: str, reason: str, at: datetime) -> None:
    with ledger.transaction() as con:
        con.execute("insert or replace into suppressions values (?, ?, ?)", (hashed, reason, iso(at)))


def set_consent(ledger: Ledger, profile_id: str, channel: str, granted: bool, at: datetime) -> None:
    with ledger.transaction() as con:
        con.execute("insert into consents values (?, ?, ?, ?) on conflict (profile_id, channel) do update set "
                    "granted = excluded.granted, at = excluded.at where excluded.at >= consents.at",
                    (profile_id, channel, int(granted), iso(at)))


def consents_for(ledger: Ledger, profile_ids: Iterable[str]) -> dict[str, dict[str, bool]]:
    """Consent changes recorded since the mart was built (unsubscribe route, collector): they win."""
    ids = list(profile_ids)
    out: dict[str, dict[str, bool]] = {}
    con = ledger._con()
    if len(ids) > SCAN_ABOVE:
        wanted = set(ids)
        for profile_id, channel, granted in con.execute("select profile_id, channel, granted from consents"):
            if profile_id in wanted:
                out.setdefault(profile_id, {})[channel] = bool(granted)
        return out
    for i in range(0, len(ids), _CHUNK):
        part = ids[i:i + _CHUNK]
        for profile_id, channel, granted in con.execute(
                f"select profile_id, channel, granted from consents where profile_id in ({','.join('?' * len(part))})",
                part):
            out.setdefault(profile_id, {})[channel] = bool(granted)
    return out


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
