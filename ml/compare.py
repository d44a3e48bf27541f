"""Comparing two models on the same held-out units: the paired bootstrap of a headline metric.

Both models are scored on the same rows (churn, LTV) or profiles (recommender), so the honest
uncertainty of "A beats B" is that of the *paired* difference: resample units with replacement, recompute
both metrics on the same resample, and read the interval of their difference (scipy.stats.bootstrap
with paired=True does the resampling; the statistics are sklearn's / ml.evaluate's).

The experiments' statistics live in ml/stats.py; this module only holds what model selection needs.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import bootstrap
from sklearn.metrics import roc_auc_score

from ml.evaluate import normalized_gini

N_RESAMPLES = 1000
CONFIDENCE = 0.95


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else np.nan


def _mean(y: np.ndarray, score: np.ndarray) -> float:  # per-profile metric: y is unused
    return float(np.mean(score))


# headline metric → statistic(labels, per-unit model output) over one (re)sample of units
STATISTICS = {"auc": _auc, "normalized_gini": normalized_gini, "ndcg_at_10": _mean}


@dataclass(frozen=True)
class PairedDifference:
    """metric(a) − metric(b) on the same units with its bootstrap interval."""

    metric: str
    estimate: float
    low: float
    high: float
    units: int

    @property
    def significant(self) -> bool:
        """The interval excludes 0: a real difference, not noise."""
        return bool(self.low > 0 or self.high < 0)

    def as_dict(self) -> dict:
        return asdict(self)


def paired_difference(metric: str, y: np.ndarray, a: np.ndarray, b: np.ndarray, seed: int = 7,
                      n_resamples: int = N_RESAMPLES) -> PairedDifference:
    """Bootstrap interval of metric(y, a) − metric(y, b), resampling the units in pairs."""
    statistic = STATISTICS[metric]
    y, a, b = (np.asarray(v, dtype=float) for v in (y, a, b))
    estimate = statistic(y, a) - statistic(y, b)
    if len(y) < 2 or not np.isfinite(estimate):
        return PairedDifference(metric, float(estimate), np.nan, np.nan, len(y))
    if np.array_equal(a, b):  # identical outputs: the difference is exactly 0 on every resample
        return PairedDifference(metric, 0.0, 0.0, 0.0, len(y))
    result = bootstrap((y, a, b), lambda yy, aa, bb: statistic(yy, aa) - statistic(yy, bb), paired=True,
                       vectorized=False, n_resamples=n_resamples, confidence_level=CONFIDENCE,
                       method="percentile", rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return PairedDifference(metric, float(estimate), float(low), float(high), len(y))
