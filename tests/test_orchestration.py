"""The Dagster layer: definitions load with the whole lineage, the lake sensor, dbt assets on a tiny
lake, and blocking quality checks that stop a worse model from reaching production."""
from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from streamloop.core.lake import Lake
from streamloop.core.settings import get_settings


@pytest.fixture
def home(tmp_path, monkeypatch):
    (tmp_path / "home").mkdir()
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
    dg.Definitions.validate_loadable(definitions)  # what the UI's code server does: names, jobs, resources
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

    # what each automation starts: lake → build, daily → training, training → scoring → publication,
    # hourly → campaigns, daily → compaction and the raw lake's retention (docs/privacy.md)
    targets = {d.name: d.job_name for d in [*definitions.schedules, *definitions.sensors]}
    assert targets == {"hourly_warehouse_build": "warehouse_build", "nightly_warehouse_build": "warehouse_build",
                       "raw_lake_sensor": "warehouse_build",
                       "daily_model_training": "model_training", "scoring_after_training": "batch_scoring",
                       "scoring_after_blocked_training": "batch_scoring", "publication_after_scoring": "publication",
                       "hourly_campaign_run": "campaign_run", "daily_campaign_performance": "campaign_performance_refresh",
                       "daily_lake_compaction": "lake_compaction", "daily_raw_lake_retention": "raw_lake_retention"}
    # compaction runs after the ledger it reads (streamloop/core/compaction.py)
    assert "int_events_received" in _upstream(graph, "compacted_lake")
    assert set(definitions.resources) >= {"lake", "warehouse", "registry", "online_store", "dbt"}


def test_the_nightly_build_runs_the_data_tests_on_whole_tables(definitions):
    # hourly builds test the rows they changed (tests/test_warehouse_changed_rows_tests.py); the nightly one all rows
    from orchestration.defs.dbt.assets import DbtBuildConfig, warehouse_models

    schedules = {s.name: s for s in definitions.schedules}
    nightly, hourly = schedules["nightly_warehouse_build"], schedules["hourly_warehouse_build"]
    assert (nightly.cron_schedule, nightly.execution_timezone) == ("45 3 * * *", "UTC")
    [request] = nightly.evaluate_tick(dg.build_schedule_context()).run_requests
    config = request.run_config["ops"][warehouse_models.op.name]["config"]
    assert DbtBuildConfig(**config) == DbtBuildConfig(whole_table_tests=True)
    [hourly_request] = hourly.evaluate_tick(dg.build_schedule_context()).run_requests
    assert not hourly_request.run_config


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


# -- dbt: a slice of the warehouse on a tiny lake ---------------------------------------------------------

TITLE = {"title_id": "t1", "name": "A Film", "kind": "movie", "genres": ["drama"], "moods": [], "cast": [],
         "maturity_rating": "13+", "runtime_s": 5400, "release_date": "2020-01-01", "available_countries": ["*"]}


def _app_opens(prefix: str, n: int, day: str) -> list[str]:
    return [_event(f"{prefix}{i}", occurred_at=f"{day}T10:{i:02d}:00+00:00") for i in range(n)]


def _count(path, table: str) -> int:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f'select count(*) from "{table}"').fetchone()[0]


@pytest.mark.slow
def test_dbt_assets_build_a_slice_on_full_refresh_then_incrementally(home):
    from orchestration.defs.dbt.assets import warehouse_models
    from orchestration.defs.dbt.jobs import full_refresh_run_config
    from orchestration.defs.lake.assets import raw_catalog, raw_events, raw_rejected
    from orchestration.defs.resources import local_resources
    from orchestration.runs import execute_job, failures
    from streamloop.core.contract import validate_catalog_record, validate_event

    settings = get_settings()
    lake = Lake(settings.lake_root)
    first = _app_opens("a", 5, "2026-03-01")
    assert not any(validate_event(json.loads(raw)) for raw in first) and not validate_catalog_record(TITLE)
    day1 = datetime(2026, 3, 1, 12, tzinfo=UTC)
    lake.write_records("events", [*first, first[0], "{not json"], "test", received_at=day1, batch_id="b1")
    lake.write_records("catalog", [json.dumps(TITLE)], "test", received_at=day1, batch_id="c1")

    assets = [warehouse_models, raw_events, raw_catalog, raw_rejected]
    # the slice: everything the `events` mart is built from (seeds, staging, intermediate)
    selection = dg.AssetSelection.keys("events").upstream() & dg.AssetSelection.assets(warehouse_models)
    resources = {k: v for k, v in local_resources(settings).items() if k in ("dbt", "lake", "warehouse")}

    def build(**kwargs):
        result = dg.materialize(assets, selection=selection, resources=resources, **kwargs)
        assert result.success
        return result

    # a full refresh (run config) builds the slice from the whole lake
    result = build(run_config=full_refresh_run_config())
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"stg_lake__events", "int_events_deduplicated", "events", "titles"} <= materialized
    assert "plays" not in materialized  # only the selected slice ran
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
    assert any(c.asset_key.to_user_string() == "events" for c in checks)
    assert _count(settings.warehouse_file, "events") == 5  # the duplicate and the malformed record are not events

    # incremental by default: a later batch adds exactly its new events. This time through the
    # warehouse_build job (what the schedule and the lake sensor run), recorded where the UI looks
    day2 = datetime(2026, 3, 2, 12, tzinfo=UTC)
    lake.write_records("events", _app_opens("b", 3, "2026-03-02"), "test", received_at=day2, batch_id="b2")
    slice_keys = [e.asset_key for e in result.get_asset_materialization_events()]
    incremental = execute_job("warehouse_build", asset_selection=slice_keys)
    assert incremental.success, failures(incremental)
    assert _count(settings.warehouse_file, "events") == 8
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        assert instance.get_latest_materialization_event(dg.AssetKey("events")) is not None


