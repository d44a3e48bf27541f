"""Churn: XGBoost binary classifier of `is_churned_30d` at account grain.

Trained only on snapshots whose 30-day label has matured, split by snapshot date: oldest for
training, a later slice for early stopping and calibration, the latest for the test metrics.

Calibration: boosted trees trained on log loss are usually close to calibrated, but class balance
drifts over time. On the calibration slice we compare no calibration, Platt scaling and isotonic
regression by Brier score with a cross-fit in time (fit on its earlier half, score on its later
half) and keep the best; the chosen mapping is then refitted on the whole slice. Reported test
metrics are of the calibrated model, so calibration only ships if it helped on unseen data.

Baseline (same run, same test slice): a logistic regression on recency/frequency features. It is a
candidate too (ml.gates.select_candidate): when the boosted model does not rank churners significantly
better, the baseline is what serves.
"""
from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.preprocessing import StandardScaler

from ml import account_models
from ml.account_models import TABLE, BoosterModel, distinct_label_events, fit_booster
from ml.config import ChurnConfig
from ml.errors import InsufficientData, TrainingDataError
from ml.evaluate import calibration_curve, classification_metrics, lift_curve
from ml.features import feature_columns, feature_hash, feature_matrix, split_by_time
from ml.models import MODELS
from ml.results import BASELINE, TrainingResult

LABEL = "is_churned_30d"
MATURED_FLAG = "is_churn_label_complete"
BASELINE_NAME = "logistic_recency_frequency"


class ChurnModel(BoosterModel):
    """A booster plus its probability calibration; predicts calibrated churn risk from a frame."""

    def __init__(self, booster, features: list[str], calibration: dict):
        super().__init__(booster, features, {"calibration": calibration})
        self.calibration = calibration  # {"method": "none"|"platt"|"isotonic", …parameters}

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        return apply_calibration(self.calibration, self.raw_scores(x))

    @classmethod
    def from_artifacts(cls, artifacts: dict[str, bytes]) -> ChurnModel | LogisticChurnModel:
        """Whichever churn model the artifacts hold (the production version may be the baseline)."""
        if json.loads(artifacts["model.json"]).get("model_name") == BASELINE_NAME:
            return LogisticChurnModel.from_artifacts(artifacts)
        booster, meta = cls.load_booster(artifacts)
        return cls(booster, meta["features"], meta["calibration"])


