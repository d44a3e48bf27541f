"""Stages, candidate features and the XGBoost learning-to-rank re-ranker.

A *stage* is everything fitted on the interactions before one cut: the profile/item index, the
training matrices and every generator. Candidates for a profile are the union of each
generator's top K unseen items; each (profile, candidate) row carries the generators' scores and
ranks, item popularity/trend/age/kind/completion rate, the profile's activity and recency, and
the profile–genre affinity of the item. The ranker (`rank:ndcg`, one query per profile) learns
which candidates the profile goes on to play after the cut.

Beside the ranker, a *blend* — a weighted sum of the generators' relative scores, its weights
searched on the training windows — is a second learned scorer: on data where one generator is
already strong (EASE on MovieLens' per-profile split) a blend with the neighbourhood model may do
better than the trees. The latest window, which neither was fitted on, picks the scorer: a learned
one only when it beats the best generator by more than its noise (`choose_scorer`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xgboost as xgb

from ml.config import RecommenderConfig
from ml.errors import TrainingDataError
from ml.recommend.catalog import Catalog
from ml.recommend.generators import (
    AlsGenerator,
    EaseGenerator,
    ItemKnnGenerator,
    PopularityGenerator,
    TrendingGenerator,
)
from ml.recommend.interactions import Index, positive_matrix, seen_matrix

GENERATORS = ("popularity", "trending", "itemknn", "ease", "ease_weighted", "als")
# the generators reported as baselines; ease_weighted (EASE's item weights applied to the profile's
# weighted history: completions and thumbs-ups count more) is one of our components, not a baseline
BASELINES = ("popularity", "trending", "itemknn", "ease", "als")
WEIGHTED_INPUT = ("ease_weighted", "als")  # scored on summed interaction weights, the others on 0/1
ITEM_FEATURES = ("item_log_popularity", "item_trending", "item_age_days", "item_completion_rate", "item_is_series")
USER_FEATURES = ("user_log_activity", "user_days_since_last")
FEATURES = tuple(f"{g}_{kind}" for g in GENERATORS for kind in ("score", "rank", "score_rel")) + ITEM_FEATURES \
    + USER_FEATURES + ("genre_affinity",)


@dataclass
class Stage:
    cut: pd.Timestamp
    index: Index
    binary: sp.csr_matrix
    weighted: sp.csr_matrix
    seen: sp.csr_matrix
    generators: dict
    item_features: dict[str, np.ndarray]
    user_activity: np.ndarray  # distinct positively interacted items per profile
    user_days_since_last: np.ndarray
    user_genres: np.ndarray  # profiles × genres, normalized genre shares of their history
    item_genres: np.ndarray  # items × genres (catalog)
    popularity_share: np.ndarray  # smoothed share of profiles per item (for novelty)


def fit_stage(history: pd.DataFrame, cut: pd.Timestamp, catalog: Catalog, config: RecommenderConfig) -> Stage:
    history = history[history["ts"] < cut]
    users = pd.Index(pd.unique(history.loc[history["weight"] > 0, "profile_id"]))
    index = Index(users, catalog.items)
    binary = positive_matrix(history, index)
    weighted = positive_matrix(history, index, binary=False)
    seen = seen_matrix(history, index)
    popularity = PopularityGenerator.fit(binary)
    generators = {
        "popularity": popularity,
        "trending": TrendingGenerator.fit_recent(history, catalog.items, cut, config.trending_half_life_days),
        "itemknn": ItemKnnGenerator.fit(binary, config.knn_neighbors, config.knn_shrink),
        "ease": EaseGenerator.fit(binary, config.ease_lambda, config.ease_max_items),
        "als": AlsGenerator.fit(weighted, config.als_factors, config.als_regularization, config.als_alpha,
                                config.als_iterations, config.seed),
    }
    generators["ease_weighted"] = generators["ease"]  # same item weights, weighted rows (WEIGHTED_INPUT)
    positive = history[history["weight"] > 0]
    item_pos = index.item_pos(positive["item_id"])
    plays = np.bincount(item_pos[item_pos >= 0], minlength=len(catalog))
    completed = np.bincount(item_pos[item_pos >= 0], weights=(positive["weight"].to_numpy()[item_pos >= 0] >= 2),
                            minlength=len(catalog))
    cut_day = np.datetime64(cut.normalize().date(), "D")
    age = (cut_day - catalog.release_date).astype("float64")
    item_features = {
        "item_log_popularity": np.log1p(popularity.item_scores),
        "item_trending": generators["trending"].item_scores,
        "item_age_days": np.where(np.isnat(catalog.release_date), np.nan, age),
        "item_completion_rate": np.where(plays > 0, completed / np.maximum(plays, 1), np.nan),
        "item_is_series": catalog.is_series,
    }
    last = positive.groupby("profile_id")["ts"].max().reindex(users)
    user_genres = np.asarray(weighted @ catalog.genres)
    totals = user_genres.sum(axis=1, keepdims=True)
    user_genres = np.divide(user_genres, totals, out=np.zeros_like(user_genres), where=totals > 0)
    n_users = max(1, len(users))
    return Stage(
        cut=cut, index=index, binary=binary, weighted=weighted, seen=seen, generators=generators,
        item_features=item_features, user_activity=np.asarray(binary.sum(axis=1)).ravel(),
        user_days_since_last=((cut - last).dt.total_seconds() / 86400.0).to_numpy(),
        user_genres=user_genres.astype(np.float32), item_genres=catalog.genres,
        popularity_share=(popularity.item_scores + 1.0) / (n_users + 1.0),
    )


@dataclass
class Candidates:
    user_pos: np.ndarray  # per row
    item_pos: np.ndarray
    features: np.ndarray  # rows × FEATURES
    baselines: dict[str, dict[int, list[int]]]  # generator → user position → its top items (positions)


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def build_candidates(stage: Stage, user_positions: np.ndarray, config: RecommenderConfig,
                     baseline_depth: int = 20, batch_size: int = 512) -> Candidates:
    k = config.candidates_per_generator
    users_out, items_out, feats_out = [], [], []
    baselines: dict[str, dict[int, list[int]]] = {g: {} for g in GENERATORS}
    for start in range(0, len(user_positions), batch_size):
        rows = user_positions[start:start + batch_size]
        seen = stage.seen[rows].toarray() > 0
        scores, tops = {}, {}
        for name in GENERATORS:
            matrix = stage.weighted if name in WEIGHTED_INPUT else stage.binary
            s = stage.generators[name].score(matrix[rows])
            s[seen] = -np.inf
            scores[name], tops[name] = s, _top_k(s, k)
        for b, user in enumerate(rows):
            unseen = {name: tops[name][b][np.isfinite(scores[name][b, tops[name][b]])] for name in GENERATORS}
            for name in GENERATORS:
                baselines[name][int(user)] = unseen[name][:baseline_depth].tolist()
            pool = np.unique(np.concatenate([unseen[name] for name in GENERATORS]))
            if len(pool) == 0:
                continue
            columns = []
            for name in GENERATORS:
                row_scores = scores[name][b]
                rank = np.full(len(row_scores), k + 1, dtype=np.float32)
                rank[unseen[name]] = np.arange(1, len(unseen[name]) + 1)
                top = row_scores[unseen[name][0]] if len(unseen[name]) else 0.0
                columns += [row_scores[pool], rank[pool], row_scores[pool] / top if top > 0 else np.zeros(len(pool))]
            columns += [stage.item_features[f][pool] for f in ITEM_FEATURES]
            columns += [np.full(len(pool), np.log1p(stage.user_activity[user])),
                        np.full(len(pool), stage.user_days_since_last[user])]
            columns.append(stage.item_genres[pool] @ stage.user_genres[user])
            users_out.append(np.full(len(pool), user))
            items_out.append(pool)
            feats_out.append(np.column_stack(columns).astype(np.float32))
    if not feats_out:
        return Candidates(np.array([], int), np.array([], int), np.zeros((0, len(FEATURES)), np.float32), baselines)
    return Candidates(np.concatenate(users_out), np.concatenate(items_out), np.vstack(feats_out), baselines)


def generator_lists(stage: Stage, name: str, user_positions: np.ndarray, depth: int,
                    batch_size: int = 512) -> dict[int, list[tuple[int, float]]]:
    """Per user position, one generator's top `depth` unseen items with their scores (a baseline's
    batch output)."""
    matrix = stage.weighted if name in WEIGHTED_INPUT else stage.binary
    out: dict[int, list[tuple[int, float]]] = {}
    for start in range(0, len(user_positions), batch_size):
        rows = user_positions[start:start + batch_size]
        scores = stage.generators[name].score(matrix[rows])
        scores[stage.seen[rows].toarray() > 0] = -np.inf
        tops = _top_k(scores, depth)
        for b, user in enumerate(rows):
            keep = tops[b][np.isfinite(scores[b, tops[b]])]
            out[int(user)] = list(zip(keep.tolist(), scores[b, keep].astype(float).tolist()))
    return out


def labels_for(candidates: Candidates, stage: Stage, relevant: dict[str, set[str]]) -> np.ndarray:
    """1 where the candidate is among the profile's relevant (later, unseen, positive) items."""
    positions = {stage.index.users.get_loc(u): set(stage.index.item_pos(list(items)).tolist())
                 for u, items in relevant.items() if u in stage.index.users}
    return np.array([item in positions.get(user, ()) for user, item in zip(candidates.user_pos, candidates.item_pos)],
                    dtype=np.float32)


