"""The warehouse build as a job: what the hourly schedule and the lake sensor run."""
from __future__ import annotations

import dagster as dg

from orchestration.defs.dbt.assets import warehouse_models
from orchestration.defs.experiments.assets import GROUP as EXPERIMENTS_GROUP

warehouse_build_job = dg.define_asset_job(
    "warehouse_build",
    # experiment results are computed in Python from the marts this build just made (every build)
    selection=dg.AssetSelection.assets(warehouse_models) | dg.AssetSelection.groups(EXPERIMENTS_GROUP),
    description="dbt build of the whole warehouse; incremental unless run with full_refresh: true. "
                "Then the experiment readouts from its sufficient statistics.",
)


def full_refresh_run_config() -> dict:
    return {"ops": {warehouse_models.op.name: {"config": {"full_refresh": True}}}}


def whole_table_tests_run_config() -> dict:
    return {"ops": {warehouse_models.op.name: {"config": {"whole_table_tests": True}}}}