# -- models: training, the blocking gate, promotion ------------------------------------------------------

def _write_table(path, name, frame) -> None:
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.register("frame", frame)
        con.execute(f"create or replace table {name} as select * from frame")
        con.unregister("frame")


def _churn_assets():
    from orchestration.defs.ml.asset_checks import check_churn_model_quality
    from orchestration.defs.ml.assets import churn_model, churn_training_set, production_churn_model

    return [dg.AssetSpec("account_features"), churn_training_set, churn_model, check_churn_model_quality,
            production_churn_model]


def _resources(settings):
    from orchestration.defs.resources import local_resources

    return {k: v for k, v in local_resources(settings).items() if k in ("warehouse", "registry")}


@pytest.mark.slow
def test_a_failing_quality_check_keeps_a_worse_model_out_of_production(home):
    from ml.errors import RegistryError
    from ml.registry import registry_for
    from ml.synthetic import account_snapshots

    settings = get_settings()
    registry = registry_for(settings.registry_root)
    instance = dg.DagsterInstance.ephemeral()
    accounts = account_snapshots(n_accounts=300, n_snapshots=8, seed=1)
    _write_table(settings.warehouse_file, "account_features", accounts)

    # GIVEN a first run on data with signal: the learned model (v1) and its baseline (v2) are registered,
    # the check passes and the chosen one becomes production; the UI metadata says which kind and why
    first = dg.materialize(_churn_assets(), resources=_resources(settings), instance=instance)
    assert first.success
    assert [e.passed for e in first.get_asset_check_evaluations()] == [True]
    production = registry.production("churn")
    assert registry.versions("churn") == [1, 2] and production.version in (1, 2)
    model_metadata = first.asset_materializations_for_node("churn_model")[0].metadata
    assert model_metadata["chosen"].value == production.model_version == f"churn:v{production.version}"
    assert model_metadata["model_kind"].value == production.model_kind
    assert model_metadata["decision"].value.startswith(f"{production.model_name} ({production.model_kind}) serves")
    assert "| churn:v2 | logistic_recency_frequency | baseline |" in model_metadata["candidates"].value
    assert "data:image/png;base64," in model_metadata["report"].value  # plots from ml.reports, inline
    assert model_metadata["metric/auc"].value == production.metrics["auc"] > 0.6
    promoted = first.asset_materializations_for_node("production_churn_model")[0].metadata
    assert promoted["model_kind"].value == production.model_kind and promoted["why"].value

    # WHEN the labels lose their signal, the retrained model is worse than the gate allows
    shuffled = accounts.assign(is_churned_30d=accounts["is_churned_30d"].sample(frac=1, random_state=3).to_numpy())
    _write_table(settings.warehouse_file, "account_features", shuffled)
    second = dg.materialize(_churn_assets(), resources=_resources(settings), instance=instance,
                            raise_on_error=False)

    # THEN the blocking check fails, the promotion step never runs and production stays as it was
    assert not second.success
    evaluation, = second.get_asset_check_evaluations()
    assert not evaluation.passed and "no churn candidate passed its checks" in evaluation.description
    assert "floor: auc" in evaluation.description
    materialized = {e.asset_key.to_user_string() for e in second.get_asset_materialization_events()}
    assert "churn_model" in materialized and "production_churn_model" not in materialized
    assert registry.versions("churn") == [1, 2, 3, 4]
    assert registry.production("churn").version == production.version
    assert registry.gate_of("churn", 3)["passed"] is False and registry.gate_of("churn", 4)["passed"] is False

    # AND promoting v2 without its check (materializing the promotion alone) is refused too
    alone = dg.materialize(_churn_assets(), resources=_resources(settings), instance=instance,
                           selection=["production_churn_model"], raise_on_error=False)
    assert not alone.success
    failure = next(e for e in alone.all_events if e.is_step_failure)
    assert failure.step_key == "production_churn_model"
    assert failure.event_specific_data.error.cause.cls_name == RegistryError.__name__
    assert registry.production("churn").version == production.version


