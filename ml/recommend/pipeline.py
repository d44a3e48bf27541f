"""Train and evaluate the recommender in time, and produce its batch outputs.

Cuts are positions in time (see `split_positions`): one global moment by default.

1. Ranker training: for each cut in `label_cut_quantiles`, fit every generator on interactions
   before the cut, pool candidates, and label them with what each profile plays between that cut
   and the next one (the last window ends at the evaluation cut). The ranker trains on all windows
   but the latest and is validated on the latest (rounds by early stopping); a blend of the
   generators' scores is fitted on the same earlier windows, and whichever of ranker, blend or a
   single generator ranks the latest window best orders the candidates. With those choices fixed,
   ranker and blend are refitted on every window, the latest included (all still before the
   evaluation cut: the most recent tastes matter most when the test period comes next).
2. Evaluation: refit on interactions before the evaluation cut; rank the full catalog for every
   profile with later plays, excluding what it saw before the cut; score ours and every
   baseline generator alone (and each other component, reported apart), same profiles, same
   test items.
3. Outputs (optional): retrain the ranker on every window including the evaluation one, refit the
   generators on all interactions, and rank candidates for every profile; similar titles come
   from the ItemKNN neighbours.
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field
from itertools import pairwise

import numpy as np
import pandas as pd
import xgboost as xgb

from ml.config import RecommenderConfig
from ml.errors import InsufficientData, NoTrainingData, TrainingDataError
from ml.features import feature_hash
from ml.recommend.catalog import Catalog, build_catalog
from ml.recommend.interactions import relevant_items
from ml.recommend.metrics import ndcg_at, ranking_metrics
from ml.recommend.ranker import (
    BASELINES,
    FEATURES,
    GENERATORS,
    RankerChoice,
    build_candidates,
    fit_stage,
    generator_lists,
    labels_for,
    rank_candidates,
    refit_ranker,
    train_ranker,
)
from ml.results import BASELINE, TrainingResult

LEARNED_NAME = "ranker"
# a tie within the noise keeps the simpler candidate: generators from the simplest, the learned ranker last
COMPLEXITY = {"popularity": 0, "trending": 1, "itemknn": 2, "ease": 3, "als": 4, LEARNED_NAME: 10}


@dataclass
class Recommender:
    """Batch outputs of one recommender candidate (ranked before business filters): the learned
    re-ranker (with its booster) or a baseline generator alone (ranker None)."""

    ranker: xgb.Booster | None
    scorer: str  # "ranker", "blend", or the generator whose score ranks
    candidates: pd.DataFrame  # profile_id, rank, content_id, score
    similar: pd.DataFrame  # title_id, rank, similar_title_id, score
    blend: dict[str, float] = field(default_factory=dict)  # generator → weight, when scorer == "blend"
    model_name: str = LEARNED_NAME

    def to_artifacts(self) -> dict[str, bytes]:
        meta = {"model_name": self.model_name, "features": list(FEATURES), "generators": list(GENERATORS),
                "scorer": self.scorer, "blend": self.blend}
        booster = {"model.ubj": bytes(self.ranker.save_raw("ubj"))} if self.ranker is not None else {}
        return booster | {
            "model.json": json.dumps(meta).encode(),
            "candidates.parquet": _parquet(self.candidates),
            "similar.parquet": _parquet(self.similar),
        }

    @classmethod
    def from_artifacts(cls, artifacts: dict[str, bytes]) -> Recommender:
        booster = None
        if "model.ubj" in artifacts:
            booster = xgb.Booster()
            booster.load_model(bytearray(artifacts["model.ubj"]))
        meta = json.loads(artifacts["model.json"])
        return cls(booster, meta.get("scorer", "ranker"),  # versions before the scorer choice had none
                   pd.read_parquet(io.BytesIO(artifacts["candidates.parquet"])),
                   pd.read_parquet(io.BytesIO(artifacts["similar.parquet"])), meta.get("blend", {}),
                   meta.get("model_name", LEARNED_NAME))


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def train_recommender(interactions: pd.DataFrame, titles: pd.DataFrame, config: RecommenderConfig | None = None,
                      produce_outputs: bool = True, progress=lambda message: None,
                      keep_profile_metrics: bool = False) -> TrainingResult:
    """Train, evaluate on the test period, and (optionally) produce batch outputs.

    `keep_profile_metrics` adds each evaluated profile's NDCG@10 and Recall@20, for ours and every
    baseline, to `details["profile_metrics"]` (benchmarks pair them across models).
    """
    config = config or RecommenderConfig()
    if interactions.empty or not (interactions["weight"] > 0).any():
        raise NoTrainingData("no plays or positive signals: nothing to learn tastes from")
    n_profiles = interactions.loc[interactions["weight"] > 0, "profile_id"].nunique()
    if n_profiles < config.min_profiles:
        raise InsufficientData(f"the recommender needs at least {config.min_profiles} profiles with plays, "
                               f"found {n_profiles} (STREAMLOOP_MIN_TRAINING_PROFILES)")
    catalog = build_catalog(titles, interactions["item_id"].unique())
    position = split_positions(interactions, config.split)
    if config.eval_end_quantile < 1.0:  # a backtest: what came after the test period does not exist
        interactions, position = interactions[position < config.eval_end_quantile], \
            position[position < config.eval_end_quantile]
    later_than_eval = position >= config.eval_cut_quantile
    before_eval, after_eval = interactions[~later_than_eval], interactions[later_than_eval]
    eval_time = reference_time(before_eval)

    blocks = []
    cuts = [*config.label_cut_quantiles, config.eval_cut_quantile]
    for quantile, next_quantile in pairwise(cuts):
        history = interactions[position < quantile]
        window = interactions[(position >= quantile) & (position < next_quantile)]
        progress(f"ranker window: features from {len(history):,} interactions, labels from the next {len(window):,}")
        blocks.append(_labelled_block(history, window, catalog, config))
    choice = train_ranker(blocks, config)
    evaluated = refit_ranker(choice, blocks, config)  # the validated choices, refitted on every window
    progress("validation NDCG@10 on the latest window: "
             + ", ".join(f"{k}={v:.4f}" for k, v in choice.validation_ndcg.items()) + f" → ranking by {choice.scorer}"
             + (f" (blend weights fitted on the earlier windows: {choice.blend})" if choice.scorer == "blend" else ""))

    progress(f"evaluation: fit on {len(before_eval):,} interactions, test on {len(after_eval):,} later ones "
             f"({config.split} split)")
    stage = fit_stage(before_eval, eval_time, catalog, config)
    relevant = relevant_items(after_eval, before_eval)
    users = np.array([stage.index.users.get_loc(u) for u in relevant if u in stage.index.users], dtype=int)
    if len(users) == 0:
        raise TrainingDataError("no profile with plays before the evaluation cut plays anything new after it")
    candidates = build_candidates(stage, users, config)
    ranked = rank_candidates(evaluated, candidates, depth=20)
    relevant_pos = {stage.index.users.get_loc(u): set(stage.index.item_pos(list(items)).tolist())
                    for u, items in relevant.items() if u in stage.index.users}
    activity = {int(u): int(stage.user_activity[u]) for u in users}

    def evaluate(rankings):
        return ranking_metrics(rankings, relevant_pos, activity, stage.popularity_share, len(catalog))

    ours = evaluate({u: [i for i, _ in items] for u, items in ranked.items()})
    baselines = {name: evaluate(candidates.baselines[name]) for name in BASELINES}
    components = {name: evaluate(candidates.baselines[name]) for name in GENERATORS if name not in BASELINES}
    if not ours["values"]:
        raise TrainingDataError(f"recommender metrics undefined: {ours['undefined']}")
    profile_metrics = {}
    if keep_profile_metrics:
        profile_metrics = {name: {"profile_id": [stage.index.users[u] for u in r["per_profile"]["users"]],
                                  "ndcg_at_10": r["per_profile"]["ndcg_at_10"].tolist(),
                                  "recall_at_20": r["per_profile"]["recall_at_20"].tolist()}
                           for name, r in ({"ours": ours} | baselines | components).items() if r["values"]}

    # per-profile NDCG@10 over every evaluated profile, one order for all models (a model that gave a
    # profile no list scores 0 there): what the gate's paired bootstrap resamples
    eval_users = sorted(relevant_pos)
    rankings = {LEARNED_NAME: {u: [i for i, _ in items] for u, items in ranked.items()}} | {
        name: candidates.baselines[name] for name in BASELINES}
    unit_ndcg = {name: np.array([ndcg_at(r.get(u, []), relevant_pos[u], 10) for u in eval_users])
                 for name, r in rankings.items()}
    label_events = float(sum(len(relevant_pos[u]) for u in eval_users))

    outputs: dict[str, Recommender] = {}
    if produce_outputs:
        progress("outputs: refit on all interactions, rank candidates for every profile (ours and each baseline)")
        eval_block = (candidates, labels_for(candidates, stage, relevant))
        outputs = _fit_for_serving(interactions, catalog, choice, blocks + [eval_block], config)
    importance = evaluated.booster.get_score(importance_type="gain")
    window = {"interactions_from": str(interactions["ts"].min()), "split": config.split,
              "evaluation_cut": str(eval_time), "interactions_to": str(interactions["ts"].max()),
              "catalog_items": len(catalog)}
    candidates_out = [TrainingResult(
        name="recommender", model=outputs.get(name), artifacts=outputs[name].to_artifacts() if outputs else {},
        metrics=baselines[name]["values"] | {"label_events": label_events},
        undefined_metrics=baselines[name]["undefined"], baseline_metrics={}, features=[], feature_hash="",
        data_window=window, params=asdict(config), details={"by_bucket": {name: baselines[name]["by_bucket"]}},
        kind=BASELINE, model_name=name, complexity=COMPLEXITY[name], unit_labels=np.zeros(len(eval_users)),
        unit_outputs=unit_ndcg[name]) for name in BASELINES if baselines[name]["values"]]
    return TrainingResult(
        name="recommender", model=outputs.get(LEARNED_NAME),
        artifacts=outputs[LEARNED_NAME].to_artifacts() if outputs else {},
        metrics=ours["values"] | {"label_events": label_events}, undefined_metrics=ours["undefined"],
        baseline_metrics={name: result["values"] for name, result in baselines.items()},
        features=list(FEATURES), feature_hash=feature_hash(list(FEATURES)), data_window=window,
        params=asdict(config),
        details={"scorer": choice.scorer, "blend": evaluated.blend, "validation_ndcg": choice.validation_ndcg,
                 "component_metrics": {name: result["values"] for name, result in components.items()},
                 "by_bucket": {"ranker": ours["by_bucket"]} | {n: r["by_bucket"] for n, r in baselines.items()},
                 "importance": dict(sorted(importance.items(), key=lambda kv: -kv[1]))}
        | ({"profile_metrics": profile_metrics} if keep_profile_metrics else {}),
        model_name=LEARNED_NAME, complexity=COMPLEXITY[LEARNED_NAME], unit_labels=np.zeros(len(eval_users)),
        unit_outputs=unit_ndcg[LEARNED_NAME], baselines=candidates_out,
    )


def _labelled_block(history: pd.DataFrame, window: pd.DataFrame, catalog: Catalog, config: RecommenderConfig):
    stage = fit_stage(history, reference_time(history), catalog, config)
    relevant = relevant_items(window, history)
    users = np.array([stage.index.users.get_loc(u) for u in relevant if u in stage.index.users], dtype=int)
    candidates = build_candidates(stage, users, config)
    return candidates, labels_for(candidates, stage, relevant)


def split_positions(interactions: pd.DataFrame, split: str) -> np.ndarray:
    """Each interaction's position in time as a fraction in [0, 1); a cut at q keeps positions < q.

    `global`: the share of all interactions strictly earlier (one cut time for everyone: nothing
    after the cut is ever seen in training). `per_profile`: the share of the profile's own
    interactions before it (each profile's latest ones are held out; training then sees other
    profiles' later interactions, as in most published MovieLens results).
    """
    if split == "global":
        return ((interactions["ts"].rank(method="min") - 1) / len(interactions)).to_numpy()
    if split == "per_profile":
        by_profile = interactions.groupby("profile_id")["ts"]
        rank = by_profile.rank(method="first") - 1
        return (rank / by_profile.transform("size")).to_numpy()
    raise ValueError(f"unknown split {split!r}: use 'global' or 'per_profile'")


def reference_time(history: pd.DataFrame) -> pd.Timestamp:
    """The moment features are computed at: just after the last interaction they may use."""
    return history["ts"].max() + pd.Timedelta(seconds=1)


def _fit_for_serving(interactions: pd.DataFrame, catalog: Catalog, choice: RankerChoice, blocks,
                     config: RecommenderConfig) -> dict[str, Recommender]:
    """Batch outputs for every profile from the learned ranker and from each baseline generator alone:
    whichever candidate the gate promotes can serve everyone."""
    choice = refit_ranker(choice, blocks, config)
    stage = fit_stage(interactions, reference_time(interactions), catalog, config)
    users = np.arange(len(stage.index.users))
    ranked = rank_candidates(choice, build_candidates(stage, users, config, baseline_depth=0),
                             depth=config.output_candidates)
    similar_rows = [(catalog.items[i], rank, catalog.items[j], score)
                    for i, neighbours in enumerate(stage.generators["itemknn"].most_similar(config.similar_items))
                    for rank, (j, score) in enumerate(neighbours, start=1)]
    similar = pd.DataFrame(similar_rows, columns=["title_id", "rank", "similar_title_id", "score"])
    outputs = {LEARNED_NAME: Recommender(choice.booster, choice.scorer, _lists(ranked, stage, catalog), similar,
                                         choice.blend)}
    for name in BASELINES:
        lists = generator_lists(stage, name, users, config.output_candidates)
        outputs[name] = Recommender(None, name, _lists(lists, stage, catalog), similar, {}, name)
    return outputs


def _lists(ranked: dict[int, list[tuple[int, float]]], stage, catalog: Catalog) -> pd.DataFrame:
    rows = [(stage.index.users[u], rank, catalog.items[i], score)
            for u, items in ranked.items() for rank, (i, score) in enumerate(items, start=1)]
    return pd.DataFrame(rows, columns=["profile_id", "rank", "content_id", "score"])
