"""An incremental warehouse against one full refresh of the same lake, table by table."""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_runner import run_dbt
from support.home import use_home


def compare_with_full_refresh(monkeypatch: pytest.MonkeyPatch, incremental_home: Path, full_home: Path,
                              dbt_args: list[str], tables: list[str]) -> dict[str, tuple[int, int, int]]:
    """Builds the lake of `incremental_home` in one `dbt build --full-refresh <dbt_args>` into `full_home` (which
    becomes the current home) and returns table -> (rows only in the incremental warehouse, rows only in the full
    refresh, rows in the full refresh), EXCEPT ALL both ways."""
    shutil.copytree(incremental_home / "lake", full_home / "lake")
    use_home(monkeypatch, full_home)
    run_dbt(["build", "--full-refresh", *dbt_args])
    with duckdb.connect() as con:
        con.execute(f"attach '{incremental_home / 'warehouse.duckdb'}' as incremental (read_only)")
        con.execute(f"attach '{full_home / 'warehouse.duckdb'}' as full_refresh (read_only)")

        def only_in(left: str, right: str, table: str) -> int:
            return con.execute(f"select count(*) from (select * from {left}.{table} except all "
                               f"select * from {right}.{table})").fetchone()[0]

        return {table: (only_in("incremental", "full_refresh", table), only_in("full_refresh", "incremental", table),
                        con.execute(f"select count(*) from full_refresh.{table}").fetchone()[0])
                for table in tables}
