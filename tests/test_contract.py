"""The event contract: one schema file, a fast validator that agrees with the reference implementation."""
from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from streamloop.core.contract import (
    EVENT_SCHEMA,
    EVENT_TYPES,
    alternative_properties,
    required_properties,
    validate_catalog_record,
    validate_event,
)

VALID_PROPERTIES = {
    "title_id": "t1", "row_id": "top_picks", "rank": 1, "request_id": "r1", "position_s": 10, "duration_s": 3600,
    "query": "space", "results_count": 3, "value": 1, "plan": "basic", "price_cents": 799, "currency": "USD",
    "is_trial": False, "reason": "too_expensive", "amount_cents": 799, "campaign_id": "c", "message_id": "m",
    "channel": "email", "granted": True, "experiment_id": "e", "variant": "a", "is_kids": False, "maturity_rating": "18+",
    "address": "viewer@example.com",
}


def make_event(event_type: str) -> dict:
    groups = alternative_properties(event_type)  # one of these groups is needed: take the first
    needed = required_properties(event_type) + (groups[0] if groups else [])
    props = {k: VALID_PROPERTIES[k] for k in needed}
    return {
        "event_id": f"e-{event_type}", "event_type": event_type, "occurred_at": "2026-03-01T20:15:00+01:00",
        "device_id": "d1", "profile_id": "p1", "account_id": "a1",
        "context": {"country": "DE", "device_type": "tv", "app_version": "5.1", "os": "tizen", "timezone": "Europe/Berlin"},
        "properties": props, "schema_version": 1,
    }


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_type_has_a_valid_example(event_type):
    # GIVEN a minimal event of each type  WHEN validated  THEN no errors, in ours and the reference engine
    event = make_event(event_type)
    assert validate_event(event) == []
    jsonschema.Draft202012Validator(EVENT_SCHEMA).validate(event)


@pytest.mark.parametrize("event_type", [t for t in EVENT_TYPES if required_properties(t)])
def test_missing_required_property_is_named(event_type):
    event = make_event(event_type)
    missing = required_properties(event_type)[0]
    del event["properties"][missing]
    assert f"properties.{missing}: required" in validate_event(event)


def test_consent_needs_a_channel_or_a_purpose():
    event = make_event("consent_updated")
    del event["properties"]["channel"]
    assert validate_event(event) == ["properties: needs one of channel, purpose"]
    event["properties"]["purpose"] = "personalization"
    assert validate_event(event) == []
    jsonschema.Draft202012Validator(EVENT_SCHEMA).validate(event)


def test_every_error_is_reported_with_its_field():
    event = make_event("play_start")
    event.update(occurred_at="2026-03-01T20:15:00", event_type="play_start", device_id=None)
    event["context"]["country"] = "Germany"
    event["properties"]["position_s"] = "ten"
    errors = validate_event(event)
    fields = {e.split(":")[0] for e in errors}
    assert {"occurred_at", "device_id", "context.country", "properties.position_s"} <= fields


def test_identity_requirements_per_type():
    login = make_event("login")
    login["profile_id"] = None
    assert any(e.startswith("profile_id") for e in validate_event(login))
    # an anonymous app_open is fine
    anon = make_event("app_open")
    anon["profile_id"] = anon["account_id"] = None
    assert validate_event(anon) == []


def test_far_future_and_offsetless_timestamps_are_rejected():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    event = make_event("app_open")
    event["occurred_at"] = (now + timedelta(days=3)).isoformat()
    assert any("future" in e for e in validate_event(event, received_at=now))
    event["occurred_at"] = (now + timedelta(hours=1)).isoformat()
    assert validate_event(event, received_at=now) == []


def test_unknown_type_and_non_objects():
    event = make_event("app_open")
    event["event_type"] = "teleport"
    assert any(e.startswith("event_type") for e in validate_event(event))
    assert validate_event([1, 2]) == ["event: must be a JSON object (got list)"]
    assert validate_event(None)[0].startswith("event:")
    for unhashable in ({"a": 1}, ["play_start"]):  # once raised TypeError (a 500 in the collector)
        event["event_type"] = unhashable
        assert any(e.startswith("event_type: must be one of") for e in validate_event(event))


def test_booleans_are_not_numbers_and_numbers_not_booleans():
    event = make_event("rating")
    event["properties"]["value"] = True
    assert validate_event(event)
    event = make_event("consent_updated")
    event["properties"]["granted"] = 1
    assert validate_event(event)


def test_agrees_with_reference_engine_on_random_mutations():
    # GIVEN many randomly broken events  THEN our validator rejects exactly those the reference rejects
    rng = random.Random(3)
    reference = jsonschema.Draft202012Validator(EVENT_SCHEMA, format_checker=None)
    mutations = [
        lambda e: e.pop("event_id"), lambda e: e.update(event_id=""), lambda e: e.update(schema_version=2),
        lambda e: e["context"].pop("timezone"), lambda e: e["context"].update(device_type="fridge"),
        lambda e: e["properties"].update(rank=0), lambda e: e["properties"].update(position_s=-5),
        lambda e: e.update(properties=[]), lambda e: e.update(profile_id=7), lambda e: None,
    ]
    for _ in range(400):
        event = make_event(rng.choice(EVENT_TYPES))
        rng.choice(mutations)(event)
        ours = validate_event(copy.deepcopy(event))
        theirs = list(reference.iter_errors(event))
        assert bool(ours) == bool(theirs), (json.dumps(event), ours, [e.message for e in theirs])


def test_catalog_records():
    good = {"title_id": "t1", "name": "Pilot", "kind": "episode", "series_id": "s1", "season": 1, "episode": 1,
            "genres": ["drama"], "moods": [], "cast": [], "maturity_rating": "13+", "runtime_s": 2700,
            "release_date": "2025-01-01", "available_countries": ["*"]}
    assert validate_catalog_record(good) == []
    bad = dict(good, series_id=None, maturity_rating="PG", available_countries=[])
    errors = validate_catalog_record(bad)
    assert any(e.startswith("maturity_rating") for e in errors)
    assert any(e.startswith("available_countries") for e in errors)
    assert any(e.startswith("series_id") for e in errors)