@pytest.mark.slow
def test_missing_training_data_skips_the_model_with_its_reason(home):
    from ml.synthetic import account_snapshots

    settings = get_settings()
    no_subscriptions = account_snapshots(n_accounts=20, n_snapshots=2).assign(price_cents=0, plan=None)
    _write_table(settings.warehouse_file, "account_features", no_subscriptions.drop(columns=["plan"]))
    result = dg.materialize(_churn_assets(), resources=_resources(settings))
    assert result.success
    assert result.get_asset_materialization_events() == []
    skipped = [e for e in result.all_events if e.event_type_value == "STEP_SKIPPED"]
    assert {e.step_key for e in skipped} >= {"churn_model", "production_churn_model"}


# -- serving: scores from production models, then publication of whatever exists ---------------------------

def _small_warehouse(path) -> None:
    import pandas as pd

    from ml.synthetic import account_snapshots, taste_catalog, taste_interactions

    interactions = taste_interactions(n_profiles=40, n_items=60, per_profile=12, seed=5)
    profile_ids = sorted(interactions["profile_id"].unique())
    _write_table(path, "account_features", account_snapshots(n_accounts=300, n_snapshots=8, seed=1))
    _write_table(path, "titles", taste_catalog(n_items=60))
    _write_table(path, "profiles", pd.DataFrame({
        "profile_id": profile_ids, "account_id": [f"a{i}" for i in range(len(profile_ids))],
        "is_kids": False, "maturity_rating": "18+", "country": "US", "timezone": "UTC"}))
    _write_table(path, "plays", pd.DataFrame({
        "play_id": [f"pl{i}" for i in range(len(interactions))], "profile_id": interactions["profile_id"],
        "title_id": interactions["item_id"], "content_id": interactions["item_id"],
        "started_at": interactions["ts"], "watch_seconds": 1800, "is_completed": interactions["weight"] > 1}))
    _write_table(path, "title_features", pd.DataFrame({  # what publication reads popularity lists from
        "title_id": ["t1", "t2"], "snapshot_date": pd.Timestamp("2026-01-01"), "unique_viewers_28d": [3, 5],
        "plays_7d": [4, 1], "trending_velocity": [0.5, 0.0], "days_since_release": [10, 400]}))


@pytest.mark.slow
def test_serving_scores_with_production_models_and_publishes_what_exists(home):
    from orchestration.defs.resources import local_resources
    from orchestration.defs.serving.assets import (
        account_scores,
        online_store_publication,
        profile_scores,
        recommender_outputs,
    )
    from streamloop.core.store.generations import read_published
    from streamloop.core.store.sqlite import SQLiteStore

    settings = get_settings()
    _small_warehouse(settings.warehouse_file)
    resources = local_resources(settings)
    assert dg.materialize(_churn_assets(), resources=_resources(settings)).success  # a churn model in production

    external = [dg.AssetSpec(k) for k in ("production_churn_model", "production_ltv_model", "profiles",
                                          "profile_features", "production_recommender_model", "titles",
                                          "plays", "events")]
    scoring = dg.materialize([*external, account_scores, profile_scores, recommender_outputs],
                             resources=resources)
    scored = {e.asset_key.to_user_string() for e in scoring.get_asset_materialization_events()}
    # no recommender was ever promoted: its outputs are skipped, the scores are not
    assert scored == {"account_scores", "profile_scores"}
    assert _count(settings.warehouse_file, "account_scores") == 300

    external += [dg.AssetSpec(k) for k in ("profile_scores", "recommendation_candidates", "similar_titles")]
    published = dg.materialize([*external, online_store_publication], resources=resources)
    written = published.asset_materializations_for_node("online_store_publication")[0].metadata["keys_written"]
    assert "candidates" not in written.value and written.value["profile"] == 40
    store = SQLiteStore(settings.online_store_file)
    try:
        profile = read_published(store, "profile", ["p0"])["p0"]
        assert profile["churn_risk"] is not None and profile["segment"]
        assert read_published(store, "lists", ["popular"])["popular"]["items"] == [["t2", 5.0], ["t1", 3.0]]
    finally:
        store.close()


# -- streamloop ui ----------------------------------------------------------------------------------------

