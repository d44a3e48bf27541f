"""Message events land in the lake with one (batch_id, record_index) per record, valid or rejected.

GIVEN a ledger holding two valid message events and one invalid one (no profile context)
WHEN they are exported to the lake
THEN events/ and rejected/ together hold each pending record once, and no (batch_id, record_index) names
two records (staging and erasure address a record by that pair)."""
from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from messaging.events import message_event
from messaging.export import export_events
from messaging.ledger import Ledger
from streamloop.core.lake import Lake

CONTEXT = {"device_id": "d1", "account_id": "a1",
           "context": {"country": "DE", "device_type": "tv", "app_version": "5.1", "os": "tizen",
                       "timezone": "Europe/Berlin"}}


def test_valid_and_rejected_records_of_one_export_have_distinct_record_indexes(tmp_path):
    at = datetime(2026, 3, 1, 20, tzinfo=UTC)
    rows = [{"message_id": f"m{i}", "campaign_id": "c", "profile_id": f"p{i}", "channel": "email",
             "context": CONTEXT} for i in range(3)]
    events = [message_event("message_sent", row, at) for row in rows]
    events[0]["context"] = {}  # fails validation: lands in rejected/ with its reason
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.add_events(events)
    lake = Lake(tmp_path / "lake")

    assert export_events(ledger, lake) == 2

    keys = duckdb.sql(
        f"select batch_id, record_index from read_parquet('{lake.glob('events')}') "
        f"union all select batch_id, record_index from read_parquet('{lake.glob('rejected')}')").fetchall()
    assert len(keys) == 3
    assert len(set(keys)) == 3
    assert ledger.pending_events() == []
