"""Batch scoring of the latest snapshot, written back to the warehouse.

`account_scores`: account_id, snapshot_date, churn_risk, predicted_ltv_cents, segment, model versions.
`profile_scores`: profile_id, account_id, snapshot_date, churn_risk, segment, activity_bucket.
Scoring uses XGBoost's inplace_predict on a float32 numpy matrix (no DMatrix copy).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ml.churn import ChurnModel
from ml.errors import TrainingDataError
from ml.features import feature_matrix, latest_snapshot, read_table, table_exists
from ml.ltv import LtvModel

AT_RISK = 0.3  # churn risk at or above which an account counts as at risk (segments, campaigns)


def segment(churn_risk: np.ndarray, predicted_ltv: np.ndarray | None) -> np.ndarray:
    """at_risk_high_value / at_risk / high_value / steady; value is high above the median predicted LTV."""
    at_risk = churn_risk >= AT_RISK
    if predicted_ltv is None:
        return np.where(at_risk, "at_risk", "steady")
    high_value = predicted_ltv >= np.nanmedian(predicted_ltv)
    return np.select([at_risk & high_value, at_risk, high_value], ["at_risk_high_value", "at_risk", "high_value"],
                     "steady")


def score_accounts(frame: pd.DataFrame, churn: ChurnModel, ltv: LtvModel | None,
                   versions: dict[str, str]) -> pd.DataFrame:
    """Scores for the latest snapshot of `account_features`."""
    latest = latest_snapshot(frame)
    if latest.empty:
        raise TrainingDataError("account_features is empty: nothing to score")
    risk = churn.predict_matrix(feature_matrix(latest, churn.features, "account_features"))
    value = ltv.predict_matrix(feature_matrix(latest, ltv.features, "account_features")) if ltv else None
    return pd.DataFrame({
        "account_id": latest["account_id"].to_numpy(),
        "snapshot_date": latest["snapshot_date"].to_numpy(),
        "churn_risk": risk.astype("float64"),
        "predicted_ltv_cents": value.astype("float64") if value is not None else np.full(len(latest), np.nan),
        "segment": segment(risk, value),
        "churn_model_version": versions.get("churn"),
        "ltv_model_version": versions.get("ltv"),
    })


def score_profiles(con, account_scores: pd.DataFrame) -> pd.DataFrame:
    """Profiles of scored accounts with their account's risk and segment, and an activity bucket."""
    profiles = read_table(con, "profiles")[["profile_id", "account_id"]]
    merged = profiles.merge(account_scores[["account_id", "snapshot_date", "churn_risk", "segment"]],
                            on="account_id", how="inner")
    plays = pd.Series(dtype="float64")
    if table_exists(con, "profile_features"):
        features = latest_snapshot(read_table(con, "profile_features"))
        if "plays_28d" in features.columns:
            plays = features.set_index("profile_id")["plays_28d"]
    count = merged["profile_id"].map(plays).fillna(0).to_numpy()
    merged["activity_bucket"] = np.select([count == 0, count < 5, count < 20], ["inactive", "light", "regular"],
                                          "heavy")
    return merged


def write_table(con, name: str, frame: pd.DataFrame) -> int:
    """Replace main.<name> with `frame` (a read-write connection); returns the row count."""
    con.register("_scores_frame", frame)
    try:
        con.execute(f'create or replace table main."{name}" as select * from _scores_frame')
    finally:
        con.unregister("_scores_frame")
    return len(frame)
