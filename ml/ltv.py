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
the first due now for a paying account). The baseline is a candidate too: it serves when the
booster does not order revenue significantly better (ml.gates.select_candidate).
"""
from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pandas as pd

from ml import account_models
from ml.account_models import TABLE, BoosterModel, distinct_label_events, fit_booster
from ml.config import LtvConfig
from ml.errors import TrainingDataError
from ml.evaluate import regression_metrics
from ml.features import feature_columns, feature_hash, feature_matrix, require_columns, split_by_time
from ml.models import MODELS
from ml.results import BASELINE, TrainingResult

LABEL = "revenue_next_90d_cents"
MATURED_FLAG = "is_ltv_label_complete"
BASELINE_NAME = "price_times_expected_months"


class LtvModel(BoosterModel):
    """Tweedie booster: inplace_predict returns the mean on the response scale (exp of the margin)."""

    @classmethod
    def from_artifacts(cls, artifacts: dict[str, bytes]) -> LtvModel | PriceTimesMonthsModel:
        """Whichever LTV model the artifacts hold (the production version may be the baseline)."""
        if json.loads(artifacts["model.json"]).get("model_name") == BASELINE_NAME:
            return PriceTimesMonthsModel.from_artifacts(artifacts)
        booster, meta = cls.load_booster(artifacts)
        return cls(booster, meta["features"])


class PriceTimesMonthsModel:
    """The baseline: the current price × the expected paid months in the next 90 days."""

    model_name = BASELINE_NAME
    def __init__(self, months: float):
        self.months = months
        self.features = ["price_cents"]

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        return np.nan_to_num(x[:, 0].astype(float)) * self.months

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        require_columns(frame, self.features, TABLE)
        return self.predict_matrix(feature_matrix(frame, self.features, TABLE))

    def to_artifacts(self) -> dict[str, bytes]:
        return {"model.json": json.dumps({"model_name": self.model_name, "features": self.features,
                                          "months": self.months}).encode()}

    @classmethod
    def from_artifacts(cls, artifacts: dict[str, bytes]) -> PriceTimesMonthsModel:
        return cls(json.loads(artifacts["model.json"])["months"])


def matured_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return account_models.matured_rows(
        frame, LABEL, MATURED_FLAG,
        absent="no subscriptions in the data (e.g. a MovieLens import): no revenue to predict",
        immature="no account snapshot has a complete 90-day revenue label yet (history under 90 days)")


def expected_paid_months(train: pd.DataFrame) -> float:
    """1 + r + r² with r the monthly retention estimated from matured churn labels of the training rows."""
    churn = train.get("is_churned_30d")
    if churn is None or churn.notna().sum() == 0:
        raise TrainingDataError("the LTV baseline needs is_churned_30d on the training rows")
    retention = 1.0 - float(churn.dropna().astype(float).mean())
    return 1.0 + retention + retention**2


def train_ltv(frame: pd.DataFrame, config: LtvConfig | None = None) -> TrainingResult:
    """The Tweedie candidate, with the price × months baseline candidate in `.baselines`."""
    config = config or LtvConfig()
    data = matured_rows(frame)
    account_models.require_rows(data, config.min_rows, "LTV")
    if (data[LABEL] < 0).any():
        raise TrainingDataError(f"{LABEL} has negative values; the Tweedie objective needs revenue ≥ 0")
    require_columns(data, ["price_cents"], TABLE)
    features = feature_columns(data, extra_exclude={"is_churned_30d"})
    purge = MODELS["ltv"].label_horizon_days if config.split.purge_days is None else config.split.purge_days
    parts = split_by_time(data, config.split, purge)
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
    validation = None
    if not parts.calibration.empty:
        validation = (feature_matrix(parts.calibration, features, TABLE),
                      parts.calibration[LABEL].astype(float).to_numpy())
    booster = fit_booster(params, x_train, y_train, features, config.n_estimators, config.early_stopping_rounds,
                          validation)
    model = LtvModel(booster, features)
    predicted = model.predict_matrix(x_test)
    events = distinct_label_events(parts.test, parts.test[LABEL] > 0)
    ours = regression_metrics(y_test, predicted)
    ours.set("label_events", events)
    months = expected_paid_months(parts.train)
    baseline_model = PriceTimesMonthsModel(months)
    base_predicted = baseline_model.predict(parts.test)
    theirs = regression_metrics(y_test, base_predicted)
    theirs.set("label_events", events)
    baseline = TrainingResult(
        name="ltv", model=baseline_model, artifacts=baseline_model.to_artifacts(), metrics=theirs.values,
        baseline_metrics={}, undefined_metrics=theirs.undefined, features=baseline_model.features,
        feature_hash=feature_hash(baseline_model.features), data_window=parts.window.as_dict(),
        params=asdict(config), details={"expected_paid_months": months},
        kind=BASELINE, model_name=BASELINE_NAME, complexity=0, unit_labels=y_test, unit_outputs=base_predicted)
    importance = booster.get_score(importance_type="gain")
    return TrainingResult(
        name="ltv", model=model, artifacts=model.to_artifacts(), metrics=ours.values,
        baseline_metrics={BASELINE_NAME: theirs.values}, undefined_metrics=ours.undefined,
        features=features, feature_hash=feature_hash(features), data_window=parts.window.as_dict(),
        params=asdict(config),
        details={"importance": dict(sorted(importance.items(), key=lambda kv: -kv[1])),
                 "expected_paid_months": months, "train_rows": len(parts.train), "test_rows": len(parts.test)},
        complexity=10, unit_labels=y_test, unit_outputs=predicted, baselines=[baseline],
    )
