"""Offline metrics. A metric that cannot be computed is left out and its reason noted, never faked.

Every function returns `Metrics`: `values` holds only computed numbers; `undefined` names each
metric that was skipped and why (e.g. AUC on a test slice with a single class).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score


@dataclass
class Metrics:
    values: dict[str, float] = field(default_factory=dict)
    undefined: dict[str, str] = field(default_factory=dict)

    def set(self, name: str, value: float) -> None:
        value = float(value)
        if not np.isfinite(value):
            self.undefined[name] = "not finite"
            return
        self.values[name] = value


def classification_metrics(y_true: np.ndarray, p: np.ndarray) -> Metrics:
    y_true = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 1e-7, 1 - 1e-7)
    m = Metrics()
    m.set("rows", len(y_true))
    m.set("positive_rate", y_true.mean())
    m.set("brier", brier_score_loss(y_true, p))
    if len(np.unique(y_true)) < 2:
        for name in ("auc", "pr_auc", "log_loss", "top_decile_lift"):
            m.undefined[name] = "test labels have a single class"
        return m
    m.set("auc", roc_auc_score(y_true, p))
    m.set("pr_auc", average_precision_score(y_true, p))
    m.set("log_loss", log_loss(y_true, p, labels=[0, 1]))
    m.set("top_decile_lift", top_decile_lift(y_true, p))
    return m


def top_decile_lift(y_true: np.ndarray, score: np.ndarray) -> float:
    """Churn rate among the 10% highest scores divided by the overall churn rate."""
    n_top = max(1, int(np.ceil(len(score) * 0.1)))
    top = np.argsort(-score, kind="stable")[:n_top]
    return float(np.mean(y_true[top]) / np.mean(y_true))


def lift_curve(y_true: np.ndarray, score: np.ndarray, bins: int = 10) -> list[float]:
    """Lift per score decile, highest decile first (for the lift plot)."""
    order = np.argsort(-score, kind="stable")
    base = np.mean(y_true)
    return [float(np.mean(y_true[chunk]) / base) for chunk in np.array_split(order, bins) if len(chunk)]


def calibration_curve(y_true: np.ndarray, p: np.ndarray, bins: int = 10) -> list[tuple[float, float]]:
    """(mean predicted, observed rate) per predicted-probability quantile bin."""
    order = np.argsort(p, kind="stable")
    return [(float(np.mean(p[c])), float(np.mean(y_true[c]))) for c in np.array_split(order, bins) if len(c)]


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> Metrics:
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    m = Metrics()
    m.set("rows", len(y_true))
    m.set("mae", np.mean(np.abs(y_true - y_pred)))
    m.set("rmse", np.sqrt(np.mean((y_true - y_pred) ** 2)))
    gini = normalized_gini(y_true, y_pred)
    if np.isnan(gini):
        m.undefined["normalized_gini"] = "all targets are equal"
    else:
        m.set("normalized_gini", gini)
    return m


def normalized_gini(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Gini of the targets ordered by prediction (ties keep row order) over the Gini of a perfect
    ordering; nan when all targets are equal. One definition, shared with the paired bootstrap."""
    from ml.compare import STATISTICS

    return float(STATISTICS["normalized_gini"](np.asarray(y_true, float), np.asarray(y_pred, float)))
