"""Builds the runner and its parts from settings: the one wiring every door (CLI, Lambda, Dagster) uses."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from messaging import rules
from messaging.audience import audience_columns
from messaging.campaigns import CampaignSet, load_campaigns
from messaging.delivery import Delivery
from messaging.delivery.in_app import InAppInbox
from messaging.delivery.outbox import LocalOutbox
from messaging.runner import Runner
from messaging.state import open_ledger, opener
from messaging.triggers import TriggerIndex, TriggerQueue
from streamloop.core import clock
from streamloop.core.lake import Lake
from streamloop.core.settings import REPO_ROOT, Settings

CAMPAIGNS_DIR = REPO_ROOT / "campaigns"


def policy(settings: Settings) -> rules.Policy:
    default = frozenset(c.strip() for c in settings.messaging_default_consent.split(",") if c.strip())
    return rules.Policy(daily_cap=settings.messaging_daily_cap, control_percent=settings.messaging_control_percent,
                        default_consent=default)


def deliveries(settings: Settings) -> dict[str, Delivery]:
    """SES and SNS when configured; otherwise email and push go to the local outbox (the embedded default)."""
    outbox = LocalOutbox()
    adapters: dict[str, Delivery] = {"email": outbox, "push": outbox, "in_app": InAppInbox()}
    if settings.ses_sender:
        from messaging.delivery.ses import SesEmail

        adapters["email"] = SesEmail(settings.ses_sender, settings.aws_region, settings.ses_rate_per_second)
    if settings.sns_platform_application_arn:
        from messaging.delivery.sns import SnsPush

        adapters["push"] = SnsPush(settings.sns_platform_application_arn, settings.aws_region)
    return adapters


def campaigns(directory: Path | None = None) -> CampaignSet:
    return load_campaigns(directory or CAMPAIGNS_DIR, audience_columns())


def build_runner(settings: Settings, campaign_set: CampaignSet | None = None, store=None,
                 warehouse: Path | None = None) -> Runner:
    """`warehouse`: where the audience is read (default the warehouse file; the Lambda passes the
    materialized audience snapshot, messaging/audience_snapshot.py)."""
    if store is None:
        from streamloop.core.store import StoreError, get_store

        try:
            store = get_store(settings)
        except StoreError:
            store = None  # messages go out with the documented fallback content
    return Runner(campaign_set or campaigns(), settings.outbox_file, warehouse or settings.warehouse_file, policy(settings),
                  deliveries(settings), store=store, contact_secret=settings.messaging_contact_secret,
                  unsubscribe_secret=settings.messaging_unsubscribe_secret,
                  public_url=settings.messaging_public_url, lake=Lake(settings.lake_root),
                  open_ledger=opener(settings))


def catalog_hook(settings: Settings, campaign_set: CampaignSet | None = None) -> Callable[[list[dict]], int] | None:
    """What `streamloop ingest --catalog` calls with the episode records it landed: new episodes start the
    catalog campaigns (`TriggerIndex.on_catalog`), as accepted events start event campaigns in the collector.
    None without a catalog campaign (nothing to do, and no ledger to open)."""
    index = TriggerIndex((campaign_set or campaigns()).campaigns)
    if not index.catalog:
        return None

    def on_catalog(records: list[dict]) -> int:
        ledger = open_ledger(settings)
        try:
            return index.on_catalog(records, TriggerQueue(ledger), clock.now())
        finally:
            ledger.close()
    return on_catalog
