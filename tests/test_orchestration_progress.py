"""The progress logger of `streamloop build/train` (orchestration/defs/progress.py), on a small real job:
which step runs, what an asset says, how long a step took, which check failed and why a step failed."""
from __future__ import annotations

import logging
import re

import dagster as dg

from orchestration.defs import progress
from orchestration.defs.progress import PROGRESS_LOGGER, progress_logger


@dg.asset
def counted(context) -> int:
    context.log.info("counted 3 rows")
    context.log.debug("a detail nobody at a terminal needs")
    return 3


@dg.asset_check(asset=counted)
def counted_is_even() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False)


@dg.asset(deps=[counted])
def broken() -> None:
    raise dg.Failure(description="the lake has no events\nsecond line")


def run(capsys, *assets, checks=()) -> list[str]:
    defs = dg.Definitions(assets=list(assets), asset_checks=list(checks), jobs=[dg.define_asset_job("j")],
                          loggers={PROGRESS_LOGGER: progress_logger})
    defs.resolve_job_def("j").execute_in_process(run_config={"loggers": {PROGRESS_LOGGER: {}}}, raise_on_error=False)
    out, err = capsys.readouterr()
    assert out == ""  # progress goes to stderr only
    return err.splitlines()


def test_progress_prints_steps_messages_durations_check_and_step_failures(capsys):
    lines = run(capsys, counted, broken, checks=[counted_is_even])
    assert lines[:3] == ["▸ counted", "    counted 3 rows", lines[2]]
    assert re.fullmatch(r"  counted done \(\d+\.\ds\)", lines[2])
    assert "  check counted_is_even on counted failed" in lines
    assert "  broken FAILED: the lake has no events" in lines
    assert not any("detail" in line or "STEP_" in line or "RUN_" in line for line in lines)


def test_the_dbt_steps_info_messages_stay_quiet_its_warnings_do_not(capsys):
    @dg.asset(name=progress._DBT_STEP)
    def dbt_like(context) -> None:
        context.log.info("dagster-dbt says what it invokes")
        context.log.warning("dbt warned about a stale source")

    assert run(capsys, dbt_like)[:2] == [f"▸ {progress._DBT_STEP}", "    dbt warned about a stale source"]


def test_a_run_without_the_logger_prints_nothing_of_it(capsys):
    logging.getLogger("streamloop.run").handlers.clear()
    defs = dg.Definitions(assets=[counted], jobs=[dg.define_asset_job("j")])
    defs.resolve_job_def("j").execute_in_process()
    assert "▸ counted" not in capsys.readouterr().err
