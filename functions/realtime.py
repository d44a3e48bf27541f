"""Real-time profile state (`state` namespace), updated by the collector the moment events arrive.

Value shape: `StateValue` in streamloop/core/store/values.py (times are epoch seconds of the events'
`occurred_at`, so late events cannot undo newer ones). `completed` (newest first, the last MAX_COMPLETED)
is what serving adds to the published `finished_title_ids` until the next publication (seen means seen).

A play counts as completed on `play_complete` or when a heartbeat/stop reaches 90% of the runtime
(CONTRACT §3), the same rule the warehouse applies.
"""
from __future__ import annotations

from collections.abc import Iterable

from streamloop.core.constants import COMPLETION_THRESHOLD
from streamloop.core.contract.validate import parse_timestamp
from streamloop.core.store.values import StateValue, TitleValue

PLAY_EVENTS = frozenset({"play_start", "heartbeat", "pause", "resume", "play_stop"})
STATE_EVENTS = PLAY_EVENTS | {"play_complete", "profile_updated", "consent_updated"}
MAX_IN_PROGRESS = 30
MAX_COMPLETED = 20
MAX_GENRES = 12
GENRE_DECAY = 0.9


def event_time(event: dict) -> float:
    ts = parse_timestamp(event.get("occurred_at"))
    return ts.timestamp() if ts else 0.0


def apply_events(state: StateValue | None, events: Iterable[dict], titles: dict[str, TitleValue]) -> StateValue:
    """A new state from `state` and this profile's events (any order); `titles` gives catalog entries."""
    new: StateValue = {
        "in_progress": dict((state or {}).get("in_progress", {})),
        "completed": list((state or {}).get("completed", [])),
        "recent_genres": dict((state or {}).get("recent_genres", {})),
        **{k: v for k, v in (state or {}).items() if k not in ("in_progress", "completed", "recent_genres")},
    }
    state = new
    timed = [(event_time(e), e) for e in events]
    if len(timed) > 1:
        timed.sort(key=lambda pair: pair[0])
    for at, event in timed:
        _apply(state, event, at, titles)
    if len(state["in_progress"]) > MAX_IN_PROGRESS:
        newest = sorted(state["in_progress"].items(), key=lambda kv: kv[1]["at"], reverse=True)
        state["in_progress"] = dict(newest[:MAX_IN_PROGRESS])
    del state["completed"][MAX_COMPLETED:]
    if len(state["recent_genres"]) > MAX_GENRES:
        state["recent_genres"] = dict(sorted(state["recent_genres"].items(), key=lambda kv: -kv[1])[:MAX_GENRES])
    return state


def _apply(state: StateValue, event: dict, at: float, titles: dict[str, TitleValue]) -> None:
    event_type = event["event_type"]
    context = event.get("context") or {}
    if at >= state.get("updated_at", 0):  # the latest event's country and device are the profile's now
        if context.get("country"):
            state["country"] = context["country"]
        if context.get("device_type"):
            state["device_type"] = context["device_type"]
    state["updated_at"] = max(state.get("updated_at", 0), at)
    props = event.get("properties") or {}
    if event_type == "profile_updated":  # a late, older profile change never undoes a newer one
        if at >= state.get("profile_at", float("-inf")):
            state["is_kids"] = bool(props.get("is_kids"))
            state["maturity_rating"] = props.get("maturity_rating")
            state["profile_at"] = at
        return
    if event_type == "consent_updated":  # personalization consent counts from the next request on
        if props.get("purpose") == "personalization" and at >= state.get("personalization_at", float("-inf")):
            state["personalization"] = bool(props.get("granted"))
            state["personalization_at"] = at
        return
    if event_type not in STATE_EVENTS:
        return
    title_id = props["title_id"]
    title = titles.get(title_id) or {}
    previous = state["in_progress"].get(title_id)
    if previous and previous["at"] > at:
        return  # a late event older than what we already know about this title
    last_completion = next((c["at"] for c in state["completed"] if c["title_id"] == title_id), None)
    if event_type in PLAY_EVENTS and last_completion is not None and last_completion >= at:
        return  # a late event from before the title was finished
    duration = props.get("duration_s") or (previous or {}).get("duration_s") or title.get("runtime_s")
    position = float(props.get("position_s", 0))
    reached_end = event_type in ("heartbeat", "play_stop") and duration and position >= COMPLETION_THRESHOLD * duration
    if event_type == "play_start":
        _bump_genres(state, title.get("genres") or [])
    if event_type == "play_complete" or reached_end:
        state["in_progress"].pop(title_id, None)
        state["completed"] = [c for c in state["completed"] if c["title_id"] != title_id]
        state["completed"].insert(0, {"title_id": title_id, "series_id": title.get("series_id"),
                                      "kind": title.get("kind"), "at": at})
        if event_type == "play_complete" and previous is None:
            _bump_genres(state, title.get("genres") or [])
        return
    state["in_progress"][title_id] = {"position_s": position, "duration_s": duration,
                                      "series_id": title.get("series_id"), "at": at}


def _bump_genres(state: StateValue, genres: list[str]) -> None:
    weights = state["recent_genres"]
    for genre in list(weights):
        weights[genre] = round(weights[genre] * GENRE_DECAY, 4)
    for genre in genres:
        weights[genre] = round(weights.get(genre, 0.0) + 1.0, 4)
