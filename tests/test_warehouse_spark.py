"""The dbt project on Spark builds the same warehouse as on DuckDB, row for row.

GIVEN one small simulated service (late deliveries, duplicates, malformed records) whose lake is
landed in two steps: first the partitions received up to a cutoff day, then the rest (late events of
earlier days among them)
WHEN the project is built after each step on DuckDB (the second build incremental) and on Spark
(dbt-spark, session method, local Spark; its incremental models rebuild in full)
THEN every mart and feature table holds the same rows on both, compared as sorted frames: text,
dates, booleans and timestamps exactly, numbers within a relative 1e-9 (sums may add up in another
order on Spark).

Spark's tables are read from the Parquet files it wrote (streamloop.core.spark_warehouse). Both Spark
builds run dbt in this process (one SparkSession); they run models only: dbt's data tests on Spark are
exercised by `streamloop build --target spark` (docs/deploy_spark.md). Runtime: see the report in
docs/deploy_spark.md (minutes; the JVM starts once).
"""
from __future__ import annotations

import json
import shutil
from importlib.util import find_spec
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import use_home

from orchestration.dbt_runner import build_test_selection, run_dbt
from streamloop.app.build import summarize_connection
from streamloop.core.settings import DBT_PROJECT_DIR, get_settings
from streamloop.core.simulate import SimulationConfig, run_simulation
from streamloop.core.spark_warehouse import open_spark_warehouse

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(2400),  # the module's builds run in its first test's fixture
    pytest.mark.skipif(find_spec("pyspark") is None or shutil.which("java") is None,
                       reason="needs the spark extra (pip install .[spark]) and Java 17+"),
]

CUTOFF = "2026-03-03"  # received_date partitions up to this day land first
RELATIVE_TOLERANCE = 1e-9
# the tables consumers read: every model under marts/ (its subject folders too) and features/
COMPARED = sorted(p.stem for folder in ("marts", "features") for p in (DBT_PROJECT_DIR / "models" / folder).rglob("*.sql"))


def land(source: Path, lake: Path, first: bool) -> int:
    """Copies the events partitions of `source` received up to CUTOFF (first) or after it, and the
    catalog with the first step; returns how many files were copied."""
    copied = 0
    for partition in sorted((source / "events").iterdir()):
        day = partition.name.removeprefix("received_date=")
        if (day <= CUTOFF) == first:
            shutil.copytree(partition, lake / "events" / partition.name)
            copied += 1
    if first:
        shutil.copytree(source / "catalog", lake / "catalog")
    return copied


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    try:
        source = use_home(mp, tmp_path_factory.mktemp("source") / "home")
        run_simulation(SimulationConfig(profiles=16, days=4, seed=5, start_date="2026-03-01", late_rate=0.1,
                                        duplicate_rate=0.03, malformed_rate=0.02, workers=1))
        home = use_home(mp, tmp_path_factory.mktemp("parity") / "home")
        assert land(source / "lake", home / "lake", first=True) >= 2
        # seeds and models only on DuckDB (its data tests run in the other warehouse tests)
        run_dbt(["seed"], target="duckdb")
        run_dbt(["run"], target="duckdb")
        # Spark in this process (one JVM for both builds); its data tests are left to the CLI run
        # (docs/deploy_spark.md): ~200 queries cost minutes on a loaded 2-core machine
        run_dbt(["seed"], target="spark")
        run_dbt(["run"], target="spark")
        assert land(source / "lake", home / "lake", first=False) >= 1
        run_dbt(["run"], target="duckdb")
        run_dbt(["run"], target="spark")
        settings = get_settings()
        with open_spark_warehouse(settings.spark_warehouse) as con:  # what `streamloop build` prints
            spark_summary = summarize_connection(con, str(settings.spark_warehouse))
        yield settings.warehouse_file, settings.spark_warehouse, spark_summary
    finally:
        mp.undo()
        get_settings.cache_clear()


def normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """Comparable values: UTC-naive timestamps, lists as tuples, every number as float, columns by name."""
    frame = frame[sorted(frame.columns)].copy()
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            frame[name] = column.dt.tz_convert("UTC").dt.tz_localize(None)
        elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            frame[name] = column.astype("float64")
        elif column.dtype == object:
            frame[name] = column.map(lambda v: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v)
            if frame[name].map(lambda v: isinstance(v, float)).any():  # decimals read as objects
                frame[name] = pd.to_numeric(frame[name])
    # a stable order: numbers rounded well outside the tolerance so nearly equal values sort alike
    keys = pd.DataFrame({name: (frame[name].round(6) if pd.api.types.is_float_dtype(frame[name])
                                else frame[name].astype(str)) for name in frame.columns})
    order = keys.sort_values(list(keys.columns), kind="mergesort").index
    return frame.loc[order].reset_index(drop=True)


def test_spark_build_summary_reconciles(warehouses):
    _, _, summary = warehouses
    assert summary.received == summary.accepted + summary.duplicates + summary.rejected
    assert summary.rejected > 0 and summary.duplicates > 0
    assert summary.rows_per_mart["events"] == summary.accepted


def test_every_mart_and_feature_table_has_the_same_rows_on_spark(warehouses):
    duckdb_file, spark_dir, _ = warehouses
    assert {"events", "sessions", "plays", "profiles", "accounts", "profile_features", "title_features"} <= set(COMPARED)
    spark = open_spark_warehouse(spark_dir)
    with duckdb.connect(str(duckdb_file), read_only=True) as local:
        differences, rows = {}, {}
        for table in COMPARED:
            expected = normalized(local.execute(f'select * from "{table}"').df())
            actual = normalized(spark.execute(f'select * from "{table}"').df())
            rows[table] = len(expected)
            try:
                pd.testing.assert_frame_equal(actual, expected, check_dtype=False, rtol=RELATIVE_TOLERANCE)
            except AssertionError as error:
                differences[table] = str(error).splitlines()[:6]
    assert differences == {}
    # not vacuous: the service was built, late data included
    assert rows["events"] > 1000 and rows["sessions"] > 20 and rows["profile_features"] > 0  # 16 profiles, 4 days


def test_spark_second_build_includes_late_events(warehouses):
    """Events received after the cutoff but occurred before it are in Spark's events mart."""
    _, spark_dir, _ = warehouses
    spark = open_spark_warehouse(spark_dir)
    late = spark.execute(
        f"select count(*) from events where cast(received_at as date) > date '{CUTOFF}'"
        f" and occurred_at < timestamp '{CUTOFF}'"
    ).fetchone()[0]
    assert late > 0


def test_a_daily_builds_grouped_data_tests_run_on_spark(warehouses):
    """The one query per model that a daily build runs instead of its tests (macros/grouped_data_tests.sql)
    is Spark SQL too: the events mart's tests and a feature table's, the relationships ones included."""
    home = get_settings().home_dir
    manifest = json.loads((home / "dbt" / "target" / "manifest.json").read_text())
    run_dbt(["test", "--select", "events profile_features", *build_test_selection(manifest, grouped=True)],
            target="spark")
    results = json.loads((home / "dbt" / "target" / "run_results.json").read_text())["results"]
    groups = {r["unique_id"].split(".")[2]: r for r in results if ".grouped_data_tests_" in r["unique_id"]}
    assert set(groups) == {"grouped_data_tests_events_", "grouped_data_tests_profile_features_"}
    assert all(r["status"] == "pass" for r in groups.values())
    assert "unique_events_event_id" in groups["grouped_data_tests_events_"]["compiled_code"]
    assert "relationships_profile_features_profile_id" in groups["grouped_data_tests_profile_features_"]["compiled_code"]
