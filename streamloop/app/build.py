"""`streamloop build`: runs the Dagster `warehouse_build` job (dbt build of dbt_project/) and
summarizes the warehouse. dbt's environment and in-process invocation live in orchestration.dbt_runner.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from streamloop.core.errors import StreamloopError
from streamloop.core.lake import Lake
from streamloop.core.progress import say
from streamloop.core.settings import get_settings

# marts whose row counts the summary reports, in reading order
SUMMARY_MARTS = (
    "events", "sessions", "plays", "impression_funnel", "profiles", "accounts", "devices", "titles",
    "account_daily_revenue", "rejected_events",
)


@dataclass
class BuildSummary:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejected_by_reason: list[tuple[str, int]] = field(default_factory=list)
    rows_per_mart: dict[str, int] = field(default_factory=dict)
    elapsed_seconds: float = 0.0
    full_refresh: bool = False
    warnings: list[str] = field(default_factory=list)

    def render(self) -> str:
        share = (self.rejected / self.received) if self.received else 0.0
        lines = [
            f"build ({'full refresh' if self.full_refresh else 'incremental'}) done in {self.elapsed_seconds:.1f}s",
            f"  records received  {self.received:>12,}",
            f"  accepted          {self.accepted:>12,}",
            f"  duplicates        {self.duplicates:>12,}",
            f"  rejected          {self.rejected:>12,}  ({share:.2%})",
        ]
        for reason, count in self.rejected_by_reason:
            lines.append(f"    {count:>10,}  {reason}")
        if self.rows_per_mart:
            lines.append("  rows per table")
            lines += [f"    {name:<22} {count:>12,}" for name, count in self.rows_per_mart.items()]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def run_build(full_refresh: bool = False, target: str | None = None, whole_table_tests: bool = False) -> BuildSummary:
    """Builds (seeds, models, tests) the warehouse from the lake; incremental unless `full_refresh`.
    Data tests on incremental models read the rows this build changed, and each model's tests run as
    one grouped test, unless `whole_table_tests` (or `full_refresh`).

    Runs the Dagster `warehouse_build` job (the one the hourly schedule and the lake sensor run), so
    the build is recorded where `streamloop ui` shows it and dbt tests land as asset checks (one per
    model's group, or one per test on a whole-table build).
    """
    from orchestration.failures import failure_message
    from orchestration.runs import execute_job

    settings = get_settings()
    lake = Lake(settings.lake_root)
    if not lake.files("events"):
        raise StreamloopError(
            f"the lake at {settings.lake_root} has no events: run `streamloop simulate` or `streamloop ingest` first"
        )
    warehouse_models = warehouse_assets()
    start = time.perf_counter()
    say(f"▸ dbt build ({'full refresh' if full_refresh else 'incremental'}) → {settings.warehouse_file}")
    config = {"full_refresh": full_refresh, "target": target or "", "whole_table_tests": whole_table_tests}
    result = execute_job("warehouse_build", run_config={"ops": {warehouse_models.op.name: {"config": config}}},
                         progress=True)
    if not result.success:
        problems = [failure_message(e.event_specific_data) for e in result.all_events if e.is_step_failure]
        raise StreamloopError(problems[0] if problems else "the warehouse build failed")
    if (target or settings.dbt_target) == "spark":
        from streamloop.core.spark_warehouse import open_spark_warehouse

        with open_spark_warehouse(settings.spark_warehouse) as con:
            summary = summarize_connection(con, str(settings.spark_warehouse))
    else:
        summary = summarize_warehouse(settings.warehouse_file)
    summary.elapsed_seconds = time.perf_counter() - start
    summary.full_refresh = full_refresh
    return summary


def warehouse_assets():
    """The dbt assets, loaded after `dbt parse` (dagster-dbt's preparer) so their graph matches the SQL on
    disk: a build after a SQL edit never runs a stale manifest. dbt's partial parsing keeps it cheap."""
    from orchestration.defs.dbt.project import prepare_manifest

    prepare_manifest()
    from orchestration.defs.dbt.assets import warehouse_models

    return warehouse_models


def summarize_warehouse(path: str | os.PathLike, top_reasons: int = 5) -> BuildSummary:
    """Reconciliation counts, top rejection reasons and rows per mart of a built DuckDB warehouse."""
    import duckdb

    path = Path(path)
    if not path.exists():
        raise StreamloopError(f"no warehouse at {path}: run `streamloop build` first")
    with duckdb.connect(str(path), read_only=True) as con:
        return summarize_connection(con, str(path), top_reasons)


def summarize_connection(con, location: str, top_reasons: int = 5) -> BuildSummary:
    """The summary from an open DuckDB connection on a warehouse's tables (DuckDB's, or Spark's files)."""
    summary = BuildSummary()
    tables = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
    if "ingestion_reconciliation" not in tables:
        raise StreamloopError(f"the warehouse at {location} has not been built: run `streamloop build`")
    received, accepted, duplicates, rejected = con.execute(
        "select coalesce(sum(received_count), 0), coalesce(sum(accepted_count), 0),"
        " coalesce(sum(duplicate_count), 0), coalesce(sum(rejected_count), 0) from ingestion_reconciliation"
    ).fetchone()
    summary.received, summary.accepted, summary.duplicates, summary.rejected = (
        int(received), int(accepted), int(duplicates), int(rejected)
    )
    # reasons name the field and may carry the offending value: group by the field's message
    summary.rejected_by_reason = [
        (reason, int(count)) for reason, count in con.execute(
            "select regexp_replace(reason, ' \\(got .*\\)$| [\"''].*$', '') as reason_kind, count(*)"
            " from rejected_events where lake_kind = 'events' group by 1 order by 2 desc, 1 limit ?",
            [top_reasons],
        ).fetchall()
    ]
    summary.rows_per_mart = {
        name: int(con.execute(f'select count(*) from "{name}"').fetchone()[0])
        for name in SUMMARY_MARTS if name in tables
    }
    return summary
