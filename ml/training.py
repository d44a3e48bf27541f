"""How one model's training run ended, as `streamloop train` reports it (from the Dagster run and the
registry). The models themselves and their headline metrics are in the one table, ml.models."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ModelOutcome:
    name: str
    status: str  # promoted | kept (gate failed) | skipped | failed
    reason: str = ""
    version: int | None = None
    metrics: dict = field(default_factory=dict)
    best_baseline: tuple[str, float] | None = None
    gate: dict | None = None
    model_kind: str | None = None  # of the candidate chosen this run: learned | baseline
    model_name: str | None = None
    decision: str = ""  # why that candidate (ml.gates.Selection.decision)
