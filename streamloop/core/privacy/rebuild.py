"""After a deletion the warehouse's aggregates (daily counts, features) still count the person's rows:
the deletion leaves a marker, and the next warehouse build runs as a full refresh from the cleaned lake,
then clears it. The rows naming the person are already gone before that build (the warehouse eraser)."""
from __future__ import annotations

from pathlib import Path

from streamloop.core.settings import Settings


def marker(settings: Settings) -> Path:
    return settings.home_dir / "privacy" / "full-refresh-needed"


def request_full_refresh(settings: Settings, deletion_id: str) -> None:
    path = marker(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(deletion_id + "\n")


def full_refresh_needed(settings: Settings) -> bool:
    return marker(settings).exists()


def clear(settings: Settings) -> None:
    marker(settings).unlink(missing_ok=True)
