"""Lake compaction as a Dagster asset, job and daily schedule (streamloop/core/compaction.py does the work).

Event batches are merged only once the warehouse's incremental ledger (`int_events_received`) holds
them, so the asset depends on it and runs in the warehouse pool (it reads DuckDB, read-only).
"""

from collections.abc import Callable

import dagster as dg
import duckdb

from orchestration.defs.resources import WAREHOUSE_POOL, LakeResource, WarehouseResource
from streamloop.core.compaction import compact

LEDGER = "int_events_received"


def processed_event_batches(warehouse: WarehouseResource) -> "Callable[[str], set[str]] | None":
    """received_date -> batch ids the warehouse has read; None before the first build."""
    try:
        connection = warehouse.connect(read_only=True)
    except duckdb.IOException:  # no warehouse file yet
        return None
    found = connection.execute("select table_schema from information_schema.tables where table_name = ?",
                               [LEDGER]).fetchall()
    if not found:
        connection.close()
        return None
    rows = connection.execute(f'select distinct cast(received_date as varchar), batch_id from "{found[0][0]}".{LEDGER}'
                              ).fetchall()
    connection.close()
    by_day: dict[str, set[str]] = {}
    for day, batch_id in rows:
        by_day.setdefault(day, set()).add(batch_id)
    return lambda day: by_day.get(day, set())


@dg.asset(
    group_name="lake",
    deps=[dg.AssetKey(LEDGER)],
    pool=WAREHOUSE_POOL,
    kinds={"parquet"},
    description="Closed received-date partitions of the raw lake merged into few large files (same records, "
                "none lost or duplicated; compacted files never look new to incremental builds).",
)
def compacted_lake(context: dg.AssetExecutionContext, lake: LakeResource,
                   warehouse: WarehouseResource) -> dg.MaterializeResult:
    report = compact(lake.get(), processed_event_batches(warehouse))
    for reason, count in report.skipped.items():
        context.log.info(f"{count} partition(s) only partly compacted: {reason}")
    return dg.MaterializeResult(metadata={
        "partitions_compacted": len(report.compacted),
        "files_removed": report.files_removed,
        "records_rewritten": sum(c.records for c in report.compacted),
        "interrupted_runs_recovered": report.recovered,
    })


lake_compaction_job = dg.define_asset_job(
    "lake_compaction", selection=[compacted_lake],
    description="Merge the small files of closed lake partitions.")

daily_lake_compaction = dg.ScheduleDefinition(
    name="daily_lake_compaction", job=lake_compaction_job, cron_schedule="40 1 * * *", execution_timezone="UTC",
    description="After the day closes (01:40 UTC: past the hourly build at :15 and the one-hour grace).")
