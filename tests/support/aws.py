"""moto (in-process AWS) for tests that need DynamoDB: the online store's suite and messaging's."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager


@contextmanager
def moto_dynamodb(monkeypatch, table: str, create: Callable | None = None):
    """A moto DynamoDB client with `table` created by `create(client, table)` (default: the online store's
    table). Fake credentials: moto never calls AWS."""
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        import boto3

        if create is None:
            from streamloop.core.store.dynamodb import DynamoDBStore

            create = DynamoDBStore.create_table
        client = boto3.client("dynamodb", region_name="us-east-1")
        create(client, table)
        yield client


class AtomicCalls:
    """A boto3 client whose calls run one at a time. DynamoDB makes each call atomic; moto does not when
    threads share it (a transaction deep-copies tables other threads are writing). Code that runs calls side
    by side (thread pools, two runners at once) is still interleaved call by call, as against DynamoDB."""

    def __init__(self, client):
        import threading

        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        attr = getattr(self._client, name)
        if not callable(attr) or name.startswith("get_") or name in ("exceptions", "meta"):
            return attr

        def call(*args, **kwargs):
            with self._lock:
                return attr(*args, **kwargs)
        return call
