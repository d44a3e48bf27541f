"""The environment variables dbt's profiles.yml and vars read, set from the bound resources."""
from __future__ import annotations

import os
from contextlib import contextmanager

from streamloop.settings import get_settings


@contextmanager
def dbt_environment(lake_root: str, warehouse_path: str):
    # TODO(build.py): replace with streamloop.build's helper once it lands
    settings = get_settings()
    values = {"STREAMLOOP_LAKE_URI": lake_root, "STREAMLOOP_WAREHOUSE_PATH": warehouse_path,
              "STREAMLOOP_THREADS": str(settings.threads)}
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
