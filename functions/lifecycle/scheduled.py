"""What the lifecycle Lambda does on each EventBridge schedule tick: one campaign run as of the event's
`time` (so a delayed or retried invocation decides for the tick it belongs to, and the ledger makes a
retried tick send nothing twice). Broken campaign files are reported in the summary; the others run."""
from __future__ import annotations

import logging
from pathlib import Path

from messaging import service
from streamloop.core import clock
from streamloop.core.errors import StreamloopError
from streamloop.core.settings import get_settings

log = logging.getLogger("streamloop.lifecycle")


def run_scheduled(event: dict, campaigns_dir: Path | None = None) -> dict:
    """Handles one EventBridge "Scheduled Event"; returns the run's summary (CONTRACT §5 shape + rule)."""
    if not isinstance(event, dict) or event.get("detail-type") != "Scheduled Event":
        raise StreamloopError("lifecycle handler expects an EventBridge scheduled event (detail-type 'Scheduled Event')")
    at = clock.parse_instant(event["time"]) if event.get("time") else clock.now()
    rule = (event.get("resources") or [None])[0]
    campaign_set = service.campaigns(campaigns_dir)
    for error in campaign_set.errors:
        log.error("campaign file rejected", extra={"fields": {"file": error.file, "field": error.field,
                                                              "reason": error.reason}})
    if not campaign_set.campaigns:
        summary = {"status": "no_campaigns_configured", "at": at.isoformat(), "rule": rule, "campaigns": [],
                   "errors": [{"file": e.file, "field": e.field, "reason": e.reason} for e in campaign_set.errors]}
        log.info("lifecycle tick", extra={"fields": summary})
        return summary
    settings = get_settings()
    warehouse = audience_source(settings)
    summary = {"status": "ran", "rule": rule,
               **service.build_runner(settings, campaign_set, warehouse=warehouse).run(at).to_json()}
    log.info("lifecycle tick", extra={"fields": summary})
    return summary


def audience_source(settings) -> Path:
    """The warehouse file where there is one (local, or beside Dagster); else the audience snapshot the
    publication wrote to the lake (AWS: the warehouse lives on the Dagster machine), as a DuckDB file in /tmp."""
    if settings.warehouse_file.exists():
        return settings.warehouse_file
    from messaging.audience_snapshot import materialize, snapshot_path
    from streamloop.core.lake import Lake

    lake = Lake(settings.lake_root)
    path = materialize(lake, settings.home_dir / "audience.duckdb")
    if path is None:
        raise StreamloopError(f"no warehouse at {settings.warehouse_file} and no published audience at "
                              f"{snapshot_path(lake, 'messaging_profiles')}: the lifecycle runner needs messaging_profiles")
    return path
