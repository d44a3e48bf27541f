"""The dbt project as Dagster sees it, with a manifest that always matches the SQL on disk.

The manifest is parsed (`dbt parse`) whenever it is missing or older than any file of the project
(in `dagster dev`, a deployed code server, tests), so the asset graph never describes models that
no longer exist, and an unchanged project loads without paying for a parse.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from orchestration.defs.dbt.environment import dbt_environment
from streamloop.core.settings import DBT_PROJECT_DIR, get_settings

_PROJECT_FOLDERS = ("models", "macros", "seeds", "tests", "snapshots", "analyses")


def manifest_is_stale(project: DbtProject) -> bool:
    if not project.manifest_path.exists():
        return True
    parsed_at = project.manifest_path.stat().st_mtime
    files = [project.project_dir / "dbt_project.yml"]
    for folder in _PROJECT_FOLDERS:
        files += [p for p in (project.project_dir / folder).rglob("*") if p.is_file()]
    return any(p.stat().st_mtime > parsed_at for p in files)


def dbt_executable() -> str:
    """The `dbt` installed beside this Python (a virtualenv's bin is often not on PATH), else PATH's."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def prepare_dbt_project(project: DbtProject) -> DbtProject:
    """Runs `dbt parse` when the manifest is missing or stale; returns the project."""
    if manifest_is_stale(project):
        settings = get_settings()  # parsing renders env_var() calls too
        with dbt_environment(lake_root=settings.lake_root, warehouse_path=str(settings.warehouse_file)):
            (DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
             .cli(["parse", "--quiet"], target_path=project.target_path).wait())
    return project


dbt_project = prepare_dbt_project(DbtProject(project_dir=DBT_PROJECT_DIR))
