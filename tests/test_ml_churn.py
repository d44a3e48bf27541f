"""Churn and LTV on synthetic account snapshots with a planted signal."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from ml.churn import ChurnModel, train_churn
from ml.config import ChurnConfig, LtvConfig, TimeSplit
from ml.errors import NoTrainingData, TrainingDataError
from ml.evaluate import classification_metrics, regression_metrics
from ml.features import feature_columns, feature_hash, split_by_time
from ml.ltv import LtvModel, train_ltv
from ml.synthetic import account_snapshots


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One BLAS/OpenMP thread: on a busy 2-core machine, spinning thread pools make tests 20× slower."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def snapshots() -> pd.DataFrame:
    return account_snapshots(n_accounts=1500, n_snapshots=8, seed=3)


@pytest.fixture(scope="module")
def churn_result(snapshots):
    return train_churn(snapshots, ChurnConfig(nthread=1))


def test_churn_learns_the_planted_signal_and_beats_the_baseline(churn_result):
    baseline = churn_result.baseline_metrics["logistic_recency_frequency"]
    assert churn_result.metrics["auc"] > 0.7
    assert churn_result.metrics["auc"] > baseline["auc"]
    assert churn_result.metrics["top_decile_lift"] > 1.5
    for metric in ("pr_auc", "log_loss", "brier"):
        assert metric in churn_result.metrics


def test_churn_features_exclude_keys_labels_and_flags(churn_result):
    for column in ("account_id", "snapshot_date", "is_churned_30d", "revenue_next_90d_cents",
                   "is_churn_label_complete", "is_ltv_label_complete"):
        assert column not in churn_result.features
    assert "days_since_last_activity" in churn_result.features
    assert churn_result.feature_hash == feature_hash(churn_result.features)
    assert set(churn_result.details["contributions"]) == set(churn_result.features)


def test_churn_model_round_trips_through_artifacts(churn_result, snapshots):
    loaded = ChurnModel.from_artifacts(churn_result.artifacts)
    np.testing.assert_allclose(loaded.predict(snapshots.head(200)), churn_result.model.predict(snapshots.head(200)),
                               rtol=1e-6)


def test_split_by_time_never_leaks(snapshots):
    parts = split_by_time(snapshots, TimeSplit(embargo_days=7))
    train_max = parts.train["snapshot_date"].max()
    later = [p for p in (parts.calibration, parts.test) if not p.empty]
    assert all(train_max < p["snapshot_date"].min() for p in later)
    if not parts.calibration.empty:
        assert parts.calibration["snapshot_date"].max() < parts.test["snapshot_date"].min()
    assert (parts.calibration["snapshot_date"].min() - train_max).days >= 7


def test_unmatured_snapshots_are_never_trained_on(snapshots, churn_result):
    latest = snapshots["snapshot_date"].max().isoformat()
    assert churn_result.data_window["test_to"] < latest


def test_single_class_labels_fail_clearly(snapshots):
    frame = snapshots.copy()
    frame.loc[frame["is_churned_30d"].notna(), "is_churned_30d"] = False
    with pytest.raises(TrainingDataError, match="single class"):
        train_churn(frame)


def test_too_few_rows_fail_clearly(snapshots):
    with pytest.raises(TrainingDataError, match="at least 200"):
        train_churn(snapshots.head(100))


def test_missing_label_column_fails_clearly(snapshots):
    with pytest.raises(TrainingDataError, match="account_features lacks required column.*is_churned_30d"):
        train_churn(snapshots.drop(columns=["is_churned_30d"]))
    with pytest.raises(TrainingDataError, match="revenue_next_90d_cents"):
        train_ltv(snapshots.drop(columns=["revenue_next_90d_cents"]))


def test_scoring_refuses_a_frame_without_a_model_feature(churn_result, snapshots):
    with pytest.raises(TrainingDataError, match="failed_payments_90d"):
        churn_result.model.predict(snapshots.drop(columns=["failed_payments_90d"]))


def test_no_subscriptions_is_a_skip_not_a_failure(snapshots):
    frame = snapshots.assign(price_cents=0)
    with pytest.raises(NoTrainingData, match="no subscriptions"):
        train_churn(frame)
    with pytest.raises(NoTrainingData, match="no subscriptions"):
        train_ltv(frame)


def test_undefined_metrics_are_never_recorded():
    metrics = classification_metrics(np.zeros(50), np.linspace(0.1, 0.9, 50))
    assert "auc" not in metrics.values and "auc" in metrics.undefined
    assert "brier" in metrics.values
    flat = regression_metrics(np.full(10, 5.0), np.arange(10.0))
    assert "normalized_gini" not in flat.values and "normalized_gini" in flat.undefined


def test_ltv_ranks_revenue_better_than_chance_and_round_trips(snapshots):
    result = train_ltv(snapshots, LtvConfig(nthread=1))
    assert result.metrics["normalized_gini"] > 0.2
    assert result.metrics["mae"] <= result.baseline_metrics["price_times_expected_months"]["mae"] * 1.05
    assert "is_churned_30d" not in result.features
    loaded = LtvModel.from_artifacts(result.artifacts)
    predictions = loaded.predict(snapshots.head(100))
    assert (predictions >= 0).all()


def test_feature_columns_skip_text_columns():
    frame = pd.DataFrame({"account_id": ["a"], "plan": ["basic"], "price_cents": [799], "is_trial": [True],
                          "is_churn_label_complete": [True]})
    assert feature_columns(frame) == ["price_cents", "is_trial"]


def test_training_does_not_depend_on_the_order_the_warehouse_stored_rows_in(snapshots):
    import duckdb

    from ml.features import read_table

    config = ChurnConfig(nthread=1)
    metrics = []
    for seed in (1, 2):  # the same rows, stored in two different physical orders
        con = duckdb.connect()
        con.register("frame", snapshots.sample(frac=1, random_state=seed))
        con.execute("create table account_features as select * from frame")
        metrics.append(train_churn(read_table(con, "account_features"), config).metrics)
        con.close()
    assert metrics[0] == metrics[1]
