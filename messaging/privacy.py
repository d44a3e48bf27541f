"""Messaging's stores register their erasers (streamloop.core.privacy): the ledger file (messages, outbox,
inbox, contacts, consents, triggers, message events) and its Parquet snapshot in the lake, which the
campaign_sends mart reads. Bounce/complaint suppressions hold only address hashes and are kept: they stop
mail to an address, whoever it belonged to."""
from __future__ import annotations

from streamloop.core.privacy.erasers import ParquetFileEraser, SQLiteFileEraser, register
from streamloop.core.settings import Settings


def _ledger(settings: Settings) -> SQLiteFileEraser:
    return SQLiteFileEraser("messaging ledger", settings.outbox_file)


def _snapshot(settings: Settings) -> ParquetFileEraser:
    return ParquetFileEraser("messaging snapshot", f"{settings.lake_root}/messaging/ledger.parquet")


register(_ledger, order=30)
register(_snapshot, order=31)
