"""The published audience: what the runner reads from the warehouse, as Parquet in the lake, for runners
that have no warehouse file (the lifecycle Lambda on AWS; the warehouse lives on the Dagster machine).

`publish` (the Dagster asset `messaging_audience_snapshot`, after each warehouse build) writes
`<lake>/messaging/audience/<table>.parquet` for each of TABLES; `materialize` reads them back through the
Lake adapter into a local DuckDB file the runner opens like the warehouse. The snapshot is as fresh as the
last build, as the warehouse itself is for a runner that reads it directly.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from messaging.audience import MART
from streamloop.core.lake import Lake

# table -> the query that publishes it: the mart audiences select on, and what `runner.bingers` joins for
# catalog campaigns (completed plays of series episodes only)
TABLES = {
    MART: f"select * from {MART}",
    "titles": "select title_id, series_id from titles where series_id is not null",
    "plays": "select plays.profile_id, plays.title_id, plays.is_completed from plays inner join titles "
             "on plays.title_id = titles.title_id where plays.is_completed and titles.series_id is not null",
}


def snapshot_path(lake: Lake, table: str) -> str:
    return f"{lake.root}/messaging/audience/{table}.parquet"


def publish(warehouse_path: Path, lake: Lake) -> dict[str, int]:
    """Writes each table's snapshot; returns rows per table (nothing when the warehouse has no audience mart)."""
    written = {}
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        present = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        for table, sql in TABLES.items():
            # a warehouse without the messaging mart (built before it existed, or a partial build) publishes
            # nothing: the Lambda then says "nothing published" instead of publication failing
            if MART in present and (table == MART or {"plays", "titles"} <= present):
                arrow = con.sql(sql).to_arrow_table()
                lake._write(snapshot_path(lake, table), arrow)  # the lake's one writer (atomic locally, S3 put)
                written[table] = arrow.num_rows
    return written


def materialize(lake: Lake, path: Path) -> Path | None:
    """The published snapshot as a DuckDB file at `path` (replaced); None when nothing is published."""
    tables = {table: lake.read_table(snapshot_path(lake, table)) for table in TABLES}
    if tables[MART] is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        for table, arrow in tables.items():
            if arrow is not None:
                con.register("snapshot", arrow)
                con.execute(f"create table {table} as select * from snapshot")
                con.unregister("snapshot")
    return path
