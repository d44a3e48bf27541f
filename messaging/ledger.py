"""The message ledger: one row per (campaign, profile, period) message id, claimed before any send.

SQLite (default, `settings.outbox_file`), WAL mode. Guarantees (docs/messaging.md "Exactly once"):
- a claim is `insert or ignore` on the message id: of any number of runners, exactly one inserts the row;
- a claimed row carries its runner (`owner`) and a lease on the wall clock; a row whose runner died before
  touching the provider is taken over by the next run once the lease has expired (nothing is lost);
- a row is marked `sending` (in its own commit) before an external provider is called; a `sending` row
  whose lease expired is closed as `failed` ("outcome unknown"), never sent again (nothing is sent twice);
- local deliveries (outbox, in-app inbox) write the message and its final status in one transaction.
The same file holds the local outbox, the in-app inbox, the contact store and the delayed trigger queue,
so those writes share a transaction with the ledger.
"""
from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

LEASE_S = 300.0  # a runner that has not finished a claimed message in 5 minutes is presumed dead
_CHUNK = 500

_SCHEMA = """
create table if not exists messages (
    message_id   text primary key,
    campaign_id  text not null,
    profile_id   text not null,
    period       text not null,
    grp          text not null,           -- treated | holdout | control
    channel      text,
    status       text not null,           -- queued | sending | sent | delivered | failed | canceled | holdout | control
    reason       text,
    is_held      integer not null default 0,
    decided_at   text not null,
    send_at      text,
    sent_at      text,
    delivered_at text,
    attempts     integer not null default 0,
    owner        text,
    lease_until  real,
    context      text                     -- the profile's real event context, for message events
);
create index if not exists messages_by_profile on messages (profile_id, send_at);
create index if not exists messages_due on messages (status, send_at);
create table if not exists outbox (
    message_id text primary key, channel text not null, profile_id text not null, address text,
    subject text not null, body text not null, headers text not null, written_at text not null
);
create table if not exists inbox (
    message_id text primary key, profile_id text not null, subject text not null, body text not null,
    written_at text not null, delivered_at text
);
create index if not exists inbox_pending on inbox (profile_id, delivered_at);
create table if not exists contacts (
    profile_id text not null, channel text not null, address text not null, address_hash text not null,
    updated_at text not null, primary key (profile_id, channel)
);
create table if not exists suppressions (address_hash text primary key, reason text not null, at text not null);
create table if not exists consents (
    profile_id text not null, channel text not null, granted integer not null, at text not null,
    primary key (profile_id, channel)
);
create table if not exists triggers (
    trigger_id text primary key, campaign_id text not null, profile_id text not null, subject text not null,
    fired_at text not null, due_at text not null, status text not null, context text
);
create index if not exists triggers_due on triggers (status, due_at);
create table if not exists message_events (event_id text primary key, body text not null, exported integer not null)
"""

COUNTING_STATUSES = ("queued", "sending", "sent", "delivered")  # toward caps


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass(frozen=True)
class Claim:
    message_id: str
    campaign_id: str
    profile_id: str
    period: str
    grp: str
    channel: str | None
    status: str
    reason: str
    is_held: bool
    decided_at: datetime
    send_at: datetime | None
    context: dict


