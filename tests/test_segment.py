"""Segment mapping (functions/segment.py) on the Video Spec's published examples, verbatim."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from functions.segment import map_batch, map_message
from streamloop.core.contract import validate_event

SPEC = json.loads((Path(__file__).parent / "data" / "segment_video_spec.json").read_text())
LIBRARY_ENVELOPE = {"messageId": "m-1", "timestamp": "2026-12-01T20:00:00.000Z", "anonymousId": "anon-1",
                    "context": {"device": {"id": "roku-9", "type": "roku"}, "app": {"version": "2.0"},
                                "os": {"name": "Roku OS"}, "locale": "en-GB", "timezone": "Europe/London"}}


def test_the_spec_playback_started_example_is_a_play_start_of_its_first_asset():
    # GIVEN the spec's example, verbatim ("action": "track", content_asset_ids as an array), in the envelope
    # a library adds
    message = SPEC["playback_started_message"] | LIBRARY_ENVELOPE
    event, errors, ignored = map_message(message)
    assert (errors, ignored) == ([], None)
    assert event["event_type"] == "play_start" and event["profile_id"] == "userId"
    assert event["properties"] == {"title_id": "0129370", "position_s": 0, "duration_s": 392}
    assert event["context"] == {"country": "GB", "device_type": "tv", "app_version": "2.0", "os": "Roku OS",
                                "timezone": "Europe/London"}
    assert validate_event(event, datetime(2026, 12, 1, 20, 1, tzinfo=UTC)) == []


def test_the_lifecycle_maps_every_playback_and_content_event_and_ignores_ads():
    messages = [{"type": "track", "event": name, "properties": props, "messageId": f"m{i}"} | {
        k: v for k, v in LIBRARY_ENVELOPE.items() if k != "messageId"} for i, (name, props) in enumerate(SPEC["lifecycle"])]
    mapped = map_batch(messages)
    kinds = [e["event_type"] if e else None for e in mapped.events]
    assert kinds == ["play_start", "heartbeat", "heartbeat", "heartbeat", "pause", "resume", None, None, None, None,
                     "heartbeat", "play_complete", None, None, None, "play_complete"]
    assert sorted(mapped.ignored) == [6, 7, 8, 9, 12, 13, 14] and mapped.errors == {}
    assert all(e["properties"]["title_id"] == "0129370" for e in mapped.events if e)  # the last from the session
    assert mapped.sessions == {"12345": "0129370"}


def test_a_session_title_comes_from_the_store_and_without_it_the_reject_names_the_field():
    completed = {"type": "track", "event": "Video Playback Completed", "properties": SPEC["lifecycle"][-1][1]} \
        | LIBRARY_ENVELOPE
    recalled = map_batch([completed], recall=lambda ids: {i: "0129370" for i in ids})
    assert recalled.events[0]["properties"]["title_id"] == "0129370"
    forgotten = map_batch([completed], recall=lambda ids: {})
    event = forgotten.events[0]
    assert "properties.title_id: required" in validate_event(event, datetime(2026, 12, 1, 20, 1, tzinfo=UTC))


def test_what_the_product_does_not_use_is_ignored_and_unknown_types_are_rejected():
    assert map_message({"type": "page", "name": "Home"})[2] == "page messages are not collected"
    assert map_message({"type": "track", "event": "Video Ad Started"})[2].startswith("track event 'Video Ad Started'")
    assert map_message({"type": "track", "event": "Order Completed"})[2] is not None
    event, errors, ignored = map_message({"type": "purchase"})
    assert event is None and ignored is None and errors[0].startswith("type: unknown Segment message type 'purchase'")
    assert map_message(["not", "an", "object"])[1] == ["message: must be a JSON object (got list)"]
