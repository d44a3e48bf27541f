"""A private STREAMLOOP_HOME for a test or module, and landing hand-made events in its lake."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from streamloop.core.lake import Lake
from streamloop.core.settings import get_settings


def use_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> Path:
    """Points STREAMLOOP_HOME (and nothing else) at `home` for the rest of the test or module."""
    for name in ("STREAMLOOP_LAKE_URI", "STREAMLOOP_WAREHOUSE_PATH", "STREAMLOOP_REGISTRY_URI",
                 "STREAMLOOP_ONLINE_STORE_PATH", "STREAMLOOP_OUTBOX_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STREAMLOOP_HOME", str(home))
    get_settings.cache_clear()
    return home


def land_events(events: list, received_at: datetime | list[datetime], source: str = "test",
                home: Path | None = None, kind: str = "events", batch_id: str | None = None) -> list[str]:
    """Writes events (dicts, or raw strings kept as they are) to the lake of `home` (default: settings)."""
    root = (home / "lake") if home is not None else get_settings().lake_root
    raws = [e if isinstance(e, str) else json.dumps(e) for e in events]
    return Lake(root).write_records(kind, raws, source=source, received_at=received_at, batch_id=batch_id)
