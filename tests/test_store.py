"""One behaviour suite for the online store, run against SQLite and DynamoDB (moto)."""
from __future__ import annotations

import threading

import pytest
from support.aws import moto_dynamodb

from streamloop.core.store import StoreError, get_store
from streamloop.core.store.dynamodb import DynamoDBStore
from streamloop.core.store.sqlite import SQLiteStore


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request, tmp_path, monkeypatch):
    if request.param == "sqlite":
        s = SQLiteStore(tmp_path / "online.sqlite")
        yield s
        s.close()
        return
    with moto_dynamodb(monkeypatch, "online-test") as client:
        yield DynamoDBStore("online-test", "us-east-1", client=client)


def test_put_then_get_round_trips_json_values(store):
    # GIVEN values of the documented shapes
    profile = {"account_id": "a1", "is_kids": False, "maturity_rating": "16+", "genre_affinity": {"drama": 0.7}}
    candidates = {"model_version": "ranker@3", "items": [["t1", 0.9], ["t2", 0.4]]}
    # WHEN they are written
    store.put_many("profile", {"p1": profile})
    store.put("candidates", "p1", candidates)
    # THEN they read back equal, and namespaces do not leak into each other
    assert store.get("profile", "p1") == profile
    assert store.get("candidates", "p1") == candidates
    assert store.get("profile", "missing") is None
    assert store.get("title", "p1") is None


def test_get_many_returns_only_existing_keys_across_batch_limits(store):
    # GIVEN 260 keys (more than one DynamoDB batch and one SQLite chunk)
    store.put_many("title", {f"t{i}": {"popularity": i} for i in range(260)})
    # WHEN reading them plus unknown keys and a repeated key
    keys = [f"t{i}" for i in range(260)] + ["nope", "t5"]
    got = store.get_many("title", keys)
    # THEN every existing key is returned once with its value, unknown keys are absent
    assert got == {f"t{i}": {"popularity": i} for i in range(260)}


def test_put_many_overwrites(store):
    store.put("lists", "popular", {"items": [["a", 1]]})
    store.put_many("lists", {"popular": {"items": [["b", 2]]}})
    assert store.get("lists", "popular") == {"items": [["b", 2]]}


def test_add_if_absent_writes_once(store):
    # WHEN the same key is added twice
    first = store.add_if_absent("seen", "e1", 1)
    second = store.add_if_absent("seen", "e1", 2)
    # THEN only the first call wins and the value is the first one
    assert (first, second) == (True, False)
    assert store.get("seen", "e1") == 1
    added = store.add_many_if_absent("seen", {"e1": 3, "e2": 3, "e3": 3})
    assert added == {"e2", "e3"}


def test_update_is_read_modify_write_and_none_deletes(store):
    assert store.update("state", "p1", lambda old: {"n": (old or {"n": 0})["n"] + 1}) == {"n": 1}
    assert store.update("state", "p1", lambda old: {"n": old["n"] + 1}) == {"n": 2}
    assert store.get("state", "p1") == {"n": 2}
    assert store.update("state", "p1", lambda old: None) is None
    assert store.get("state", "p1") is None
    out = store.update_many("state", {"a": lambda old: {"x": 1}, "b": lambda old: {"x": 2}})
    assert out == {"a": {"x": 1}, "b": {"x": 2}}
    assert store.get_many("state", ["a", "b"]) == out


def test_delete(store):
    store.put("seen", "e1", 1)
    store.delete("seen", "e1")
    store.delete("seen", "never-there")
    assert store.get("seen", "e1") is None


def test_delete_prefix_removes_one_generation_of_one_namespace(store):
    n = 130 if isinstance(store, DynamoDBStore) else 10_130  # more than one batch of the backend's deletes
    store.put_many("candidates", {f"g1/p{i}": {"i": i} for i in range(n)})
    store.put_many("candidates", {"g10/p1": 1, "g2/p1": 2, "g1": 3, "p1": 4})
    store.put("profile", "g1/p1", 5)
    assert store.delete_prefix("candidates", "g1/") == n
    assert store.get_many("candidates", ["g1/p1", "g1/p129", "g10/p1", "g2/p1", "g1", "p1"]) == {
        "g10/p1": 1, "g2/p1": 2, "g1": 3, "p1": 4}
    assert store.get("profile", "g1/p1") == 5  # other namespaces keep their keys
    with pytest.raises(ValueError):
        store.delete_prefix("candidates", "")


def test_concurrent_updates_lose_no_increment(store):
    if isinstance(store, DynamoDBStore):
        # moto checks a condition and writes without a lock, so threads can both pass one condition;
        # the conditional-write retry is covered deterministically by the test below
        pytest.skip("moto's conditional writes are not atomic across threads")
    # GIVEN 4 threads each incrementing one counter 25 times
    def work():
        for _ in range(25):
            store.update("bandit", "exp", lambda old: {"n": (old or {"n": 0})["n"] + 1})

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # THEN every increment is kept
    assert store.get("bandit", "exp") == {"n": 100}


