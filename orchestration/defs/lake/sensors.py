"""Reacts to new raw files: records which received dates landed and requests an incremental build."""

from collections import Counter

import dagster as dg

from orchestration.defs.dbt.jobs import warehouse_build_job
from orchestration.defs.lake.assets import RAW_ASSET_KEY_BY_LAKE_KIND, received_date_partitions
from orchestration.defs.lake.listing import LakeCursor, list_lake_files
from orchestration.defs.resources import LakeResource


@dg.sensor(job=warehouse_build_job, minimum_interval_seconds=60,
           description="New files in the raw lake → materialize their received-date partitions and "
                       "request one incremental warehouse build.")
def raw_lake_sensor(context: dg.SensorEvaluationContext, lake: LakeResource) -> dg.SensorResult:
    cursor = LakeCursor.parse(context.cursor)
    # compacted files hold batches already built (streamloop/core/compaction.py): nothing new to build
    landed = [f for f in list_lake_files(lake.get()) if not f.path.rsplit("/", 1)[-1].startswith("compacted-")]
    new_files = cursor.new_files(landed)
    if not new_files:
        return dg.SensorResult(skip_reason="no new files in the lake")
    next_cursor = cursor.advance(new_files)

    landed = Counter((f.kind, f.received_date) for f in new_files)
    first_day = received_date_partitions.start.strftime("%Y-%m-%d")
    asset_events = []
    for (kind, day), count in landed.items():
        if day is not None and day < first_day:
            # still built (dbt reads every file); only the UI's partition record cannot hold it
            context.log.warning(f"{count} {kind} file(s) landed for received date {day}, before the "
                                f"first partition {first_day}; not recorded as a partition")
            continue
        asset_events.append(dg.AssetMaterialization(
            asset_key=RAW_ASSET_KEY_BY_LAKE_KIND[kind], partition=day,
            metadata={"new_files": count}))
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"lake-{next_cursor.newest}-{len(new_files)}")],
        asset_events=asset_events,
        cursor=next_cursor.serialize(),
    )
