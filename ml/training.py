"""What every caller of the models shares: the model names, each one's headline metric and how one
model's run ended (`streamloop train` reports it from the Dagster run and the registry).
"""
from __future__ import annotations

from dataclasses import dataclass, field

MODELS = ("churn", "ltv", "recommender")
HEADLINE = {"churn": "auc", "ltv": "normalized_gini", "recommender": "ndcg_at_10"}


@dataclass
class ModelOutcome:
    name: str
    status: str  # promoted | kept (gate failed) | skipped | failed
    reason: str = ""
    version: int | None = None
    metrics: dict = field(default_factory=dict)
    best_baseline: tuple[str, float] | None = None
    gate: dict | None = None
