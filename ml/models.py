"""The one table of models: what each model is, where its code and configuration live, the metric its
candidates are compared on and the directions of the metrics its gate reads.

The Dagster assets and checks (orchestration/defs/ml), the gates (ml.gates), the registry listing and
`streamloop train`/`streamloop models` all read this table; nothing else lists the models.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    name: str  # registry name, asset prefix
    module: str  # the module with train_<name>(…) (and, for account models, TABLE, LABEL, matured_rows)
    config: str  # its configuration class in ml.config
    headline: str  # the metric candidates are ranked and compared on (paired bootstrap, ml.compare)
    directions: dict[str, bool]  # metric → higher is better: the gate's regression checks and the listing
    label: str  # what it predicts, for descriptions
    label_horizon_days: int | None  # how far its label looks ahead: the purge gap between time slices
    has_training_set: bool  # account models materialize their matured rows as an asset of their own

    @property
    def training_set_asset(self) -> str | None:
        return f"{self.name}_training_set" if self.has_training_set else None

    @property
    def candidates_asset(self) -> str:
        return f"{self.name}_model"

    @property
    def production_asset(self) -> str:
        return f"production_{self.name}_model"

    @property
    def check_name(self) -> str:
        return f"check_{self.name}_model_quality"

    @property
    def asset_keys(self) -> list[str]:
        """Its assets in the `model_training` job, upstream first."""
        return [k for k in (self.training_set_asset, self.candidates_asset, self.production_asset) if k]


MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("churn", "ml.churn", "ChurnConfig", "auc", {"auc": True, "brier": False},
              "30-day churn", 30, True),
    ModelSpec("ltv", "ml.ltv", "LtvConfig", "normalized_gini", {"normalized_gini": True, "mae": False},
              "90-day revenue", 90, True),
    ModelSpec("recommender", "ml.recommend.pipeline", "RecommenderConfig", "ndcg_at_10",
              {"ndcg_at_10": True, "recall_at_20": True}, "next plays", None, False),
)}
MODEL_NAMES = tuple(MODELS)


def spec_for(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
    return MODELS[name]
