"""The scheduled campaign run and the performance refresh."""
from __future__ import annotations

import dagster as dg

from orchestration.defs.messaging.assets import campaign_audiences, campaign_performance, campaign_runs

campaign_run_job = dg.define_asset_job(
    "campaign_run",
    selection=dg.AssetSelection.assets(campaign_audiences, campaign_runs),
    description="Decide every campaign, claim and deliver due messages, export message events and the ledger.",
)

campaign_performance_job = dg.define_asset_job(
    "campaign_performance_refresh",
    selection=dg.AssetSelection.assets(campaign_performance),
    description="Recompute campaign_performance from the latest warehouse build.",
)

hourly_campaign_run = dg.ScheduleDefinition(
    name="hourly_campaign_run", job=campaign_run_job, cron_schedule="5 * * * *", execution_timezone="UTC",
    description="Campaign runs are hourly: scheduled campaigns run once per period after their cron tick, "
                "event triggers and held messages go out within the hour they become due.",
)

daily_campaign_performance = dg.ScheduleDefinition(
    name="daily_campaign_performance", job=campaign_performance_job, cron_schedule="0 4 * * *",
    execution_timezone="UTC", description="After the night's builds have brought message events and plays in.",
)
