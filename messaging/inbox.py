"""What the app-facing routes do with the ledger: hand out pending in-app messages (marking them delivered
in the same transaction, so a message is handed out once), and one-click unsubscribes (RFC 8058)."""
from __future__ import annotations

from datetime import datetime

from messaging import contacts
from messaging.events import message_event
from messaging.ledger import Ledger, iso


def fetch_pending(ledger: Ledger, profile_id: str, at: datetime, limit: int = 20) -> list[dict]:
    """Pending in-app messages of the profile, oldest first; each is marked delivered (and a
    `message_delivered` event queued for the lake) in the transaction that returns it."""
    with ledger.transaction() as con:
        rows = con.execute(
            "select i.message_id, m.campaign_id, i.subject, i.body, m.sent_at from inbox i "
            "inner join messages m on m.message_id = i.message_id "
            "where i.profile_id = ? and i.delivered_at is null order by i.written_at, i.message_id limit ?",
            (profile_id, limit)).fetchall()
        if not rows:
            return []
        ids = [r[0] for r in rows]
        con.executemany("update inbox set delivered_at = ? where message_id = ?", [(iso(at), m) for m in ids])
        con.executemany("update messages set status = 'delivered', delivered_at = ? where message_id = ?",
                        [(iso(at), m) for m in ids])
        ledger.add_events([message_event("message_delivered", row, at) for row in _ledger_rows(con, ids)], con)
    return [{"message_id": r[0], "campaign_id": r[1], "subject": r[2], "body": r[3], "sent_at": r[4]} for r in rows]


def unsubscribe(ledger: Ledger, secret: str, token: str, at: datetime) -> dict | None:
    """Honours a signed one-click unsubscribe token: the channel's consent is withdrawn at once (the next
    run sees it, before any warehouse build) and a `message_unsubscribed` event is queued. None: bad token."""
    parsed = contacts.read_unsubscribe_token(secret, token)
    if parsed is None:
        return None
    profile_id, channel, message_id = parsed
    contacts.set_consent(ledger, profile_id, channel, False, at)
    with ledger.transaction() as con:
        rows = _ledger_rows(con, [message_id])
        if rows:
            ledger.add_events([message_event("message_unsubscribed", rows[0], at)], con)
    return {"profile_id": profile_id, "channel": channel, "message_id": message_id}


def _ledger_rows(con, message_ids: list[str]) -> list[dict]:
    import orjson

    marks = ",".join("?" * len(message_ids))
    return [{"message_id": r[0], "campaign_id": r[1], "profile_id": r[2], "channel": r[3],
             "context": orjson.loads(r[4] or "{}")}
            for r in con.execute(f"select message_id, campaign_id, profile_id, channel, context from messages "
                                 f"where message_id in ({marks})", message_ids)]
