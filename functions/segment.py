"""Segment-style batches (`POST /v1/segment/batch`) translated onto the event contract.

The mapping is documented in docs/segment.md. A message that cannot be mapped is rejected with a
reason (and landed in the lake's `rejected` kind), never dropped; mapped messages then go through the
same validation, deduplication and landing as POST /v1/events.
"""
from __future__ import annotations

from streamloop.core.contract import EVENT_TYPES

# Segment Video Spec events -> contract play events
VIDEO_EVENTS = {
    "Video Playback Started": "play_start",
    "Video Playback Resumed": "resume",
    "Video Playback Paused": "pause",
    "Video Playback Interrupted": "play_stop",
    "Video Playback Exited": "play_stop",
    "Video Playback Completed": "play_complete",
    "Video Content Started": "heartbeat",
    "Video Content Playing": "heartbeat",
    "Video Content Completed": "play_complete",
}
DEVICE_TYPES = {
    "ios": "mobile", "android": "mobile", "mobile": "mobile", "phone": "mobile",
    "ipad": "tablet", "tablet": "tablet",
    "tv": "tv", "tvos": "tv", "androidtv": "tv", "roku": "tv", "firetv": "tv", "smarttv": "tv",
    "web": "web", "browser": "web", "desktop": "web",
    "console": "console", "xbox": "console", "playstation": "console",
}


def _context(message: dict) -> dict:
    ctx = message.get("context") or {}
    device = ctx.get("device") or {}
    raw_type = str(device.get("type") or "").lower()
    out = {
        "country": (ctx.get("location") or {}).get("country"),
        "device_type": DEVICE_TYPES.get(raw_type, raw_type or None),
        "app_version": (ctx.get("app") or {}).get("version"),
        "os": (ctx.get("os") or {}).get("name"),
        "timezone": ctx.get("timezone"),
    }
    if ctx.get("ip"):
        out["ip"] = ctx["ip"]
    if ctx.get("userAgent"):
        out["user_agent"] = ctx["userAgent"]
    return {k: v for k, v in out.items() if v is not None}


def _video_properties(props: dict, event_type: str) -> dict:
    title_id = props.get("content_asset_id") or props.get("asset_id")
    out = {"title_id": title_id, "position_s": props.get("position")}
    if event_type == "play_start":
        out["duration_s"] = props.get("total_length")
    return {k: v for k, v in out.items() if v is not None}


def map_message(message) -> tuple[dict | None, list[str]]:
    """One Segment message -> (contract event, []) or (None, [reason])."""
    if not isinstance(message, dict):
        return None, [f"message: must be a JSON object (got {type(message).__name__})"]
    kind = message.get("type")
    props = message.get("properties") or {}
    traits = message.get("traits") or (message.get("context") or {}).get("traits") or {}
    if kind == "identify":
        if "maturity_rating" in traits or "is_kids" in traits:
            event_type = "profile_updated"
            props = {k: traits[k] for k in ("is_kids", "maturity_rating", "language", "timezone") if k in traits}
        else:
            event_type, props = "login", {}
    elif kind == "track":
        name = message.get("event")
        if name in VIDEO_EVENTS:
            event_type = VIDEO_EVENTS[name]
            props = _video_properties(props, event_type)
        elif name in EVENT_TYPES:
            event_type = name
        else:
            return None, [f"event: Segment track event {name!r} has no streamloop mapping (see docs/segment.md)"]
    else:
        return None, [f"type: Segment {kind!r} messages are not collected (identify and track are)"]
    context = _context(message)
    event = {
        "event_id": message.get("messageId"),
        "event_type": event_type,
        "occurred_at": message.get("timestamp") or message.get("originalTimestamp"),
        "device_id": ((message.get("context") or {}).get("device") or {}).get("id") or message.get("anonymousId"),
        "profile_id": message.get("userId"),
        "account_id": traits.get("account_id"),
        "context": context,
        "properties": props,
        "schema_version": 1,
    }
    return event, []


def map_batch(messages: list) -> tuple[list, dict[int, list[str]]]:
    """Maps a Segment batch; returns the events (None where unmappable) and reasons by index."""
    events, errors = [], {}
    for index, message in enumerate(messages):
        event, problems = map_message(message)
        events.append(event)
        if problems:
            errors[index] = problems
    return events, errors
