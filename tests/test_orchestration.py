"""The Dagster layer: definitions load with the whole lineage, the lake sensor, dbt assets on a tiny
lake, and blocking quality checks that stop a worse model from reaching production."""
from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

import dagster as dg
import pytest

from streamloop.lake import Lake
from streamloop.settings import get_settings


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMLOOP_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


def _event(event_id: str, occurred_at: str = "2026-03-01T10:00:00+00:00") -> str:
    return json.dumps({"event_id": event_id, "event_type": "app_open", "occurred_at": occurred_at,
                       "device_id": "d1", "profile_id": None, "account_id": None, "schema_version": 1,
                       "context": {"country": "US", "device_type": "tv", "app_version": "1.0", "os": "tvos",
                                   "timezone": "UTC"}, "properties": {}})


# -- the lake sensor ---------------------------------------------------------------------------------

def _evaluate_sensor(lake_root, cursor):
    from orchestration.defs.lake.sensors import raw_lake_sensor
    from orchestration.defs.resources import LakeResource

    context = dg.build_sensor_context(cursor=cursor, resources={"lake": LakeResource(root=str(lake_root))})
    return raw_lake_sensor(context)


def test_lake_sensor_requests_one_build_per_new_files_and_records_received_dates(tmp_path):
    lake = Lake(tmp_path / "lake")
    day1 = datetime(2026, 3, 1, 12, tzinfo=UTC)
    day2 = datetime(2026, 3, 2, 12, tzinfo=UTC)
    lake.write_records("events", [_event("e1"), _event("e2")], "test", received_at=[day1, day2], batch_id="b1")
    lake.write_records("catalog", ['{"title_id": "t1"}'], "test", received_at=day1, batch_id="c1")

    first = _evaluate_sensor(lake.root, None)
    assert len(first.run_requests) == 1
    recorded = {(e.asset_key.to_user_string(), e.partition) for e in first.asset_events}
    assert recorded == {("raw_events", "2026-03-01"), ("raw_events", "2026-03-02"), ("raw_catalog", None)}

    # nothing new since the cursor: no run
    again = _evaluate_sensor(lake.root, first.cursor)
    assert not again.run_requests and again.skip_reason

    # a later file, even for an old received date, is new
    time.sleep(0.01)
    path, = lake.write_records("events", [_event("e3")], "test", received_at=day1, batch_id="b2")
    os.utime(path, (time.time() + 5, time.time() + 5))  # coarse filesystem clocks must not hide it
    later = _evaluate_sensor(lake.root, first.cursor)
    assert len(later.run_requests) == 1
    assert later.run_requests[0].run_key != first.run_requests[0].run_key
    assert [(e.asset_key.to_user_string(), e.partition, e.metadata["new_files"].value) for e in later.asset_events] \
        == [("raw_events", "2026-03-01", 1)]


def test_lake_cursor_tells_apart_files_landed_in_the_same_instant():
    from orchestration.defs.lake.listing import LakeCursor, LakeFile

    a, b = LakeFile("/l/events/received_date=2026-03-01/batch-a.parquet", "events", 10.0), \
        LakeFile("/l/events/received_date=2026-03-01/batch-b.parquet", "events", 10.0)
    cursor = LakeCursor().advance([a])
    assert cursor.new_files([a, b]) == [b]
    cursor = LakeCursor.parse(cursor.advance([b]).serialize())
    assert cursor.new_files([a, b]) == []
    assert a.received_date == "2026-03-01"


# -- the definitions ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def definitions():
    """The whole code location as `streamloop ui` loads it (parses the dbt manifest when stale)."""
    from orchestration.definitions import defs

    return defs()


def _upstream(graph, key: str) -> set[str]:
    return {k.to_user_string() for k in graph.get(dg.AssetKey(key)).parent_keys}


def _ancestors(graph, key: str) -> set[str]:
    seen, todo = set(), [dg.AssetKey(key)]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent.to_user_string() not in seen:
                seen.add(parent.to_user_string())
                todo.append(parent)
    return seen


def test_definitions_load_with_the_whole_lineage(definitions):
    graph = definitions.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    lake = {"raw_events", "raw_catalog", "raw_rejected"}
    dbt = {"stg_lake__events", "events", "plays", "sessions", "profiles", "accounts", "titles",
           "profile_features", "account_features", "title_features"}
    ml = {"churn_training_set", "churn_model", "production_churn_model", "ltv_training_set", "ltv_model",
          "production_ltv_model", "recommender_model", "production_recommender_model"}
    serving = {"account_scores", "profile_scores", "recommendation_candidates", "similar_titles",
               "online_store_publication"}
    assert lake | dbt | ml | serving <= keys

    # raw lake → dbt staging, with the layer groups the translator sets
    assert "raw_events" in _upstream(graph, "stg_lake__events")
    assert "raw_catalog" in _upstream(graph, "stg_lake__catalog")
    assert {graph.get(dg.AssetKey(k)).group_name for k in ("stg_lake__events", "events", "account_features")} \
        == {"staging", "marts", "features"}
    assert graph.get(dg.AssetKey("raw_events")).partitions_def is not None
    # features → models → production → served, all the way back to the raw lake
    assert "account_features" in _upstream(graph, "churn_training_set")
    assert "churn_model" in _upstream(graph, "production_churn_model")
    assert {"production_churn_model", "production_ltv_model"} <= _upstream(graph, "account_scores")
    assert {"profile_scores", "recommendation_candidates"} <= _upstream(graph, "online_store_publication")
    assert {"raw_events", "raw_catalog", "plays", "account_features", "production_recommender_model",
            "production_churn_model"} <= _ancestors(graph, "online_store_publication")

    checks = {c.to_user_string() for c in graph.asset_check_keys}
    assert {"churn_model:check_churn_model_quality", "ltv_model:check_ltv_model_quality",
            "recommender_model:check_recommender_model_quality"} <= checks
    assert any(c.startswith("plays:") for c in checks), "dbt tests should surface as asset checks"
    assert all(graph.get_check_spec(dg.AssetCheckKey.from_user_string(c)).blocking
               for c in checks if c.endswith("_model_quality"))

    assert {s.name for s in definitions.schedules} >= {"hourly_warehouse_build", "daily_model_training"}
    assert {s.name for s in definitions.sensors} >= {"raw_lake_sensor", "scoring_after_training",
                                                     "publication_after_scoring"}
    assert set(definitions.resources) >= {"lake", "warehouse", "registry", "online_store", "dbt"}


def test_environments_differ_only_by_bound_resources(home, monkeypatch):
    from orchestration.defs.resources import aws_resources, local_resources

    settings = get_settings()
    local, aws = local_resources(settings), aws_resources(settings)
    assert set(local) == set(aws)
    assert {k: type(v) for k, v in local.items()} == {k: type(v) for k, v in aws.items()}
    assert local["lake"].root == str(home.resolve() / "lake")
    # aws reads its locations from the environment when a run starts, and fails without them
    monkeypatch.setenv("STREAMLOOP_LAKE_URI", "s3://bucket/lake")
    assert aws["lake"].process_config_and_initialize().root == "s3://bucket/lake"
    monkeypatch.delenv("STREAMLOOP_REGISTRY_URI", raising=False)
    with pytest.raises(Exception, match="STREAMLOOP_REGISTRY_URI"):
        aws["registry"].process_config_and_initialize()
