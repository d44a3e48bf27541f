"""What every caller of the models shares: the model names, each one's headline metric, how one
model's run ended (`streamloop train` reports it), and fitting a model from the warehouse with its
default configuration (the recommender asset and the benchmarks call it).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ml.results import TrainingResult

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


def fit_model(name: str, con, threads: int = 2, progress=lambda message: None) -> TrainingResult:
    """Train `name` ('churn', 'ltv', 'recommender') on the warehouse behind `con` with default configs.

    Raises NoTrainingData when its data is absent and TrainingDataError when it is unusable.
    """
    from ml.config import ChurnConfig, LtvConfig, RecommenderConfig

    if name in ("churn", "ltv"):
        from ml.features import read_table

        frame = read_table(con, "account_features")
        if name == "churn":
            from ml.churn import train_churn

            return train_churn(frame, replace(ChurnConfig(), nthread=threads))
        from ml.ltv import train_ltv

        return train_ltv(frame, replace(LtvConfig(), nthread=threads))
    if name == "recommender":
        from ml.recommend.catalog import load_titles
        from ml.recommend.interactions import load_interactions
        from ml.recommend.pipeline import train_recommender

        return train_recommender(load_interactions(con), load_titles(con),
                                 replace(RecommenderConfig(), nthread=threads), progress=progress)
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
