"""LTV: XGBoost regressor of `revenue_next_90d_cents` (revenue an account brings in the next 90 days).

Objective: `reg:tweedie`. The target is non-negative, has a point mass at zero (accounts that
churn before their next payment) and a right-skewed positive part (plan prices times 1–3 months,
upgrades). Squared error would chase the tail and predict negatives; a Tweedie compound
Poisson–gamma likelihood with a log link models exactly "zero or a positive amount", predicts
only non-negative values, and its mean is the expected revenue we want to rank and sum. The
variance power (config, default 1.3) sits between Poisson (1) and gamma (2).

Baseline (same run, same test slice): current price × expected paid months in the next 90 days,
from a churn-free survival estimate on the training snapshots — the monthly retention r is
1 − the matured 30-day churn rate, so the expected payments are 1 + r + r² (one per 30 days,
the first due now for a paying account).
"""
from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pandas as pd
import xgboost as xgb

from ml.churn import has_subscriptions
from ml.config import LtvConfig
from ml.errors import NoTrainingData, TrainingDataError
from ml.evaluate import regression_metrics
from ml.features import feature_columns, feature_hash, feature_matrix, require_columns, split_by_time
from ml.results import TrainingResult

LABEL = "revenue_next_90d_cents"
MATURED_FLAG = "is_ltv_label_complete"
TABLE = "account_features"


class LtvModel:
    def __init__(self, booster: xgb.Booster, features: list[str]):
        self.booster = booster
        self.features = features

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        # tweedie's inplace_predict returns the mean on the response scale (exp of the margin)
        return self.booster.inplace_predict(x, validate_features=False)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.predict_matrix(feature_matrix(frame, self.features, TABLE))

    def to_artifacts(self) -> dict[str, bytes]:
        return {"model.ubj": bytes(self.booster.save_raw("ubj")),
                "model.json": json.dumps({"features": self.features}).encode()}

    @classmethod
    def from_artifacts(cls, artifacts: dict[str, bytes]) -> LtvModel:
        booster = xgb.Booster()
        booster.load_model(bytearray(artifacts["model.ubj"]))
        return cls(booster, json.loads(artifacts["model.json"])["features"])


def matured_rows(frame: pd.DataFrame) -> pd.DataFrame:
    require_columns(frame, ["account_id", "snapshot_date", LABEL], TABLE)
    if frame.empty or not has_subscriptions(frame):
        raise NoTrainingData("no subscriptions in the data (e.g. a MovieLens import): no revenue to predict")
    mask = frame[LABEL].notna()
    if MATURED_FLAG in frame.columns:
        mask &= frame[MATURED_FLAG].fillna(False).astype(bool)
    matured = frame[mask.to_numpy()]
    if matured.empty:
        raise NoTrainingData("no account snapshot has a complete 90-day revenue label yet (history under 90 days)")
    return matured


def expected_paid_months(train: pd.DataFrame) -> float:
    """1 + r + r² with r the monthly retention estimated from matured churn labels of the training rows."""
    churn = train.get("is_churned_30d")
    if churn is None or churn.notna().sum() == 0:
        raise TrainingDataError("the LTV baseline needs is_churned_30d on the training rows")
    retention = 1.0 - float(churn.dropna().astype(float).mean())
    return 1.0 + retention + retention**2


def baseline_prediction(frame: pd.DataFrame, months: float) -> np.ndarray:
    require_columns(frame, ["price_cents"], TABLE)
    return frame["price_cents"].fillna(0).astype(float).to_numpy() * months


def train_ltv(frame: pd.DataFrame, config: LtvConfig | None = None) -> TrainingResult:
    config = config or LtvConfig()
    data = matured_rows(frame)
    if len(data) < config.min_rows:
        raise TrainingDataError(f"LTV needs at least {config.min_rows} matured account snapshots, found {len(data)}")
    if (data[LABEL] < 0).any():
        raise TrainingDataError(f"{LABEL} has negative values; the Tweedie objective needs revenue ≥ 0")
    features = feature_columns(data, extra_exclude={"is_churned_30d"})
    parts = split_by_time(data, config.split)
    x_train = feature_matrix(parts.train, features, TABLE)
    x_test = feature_matrix(parts.test, features, TABLE)
    y_train = parts.train[LABEL].astype(float).to_numpy()
    y_test = parts.test[LABEL].astype(float).to_numpy()
    params = {
        "objective": config.objective, "tweedie_variance_power": config.tweedie_variance_power,
        "eta": config.learning_rate, "max_depth": config.max_depth, "min_child_weight": config.min_child_weight,
        "subsample": config.subsample, "colsample_bytree": config.colsample_bytree,
        "tree_method": config.tree_method, "nthread": config.nthread, "seed": config.seed,
    }
    dtrain = xgb.DMatrix(x_train, label=y_train, feature_names=features, nthread=config.nthread)
    early = {}
    if not parts.calibration.empty:
        x_val = feature_matrix(parts.calibration, features, TABLE)
        dval = xgb.DMatrix(x_val, label=parts.calibration[LABEL].astype(float).to_numpy(), feature_names=features)
        early = {"evals": [(dval, "validation")], "early_stopping_rounds": config.early_stopping_rounds}
    booster = xgb.train(params, dtrain, num_boost_round=config.n_estimators, verbose_eval=False, **early)
    if early:
        booster = booster[: booster.best_iteration + 1]
    model = LtvModel(booster, features)
    ours = regression_metrics(y_test, model.predict_matrix(x_test))
    months = expected_paid_months(parts.train)
    baseline = regression_metrics(y_test, baseline_prediction(parts.test, months))
    importance = booster.get_score(importance_type="gain")
    return TrainingResult(
        name="ltv", model=model, artifacts=model.to_artifacts(), metrics=ours.values,
        baseline_metrics={"price_times_expected_months": baseline.values}, undefined_metrics=ours.undefined,
        features=features, feature_hash=feature_hash(features), data_window=parts.window.as_dict(),
        params=asdict(config),
        details={"importance": dict(sorted(importance.items(), key=lambda kv: -kv[1])),
                 "expected_paid_months": months, "train_rows": len(parts.train), "test_rows": len(parts.test)},
    )
