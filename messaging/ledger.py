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
This is the embedded backend of `messaging.records.MessagingState`; DynamoDB (messaging/dynamodb.py) is the
other, with the same guarantees.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import orjson

from messaging.records import (  # noqa: F401  (re-exported: the names callers have always imported from here)
    COUNTING_STATUSES,
    LEASE_S,
    LOCAL_KINDS,
    MESSAGE_FIELDS,
    UNKNOWN_OUTCOME,
    Claim,
    LocalWrite,
    iso,
    new_owner,
    parse,
)
from streamloop.core.sqlite_open import prepare_wal

_CHUNK = 500
SCAN_ABOVE = 5_000  # past this many ids, one scan of the table beats thousands of IN (...) queries

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
create table if not exists message_events (event_id text primary key, body text not null, exported integer not null);
-- what is left to export, without scanning every event ever written
create index if not exists message_events_pending on message_events (exported) where exported = 0
"""

class Ledger:
    def __init__(self, path: str | Path, busy_timeout_s: float = 30.0):
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        prepare_wal(self._con(), busy_timeout_s, _SCHEMA)

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout_s,
                                  check_same_thread=False)
            con.execute("pragma synchronous=normal")  # durable across process crashes in WAL mode
            con.execute("pragma cache_size=-131072")  # 128 MB: message ids are hashes, so inserts land anywhere
            # checkpoint every ~80 MB of WAL, not SQLite's 4 MB: random keys dirty the same pages commit after
            # commit, and each checkpoint writes them again (1M-profile run: 30 -> 21 s in transactions)
            con.execute("pragma wal_autocheckpoint=20000")
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
                    mine = {c.message_id for c in chunk}
                else:
                    mine = set()
                    ids = [c.message_id for c in chunk]
                    for i in range(0, len(ids), _CHUNK):
                        part = ids[i:i + _CHUNK]
                        marks = ",".join("?" * len(part))
                        mine.update(r[0] for r in con.execute(
                            f"select message_id from messages where owner = ? and lease_until = ? "
                            f"and message_id in ({marks})", [owner, lease, *part]))
                # held messages are nobody's work until their moment: any later run may deliver them.
                # By key, not `where owner = ? and is_held = 1`: owner has no index, and that scan per chunk
                # made a large run's claims quadratic (8 of 18 s for 600k claims).
                con.executemany("update messages set owner = null, lease_until = null where message_id = ?",
                                [(c.message_id,) for c in chunk if c.is_held and c.message_id in mine])
                won |= mine
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
                "update messages set status = 'failed', reason = ?, owner = null "
                "where status = 'sending' and lease_until < ?", (UNKNOWN_OUTCOME, time.time())).rowcount

    def mark_sending(self, message_id: str, owner: str) -> bool:
        """queued → sending, only if `owner` still holds the lease (commits before the provider call)."""
        with self.transaction() as con:
            return con.execute(
                "update messages set status = 'sending', attempts = attempts + 1, lease_until = ? "
                "where message_id = ? and owner = ? and status = 'queued'",
                (time.time() + LEASE_S, message_id, owner)).rowcount == 1

    def finish(self, message_id: str, owner: str, status: str, at: datetime, reason: str = "",
               events: list[dict] = ()) -> bool:
        """queued/sending → `status` if `owner` still holds it, with `events` in the same transaction."""
        with self.transaction() as tx:
            done = tx.execute("update messages set status = ?, reason = ?, sent_at = ?, owner = null "
                              "where message_id = ? and owner = ? and status in ('queued', 'sending')",
                              (status, reason or None, iso(at), message_id, owner)).rowcount == 1
            if done and events:
                self.add_events(list(events), tx)
            return done

    def deliver_local(self, writes: list[LocalWrite], owner: str, at: datetime) -> set[str]:
        """Local deliveries in one transaction: for each message still queued and ours, its outbox/inbox
        record, its status `sent` and its event. A crash before the commit leaves the batch queued."""
        if not writes:
            return set()
        with self.transaction() as con:
            ids = [w.message_id for w in writes]
            marks = ",".join("?" * len(ids))
            # filtered here, not in SQL: a status condition makes SQLite scan the status index instead of the key
            still_ours = {r[0] for r in con.execute(
                f"select message_id, owner, status from messages where message_id in ({marks})", ids)
                if r[1] == owner and r[2] == "queued"}
            todo = [w for w in writes if w.message_id in still_ours]
            con.executemany("update messages set status = 'sent', sent_at = ?, owner = null where message_id = ?",
                            [(iso(at), w.message_id) for w in todo])
            for kind, fields in LOCAL_KINDS.items():
                rows = [tuple(w.record.get(f) for f in fields) for w in todo if w.kind == kind]
                if rows:
                    con.executemany(f"insert into {kind} ({', '.join(fields)}) values ({', '.join('?' * len(fields))})",
                                    rows)
            self.add_events([w.event for w in todo], con)
        return {w.message_id for w in todo}

    def snapshot(self, columns: Iterable[str] | None = None) -> list[dict]:
        """Every message row, with `columns` only if given (the lake snapshot leaves out `context`,
        whose parsing cost more than the rest of the export)."""
        con = self._con()
        names = [n for n in (columns or MESSAGE_FIELDS) if n in MESSAGE_FIELDS]
        rows = [dict(zip(names, r)) for r in con.execute(f"select {', '.join(names)} from messages")]
        if "context" in names:
            for row in rows:
                row["context"] = orjson.loads(row["context"] or "{}")
        return rows

    def local_records(self, kind: str) -> list[dict]:
        """What local adapters wrote (`outbox` or `inbox`), oldest first."""
        fields = LOCAL_KINDS[kind]
        return [dict(zip(fields, r)) for r in self._con().execute(
            f"select {', '.join(fields)} from {kind} order by written_at, message_id")]

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
        if not events:
            return
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


    # -- contacts, consents, suppressions ------------------------------------------------------------------
    def record_contacts(self, rows: list[tuple[str, str, str, str, datetime]]) -> None:
        """(profile_id, channel, address, address_hash, at) in one transaction; a newer address wins."""
        with self.transaction() as con:
            con.executemany("insert into contacts values (?, ?, ?, ?, ?) on conflict (profile_id, channel) do update "
                            "set address = excluded.address, address_hash = excluded.address_hash, "
                            "updated_at = excluded.updated_at where excluded.updated_at >= contacts.updated_at",
                            [(p, c, a, h, iso(t)) for p, c, a, h, t in rows])

    def contacts_for(self, profile_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        sql = ("select c.profile_id, c.channel, c.address from contacts c left join suppressions s "
               "on c.address_hash = s.address_hash where s.address_hash is null")
        out: dict[str, dict[str, str]] = {}
        for profile_id, channel, address in self._by_profile(sql, "c.profile_id", profile_ids):
            out.setdefault(profile_id, {})[channel] = address
        return out

    def suppress(self, hashed: str, reason: str, at: datetime) -> None:
        with self.transaction() as con:
            con.execute("insert or replace into suppressions values (?, ?, ?)", (hashed, reason, iso(at)))

    def set_consent(self, profile_id: str, channel: str, granted: bool, at: datetime, con=None) -> None:
        if con is None:
            with self.transaction() as tx:
                return self.set_consent(profile_id, channel, granted, at, tx)
        con.execute("insert into consents values (?, ?, ?, ?) on conflict (profile_id, channel) do update set "
                    "granted = excluded.granted, at = excluded.at where excluded.at >= consents.at",
                    (profile_id, channel, int(granted), iso(at)))

    def consents_for(self, profile_ids: Iterable[str]) -> dict[str, dict[str, bool]]:
        out: dict[str, dict[str, bool]] = {}
        for profile_id, channel, granted in self._by_profile(
                "select profile_id, channel, granted from consents where true", "profile_id", profile_ids):
            out.setdefault(profile_id, {})[channel] = bool(granted)
        return out

    def _by_profile(self, sql: str, column: str, profile_ids: Iterable[str]):
        """Rows of `sql` (ending in a where clause) for the profiles: IN (...) chunks, or one scan for many."""
        ids = list(profile_ids)
        con = self._con()
        if len(ids) > SCAN_ABOVE:
            wanted = set(ids)
            yield from (r for r in con.execute(sql) if r[0] in wanted)
            return
        for i in range(0, len(ids), _CHUNK):
            part = ids[i:i + _CHUNK]
            yield from con.execute(f"{sql} and {column} in ({','.join('?' * len(part))})", part)

    # -- the delayed trigger queue ---------------------------------------------------------------------
    def write_triggers(self, starts: list[dict], exits: list[tuple[str, str]]) -> tuple[int, int]:
        """Cancels (trigger_id, exit_at) then enqueues `starts` in one transaction; returns (enqueued, canceled).
        A canceled trigger is re-armed by a newer start; a pending one is canceled by a later exit."""
        if not starts and not exits:
            return 0, 0
        with self.transaction() as con:
            before = con.total_changes
            con.executemany("update triggers set status = 'canceled', context = "
                            "json_set(coalesce(context, '{}'), '$.exited_at', ?) "
                            "where trigger_id = ? and status = 'pending' and fired_at <= ?",
                            [(at, tid, at) for tid, at in exits])
            canceled = con.total_changes - before
            con.executemany("insert into triggers values (?, ?, ?, ?, ?, ?, 'pending', ?) on conflict (trigger_id) "
                            "do update set fired_at = excluded.fired_at, due_at = excluded.due_at, status = 'pending' "
                            "where triggers.status = 'canceled' and excluded.fired_at > triggers.fired_at",
                            [(t["trigger_id"], t["campaign_id"], t["profile_id"], t["subject"], t["fired_at"],
                              t["due_at"], orjson.dumps(t["context"]).decode()) for t in starts])
            return con.total_changes - before - canceled, canceled

    def due_triggers(self, campaign_id: str, at: datetime) -> list[dict]:
        rows = self._con().execute("select trigger_id, profile_id, subject, due_at, context from triggers "
                                   "where campaign_id = ? and status = 'pending' and due_at <= ? order by due_at",
                                   (campaign_id, iso(at))).fetchall()
        return [{"trigger_id": r[0], "profile_id": r[1], "subject": r[2], "due_at": parse(r[3]),
                 "context": orjson.loads(r[4] or "{}")} for r in rows]

    def consume_triggers(self, triggers: list[dict]) -> int:
        with self.transaction() as con:
            before = con.total_changes
            con.executemany("update triggers set status = 'done' where trigger_id = ? and status = 'pending' "
                            "and due_at = ?", [(t["trigger_id"], iso(t["due_at"])) for t in triggers])
            return con.total_changes - before

    # -- app-facing routes and provider feedback -------------------------------------------------------
    def fetch_inbox(self, profile_id: str, at: datetime, limit: int,
                    delivered_event: Callable[[dict], dict]) -> list[dict]:
        """Pending in-app messages, oldest first, each marked delivered (and its event queued) in the
        transaction that returns it, so a message is handed out once."""
        with self.transaction() as con:
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
            self.add_events([delivered_event(row) for row in self._rows(con, ids)], con)
        return [{"message_id": r[0], "campaign_id": r[1], "subject": r[2], "body": r[3], "sent_at": r[4]}
                for r in rows]

    def record_feedback(self, message_id: str, kind: str, at: datetime, reason: str,
                        event: Callable[[dict], dict | None]) -> dict | None:
        """A provider's Delivery / Bounce / Complaint for our message (None: not ours): status, event and,
        for a complaint, email consent withdrawn, in one transaction."""
        with self.transaction() as con:
            found = self._rows(con, [message_id])
            if not found:
                return None
            row = found[0]
            if kind == "Delivery":
                con.execute("update messages set status = 'delivered', delivered_at = ? where message_id = ? "
                            "and status = 'sent'", (iso(at), message_id))
            elif kind == "Bounce":
                con.execute("update messages set status = 'failed', reason = ? where message_id = ?",
                            (reason, message_id))
            built = event(row)
            if built:
                self.add_events([built], con)
            if kind == "Complaint":
                con.execute("insert into consents values (?, 'email', 0, ?) on conflict (profile_id, channel) "
                            "do update set granted = 0, at = excluded.at", (row["profile_id"], iso(at)))
            return row

    @staticmethod
    def _rows(con, message_ids: list[str]) -> list[dict]:
        marks = ",".join("?" * len(message_ids))
        return [{"message_id": r[0], "campaign_id": r[1], "profile_id": r[2], "channel": r[3],
                 "context": orjson.loads(r[4] or "{}")}
                for r in con.execute(f"select message_id, campaign_id, profile_id, channel, context from messages "
                                     f"where message_id in ({marks})", message_ids)]


class ReadOnlyLedger(Ledger):
    """The ledger opened with SQLite's read-only mode: a dry run cannot write even by mistake."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._con_ro = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)

    def _con(self) -> sqlite3.Connection:
        return self._con_ro

    def close(self) -> None:
        self._con_ro.close()


def sqlite_opener(path: str | Path) -> Callable[..., Ledger | None]:
    """open(read_only=False): the ledger at `path`; read-only, None while the file does not exist."""
    path = Path(path)

    def open_ledger(read_only: bool = False) -> Ledger | None:
        if read_only:
            return ReadOnlyLedger(path) if path.exists() else None
        return Ledger(path)
    return open_ledger
