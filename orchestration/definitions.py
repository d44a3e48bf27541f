"""Every Dagster definition of streamloop, loaded from `defs/` (one folder per area: lake, dbt, ml,
serving; see README.md). `streamloop ui` and `dagster dev` load it through workspace.yaml.
"""
from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
