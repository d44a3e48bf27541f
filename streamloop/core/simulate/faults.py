"""Malformed records of the kinds real clients send, for the warehouse to reject with a reason."""
from __future__ import annotations

import re

MALFORMED_KINDS = ("broken_json", "wrong_type", "unknown_event_type", "missing_event_id",
                   "timestamp_without_offset", "timestamp_in_future")
_EVENT_TYPE = re.compile(r'"event_type":"[a-z_]+"')
_OCCURRED_AT = re.compile(r'("occurred_at":"[0-9T:.-]+?)(Z|[+-]\d{2}:\d{2})"')
_ID_START, _ID_END = len('{"event_id":"'), len('{"event_id":"') + 32


def corrupt(raw: str, kind: str, new_id: str) -> str:
    """A malformed copy of a well-formed event text (`new_id` replaces its event_id, so it never
    collides with the valid original)."""
    raw = raw[:_ID_START] + new_id + raw[_ID_END:]
    if kind == "broken_json":
        return raw[: len(raw) // 2]
    if kind == "wrong_type":
        return raw.replace('"schema_version":1}', '"schema_version":"1"}')
    if kind == "unknown_event_type":
        return _EVENT_TYPE.sub('"event_type":"video_watched"', raw, count=1)
    if kind == "missing_event_id":
        return "{" + raw[_ID_END + 2:]
    if kind == "timestamp_without_offset":
        return _OCCURRED_AT.sub(r'\1"', raw, count=1)
    if kind == "timestamp_in_future":
        return _OCCURRED_AT.sub(lambda m: f'"occurred_at":"{int(m.group(1)[15:19]) + 1}{m.group(1)[19:]}{m.group(2)}"',
                                raw, count=1)
    raise ValueError(f"unknown malformed kind {kind!r}")
