"""The local Dagster instance under STREAMLOOP_HOME/dagster, shared by CLI runs and `streamloop ui`."""
from __future__ import annotations

from pathlib import Path

from streamloop.core.settings import Settings

# marks a dagster.yaml this module wrote: rewritten when the template changes (or the home moves),
# kept as it is once a user has edited it
_GENERATED = "# written by streamloop (orchestration/instance.py); edit freely, it is then kept as it is\n"

# No usage statistics leave the machine from a local UI. DuckDB takes one writer at a time, so the
# steps that open the warehouse (pool `warehouse`) take turns across runs (dbt, training, scoring).
# The event log is Dagster's default SQLite layout (history/runs) with its connections kept open
# (orchestration/event_log.py).
_INSTANCE_CONFIG = _GENERATED + """\
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
event_log_storage:
  module: orchestration.event_log
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {event_log_dir}
"""

# what earlier versions wrote, replaced like a generated file
_EARLIER_CONFIGS = ("""\
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
""",)


def prepare_dagster_home(settings: Settings) -> Path:
    """Creates STREAMLOOP_HOME/dagster with an instance config (kept if the user edited it)."""
    home = settings.home_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    wanted = _INSTANCE_CONFIG.format(event_log_dir=(home / "history" / "runs").resolve())
    current = config.read_text() if config.exists() else None
    if current != wanted and (current is None or current.startswith(_GENERATED) or current in _EARLIER_CONFIGS):
        config.write_text(wanted)
    return home
