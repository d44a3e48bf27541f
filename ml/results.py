"""What training returns before registration: artifacts, metrics, baselines, features, data window."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainingResult:
    name: str  # registry name: churn, ltv, recommender
    model: Any  # the in-memory model (ChurnModel, LtvModel, Recommender) for immediate scoring
    artifacts: dict[str, bytes]  # file name → bytes, stored as <name>/v<N>/<file>
    metrics: dict[str, float]  # only metrics that were computed
    baseline_metrics: dict[str, dict[str, float]]  # baseline name → its metrics on the same test slice
    features: list[str]
    feature_hash: str
    data_window: dict[str, Any]
    undefined_metrics: dict[str, str] = field(default_factory=dict)  # metric → why it was not computed
    params: dict[str, Any] = field(default_factory=dict)  # the config used
    details: dict[str, Any] = field(default_factory=dict)  # curves, contributions: for reports only
