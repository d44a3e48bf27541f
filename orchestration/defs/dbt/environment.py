"""The environment dbt's profiles.yml and vars read: the mapping from settings (orchestration.dbt_runner), with
the lake and warehouse locations of the resources bound to this run (they differ per environment)."""
from __future__ import annotations

import os
from contextlib import AbstractContextManager

from orchestration.dbt_runner import dbt_environment as settings_environment
from orchestration.dbt_runner import environment as _environment
from orchestration.dbt_runner import lake_kinds_present


def dbt_environment(lake_root: str, warehouse_path: str, target: str | None = None) -> AbstractContextManager:
    values = settings_environment(target) | {"STREAMLOOP_LAKE_URI": lake_root,
                                              "STREAMLOOP_LAKE_KINDS": lake_kinds_present(lake_root),
                                              "STREAMLOOP_WAREHOUSE_PATH": warehouse_path}
    # A run of some models (a subset picked in the UI) runs only the tests whose every parent is in
    # it: a relationships test towards a model not built yet would fail on a missing table.
    # For a whole-project build this selects every test, exactly like dbt's default.
    values["DBT_USE_COLORS"] = "false"  # dbt's lines are read in logs and the UI, not a terminal
    values.setdefault("DBT_INDIRECT_SELECTION", os.environ.get("DBT_INDIRECT_SELECTION", "cautious"))
    return _environment(values)
