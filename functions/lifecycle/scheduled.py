"""What the lifecycle Lambda does on each EventBridge schedule tick.

Lifecycle messaging (campaigns/*.yml, CONTRACT §7) is a later issue. Until its runner exists, a tick
reports which campaign files it found; if there are campaigns it cannot run, it fails loudly rather
than reporting a run that did not happen.
"""
from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from streamloop.core.errors import StreamloopError
from streamloop.core.settings import REPO_ROOT

log = logging.getLogger("streamloop.lifecycle")


def run_scheduled(event: dict, campaigns_dir: Path = REPO_ROOT / "campaigns") -> dict:
    """Handles one EventBridge "Scheduled Event"; returns a structured summary."""
    if not isinstance(event, dict) or event.get("detail-type") != "Scheduled Event":
        raise StreamloopError("lifecycle handler expects an EventBridge scheduled event (detail-type 'Scheduled Event')")
    at = datetime.fromisoformat(event["time"]) if event.get("time") else None
    campaigns = sorted(p.stem for p in campaigns_dir.glob("*.yml")) if campaigns_dir.is_dir() else []
    if campaigns:
        raise StreamloopError(f"found campaigns {campaigns} but the campaign runner is not part of this build yet")
    summary = {"status": "no_campaigns_configured", "at": at.isoformat() if at else None,
               "rule": (event.get("resources") or [None])[0], "campaigns": []}
    log.info("lifecycle tick", extra={"fields": summary})
    return summary
