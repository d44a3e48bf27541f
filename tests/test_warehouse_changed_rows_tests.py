"""Data tests on incremental models read the rows a build changed; whole-table runs read everything
(macros/changed_rows_tests.sql).

GIVEN a warehouse built from two devices' events, then late events of one device (dA) only
WHEN a row of the untouched device (dB) is broken, or a row inside dA's rebuild window is
THEN the incremental build passes over the first and fails on the second, and a build with whole-table
tests fails on the first.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from support.home import land_events, use_home

from streamloop.app.build import run_build
from streamloop.core.errors import StreamloopError

DAY1 = datetime(2026, 3, 1, 10, tzinfo=UTC)
CONTEXT = {"country": "DE", "device_type": "tv", "app_version": "5.1", "os": "tizen", "timezone": "Europe/Berlin"}


def app_open(event_id: str, device: str, minute: int) -> dict:
    return {"event_id": event_id, "event_type": "app_open", "occurred_at": (DAY1 + timedelta(minutes=minute)).isoformat(),
            "device_id": device, "profile_id": f"p-{device}", "account_id": f"a-{device}", "context": CONTEXT,
            "properties": {}, "schema_version": 1}


def events_test_statuses(home) -> dict[str, str]:
    """The status of each generic test on the events mart in the last build (dbt's run_results.json)."""
    results = json.loads((home / "dbt" / "build-target" / "run_results.json").read_text())["results"]
    names = {r["unique_id"].split(".")[2]: r["status"] for r in results if r["unique_id"].startswith("test.")}
    return {name: status for name, status in names.items()
            if name.startswith(("unique_events_event_id", "accepted_values_events_identity_rule"))}


def sql(home, statement: str):
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        return con.execute(statement).fetchall()


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    home = use_home(mp, tmp_path_factory.mktemp("changed-rows") / "home")
    land_events([app_open(f"{d}-{m}", d, m) for d in ("dA", "dB") for m in (0, 5, 10)],
                DAY1 + timedelta(days=1), home=home, batch_id="first")
    run_build()
    yield home
    mp.undo()


@pytest.mark.slow
def test_a_bad_row_outside_the_rebuild_window_waits_for_the_whole_table_tests(home):
    # an identity rule no rule gives, on one of dB's events: dB gets no new events, so its rows are not this build's
    sql(home, "update events set identity_rule = 'guessed' where event_id = 'dB-5'")
    land_events([app_open("dA-late-1", "dA", 3)], DAY1 + timedelta(days=2), home=home, batch_id="second")

    run_build()  # tests the rows of dA's rebuild window only

    assert sql(home, "select device_id from int_device_rebuild_windows") == [("dA",)]
    assert list(events_test_statuses(home).values()) == ["pass", "pass"]
    with pytest.raises(StreamloopError, match=r"data test accepted_values on events \(column identity_rule\): 1 failing row"):
        run_build(whole_table_tests=True)
    sql(home, "update events set identity_rule = 'explicit' where event_id = 'dB-5'")


@pytest.mark.slow
def test_a_bad_row_inside_the_rebuild_window_fails_the_incremental_build(home):
    # a second copy of an old dA event upstream: dA's late event rebuilds its session, copy included
    sql(home, "insert into int_events_deduplicated select * from int_events_deduplicated where event_id = 'dA-10'")
    land_events([app_open("dA-late-2", "dA", 7)], DAY1 + timedelta(days=3), home=home, batch_id="third")

    with pytest.raises(StreamloopError):
        run_build()
    assert events_test_statuses(home)["unique_events_event_id"] == "fail"