class Ledger:
    def __init__(self, path: str | Path, busy_timeout_s: float = 30.0):
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._con()
        con.execute("pragma journal_mode=wal")
        con.executescript(_SCHEMA)

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout_s,
                                  check_same_thread=False)
            con.execute("pragma synchronous=normal")  # durable across process crashes in WAL mode
            con.execute("pragma cache_size=-131072")  # 128 MB: message ids are hashes, so inserts land anywhere
            self._local.con = con
        return con

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: one writer at a time, so read-check-write sequences are atomic."""
        con = self._con()
        con.execute("begin immediate")
        try:
            yield con
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("commit")

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # -- claims ------------------------------------------------------------------------------------
    def claim(self, claims: Iterable[Claim], owner: str) -> set[str]:
        """Inserts the rows that do not exist yet; returns the ids this call inserted (its claims)."""
        claims = list(claims)
        lease = time.time() + LEASE_S
        won: set[str] = set()
        for start in range(0, len(claims), 5000):
            chunk = claims[start:start + 5000]
            rows = [(c.message_id, c.campaign_id, c.profile_id, c.period, c.grp, c.channel, c.status, c.reason,
                     int(c.is_held), iso(c.decided_at), iso(c.send_at) if c.send_at else None, owner, lease,
                     orjson.dumps(c.context).decode()) for c in chunk]
            with self.transaction() as con:
                before = con.total_changes
                con.executemany(
                    "insert or ignore into messages (message_id, campaign_id, profile_id, period, grp, channel, "
                    "status, reason, is_held, decided_at, send_at, owner, lease_until, context) "
                    "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                if con.total_changes - before == len(rows):
                    won.update(c.message_id for c in chunk)
                else:
                    ids = [c.message_id for c in chunk]
                    for i in range(0, len(ids), _CHUNK):
                        part = ids[i:i + _CHUNK]
                        marks = ",".join("?" * len(part))
                        won.update(r[0] for r in con.execute(
                            f"select message_id from messages where owner = ? and lease_until = ? "
                            f"and message_id in ({marks})", [owner, lease, *part]))
                # held messages are nobody's work until their moment: any later run may deliver them
                con.execute("update messages set owner = null, lease_until = null where owner = ? and is_held = 1",
                            (owner,))
        return won

    def existing(self, message_ids: Iterable[str], campaign_id: str | None = None) -> set[str]:
        """Which of the ids are already in the ledger (with `campaign_id`, large sets scan that campaign)."""
        ids = list(message_ids)
        found: set[str] = set()
        con = self._con()
        if campaign_id is not None and len(ids) > 5_000:
            wanted = set(ids)
            return {r[0] for r in con.execute("select message_id from messages where campaign_id = ?",
                                              (campaign_id,)) if r[0] in wanted}
        for i in range(0, len(ids), _CHUNK):
            part = ids[i:i + _CHUNK]
            found.update(r[0] for r in con.execute(
                f"select message_id from messages where message_id in ({','.join('?' * len(part))})", part))
        return found

    def take_due(self, now: datetime, owner: str, limit: int = 50_000, after: tuple[str, str] = ("", "")
                 ) -> list[dict]:
        """Takes over queued messages that are due and not leased by a live runner (held messages whose
        moment came, claims of a runner that died before sending). Returns the rows now owned by `owner`,
        one page of `limit` in (send_at, message_id) order after `after` (keyset paging: memory stays bounded)."""
        wall = time.time()
        with self.transaction() as con:
            rows = con.execute(
                "select message_id, owner from messages where status = 'queued' and send_at <= ? "
                "and (owner = ? or owner is null or lease_until < ?) and (send_at, message_id) > (?, ?) "
                "order by send_at, message_id limit ?",
                (iso(now), owner, wall, after[0], after[1], limit)).fetchall()
            con.executemany("update messages set owner = ?, lease_until = ? where message_id = ?",
                            [(owner, wall + LEASE_S, r[0]) for r in rows if r[1] != owner])
        return self.rows([r[0] for r in rows])

    def rows(self, message_ids: Iterable[str]) -> list[dict]:
        ids = list(message_ids)
        out: list[dict] = []
        con = self._con()
        con.row_factory = sqlite3.Row
        try:
            for i in range(0, len(ids), _CHUNK):
                part = ids[i:i + _CHUNK]
                out += [dict(r) for r in con.execute(
                    f"select * from messages where message_id in ({','.join('?' * len(part))})", part)]
        finally:
            con.row_factory = None
        for row in out:
            row["context"] = orjson.loads(row["context"] or "{}")
        return out

    def close_interrupted(self) -> int:
        """`sending` rows whose runner died: the provider may or may not have accepted them, so they are
        closed as failed (never resent) with that reason."""
        with self.transaction() as con:
            return con.execute(
                "update messages set status = 'failed', reason = 'delivery outcome unknown: the runner stopped "
                "during the provider call', owner = null where status = 'sending' and lease_until < ?",
                (time.time(),)).rowcount

    def mark_sending(self, message_id: str, owner: str) -> bool:
        """queued → sending, only if `owner` still holds the lease (commits before the provider call)."""
        with self.transaction() as con:
            return con.execute(
                "update messages set status = 'sending', attempts = attempts + 1, lease_until = ? "
                "where message_id = ? and owner = ? and status = 'queued'",
                (time.time() + LEASE_S, message_id, owner)).rowcount == 1

    def finish(self, message_id: str, owner: str, status: str, at: datetime, reason: str = "",
               con: sqlite3.Connection | None = None) -> bool:
        sql = ("update messages set status = ?, reason = ?, sent_at = ?, owner = null "
               "where message_id = ? and owner = ? and status in ('queued', 'sending')")
        args = (status, reason or None, iso(at), message_id, owner)
        if con is not None:
            return con.execute(sql, args).rowcount == 1
        with self.transaction() as tx:
            return tx.execute(sql, args).rowcount == 1

    # -- history for caps --------------------------------------------------------------------------
    def history(self, profile_ids: Iterable[str], since: datetime) -> dict[str, list[tuple[str, datetime]]]:
        """Per profile, (campaign_id, send_at) of messages that count toward caps, sent or held after `since`."""
        ids = list(profile_ids)
        out: dict[str, list[tuple[str, datetime]]] = {}
        con = self._con()
        marks_status = ",".join("?" * len(COUNTING_STATUSES))
        for i in range(0, len(ids), _CHUNK):
            part = ids[i:i + _CHUNK]
            for profile_id, campaign_id, send_at in con.execute(
                    f"select profile_id, campaign_id, send_at from messages where grp = 'treated' "
                    f"and status in ({marks_status}) and send_at > ? "
                    f"and profile_id in ({','.join('?' * len(part))})", [*COUNTING_STATUSES, iso(since), *part]):
                out.setdefault(profile_id, []).append((campaign_id, parse(send_at)))
        return out

    def all_history(self, since: datetime) -> dict[str, list[tuple[str, datetime]]]:
        out: dict[str, list[tuple[str, datetime]]] = {}
        marks_status = ",".join("?" * len(COUNTING_STATUSES))
        for profile_id, campaign_id, send_at in self._con().execute(
                f"select profile_id, campaign_id, send_at from messages where grp = 'treated' "
                f"and status in ({marks_status}) and send_at > ?", [*COUNTING_STATUSES, iso(since)]):
            out.setdefault(profile_id, []).append((campaign_id, parse(send_at)))
        return out

    # -- message events waiting to be exported to the lake ----------------------------------------
    def add_events(self, events: list[dict], con: sqlite3.Connection | None = None) -> None:
        rows = [(e["event_id"], orjson.dumps(e).decode(), 0) for e in events]
        if con is not None:
            con.executemany("insert or ignore into message_events values (?, ?, ?)", rows)
            return
        with self.transaction() as tx:
            tx.executemany("insert or ignore into message_events values (?, ?, ?)", rows)

    def pending_events(self) -> list[tuple[str, str]]:
        return self._con().execute("select event_id, body from message_events where exported = 0").fetchall()

    def mark_exported(self, event_ids: list[str]) -> None:
        with self.transaction() as con:
            con.executemany("update message_events set exported = 1 where event_id = ?", [(e,) for e in event_ids])

    def count(self, sql: str, *args) -> int:
        return self._con().execute(sql, args).fetchone()[0]


def new_owner() -> str:
    return f"run-{uuid.uuid4().hex[:12]}"
