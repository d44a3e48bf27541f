"""The steps every caller of the models shares (the CLI's `streamloop train`, the Dagster assets):
fit one model from the warehouse, register it with its report, gate and promote it, then score
and publish with the production versions. Each step is a plain function over explicit inputs.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

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
    report: dict | None = None


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


def register_gate_promote(result: TrainingResult, registry, report_dir: str | Path,
                          data_source: str | None = None, progress=lambda message: None) -> ModelOutcome:
    """Register a trained model with its report, evaluate the gate against production, promote if it passed."""
    from ml.gates import evaluate_gate
    from ml.reports import write_report

    name = result.name
    ref = registry.register(result, data_source=data_source)
    progress(f"registered {name} v{ref.version}")
    report = write_report(result, Path(report_dir) / name / f"v{ref.version}", ref.version)
    registry.attach_report(name, ref.version, [report["report"], *report["plots"].values()])
    progress(f"report: {report['report']}")
    production = registry.production(name)
    gate = evaluate_gate(name, result.metrics, result.baseline_metrics,
                         production.metrics if production else None, undefined=result.undefined_metrics)
    registry.record_gate(name, ref.version, gate)
    headline = HEADLINE[name]
    best = max(((b, m[headline]) for b, m in result.baseline_metrics.items() if headline in m),
               key=lambda kv: kv[1], default=None)
    outcome = ModelOutcome(name, "kept", "", ref.version, result.metrics, best, gate.as_dict(), report)
    if gate.passed:
        registry.promote(name, ref.version, gate)
        outcome.status = "promoted"
    else:
        outcome.reason = "gate failed: " + "; ".join(gate.reasons)
    return outcome


@dataclass
class ScoringOutcome:
    scored: dict[str, int] = field(default_factory=dict)  # warehouse table → rows written
    payloads: dict[str, dict] = field(default_factory=dict)  # online namespace → {key: value}
    notes: list[str] = field(default_factory=list)


def score_with_production(registry, con) -> ScoringOutcome:
    """Score the latest snapshot with the production churn/LTV models (writing account_scores and
    profile_scores through the read-write `con`) and build online payloads with the production
    recommender's batch outputs. Artifacts are checksum-verified on load."""
    from ml.churn import ChurnModel
    from ml.errors import NoTrainingData
    from ml.features import read_table
    from ml.ltv import LtvModel
    from ml.publish import build_online_payloads
    from ml.recommend.catalog import load_titles
    from ml.recommend.interactions import load_interactions
    from ml.recommend.pipeline import Recommender
    from ml.scoring import score_accounts, score_profiles, write_table

    outcome = ScoringOutcome()
    profile_scores = None
    churn_ref = registry.production("churn")
    if churn_ref is None:
        outcome.notes.append("no production churn model: account_scores/profile_scores not written")
    else:
        churn = ChurnModel.from_artifacts(registry.load_artifacts("churn")[1])
        ltv_ref = registry.production("ltv")
        ltv = LtvModel.from_artifacts(registry.load_artifacts("ltv")[1]) if ltv_ref else None
        versions = {"churn": churn_ref.model_version} | ({"ltv": ltv_ref.model_version} if ltv_ref else {})
        accounts = score_accounts(read_table(con, "account_features"), churn, ltv, versions)
        outcome.scored["account_scores"] = write_table(con, "account_scores", accounts)
        profile_scores = score_profiles(con, accounts)
        outcome.scored["profile_scores"] = write_table(con, "profile_scores", profile_scores)
    rec_ref = registry.production("recommender")
    recommender = Recommender.from_artifacts(registry.load_artifacts("recommender")[1]) if rec_ref else None
    try:
        interactions, titles, profiles = load_interactions(con), load_titles(con), read_table(con, "profiles")
    except NoTrainingData as exc:
        outcome.notes.append(f"nothing to publish: {exc}")
        return outcome
    outcome.payloads = build_online_payloads(
        profiles=profiles, titles=titles, interactions=interactions,
        candidates=recommender.candidates if recommender else None,
        similar=recommender.similar if recommender else None,
        recommender_version=rec_ref.model_version if rec_ref else None, profile_scores=profile_scores)
    return outcome
