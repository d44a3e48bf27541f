"""The raw lake as external assets: landed by the simulator, ingest, importers and the API, never by Dagster.

`raw_events` (and `raw_rejected`) are partitioned by received date, the lake's own folder layout
(`events/received_date=YYYY-MM-DD/`), so the UI shows which days have landed; the lake sensor
records a materialization per new day. dbt's sources map onto these keys (see the dbt translator),
which is what connects raw lake → staging in the lineage.
"""
from __future__ import annotations

import dagster as dg

# received dates start at the earliest day any importer or simulation may land (MovieLens-era data
# is landed with today's received date, so this bound only has to cover simulated back-fills)
received_date_partitions = dg.DailyPartitionsDefinition(start_date="2000-01-01", end_offset=1)

raw_events = dg.AssetSpec(
    "raw_events",
    group_name="lake",
    kinds={"parquet"},
    partitions_def=received_date_partitions,
    description="Raw event records exactly as received (JSON text per row), one folder per received date.",
)

raw_rejected = dg.AssetSpec(
    "raw_rejected",
    group_name="lake",
    kinds={"parquet"},
    partitions_def=received_date_partitions,
    description="Records refused at the edge (collector, ingest, importers), each with its reason.",
)

raw_catalog = dg.AssetSpec(
    "raw_catalog",
    group_name="lake",
    kinds={"parquet"},
    description="Raw catalog records (titles) exactly as received.",
)

RAW_ASSET_KEY_BY_LAKE_KIND = {"events": raw_events.key, "rejected": raw_rejected.key, "catalog": raw_catalog.key}
