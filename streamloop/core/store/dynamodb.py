"""DynamoDB online store: one table, hash key `pk` = "<namespace>#<key>", value bytes in `v`.

A single hash key spreads every namespace over all partitions (a namespace as partition key would make
`profile` one hot partition). Items of EXPIRING_NAMESPACES carry `expires_at` for the table's TTL. `ver` is a random token rewritten on every write, so `update` is an
optimistic compare-and-set that also notices a concurrent `put_many`.
"""
from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

import orjson

from streamloop.core.store.base import EXPIRING_NAMESPACES, OnlineStore, StoreError, Updater, Value
from streamloop.core.store.generations import is_key_of

_MAX_ATTEMPTS = 8          # retries of unprocessed batch items
_MAX_UPDATE_ATTEMPTS = 25  # optimistic updates of one hot key (bandit counts) can collide repeatedly
_BACKOFF_S = 0.02
# Conditional writes cannot be batched (BatchWriteItem takes no conditions; TransactWriteItems fails as a
# whole when one key exists), so a 500-event request's idempotency markers and state updates run as
# concurrent single-item calls: each is atomic on its own key, and the request waits ~1 round trip per
# WRITE_CONCURRENCY keys instead of one per key. boto3 clients are thread-safe.
WRITE_CONCURRENCY = 16