@dataclass
class RankerChoice:
    """The trained re-ranker, the blend, and the scorer that ranks candidates in the end.

    `scorer` is "ranker", "blend" or a single generator, chosen on the validation window by
    `choose_scorer`.
    """

    booster: xgb.Booster
    scorer: str
    rounds: int
    validation_ndcg: dict[str, float]
    blend: dict[str, float]  # generator → weight on its relative score


BLEND_WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0)


def blend_scores(features: np.ndarray, weights: dict[str, float]) -> np.ndarray:
    """Σ weight × the generator's score relative to its best candidate for the profile."""
    total = np.zeros(len(features), dtype=np.float64)
    for name, weight in weights.items():
        if weight:
            total += weight * np.nan_to_num(features[:, FEATURES.index(f"{name}_score_rel")])
    return total


def fit_blend(x: np.ndarray, y: np.ndarray, qid: np.ndarray) -> dict[str, float]:
    """Blend weights by coordinate ascent on NDCG@10 over the grid BLEND_WEIGHTS.

    The best generator alone anchors the blend at weight 1 (so the blend starts as that generator
    and is kept only where mixing in another improves the training windows); two passes.
    """
    alone = {name: _mean_ndcg(blend_scores(x, {name: 1.0}), y, qid) for name in GENERATORS}
    anchor = max(alone, key=alone.get)
    weights = {name: float(name == anchor) for name in GENERATORS}
    best = alone[anchor]
    for _ in range(2):
        for name in GENERATORS:
            if name == anchor:
                continue
            for weight in BLEND_WEIGHTS:
                trial = weights | {name: weight}
                value = _mean_ndcg(blend_scores(x, trial), y, qid)
                if value > best + 1e-9:
                    best, weights = value, trial
    return weights


