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

from orchestration.failures import failure_message

PROGRESS_LOGGER = "progress"
# the dbt step's progress is dbt's own per-node lines (orchestration/runs.py); dagster-dbt's
# informational messages about its invocation are left to the UI's log
_DBT_STEP = "warehouse_models"


class _ProgressHandler(logging.Handler):
    """Reads only public Dagster types: a framework event reaches a job's loggers as a `dg.DagsterEvent`
    in the record's `dagster_event` extra (Python logging's `extra`), read through its public properties;
    an asset's own message has no event and is the record's text after "<job> - <run id> - <step> - ".
    The in-process executor runs one step at a time, so such a message belongs to the step started last."""

    def __init__(self, job_name: str, run_id: str):
        super().__init__(logging.DEBUG)  # Dagster logs its own events (step start, success) at DEBUG
        self._prefix = f"{job_name} - {run_id} - "
        self._started: dict[str, float] = {}
        self._step: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_event", None)
        if isinstance(event, dg.DagsterEvent):
            line = self._event_line(event)
        else:
            line = self._message_line(record.getMessage(), record.levelno)
        if line:
            print(line, file=sys.stderr, flush=True)

    def _message_line(self, message: str, level: int) -> str | None:
        if level < (logging.WARNING if self._step == _DBT_STEP else logging.INFO):
            return None
        prefix = self._prefix + (f"{self._step} - " if self._step else "")
        return f"    {message.removeprefix(prefix)}"

    def _event_line(self, event: dg.DagsterEvent) -> str | None:
        step = event.step_key or ""
        if event.is_step_start:
            self._step = step
            self._started[step] = time.perf_counter()
            return f"▸ {step}"
        if event.is_step_success:
            self._step = None
            elapsed = time.perf_counter() - self._started.pop(step, time.perf_counter())
            return f"  {step} done ({elapsed:.1f}s)"
        if event.is_step_failure:
            self._step = None
            return f"  {step} FAILED: {failure_message(event.step_failure_data)}"
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            if not evaluation.passed:
                return f"  check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed"
        return None


@dg.logger(description="Short progress lines on stderr (what `streamloop build` and `train` print).")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger(f"streamloop.run.{init_context.run_id}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.handlers = [_ProgressHandler(init_context.job_def.name, init_context.run_id)]
    return logger


@dg.definitions
def loggers() -> dg.Definitions:
    # the console logger stays available: a job's loggers replace Dagster's defaults when declared
    return dg.Definitions(loggers={"console": dg.colored_console_logger, PROGRESS_LOGGER: progress_logger})
