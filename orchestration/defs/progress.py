"""A Dagster logger that prints a run as short progress lines on stderr, for `streamloop build/train`.

Dagster's console logger prints every framework event with its run id and metadata, which buries
what a person at a terminal wants: which step runs, what it said, which check failed and why.
Runs started from the UI or a schedule do not configure this logger and keep Dagster's defaults.
"""
from __future__ import annotations

import logging
import sys
import time

import dagster as dg
from dagster._core.log_manager import get_log_record_metadata, has_log_record_metadata

from orchestration.failures import failure_message

PROGRESS_LOGGER = "progress"
# the dbt step's progress is dbt's own per-node lines (orchestration/runs.py); dagster-dbt's
# informational messages about its invocation are left to the UI's log
_DBT_STEP = "warehouse_models"


class _ProgressHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)  # Dagster logs its own events (step start, success) at DEBUG
        self._started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if not has_log_record_metadata(record):
            return
        meta = get_log_record_metadata(record)
        line = self._line(meta, record.levelno)
        if line:
            print(line, file=sys.stderr, flush=True)

    def _line(self, meta, level: int) -> str | None:
        event = meta["dagster_event"]
        step = meta["step_key"] or ""
        if event is None:  # a message an asset logged itself
            quiet = level < (logging.WARNING if step == _DBT_STEP else logging.INFO)
            return None if quiet else f"    {meta['orig_message']}"
        kind = event.event_type_value
        if kind == "STEP_START":
            self._started[step] = time.perf_counter()
            return f"▸ {step}"
        if kind == "STEP_SUCCESS":
            elapsed = time.perf_counter() - self._started.pop(step, time.perf_counter())
            return f"  {step} done ({elapsed:.1f}s)"
        if kind == "STEP_FAILURE":
            return f"  {step} FAILED: {failure_message(event.event_specific_data)}"
        if kind == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed:
            evaluation = event.event_specific_data
            return f"  check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed"
        return None


@dg.logger(description="Short progress lines on stderr (what `streamloop build` and `train` print).")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger(f"streamloop.run.{init_context.run_id}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.handlers = [_ProgressHandler()]
    return logger


@dg.definitions
def loggers() -> dg.Definitions:
    # the console logger stays available: a job's loggers replace Dagster's defaults when declared
    return dg.Definitions(loggers={"console": dg.colored_console_logger, PROGRESS_LOGGER: progress_logger})
