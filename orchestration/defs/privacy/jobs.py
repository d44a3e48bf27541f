"""Raw-lake retention as a daily job (STREAMLOOP_RAW_LAKE_RETENTION_DAYS; 0 keeps everything)."""
from __future__ import annotations

import dagster as dg

from orchestration.defs.resources import LakeResource
from streamloop.core import clock
from streamloop.core.privacy.retention import apply_retention
from streamloop.core.settings import get_settings


@dg.op(description="Deletes raw-lake received-date partitions older than the retention setting.")
def expire_raw_lake_partitions(context, lake: LakeResource) -> int:
    days = get_settings().raw_lake_retention_days
    removed = apply_retention(lake.get(), days, clock.now().date())
    context.log.info(f"raw lake retention {days} days: {len(removed)} partition(s) deleted")
    context.add_output_metadata({"partitions_deleted": len(removed), "retention_days": days})
    return len(removed)


@dg.job(description="Applies the raw lake's retention setting.")
def raw_lake_retention():
    expire_raw_lake_partitions()


daily_raw_lake_retention = dg.ScheduleDefinition(
    name="daily_raw_lake_retention", job=raw_lake_retention, cron_schedule="30 3 * * *", execution_timezone="UTC",
    description="Deletes raw-lake partitions past STREAMLOOP_RAW_LAKE_RETENTION_DAYS, daily at 03:30 UTC.")
