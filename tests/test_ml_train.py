"""`run_training` end to end on a small synthetic warehouse: train, gate, promote, score, publish —
through the Dagster jobs, into the SQLite online store the API reads."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from ml.registry import default_registry
from ml.synthetic import account_snapshots, taste_catalog, taste_interactions
from streamloop.core.errors import StreamloopError
from streamloop.core.settings import get_settings
from streamloop.core.store import get_store
from streamloop.core.store.generations import read_published


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One BLAS/OpenMP thread: on a busy 2-core machine, spinning thread pools make tests 20× slower."""
    with threadpool_limits(limits=1):
        yield


def build_warehouse(path, accounts: pd.DataFrame) -> None:
    interactions = taste_interactions(n_profiles=120, n_items=120, per_profile=24, seed=5)
    titles = taste_catalog(n_items=120)
    profile_ids = sorted(interactions["profile_id"].unique())
    profiles = pd.DataFrame({
        "profile_id": profile_ids,
        "account_id": [f"a{i % 300}" for i in range(len(profile_ids))],
        "is_kids": [i % 7 == 0 for i in range(len(profile_ids))],
        "maturity_rating": ["7+" if i % 7 == 0 else "18+" for i in range(len(profile_ids))],
        "country": "US", "timezone": "UTC",
    })
    plays = pd.DataFrame({
        "play_id": [f"pl{i}" for i in range(len(interactions))],
        "profile_id": interactions["profile_id"], "title_id": interactions["item_id"],
        "content_id": interactions["item_id"], "started_at": interactions["ts"],
        "play_date": interactions["ts"].dt.date, "watch_seconds": 1800,
        "is_completed": interactions["weight"] > 1,
    })
    disliked = pd.DataFrame({  # every profile gives a thumbs-down to a title it never played
        "event_type": "rating", "profile_id": profile_ids, "title_id": "t119", "content_id": "t119",
        "occurred_at": interactions["ts"].min(), "rating_value": -1,
    })
    disliked = disliked[~disliked["profile_id"].isin(interactions.loc[interactions["item_id"] == "t119", "profile_id"])]
    con = duckdb.connect(str(path))
    for name, frame in (("account_features", accounts), ("profiles", profiles), ("plays", plays),
                        ("titles", titles), ("events", disliked)):
        con.register("frame", frame)
        con.execute(f"create table {name} as select * from frame")
        con.unregister("frame")
    con.close()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMLOOP_HOME", str(tmp_path))
    monkeypatch.setenv("STREAMLOOP_THREADS", "1")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_training_promotes_scores_and_publishes(home):
    from streamloop.app.train import run_training

    build_warehouse(home / "warehouse.duckdb", account_snapshots(n_accounts=300, n_snapshots=8, seed=1))
    summary = run_training()
    statuses = {o.name: o.status for o in summary.outcomes}
    assert statuses["churn"] == "promoted" and statuses["recommender"] == "promoted"
    assert statuses["ltv"] in ("promoted", "kept")
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    scores = con.execute("select * from account_scores").df()
    assert len(scores) == 300 and scores["churn_risk"].between(0, 1).all()
    assert con.execute("select count(*) from profile_scores").fetchone()[0] > 0
    con.close()
    assert set(summary.published) >= {"profile", "title", "lists", "candidates", "similar"}
    store = get_store(get_settings())
    profile_ids = [f"p{i}" for i in range(120)]
    candidates = read_published(store, "candidates", profile_ids)
    assert candidates and all(v["model_version"] == "recommender-v1" and v["items"] for v in candidates.values())
    assert read_published(store, "profile", ["p0"])["p0"]["segment"] is not None
    for value in candidates.values():  # a thumbs-down marks a title as seen: never recommended
        assert "t119" not in {item for item, _ in value["items"]}
    assert set(read_published(store, "lists", ["trending", "popular", "new_releases", "other"])) == {
        "trending", "popular", "new_releases"}
    store.close()
    assert (home / "registry" / "churn" / "v1" / "report" / "roc.png").exists()
    assert "churn" in summary.render()


def test_bad_data_fails_and_leaves_production_untouched(home):
    from streamloop.app.train import run_training

    accounts = account_snapshots(n_accounts=300, n_snapshots=8, seed=1)
    build_warehouse(home / "warehouse.duckdb", accounts)
    run_training(["churn"])
    assert default_registry().production("churn").version == 1

    one_class = accounts.copy()
    one_class["is_churned_30d"] = one_class["is_churned_30d"].fillna(False) & False
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.register("frame", one_class)
    con.execute("create or replace table account_features as select * from frame")
    con.close()
    with pytest.raises(StreamloopError, match="single class"):
        run_training(["churn"])
    registry = default_registry()
    assert registry.versions("churn") == [1] and registry.production("churn").version == 1


def test_a_model_its_gate_keeps_out_is_reported_kept_and_the_command_succeeds(home):
    from streamloop.app.train import run_training

    accounts = account_snapshots(n_accounts=300, n_snapshots=8, seed=1)
    build_warehouse(home / "warehouse.duckdb", accounts)
    run_training(["churn"])
    # labels shuffled across rows: the signal is gone, so the next model is worse than production
    noise = accounts.copy()
    noise["is_churned_30d"] = noise["is_churned_30d"].sample(frac=1, random_state=3).to_numpy()
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.register("frame", noise)
    con.execute("create or replace table account_features as select * from frame")
    con.close()
    summary = run_training(["churn"])
    (outcome,) = summary.outcomes
    assert (outcome.status, outcome.version) == ("kept", 2) and outcome.reason.startswith("gate failed: ")
    assert default_registry().production("churn").version == 1
    assert summary.scored["account_scores"] == 300  # scoring still ran, with production v1


def test_no_subscriptions_skips_churn_and_ltv_while_the_recommender_trains(home):
    from streamloop.app.train import run_training

    empty = account_snapshots(n_accounts=10, n_snapshots=2).head(0)
    build_warehouse(home / "warehouse.duckdb", empty)
    summary = run_training()
    outcomes = {o.name: o for o in summary.outcomes}
    assert outcomes["churn"].status == "skipped" and "no subscriptions" in outcomes["churn"].reason
    assert outcomes["ltv"].status == "skipped"
    assert outcomes["recommender"].status == "promoted"
    assert "skipped" in summary.render()


def test_unknown_model_name_is_refused(home):
    from streamloop.app.train import run_training

    with pytest.raises(StreamloopError, match="unknown model"):
        run_training(["nope"])


def test_a_corrupt_production_artifact_fails_scoring_in_one_line_and_changes_nothing(home):
    from streamloop.app.train import run_training

    build_warehouse(home / "warehouse.duckdb", account_snapshots(n_accounts=300, n_snapshots=8, seed=1))
    run_training(["churn"])
    artifact = next(p for p in (home / "registry" / "churn" / "v1").iterdir() if p.suffix == ".ubj")
    artifact.write_bytes(artifact.read_bytes()[:-10] + b"tampered!!")
    with pytest.raises(StreamloopError, match=r"^train failed: batch_scoring step account_scores: .*corrupt") as failure:
        run_training(["ltv"])
    assert "\n" not in str(failure.value)
    registry = default_registry()
    assert registry.production("churn").version == 1 and registry.versions("churn") == [1]
