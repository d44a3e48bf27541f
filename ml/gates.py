"""The quality gate a new model version must pass to become `production`.

Two kinds of checks, all recorded with their numbers:
- absolute: a floor per metric, and "no worse than the same-run baseline" (e.g. churn AUC ≥ 0.6,
  recommender NDCG@10 ≥ best baseline × 0.98);
- relative: no headline metric regresses beyond `max_regression` versus the current production
  version (skipped when there is no production version yet).
A metric that was not computed fails its check: the gate never assumes a missing number is fine.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ml.config import GateConfig

# headline metrics and whether higher is better
DIRECTIONS = {
    "churn": {"auc": True, "brier": False},
    "ltv": {"normalized_gini": True, "mae": False},
    "recommender": {"ndcg_at_10": True, "recall_at_20": True},
}


@dataclass
class Check:
    name: str
    metric: str
    value: float | None
    threshold: float | None
    higher_is_better: bool
    passed: bool
    note: str = ""


@dataclass
class GateResult:
    model: str
    passed: bool
    checks: list[Check] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """One line per failed check."""
        return [c.note for c in self.checks if not c.passed]

    def as_dict(self) -> dict:
        return {"model": self.model, "passed": self.passed, "reasons": self.reasons,
                "checks": [asdict(c) for c in self.checks]}


def _check(name: str, metric: str, value: float | None, threshold: float | None, higher: bool,
           undefined: dict[str, str]) -> Check:
    if value is None:
        why = undefined.get(metric, "missing")
        return Check(name, metric, None, threshold, higher, False, f"{metric} was not computed ({why})")
    if threshold is None:
        return Check(name, metric, value, None, higher, False, f"{name}: no threshold available for {metric}")
    passed = value >= threshold if higher else value <= threshold
    op = "≥" if higher else "≤"
    note = f"{name}: {metric} {value:.4g} {'' if passed else 'not '}{op} {threshold:.4g}"
    return Check(name, metric, value, threshold, higher, passed, note)


def evaluate_gate(model: str, metrics: dict, baseline_metrics: dict, production_metrics: dict | None,
                  config: GateConfig | None = None, undefined: dict | None = None) -> GateResult:
    """Run every check for `model` ('churn', 'ltv' or 'recommender') on a candidate's metrics."""
    config = config or GateConfig()
    undefined = undefined or {}
    checks: list[Check] = []
    if model == "churn":
        checks.append(_check("floor", "auc", metrics.get("auc"), config.churn_min_auc, True, undefined))
        base = baseline_metrics.get("logistic_recency_frequency", {}).get("brier")
        checks.append(_check("vs baseline", "brier", metrics.get("brier"),
                             None if base is None else base * config.churn_max_brier_vs_baseline, False, undefined))
    elif model == "ltv":
        checks.append(_check("floor", "normalized_gini", metrics.get("normalized_gini"), config.ltv_min_gini, True,
                             undefined))
        base = baseline_metrics.get("price_times_expected_months", {}).get("mae")
        checks.append(_check("vs baseline", "mae", metrics.get("mae"),
                             None if base is None else base * config.ltv_max_mae_vs_baseline, False, undefined))
    elif model == "recommender":
        best = max((b["ndcg_at_10"] for b in baseline_metrics.values() if "ndcg_at_10" in b), default=None)
        checks.append(_check("vs best baseline", "ndcg_at_10", metrics.get("ndcg_at_10"),
                             None if best is None else best * config.recommender_min_ndcg_vs_best_baseline, True,
                             undefined))
    else:
        raise ValueError(f"no gate defined for model {model!r}")
    if production_metrics:
        for metric, higher in DIRECTIONS[model].items():
            current = production_metrics.get(metric)
            if current is None:
                continue  # production never had it: nothing to regress from
            tolerance = config.max_regression * abs(current)
            threshold = current - tolerance if higher else current + tolerance
            checks.append(_check("vs production", metric, metrics.get(metric), threshold, higher, undefined))
    return GateResult(model, all(c.passed for c in checks), checks)
