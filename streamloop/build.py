"""`streamloop build`: runs the Dagster `warehouse_build` job (dbt build of dbt_project/) and
summarizes the warehouse.

dbt reads every location from environment variables (profiles.yml, dbt_project.yml vars), so this
module also maps settings to those variables (the dbt asset uses the mapping) and offers `run_dbt`,
an in-process dbt invocation for other dbt commands (docs, unit tests). A dbt failure becomes a
one-line StreamloopError naming the failing node.
"""
from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from streamloop.errors import StreamloopError
from streamloop.lake import Lake
from streamloop.progress import say
from streamloop.settings import DBT_PROJECT_DIR, get_settings

FAILED_STATUSES = ("error", "fail", "runtime error")  # a dbt node result's statuses that fail a build
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


def dbt_environment(target: str | None = None) -> dict[str, str]:
    """The environment variables the dbt project reads, from settings (creates the home folder)."""
    settings = get_settings()
    settings.home_dir.mkdir(parents=True, exist_ok=True)
    settings.warehouse_file.parent.mkdir(parents=True, exist_ok=True)
    return {
        "STREAMLOOP_LAKE_URI": settings.lake_root,
        "STREAMLOOP_WAREHOUSE_PATH": str(settings.warehouse_file),
        "STREAMLOOP_THREADS": str(settings.threads),
        "STREAMLOOP_DBT_TARGET": target or settings.dbt_target,
    }


@contextmanager
def _environment(values: dict[str, str]):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _progress_callback(event) -> None:
    """One line per finished model, seed or failing test (dbt's own logging is silenced)."""
    name = event.info.name
    if name in ("LogModelResult", "LogSeedResult"):
        data = event.data
        say(f"  [{data.index}/{data.total}] {data.node_info.node_name}: {data.status} ({data.execution_time:.1f}s)")
    elif name == "LogTestResult" and event.data.status in ("fail", "warn", "error"):
        data = event.data
        say(f"  [{data.index}/{data.num_models}] test {data.name}: {data.status.upper()} ({data.num_failures} rows)")


def run_dbt(args: list[str], target: str | None = None):
    """Invokes dbt in-process with the project's settings; returns the dbtRunnerResult.

    Raises StreamloopError naming the failing node and its message when dbt fails.
    """
    from dbt.cli.main import dbtRunner

    settings = get_settings()
    env = dbt_environment(target)
    dbt_dir = settings.home_dir / "dbt"
    common = [
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(dbt_dir / "target"),
        "--log-path", str(dbt_dir / "logs"),
        "--target", env["STREAMLOOP_DBT_TARGET"],
    ]
    words = 2 if args[0] in ("docs", "source") else 1  # `dbt docs generate`, `dbt source freshness`
    command, rest = " ".join(args[:words]), args[words:]
    with _environment(env):
        try:
            result = dbtRunner(callbacks=[_progress_callback]).invoke(
                ["--quiet", "--no-use-colors", *command.split(), *common, *rest]
            )
        finally:
            _release_duckdb()
    if result.exception is not None:
        raise StreamloopError(f"dbt {command} failed: {_first_line(str(result.exception))}")
    if not result.success:
        raise StreamloopError(f"dbt {command} failed: {_describe_failure(result.result)}")
    return result


def _release_duckdb() -> None:
    """Closes the DuckDB instance dbt-duckdb keeps open in this process after a run.

    Without this the warehouse file stays locked until the process exits, so neither this process
    (with another configuration, e.g. read-only) nor any other could open it.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter (spark): nothing held
        return
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def _first_line(text: str) -> str:
    """dbt's multi-line error text as one line."""
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip()) or "unknown error"


def _describe_failure(run_result) -> str:
    for node_result in getattr(run_result, "results", None) or []:
        status = str(node_result.status)
        if status in FAILED_STATUSES:
            return node_failure(node_result.node.resource_type, node_result.node.name, node_result.message or status)
    return "see the dbt log for details"


def node_failure(resource_type: str, name: str, message: str) -> str:
    """'model stg_lake__events: IO Error: …': the node and the first line of the database's words."""
    # dbt's message starts "<Kind> Error in model x (path)"; the database's words follow
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) > 1 and re.match(r"^[\w ]*Error in \w+ ", lines[0]):
        lines = lines[1:]
    return f"{resource_type} {name}: {lines[0] if lines else 'failed'}"


def run_build(full_refresh: bool = False, target: str | None = None) -> BuildSummary:
    """Builds (seeds, models, tests) the warehouse from the lake; incremental unless `full_refresh`.

    Runs the Dagster `warehouse_build` job (the one the hourly schedule and the lake sensor run), so
    the build is recorded where `streamloop ui` shows it and dbt tests land as asset checks.
    """
    from orchestration.defs.dbt.assets import warehouse_models
    from orchestration.failures import failure_message
    from orchestration.runs import execute_job

    settings = get_settings()
    lake = Lake(settings.lake_root)
    if not lake.files("events"):
        raise StreamloopError(
            f"the lake at {settings.lake_root} has no events: run `streamloop simulate` or `streamloop ingest` first"
        )
    start = time.perf_counter()
    say(f"▸ dbt build ({'full refresh' if full_refresh else 'incremental'}) → {settings.warehouse_file}")
    config = {"full_refresh": full_refresh, "target": target or ""}
    result = execute_job("warehouse_build", run_config={"ops": {warehouse_models.op.name: {"config": config}}},
                         progress=True)
    if not result.success:
        problems = [failure_message(e.event_specific_data) for e in result.all_events if e.is_step_failure]
        raise StreamloopError(problems[0] if problems else "the warehouse build failed")
    summary = summarize_warehouse(settings.warehouse_file)
    summary.elapsed_seconds = time.perf_counter() - start
    summary.full_refresh = full_refresh
    return summary


def summarize_warehouse(path: str | os.PathLike, top_reasons: int = 5) -> BuildSummary:
    """Reconciliation counts, top rejection reasons and rows per mart of a built DuckDB warehouse."""
    import duckdb

    path = Path(path)
    if not path.exists():
        raise StreamloopError(f"no warehouse at {path}: run `streamloop build` first")
    summary = BuildSummary()
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
        if "ingestion_reconciliation" not in tables:
            raise StreamloopError(f"the warehouse at {path} has not been built: run `streamloop build`")
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
