"""Hourly incremental build: picks up whatever landed since the last one, late events included."""
from __future__ import annotations

import dagster as dg

from orchestration.defs.dbt.jobs import warehouse_build_job

hourly_warehouse_build = dg.ScheduleDefinition(
    name="hourly_warehouse_build",
    job=warehouse_build_job,
    cron_schedule="15 * * * *",
    execution_timezone="UTC",
    description="Incremental dbt build every hour (the lake sensor also triggers one when files land).",
)
