"""`run_training` end to end on a small synthetic warehouse: train, gate, promote, score, publish —
through the Dagster jobs, into the SQLite online store the API reads."""
from __future__ import annotations

import json

import duckdb
import numpy as np
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
    outcomes = {o.name: o for o in summary.outcomes}
    assert outcomes["churn"].status == "promoted" and outcomes["recommender"].status == "promoted"
    # 5 matured weekly snapshots cannot hold a 90-day purge gap: LTV is skipped, honestly, not evaluated
    assert outcomes["ltv"].status == "skipped" and "90-day purge gap" in outcomes["ltv"].reason
    registry = default_registry()
    assert registry.versions("churn") == [1, 2]  # the learned model and its logistic baseline, both registered
    assert registry.versions("recommender") == [1, 2, 3, 4, 5, 6]  # the ranker and five baseline generators
    for name in ("churn", "recommender"):
        production = registry.production(name)
        assert (production.model_name, production.model_kind) == (outcomes[name].model_name,
                                                                     outcomes[name].model_kind)
        assert production.selection["chosen"] == production.model_name
        assert outcomes[name].decision.startswith(f"{production.model_name} ({production.model_kind}) serves")
    churn_version = registry.production("churn").model_version
    recommender_version = registry.production("recommender").model_version
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    scores = con.execute("select * from account_scores").df()
    assert len(scores) == 300 and scores["churn_risk"].between(0, 1).all()
    assert set(scores["churn_model_version"]) == {churn_version}
    assert con.execute("select count(*) from profile_scores").fetchone()[0] > 0
    con.close()
    assert set(summary.published) >= {"profile", "title", "lists", "candidates", "similar"}
    store = get_store(get_settings())
    profile_ids = [f"p{i}" for i in range(120)]
    candidates = read_published(store, "candidates", profile_ids)
    assert len(candidates) == 120 and all(v["model_version"] == recommender_version and v["items"]
                                          for v in candidates.values())
    assert read_published(store, "profile", ["p0"])["p0"]["segment"] is not None
    for value in candidates.values():  # a thumbs-down marks a title as seen: never recommended
        assert "t119" not in {item for item, _ in value["items"]}
    assert set(read_published(store, "lists", ["trending", "popular", "new_releases", "other"])) == {
        "trending", "popular", "new_releases"}
    store.close()
    assert (home / "registry" / "churn" / "v1" / "report" / "roc.png").exists()
    rendered = summary.render()
    assert f"churn        promoted v{registry.production('churn').version} " in rendered
    assert "label events" in rendered and "why: " in rendered


def test_a_learned_model_that_loses_to_its_baseline_leaves_the_baseline_serving(home):
    from streamloop.app.train import run_training

    accounts = account_snapshots(n_accounts=300, n_snapshots=8, seed=1)
    # churn odds linear in two recency/frequency features: the logistic baseline is the true model
    logit = -2.5 + 0.3 * accounts["days_since_last_activity"] - 0.5 * np.log1p(accounts["household_plays_28d"])
    churned = np.random.default_rng(1).random(len(accounts)) < 1 / (1 + np.exp(-logit))
    accounts["is_churned_30d"] = pd.array(churned, dtype="boolean")
    build_warehouse(home / "warehouse.duckdb", accounts)
    summary = run_training(["churn"])
    (outcome,) = summary.outcomes
    assert (outcome.status, outcome.model_name, outcome.model_kind) == (
        "promoted", "logistic_recency_frequency", "baseline")
    registry = default_registry()
    assert registry.get("churn", 1).metrics["auc"] < outcome.metrics["auc"]  # the learned one ranked worse
    production = registry.production("churn")
    assert (production.version, production.model_kind) == (2, "baseline")
    learned = registry.get("churn", 1)
    assert learned.model_kind == "learned" and registry.gate_of("churn", 1)["passed"] is False
    assert any(r.startswith("not selected: logistic_recency_frequency (baseline) serves")
               for r in registry.gate_of("churn", 1)["reasons"])
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    risk = con.execute("select account_id, churn_risk, churn_model_version from account_scores "
                       "order by account_id").df()
    con.close()
    assert set(risk["churn_model_version"]) == {"churn:v2"}
    # the scores are the baseline's own predictions on the latest snapshot
    from ml.churn import ChurnModel

    model = ChurnModel.from_artifacts(registry.load_artifacts("churn", 2)[1])
    latest = accounts[accounts["snapshot_date"] == accounts["snapshot_date"].max()].sort_values("account_id")
    np.testing.assert_allclose(risk["churn_risk"].to_numpy(), model.predict(latest), rtol=1e-9)


