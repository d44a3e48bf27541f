"""Closing the loop: message events land in the raw lake as contract events (validated like any other
producer's; an invalid one goes to `rejected/` with its reason, never dropped), and the ledger lands as one
Parquet snapshot (`<lake>/messaging/ledger.parquet`) that the `campaign_sends` mart reads — holdout and
control rows included, which no event describes."""
from __future__ import annotations

import orjson
import pyarrow as pa

from messaging.records import MESSAGE_FIELDS, MessagingState
from streamloop.core.contract import validate_event
from streamloop.core.lake import Lake, new_batch_id

SOURCE = "messaging"
# the snapshot: every message field but the runner's lease and the event context
LEDGER_COLUMNS = tuple(n for n in MESSAGE_FIELDS if n not in ("owner", "lease_until", "context"))
LEDGER_SCHEMA = pa.schema([(n, pa.int64() if MESSAGE_FIELDS[n] == "int" else pa.string()) for n in LEDGER_COLUMNS])


def export_events(ledger: MessagingState, lake: Lake, events: list[dict] | None = None) -> int:
    """Every pending message event, or only `events`: the ones this process just committed (a campaign run's
    worker exports its shard's own, in parallel and without reading them back)."""
    if events is None:
        pending = [(orjson.loads(body), body) for _, body in ledger.pending_events()]
    else:  # the ledger stored exactly these bytes (add_events)
        pending = [(event, orjson.dumps(event).decode()) for event in events]
    if not pending:
        return 0
    ids = [event["event_id"] for event, _ in pending]
    valid, invalid, reasons = [], [], []
    valid_at, invalid_at = [], []  # positions in the pending set: (batch_id, record_index) names one record
    for position, (event, body) in enumerate(pending):
        errors = validate_event(event)
        if errors:
            invalid.append(body)
            invalid_at.append(position)
            reasons.append("; ".join(str(e) for e in errors))
        else:
            valid.append(body)
            valid_at.append(position)
    batch = new_batch_id(SOURCE, *ids)  # the same pending set re-lands as the same file
    lake.write_records("events", valid, SOURCE, batch_id=batch, record_indexes=valid_at)
    lake.write_records("rejected", invalid, SOURCE, batch_id=batch, reasons=reasons, record_indexes=invalid_at)
    ledger.mark_exported(ids)
    return len(valid)


def ledger_path(lake: Lake) -> str:
    return f"{lake.root}/messaging/ledger.parquet"


def export_ledger(ledger: MessagingState, lake: Lake) -> int:
    table = pa.Table.from_pylist(ledger.snapshot(LEDGER_COLUMNS), schema=LEDGER_SCHEMA)
    lake._write(ledger_path(lake), table)  # the lake's one writer (atomic locally, S3 put remotely)
    return table.num_rows
