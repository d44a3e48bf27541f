"""`streamloop campaigns validate|list|preview|run`: the drivers behind the CLI group (and the new-episode
triggers `streamloop ingest --catalog` feeds)."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime

import duckdb

from messaging import audience, service
from messaging.campaigns import CampaignSet
from messaging.content import render
from messaging.runner import RunSummary, WorkerError
from streamloop.core import clock
from streamloop.core.errors import StreamloopError
from streamloop.core.settings import get_settings


def validate() -> CampaignSet:
    """Every campaign file checked (schema, cron, audience columns, templates)."""
    return service.campaigns()


def listing(campaign_set: CampaignSet) -> list[dict]:
    return [{"campaign_id": c.id, "file": campaign_set.files[c.id], "priority": c.priority,
             "trigger": c.trigger.schedule or c.trigger.event or f"catalog:{c.trigger.catalog}",
             "channel": c.channel, "holdout_percent": c.holdout_percent} for c in campaign_set.campaigns]


def preview(campaign_id: str, profile_id: str) -> dict:
    """The rendered message the profile would get now (nothing is written)."""
    settings = get_settings()
    campaign_set = service.campaigns()
    campaign = campaign_set.get(campaign_id)
    if campaign is None:
        known = ", ".join(c.id for c in campaign_set.campaigns)
        raise StreamloopError(f"unknown campaign {campaign_id!r} (known: {known})")
    if not settings.warehouse_file.exists():
        raise StreamloopError(f"no warehouse at {settings.warehouse_file}: run `streamloop build` first")
    with duckdb.connect(str(settings.warehouse_file), read_only=True) as con:
        rows = con.execute(f"select * from {audience.MART} where profile_id = ?", [profile_id])
        names = [d[0] for d in rows.description]
        found = rows.fetchone()
    if found is None:
        raise StreamloopError(f"profile {profile_id!r} is not in {audience.MART}")
    runner = service.build_runner(settings, campaign_set)
    content = render(campaign, dict(zip(names, found)), runner.store,
                     unsubscribe_url=f"{settings.messaging_public_url}/v1/unsubscribe/<token>")
    return {"campaign_id": campaign_id, "profile_id": profile_id, "subject": content.subject, "body": content.body,
            "titles": list(content.title_ids), "recommendations_from": content.source}


def run(dry_run: bool, at: str | None, workers: int = 1) -> RunSummary:
    settings = get_settings()
    instant = clock.parse_instant(at) if at else clock.now()
    if not settings.warehouse_file.exists():
        raise StreamloopError(f"no warehouse at {settings.warehouse_file}: run `streamloop build` first")
    runner = service.build_runner(settings)
    if workers == 1:
        return runner.run(instant, dry_run=dry_run)
    try:
        return runner.run(instant, dry_run=dry_run, workers=workers)
    except (ValueError, WorkerError) as exc:  # external channels or a remote store; a worker failed
        raise StreamloopError(str(exc)) from exc


def parse_at(text: str) -> datetime:
    try:
        return clock.parse_instant(text)
    except ValueError:
        raise StreamloopError(f"--at must be an RFC 3339 timestamp (got {text!r})") from None


def queue_new_episodes(paths: list[str]) -> str:
    """After `streamloop ingest --catalog` landed the files: their new episodes start the catalog campaigns
    (messaging/triggers.py), as accepted events start event campaigns in the collector. The files are read
    again (catalogs are small) rather than hooked into landing, so that re-running the same ingest after a
    messaging store failure queues them (landing again writes nothing; a trigger is queued once)."""
    hook = service.catalog_hook(get_settings())
    if hook is None:
        return "new-episode triggers: no catalog campaign"
    queued = 0
    try:
        for records in _valid_episodes(paths):
            queued += hook(records)
    except (sqlite3.Error, OSError) as exc:
        raise StreamloopError(f"catalog landed, but new-episode triggers were not queued ({type(exc).__name__}: "
                              f"{exc}); run the same ingest again to queue them") from exc
    return f"new-episode triggers queued: {queued}"


def _valid_episodes(paths: list[str], size: int = 50_000) -> Iterator[list[dict]]:
    """The files' episode records that pass the catalog contract (the ones ingest lands), in chunks."""
    from streamloop.core.contract import validate_catalog_record
    from streamloop.core.ingest import expand_paths, iter_candidates

    chunk: list[dict] = []
    for path in expand_paths(paths):
        for _, record, error in iter_candidates(path):
            if (error is None and isinstance(record, dict) and record.get("kind") == "episode"
                    and not validate_catalog_record(record)):
                chunk.append(record)
                if len(chunk) == size:
                    yield chunk
                    chunk = []
    if chunk:
        yield chunk
