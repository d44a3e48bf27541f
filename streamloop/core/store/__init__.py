"""The online feature store (docs/architecture.md, "Online store"): SQLite by default, DynamoDB on AWS."""
from __future__ import annotations

from streamloop.core.store.base import OnlineStore, StoreError  # noqa: F401


def get_store(settings) -> OnlineStore:
    """The backend chosen by settings.online_store (STREAMLOOP_ONLINE_STORE)."""
    if settings.online_store == "dynamodb":
        from streamloop.core.store.dynamodb import DynamoDBStore

        return DynamoDBStore(settings.dynamodb_table, settings.aws_region)
    from streamloop.core.store.sqlite import SQLiteStore

    return SQLiteStore(settings.online_store_file)
