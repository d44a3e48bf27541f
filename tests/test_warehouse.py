"""The warehouse build (dbt staging → marts) on small hand-made lakes: validation agrees with the
contract, every record is accounted for, identity/sessions/plays rules hold end to end, and
`streamloop build` reports and fails in one line. One warehouse is built per module and shared."""
from __future__ import annotations

import copy
import csv
import json
import re
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from support.home import land_events, use_home

from orchestration.dbt_runner import run_dbt
from streamloop.app.build import run_build, summarize_warehouse
from streamloop.core.contract import EVENT_TYPES, validate_event
from streamloop.core.errors import StreamloopError
from streamloop.core.settings import DBT_PROJECT_DIR, get_settings

RECEIVED_AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CONTEXT = {"country": "DE", "device_type": "tv", "app_version": "5.1", "os": "tizen", "timezone": "Europe/Berlin"}


def contract_rules() -> list[dict]:
    with open(DBT_PROJECT_DIR / "seeds" / "contract_event_fields.csv") as f:
        return list(csv.DictReader(f))


def valid_event(event_type: str, event_id: str, device: str = "dv") -> dict:
    """A minimal valid event of `event_type`, its required fields filled from the contract seed."""
    event = {
        "event_id": event_id, "event_type": event_type, "occurred_at": "2026-03-02T10:00:00+01:00",
        "device_id": device, "profile_id": None, "account_id": None, "context": dict(CONTEXT),
        "properties": {}, "schema_version": 1,
    }
    for rule in contract_rules():
        if rule["event_type"] != event_type or rule["is_required"] != "true":
            continue
        if rule["allowed_values"]:
            value = rule["allowed_values"].split("|")[0]
            value = int(value) if rule["json_type"] == "integer" else value
        else:
            value = {"string": "x1", "integer": 1, "number": 1.0, "boolean": True}[rule["json_type"]]
        if rule["field"].startswith("properties."):
            event["properties"][rule["field"][11:]] = value
        else:
            event[rule["field"]] = value
    return event


def _without(d: dict, *path):
    d = copy.deepcopy(d)
    target = d
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return d


def _with(d: dict, value, *path):
    d = copy.deepcopy(d)
    target = d
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return d


def invalid_events() -> list[tuple[str, dict]]:
    """(case name, event) pairs each breaking the contract in one way."""
    base = valid_event("impression", "bad")
    cases = [
        ("no event_id", _without(base, "event_id")),
        ("empty event_id", _with(base, "", "event_id")),
        ("numeric event_id", _with(base, 5, "event_id")),
        ("unknown type", _with(base, "teleport", "event_type")),
        ("no offset", _with(base, "2026-03-02T10:00:00", "occurred_at")),
        ("not a time", _with(base, "yesterday", "occurred_at")),
        ("far future", _with(base, "2026-03-05T10:00:00Z", "occurred_at")),
        ("no device", _without(base, "device_id")),
        ("schema 2", _with(base, 2, "schema_version")),
        ("schema as text", _with(base, "1", "schema_version")),
        ("no context", _without(base, "context")),
        ("context a string", _with(base, "tv", "context")),
        ("country name", _with(base, "Germany", "context", "country")),
        ("device fridge", _with(base, "fridge", "context", "device_type")),
        ("no os", _without(base, "context", "os")),
        ("no properties", _without(base, "properties")),
        ("rank zero", _with(base, 0, "properties", "rank")),
        ("rank text", _with(base, "1", "properties", "rank")),
        ("propensity above 1", _with(base, 2.5, "properties", "propensity")),
        ("login without account", _with(valid_event("login", "bad-login"), None, "account_id")),
        ("rating of 3", _with(valid_event("rating", "bad-rating"), 3, "properties", "value")),
        ("position as text", _with(valid_event("heartbeat", "bad-hb"), "10", "properties", "position_s")),
        ("consent granted as text", _with(valid_event("consent_updated", "bad-consent"), "yes", "properties", "granted")),
    ]
    for event_type in EVENT_TYPES:
        event = valid_event(event_type, f"bad-{event_type}")
        for name in list(event["properties"]):
            cases.append((f"{event_type} without {name}", _without(event, "properties", name)))
    return cases


NOT_OBJECTS = [("not JSON", '{"event_id": "x", '), ("JSON array", "[1, 2]"), ("JSON string", '"hello"')]
EDGE_REJECTS = ['{"event_id": "edge-1"}', "garbage"]


