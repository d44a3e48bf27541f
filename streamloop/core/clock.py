"""The one clock everything that depends on "now" reads: experiment windows, campaign schedules,
trending lists, the home page's `generated_at`, publication times.

Production reads the wall clock. A simulated service lives on its own calendar, so a demo anchored in
the past still exercises its experiments and campaigns: set `STREAMLOOP_NOW` (an RFC 3339 instant) or
call `set_now()` / `frozen()` in code and tests. Store expiry (TTL markers) and lake `received_at`
stay on the wall clock on purpose: they are about when bytes physically arrived, not the service's day.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_fixed: datetime | None = None


def parse_instant(text: str) -> datetime:
    """An RFC 3339 instant ('2026-01-31T12:00:00Z', a date alone means 00:00 UTC) as an aware datetime."""
    value = datetime.fromisoformat(text.strip())  # Python 3.11 reads a trailing Z
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def now() -> datetime:
    """The current instant (aware, UTC): a frozen value if one is set, else STREAMLOOP_NOW, else the wall clock."""
    if _fixed is not None:
        return _fixed
    configured = os.environ.get("STREAMLOOP_NOW")
    if configured:
        return parse_instant(configured).astimezone(UTC)
    return datetime.now(UTC)


def set_now(instant: datetime | None) -> None:
    """Freezes the clock at `instant` for this process (None goes back to STREAMLOOP_NOW / the wall clock)."""
    global _fixed
    if instant is not None and instant.tzinfo is None:
        raise ValueError("the clock takes aware datetimes only")
    _fixed = instant.astimezone(UTC) if instant is not None else None


@contextmanager
def frozen(instant: datetime) -> Iterator[datetime]:
    """`with frozen(t):` — the clock reads `t` inside the block."""
    global _fixed
    saved = _fixed
    set_now(instant)
    try:
        yield instant
    finally:
        _fixed = saved
