"""Typed, documented configuration for every model: hyperparameters, seeds and time cuts.

Every split is by time (never random) and every random choice is seeded, so a rerun on the same
warehouse reproduces the same models and metrics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class TimeSplit:
    """How snapshots are split in time into train / calibration / test.

    With `test_from` unset, the distinct snapshot dates (of rows with matured labels) are split by
    the fractions below, oldest first. `embargo_days` drops training snapshots closer than that to
    the first evaluated snapshot (set it to the label horizon for a strict purge; the default 0 keeps
    short simulations trainable — features never see the future either way, only labels overlap).
    """

    test_from: date | None = None  # first snapshot date evaluated; None → by fractions
    calibration_fraction: float = 0.2  # share of snapshot dates between train and test, for calibration
    test_fraction: float = 0.25  # share of the latest snapshot dates held out for evaluation
    embargo_days: int = 0  # gap between the last training snapshot and the next slice


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
    min_rows: int = 200  # fewer labelled rows than this → TrainingDataError
    min_positives: int = 10  # fewer churners (or non-churners) than this in train → TrainingDataError
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
    min_rows: int = 200


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
    min_profiles: int = 20  # fewer profiles with interactions → TrainingDataError


@dataclass(frozen=True)
class GateConfig:
    """The quality gate a model must pass before it may become `production`.

    Absolute floors are per metric; `max_regression` is the tolerated relative drop versus the
    current production model's same metric (e.g. 0.02 → at most 2% worse).
    """

    churn_min_auc: float = 0.6
    churn_max_brier_vs_baseline: float = 1.0  # our Brier must not exceed the baseline's × this
    ltv_min_gini: float = 0.1
    ltv_max_mae_vs_baseline: float = 1.05  # our MAE must not exceed the baseline's × this
    recommender_min_ndcg_vs_best_baseline: float = 0.98  # NDCG@10 ≥ best baseline × this
    max_regression: float = 0.02
