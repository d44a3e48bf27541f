"""`streamloop ui`: the Dagster UI over orchestration/definitions.py, with the whole lineage
(raw lake → dbt staging/marts/features → models → online store).

Runs `dagster dev` (webserver + daemon, so schedules and the lake sensor work when switched on)
with DAGSTER_HOME under STREAMLOOP_HOME, so run history lives beside the rest of the local state.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from streamloop.errors import StreamloopError
from streamloop.progress import say
from streamloop.settings import Settings, get_settings

DEFINITIONS_MODULE = "orchestration.definitions"

# no usage statistics leave the machine from a local UI
_INSTANCE_CONFIG = "telemetry:\n  enabled: false\n"


def prepare_dagster_home(settings: Settings) -> Path:
    """Creates STREAMLOOP_HOME/dagster with an instance config (kept if the user edited it)."""
    home = settings.home_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(_INSTANCE_CONFIG)
    return home


def ui_environment(settings: Settings, dagster_home: Path) -> dict[str, str]:
    """The child's environment: absolute STREAMLOOP_HOME (the UI may resolve paths from elsewhere)
    and this virtualenv's bin first on PATH, so dbt runs launched from the UI find `dbt`."""
    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(dagster_home)
    env["STREAMLOOP_HOME"] = str(settings.home_dir)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def run_ui(port: int = 3000, host: str = "127.0.0.1") -> None:
    settings = get_settings()
    dagster_home = prepare_dagster_home(settings)
    command = [sys.executable, "-m", "dagster", "dev", "-m", DEFINITIONS_MODULE, "-h", host, "-p", str(port)]
    say(f"Dagster UI: http://{host}:{port}  (DAGSTER_HOME={dagster_home}; Ctrl-C stops it)")
    try:
        completed = subprocess.run(command, check=False, env=ui_environment(settings, dagster_home))
    except KeyboardInterrupt:  # dagster dev received the same Ctrl-C and shuts itself down
        say("Dagster UI stopped")
        return
    if completed.returncode != 0:
        raise StreamloopError(f"dagster dev exited with status {completed.returncode} (see its output above)")