def test_dynamodb_update_retries_after_a_concurrent_write(monkeypatch):
    # GIVEN a DynamoDB store where another writer changes the item between our read and our write
    with moto_dynamodb(monkeypatch, "t") as client:
        store = DynamoDBStore("t", "us-east-1", client=client)
        store.put("state", "p", {"n": 0})
        calls = []

        def fn(old):
            calls.append(old)
            if len(calls) == 1:
                store.put("state", "p", {"n": 10})  # the concurrent write
            return {"n": old["n"] + 1}

        # WHEN updating
        result = store.update("state", "p", fn)
        # THEN the first attempt's write is refused and the retry builds on the concurrent value
        assert calls == [{"n": 0}, {"n": 10}]
        assert result == {"n": 11} == store.get("state", "p")


def test_dynamodb_batch_write_retries_unprocessed_items(monkeypatch):
    # GIVEN a client that leaves one item unprocessed on the first batch call
    with moto_dynamodb(monkeypatch, "t") as client:
        real = client.batch_write_item
        state = {"calls": 0}

        def flaky(RequestItems):
            state["calls"] += 1
            if state["calls"] == 1:
                items = RequestItems["t"]
                real(RequestItems={"t": items[1:]})
                return {"UnprocessedItems": {"t": items[:1]}}
            return real(RequestItems=RequestItems)

        monkeypatch.setattr(client, "batch_write_item", flaky)
        store = DynamoDBStore("t", "us-east-1", client=client)
        # WHEN writing 3 items
        store.put_many("title", {"a": 1, "b": 2, "c": 3})
        # THEN the unprocessed item was retried and all are stored
        assert state["calls"] == 2
        assert store.get_many("title", ["a", "b", "c"]) == {"a": 1, "b": 2, "c": 3}


def test_backend_failures_raise_store_error(tmp_path, monkeypatch):
    # GIVEN a DynamoDB store pointing at a table that does not exist
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        import boto3

        store = DynamoDBStore("absent", "us-east-1", client=boto3.client("dynamodb", region_name="us-east-1"))
        # THEN reads fail with StoreError (the one type serving falls back on)
        with pytest.raises(StoreError):
            store.get("profile", "p1")
    # AND a SQLite path that cannot be created fails the same way
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError):
        SQLiteStore(blocker / "online.sqlite")


def test_get_store_picks_the_backend_from_settings(tmp_path, monkeypatch):
    from streamloop.core.settings import get_settings

    monkeypatch.setenv("STREAMLOOP_HOME", str(tmp_path))
    monkeypatch.setenv("STREAMLOOP_ONLINE_STORE", "sqlite")
    get_settings.cache_clear()
    try:
        store = get_store(get_settings())
        assert isinstance(store, SQLiteStore)
        assert store.path == tmp_path.resolve() / "online.sqlite"
        store.close()
        monkeypatch.setenv("STREAMLOOP_ONLINE_STORE", "dynamodb")
        get_settings.cache_clear()
        assert isinstance(get_store(get_settings()), DynamoDBStore)
    finally:
        get_settings.cache_clear()


def test_sqlite_deadline_interrupts_reads_that_overrun(tmp_path):
    # GIVEN a store with enough rows that a batch read takes many SQLite VM steps
    store = SQLiteStore(tmp_path / "online.sqlite")
    store.put_many("title", {f"t{i}": {"n": i} for i in range(2000)})
    keys = [f"t{i}" for i in range(2000)]
    # WHEN the read runs under an already expired deadline THEN it is interrupted as a StoreError
    with store.deadline(-1.0), pytest.raises(StoreError, match="interrupted"):
        store.get_many("title", keys)
    # AND under a generous deadline, and after the block, reads work
    expected = {f"t{i}": {"n": i} for i in range(2000)}
    with store.deadline(5.0):
        assert store.get_many("title", keys) == expected
    assert store.get_many("title", keys) == expected
    store.close()


def test_dynamodb_idempotency_markers_carry_a_ttl(monkeypatch):
    with moto_dynamodb(monkeypatch, "t") as client:
        import time

        store = DynamoDBStore("t", "us-east-1", client=client)
        store.add_if_absent("seen", "e1", 1)
        store.put("profile", "p1", {"x": 1})
        seen = client.get_item(TableName="t", Key={"pk": {"S": "seen#e1"}})["Item"]
        profile = client.get_item(TableName="t", Key={"pk": {"S": "profile#p1"}})["Item"]
        assert int(seen["expires_at"]["N"]) > time.time() + 86400
        assert "expires_at" not in profile