def _stack(blocks: list[tuple[Candidates, np.ndarray]]):
    """Rows of the blocks grouped by query (block, profile); queries without a positive dropped."""
    features, labels, qids = [], [], []
    next_qid = 0
    for candidates, y in blocks:
        users, qid = np.unique(candidates.user_pos, return_inverse=True)
        has_positive = np.bincount(qid, weights=y, minlength=len(users)) > 0
        keep = has_positive[qid]
        features.append(candidates.features[keep])
        labels.append(y[keep])
        qids.append(qid[keep] + next_qid)
        next_qid += len(users)
    x, y, qid = np.vstack(features), np.concatenate(labels), np.concatenate(qids)
    order = np.argsort(qid, kind="stable")  # XGBoost needs rows grouped by non-decreasing qid
    return x[order], y[order], qid[order]


def _query_ndcg(scores: np.ndarray, y: np.ndarray, qid: np.ndarray, k: int = 10) -> np.ndarray:
    """NDCG@k of each query, relevance = labels, among the query's candidates."""
    bounds = np.flatnonzero(np.diff(qid)) + 1
    values = []
    for s, labels in zip(np.split(scores, bounds), np.split(y, bounds)):
        top = labels[np.argsort(-s, kind="stable")[:k]]
        dcg = float(np.sum(top / np.log2(np.arange(2, len(top) + 2))))
        ideal = float(np.sum(1.0 / np.log2(np.arange(2, min(int(labels.sum()), k) + 2))))
        values.append(dcg / ideal)
    return np.array(values)


def _mean_ndcg(scores: np.ndarray, y: np.ndarray, qid: np.ndarray, k: int = 10) -> float:
    return float(np.mean(_query_ndcg(scores, y, qid, k)))


def _params(config: RecommenderConfig) -> dict:
    return {
        "objective": config.ranker_objective, "eval_metric": "ndcg@10", "eta": config.ranker_learning_rate,
        "max_depth": config.ranker_max_depth, "min_child_weight": config.ranker_min_child_weight,
        "subsample": config.ranker_subsample, "colsample_bytree": config.ranker_colsample_bytree,
        "tree_method": "hist", "nthread": config.nthread, "seed": config.seed,
        "lambdarank_pair_method": "topk", "lambdarank_num_pair_per_sample": 10,
    }


