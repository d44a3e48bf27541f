"""The resources every asset uses, bound once per environment.

`local` binds the embedded defaults under STREAMLOOP_HOME (resolved through streamloop.core.settings);
`aws` binds the same resources to S3 / DynamoDB locations read from environment variables with
`dg.EnvVar`, so a deployment fails loudly when one is missing instead of writing to a local folder.
Assets never branch on the environment: they only see the resources bound here.
"""
from __future__ import annotations

import sys
from functools import cached_property
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from packaging.version import Version

from orchestration.defs.dbt.project import dbt_executable, dbt_project
from streamloop.core.lake import Lake
from streamloop.core.settings import Settings, get_settings

# DuckDB allows one writer per file: every step that opens the warehouse runs in this concurrency
# pool, limited to one at a time by the instance (streamloop ui writes that limit to dagster.yaml)
WAREHOUSE_POOL = "warehouse"


class StreamloopDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt resource without two start-up costs a build does not use (a small nothing-new
    `streamloop build`: 22.4–24.0 → 21.0–22.6 CPU-s, docs/benchmarks.md):
    - it runs `dbt --version` in a subprocess to tell dbt Core from the Fusion engine; the `dbt` beside this
      Python is the dbt-core package installed here, whose version is read directly;
    - it opens a dbt adapter in this process (importing dbt and loading the project and profile) for
      `fetch_row_counts` / `fetch_column_metadata`, which the assets do not call. Without it dagster-dbt
      passes no adapter, as it does when opening one fails.
    Both override private methods of dagster-dbt (pinned <0.30); tests/test_orchestration.py runs builds
    through this resource."""

    @cached_property
    def _cli_version(self) -> Version:
        if Path(self.dbt_executable).resolve() == Path(dbt_executable()).resolve() and \
                Path(dbt_executable()).parent == Path(sys.executable).parent:
            from dbt.version import __version__

            return Version(__version__)
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args):
        return None


class LakeResource(dg.ConfigurableResource):
    """The raw lake (streamloop.core.lake): a local folder or s3://bucket/prefix."""

    root: str

    def get(self) -> Lake:
        return Lake(self.root)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file dbt builds and the ML assets read."""

    path: str

    def connect(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(self.path, read_only=read_only)


class RegistryResource(dg.ConfigurableResource):
    """The model registry (ml.registry): a local folder or s3://bucket/prefix."""

    uri: str

    def get(self):
        from ml.registry import registry_for

        return registry_for(self.uri)


class OnlineStoreResource(dg.ConfigurableResource):
    """The online key-value store the API serves from (streamloop.core.store): SQLite file or DynamoDB."""

    backend: str  # sqlite | dynamodb
    sqlite_path: str | None = None
    dynamodb_table: str | None = None
    aws_region: str | None = None

    def get(self):
        from streamloop.core.store import open_store

        return open_store(self.backend, sqlite_path=self.sqlite_path, dynamodb_table=self.dynamodb_table,
                          aws_region=self.aws_region)


def local_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Everything under STREAMLOOP_HOME (or wherever settings point), as `streamloop build/train` use."""
    return {
        "lake": LakeResource(root=settings.lake_root),
        "warehouse": WarehouseResource(path=str(settings.warehouse_file)),
        "registry": RegistryResource(uri=settings.registry_root),
        "online_store": OnlineStoreResource(backend=settings.online_store,
                                            sqlite_path=str(settings.online_store_file),
                                            dynamodb_table=settings.dynamodb_table,
                                            aws_region=settings.aws_region),
        "dbt": StreamloopDbtCliResource(project_dir=dbt_project, target=settings.dbt_target, dbt_executable=dbt_executable()),
    }


def aws_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """S3 lake and registry, DynamoDB online store; the DuckDB warehouse lives on the worker's disk."""
    return {
        "lake": LakeResource(root=dg.EnvVar("STREAMLOOP_LAKE_URI")),
        "warehouse": WarehouseResource(path=dg.EnvVar("STREAMLOOP_WAREHOUSE_PATH")),
        "registry": RegistryResource(uri=dg.EnvVar("STREAMLOOP_REGISTRY_URI")),
        "online_store": OnlineStoreResource(backend="dynamodb",
                                            dynamodb_table=dg.EnvVar("STREAMLOOP_DYNAMODB_TABLE"),
                                            aws_region=dg.EnvVar("STREAMLOOP_AWS_REGION")),
        "dbt": StreamloopDbtCliResource(project_dir=dbt_project, target=settings.dbt_target, dbt_executable=dbt_executable()),
    }


RESOURCES_BY_ENVIRONMENT = {"local": local_resources, "aws": aws_resources}


def resources_for(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    return RESOURCES_BY_ENVIRONMENT[settings.environment](settings)


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=resources_for(get_settings()))
