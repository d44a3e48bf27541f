"""Segment batches (`POST /v1/segment/batch`) translated onto the event contract; see docs/segment.md.

Each message becomes one of three things:
- a contract event (identify, playback and content events of the Video Spec, track events named after a
  contract type), which then takes the same path as POST /v1/events;
- `ignored`: acknowledged but not collected, because the product has no use for it (ads, buffering,
  seeking, quality changes, `page`/`screen`/`group`/`alias`, track events with no mapping). Kept in the
  lake's `ignored` kind with the reason and counted, never reported as a reject (CONTRACT §6 v1.1);
- rejected with a reason naming the field (not an object, an unknown message type, or an event that
  breaks the contract once translated).

The Video Spec names the title on every playback event except where it does not: `Video Playback Started`
carries an array (`content_asset_ids`) and the spec's own final `Video Playback Completed` has a null
`content_asset_id`. The playback session (`session_id`) says which title it was: the batch itself, then a
small memory in the online store (`video_session`, expiring) answer for events that omit it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from streamloop.core.contract import EVENT_TYPES

# Segment Video Spec playback and content events -> contract play events
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
# content events name the content in `asset_id`; playback events in `content_asset_id(s)`
CONTENT_EVENTS = frozenset({"Video Content Started", "Video Content Playing", "Video Content Completed"})
NOT_COLLECTED_TYPES = frozenset({"page", "screen", "group", "alias"})
DEVICE_TYPES = {
    "ios": "mobile", "android": "mobile", "mobile": "mobile", "phone": "mobile",
    "ipad": "tablet", "tablet": "tablet",
    "tv": "tv", "tvos": "tv", "androidtv": "tv", "roku": "tv", "firetv": "tv", "smarttv": "tv",
    "web": "web", "browser": "web", "desktop": "web",
    "console": "console", "xbox": "console", "playstation": "console",
}
SESSION_NAMESPACE = "video_session"  # session_id -> title_id, expiring (streamloop.core.store)

# looks up titles of playback sessions not seen in this batch: session ids -> {session_id: title_id}
Recall = Callable[[Iterable[str]], Mapping[str, str]]


@dataclass
class MappedBatch:
    events: list = field(default_factory=list)             # contract event per index (None if not mapped)
    errors: dict[int, list[str]] = field(default_factory=dict)  # index -> reasons (rejected)
    ignored: dict[int, str] = field(default_factory=dict)       # index -> why it is not collected
    sessions: dict[str, str] = field(default_factory=dict)      # session titles learned from this batch


def map_batch(messages: list, recall: Recall | None = None, usable: list[bool] | None = None) -> MappedBatch:
    """Maps a Segment batch. `usable[i]` False skips message i (already rejected when read)."""
    out = MappedBatch()
    for message in messages:
        title, session = _stated_title(message), _session_id(message)
        if title and session:
            out.sessions.setdefault(session, title)
    missing = {_session_id(m) for m in messages if _needs_session_title(m)} - set(out.sessions) - {None}
    known = dict(out.sessions)
    if missing and recall is not None:
        known.update({k: v for k, v in recall(sorted(missing)).items() if isinstance(v, str)})
    for index, message in enumerate(messages):
        if usable is not None and not usable[index]:
            out.events.append(None)
            continue
        event, problems, ignored = map_message(message, known)
        out.events.append(event)
        if ignored:
            out.ignored[index] = ignored
        elif problems:
            out.errors[index] = problems
    return out


def map_message(message, session_titles: Mapping[str, str] | None = None) -> tuple[dict | None, list[str], str | None]:
    """One Segment message -> (contract event, [], None), (None, [reason], None) when rejected, or
    (None, [], why) when acknowledged but not collected."""
    if not isinstance(message, dict):
        return None, [f"message: must be a JSON object (got {type(message).__name__})"], None
    kind = message.get("type", message.get("action"))  # the spec's examples say "action"
    kind = kind if isinstance(kind, str) else repr(kind)
    props = message.get("properties")
    props = props if isinstance(props, dict) else {}
    traits = _object(message.get("traits")) or _object(_object(message.get("context")).get("traits"))
    if kind == "identify":
        if "maturity_rating" in traits or "is_kids" in traits:
            event_type = "profile_updated"
            props = {k: traits[k] for k in ("is_kids", "maturity_rating", "language", "timezone") if k in traits}
        else:
            event_type, props = "login", {}
    elif kind == "track":
        name = _event_name(message)
        if name in VIDEO_EVENTS:
            event_type = VIDEO_EVENTS[name]
            props = _video_properties(message, props, event_type, session_titles or {})
        elif name in EVENT_TYPES:
            event_type = name
        else:
            return None, [], f"track event {message.get('event')!r} is not collected (see docs/segment.md)"
    elif kind in NOT_COLLECTED_TYPES:
        return None, [], f"{kind} messages are not collected"
    else:
        known = "identify, track, page, screen, group and alias are known"
        return None, [f"type: unknown Segment message type {kind!r} ({known})"], None
    context = _object(message.get("context"))
    event = {
        "event_id": message.get("messageId"),
        "event_type": event_type,
        "occurred_at": message.get("timestamp") or message.get("originalTimestamp"),
        "device_id": _object(context.get("device")).get("id") or message.get("anonymousId"),
        "profile_id": message.get("userId"),
        "account_id": traits.get("account_id"),
        "context": _context(context),
        "properties": props,
        "schema_version": 1,
    }
    return event, [], None


def _video_properties(message: dict, props: dict, event_type: str, session_titles: Mapping[str, str]) -> dict:
    title_id = _stated_title(message) or session_titles.get(_session_id(message))
    out = {"title_id": title_id, "position_s": props.get("position")}
    if event_type == "play_start":
        out["duration_s"] = props.get("total_length")
    return {k: v for k, v in out.items() if v is not None}


def _stated_title(message) -> str | None:
    """The title a Video Spec playback/content message names itself, if any."""
    name = _event_name(message)
    if name not in VIDEO_EVENTS:
        return None
    props = _object(message.get("properties"))
    if name in CONTENT_EVENTS:
        title = props.get("asset_id")
    else:
        title = props.get("content_asset_id")
        ids = props.get("content_asset_ids")
        if title is None and isinstance(ids, list) and ids:
            title = ids[0]  # Video Playback Started lists what will play; the first plays first
    return title if isinstance(title, str) and title else None


def _session_id(message) -> str | None:
    if not isinstance(message, dict):
        return None
    session = _object(message.get("properties")).get("session_id")
    return str(session) if isinstance(session, str | int) and not isinstance(session, bool) else None


def _needs_session_title(message) -> bool:
    return _event_name(message) in VIDEO_EVENTS and _stated_title(message) is None


def _event_name(message) -> str | None:
    name = message.get("event") if isinstance(message, dict) else None
    return name if isinstance(name, str) else None


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}


def _context(ctx: dict) -> dict:
    device = _object(ctx.get("device"))
    raw_type = str(device.get("type") or "").lower()
    locale = ctx.get("locale")
    # country: the geo-located one, else the region of the device locale ("en-US")
    country = _object(ctx.get("location")).get("country")
    if country is None and isinstance(locale, str) and len(locale) == 5 and locale[2] in "-_":
        country = locale[3:].upper()
    out = {
        "country": country,
        "device_type": DEVICE_TYPES.get(raw_type, raw_type or None),
        "app_version": _object(ctx.get("app")).get("version"),
        "os": _object(ctx.get("os")).get("name"),
        "timezone": ctx.get("timezone"),
    }
    if ctx.get("ip"):
        out["ip"] = ctx["ip"]
    if ctx.get("userAgent"):
        out["user_agent"] = ctx["userAgent"]
    return {k: v for k, v in out.items() if v is not None}