def valid_scenario() -> list[dict]:
    """Valid events of every type, plus a small story on one device (login, plays, an unknown title)."""
    events = [valid_event(t, f"ok-{t}", device=f"dev-{t}") for t in EVENT_TYPES]
    # strings with escapes and non-ASCII text survive parsing unchanged
    events.append(valid_event("search", 'ok-"quoted"\\-café-😀', device="dév\ttab"))
    story = [
        ("s1", "app_open", 0, {}), ("s2", "login", 1, {}),
        ("s3", "play_start", 2, {"title_id": "t-known", "position_s": 0, "duration_s": 100}),
        ("s4", "play_complete", 3, {"title_id": "t-known", "position_s": 95}),
        ("s5", "play_start", 50, {"title_id": "t-unknown", "position_s": 0, "duration_s": 100}),
    ]
    for event_id, event_type, minute, properties in story:
        e = valid_event(event_type, event_id, device="story")
        e["occurred_at"] = (datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(minutes=minute)).isoformat()
        e["properties"] = properties
        if event_type == "login":
            e["profile_id"], e["account_id"] = "p-story", "a-story"
        events.append(e)
    return events


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    home = use_home(mp, tmp_path_factory.mktemp("warehouse") / "home")
    valid = valid_scenario()
    invalid = invalid_events()
    raws = [json.dumps(e) for e in valid] + [json.dumps(e) for _, e in invalid] + [raw for _, raw in NOT_OBJECTS]
    land_events(raws, RECEIVED_AT, batch_id="main")
    land_events([valid[0], valid[1]], RECEIVED_AT + timedelta(hours=1), batch_id="retry")  # duplicates
    land_events(EDGE_REJECTS, RECEIVED_AT, kind="rejected", batch_id="edge")
    Lake_catalog = [{"title_id": "t-known", "name": "Known", "kind": "movie", "genres": [], "moods": [], "cast": [],
                     "maturity_rating": "all", "runtime_s": 100, "release_date": None, "available_countries": ["*"]}]
    land_events(Lake_catalog, RECEIVED_AT, kind="catalog", batch_id="cat")
    summary = run_build()
    yield {"home": home, "summary": summary, "valid": valid, "invalid": invalid, "path": get_settings().warehouse_file}
    mp.undo()
    get_settings.cache_clear()


