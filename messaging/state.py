"""Which messaging state this process uses (settings.messaging_store): light to import, so the API and
collector open it without loading the runner (DuckDB, templates)."""
from __future__ import annotations

from collections.abc import Callable

from messaging.ledger import sqlite_opener
from messaging.records import MessagingState
from streamloop.core.settings import Settings


def opener(settings: Settings) -> Callable[..., MessagingState | None]:
    """open(read_only=False) for the configured messaging state: the SQLite file (STREAMLOOP_OUTBOX_PATH) or
    the DynamoDB table (STREAMLOOP_MESSAGING_STORE=dynamodb, STREAMLOOP_MESSAGING_DYNAMODB_TABLE)."""
    if settings.messaging_store == "dynamodb":
        def open_dynamodb(read_only: bool = False) -> MessagingState:
            from messaging.dynamodb import DynamoLedger

            return DynamoLedger(settings.messaging_dynamodb_table, settings.aws_region, read_only=read_only)
        return open_dynamodb
    return sqlite_opener(settings.outbox_file)


def open_ledger(settings: Settings) -> MessagingState:
    return opener(settings)()
