"""What churn and LTV share: matured rows of `account_features`, an XGBoost fit with early stopping on
the validation slice, and a booster's artifacts (model.ubj + model.json).

Both models learn from the same weekly account snapshots, differ only in their label, objective and
baseline, and are split in time with a purge gap of their label horizon (ml.features.split_by_time).
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xgboost as xgb

from ml import consent
from ml.errors import InsufficientData, NoTrainingData
from ml.features import feature_matrix, read_table, require_columns

TABLE = "account_features"


def read_account_snapshots(con, default: bool | None = None) -> pd.DataFrame:
    """`account_features` as churn and LTV train on it: without the accounts none of whose profiles allows
    personalization (ml.consent.account_predicate; `default` overrides STREAMLOOP_PERSONALIZATION_DEFAULT)."""
    return read_table(con, TABLE, where=consent.account_predicate(con, default=default))


def has_subscriptions(frame: pd.DataFrame) -> bool:
    """False for data without subscriptions (e.g. a MovieLens import): nothing to churn from, no revenue."""
    for column in ("price_cents", "revenue_past_90d_cents"):
        if column in frame.columns and (frame[column].fillna(0) > 0).any():
            return True
    return bool("plan" in frame.columns and frame["plan"].notna().any())


def matured_rows(frame: pd.DataFrame, label: str, matured_flag: str, absent: str, immature: str) -> pd.DataFrame:
    """Account snapshots whose `label` has matured; NoTrainingData (with `absent`/`immature` as the
    reason) when the data has no subscriptions or no snapshot is old enough yet."""
    require_columns(frame, ["account_id", "snapshot_date", label], TABLE)
    if frame.empty or not has_subscriptions(frame):
        raise NoTrainingData(absent)
    mask = frame[label].notna()
    if matured_flag in frame.columns:
        mask &= frame[matured_flag].fillna(False).astype(bool)
    matured = frame[mask.to_numpy()]
    if matured.empty:
        raise NoTrainingData(immature)
    return matured


def require_rows(data: pd.DataFrame, minimum: int, model: str) -> None:
    """Too few rows is a skip with its reason (settings.min_training_rows), not a failure."""
    if len(data) < minimum:
        raise InsufficientData(f"{model} needs at least {minimum} matured account snapshots, found {len(data)} "
                               f"(STREAMLOOP_MIN_TRAINING_ROWS)")


def fit_booster(params: dict, x_train: np.ndarray, y_train: np.ndarray, features: list[str], rounds: int,
                early_stopping_rounds: int, validation: tuple[np.ndarray, np.ndarray] | None) -> xgb.Booster:
    """Boost up to `rounds` rounds; with a validation slice, stop once its metric stops improving and
    keep only the trees up to the best iteration."""
    nthread = params.get("nthread")
    dtrain = xgb.DMatrix(x_train, label=y_train, feature_names=features, nthread=nthread)
    early = {}
    if validation is not None:
        dval = xgb.DMatrix(validation[0], label=validation[1], feature_names=features, nthread=nthread)
        early = {"evals": [(dval, "validation")], "early_stopping_rounds": early_stopping_rounds}
    booster = xgb.train(params, dtrain, num_boost_round=rounds, verbose_eval=False, **early)
    return booster[: booster.best_iteration + 1] if early else booster


class BoosterModel:
    """A booster with its feature list and any extra metadata; predicts from a frame or a float32 matrix."""

    model_name = "xgboost"

    def __init__(self, booster: xgb.Booster, features: list[str], meta: dict | None = None):
        self.booster = booster
        self.features = features
        self.meta = meta or {}

    def raw_scores(self, x: np.ndarray) -> np.ndarray:
        return self.booster.inplace_predict(x, validate_features=False)

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        return self.raw_scores(x)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.predict_matrix(feature_matrix(frame, self.features, TABLE))

    def to_artifacts(self) -> dict[str, bytes]:
        meta = {"model_name": self.model_name, "features": self.features} | self.meta
        return {"model.ubj": bytes(self.booster.save_raw("ubj")), "model.json": json.dumps(meta).encode()}

    @staticmethod
    def load_booster(artifacts: dict[str, bytes]) -> tuple[xgb.Booster, dict]:
        booster = xgb.Booster()
        booster.load_model(bytearray(artifacts["model.ubj"]))
        return booster, json.loads(artifacts["model.json"])


def distinct_label_events(rows: pd.DataFrame, positive: pd.Series) -> int:
    """Accounts with a positive label among `rows`: weekly snapshots repeat one churn (or one payment
    stream) in several rows, so the rows overstate how much evidence a metric rests on."""
    return int(rows.loc[positive.to_numpy(), "account_id"].nunique())
