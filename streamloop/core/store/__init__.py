"""The online feature store (docs/architecture.md, "Online store"): SQLite by default, DynamoDB on AWS."""
from __future__ import annotations

from streamloop.core.store.base import OnlineStore, StoreError  # noqa: F401


def get_store(settings) -> OnlineStore:
    """The backend chosen by settings.online_store (STREAMLOOP_ONLINE_STORE)."""
    return open_store(settings.online_store, sqlite_path=settings.online_store_file,
                      dynamodb_table=settings.dynamodb_table, aws_region=settings.aws_region)


def open_store(backend: str, *, sqlite_path=None, dynamodb_table: str | None = None,
               aws_region: str | None = None) -> OnlineStore:
    """The one place the backend is chosen: `dynamodb`, else the SQLite file (settings and Dagster's resource)."""
    if backend == "dynamodb":
        from streamloop.core.store.dynamodb import DynamoDBStore

        return DynamoDBStore(dynamodb_table, aws_region)
    from streamloop.core.store.sqlite import SQLiteStore

    return SQLiteStore(sqlite_path)
