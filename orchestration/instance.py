"""The local Dagster instance under STREAMLOOP_HOME/dagster, shared by CLI runs and `streamloop ui`."""
from __future__ import annotations

from pathlib import Path

from streamloop.core.settings import Settings

# No usage statistics leave the machine from a local UI. DuckDB takes one writer at a time, so the
# steps that open the warehouse (pool `warehouse`) take turns across runs (dbt, training, scoring).
_INSTANCE_CONFIG = """\
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""


def prepare_dagster_home(settings: Settings) -> Path:
    """Creates STREAMLOOP_HOME/dagster with an instance config (kept if the user edited it)."""
    home = settings.home_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(_INSTANCE_CONFIG)
    return home