def train_ranker(blocks: list[tuple[Candidates, np.ndarray]], config: RecommenderConfig) -> RankerChoice:
    """Fit the re-ranker on every window but the latest and validate on the latest (split by time).

    The latest window decides the number of boosting rounds (early stopping on NDCG@10) and
    whether the re-ranker beats each generator alone on those candidates.
    """
    if len(blocks) < 2:
        raise TrainingDataError("the ranker needs at least two training windows (label_cut_quantiles)")
    x, y, qid = _stack(blocks[:-1])
    x_val, y_val, qid_val = _stack(blocks[-1:])
    if len(np.unique(qid)) < 2 or len(np.unique(qid_val)) < 1:
        raise TrainingDataError("the ranker needs two or more profiles whose later plays are among their candidates")
    dtrain = xgb.DMatrix(x, label=y, qid=qid, feature_names=list(FEATURES))
    dvalid = xgb.DMatrix(x_val, label=y_val, qid=qid_val, feature_names=list(FEATURES))
    booster = xgb.train(_params(config), dtrain, num_boost_round=config.ranker_rounds,
                        evals=[(dvalid, "validation")], early_stopping_rounds=30, verbose_eval=False)
    booster = booster[: booster.best_iteration + 1]
    blend = fit_blend(x, y, qid)
    per_query = {"ranker": _query_ndcg(booster.inplace_predict(x_val, validate_features=False), y_val, qid_val),
                 "blend": _query_ndcg(blend_scores(x_val, blend), y_val, qid_val)}
    for name in GENERATORS:
        per_query[name] = _query_ndcg(x_val[:, FEATURES.index(f"{name}_score")], y_val, qid_val)
    validation = {name: float(values.mean()) for name, values in per_query.items()}
    return RankerChoice(booster, choose_scorer(per_query), booster.num_boosted_rounds(), validation, blend)


def choose_scorer(per_query: dict[str, np.ndarray]) -> str:
    """The best single generator on validation, unless a learned scorer (ranker, blend) beats it by
    more than one standard error of the paired per-profile difference.

    A validation window holds a few hundred profiles at most: a learned scorer ahead by less than
    its noise was as likely to lose on the next window (MovieLens backtests), and a generator alone
    is the simpler model.
    """
    generators = [name for name in per_query if name not in ("ranker", "blend")]
    best = max(generators, key=lambda name: per_query[name].mean())
    chosen, margin = best, 0.0
    for learned in ("ranker", "blend"):
        diff = per_query[learned] - per_query[best]
        standard_error = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.inf
        if diff.mean() > standard_error and diff.mean() > margin:
            chosen, margin = learned, diff.mean()
    return chosen


def refit_ranker(choice: RankerChoice, blocks: list[tuple[Candidates, np.ndarray]],
                 config: RecommenderConfig) -> RankerChoice:
    """Retrain on all windows (the latest included) with the validated rounds and scorer; the blend
    weights are searched again on all windows."""
    x, y, qid = _stack(blocks)
    booster = xgb.train(_params(config), xgb.DMatrix(x, label=y, qid=qid, feature_names=list(FEATURES)),
                        num_boost_round=choice.rounds, verbose_eval=False)
    return RankerChoice(booster, choice.scorer, choice.rounds, choice.validation_ndcg, fit_blend(x, y, qid))


def rank_candidates(choice: RankerChoice, candidates: Candidates, depth: int) -> dict[int, list[tuple[int, float]]]:
    """Per user position, its candidates ordered by the chosen scorer, best first (at most `depth`)."""
    if len(candidates.user_pos) == 0:
        return {}
    if choice.scorer == "ranker":
        scores = choice.booster.inplace_predict(candidates.features, validate_features=False)
    elif choice.scorer == "blend":
        scores = blend_scores(candidates.features, choice.blend)
    else:
        scores = candidates.features[:, FEATURES.index(f"{choice.scorer}_score")]
    order = np.lexsort((-scores, candidates.user_pos))
    users, items, ordered = candidates.user_pos[order], candidates.item_pos[order], scores[order]
    bounds = np.flatnonzero(np.diff(users)) + 1
    ranked = {}
    for u_chunk, i_chunk, s_chunk in zip(np.split(users, bounds), np.split(items, bounds), np.split(ordered, bounds)):
        ranked[int(u_chunk[0])] = list(zip(i_chunk[:depth].tolist(), s_chunk[:depth].astype(float).tolist()))
    return ranked