def test_too_little_data_is_a_skip_and_the_command_succeeds(home):
    from streamloop.app.train import run_training

    build_warehouse(home / "warehouse.duckdb", account_snapshots(n_accounts=20, n_snapshots=8, seed=1))
    summary = run_training(["churn", "ltv"])  # returns: no exception, so the CLI exits 0
    outcomes = {o.name: o for o in summary.outcomes}
    assert outcomes["churn"].status == "skipped"
    assert outcomes["churn"].reason == ("churn needs at least 200 matured account snapshots, found 140 "
                                        "(STREAMLOOP_MIN_TRAINING_ROWS)")
    assert outcomes["ltv"].status == "skipped"
    assert default_registry().versions("churn") == []


def test_bad_data_fails_and_leaves_production_untouched(home):
    from streamloop.app.train import run_training

    accounts = account_snapshots(n_accounts=300, n_snapshots=8, seed=1)
    build_warehouse(home / "warehouse.duckdb", accounts)
    run_training(["churn"])
    before = default_registry().production("churn").version

    one_class = accounts.copy()
    one_class["is_churned_30d"] = one_class["is_churned_30d"].fillna(False) & False
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.register("frame", one_class)
    con.execute("create or replace table account_features as select * from frame")
    con.close()
    with pytest.raises(StreamloopError, match="single class"):
        run_training(["churn"])
    registry = default_registry()
    assert registry.versions("churn") == [1, 2] and registry.production("churn").version == before


def test_a_run_whose_candidates_all_fail_is_reported_kept_and_the_command_succeeds(home):
    from streamloop.app.train import run_training

    accounts = account_snapshots(n_accounts=300, n_snapshots=8, seed=1)
    build_warehouse(home / "warehouse.duckdb", accounts)
    run_training(["churn"])
    before = default_registry().production("churn").version
    # labels shuffled across rows: the signal is gone, so no candidate reaches the AUC floor
    noise = accounts.copy()
    noise["is_churned_30d"] = noise["is_churned_30d"].sample(frac=1, random_state=3).to_numpy()
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.register("frame", noise)
    con.execute("create or replace table account_features as select * from frame")
    con.close()
    summary = run_training(["churn"])
    (outcome,) = summary.outcomes
    assert (outcome.status, outcome.version) == ("kept", 3)
    assert outcome.reason.startswith("gate failed: no churn candidate passed its checks: ")
    assert "floor: auc" in outcome.reason
    assert default_registry().production("churn").version == before
    assert summary.scored["account_scores"] == 300  # scoring still ran, with the unchanged production version


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
    version = default_registry().production("churn").version
    artifact = home / "registry" / "churn" / f"v{version}" / "model.json"
    artifact.write_bytes(artifact.read_bytes()[:-10] + b"tampered!!")
    with pytest.raises(StreamloopError, match=r"^train failed: batch_scoring step account_scores: .*corrupt") as failure:
        run_training(["ltv"])
    assert "\n" not in str(failure.value)
    registry = default_registry()
    assert registry.production("churn").version == version and registry.versions("churn") == [1, 2]


def test_rollback_restores_the_previous_production_version_and_republishes_it(home):
    from click.testing import CliRunner

    from ml.gates import GateResult
    from streamloop.app.train import run_training
    from streamloop.cli import main

    build_warehouse(home / "warehouse.duckdb", account_snapshots(n_accounts=300, n_snapshots=8, seed=1))
    run_training(["churn"])
    registry = default_registry()
    first = registry.production("churn")
    other = ({1, 2} - {first.version}).pop()
    registry.promote("churn", other, GateResult("churn", True))  # an operator's promotion of the other candidate

    listing = CliRunner().invoke(main, ["models"])
    assert listing.exit_code == 0 and f"churn serves churn:v{other} = " in listing.output
    described = json.loads(CliRunner().invoke(main, ["models", "--json"]).output)
    assert described[0]["production"]["model_version"] == f"churn:v{other}"

    rolled = CliRunner().invoke(main, ["models", "rollback", "churn"])
    assert rolled.exit_code == 0, rolled.output
    assert f"churn: production churn:v{other} → {first.model_version} ({first.model_name}, {first.model_kind})" \
        in rolled.output
    assert default_registry().production("churn").version == first.version
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    served = {row[0] for row in con.execute("select distinct churn_model_version from account_scores").fetchall()}
    con.close()
    assert served == {first.model_version}  # rescored with the restored version
    again = CliRunner().invoke(main, ["models", "rollback", "churn"])
    assert again.exit_code != 0 and "no earlier production version" in again.output
