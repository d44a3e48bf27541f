"""Data tests on incremental models read the rows a build changed; whole-table runs read everything
(macros/changed_rows_tests.sql). A daily build runs each model's tests in one grouped node
(macros/grouped_data_tests.sql), losing none.

GIVEN a warehouse built from two devices' events, then late events of one device (dA) only
WHEN a row of the untouched device (dB) is broken, or a row inside dA's rebuild window is
THEN the incremental build passes over the first and fails on the second, naming the failing test, and a
build with whole-table tests fails on the first.
"""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from support.home import land_events, use_home

from orchestration.dbt_runner import GROUPED_TEST, WHOLE_TABLE_ONLY_TAG, describe_node, grouped_test_ids
from orchestration.defs.dbt.project import dbt_project
from streamloop.app.build import run_build
from streamloop.core.errors import StreamloopError

DAY1 = datetime(2026, 3, 1, 10, tzinfo=UTC)
CONTEXT = {"country": "DE", "device_type": "tv", "app_version": "5.1", "os": "tizen", "timezone": "Europe/Berlin"}


def app_open(event_id: str, device: str, minute: int) -> dict:
    return {"event_id": event_id, "event_type": "app_open", "occurred_at": (DAY1 + timedelta(minutes=minute)).isoformat(),
            "device_id": device, "profile_id": f"p-{device}", "account_id": f"a-{device}", "context": CONTEXT,
            "properties": {}, "schema_version": 1}


def last_results(home) -> list[dict]:
    return json.loads((home / "dbt" / "build-target" / "run_results.json").read_text())["results"]


def events_test_statuses(home) -> dict[str, str]:
    """The status of each generic test on the events mart in the last build (dbt's run_results.json), the
    grouped one included."""
    names = {r["unique_id"].split(".")[2]: r["status"] for r in last_results(home) if r["unique_id"].startswith("test.")}
    return {name: status for name, status in names.items()
            if name.startswith(("unique_events_event_id", "accepted_values_events_identity_rule",
                                "grouped_data_tests_events"))}


def grouped_members(home) -> set[str]:
    """The tests the last build's grouped tests ran: the names in their compiled SQL."""
    return {name for r in last_results(home) if ".grouped_data_tests_" in r["unique_id"]
            for name in re.findall(r"select '(\w+)' as data_test", r.get("compiled_code") or "")}


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


def test_every_model_with_data_tests_declares_its_group():
    # a model without the group would have nothing run its groupable tests on a daily build
    manifest = json.loads(dbt_project.manifest_path.read_text())
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test" and n.get("test_metadata")]
    with_group = {n["attached_node"] for n in tests if n["test_metadata"]["name"] == GROUPED_TEST}
    assert {n["attached_node"] for n in tests} == with_group
    assert len(grouped_test_ids(manifest)) > 150  # all but the relationships tests and a warning


@pytest.mark.slow
def test_a_daily_build_runs_every_test_once_grouped_per_model(home):
    land_events([app_open("dB-late-1", "dB", 2)], DAY1 + timedelta(days=1, hours=12), home=home, batch_id="daily")
    run_build()
    manifest = json.loads((home / "dbt" / "build-target" / "manifest.json").read_text())
    grouped = {manifest["nodes"][test_id]["name"] for test_id in grouped_test_ids(manifest)}
    ran_alone = {r["unique_id"].split(".")[2] for r in last_results(home)
                 if r["unique_id"].startswith("test.") and ".grouped_data_tests_" not in r["unique_id"]}
    assert grouped_members(home) == grouped and not grouped & ran_alone
    assert any(name.startswith("relationships_") for name in ran_alone)  # not groupable: they run alone
    recounts = {n["name"] for n in manifest["nodes"].values() if WHOLE_TABLE_ONLY_TAG in n.get("tags", [])}
    assert "assert_daily_engagement_sums_match_plays" in recounts and not recounts & ran_alone

    run_build(whole_table_tests=True)  # every test its own node, no group, the whole-table recounts too
    ran = {r["unique_id"].split(".")[2] for r in last_results(home) if r["unique_id"].startswith("test.")}
    assert grouped | recounts <= ran and not any(name.startswith(GROUPED_TEST) for name in ran)


@pytest.mark.slow
def test_a_bad_row_outside_the_rebuild_window_waits_for_the_whole_table_tests(home):
    # an identity rule no rule gives, on one of dB's events: dB gets no new events, so its rows are not this build's
    sql(home, "update events set identity_rule = 'guessed' where event_id = 'dB-5'")
    land_events([app_open("dA-late-1", "dA", 3)], DAY1 + timedelta(days=2), home=home, batch_id="second")

    run_build()  # tests the rows of dA's rebuild window only

    assert sql(home, "select device_id from int_device_rebuild_windows") == [("dA",)]
    assert events_test_statuses(home) == {"grouped_data_tests_events_": "pass"}  # both ran inside the group
    with pytest.raises(StreamloopError, match=r"data test accepted_values on events \(column identity_rule\): 1 failing row"):
        run_build(whole_table_tests=True)
    sql(home, "update events set identity_rule = 'explicit' where event_id = 'dB-5'")


@pytest.mark.slow
def test_a_bad_row_inside_the_rebuild_window_fails_the_incremental_build(home):
    # a second copy of an old dA event upstream: dA's late event rebuilds its session, copy included
    sql(home, "insert into int_events_deduplicated select * from int_events_deduplicated where event_id = 'dA-10'")
    land_events([app_open("dA-late-2", "dA", 7)], DAY1 + timedelta(days=3), home=home, batch_id="third")

    with pytest.raises(StreamloopError, match="dbt build failed: data test"):
        run_build()
    assert events_test_statuses(home)["grouped_data_tests_events_"] == "fail"
    # the error names the group's failing test (the build names its first failing node: this one or another
    # the copy broke): the group's query rerun on the warehouse
    group = next(r for r in last_results(home) if ".grouped_data_tests_events_" in r["unique_id"])
    manifest = json.loads((home / "dbt" / "build-target" / "manifest.json").read_text())
    text = describe_node(manifest["nodes"][group["unique_id"]], group["message"], group["compiled_code"])
    assert text.startswith("data tests of events (the rows this build changed): unique_events_event_id 1 failing row.")
