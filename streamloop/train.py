"""`streamloop train`: train, register, gate, promote, score and publish (CONTRACT §5).

Every step is a function of `ml.training` (the Dagster assets call the same ones); this module
only sequences them for the CLI and reports progress.

Each requested model is trained on its own: a model whose training data is absent (e.g. churn and
LTV on a MovieLens import, which has no subscriptions) is skipped with a one-line reason while the
others train. A model whose data is present but unusable fails; the run still finishes the other
models, prints its summary, then raises so the CLI exits non-zero.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ml.training import HEADLINE, MODELS, ModelOutcome
from streamloop.errors import StreamloopError
from streamloop.progress import say, step


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
            metric = HEADLINE[o.name]
            value = f" {metric}={o.metrics[metric]:.4f}" if metric in o.metrics else ""
            base = f" (best baseline {o.best_baseline[0]}={o.best_baseline[1]:.4f})" if o.best_baseline else ""
            version = f" v{o.version}" if o.version else ""
            reason = f": {o.reason}" if o.reason else ""
            lines.append(f"  {o.name:<12} {o.status}{version}{value}{base}{reason}")
        if self.scored:
            lines.append("  scored: " + ", ".join(f"{t} {n} rows" for t, n in self.scored.items()))
        if self.published:
            lines.append("  published: " + ", ".join(f"{ns} {n}" for ns, n in self.published.items()))
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def run_training(models: list[str] | None = None, *, registry=None, store=None) -> TrainingSummary:
    from ml.errors import NoTrainingData, TrainingDataError
    from ml.features import open_warehouse
    from ml.publish import publish
    from ml.registry import default_registry
    from ml.training import fit_model, register_gate_promote, score_with_production
    from streamloop.settings import get_settings

    requested = list(models or MODELS)
    unknown = [m for m in requested if m not in MODELS]
    if unknown:
        raise StreamloopError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    settings = get_settings()
    registry = registry or default_registry()
    summary = TrainingSummary()
    con = open_warehouse()
    try:
        for name in (m for m in MODELS if m in requested):
            with step(f"train {name}"):
                try:
                    result = fit_model(name, con, threads=settings.threads, progress=lambda m: say(f"  {m}"))
                    summary.outcomes.append(register_gate_promote(
                        result, registry, settings.home_dir / "reports", data_source=str(settings.warehouse_file),
                        progress=lambda m: say(f"  {m}")))
                except NoTrainingData as exc:
                    say(f"  skipped: {exc}")
                    summary.outcomes.append(ModelOutcome(name, "skipped", str(exc)))
                except TrainingDataError as exc:
                    say(f"  failed: {exc}")
                    summary.outcomes.append(ModelOutcome(name, "failed", str(exc)))
    finally:
        con.close()
    with step("score and publish"):
        con = open_warehouse(read_only=False)
        try:
            scoring = score_with_production(registry, con)
        finally:
            con.close()
        summary.scored, summary.notes = scoring.scored, scoring.notes
        if scoring.payloads:
            if store is None:
                from functions.store import get_store

                store = get_store(settings)
            summary.published = publish(store, scoring.payloads)
    if summary.failed:
        say(summary.render())
        raise StreamloopError("training failed for " + "; ".join(f"{o.name}: {o.reason}" for o in summary.failed))
    return summary
