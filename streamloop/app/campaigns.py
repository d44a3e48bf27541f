"""`streamloop campaigns validate|list|preview|run`: the drivers behind the CLI group."""
from __future__ import annotations

from datetime import datetime

import duckdb

from messaging import audience, service
from messaging.campaigns import CampaignSet
from messaging.content import render
from messaging.runner import RunSummary
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


def run(dry_run: bool, at: str | None) -> RunSummary:
    settings = get_settings()
    instant = clock.parse_instant(at) if at else clock.now()
    if not settings.warehouse_file.exists():
        raise StreamloopError(f"no warehouse at {settings.warehouse_file}: run `streamloop build` first")
    return service.build_runner(settings).run(instant, dry_run=dry_run)


def parse_at(text: str) -> datetime:
    try:
        return clock.parse_instant(text)
    except ValueError:
        raise StreamloopError(f"--at must be an RFC 3339 timestamp (got {text!r})") from None