def batch_write_all(call: Callable[..., dict], table: str, requests: list[dict], what: str,
                    error: type[Exception]) -> None:
    """BatchWriteItem in chunks of 25 (its limit), retrying unprocessed items with exponential backoff;
    raises `error` when some stay unprocessed. `call(op, **kwargs)` is the caller's client wrapper.
    Shared by the online store and the messaging table."""
    for start in range(0, len(requests), 25):
        pending = {table: requests[start:start + 25]}
        for attempt in range(_MAX_ATTEMPTS):
            pending = call("batch_write_item", RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(_BACKOFF_S * 2 ** attempt)
        else:
            raise error(f"{what} left items unprocessed after {_MAX_ATTEMPTS} attempts")


def _pk(ns: str, key: str) -> str:
    return f"{ns}#{key}"


class DynamoDBStore(OnlineStore):
    def __init__(self, table: str, region: str, client=None, timeout_s: float = 1.0):
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("dynamodb", region_name=region, config=Config(
                connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 2, "mode": "standard"}))
        from botocore.exceptions import BotoCoreError, ClientError

        self._errors = (BotoCoreError, ClientError)
        self.table = table
        self.client = client
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _each(self, fn, keys: list[str]) -> list:
        """`fn(key)` for every key, WRITE_CONCURRENCY at a time; the first error is raised."""
        if len(keys) <= 1:
            return [fn(key) for key in keys]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(WRITE_CONCURRENCY, thread_name_prefix="dynamodb-write")
        return list(self._pool.map(fn, keys))

    @classmethod
    def create_table(cls, client, table: str) -> None:
        """Creates the table (on-demand billing); production creates it with Terraform instead."""
        client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        client.get_waiter("table_exists").wait(TableName=table)

    def _call(self, op: str, **kwargs):
        if not op.startswith("batch_"):  # batch operations name their table inside RequestItems
            kwargs["TableName"] = self.table
        try:
            return getattr(self.client, op)(**kwargs)
        except self._errors as exc:
            raise StoreError(f"online store {op} failed: {exc}") from exc

    def _item(self, ns: str, key: str, value: Value) -> dict:
        item = {"pk": {"S": _pk(ns, key)}, "v": {"B": orjson.dumps(value)}, "ver": {"S": uuid.uuid4().hex}}
        if ns in EXPIRING_NAMESPACES:
            item["expires_at"] = {"N": str(int(time.time()) + EXPIRING_NAMESPACES[ns])}
        return item

    def keys_mentioning(self, text: str) -> list[tuple[str, str]]:
        needle = orjson.dumps(text)
        found, start = [], None
        while True:
            kwargs = {"ExclusiveStartKey": start} if start else {}
            page = self._call("scan", **kwargs)
            for item in page.get("Items", []):
                ns, _, key = item["pk"]["S"].partition("#")
                if is_key_of(key, text) or needle in item["v"]["B"]:
                    found.append((ns, key))
            start = page.get("LastEvaluatedKey")
            if not start:
                return found

    # -- reads ---------------------------------------------------------------------------------------
    def get(self, ns: str, key: str) -> Value | None:
        item = self._call("get_item", Key={"pk": {"S": _pk(ns, key)}}).get("Item")
        return None if item is None else orjson.loads(item["v"]["B"])

    def get_many(self, ns: str, keys: Iterable[str]) -> dict[str, Value]:
        keys = list(dict.fromkeys(keys))
        prefix = len(ns) + 1
        out: dict[str, Value] = {}
        for start in range(0, len(keys), 100):  # BatchGetItem takes at most 100 keys
            request = {self.table: {"Keys": [{"pk": {"S": _pk(ns, k)}} for k in keys[start:start + 100]],
                                    "ProjectionExpression": "pk, v"}}
            for attempt in range(_MAX_ATTEMPTS):
                response = self._call("batch_get_item", RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    out[item["pk"]["S"][prefix:]] = orjson.loads(item["v"]["B"])
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(_BACKOFF_S * 2 ** attempt)
            else:
                raise StoreError(f"online store batch read left keys unprocessed after {_MAX_ATTEMPTS} attempts")
        return out

    # -- writes --------------------------------------------------------------------------------------
    def put_many(self, ns: str, items: Mapping[str, Value]) -> None:
        self._batch_write([{"PutRequest": {"Item": self._item(ns, k, v)}} for k, v in items.items()])

    def _batch_write(self, requests: list[dict]) -> None:
        batch_write_all(self._call, self.table, requests, "online store batch write", StoreError)

    def _conditional(self, op: str, **kwargs) -> bool:
        """Runs a conditional write; False when its condition failed."""
        try:
            getattr(self.client, op)(TableName=self.table, **kwargs)
            return True
        except self._errors as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                return False
            raise StoreError(f"online store {op} failed: {exc}") from exc

    def add_if_absent(self, ns: str, key: str, value: Value) -> bool:
        return self._conditional("put_item", Item=self._item(ns, key, value),
                                 ConditionExpression="attribute_not_exists(pk)")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def add_many_if_absent(self, ns: str, items: Mapping[str, Value]) -> set[str]:
        keys = list(items)
        wrote = self._each(lambda key: self.add_if_absent(ns, key, items[key]), keys)
        return {key for key, done in zip(keys, wrote) if done}

    def update_many(self, ns: str, fns: Mapping[str, Updater]) -> dict[str, Value | None]:
        keys = list(fns)
        return dict(zip(keys, self._each(lambda key: self.update(ns, key, fns[key]), keys)))

    def update(self, ns: str, key: str, fn: Updater) -> Value | None:
        for attempt in range(_MAX_UPDATE_ATTEMPTS):
            item = self._call("get_item", Key={"pk": {"S": _pk(ns, key)}}, ConsistentRead=True).get("Item")
            new = fn(None if item is None else orjson.loads(item["v"]["B"]))
            if item is None:
                condition = {"ConditionExpression": "attribute_not_exists(pk)"}
            else:
                condition = {"ConditionExpression": "ver = :ver", "ExpressionAttributeValues": {":ver": item["ver"]}}
            if new is None:
                done = item is None or self._conditional("delete_item", Key={"pk": {"S": _pk(ns, key)}}, **condition)
            else:
                done = self._conditional("put_item", Item=self._item(ns, key, new), **condition)
            if done:
                return new
            time.sleep(random.uniform(0, _BACKOFF_S * 2 ** min(attempt, 5)))  # jitter de-synchronizes writers
        raise StoreError(f"online store update of {ns}/{key} kept conflicting after {_MAX_UPDATE_ATTEMPTS} attempts")

    def delete_prefix(self, ns: str, prefix: str) -> int:
        if not prefix:
            raise ValueError("delete_prefix needs a non-empty prefix")
        keys, start = [], None
        while True:  # a filtered scan: batch publication work only, never a request path
            page = self._call("scan", ProjectionExpression="pk", FilterExpression="begins_with(pk, :p)",
                              ExpressionAttributeValues={":p": {"S": _pk(ns, prefix)}},
                              **({"ExclusiveStartKey": start} if start else {}))
            keys += [item["pk"]["S"] for item in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        requests = [{"DeleteRequest": {"Key": {"pk": {"S": pk}}}} for pk in keys]
        self._batch_write(requests)
        return len(keys)

    def delete(self, ns: str, key: str) -> None:
        self._call("delete_item", Key={"pk": {"S": _pk(ns, key)}})