def query(warehouse, sql, params=None):
    with duckdb.connect(str(warehouse["path"]), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.mark.slow
def test_every_valid_event_is_accepted_once(warehouse):
    accepted = {r[0] for r in query(warehouse, "select event_id from events")}
    assert accepted == {e["event_id"] for e in warehouse["valid"]}


@pytest.mark.slow
def test_each_invalid_event_is_rejected_naming_a_field_the_edge_validator_also_names(warehouse):
    rejected = dict(query(warehouse, "select raw, reason from rejected_events where rejected_at_stage = 'warehouse'"))
    mismatches = []
    for name, event in warehouse["invalid"]:
        raw = json.dumps(event)
        expected_fields = {error.split(":")[0] for error in validate_event(event, received_at=RECEIVED_AT)}
        assert expected_fields, f"case {name!r} is not invalid by the contract"
        reason = rejected.get(raw)
        if reason is None or reason.split(":")[0] not in expected_fields:
            mismatches.append((name, reason, sorted(expected_fields)))
    assert mismatches == []


@pytest.mark.slow
def test_records_that_are_not_json_objects_are_rejected_with_the_raw_text_kept(warehouse):
    rejected = dict(query(warehouse, "select raw, reason from rejected_events"))
    assert rejected[NOT_OBJECTS[0][1]] == "raw: not valid JSON"
    assert rejected[NOT_OBJECTS[1][1]].startswith("event: must be a JSON object")
    assert rejected[NOT_OBJECTS[2][1]].startswith("event: must be a JSON object")


@pytest.mark.slow
def test_edge_rejects_are_kept_with_their_reason_and_stage(warehouse):
    rows = query(warehouse, "select raw, rejected_at_stage, reason from rejected_events where rejected_at_stage = 'edge'")
    assert sorted(r[0] for r in rows) == sorted(EDGE_REJECTS)


@pytest.mark.slow
def test_counts_reconcile_with_what_was_landed(warehouse):
    landed = len(warehouse["valid"]) + len(warehouse["invalid"]) + len(NOT_OBJECTS) + 2 + len(EDGE_REJECTS)
    received, accepted, duplicates, rejected = query(
        warehouse, "select sum(received_count), sum(accepted_count), sum(duplicate_count), sum(rejected_count)"
                   " from ingestion_reconciliation")[0]
    assert received == landed
    assert (accepted, duplicates) == (len(warehouse["valid"]), 2)
    assert rejected == len(warehouse["invalid"]) + len(NOT_OBJECTS) + len(EDGE_REJECTS)


@pytest.mark.slow
def test_events_of_titles_missing_from_the_catalog_are_kept_and_flagged(warehouse):
    rows = dict(query(warehouse, "select title_id, is_title_in_catalog from events where device_id = 'story'"
                                 " and title_id is not null"))
    assert rows == {"t-known": True, "t-unknown": False}
    assert query(warehouse, "select count(*) from plays where title_id = 't-unknown'")[0][0] == 1


@pytest.mark.slow
def test_story_is_stitched_sessionized_and_played(warehouse):
    rules = dict(query(warehouse, "select event_id, identity_rule from events where device_id = 'story'"))
    assert rules == {"s1": "device_retroactive", "s2": "explicit", "s3": "device_forward",
                     "s4": "device_forward", "s5": "device_forward"}
    sessions = query(warehouse, "select event_count from sessions where device_id = 'story' order by started_at")
    assert sessions == [(4,), (1,)]  # 47 minutes between s4 and s5
    play = query(warehouse, "select profile_id, watch_seconds, is_completed, end_reason from plays"
                            " where title_id = 't-known'")
    assert play == [("p-story", 60.0, True, "play_complete")]


@pytest.mark.slow
def test_summary_reports_counts_reasons_and_marts(warehouse):
    summary = warehouse["summary"]
    assert summary.received == summary.accepted + summary.duplicates + summary.rejected
    assert summary.rows_per_mart["events"] == len(warehouse["valid"])
    assert summary.rejected_by_reason and all(count > 0 for _, count in summary.rejected_by_reason)
    text = summary.render()
    assert f"{summary.accepted:,}" in text and "duplicates" in text and "events" in text
    assert summarize_warehouse(warehouse["path"]).received == summary.received


@pytest.mark.slow
def test_dbt_unit_tests_of_identity_sessions_plays_and_consent_pass(warehouse):
    # the feature layer's unit tests run in tests/test_features.py
    result = run_dbt(["test", "--select", "test_type:unit,path:models/intermediate test_type:unit,path:models/marts"])
    names = {r.node.name for r in result.result.results}
    assert {"identity_rules_explicit_forward_retroactive_anonymous",
            "sessions_split_at_gaps_of_30_minutes_not_29",
            "play_rules_forward_progress_completion_and_endings",
            "profile_consents_latest_decision_wins_and_unsubscribe_withdraws"} <= names


def test_build_of_an_empty_lake_says_what_to_do(streamloop_home):
    with pytest.raises(StreamloopError, match="has no events: run `streamloop simulate`"):
        run_build()


def test_dbt_failure_names_the_failing_model(streamloop_home, capsys):
    land_events([valid_event("app_open", "e1")], RECEIVED_AT)
    broken = streamloop_home / "lake" / "events" / "received_date=2026-03-02" / "batch-corrupt.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(StreamloopError, match=r"^dbt build failed: (model|test) \w+: .+") as failure:
        run_build()
    assert "\n" not in str(failure.value)
    # progress went to stderr: the build step, dbt's line for the failing node; stdout stays clean
    out, err = capsys.readouterr()
    assert out == ""
    assert "▸ warehouse_models" in err and re.search(r"\d+ of \d+ ERROR creating .* model", err)


def test_a_target_whose_adapter_is_missing_fails_in_one_line(streamloop_home):
    import importlib.util

    # the athena target (profiles.yml, production) needs dbt-athena, which no extra installs
    if importlib.util.find_spec("dbt.adapters.athena") is not None:
        pytest.skip("dbt-athena is installed here")
    land_events([valid_event("app_open", "e1")], RECEIVED_AT)
    with pytest.raises(StreamloopError, match=r"^dbt build failed: .*athena") as failure:
        run_build(target="athena")
    assert "\n" not in str(failure.value)


@pytest.mark.slow
def test_docs_generate_lists_models_and_exposures(warehouse):
    run_dbt(["docs", "generate"])
    target = warehouse["home"] / "dbt" / "target"
    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    assert "model.streamloop.events" in catalog["nodes"]
    assert {"exposure.streamloop.churn_model", "exposure.streamloop.serving_api"} <= set(manifest["exposures"])
