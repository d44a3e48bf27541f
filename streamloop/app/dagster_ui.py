"""`streamloop ui`: the Dagster UI over orchestration/definitions.py, with the whole lineage
(raw lake → dbt staging/marts/features → models → online store).

Runs `dagster dev` (webserver + daemon, so schedules and the lake sensor work when switched on)
with DAGSTER_HOME under STREAMLOOP_HOME, so run history lives beside the rest of the local state.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from orchestration.instance import prepare_dagster_home
from streamloop.app.process_tree import run_supervised
from streamloop.core.errors import StreamloopError
from streamloop.core.progress import say
from streamloop.core.settings import REPO_ROOT, Settings, get_settings

_SHUTDOWN_GRACE_SECONDS = 5  # for dagster dev to stop its own children before we stop them
WORKSPACE = REPO_ROOT / "workspace.yaml"  # one code location, `streamloop`: orchestration/definitions.py

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
    command = [sys.executable, "-m", "dagster", "dev", "-w", str(WORKSPACE), "-h", host, "-p", str(port)]
    say(f"Dagster UI: http://{host}:{port}  (DAGSTER_HOME={dagster_home}; Ctrl-C stops it)")
    # SIGTERM (a process manager) and Ctrl-C stop the webserver, daemon and code servers with us
    returncode, stopped_by = run_supervised(command, ui_environment(settings, dagster_home), _SHUTDOWN_GRACE_SECONDS)
    if stopped_by is not None:
        say(f"Dagster UI stopped ({stopped_by})")
        return
    if returncode != 0:
        raise StreamloopError(f"dagster dev exited with status {returncode} (see its output above)")
