"""Which candidate serves: the gate every candidate passes or fails, the choice among those that pass,
and the no-regression check against the current production version.

A training run evaluates every candidate on the same held-out slice: the learned model and the
baselines (logistic recency-frequency for churn, price × months for LTV, popularity, trending,
ItemKNN, EASE and ALS for the recommender). `select_candidate`:
1. checks each candidate: absolute floors (churn AUC, LTV Gini), and for learned candidates guards
   against the best baseline (churn Brier: calibration; LTV MAE: error);
2. finds the best passing candidate by the model's headline metric (ml.models);
3. walks the passing candidates from the simplest and picks the first whose paired-bootstrap
   interval of (candidate − best) includes 0 and whose headline is not below a simpler candidate's:
   a tie within the noise keeps the simpler model, and a learned model never displaces a baseline
   with a higher headline (churn cannot be promoted with a lower AUC than its baseline).
`evaluate_gate` then adds the chosen candidate's no-regression checks against production. A metric
that was not computed fails its check: the gate never assumes a missing number is fine. Every number
and decision is recorded (gate.json, the model's metadata, the run's output).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ml.compare import paired_difference
from ml.config import GateConfig
from ml.models import spec_for


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
    decision: str = ""

    @property
    def reasons(self) -> list[str]:
        """One line per failed check."""
        return [c.note for c in self.checks if not c.passed]

    def as_dict(self) -> dict:
        return {"model": self.model, "passed": self.passed, "reasons": self.reasons, "decision": self.decision,
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


def candidate_checks(model: str, candidate, baselines: list, config: GateConfig) -> list[Check]:
    """Floors for every candidate; guards against the best baseline for learned ones."""
    checks = [_check("floor", metric, candidate.metrics.get(metric), floor, True, candidate.undefined_metrics)
              for metric, floor in config.floors(model).items()]
    if candidate.kind == "learned":
        for metric, factor in config.guards(model).items():
            values = [b.metrics[metric] for b in baselines if metric in b.metrics]
            threshold = min(values) * factor if values else None
            checks.append(_check("vs baseline", metric, candidate.metrics.get(metric), threshold, False,
                                 candidate.undefined_metrics))
    return checks


@dataclass
class Selection:
    """The choice among one run's candidates, with every candidate's numbers."""

    model: str
    headline: str
    chosen: str | None  # model_name of the candidate that should serve; None when none passed
    chosen_kind: str | None
    decision: str
    candidates: list[dict]  # per candidate: model_name, kind, headline, vs_best, checks, verdict

    def as_dict(self) -> dict:
        return asdict(self)

    def checks_of(self, model_name: str) -> list[Check]:
        row = next(r for r in self.candidates if r["model_name"] == model_name)
        return [Check(**c) for c in row["checks"]]


def select_candidate(model: str, candidates: list, config: GateConfig | None = None) -> Selection:
    """Choose which of one run's candidates (TrainingResults, any order) should serve."""
    config = config or GateConfig()
    headline = spec_for(model).headline
    ordered = sorted(candidates, key=lambda c: c.complexity)
    baselines = [c for c in ordered if c.kind == "baseline"]
    checks = {c.model_name: candidate_checks(model, c, baselines, config) for c in ordered}
    eligible = [c for c in ordered if headline in c.metrics and all(k.passed for k in checks[c.model_name])]
    rows = {c.model_name: {"model_name": c.model_name, "kind": c.kind, "headline": c.metrics.get(headline),
                           "label_events": c.metrics.get("label_events"), "vs_best": None,
                           "checks": [asdict(k) for k in checks[c.model_name]],
                           "verdict": "failed: " + "; ".join(k.note for k in checks[c.model_name] if not k.passed)
                           if c not in eligible else ""} for c in ordered}
    for c in ordered:
        if headline not in c.metrics and c not in eligible:
            rows[c.model_name]["verdict"] = rows[c.model_name]["verdict"] or \
                f"failed: {headline} was not computed ({c.undefined_metrics.get(headline, 'missing')})"
    if not eligible:
        decision = f"no {model} candidate passed its checks: " + "; ".join(
            f"{r['model_name']} {r['verdict']}" for r in rows.values())
        return Selection(model, headline, None, None, decision, list(rows.values()))
    best = max(eligible, key=lambda c: c.metrics[headline])  # the simplest among equal values
    chosen, simpler_high = None, float("-inf")
    for c in eligible:
        value = c.metrics[headline]
        if c is best:
            rows[c.model_name]["verdict"] = "best"
            chosen = chosen or c
            continue
        if value < simpler_high:  # below a simpler candidate: never preferred to it
            rows[c.model_name]["verdict"] = f"below a simpler candidate's {headline} ({simpler_high:.4f})"
            continue
        simpler_high = max(simpler_high, value)
        diff = paired_difference(headline, c.unit_labels, c.unit_outputs, best.unit_outputs, seed=config.seed,
                                 n_resamples=config.bootstrap_resamples)
        rows[c.model_name]["vs_best"] = diff.as_dict()
        interval = f"{diff.estimate:+.4f} [{diff.low:+.4f}, {diff.high:+.4f}] vs {best.model_name}"
        if diff.significant:
            rows[c.model_name]["verdict"] = f"significantly worse: {interval}"
        else:
            rows[c.model_name]["verdict"] = f"tied within the noise: {interval}"
            chosen = chosen or c
    why = (f"the best {headline}" if chosen is best else
           f"tied with the best ({best.model_name} {best.metrics[headline]:.4f}: "
           f"{rows[chosen.model_name]['verdict'].split(': ', 1)[1]}), so the simpler model serves")
    decision = (f"{chosen.model_name} ({chosen.kind}) serves: {headline}={chosen.metrics[headline]:.4f}, {why}")
    rows[chosen.model_name]["verdict"] = "serves: " + rows[chosen.model_name]["verdict"]
    return Selection(model, headline, chosen.model_name, chosen.kind, decision, list(rows.values()))


def evaluate_gate(model: str, metrics: dict, production_metrics: dict | None, config: GateConfig | None = None,
                  undefined: dict | None = None, selection: Selection | None = None,
                  model_name: str | None = None) -> GateResult:
    """The gate of one candidate: its selection checks (it must be the chosen one) and no regression
    beyond `max_regression` versus the current production version's metrics."""
    config = config or GateConfig()
    undefined = undefined or {}
    checks: list[Check] = []
    decision = ""
    if selection is not None:
        decision = selection.decision
        checks += selection.checks_of(model_name)
        chosen = selection.chosen == model_name
        checks.append(Check("selection", spec_for(model).headline, metrics.get(spec_for(model).headline), None,
                            True, chosen, "" if chosen else f"not selected: {selection.decision}"))
    if production_metrics:
        for metric, higher in spec_for(model).directions.items():
            current = production_metrics.get(metric)
            if current is None:
                continue  # production never had it: nothing to regress from
            tolerance = config.max_regression * abs(current)
            threshold = current - tolerance if higher else current + tolerance
            checks.append(_check("vs production", metric, metrics.get(metric), threshold, higher, undefined))
    return GateResult(model, all(c.passed for c in checks), checks, decision)
