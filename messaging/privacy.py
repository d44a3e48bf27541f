"""Messaging's stores register their erasers (streamloop.core.privacy): the messaging state (the ledger's
SQLite file, or the DynamoDB messaging table: messages, outbox, inbox, contacts, consents, triggers, message
events), its Parquet snapshot in the lake, which the campaign_sends mart reads, and the published audience
(`<lake>/messaging/audience/`, which the lifecycle Lambda reads). Bounce/complaint
suppressions hold only address hashes and are kept: they stop mail to an address, whoever it belonged to."""
from __future__ import annotations

from collections.abc import Callable

from streamloop.core.privacy.erasers import Erasure, ParquetFileEraser, SQLiteFileEraser, register
from streamloop.core.settings import Settings


class DynamoMessagingEraser:
    """Deletes every item of the DynamoDB messaging table that names a profile (`pid`, a Query on the
    `profile` index per id: each such item carries it, messaging/dynamodb.py)."""

    name = "messaging ledger"

    def __init__(self, ledger_factory: Callable[[], object]):
        self._factory = ledger_factory
        self._ledger = None

    @property
    def ledger(self):
        if self._ledger is None:
            self._ledger = self._factory()
        return self._ledger

    def erase(self, ids: frozenset[str], event_ids: frozenset[str]) -> Erasure:
        return Erasure(self.name, self.ledger.erase_profiles(ids))

    def count(self, ids: frozenset[str]) -> int:
        return sum(len(self.ledger.profile_keys(i)) for i in sorted(ids))


def _ledger(settings: Settings) -> SQLiteFileEraser | DynamoMessagingEraser:
    if settings.messaging_store == "dynamodb":
        from messaging.state import open_ledger

        return DynamoMessagingEraser(lambda: open_ledger(settings))
    return SQLiteFileEraser("messaging ledger", settings.outbox_file)


def _snapshot(settings: Settings) -> ParquetFileEraser:
    return ParquetFileEraser("messaging snapshot", f"{settings.lake_root}/messaging/ledger.parquet")


def _audience(table: str) -> Callable[[Settings], ParquetFileEraser]:
    def eraser(settings: Settings) -> ParquetFileEraser:
        return ParquetFileEraser(f"messaging audience {table}", f"{settings.lake_root}/messaging/audience/{table}.parquet")
    return eraser


register(_ledger, order=30)
register(_snapshot, order=31)
# the published audience (messaging/audience_snapshot.py; names spelled here: privacy never imports duckdb)
for _order, _table in enumerate(("messaging_profiles", "plays"), start=32):
    register(_audience(_table), order=_order)
