"""Running a job in this process, recorded in the instance `streamloop ui` shows.

For command-line entry points that want their runs, materializations and check results in the UI's
history (STREAMLOOP_HOME/dagster) instead of running the libraries directly.
"""
from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from streamloop.settings import get_settings


def failures(result: dg.ExecuteInProcessResult) -> list[str]:
    """One line per failed step: its key and the first line of its error (a failed check's message)."""
    lines = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            cause = error.cause or error
            lines.append(f"{event.step_key}: {cause.message.strip().splitlines()[0]}")
    return lines


def execute_job(name: str, *, run_config: dict | None = None,
                asset_selection: Sequence[dg.AssetKey] | None = None) -> dg.ExecuteInProcessResult:
    """Executes job `name` of orchestration/definitions.py against STREAMLOOP_HOME/dagster; never raises
    on a failed step (a blocked model is an outcome, not a crash): read `result.success` and `failures`."""
    from orchestration.definitions import defs
    from streamloop.dagster_ui import prepare_dagster_home

    job = defs().resolve_job_def(name)
    with dg.DagsterInstance.from_config(str(prepare_dagster_home(get_settings()))) as instance:
        return job.execute_in_process(run_config=run_config, instance=instance, asset_selection=asset_selection,
                                      raise_on_error=False)
