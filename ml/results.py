"""What training returns before registration: one result per candidate model (learned or baseline)
with its artifacts, metrics, features and data window, and the per-unit test outputs candidates are
compared on."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

LEARNED, BASELINE = "learned", "baseline"


@dataclass
class TrainingResult:
    name: str  # registry name: churn, ltv, recommender
    model: Any  # the in-memory model (ChurnModel, LtvModel, Recommender, a baseline) for immediate scoring
    artifacts: dict[str, bytes]  # file name → bytes, stored as <name>/v<N>/<file>
    metrics: dict[str, float]  # only metrics that were computed
    baseline_metrics: dict[str, dict[str, float]]  # baseline name → its metrics on the same test slice
    features: list[str]
    feature_hash: str
    data_window: dict[str, Any]
    undefined_metrics: dict[str, str] = field(default_factory=dict)  # metric → why it was not computed
    params: dict[str, Any] = field(default_factory=dict)  # the config used
    details: dict[str, Any] = field(default_factory=dict)  # curves, contributions: for reports only
    kind: str = LEARNED  # learned | baseline
    model_name: str = "xgboost"  # e.g. xgboost, logistic_recency_frequency, ease, popularity
    complexity: int = 100  # lower is simpler: a tie within the noise keeps the simpler candidate
    # the test slice's units: labels (rows) and this candidate's output per unit (a score per row, or a
    # metric per profile for the recommender) — what the paired bootstrap of ml.compare resamples
    unit_labels: np.ndarray | None = field(default=None, repr=False)
    unit_outputs: np.ndarray | None = field(default=None, repr=False)
    baselines: list[TrainingResult] = field(default_factory=list)  # the baselines trained beside it

    @property
    def candidates(self) -> list[TrainingResult]:
        """Every model this training evaluated, simplest first."""
        return sorted([self, *self.baselines], key=lambda r: r.complexity)
