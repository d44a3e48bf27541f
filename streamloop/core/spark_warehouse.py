"""Reading the tables a Spark build wrote (dbt `--target spark`) without starting Spark.

A local Spark build keeps managed Parquet tables under SPARK_WAREHOUSE_DIR/<schema>.db/<table>/
(profiles.yml); DuckDB reads those files in place, so the build summary and the parity test compare
them with the DuckDB warehouse without a JVM (and without touching Spark's single-user Derby
metastore while a build may hold it).
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from streamloop.core.errors import StreamloopError

SPARK_SCHEMA = "streamloop"  # dbt_project/profiles.yml, target spark


def spark_table_dirs(warehouse_dir: str | Path, schema: str = SPARK_SCHEMA) -> dict[str, Path]:
    """Table name → folder, for every table of `schema` that holds Parquet files (views hold none)."""
    root = Path(warehouse_dir) / f"{schema}.db"
    if not root.is_dir():
        raise StreamloopError(f"no Spark warehouse at {root}: run `streamloop build --target spark` first")
    return {folder.name: folder for folder in sorted(root.iterdir())
            if folder.is_dir() and next(folder.rglob("*.parquet"), None) is not None}


def open_spark_warehouse(warehouse_dir: str | Path, schema: str = SPARK_SCHEMA) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one view per Spark table (partition folders included)."""
    con = duckdb.connect()
    for name, folder in spark_table_dirs(warehouse_dir, schema).items():
        files = str(folder / "**" / "*.parquet").replace("'", "''")
        con.execute(f"create view \"{name}\" as select * from read_parquet('{files}', hive_partitioning = true)")
    return con
