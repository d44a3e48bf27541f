"""The dbt project as Dagster sees it, its manifest prepared the way dagster-dbt documents.

- `dagster dev` (`streamloop ui`): `prepare_if_dev()` re-parses the project at every code-location load,
  so the asset graph follows SQL edits.
- A deployment: `dagster-dbt project prepare-and-package --file orchestration/defs/dbt/project.py` at
  packaging time writes the manifest the code server loads.
- `streamloop build` and `streamloop train` (in-process runs): `prepare_manifest()` parses before the
  definitions load (streamloop/app/build.py), so a build after a SQL edit never runs a stale manifest.
  It skips the parse (a dbt process: seconds) when the manifest is fresh: no file under dbt_project/ and
  no STREAMLOOP_/DBT_ variable changed since it was written (a stamp beside the manifest records them).
- Anywhere else (tests, a fresh checkout) a missing manifest is parsed once at import.

Parsing renders the env_var() calls of profiles.yml and the sources, so it runs with the same environment
dbt runs with (settings → STREAMLOOP_* variables).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.defs.dbt.environment import dbt_environment
from streamloop.core.settings import DBT_PROJECT_DIR, get_settings


@contextmanager
def _parse_environment() -> Iterator[None]:
    """What `dbt parse` needs: the environment settings give dbt, and this Python's `dbt` first on PATH
    (the preparer runs plain `dbt`; a virtualenv's bin is often not on PATH)."""
    settings = get_settings()
    path = os.pathsep.join([str(Path(dbt_executable()).parent), os.environ.get("PATH", "")])
    with (dbt_environment(lake_root=settings.lake_root, warehouse_path=str(settings.warehouse_file)),
          _environ_value("PATH", path)):
        yield


@contextmanager
def _environ_value(name: str, value: str) -> Iterator[None]:
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


def dbt_executable() -> str:
    """The `dbt` installed beside this Python (a virtualenv's bin is often not on PATH), else PATH's."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


# what the manifest was parsed from, beside it: the project's files (mtime, size) and dbt's environment
MANIFEST_INPUTS_NAME = "streamloop_manifest_inputs.json"
NOT_PARSED = ("target", "logs", "dbt_packages")  # dbt's outputs under the project folder


def manifest_inputs() -> dict:
    """What a parse reads: every project file's mtime and size, the STREAMLOOP_*/DBT_* variables, dbt's version."""
    from dbt.version import __version__ as dbt_version

    files = {}
    for folder, subfolders, names in os.walk(DBT_PROJECT_DIR):
        if Path(folder) == DBT_PROJECT_DIR:
            subfolders[:] = [name for name in subfolders if name not in NOT_PARSED]
        for name in names:
            stat = (Path(folder) / name).stat()
            files[str((Path(folder) / name).relative_to(DBT_PROJECT_DIR))] = [stat.st_mtime_ns, stat.st_size]
    environment = {k: v for k, v in os.environ.items() if k.startswith(("STREAMLOOP_", "DBT_"))}
    return {"dbt": dbt_version, "environment": environment, "files": files}


def manifest_is_fresh(inputs: dict) -> bool:
    stamp = dbt_project.manifest_path.parent / MANIFEST_INPUTS_NAME
    try:
        return dbt_project.manifest_path.exists() and json.loads(stamp.read_text()) == inputs
    except (OSError, ValueError):
        return False


def prepare_manifest() -> Path:
    """Parses the project with dagster-dbt's own preparer unless the manifest is fresh; returns the manifest."""
    with _parse_environment():
        inputs = manifest_inputs()  # before the parse: an edit during it makes the next call parse again
        if not manifest_is_fresh(inputs):
            dbt_project.preparer.prepare(dbt_project)
            (dbt_project.manifest_path.parent / MANIFEST_INPUTS_NAME).write_text(json.dumps(inputs))
    return dbt_project.manifest_path


# dbt's own DBT_TARGET_PATH, when set, moves the manifest too (the test suite gives each parallel worker its own)
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, target_path=os.environ.get("DBT_TARGET_PATH") or "target")
with _parse_environment():
    dbt_project.prepare_if_dev()
if not dbt_project.manifest_path.exists():
    prepare_manifest()
