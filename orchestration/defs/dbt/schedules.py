"""Hourly incremental build: picks up whatever landed since the last one, late events included. Its data
tests read only the rows each build changed; the nightly build runs them on whole tables."""
from __future__ import annotations

import dagster as dg

from orchestration.defs.dbt.jobs import warehouse_build_job, whole_table_tests_run_config

hourly_warehouse_build = dg.ScheduleDefinition(
    name="hourly_warehouse_build",
    job=warehouse_build_job,
    cron_schedule="15 * * * *",
    execution_timezone="UTC",
    description="Incremental dbt build every hour (the lake sensor also triggers one when files land).",
)

nightly_warehouse_build = dg.ScheduleDefinition(
    name="nightly_warehouse_build",
    job=warehouse_build_job,
    cron_schedule="45 3 * * *",
    execution_timezone="UTC",
    run_config=whole_table_tests_run_config(),
    description="Incremental dbt build at 03:45 UTC whose data tests read whole tables (hourly builds test "
                "only the rows they changed).",
)
