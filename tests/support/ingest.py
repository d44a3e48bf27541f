"""Shared helpers for the ingest tests (no tests here): one valid contract event with overrides."""
from __future__ import annotations


def ingest_event(event_id: str, **overrides) -> dict:
    """A valid `play_start` of profile p1 on device d1; keyword arguments replace whole top-level fields."""
    base = {
        "event_id": event_id, "event_type": "play_start", "occurred_at": "2024-05-01T20:00:00+02:00",
        "device_id": "d1", "profile_id": "p1", "account_id": "a1",
        "context": {"country": "DE", "device_type": "tv", "app_version": "1.0", "os": "tvOS", "timezone": "Europe/Berlin"},
        "properties": {"title_id": "t1", "position_s": 0, "duration_s": 3600}, "schema_version": 1,
    }
    return {**base, **overrides}
