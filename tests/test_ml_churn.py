"""Churn and LTV on synthetic account snapshots with a planted signal."""
from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from ml.churn import ChurnModel, LogisticChurnModel, train_churn
from ml.config import ChurnConfig, LtvConfig, TimeSplit
from ml.errors import InsufficientData, NoTrainingData, TrainingDataError
from ml.evaluate import classification_metrics, regression_metrics
from ml.features import feature_columns, feature_hash, split_by_time
from ml.ltv import LtvModel, PriceTimesMonthsModel, train_ltv
from ml.synthetic import account_snapshots


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One BLAS/OpenMP thread: on a busy 2-core machine, spinning thread pools make tests 20× slower."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def snapshots() -> pd.DataFrame:
    return account_snapshots(n_accounts=1500, n_snapshots=8, seed=3)


# the synthetic labels are drawn per snapshot (no label window spans two rows), so a 7-day purge leaks
# nothing here and keeps all three slices on 8 weekly snapshots; the real horizons are tested below
SHORT_PURGE = TimeSplit(purge_days=7)


@pytest.fixture(scope="module")
def churn_result(snapshots):
    return train_churn(snapshots, ChurnConfig(nthread=1, split=SHORT_PURGE))


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


def test_churn_model_and_baseline_round_trip_through_artifacts(churn_result, snapshots):
    rows = snapshots.head(200)
    loaded = ChurnModel.from_artifacts(churn_result.artifacts)
    assert loaded.calibration == churn_result.model.calibration
    np.testing.assert_allclose(loaded.predict(rows), churn_result.model.predict(rows), rtol=1e-6)
    (baseline,) = churn_result.baselines
    restored = ChurnModel.from_artifacts(baseline.artifacts)  # dispatches on the stored model name
    assert isinstance(restored, LogisticChurnModel)
    np.testing.assert_allclose(restored.predict(rows), baseline.model.predict(rows), rtol=1e-12)
    # the stored baseline reproduces the test-slice scores its metrics were computed from
    test_rows = snapshots[snapshots["snapshot_date"].astype(str) >= churn_result.data_window["test_from"]]
    test_rows = test_rows[test_rows["is_churn_label_complete"]]
    np.testing.assert_allclose(restored.predict(test_rows), baseline.unit_outputs, rtol=1e-12)


@pytest.mark.parametrize("purge", [7, 14, 30])
def test_every_slice_pair_keeps_its_purge_gap(purge):
    frame = account_snapshots(n_accounts=20, n_snapshots=30, seed=1)
    parts = split_by_time(frame, TimeSplit(), purge)
    slices = [p["snapshot_date"] for p in (parts.train, parts.calibration, parts.test) if not p.empty]
    assert len(slices) == 3  # 30 weekly dates hold both gaps
    for earlier, later in pairwise(slices):
        assert (later.min() - earlier.max()).days >= purge
    assert (slices[2].min() - slices[0].max()).days >= 2 * purge
    assert parts.window.purge_days == purge


def test_a_history_too_short_for_the_purge_gaps_is_a_skip_with_its_reason():
    frame = account_snapshots(n_accounts=20, n_snapshots=9, seed=1)  # 8 weekly dates span 49 days
    parts = split_by_time(frame, TimeSplit(), 30)  # both gaps do not fit: calibration is dropped, said so
    assert parts.calibration.empty and "no calibration slice" in parts.window.note
    assert (parts.test["snapshot_date"].min() - parts.train["snapshot_date"].max()).days >= 30
    with pytest.raises(InsufficientData, match="cannot hold a 90-day purge gap"):
        split_by_time(frame, TimeSplit(), 90)


def test_unmatured_snapshots_are_never_trained_on(snapshots, churn_result):
    latest = snapshots["snapshot_date"].max().isoformat()
    assert churn_result.data_window["test_to"] < latest
    test_rows = snapshots[(snapshots["snapshot_date"].astype(str) >= churn_result.data_window["test_from"])
                          & snapshots["is_churn_label_complete"]]
    assert churn_result.metrics["rows"] == len(test_rows)  # the unmatured latest snapshot is not in the test


def test_single_class_labels_fail_clearly(snapshots):
    frame = snapshots.copy()
    frame.loc[frame["is_churned_30d"].notna(), "is_churned_30d"] = False
    with pytest.raises(TrainingDataError, match="single class"):
        train_churn(frame)


def test_too_few_rows_is_a_skip_with_its_reason(snapshots):
    with pytest.raises(InsufficientData, match="at least 200 matured account snapshots, found 88"):  # 100 rows, 12 of the unmatured latest week
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
    result = train_ltv(snapshots, LtvConfig(nthread=1, split=SHORT_PURGE))
    assert result.metrics["normalized_gini"] > 0.2
    assert result.metrics["mae"] <= result.baseline_metrics["price_times_expected_months"]["mae"] * 1.05
    assert "is_churned_30d" not in result.features
    rows = snapshots.head(100)
    loaded = LtvModel.from_artifacts(result.artifacts)
    np.testing.assert_allclose(loaded.predict(rows), result.model.predict(rows), rtol=1e-6)
    (baseline,) = result.baselines
    restored = LtvModel.from_artifacts(baseline.artifacts)
    assert isinstance(restored, PriceTimesMonthsModel) and restored.months == result.details["expected_paid_months"]
    np.testing.assert_array_equal(restored.predict(rows), rows["price_cents"].to_numpy() * restored.months)


def test_ltv_with_its_real_horizon_on_eight_weeks_is_a_skip(snapshots):
    with pytest.raises(InsufficientData, match="90-day purge gap"):
        train_ltv(snapshots, LtvConfig(nthread=1))


def test_feature_columns_skip_text_columns():
    frame = pd.DataFrame({"account_id": ["a"], "plan": ["basic"], "price_cents": [799], "is_trial": [True],
                          "is_churn_label_complete": [True]})
    assert feature_columns(frame) == ["price_cents", "is_trial"]


def test_training_does_not_depend_on_the_order_the_warehouse_stored_rows_in(snapshots):
    import duckdb

    from ml.features import read_table

    config = ChurnConfig(nthread=1, split=SHORT_PURGE)
    metrics = []
    for seed in (1, 2):  # the same rows, stored in two different physical orders
        con = duckdb.connect()
        con.register("frame", snapshots.sample(frac=1, random_state=seed))
        con.execute("create table account_features as select * from frame")
        metrics.append(train_churn(read_table(con, "account_features"), config).metrics)
        con.close()
    assert metrics[0] == metrics[1]
