"""Consent in training sets (issue 13 item 2, docs/privacy.md "Consent and training sets"): a profile that
declined personalization is left out of the recommender's interactions, and an account none of whose
profiles allows it is left out of churn/LTV's training sets — through the readers every training path uses
(ml.consent) and the Dagster training-set asset; a profile with no decision follows
STREAMLOOP_PERSONALIZATION_DEFAULT."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from ml.synthetic import account_snapshots
from streamloop.core.settings import get_settings

# account a0: p_declined (+ p_partner, who allows) · a1: p_alone (declined, its only profile) · a2: p_quiet
# (no decision) · a3..: p3.. (no decision)
PROFILES = {"p_declined": "a0", "p_partner": "a0", "p_alone": "a1", "p_quiet": "a2"}


def _profiles(n_accounts: int) -> pd.DataFrame:
    pairs = dict(PROFILES) | {f"p{i}": f"a{i}" for i in range(3, n_accounts)}
    return pd.DataFrame({"profile_id": list(pairs), "account_id": list(pairs.values())})


def _plays(profile_ids) -> pd.DataFrame:
    start = datetime(2026, 3, 1, 20)
    rows = [{"play_id": f"{p}-{k}", "profile_id": p, "title_id": f"t{k}", "content_id": f"t{k}",
             "started_at": start + timedelta(hours=k), "watch_seconds": 1800, "is_completed": k % 2 == 0}
            for p in profile_ids for k in range(3)]
    return pd.DataFrame(rows)


def _events(profile_ids) -> pd.DataFrame:
    return pd.DataFrame([{"event_id": f"e-{p}", "event_type": "add_to_list", "profile_id": p, "title_id": "t9",
                          "content_id": "t9", "occurred_at": datetime(2026, 3, 2), "rating_value": None}
                         for p in profile_ids])


def write_warehouse(path, decisions: dict[str, bool | None], n_accounts: int = 40) -> None:
    """A small warehouse as dbt leaves it for training: plays, events, profiles, account_features and the
    profile_consents mart holding `decisions` (None: a row with no personalization decision)."""
    profiles = _profiles(n_accounts)
    consents = pd.DataFrame({
        "profile_id": list(decisions), "consent_personalization": pd.array(list(decisions.values()), dtype="boolean"),
        "consent_email": pd.array([True] * len(decisions), dtype="boolean"),
        "consent_push": pd.array([None] * len(decisions), dtype="boolean"),
        "consent_in_app": pd.array([None] * len(decisions), dtype="boolean"),
        "last_decision_at": [datetime(2026, 3, 1)] * len(decisions),
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        for name, frame in (("profiles", profiles), ("plays", _plays(profiles["profile_id"])),
                            ("events", _events(profiles["profile_id"])),
                            ("account_features", account_snapshots(n_accounts=n_accounts, n_snapshots=8, seed=3)),
                            ("profile_consents", consents)):
            con.register("frame", frame)
            con.execute(f"create or replace table {name} as select * from frame")
            con.unregister("frame")


@pytest.fixture
def warehouse(streamloop_home):
    return get_settings().warehouse_file


def _interaction_profiles(path) -> set[str]:
    from ml.recommend.interactions import load_interactions

    with duckdb.connect(str(path), read_only=True) as con:
        return set(load_interactions(con)["profile_id"])


def _snapshot_accounts(path) -> set[str]:
    from ml.account_models import read_account_snapshots

    with duckdb.connect(str(path), read_only=True) as con:
        return set(read_account_snapshots(con)["account_id"])


def test_a_declined_profile_is_left_out_of_the_recommenders_interactions(warehouse):
    write_warehouse(warehouse, {"p_declined": False, "p_partner": True, "p_quiet": None})
    profiles = _interaction_profiles(warehouse)
    assert "p_declined" not in profiles  # neither its plays nor its list adds
    assert {"p_partner", "p_quiet", "p_alone", "p3"} <= profiles

    write_warehouse(warehouse, {"p_declined": True, "p_partner": True, "p_quiet": None})  # it consents again
    assert "p_declined" in _interaction_profiles(warehouse)


def test_with_the_default_off_only_profiles_that_consented_are_trained_on(warehouse, monkeypatch):
    write_warehouse(warehouse, {"p_declined": False, "p_partner": True, "p_quiet": None})
    monkeypatch.setenv("STREAMLOOP_PERSONALIZATION_DEFAULT", "false")
    get_settings.cache_clear()
    assert _interaction_profiles(warehouse) == {"p_partner"}  # p_quiet: a row, but no personalization decision
    # accounts: a0 (p_partner allows) stays; every other account has no profile that allows
    assert _snapshot_accounts(warehouse) == {"a0"}


def test_an_account_is_left_out_of_churn_and_ltv_only_when_none_of_its_profiles_allows(warehouse):
    write_warehouse(warehouse, {"p_declined": False, "p_partner": True, "p_alone": False})
    accounts = _snapshot_accounts(warehouse)
    assert "a1" not in accounts  # its only profile declined
    assert {"a0", "a2", "a3"} <= accounts  # a0: p_partner still allows; a2: no decision, default on

    write_warehouse(warehouse, {"p_declined": False, "p_partner": True, "p_alone": True})
    assert "a1" in _snapshot_accounts(warehouse)


def test_the_account_backtest_reads_the_same_consent_filtered_sets_as_training(warehouse, monkeypatch):
    """benchmarks/backtest_accounts.py trains churn/LTV and the recommender outside `streamloop train`: it
    must leave out what training leaves out."""
    import sys

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    sys.modules.pop("backtest_accounts", None)
    from backtest_accounts import read_service

    write_warehouse(warehouse, {"p_declined": False, "p_partner": True, "p_alone": False})
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table titles as select 't0' as title_id, 'movie' as kind, ['drama'] as genres")
    accounts, interactions, _ = read_service(str(warehouse))
    assert set(accounts["account_id"]) == _snapshot_accounts(warehouse) and "a1" not in set(accounts["account_id"])
    assert set(interactions["profile_id"]) == _interaction_profiles(warehouse)
    assert "p_declined" not in set(interactions["profile_id"])


def test_no_consent_mart_yet_trains_on_everyone_by_default(warehouse):
    write_warehouse(warehouse, {})
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table profile_consents")
    assert "p_declined" in _interaction_profiles(warehouse)
    assert "a1" in _snapshot_accounts(warehouse)


@pytest.mark.parametrize("decision", [False, True])
def test_the_churn_training_set_asset_leaves_out_an_account_whose_profiles_all_declined(warehouse, decision):
    from orchestration.defs.ml.assets import churn_training_set
    from orchestration.defs.resources import WarehouseResource

    write_warehouse(warehouse, {"p_alone": decision})
    result = dg.materialize([churn_training_set], resources={"warehouse": WarehouseResource(path=str(warehouse))})
    assert result.success
    rows = result.output_for_node("churn_training_set")
    assert ("a1" in set(rows["account_id"])) is decision
    assert len(rows) > 0 and {"a0", "a2"} <= set(rows["account_id"])


def test_publication_reads_the_same_decisions(warehouse):
    from ml.consent import personalization_decisions
    from ml.publish import profile_values

    write_warehouse(warehouse, {"p_declined": False, "p_partner": True, "p_quiet": None})
    with duckdb.connect(str(warehouse), read_only=True) as con:
        values = profile_values(con)
        decisions = personalization_decisions(con)
    assert decisions == {"p_declined": False, "p_partner": True, "p_quiet": None}
    assert {p: values[p]["personalization"] for p in PROFILES} == {
        "p_declined": False, "p_partner": True, "p_alone": None, "p_quiet": None}


def test_every_training_asset_runs_after_the_consent_mart():
    from ml.models import MODELS
    from orchestration.definitions import defs

    graph = defs().resolve_asset_graph()
    training = [spec.training_set_asset or spec.candidates_asset for spec in MODELS.values()]
    for key in training:
        assert "profile_consents" in {k.to_user_string() for k in graph.get(dg.AssetKey(key)).parent_keys}, key