def test_sqlite_idempotency_markers_expire_like_dynamodb_ttl(tmp_path, monkeypatch):
    import sqlite3

    import streamloop.core.store.sqlite as sqlite_store
    from streamloop.core.store.base import EXPIRING_NAMESPACES

    clock = [1_800_000_000.0]
    monkeypatch.setattr(sqlite_store.time, "time", lambda: clock[0])
    store = sqlite_store.SQLiteStore(tmp_path / "online.sqlite")
    assert store.add_if_absent("seen", "e1", 1) and not store.add_if_absent("seen", "e1", 1)
    store.put("profile", "p1", {"segment": "loyal"})
    clock[0] += EXPIRING_NAMESPACES["seen"] + 1  # a month later the marker has expired
    assert store.add_if_absent("seen", "e2", 2)
    with sqlite3.connect(tmp_path / "online.sqlite") as con:
        assert [r[0] for r in con.execute("select key from kv where ns = 'seen'")] == ["e2"]
    assert store.get("profile", "p1") == {"segment": "loyal"}  # namespaces without expiry are kept
    assert store.add_if_absent("seen", "e1", 1)  # the expired claim no longer blocks a new one
    store.close()


def test_sqlite_opens_a_store_written_before_expiry_existed(tmp_path):
    import sqlite3

    from streamloop.core.store.sqlite import SQLiteStore

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("create table kv (ns text not null, key text not null, value blob not null,"
                    " primary key (ns, key)) without rowid")
        con.execute("insert into kv values ('profile', 'p1', '{\"a\": 1}')")
    store = SQLiteStore(path)
    assert store.get("profile", "p1") == {"a": 1}
    assert store.add_if_absent("seen", "e1", 1) and not store.add_if_absent("seen", "e1", 1)
    store.close()


def test_generation_flips_are_atomic_and_retire_per_family(store):
    from streamloop.core.store.generations import current, flip, read_published, versioned

    # GIVEN a first publication of both families, then a model-only one
    store.put_many("profile", {versioned("w1", "p1"): {"v": "w1"}})
    store.put_many("candidates", {versioned("w1", "p1"): {"v": "m-w1"}})
    flip(store, warehouse="w1", model="w1", model_version="recommender:v1")
    store.put_many("candidates", {versioned("m2", "p1"): {"v": "m2"}})
    # WHEN the pointer flips to it
    pointer = flip(store, model="m2", model_version="recommender:v2")
    # THEN readers see the new model with the unchanged warehouse; the old model generation waits one flip
    assert (pointer["warehouse"], pointer["model"], pointer["model_version"]) == ("w1", "m2", "recommender:v2")
    assert read_published(store, "candidates", ["p1"]) == {"p1": {"v": "m2"}}
    assert read_published(store, "profile", ["p1"]) == {"p1": {"v": "w1"}}
    assert store.get("candidates", "w1/p1") == {"v": "m-w1"}
    store.put_many("candidates", {versioned("m3", "p1"): {"v": "m3"}})
    flip(store, model="m3")
    # AND the model family's w1 keys are deleted while the warehouse family's w1 keys stay current
    assert store.get("candidates", "w1/p1") is None and store.get("candidates", "m2/p1") == {"v": "m2"}
    assert store.get("profile", "w1/p1") == {"v": "w1"}
    assert current(store)["retired"] == [["model", "m2"]]


def test_privacy_scans_find_published_keys_under_any_generation(store):
    store.put_many("profile", {"g1/p1": {"account_id": "a1"}, "g2/p1": {"account_id": "a1"}, "g1/p10": {}})
    store.put_many("state", {"p1": {"completed": []}})
    store.put_many("candidates", {"g1/p2": {"items": [["t1", 1.0]]}})
    assert sorted(store.keys_mentioning("p1")) == [("profile", "g1/p1"), ("profile", "g2/p1"), ("state", "p1")]


class _SlowClient:
    """A moto DynamoDB client whose single-item writes take 50 ms, like a real round trip, and which
    records how many of them were in flight at once."""

    def __init__(self, client, delay_s: float = 0.05):
        self._client, self._delay_s = client, delay_s
        self._lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if name not in ("put_item", "delete_item"):
            return attr

        def slow(**kwargs):
            with self._lock:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                import time

                time.sleep(self._delay_s)
                return attr(**kwargs)
            finally:
                with self._lock:
                    self.in_flight -= 1
        return slow


def test_dynamodb_conditional_writes_of_a_request_run_concurrently(monkeypatch):
    # GIVEN DynamoDB with 50 ms writes and 64 idempotency markers, 8 of them already present
    import time

    with moto_dynamodb(monkeypatch, "online-test") as raw:
        client = _SlowClient(raw)
        store = DynamoDBStore("online-test", "us-east-1", client=client)
        store.put_many("seen", {f"e{i}": 1 for i in range(8)})
        # WHEN one request adds them all and updates 16 states
        started = time.perf_counter()
        added = store.add_many_if_absent("seen", {f"e{i}": 2 for i in range(64)})
        states = store.update_many("state", {f"p{i}": (lambda old, i=i: {"n": i}) for i in range(16)})
        seconds = time.perf_counter() - started
        store.close()
    # THEN the answers are exactly the sequential ones, with writes in flight together (sequential: ≥ 4 s)
    assert added == {f"e{i}" for i in range(8, 64)}
    assert states == {f"p{i}": {"n": i} for i in range(16)}
    assert client.most_in_flight > 1
    assert seconds < 2.0
