"""Running a job in this process, recorded in the instance `streamloop ui` shows.

`streamloop build` and `streamloop train` run the very jobs the schedules and the UI run, so a
build from the terminal and one from the UI are the same code and land in the same history
(STREAMLOOP_HOME/dagster).
"""
from __future__ import annotations

import io
import logging
import re
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, redirect_stdout

import dagster as dg

from orchestration.defs.progress import PROGRESS_LOGGER
from orchestration.failures import failure_message
from streamloop.core.settings import get_settings

# dbt's line for a finished node ("12 of 80 OK created sql table model main.events ... [OK in 0.5s]");
# passing tests are left out: a build runs hundreds of them
_DBT_RESULT = re.compile(r"^\d+ of \d+ (OK|ERROR|SKIP|FAIL|WARN)\b")


def failures(result: dg.ExecuteInProcessResult) -> list[str]:
    """One line per failed step: its key and the first line of its error (a failed check's message)."""
    return [f"{event.step_key}: {failure_message(event.event_specific_data)}"
            for event in result.all_events if event.is_step_failure]


class _DbtResultLines(io.TextIOBase):
    """Stands in for stdout while dagster-dbt echoes dbt's log: keeps dbt's per-node result lines
    (to stderr, as progress) and drops the rest, so stdout carries only the command's summary."""

    def __init__(self):
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if _DBT_RESULT.match(line.strip()):
                print(f"    {line.strip()}", file=sys.stderr, flush=True)
        return len(text)


@contextmanager
def _run_history_without_fsync() -> Iterator[None]:
    """Dagster's SQLite run history opens, commits and closes a connection per event, and each commit
    and close waits for the disk: ~45 s for the ~600 events of one dbt build on a busy machine, ~7 s
    without fsync (for the SQLAlchemy connections this process opens during the run; measured in
    docs/benchmarks.md). Only the run history is exposed, and only to an operating-system crash: the
    warehouse is DuckDB's own file and the online store opens its own sqlite3 connections."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def no_fsync(dbapi_connection, _record) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute("PRAGMA synchronous=OFF")

    event.listen(Engine, "connect", no_fsync)
    try:
        yield
    finally:
        event.remove(Engine, "connect", no_fsync)


def execute_job(name: str, *, run_config: dict | None = None,
                asset_selection: Sequence[dg.AssetKey] | None = None,
                progress: bool = False) -> dg.ExecuteInProcessResult:
    """Executes job `name` of orchestration/definitions.py against STREAMLOOP_HOME/dagster; never raises
    on a failed step (a blocked model is an outcome, not a crash): read `result.success` and `failures`.

    With `progress`, the run prints short lines on stderr (steps, what they log, failed checks and
    dbt's node results) instead of Dagster's console log.
    """
    from orchestration.definitions import defs
    from orchestration.instance import prepare_dagster_home

    config = dict(run_config or {})
    if progress:
        config["loggers"] = {PROGRESS_LOGGER: {}}
        # a skipped model (no training data) also skips its blocking check; the plan then warns,
        # outside the run's log, that promotion "will proceed without gating" — it is skipped too
        logging.getLogger("dagster._core.execution.plan.active").setLevel(logging.ERROR)
    job = defs().resolve_job_def(name)
    with (_run_history_without_fsync(), dg.DagsterInstance.from_config(str(prepare_dagster_home(get_settings())))
          as instance, redirect_stdout(_DbtResultLines()) if progress else nullcontext()):
        return job.execute_in_process(run_config=config, instance=instance, asset_selection=asset_selection,
                                      raise_on_error=False)