class LogisticChurnModel:
    """The baseline: logistic regression on standardized recency/frequency features, nulls → training medians."""

    model_name = BASELINE_NAME

    def __init__(self, features: list[str], medians: list[float], mean: list[float], scale: list[float],
                 coef: list[float], intercept: float):
        self.features, self.medians, self.mean, self.scale = features, medians, mean, scale
        self.coef, self.intercept = coef, intercept

    @classmethod
    def fit(cls, train: pd.DataFrame, columns: list[str]) -> LogisticChurnModel:
        medians = train[columns].astype(float).median().fillna(0.0)
        x = train[columns].astype(float).fillna(medians).to_numpy()
        scaler = StandardScaler().fit(x)
        lr = LogisticRegression(max_iter=1000).fit(scaler.transform(x), train[LABEL].astype(int).to_numpy())
        return cls(columns, medians.tolist(), scaler.mean_.tolist(), scaler.scale_.tolist(), lr.coef_[0].tolist(),
                   float(lr.intercept_[0]))

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        x = np.where(np.isnan(x), np.asarray(self.medians), x.astype(float))
        z = ((x - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.predict_matrix(feature_matrix(frame, self.features, TABLE))

    def to_artifacts(self) -> dict[str, bytes]:
        return {"model.json": json.dumps({"model_name": self.model_name} | self.__dict__).encode()}

    @classmethod
    def from_artifacts(cls, artifacts: dict[str, bytes]) -> LogisticChurnModel:
        meta = json.loads(artifacts["model.json"])
        return cls(meta["features"], meta["medians"], meta["mean"], meta["scale"], meta["coef"], meta["intercept"])


def apply_calibration(calibration: dict, p: np.ndarray) -> np.ndarray:
    method = calibration["method"]
    if method == "none":
        return p
    if method == "platt":
        z = calibration["a"] * _logit(p) + calibration["b"]
        return 1.0 / (1.0 + np.exp(-z))
    if method == "isotonic":
        return np.interp(p, calibration["x"], calibration["y"])
    raise ValueError(f"unknown calibration method {method!r}")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _fit_calibration(method: str, p: np.ndarray, y: np.ndarray) -> dict:
    if method == "platt":
        lr = LogisticRegression(C=1e6).fit(_logit(p).reshape(-1, 1), y)
        return {"method": "platt", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p, y)
        return {"method": "isotonic", "x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
    return {"method": "none"}


def choose_calibration(p: np.ndarray, y: np.ndarray, dates: np.ndarray) -> tuple[dict, dict[str, float]]:
    """Pick none/platt/isotonic by Brier on the later half of the slice after fitting on the earlier half."""
    order = np.argsort(dates, kind="stable")
    half = len(order) // 2
    fit_idx, score_idx = order[:half], order[half:]
    if half < 50 or len(np.unique(y[fit_idx])) < 2 or len(np.unique(y[score_idx])) < 2:
        return {"method": "none"}, {}
    briers = {}
    for method in ("none", "platt", "isotonic"):
        fitted = _fit_calibration(method, p[fit_idx], y[fit_idx])
        briers[method] = float(brier_score_loss(y[score_idx], apply_calibration(fitted, p[score_idx])))
    best = min(briers, key=briers.get)
    return _fit_calibration(best, p, y), briers


def matured_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Account snapshots with a matured churn label; NoTrainingData when the data has no subscriptions."""
    return account_models.matured_rows(
        frame, LABEL, MATURED_FLAG,
        absent="no subscriptions in the data (e.g. a MovieLens import): nothing to predict churn of",
        immature="no account snapshot has a matured 30-day churn label yet (history too short)")


def train_churn(frame: pd.DataFrame, config: ChurnConfig | None = None) -> TrainingResult:
    """Train, calibrate and evaluate the churn model and its logistic baseline on one frame; the result
    is the learned candidate with the baseline candidate in `.baselines`."""
    config = config or ChurnConfig()
    data = matured_rows(frame)
    features = feature_columns(data)
    if not features:
        raise TrainingDataError(f"{TABLE} has no numeric feature columns")
    account_models.require_rows(data, config.min_rows, "churn")
    y_all = data[LABEL].astype(int)
    if y_all.nunique() < 2:
        raise TrainingDataError(f"churn labels have a single class ({int(y_all.iloc[0])}) in {len(data)} rows")
    parts = split_by_time(data, config.split, _purge_days(config))
    y_train = parts.train[LABEL].astype(int).to_numpy()
    n_pos = int(y_train.sum())
    if min(n_pos, len(y_train) - n_pos) < config.min_positives:
        raise InsufficientData(f"churn training slice has {n_pos} churners of {len(y_train)} rows; need "
                               f"{config.min_positives} of each class")
    x_train = feature_matrix(parts.train, features, TABLE)
    x_test = feature_matrix(parts.test, features, TABLE)
    y_test = parts.test[LABEL].astype(int).to_numpy()
    has_cal = not parts.calibration.empty
    x_cal = feature_matrix(parts.calibration, features, TABLE) if has_cal else None
    y_cal = parts.calibration[LABEL].astype(int).to_numpy() if has_cal else None

    params = {
        "objective": "binary:logistic", "eval_metric": "logloss", "eta": config.learning_rate,
        "max_depth": config.max_depth, "min_child_weight": config.min_child_weight,
        "subsample": config.subsample, "colsample_bytree": config.colsample_bytree,
        "lambda": config.reg_lambda, "tree_method": config.tree_method, "nthread": config.nthread,
        "seed": config.seed,
    }
    validation = (x_cal, y_cal) if has_cal and len(np.unique(y_cal)) == 2 else None
    booster = fit_booster(params, x_train, y_train, features, config.n_estimators, config.early_stopping_rounds,
                          validation)
    calibration, calibration_briers = {"method": "none"}, {}
    if has_cal:
        raw_cal = booster.inplace_predict(x_cal, validate_features=False)
        dates = pd.to_datetime(parts.calibration["snapshot_date"]).to_numpy()
        calibration, calibration_briers = choose_calibration(raw_cal, y_cal, dates)
    model = ChurnModel(booster, features, calibration)
    p_test = model.predict_matrix(x_test)
    ours = classification_metrics(y_test, p_test)
    events = distinct_label_events(parts.test, parts.test[LABEL].astype(bool))
    ours.set("label_events", events)

    baseline_model = _fit_baseline(parts.train, config)
    p_base = baseline_model.predict(parts.test)
    theirs = classification_metrics(y_test, p_base)
    theirs.set("label_events", events)
    window = parts.window.as_dict() | {"calibration_method": calibration["method"]}
    baseline = TrainingResult(
        name="churn", model=baseline_model, artifacts=baseline_model.to_artifacts(), metrics=theirs.values,
        baseline_metrics={}, undefined_metrics=theirs.undefined, features=baseline_model.features,
        feature_hash=feature_hash(baseline_model.features), data_window=window, params=asdict(config),
        details={"roc": _roc_points(y_test, p_base, None),
                 "calibration_curve": calibration_curve(y_test, p_base) if len(y_test) else []},
        kind=BASELINE, model_name=BASELINE_NAME, complexity=0, unit_labels=y_test, unit_outputs=p_base)
    details = {
        "roc": _roc_points(y_test, p_test, p_base),
        "calibration_curve": calibration_curve(y_test, p_test) if len(y_test) else [],
        "lift_curve": lift_curve(y_test, p_test) if y_test.sum() else [],
        "calibration_briers": calibration_briers,
        "contributions": mean_abs_contributions(booster, x_test, features),
        "train_rows": len(parts.train), "calibration_rows": len(parts.calibration), "test_rows": len(parts.test),
    }
    return TrainingResult(
        name="churn", model=model, artifacts=model.to_artifacts(), metrics=ours.values,
        baseline_metrics={BASELINE_NAME: theirs.values},
        undefined_metrics=ours.undefined, features=features, feature_hash=feature_hash(features),
        data_window=window, params=asdict(config), details=details, complexity=10,
        unit_labels=y_test, unit_outputs=p_test, baselines=[baseline],
    )


def _purge_days(config: ChurnConfig) -> int:
    return MODELS["churn"].label_horizon_days if config.split.purge_days is None else config.split.purge_days


def _fit_baseline(train: pd.DataFrame, config: ChurnConfig) -> LogisticChurnModel:
    columns = [c for c in config.baseline_features if c in train.columns]
    if not columns:
        raise TrainingDataError(
            f"{TABLE} has none of the baseline's recency/frequency features: {', '.join(config.baseline_features)}"
        )
    return LogisticChurnModel.fit(train, columns)


def _roc_points(y: np.ndarray, p: np.ndarray, p_baseline: np.ndarray | None) -> dict:
    from sklearn.metrics import roc_curve

    if len(np.unique(y)) < 2:
        return {}
    out = {}
    for name, scores in (("model", p), ("baseline", p_baseline)):
        if scores is not None:
            fpr, tpr, _ = roc_curve(y, scores)
            keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 200)).astype(int))
            out[name] = (fpr[keep].tolist(), tpr[keep].tolist())
    return out


def mean_abs_contributions(booster, x: np.ndarray, features: list[str], max_rows: int = 20_000) -> dict:
    """Mean |SHAP contribution| per feature (XGBoost pred_contribs) on up to max_rows test rows."""
    if len(x) == 0:
        return {}
    sample = x[:max_rows]
    import xgboost as xgb

    contribs = booster.predict(xgb.DMatrix(sample, feature_names=features), pred_contribs=True)
    mean_abs = np.abs(contribs[:, :-1]).mean(axis=0)  # last column is the bias term
    order = np.argsort(-mean_abs)
    return {features[i]: float(mean_abs[i]) for i in order}

