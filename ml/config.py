"""Typed, documented configuration for every model: hyperparameters, seeds and time cuts.

Every split is by time (never random) and every random choice is seeded, so a rerun on the same
warehouse reproduces the same models and metrics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class TimeSplit:
    """How snapshots are split in time into train / calibration (early stopping) / test.

    With `test_from` unset, the latest `test_fraction` of the distinct snapshot dates (of rows with
    matured labels) is the test slice and the `calibration_fraction` before it calibrates. Between
    every pair of slices lies a purge gap of at least the label horizon (`purge_days`, None → the
    model's horizon from ml.models): a training row's label window then ends before a later slice's
    first snapshot, so no label event is counted on both sides. When the dates cannot hold both gaps
    the calibration slice is dropped (and said so); when they cannot hold even train → test, the model
    is skipped rather than evaluated on leaked labels.
    """

    test_from: date | None = None  # first snapshot date evaluated; None → by fractions
    calibration_fraction: float = 0.2  # share of snapshot dates between train and test, for calibration
    test_fraction: float = 0.25  # share of the latest snapshot dates held out for evaluation
    purge_days: int | None = None  # gap between slices; None → the label horizon


@dataclass(frozen=True)
class ChurnConfig:
    """XGBoost binary classifier for `is_churned_30d` at account grain."""

    split: TimeSplit = field(default_factory=TimeSplit)
    n_estimators: int = 300  # boosting rounds (upper bound; early stopping on the calibration slice)
    early_stopping_rounds: int = 30  # stop when the calibration-slice log loss stops improving
    learning_rate: float = 0.05
    max_depth: int = 5
    min_child_weight: float = 5.0  # larger → fewer tiny leaves on rare churners
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    tree_method: str = "hist"  # histogram method: fast and memory-light on millions of rows
    nthread: int = 2
    seed: int = 7
    min_rows: int = 200  # fewer matured rows than this → skipped (settings.min_training_rows)
    min_positives: int = 10  # fewer churners (or non-churners) than this in train → skipped
    baseline_features: tuple[str, ...] = (  # recency/frequency features of the logistic baseline (those present)
        "days_since_last_activity", "household_plays_28d", "household_watch_seconds_28d",
        "household_sessions_28d", "tenure_days",
    )


@dataclass(frozen=True)
class LtvConfig:
    """XGBoost regressor for `revenue_next_90d_cents` (see ml.ltv for the objective's rationale)."""

    split: TimeSplit = field(default_factory=TimeSplit)
    objective: str = "reg:tweedie"
    tweedie_variance_power: float = 1.3  # between Poisson (1) and gamma (2): point mass at 0 + skewed tail
    n_estimators: int = 400
    early_stopping_rounds: int = 30
    learning_rate: float = 0.05
    max_depth: int = 5
    min_child_weight: float = 5.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    tree_method: str = "hist"
    nthread: int = 2
    seed: int = 7
    min_rows: int = 200  # fewer matured rows than this → skipped (settings.min_training_rows)


@dataclass(frozen=True)
class RecommenderConfig:
    """Candidate generators + XGBoost learning-to-rank re-ranker over content ids.

    Time cuts are quantiles of interaction time: for each of `label_cut_quantiles`, interactions
    before it build the ranker's features and those up to the next cut its labels;
    evaluation refits everything on interactions before `eval_cut_quantile` and scores what
    happens after.
    """

    split: str = "global"  # "global": one cut time for all; "per_profile": each profile's latest held out
    eval_cut_quantile: float = 0.8  # interactions after this time quantile are the test period
    eval_end_quantile: float = 1.0  # < 1 for a backtest: interactions from here on are dropped altogether
    label_cut_quantiles: tuple[float, ...] = (0.5, 0.6, 0.7)  # ranker windows: features before each cut,
    #   labels until the next cut (the last until the evaluation cut); the latest window validates
    #   (scorer, rounds), then ranker and blend are refitted on every window before evaluation.
    #   (three 10% windows beat two 20% ones on MovieLens' global split: benchmarks/recsys.py)
    candidates_per_generator: int = 100  # top-K from each generator pooled into the ranker's candidates
    output_candidates: int = 200  # top-N per profile in the batch output (before business filters)
    similar_items: int = 30  # similar titles per title in the batch output
    min_watch_seconds: int = 60  # a play shorter than this is not an interaction (a bounce)
    ease_lambda: float = 200.0  # L2 of EASE; larger for sparser data
    ease_max_items: int = 4000  # EASE models only the most-interacted items (its inversion is cubic)
    knn_neighbors: int = 200  # neighbours kept per item in ItemKNN
    knn_shrink: float = 10.0  # similarity shrinkage toward 0 for rarely co-occurring pairs
    als_factors: int = 64
    als_regularization: float = 0.05
    als_alpha: float = 20.0  # confidence = 1 + alpha * weight
    als_iterations: int = 12
    trending_half_life_days: float = 7.0  # recency decay of the trending score
    ranker_objective: str = "rank:ndcg"
    ranker_rounds: int = 300
    ranker_learning_rate: float = 0.05
    ranker_max_depth: int = 4  # shallow trees: a few hundred queries per window (validation preferred 4 over 6
    ranker_min_child_weight: float = 5.0  # on MovieLens' global split and on the demo)
    ranker_subsample: float = 0.8
    ranker_colsample_bytree: float = 0.9
    ranker_max_queries: int = 50_000  # cap on profiles used to train the ranker (sampled with seed)
    nthread: int = 2
    seed: int = 7
    min_profiles: int = 20  # fewer profiles with plays → skipped (settings.min_training_profiles)


@dataclass(frozen=True)
class GateConfig:
    """The gate every candidate (learned model or baseline) must pass, and how the one that serves is chosen.

    Floors are absolute, per metric, for every candidate. Guards apply to learned candidates only,
    against the baselines of the same run (calibration for churn, error for LTV). Among the candidates
    that pass, the best by headline metric is found, and the simplest candidate whose paired-bootstrap
    interval against it includes 0 serves (a tie within the noise keeps the simpler model).
    `max_regression` is the tolerated relative drop of the chosen candidate versus the current
    production version's same metric (e.g. 0.02 → at most 2% worse).
    """

    churn_min_auc: float = 0.6
    churn_max_brier_vs_baseline: float = 1.0  # a learned model's Brier must not exceed the best baseline's × this
    ltv_min_gini: float = 0.1
    ltv_max_mae_vs_baseline: float = 1.05  # a learned model's MAE must not exceed the baseline's × this
    max_regression: float = 0.02
    bootstrap_resamples: int = 1000  # paired bootstrap of the headline metric (ml.compare)
    seed: int = 7

    def floors(self, model: str) -> dict[str, float]:
        """metric → the least (higher-is-better) value any candidate must reach."""
        return {"churn": {"auc": self.churn_min_auc}, "ltv": {"normalized_gini": self.ltv_min_gini}}.get(model, {})

    def guards(self, model: str) -> dict[str, float]:
        """metric (lower is better) → the factor over the best baseline a learned candidate may reach."""
        return {"churn": {"brier": self.churn_max_brier_vs_baseline},
                "ltv": {"mae": self.ltv_max_mae_vs_baseline}}.get(model, {})
