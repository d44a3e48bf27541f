"""Real-time state rules: progress, completion (explicit or at 90%), late events, kids settings."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.functions import event

from functions.realtime import apply_events

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TITLES = {"m1": {"kind": "movie", "genres": ["drama", "crime"], "runtime_s": 6000},
          "e1": {"kind": "episode", "genres": ["comedy"], "series_id": "s1", "runtime_s": 1800}}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_progress_is_the_latest_position_whatever_the_arrival_order():
    events = [event("heartbeat", title_id="m1", position_s=900, occurred_at=at(15)),
              event("play_start", title_id="m1", position_s=0, duration_s=6000, occurred_at=at(0)),
              event("heartbeat", title_id="m1", position_s=300, occurred_at=at(5))]
    state = apply_events(None, events, TITLES)
    assert state["in_progress"]["m1"]["position_s"] == 900
    assert state["in_progress"]["m1"]["duration_s"] == 6000
    # a late heartbeat from before what we know changes nothing
    late = apply_events(state, [event("heartbeat", title_id="m1", position_s=60, occurred_at=at(1))], TITLES)
    assert late["in_progress"]["m1"]["position_s"] == 900


def test_completion_on_play_complete_or_at_ninety_percent():
    done = apply_events(None, [event("play_start", title_id="m1", position_s=0, duration_s=6000, occurred_at=at(0)),
                               event("play_complete", title_id="m1", position_s=6000, occurred_at=at(100))], TITLES)
    assert "m1" not in done["in_progress"] and done["completed"][0]["title_id"] == "m1"
    # an episode stopped at 92% of its runtime (no duration on the events) counts as completed
    nearly = apply_events(None, [event("heartbeat", title_id="e1", position_s=1660, occurred_at=at(30))], TITLES)
    assert nearly["completed"][0] == {"title_id": "e1", "series_id": "s1", "kind": "episode", "at": at(30).timestamp()}
    assert nearly["in_progress"] == {}
    # a heartbeat delivered late, from before the completion, does not resurrect the title
    again = apply_events(done, [event("heartbeat", title_id="m1", position_s=3000, occurred_at=at(50))], TITLES)
    assert "m1" not in again["in_progress"]
    # a new start after the completion is a rewatch, in progress again
    rewatch = apply_events(done, [event("play_start", title_id="m1", position_s=0, duration_s=6000,
                                        occurred_at=at(200))], TITLES)
    assert "m1" in rewatch["in_progress"]


def test_recent_genres_decay_and_profile_settings_are_fresh():
    state = apply_events(None, [event("play_start", title_id="m1", position_s=0, duration_s=6000, occurred_at=at(0)),
                                event("play_start", title_id="e1", position_s=0, duration_s=1800, occurred_at=at(5))],
                         TITLES)
    assert state["recent_genres"]["comedy"] == 1.0 and state["recent_genres"]["drama"] == 0.9
    kid = apply_events(state, [event("profile_updated", is_kids=True, maturity_rating="7+", occurred_at=at(6),
                                     country="DE")], TITLES)
    assert (kid["is_kids"], kid["maturity_rating"], kid["country"]) == (True, "7+", "DE")
    # a profile change delivered late, from before the kids setting, does not undo it
    late = apply_events(kid, [event("profile_updated", is_kids=False, maturity_rating="18+", occurred_at=at(3))],
                        TITLES)
    assert (late["is_kids"], late["maturity_rating"]) == (True, "7+")


def test_collector_values_have_their_declared_shapes():
    from functions.collector import _add_counts
    from streamloop.core.store.values import StoreValueError, validate

    state = apply_events(None, [event("play_start", title_id="m1", position_s=0, duration_s=6000, occurred_at=at(0)),
                                event("play_complete", title_id="e1", position_s=1800, occurred_at=at(40)),
                                event("profile_updated", is_kids=False, maturity_rating="16+", occurred_at=at(41))],
                         TITLES)
    validate("state", "p", state)
    assert state["completed"] == [{"title_id": "e1", "series_id": "s1", "kind": "episode", "at": at(40).timestamp()}]
    bandit = _add_counts(None, {"a": {"impressions": 2, "clicks": 1}})
    validate("bandit", "home_row_order", bandit)
    assert bandit["arms"] == {"a": {"impressions": 2, "clicks": 1}}
    broken = dict(state, completed=[{"title_id": "e1"}])  # a reader would miss series_id, kind, at
    with pytest.raises(StoreValueError, match="state/p: completed.0.series_id"):
        validate("state", "p", broken)
