"""`streamloop train`: train, register, gate, promote, score and publish (CONTRACT §5).

Runs the Dagster jobs the daily schedule and the UI run — `model_training` (each model's training
set, model, blocking quality check and promotion), then `batch_scoring` and `publication` — so the
terminal and the UI share one path and one history. This module only reads the runs' outcomes
back (from their events and the registry) into a summary.

Each requested model is trained on its own: a model whose training data is absent or too small (e.g.
churn and LTV on a MovieLens import, which has no subscriptions, or fewer matured snapshots than
settings.min_training_rows) is skipped with a one-line reason while the others train. Every run
evaluates the learned model and its baselines; the one the gate chooses is promoted, whichever kind it
is, and the summary says which and why. A model whose data is present but unusable fails; the run
still finishes the other models, prints its summary, then raises so the CLI exits non-zero. A run
whose candidates all fail their gate keeps production as it was: an outcome ("kept"), not a failure.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ml.models import MODEL_NAMES, MODELS
from ml.training import ModelOutcome
from streamloop.core.errors import StreamloopError
from streamloop.core.progress import say


@dataclass
class TrainingSummary:
    outcomes: list[ModelOutcome] = field(default_factory=list)
    scored: dict[str, int] = field(default_factory=dict)
    published: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[ModelOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def render(self) -> str:
        lines = ["training summary"]
        for o in self.outcomes:
            metric = MODELS[o.name].headline
            version = f" v{o.version}" if o.version else ""
            candidate = f" {o.model_name} ({o.model_kind})" if o.model_name else ""
            value = f" {metric}={o.metrics[metric]:.4f}" if metric in o.metrics else ""
            events = f" over {int(o.metrics['label_events'])} label events" if "label_events" in o.metrics else ""
            reason = f": {o.reason}" if o.reason else ""
            lines.append(f"  {o.name:<12} {o.status}{version}{candidate}{value}{events}{reason}")
            if o.decision and o.decision not in o.reason:
                lines.append(f"  {'':<12} why: {o.decision}")
        if self.scored:
            lines.append("  scored: " + ", ".join(f"{t} {n} rows" for t, n in self.scored.items()))
        if self.published:
            lines.append("  published: " + ", ".join(f"{ns} {n}" for ns, n in self.published.items()))
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def run_training(models: list[str] | None = None) -> TrainingSummary:
    import dagster as dg

    from ml.registry import default_registry
    from orchestration.runs import execute_job, failures

    requested = list(models or MODEL_NAMES)
    unknown = [m for m in requested if m not in MODELS]
    if unknown:
        raise StreamloopError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODEL_NAMES)}")
    names = [m for m in MODEL_NAMES if m in requested]
    registry = default_registry()
    before = {name: set(registry.versions(name)) for name in names}

    keys = [dg.AssetKey(key) for name in names for key in MODELS[name].asset_keys]
    training = execute_job("model_training", asset_selection=keys, progress=True)
    summary = TrainingSummary(outcomes=[_outcome(name, training, registry, before[name]) for name in names])
    for o in summary.outcomes:  # a slice the data could not hold (ml.features.split_by_time) is said, not hidden
        if o.version and (note := registry.get(o.name, o.version).data_window.get("note")):
            summary.notes.append(f"{o.name}: {note}")

    problems = [f"{o.name}: {o.reason}" for o in summary.failed]
    for job in ("batch_scoring", "publication"):
        run = execute_job(job, progress=True)
        _read_outputs(run, summary)
        problems += [f"{job} step {line}" for line in failures(run)]
    if problems:
        say(summary.render())
        raise StreamloopError("train failed: " + "; ".join(problems))
    return summary


def _outcome(name: str, run, registry, versions_before: set[int]) -> ModelOutcome:
    """What happened to model `name` in the training run: skipped, failed, promoted or kept."""
    from orchestration.defs.skips import skip_reasons
    from orchestration.failures import failure_message

    assets = MODELS[name].asset_keys
    skipped = skip_reasons(run.all_events)
    for key in assets:
        if key in skipped:
            return ModelOutcome(name, "skipped", skipped[key])
    # a model's steps are its assets and its quality check (step key `<asset>_check_…`)
    errors = [failure_message(e.event_specific_data) for e in run.all_events
              if e.is_step_failure and any(e.step_key == k or e.step_key.startswith(f"{k}_") for k in assets)]
    new = [registry.get(name, v) for v in sorted(set(registry.versions(name)) - versions_before)]
    if not new:
        return ModelOutcome(name, "failed", errors[0] if errors else "the run registered no new version")
    selection = new[0].selection
    chosen = next((r for r in new if r.model_name == selection.get("chosen")), None)
    if chosen is None:  # no candidate passed its checks: production stays as it was
        return ModelOutcome(name, "kept", "gate failed: " + selection.get("decision", ""), new[0].version,
                            new[0].metrics, decision=selection.get("decision", ""))
    gate = registry.gate_of(name, chosen.version)
    production = registry.production(name)
    promoted = production is not None and production.version == chosen.version
    # a failed gate also fails its blocking check's step: that is the model kept out, not an error;
    # no gate verdict, or a passed gate without promotion, means a step broke
    if gate is None or (gate.get("passed") and not promoted):
        return ModelOutcome(name, "failed", errors[0] if errors else "the chosen candidate was not promoted")
    headline = MODELS[name].headline
    best = max(((b, m[headline]) for b, m in new[0].baseline_metrics.items() if headline in m),
               key=lambda kv: kv[1], default=None)
    reason = "" if promoted else "gate failed: " + "; ".join(gate.get("reasons") or ["see the check's result"])
    return ModelOutcome(name, "promoted" if promoted else "kept", reason, chosen.version, chosen.metrics, best, gate,
                        chosen.model_kind, chosen.model_name, selection.get("decision", ""))


def _read_outputs(run, summary: TrainingSummary) -> None:
    """Rows written per table and keys published per namespace, from the materializations' metadata;
    skipped outputs as notes."""
    from orchestration.defs.skips import skip_reasons

    for event in run.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        name, metadata = materialization.asset_key.to_user_string(), materialization.metadata
        if "dagster/row_count" in metadata:
            summary.scored[name] = int(metadata["dagster/row_count"].value)
        if "keys_written" in metadata:
            summary.published.update(metadata["keys_written"].value)
    summary.notes += [f"{key} not written: {reason}" for key, reason in skip_reasons(run.all_events).items()]
