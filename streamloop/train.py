"""`streamloop train`: train, register, gate, promote, score and publish (CONTRACT §5).

The logic lives in the `ml` library; this module only sequences it and reports progress. (The
Dagster assets call the same library functions; this is the direct path for the CLI.)

Each requested model is trained on its own: a model whose training data is absent (e.g. churn and
LTV on a MovieLens import, which has no subscriptions) is skipped with a one-line reason while the
others train. A model whose data is present but unusable fails; the run still finishes the other
models, prints its summary, then raises so the CLI exits non-zero.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from streamloop.errors import StreamloopError
from streamloop.progress import say, step

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
    from ml.registry import default_registry

    requested = list(models or MODELS)
    unknown = [m for m in requested if m not in MODELS]
    if unknown:
        raise StreamloopError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    registry = registry or default_registry()
    summary = TrainingSummary()
    con = open_warehouse()
    try:
        for name in MODELS:
            if name not in requested:
                continue
            with step(f"train {name}"):
                try:
                    summary.outcomes.append(_train_one(name, con, registry))
                except NoTrainingData as exc:
                    say(f"  skipped: {exc}")
                    summary.outcomes.append(ModelOutcome(name, "skipped", str(exc)))
                except TrainingDataError as exc:
                    say(f"  failed: {exc}")
                    summary.outcomes.append(ModelOutcome(name, "failed", str(exc)))
    finally:
        con.close()
    with step("score and publish"):
        _score_and_publish(registry, store, summary)
    if summary.failed:
        say(summary.render())
        raise StreamloopError("training failed for " + "; ".join(f"{o.name}: {o.reason}" for o in summary.failed))
    return summary


def _train_one(name: str, con, registry) -> ModelOutcome:
    from ml.gates import evaluate_gate
    from ml.reports import write_report
    from streamloop.settings import get_settings

    result = _fit(name, con)
    ref = registry.register(result, data_source=str(get_settings().warehouse_file))
    say(f"  registered {name} v{ref.version}")
    report = write_report(result, get_settings().home_dir / "reports" / name / f"v{ref.version}", ref.version)
    registry.attach_report(name, ref.version, [report["report"], *report["plots"].values()])
    say(f"  report: {report['report']}")
    production = registry.production(name)
    gate = evaluate_gate(name, result.metrics, result.baseline_metrics,
                         production.metrics if production else None, undefined=result.undefined_metrics)
    registry.record_gate(name, ref.version, gate)
    best = max(((b, m[HEADLINE[name]]) for b, m in result.baseline_metrics.items() if HEADLINE[name] in m),
               key=lambda kv: kv[1], default=None)
    if gate.passed:
        registry.promote(name, ref.version, gate)
        return ModelOutcome(name, "promoted", "", ref.version, result.metrics, best)
    return ModelOutcome(name, "kept", "gate failed: " + "; ".join(gate.reasons), ref.version, result.metrics, best)


def _fit(name: str, con):
    from dataclasses import replace

    from ml.config import ChurnConfig, LtvConfig, RecommenderConfig
    from streamloop.settings import get_settings

    threads = get_settings().threads  # STREAMLOOP_THREADS: never more XGBoost threads than cores we may use
    if name in ("churn", "ltv"):
        from ml.features import read_table

        frame = read_table(con, "account_features")
        if name == "churn":
            from ml.churn import train_churn

            return train_churn(frame, replace(ChurnConfig(), nthread=threads))
        from ml.ltv import train_ltv

        return train_ltv(frame, replace(LtvConfig(), nthread=threads))
    from ml.recommend.catalog import load_titles
    from ml.recommend.interactions import load_interactions
    from ml.recommend.pipeline import train_recommender

    return train_recommender(load_interactions(con), load_titles(con), replace(RecommenderConfig(), nthread=threads),
                             progress=lambda m: say(f"  {m}"))


def _score_and_publish(registry, store, summary: TrainingSummary) -> None:
    """Score the latest snapshot with production models and publish online payloads."""
    from ml.churn import ChurnModel
    from ml.errors import NoTrainingData
    from ml.features import open_warehouse, read_table
    from ml.ltv import LtvModel
    from ml.publish import build_online_payloads, publish
    from ml.recommend.catalog import load_titles
    from ml.recommend.interactions import load_interactions
    from ml.recommend.pipeline import Recommender
    from ml.scoring import score_accounts, score_profiles, write_table

    con = open_warehouse(read_only=False)
    try:
        profile_scores = None
        churn_ref = registry.production("churn")
        if churn_ref is None:
            summary.notes.append("no production churn model: account_scores/profile_scores not written")
        else:
            churn = ChurnModel.from_artifacts(registry.load_artifacts("churn")[1])
            ltv_ref = registry.production("ltv")
            ltv = LtvModel.from_artifacts(registry.load_artifacts("ltv")[1]) if ltv_ref else None
            versions = {"churn": churn_ref.model_version} | ({"ltv": ltv_ref.model_version} if ltv_ref else {})
            accounts = score_accounts(read_table(con, "account_features"), churn, ltv, versions)
            summary.scored["account_scores"] = write_table(con, "account_scores", accounts)
            profile_scores = score_profiles(con, accounts)
            summary.scored["profile_scores"] = write_table(con, "profile_scores", profile_scores)
        rec_ref = registry.production("recommender")
        recommender = Recommender.from_artifacts(registry.load_artifacts("recommender")[1]) if rec_ref else None
        try:
            interactions = load_interactions(con)
            titles = load_titles(con)
            profiles = read_table(con, "profiles")
        except NoTrainingData as exc:
            summary.notes.append(f"nothing published: {exc}")
            return
        payloads = build_online_payloads(
            profiles=profiles, titles=titles, interactions=interactions,
            candidates=recommender.candidates if recommender else None,
            similar=recommender.similar if recommender else None,
            recommender_version=rec_ref.model_version if rec_ref else None, profile_scores=profile_scores)
    finally:
        con.close()
    if store is None:
        from functions.store import get_store
        from streamloop.settings import get_settings

        store = get_store(get_settings())
    summary.published = publish(store, payloads)