def test_ui_keeps_dagster_state_under_streamloop_home(home, monkeypatch):
    import sys

    import yaml

    from orchestration.instance import prepare_dagster_home
    from streamloop.app.dagster_ui import WORKSPACE, ui_environment

    monkeypatch.chdir(home)
    monkeypatch.setenv("STREAMLOOP_HOME", "relative/home")  # a code server may resolve it from elsewhere
    get_settings.cache_clear()
    dagster_home = prepare_dagster_home(get_settings())
    assert dagster_home == (Path.cwd() / "relative/home/dagster").resolve()
    config = yaml.safe_load((dagster_home / "dagster.yaml").read_text())
    assert config["concurrency"]["pools"]["default_limit"] == 1  # the DuckDB warehouse pool
    env = ui_environment(get_settings(), dagster_home)
    assert env["DAGSTER_HOME"] == str(dagster_home) and Path(env["STREAMLOOP_HOME"]).is_absolute()
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)  # dbt is found
    location, = yaml.safe_load(WORKSPACE.read_text())["load_from"]
    assert location["python_module"]["module_name"] == "orchestration.definitions"


def test_the_run_history_keeps_one_connection_per_shard_and_another_process_reads_every_event(home):
    import subprocess
    import sys

    from orchestration.event_log import PooledSqliteEventLogStorage
    from orchestration.instance import prepare_dagster_home

    @dg.asset
    def counted(context) -> None:
        for i in range(40):
            context.log.info(f"event {i}")

    dagster_home = prepare_dagster_home(get_settings())
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        result = dg.materialize([counted], instance=instance)
        assert result.success
        stored = len(instance.all_logs(result.run_id))
        assert stored > 40
        # one engine for the run's shard and one for the index, however many events were stored
        assert len(storage._engines) <= 2
    # `streamloop ui` is another process: it reads what this one committed, event by event
    reader = ("import dagster as dg, sys; i = dg.DagsterInstance.from_config(sys.argv[1]); "
              "print(len(i.all_logs(sys.argv[2])), i.get_latest_materialization_event(dg.AssetKey('counted')) is not None)")
    read = subprocess.run([sys.executable, "-c", reader, str(dagster_home), result.run_id],
                          capture_output=True, text=True, check=True)
    assert read.stdout.split() == [str(stored), "True"]


def test_the_instance_config_is_rewritten_only_while_streamloop_owns_it(home):
    from orchestration.instance import _EARLIER_CONFIGS, prepare_dagster_home

    config = prepare_dagster_home(get_settings()) / "dagster.yaml"
    config.write_text(_EARLIER_CONFIGS[0])  # what an earlier version wrote: brought up to date
    prepare_dagster_home(get_settings())
    assert "PooledSqliteEventLogStorage" in config.read_text()
    config.write_text("telemetry:\n  enabled: false\n")  # a user's own: kept
    prepare_dagster_home(get_settings())
    assert config.read_text() == "telemetry:\n  enabled: false\n"


# -- the dbt manifest -----------------------------------------------------------------------------------

_ASSET_KEYS = ("from streamloop.app.build import warehouse_assets; "
               "print(sorted(k.to_user_string() for k in warehouse_assets().keys))")


def _warehouse_asset_keys(home: Path) -> list[str]:
    """The dbt asset keys as a fresh `streamloop build` process loads them (a new interpreter, like the CLI)."""
    import subprocess
    import sys

    env = {**os.environ, "STREAMLOOP_HOME": str(home), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for name in ("STREAMLOOP_LAKE_URI", "STREAMLOOP_WAREHOUSE_PATH", "DAGSTER_IS_DEV_CLI"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-c", _ASSET_KEYS], env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"'))


@pytest.mark.slow
@pytest.mark.serial
def test_a_build_after_a_sql_edit_never_runs_a_stale_manifest(tmp_path):
    from streamloop.core.settings import DBT_PROJECT_DIR

    probe = DBT_PROJECT_DIR / "models" / "marts" / "zz_manifest_probe.sql"
    # WHEN a model is added after the manifest was written (by the session's first load of the definitions)
    probe.write_text("select 1 as probe_id\n")
    try:
        # THEN the next build's asset graph has it
        assert "zz_manifest_probe" in _warehouse_asset_keys(tmp_path)
    finally:
        probe.unlink()
    # AND once it is deleted again, the next build no longer has it
    assert "zz_manifest_probe" not in _warehouse_asset_keys(tmp_path)


@pytest.mark.slow
@pytest.mark.serial
def test_an_unchanged_project_is_parsed_once_and_a_touched_model_again(home):
    from orchestration.defs.dbt.project import dbt_project, prepare_manifest
    from streamloop.core.settings import DBT_PROJECT_DIR

    prepare_manifest()  # parses: a new home is a new environment
    written = dbt_project.manifest_path.stat().st_mtime_ns
    # WHEN nothing changed THEN the next build's preparation does not run dbt parse
    prepare_manifest()
    assert dbt_project.manifest_path.stat().st_mtime_ns == written
    # WHEN a model is saved again (same text) THEN it parses
    os.utime(DBT_PROJECT_DIR / "models" / "marts" / "plays.sql")
    prepare_manifest()
    assert dbt_project.manifest_path.stat().st_mtime_ns > written
