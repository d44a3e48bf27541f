"""The messaging state in DynamoDB (STREAMLOOP_MESSAGING_STORE=dynamodb): the ledger, local outbox/inbox,
contacts, consents, suppressions, delayed triggers and pending message events in one on-demand table,
`pk` its only key (terraform/modules/streamloop: `<prefix>-messaging`), with the same guarantees as SQLite.

Items (`pk` prefix → record; fields from messaging.records): `msg#` a message, `outbox#`/`inbox#` a local
delivery, `contact#<profile>#<channel>`, `consent#<profile>#<channel>`, `supp#<address hash>`,
`trigger#<id>`, `event#<id>`. Every item naming a profile carries it in `pid` (privacy forget is a Query).

Exactly once without transactions across a batch:
- a claim is a conditional put (`attribute_not_exists(pk)`): of any number of runners exactly one wins;
- every state change is a conditional update on the row's `owner` and `status` (mark_sending, finish,
  taking over an expired lease), so a runner that lost its lease changes nothing;
- a local delivery writes its message status, outbox/inbox record and event in one TransactWriteItems.

Sparse global secondary indexes make the runner's reads Queries, never Scans (INDEXES below, the one
definition terraform and tests follow). Hash keys of the busy ones are spread over SHARDS values, so one
hot partition never throttles a run: `open` (queued and sending messages by send_at: take_due,
close_interrupted), `history` (messages counting toward caps by send_at), `triggers` (pending triggers per
campaign by due_at), `events` (message events not yet exported), `inbox` (undelivered in-app messages per
profile) and `profile` (every item of a profile, keys only). Index reads are eventually consistent: what a
runner claimed itself it reads back by key (consistent), and every write is re-checked by its condition.
Only the lake snapshot of the whole ledger (export_ledger) and the test/inspection `local_records` Scan.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import orjson

from messaging.records import (
    CHANNELS,
    CONTACT_CHANNELS,
    COUNTING_STATUSES,
    LEASE_S,
    LOCAL_KINDS,
    MESSAGE_FIELDS,
    OPEN_STATUSES,
    UNKNOWN_OUTCOME,
    Claim,
    LocalWrite,
    iso,
    parse,
)
from streamloop.core.errors import StreamloopError
from streamloop.core.store.dynamodb import batch_write_all

SHARDS = 8
WRITE_CONCURRENCY = 16  # as the online store: conditional writes cannot be batched, so they run side by side
_MAX_ATTEMPTS = 8
_BACKOFF_S = 0.02
_HIGH = "~"  # sorts after every character of an ISO timestamp and a message id

# name -> (hash key, range key, projection); every key attribute is a string
INDEXES: dict[str, tuple[str, str, str | tuple[str, ...]]] = {
    "open": ("open_pk", "open_sk", "ALL"),
    "history": ("hist_pk", "send_at", ("profile_id", "campaign_id")),
    "triggers": ("trig_pk", "trig_sk", "ALL"),
    "events": ("evt_pk", "pk", ("body",)),
    "inbox": ("inbox_pk", "inbox_sk", "ALL"),
    "profile": ("pid", "pk", "KEYS_ONLY"),
}
_WRITES = frozenset({"put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"})


class MessagingStoreError(StreamloopError):
    pass


def shard(key: str) -> int:
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % SHARDS


def table_definition(table: str) -> dict:
    """create_table arguments: tests create it with these; production with terraform (same names, keys)."""
    attributes = {"pk"} | {a for h, r, _ in INDEXES.values() for a in (h, r)}
    indexes = []
    for name, (hash_key, range_key, projection) in INDEXES.items():
        if isinstance(projection, tuple):
            proj = {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(projection)}
        else:
            proj = {"ProjectionType": projection}
        indexes.append({"IndexName": name, "Projection": proj,
                        "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"},
                                      {"AttributeName": range_key, "KeyType": "RANGE"}]})
    return {"TableName": table, "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "GlobalSecondaryIndexes": indexes}


def create_table(client, table: str) -> None:
    client.create_table(**table_definition(table))
    client.get_waiter("table_exists").wait(TableName=table)


# -- item encoding ----------------------------------------------------------------------------------------
def _enc(value) -> dict:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": repr(value)}
    if isinstance(value, (dict, list)):
        return {"S": orjson.dumps(value).decode()}
    return {"S": str(value)}


def _item(values: dict) -> dict:
    return {k: _enc(v) for k, v in values.items() if v is not None}


def _dec(attr: dict):
    if "S" in attr:
        return attr["S"]
    if "N" in attr:
        text = attr["N"]
        return float(text) if any(c in text for c in ".eE") else int(text)
    if "BOOL" in attr:
        return attr["BOOL"]
    return None


def _message_row(item: dict) -> dict:
    row = {name: (_dec(item[name]) if name in item else None) for name in MESSAGE_FIELDS}
    row["context"] = orjson.loads(row["context"] or "{}")
    return row


def _message_keys(row: dict) -> dict:
    """The sparse index keys a message carries in its current state."""
    keys = {"pid": row["profile_id"]}
    if row["status"] in OPEN_STATUSES:
        keys["open_pk"] = f"open#{shard(row['message_id'])}"
        keys["open_sk"] = f"{row['send_at']}#{row['message_id']}"
    if row["grp"] == "treated" and row["status"] in COUNTING_STATUSES and row.get("send_at"):
        keys["hist_pk"] = f"hist#{shard(row['message_id'])}"
    return keys


def _event_item(event: dict) -> dict:
    return _item({"pk": f"event#{event['event_id']}", "body": orjson.dumps(event).decode(),
                  "evt_pk": f"evt#{shard(event['event_id'])}", "pid": event.get("profile_id")})


class DynamoLedger:
    """messaging.records.MessagingState on one DynamoDB table (see the module docstring)."""

    def __init__(self, table: str, region: str, client=None, read_only: bool = False, timeout_s: float = 5.0):
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("dynamodb", region_name=region, config=Config(
                connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 4, "mode": "standard"},
                max_pool_connections=WRITE_CONCURRENCY + 4))
        from botocore.exceptions import BotoCoreError, ClientError

        self._errors = (BotoCoreError, ClientError)
        self.table = table
        self.client = client
        self.read_only = read_only  # dry runs: every write raises
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._claimed: dict[str, str] = {}  # message_id -> open_sk of this process's own due claims

    # -- plumbing ---------------------------------------------------------------------------------------
    def _call(self, op: str, **kwargs):
        if self.read_only and op in _WRITES:
            raise MessagingStoreError(f"the messaging table {self.table} is open read-only (a dry run): {op} refused")
        if not op.startswith(("batch_", "transact_")):
            kwargs["TableName"] = self.table
        try:
            return getattr(self.client, op)(**kwargs)
        except self._errors as exc:
            raise MessagingStoreError(f"messaging table {self.table}: {op} failed: {exc}") from exc

    def _conditional(self, op: str, **kwargs) -> dict | None:
        """A conditional write; None when its condition (or a transaction's) failed."""
        try:
            return self._call(op, **kwargs)
        except MessagingStoreError as exc:
            code = getattr(exc.__cause__, "response", {}).get("Error", {}).get("Code")
            if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
                return None
            raise

    def _each(self, fn, items: list) -> list:
        """`fn(item)` for every item, WRITE_CONCURRENCY at a time; the first error is raised."""
        if len(items) <= 1:
            return [fn(item) for item in items]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(WRITE_CONCURRENCY, thread_name_prefix="messaging-dynamodb")
        return list(self._pool.map(fn, items))

    def _query(self, index: str, key_condition: str, values: dict, limit: int | None = None, **extra) -> list[dict]:
        items, start = [], None
        while True:
            kwargs = {"IndexName": index, "KeyConditionExpression": key_condition,
                      "ExpressionAttributeValues": {k: _enc(v) for k, v in values.items()}, **extra}
            if limit is not None:
                kwargs["Limit"] = limit - len(items)
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self._call("query", **kwargs)
            items += page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start or (limit is not None and len(items) >= limit):
                return items

    def _sharded(self, index: str, prefix: str, condition: str = "", values: dict | None = None,
                 limit: int | None = None, **extra) -> list[dict]:
        """One Query per shard of `index` (hash key `<prefix>#<n>`), side by side."""
        hash_key = INDEXES[index][0]
        return [item for part in self._each(
            lambda n: self._query(index, f"{hash_key} = :h" + (f" and {condition}" if condition else ""),
                                  {":h": f"{prefix}#{n}", **(values or {})}, limit, **extra), list(range(SHARDS)))
                for item in part]

    def _get_many(self, keys: list[str], projection: str | None = None) -> dict[str, dict]:
        """pk -> item, by BatchGetItem (100 keys a call, consistent reads, unprocessed keys retried)."""
        keys = list(dict.fromkeys(keys))

        def chunk(part: list[str]) -> list[dict]:
            request = {self.table: {"Keys": [{"pk": {"S": k}} for k in part], "ConsistentRead": True,
                                    **({"ProjectionExpression": projection} if projection else {})}}
            found = []
            for attempt in range(_MAX_ATTEMPTS):
                response = self._call("batch_get_item", RequestItems=request)
                found += response.get("Responses", {}).get(self.table, [])
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    return found
                time.sleep(_BACKOFF_S * 2 ** attempt)
            raise MessagingStoreError(f"messaging table {self.table}: batch read left keys unprocessed")
        parts = [keys[i:i + 100] for i in range(0, len(keys), 100)]
        return {item["pk"]["S"]: item for part in self._each(chunk, parts) for item in part}

    def _scan_prefix(self, prefix: str) -> list[dict]:
        items, start = [], None
        while True:
            page = self._call("scan", FilterExpression="begins_with(pk, :p)",
                              ExpressionAttributeValues={":p": {"S": prefix}},
                              **({"ExclusiveStartKey": start} if start else {}))
            items += page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # -- claims -----------------------------------------------------------------------------------------
    def claim(self, claims: Iterable[Claim], owner: str) -> set[str]:
        """Conditional puts: the ids this call created are its claims. Held messages are nobody's work
        until their moment (no owner: any later run may deliver them)."""
        lease = time.time() + LEASE_S

        def put(c: Claim) -> str | None:
            runs = c.status == "queued" and not c.is_held
            row = {"message_id": c.message_id, "campaign_id": c.campaign_id, "profile_id": c.profile_id,
                   "period": c.period, "grp": c.grp, "channel": c.channel, "status": c.status,
                   "reason": c.reason, "is_held": int(c.is_held), "decided_at": iso(c.decided_at),
                   "send_at": iso(c.send_at) if c.send_at else None, "attempts": 0,
                   "owner": owner if runs else None, "lease_until": lease if runs else None, "context": c.context}
            item = _item({"pk": f"msg#{c.message_id}", **row, **_message_keys(row)})
            done = self._conditional("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")
            if done is not None and runs:
                self._claimed[c.message_id] = item["open_sk"]["S"]
            return c.message_id if done is not None else None
        return {mid for mid in self._each(put, list(claims)) if mid}

    def existing(self, message_ids: Iterable[str], campaign_id: str | None = None) -> set[str]:
        found = self._get_many([f"msg#{m}" for m in message_ids], projection="pk")
        return {pk[4:] for pk in found}

    def rows(self, message_ids: Iterable[str]) -> list[dict]:
        return [_message_row(item) for item in self._get_many([f"msg#{m}" for m in message_ids]).values()]

    def take_due(self, now: datetime, owner: str, limit: int = 50_000, after: tuple[str, str] = ("", "")
                 ) -> list[dict]:
        """Queued messages due at `now` that no live runner leases, now leased to `owner`: one page of
        `limit` in (send_at, message_id) order after `after`. Candidates come from the `open` index (plus
        this process's own claims, read by key: the index may not show them yet); each is taken by a
        conditional update, so two runners never both own one."""
        high = f"{iso(now)}#{_HIGH}"
        low = f"{after[0]}#{after[1]} " if after != ("", "") else " "  # just after `after` (keys hold no space)
        while True:
            wall = time.time()
            candidates = {item["message_id"]["S"]: item for item in self._sharded(
                "open", "open", "open_sk between :lo and :hi", {":lo": low, ":hi": high}, limit)}
            own = [m for m, sk in self._claimed.items() if low <= sk <= high and m not in candidates]
            for item in self._get_many([f"msg#{m}" for m in own]).values():
                if "open_sk" in item:
                    candidates[item["message_id"]["S"]] = item
            ordered = sorted(candidates.values(), key=lambda i: i["open_sk"]["S"])[:limit]
            if not ordered:
                return []
            eligible = [i for i in ordered if i["status"]["S"] == "queued" and (
                "owner" not in i or i["owner"]["S"] == owner or float(i.get("lease_until", {"N": "0"})["N"]) < wall)]
            taken = [r for r in self._each(lambda i, w=wall: self._take(i, owner, w), eligible) if r]
            if taken or len(ordered) < limit:
                for row in taken:
                    self._claimed.pop(row["message_id"], None)
                return sorted(taken, key=lambda r: (r["send_at"], r["message_id"]))
            low = ordered[-1]["open_sk"]["S"] + " "  # a full page of others' live leases: look further

    def _take(self, item: dict, owner: str, wall: float) -> dict | None:
        done = self._conditional(
            "update_item", Key={"pk": item["pk"]}, UpdateExpression="SET #o = :o, lease_until = :l",
            ConditionExpression="#s = :queued AND (attribute_not_exists(#o) OR #o = :o OR lease_until < :wall)",
            ExpressionAttributeNames={"#o": "owner", "#s": "status"},
            ExpressionAttributeValues={":o": _enc(owner), ":l": _enc(wall + LEASE_S), ":queued": _enc("queued"),
                                       ":wall": _enc(wall)}, ReturnValues="ALL_NEW")
        return None if done is None else _message_row(done["Attributes"])

    def close_interrupted(self) -> int:
        """`sending` messages whose runner died: closed as failed (never resent), outcome unknown."""
        now = time.time()
        stuck = self._sharded("open", "open", values={":sending": "sending", ":now": now},
                              FilterExpression="#s = :sending AND lease_until < :now",
                              ExpressionAttributeNames={"#s": "status"})

        def close(item: dict) -> bool:
            return self._conditional(
                "update_item", Key={"pk": item["pk"]},
                UpdateExpression="SET #s = :failed, reason = :r REMOVE #o, open_pk, open_sk, hist_pk",
                ConditionExpression="#s = :sending AND lease_until < :now",
                ExpressionAttributeNames={"#s": "status", "#o": "owner"},
                ExpressionAttributeValues={":failed": _enc("failed"), ":r": _enc(UNKNOWN_OUTCOME),
                                           ":sending": _enc("sending"), ":now": _enc(now)}) is not None
        return sum(self._each(close, stuck))

    def mark_sending(self, message_id: str, owner: str) -> bool:
        """queued → sending, only if `owner` still holds the lease (written before the provider call)."""
        return self._conditional(
            "update_item", Key={"pk": {"S": f"msg#{message_id}"}},
            UpdateExpression="SET #s = :sending, attempts = attempts + :one, lease_until = :l",
            ConditionExpression="#o = :o AND #s = :queued", ExpressionAttributeNames={"#s": "status", "#o": "owner"},
            ExpressionAttributeValues={":sending": _enc("sending"), ":one": _enc(1), ":l": _enc(time.time() + LEASE_S),
                                       ":o": _enc(owner), ":queued": _enc("queued")}) is not None

    def _finish_update(self, message_id: str, owner: str, status: str, at: datetime, reason: str | None = "") -> dict:
        """The conditional update that settles a message; reason None keeps the decision's (as SQLite's local
        deliveries do), "" clears it (as its finish does)."""
        remove = ["#o", "open_pk", "open_sk"] + ([] if status in COUNTING_STATUSES else ["hist_pk"])
        values = {":s": _enc(status), ":at": _enc(iso(at)), ":o": _enc(owner), ":queued": _enc("queued"),
                  ":sending": _enc("sending")}
        sets = "SET #s = :s, sent_at = :at"
        if reason:
            sets += ", reason = :r"
            values[":r"] = _enc(reason)
        elif reason is not None:
            remove.append("reason")
        return {"TableName": self.table, "Key": {"pk": {"S": f"msg#{message_id}"}},
                "UpdateExpression": f"{sets} REMOVE {', '.join(remove)}",
                "ConditionExpression": "#o = :o AND (#s = :queued OR #s = :sending)",
                "ExpressionAttributeNames": {"#s": "status", "#o": "owner"}, "ExpressionAttributeValues": values}

    def finish(self, message_id: str, owner: str, status: str, at: datetime, reason: str = "",
               events: list[dict] = ()) -> bool:
        update = self._finish_update(message_id, owner, status, at, reason)
        if not events:
            update.pop("TableName")
            return self._conditional("update_item", **update) is not None
        actions = [{"Update": update}] + [{"Put": {"TableName": self.table, "Item": _event_item(e)}} for e in events]
        return self._conditional("transact_write_items", TransactItems=actions) is not None

    def deliver_local(self, writes: list[LocalWrite], owner: str, at: datetime) -> set[str]:
        """One transaction per message: status `sent` (if still queued and ours), its outbox/inbox record
        and its event. A crash between messages leaves the rest queued under the dead runner's lease."""
        def deliver(w: LocalWrite) -> str | None:
            record = {"pk": f"{w.kind}#{w.message_id}", **{f: w.record.get(f) for f in LOCAL_KINDS[w.kind]},
                      "pid": w.record.get("profile_id")}
            if w.kind == "inbox":  # undelivered: in the profile's pending index
                record.update(inbox_pk=w.record["profile_id"], inbox_sk=f"{w.record['written_at']}#{w.message_id}")
            actions = [{"Update": self._finish_update(w.message_id, owner, "sent", at, reason=None)},
                       {"Put": {"TableName": self.table, "Item": _item(record)}},
                       {"Put": {"TableName": self.table, "Item": _event_item(w.event)}}]
            actions[0]["Update"]["ConditionExpression"] = "#o = :o AND #s = :queued"
            actions[0]["Update"]["ExpressionAttributeValues"].pop(":sending")
            return w.message_id if self._conditional("transact_write_items", TransactItems=actions) else None
        return {m for m in self._each(deliver, list(writes)) if m}

    def all_history(self, since: datetime) -> dict[str, list[tuple[str, datetime]]]:
        out: dict[str, list[tuple[str, datetime]]] = {}
        for item in self._sharded("history", "hist", "send_at > :since", {":since": iso(since)}):
            out.setdefault(item["profile_id"]["S"], []).append((item["campaign_id"]["S"], parse(item["send_at"]["S"])))
        return out

    def snapshot(self, columns: Iterable[str] | None = None) -> list[dict]:
        rows = [_message_row(item) for item in self._scan_prefix("msg#")]
        if columns is not None:
            rows = [{n: row[n] for n in columns if n in row} for row in rows]
        return rows

    def local_records(self, kind: str) -> list[dict]:
        fields = LOCAL_KINDS[kind]
        rows = [{f: (_dec(i[f]) if f in i else None) for f in fields} for i in self._scan_prefix(f"{kind}#")]
        return sorted(rows, key=lambda r: (r["written_at"], r["message_id"]))

    # -- message events waiting for the lake -------------------------------------------------------------
    def add_events(self, events: list[dict]) -> None:
        """Insert or ignore (an event id already recorded keeps its export state)."""
        self._each(lambda e: self._conditional("put_item", Item=_event_item(e),
                                               ConditionExpression="attribute_not_exists(pk)"), list(events))

    def pending_events(self) -> list[tuple[str, str]]:
        return sorted((i["pk"]["S"][6:], i["body"]["S"]) for i in self._sharded("events", "evt"))

    def mark_exported(self, event_ids: list[str]) -> None:
        self._each(lambda e: self._call("update_item", Key={"pk": {"S": f"event#{e}"}},
                                        UpdateExpression="SET exported = :one REMOVE evt_pk",
                                        ConditionExpression="attribute_exists(pk)",
                                        ExpressionAttributeValues={":one": _enc(1)}), list(event_ids))

    # -- contacts, consents, suppressions -------------------------------------------------------------
    def record_contacts(self, rows: list[tuple[str, str, str, str, datetime]]) -> None:
        """(profile_id, channel, address, address_hash, at); a newer address wins."""
        def put(row) -> None:
            p, c, a, h, t = row
            self._conditional("put_item", Item=_item({"pk": f"contact#{p}#{c}", "pid": p, "profile_id": p,
                                                      "channel": c, "address": a, "address_hash": h,
                                                      "updated_at": iso(t)}),
                              ConditionExpression="attribute_not_exists(pk) OR updated_at <= :t",
                              ExpressionAttributeValues={":t": _enc(iso(t))})
        self._each(put, list(rows))

    def contacts_for(self, profile_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        found = self._get_many([f"contact#{p}#{c}" for p in profile_ids for c in CONTACT_CHANNELS])
        hashes = {i["address_hash"]["S"] for i in found.values()}
        suppressed = {pk[5:] for pk in self._get_many([f"supp#{h}" for h in hashes], projection="pk")}
        out: dict[str, dict[str, str]] = {}
        for item in found.values():
            if item["address_hash"]["S"] not in suppressed:
                out.setdefault(item["profile_id"]["S"], {})[item["channel"]["S"]] = item["address"]["S"]
        return out

    def suppress(self, hashed: str, reason: str, at: datetime) -> None:
        self._call("put_item", Item=_item({"pk": f"supp#{hashed}", "reason": reason, "at": iso(at)}))

    def set_consent(self, profile_id: str, channel: str, granted: bool, at: datetime) -> None:
        self._conditional("put_item", Item=self._consent(profile_id, channel, granted, at),
                          ConditionExpression="attribute_not_exists(pk) OR #at <= :at",
                          ExpressionAttributeNames={"#at": "at"}, ExpressionAttributeValues={":at": _enc(iso(at))})

    @staticmethod
    def _consent(profile_id: str, channel: str, granted: bool, at: datetime) -> dict:
        return _item({"pk": f"consent#{profile_id}#{channel}", "pid": profile_id, "profile_id": profile_id,
                      "channel": channel, "granted": bool(granted), "at": iso(at)})

    def consents_for(self, profile_ids: Iterable[str]) -> dict[str, dict[str, bool]]:
        out: dict[str, dict[str, bool]] = {}
        for item in self._get_many([f"consent#{p}#{c}" for p in profile_ids for c in CHANNELS]).values():
            out.setdefault(item["profile_id"]["S"], {})[item["channel"]["S"]] = item["granted"]["BOOL"]
        return out

    # -- the delayed trigger queue ---------------------------------------------------------------------
    def write_triggers(self, starts: list[dict], exits: list[tuple[str, str]]) -> tuple[int, int]:
        """Cancels then enqueues (each write atomic on its own trigger; starts and exits of one batch
        concern different triggers); returns (enqueued, canceled)."""
        def cancel(exit_: tuple[str, str]) -> bool:
            trigger, at = exit_
            return self._conditional(
                "update_item", Key={"pk": {"S": f"trigger#{trigger}"}},
                UpdateExpression="SET #s = :canceled, exited_at = :at REMOVE trig_pk, trig_sk",
                ConditionExpression="#s = :pending AND fired_at <= :at", ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":canceled": _enc("canceled"), ":pending": _enc("pending"),
                                           ":at": _enc(at)}) is not None

        def enqueue(t: dict) -> bool:
            item = _item({"pk": f"trigger#{t['trigger_id']}", **t, "status": "pending",
                          "pid": None if t["profile_id"] == "*" else t["profile_id"],
                          "trig_pk": f"trig#{t['campaign_id']}#{shard(t['trigger_id'])}",
                          "trig_sk": f"{t['due_at']}#{t['trigger_id']}"})
            return self._conditional(
                "put_item", Item=item,
                ConditionExpression="attribute_not_exists(pk) OR (#s = :canceled AND fired_at < :fired)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":canceled": _enc("canceled"), ":fired": _enc(t["fired_at"])}) is not None
        canceled = sum(self._each(cancel, list(exits)))
        return sum(self._each(enqueue, list(starts))), canceled

    def due_triggers(self, campaign_id: str, at: datetime) -> list[dict]:
        items = self._sharded("triggers", f"trig#{campaign_id}", "trig_sk <= :hi", {":hi": f"{iso(at)}#{_HIGH}"})
        rows = [{"trigger_id": i["trigger_id"]["S"], "profile_id": i["profile_id"]["S"], "subject": i["subject"]["S"],
                 "due_at": parse(i["due_at"]["S"]), "context": orjson.loads(i["context"]["S"]) if "context" in i else {}}
                for i in items if i["status"]["S"] == "pending"]
        return sorted(rows, key=lambda r: (r["due_at"], r["trigger_id"]))

    def consume_triggers(self, triggers: list[dict]) -> int:
        return sum(self._each(lambda t: self._conditional(
            "update_item", Key={"pk": {"S": f"trigger#{t['trigger_id']}"}},
            UpdateExpression="SET #s = :done REMOVE trig_pk, trig_sk",
            ConditionExpression="#s = :pending AND due_at = :due", ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":done": _enc("done"), ":pending": _enc("pending"),
                                       ":due": _enc(iso(t["due_at"]))}) is not None, list(triggers)))

    # -- app-facing routes and provider feedback ----------------------------------------------------------
    def fetch_inbox(self, profile_id: str, at: datetime, limit: int,
                    delivered_event: Callable[[dict], dict]) -> list[dict]:
        """Pending in-app messages, oldest first; each handed out by one transaction (inbox item marked
        delivered on condition it was not, message delivered, event recorded), so it is handed out once."""
        pending = self._query("inbox", "inbox_pk = :p", {":p": profile_id}, limit)
        messages = {r["message_id"]: r for r in self.rows([i["message_id"]["S"] for i in pending])}

        def hand_out(item: dict) -> dict | None:
            row = messages.get(item["message_id"]["S"])
            if row is None:
                return None
            stamp = _enc(iso(at))
            actions = [
                {"Update": {"TableName": self.table, "Key": {"pk": item["pk"]},
                            "UpdateExpression": "SET delivered_at = :at REMOVE inbox_pk, inbox_sk",
                            "ConditionExpression": "attribute_not_exists(delivered_at)",
                            "ExpressionAttributeValues": {":at": stamp}}},
                {"Update": {"TableName": self.table, "Key": {"pk": {"S": f"msg#{row['message_id']}"}},
                            "UpdateExpression": "SET #s = :d, delivered_at = :at", "ExpressionAttributeNames":
                            {"#s": "status"}, "ExpressionAttributeValues": {":d": _enc("delivered"), ":at": stamp}}},
                {"Put": {"TableName": self.table, "Item": _event_item(delivered_event(row))}}]
            if self._conditional("transact_write_items", TransactItems=actions) is None:
                return None  # another request handed it out first
            return {"message_id": row["message_id"], "campaign_id": row["campaign_id"],
                    "subject": item["subject"]["S"], "body": item["body"]["S"], "sent_at": row["sent_at"]}
        return [r for r in self._each(hand_out, pending) if r]

    def record_feedback(self, message_id: str, kind: str, at: datetime, reason: str,
                        event: Callable[[dict], dict | None]) -> dict | None:
        found = self.rows([message_id])
        if not found:
            return None
        row = found[0]
        key = {"pk": {"S": f"msg#{message_id}"}}
        if kind == "Delivery":
            self._conditional("update_item", Key=key, UpdateExpression="SET #s = :d, delivered_at = :at",
                              ConditionExpression="#s = :sent", ExpressionAttributeNames={"#s": "status"},
                              ExpressionAttributeValues={":d": _enc("delivered"), ":at": _enc(iso(at)),
                                                         ":sent": _enc("sent")})
        elif kind == "Bounce":  # a failed message no longer counts toward caps
            self._call("update_item", Key=key, UpdateExpression="SET #s = :f, reason = :r REMOVE hist_pk",
                       ExpressionAttributeNames={"#s": "status"},
                       ExpressionAttributeValues={":f": _enc("failed"), ":r": _enc(reason)})
        built = event(row)
        if built:
            self.add_events([built])
        if kind == "Complaint":  # a complaint withdraws email consent
            self._call("put_item", Item=self._consent(row["profile_id"], "email", False, at))
        return row

    # -- privacy ---------------------------------------------------------------------------------------
    def profile_keys(self, profile_id: str) -> list[str]:
        """Every item naming the profile (messages, deliveries, contacts, consents, triggers, events)."""
        return [i["pk"]["S"] for i in self._query("profile", "pid = :p", {":p": profile_id})]

    def erase_profiles(self, profile_ids: Iterable[str]) -> int:
        keys = [k for p in sorted(set(profile_ids)) for k in self.profile_keys(p)]
        requests = [{"DeleteRequest": {"Key": {"pk": {"S": k}}}} for k in keys]
        batch_write_all(self._call, self.table, requests, f"messaging table {self.table}: batch delete",
                        MessagingStoreError)
        return len(keys)
