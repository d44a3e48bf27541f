"""Lifecycle messaging as assets: scores → campaign audiences → campaign runs → (dbt) campaign_sends →
campaign_performance. The runner is messaging's (messaging/runner.py); these assets only call it.

`campaign_runs` runs as of the schedule tick that started it (the run's `dagster/scheduled_execution_time`
tag), else the service clock, so a late or retried tick decides for the moment it belongs to; the ledger
makes a retried run send nothing twice. Its output (the ledger snapshot and message events in the lake) is
the dbt source `messaging.ledger`, which is how campaign_sends depends on it.
"""

import dagster as dg

from orchestration.defs.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.defs.serving.assets import profile_scores

GROUP = "messaging"

@dg.asset(group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"duckdb"}, deps=[profile_scores, "messaging_profiles"])
def campaign_audiences(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Each valid campaign's decision counts as of now, without writing anything (a dry run)."""
    from messaging import service
    from streamloop.core import clock
    from streamloop.core.settings import get_settings

    campaign_set = service.campaigns()
    for error in campaign_set.errors:
        context.log.error(f"campaign file rejected: {error}")
    summary = service.build_runner(get_settings(), campaign_set).run(clock.now(), dry_run=True)
    return dg.MaterializeResult(metadata={
        "campaigns": dg.MetadataValue.json(summary.to_json()["campaigns"]),
        "rejected_files": dg.MetadataValue.json(summary.to_json()["errors"]),
    })

@dg.asset(group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"duckdb", "parquet"},
          deps=[profile_scores, "messaging_profiles", "plays", "titles"])
def messaging_audience_snapshot(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """messaging_profiles (and the completed series plays catalog campaigns need) as Parquet in the lake:
    the lifecycle Lambda, which has no warehouse file, runs campaigns on it (messaging/audience_snapshot.py)."""
    from messaging.audience_snapshot import publish
    from streamloop.core.lake import Lake
    from streamloop.core.settings import get_settings

    settings = get_settings()
    rows = publish(settings.warehouse_file, Lake(settings.lake_root))
    if not rows:
        context.log.warning("no messaging_profiles table in the warehouse: no audience published")
    return dg.MaterializeResult(metadata={"rows": dg.MetadataValue.json(rows),
                                          "dagster/row_count": rows.get("messaging_profiles", 0)})

@dg.asset(group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"sqlite"}, deps=[campaign_audiences])
def campaign_runs(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """One campaign run: claims, delivers, exports message events and the ledger to the lake."""
    from messaging import service
    from streamloop.core import clock
    from streamloop.core.settings import get_settings

    tick = context.run.tags.get("dagster/scheduled_execution_time")
    at = clock.parse_instant(tick) if tick else clock.now()
    summary = service.build_runner(get_settings()).run(at)
    body = summary.to_json()
    return dg.MaterializeResult(metadata={
        "at": body["at"], "campaigns": dg.MetadataValue.json(body["campaigns"]),
        "sent": sum(c["sent"] for c in body["campaigns"]), "held": sum(c["held"] for c in body["campaigns"]),
        "exported_events": summary.exported_events,
        "rejected_files": dg.MetadataValue.json(body["errors"]),
    })

@dg.asset(group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"duckdb"}, deps=["campaign_performance_stats"])
def campaign_performance(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Rates and the treated-vs-holdout lifts with intervals (ml/stats.py) from the sufficient statistics."""
    from orchestration.defs.messaging.performance import write_campaign_performance

    with warehouse.connect(read_only=False) as con:
        rows = write_campaign_performance(con)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})
