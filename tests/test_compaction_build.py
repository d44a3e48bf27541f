"""Compact, then build incrementally: no duplicates, no misses (a compacted file never looks new, an
unbuilt batch is never hidden in one). Three builds: ~2 CPU-minutes, so marked slow."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from conftest import land_events

from orchestration.defs.lake.compaction import processed_event_batches
from orchestration.defs.resources import WarehouseResource
from streamloop.app.build import run_build
from streamloop.core.compaction import compact
from streamloop.core.lake import Lake
from streamloop.core.settings import get_settings

DAY1 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
CONTEXT = {"country": "US", "device_type": "tv", "app_version": "1", "os": "x", "timezone": "UTC"}


def app_open(event_id: str, at: datetime) -> dict:
    return {"event_id": event_id, "event_type": "app_open", "occurred_at": at.isoformat(), "device_id": f"d-{event_id}",
            "profile_id": "p1", "account_id": "a1", "context": CONTEXT, "properties": {}, "schema_version": 1}


def land_batches(prefix: str, count: int, at: datetime) -> set[str]:
    ids = set()
    for number in range(count):
        events = [app_open(f"{prefix}-{number}-{i}", at + timedelta(minutes=i)) for i in range(3)]
        land_events(events, at)
        ids |= {e["event_id"] for e in events}
    return ids


def event_ids() -> list[str]:
    with duckdb.connect(str(get_settings().warehouse_file), read_only=True) as con:
        schema = con.execute("select table_schema from information_schema.tables where table_name = 'events'").fetchone()[0]
        return [row[0] for row in con.execute(f'select event_id from "{schema}".events').fetchall()]


def ledger_rows() -> int:
    with duckdb.connect(str(get_settings().warehouse_file), read_only=True) as con:
        schema = con.execute("select table_schema from information_schema.tables "
                             "where table_name = 'int_events_received'").fetchone()[0]
        return con.execute(f'select count(*) from "{schema}".int_events_received').fetchone()[0]


def compact_now() -> list:
    processed = processed_event_batches(WarehouseResource(path=str(get_settings().warehouse_file)))
    return compact(Lake(get_settings().lake_root), processed, now=DAY1 + timedelta(days=5)).compacted


@pytest.mark.slow
def test_compact_then_build_incrementally_finds_every_event_once(streamloop_home):
    expected = land_batches("built", 4, DAY1)
    run_build()
    # a late back-fill into the same (closed) day, not built yet, and a batch of a later day
    expected |= land_batches("late", 1, DAY1 + timedelta(hours=5))
    expected |= land_batches("next", 2, DAY1 + timedelta(days=1))

    compacted = compact_now()
    assert [(c.received_date, len(c.inputs)) for c in compacted] == [("2026-11-20", 4)]  # the late batch waits
    lake = Lake(get_settings().lake_root)
    assert sum("/batch-" in p for p in lake.files("events")) == 3  # late + two of the next day

    run_build()
    ids = event_ids()
    assert sorted(ids) == sorted(expected)  # no miss, no duplicate
    assert ledger_rows() == len(expected)    # no record read twice

    # now everything is built: the late batch joins the compacted file, the next day compacts too
    compacted = compact_now()
    assert sorted((c.received_date, len(c.inputs)) for c in compacted) == [("2026-11-20", 2), ("2026-11-21", 2)]
    assert all("/compacted-" in p for p in lake.files("events")) and len(lake.files("events")) == 2
    run_build()
    assert sorted(event_ids()) == sorted(expected)
    assert ledger_rows() == len(expected)
