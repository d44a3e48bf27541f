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
from scipy.stats import bootstrap, rankdata

N_RESAMPLES = 1000
CONFIDENCE = 0.95

# The statistics take (…, units) arrays and reduce the last axis, so scipy evaluates a batch of
# resamples in one call (sklearn's scorers take one sample at a time: 1000 calls per comparison).


def _auc(y: np.ndarray, score: np.ndarray, axis: int = -1) -> np.ndarray:
    """ROC AUC as the Mann–Whitney U of the positives' ranks (ties get their average rank, as sklearn)."""
    ranks = rankdata(score, axis=axis)
    positives = y.sum(axis=axis)
    negatives = y.shape[axis] - positives
    u = (ranks * y).sum(axis=axis) - positives * (positives + 1) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((positives > 0) & (negatives > 0), u / (positives * negatives), np.nan)


def _gini(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    order = np.argsort(-score, axis=-1, kind="stable")  # ties keep row order, as ml.evaluate
    ordered = np.take_along_axis(y, order, axis=-1)
    n = y.shape[-1]
    total = ordered.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        cumulative = np.cumsum(ordered, axis=-1) / total
    return cumulative.sum(axis=-1) / n - (n + 1) / (2 * n)


def _normalized_gini(y: np.ndarray, score: np.ndarray, axis: int = -1) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return _gini(y, score) / _gini(y, y)


def _mean(y: np.ndarray, score: np.ndarray, axis: int = -1) -> np.ndarray:  # per-profile metric: y unused
    return np.mean(score, axis=axis)


# headline metric → statistic(labels, per-unit model output) over one (re)sample of units
STATISTICS = {"auc": _auc, "normalized_gini": _normalized_gini, "ndcg_at_10": _mean}


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
    estimate = float(statistic(y, a) - statistic(y, b))
    if len(y) < 2 or not np.isfinite(estimate):
        return PairedDifference(metric, float(estimate), np.nan, np.nan, len(y))
    if np.array_equal(a, b):  # identical outputs: the difference is exactly 0 on every resample
        return PairedDifference(metric, 0.0, 0.0, 0.0, len(y))
    result = bootstrap((y, a, b), lambda yy, aa, bb, axis=-1: statistic(yy, aa) - statistic(yy, bb), paired=True,
                       vectorized=True, n_resamples=n_resamples, batch=max(1, 2_000_000 // len(y)),
                       confidence_level=CONFIDENCE, method="percentile", rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return PairedDifference(metric, float(estimate), float(low), float(high), len(y))
