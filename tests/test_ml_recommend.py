"""Recommender on planted tastes, its metrics, and the business filters."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from ml.config import RecommenderConfig
from ml.errors import InsufficientData, NoTrainingData
from ml.recommend.interactions import normalize, relevant_items
from ml.recommend.metrics import ndcg_at, recall_at
from ml.recommend.pipeline import Recommender, split_positions, train_recommender
from ml.recommend.ranker import FEATURES, GENERATORS, _mean_ndcg, blend_scores, choose_scorer, fit_blend
from ml.synthetic import taste_catalog, taste_interactions
from streamloop.core.filters import apply_filters, maturity_allows

FAST = RecommenderConfig(als_iterations=4, als_factors=16, ranker_rounds=80, candidates_per_generator=50,
                         output_candidates=50, similar_items=10, nthread=1)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One BLAS/OpenMP thread: on a busy 2-core machine, spinning thread pools make tests 20× slower."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def trained():
    interactions = normalize(taste_interactions(n_profiles=250, n_items=200, seed=11))
    return interactions, train_recommender(interactions, taste_catalog(n_items=200), FAST)


def test_recommender_beats_popularity_on_planted_tastes(trained):
    _, result = trained
    popularity = result.baseline_metrics["popularity"]["ndcg_at_10"]
    assert result.metrics["ndcg_at_10"] > 2 * popularity
    assert result.metrics["recall_at_20"] > result.baseline_metrics["popularity"]["recall_at_20"]
    for name in ("popularity", "trending", "itemknn", "ease", "als"):
        assert "ndcg_at_10" in result.baseline_metrics[name]
    assert result.details["by_bucket"]["ranker"]


def test_batch_outputs_exclude_seen_items_and_round_trip(trained):
    interactions, result = trained
    candidates = result.model.candidates
    seen = set(zip(interactions["profile_id"], interactions["item_id"]))
    assert not any((p, c) in seen for p, c in zip(candidates["profile_id"], candidates["content_id"]))
    assert candidates.groupby("profile_id")["rank"].max().max() <= FAST.output_candidates
    first = candidates[candidates["profile_id"] == candidates["profile_id"].iloc[0]]
    assert list(first["score"]) == sorted(first["score"], reverse=True)
    similar = result.model.similar
    assert (similar["title_id"] != similar["similar_title_id"]).all()
    loaded = Recommender.from_artifacts(result.artifacts)
    pd.testing.assert_frame_equal(loaded.candidates, candidates)
    pd.testing.assert_frame_equal(loaded.similar, similar)
    assert (loaded.scorer, loaded.blend, loaded.model_name) == (result.model.scorer, result.model.blend, "ranker")
    probe = np.random.default_rng(0).random((5, len(FEATURES))).astype(np.float32)
    np.testing.assert_array_equal(loaded.ranker.inplace_predict(probe), result.model.ranker.inplace_predict(probe))


def test_every_baseline_is_a_candidate_that_serves_every_profile_without_seen_items(trained):
    interactions, result = trained
    seen = set(zip(interactions["profile_id"], interactions["item_id"]))
    profiles = set(interactions.loc[interactions["weight"] > 0, "profile_id"])
    names = [c.model_name for c in result.candidates]
    assert names == ["popularity", "trending", "itemknn", "ease", "als", "ranker"]  # simplest first
    for baseline in result.baselines:
        assert baseline.kind == "baseline" and baseline.metrics == (
            result.baseline_metrics[baseline.model_name] | {"label_events": result.metrics["label_events"]})
        lists = baseline.model.candidates
        assert set(lists["profile_id"]) == profiles
        assert not any((p, c) in seen for p, c in zip(lists["profile_id"], lists["content_id"]))
        loaded = Recommender.from_artifacts(baseline.artifacts)
        assert loaded.ranker is None and loaded.model_name == baseline.model_name
        pd.testing.assert_frame_equal(loaded.candidates, lists)
        # per-profile NDCG the gate resamples averages to the reported metric
        assert baseline.unit_outputs.mean() == pytest.approx(baseline.metrics["ndcg_at_10"])
    assert result.unit_outputs.mean() == pytest.approx(result.metrics["ndcg_at_10"])
    popularity = next(b for b in result.baselines if b.model_name == "popularity").model.candidates
    top = popularity.groupby("profile_id")["content_id"].apply(list)
    counts = interactions[interactions["weight"] > 0].groupby("item_id")["profile_id"].nunique()
    for profile_id, items in top.head(20).items():  # the most popular titles the profile has not seen, in order
        unseen = [i for i in counts.sort_values(ascending=False, kind="stable").index
                  if (profile_id, i) not in seen]
        assert [counts[i] for i in items[:5]] == [counts[i] for i in unseen[:5]]


def test_evaluation_is_deterministic_whatever_the_row_order():
    """Two runs on the same interactions, one of them shuffled (the warehouse returns rows sharing a
    timestamp in no fixed order), give identical choices and metrics."""
    interactions = taste_interactions(n_profiles=120, n_items=80, seed=5)
    interactions["ts"] = interactions["ts"].dt.floor("D")  # many ties in time
    shuffled = interactions.sample(frac=1.0, random_state=3)
    first, second = (train_recommender(normalize(frame), taste_catalog(n_items=80), FAST, produce_outputs=False)
                     for frame in (interactions, shuffled))
    assert first.metrics == second.metrics
    assert first.baseline_metrics == second.baseline_metrics
    assert first.details["validation_ndcg"] == second.details["validation_ndcg"]


def test_model_choice_never_sees_the_test_window():
    """Scrambling which items were played after the evaluation cut changes the test metrics but not
    one thing chosen on validation: scorer, blend weights, validation scores, boosting rounds."""
    interactions = normalize(taste_interactions(n_profiles=150, n_items=100, seed=8))
    test_period = split_positions(interactions, "global") >= FAST.eval_cut_quantile
    scrambled = interactions.copy()
    rng = np.random.default_rng(0)
    scrambled.loc[test_period, "item_id"] = rng.permutation(scrambled.loc[test_period, "item_id"].to_numpy())
    runs = [train_recommender(frame, taste_catalog(n_items=100), FAST, produce_outputs=False)
            for frame in (interactions, scrambled)]
    assert runs[0].details["validation_ndcg"] == runs[1].details["validation_ndcg"]
    assert runs[0].details["scorer"] == runs[1].details["scorer"]
    assert runs[0].details["blend"] == runs[1].details["blend"]
    assert runs[0].params == runs[1].params
    assert runs[0].metrics["ndcg_at_10"] != runs[1].metrics["ndcg_at_10"]  # the test data did change


def test_backtest_drops_everything_after_its_test_window():
    interactions = normalize(taste_interactions(n_profiles=120, n_items=80, seed=6))
    config = replace(FAST, eval_cut_quantile=0.7, eval_end_quantile=0.85, label_cut_quantiles=(0.4, 0.5, 0.6))
    result = train_recommender(interactions, taste_catalog(n_items=80), config, produce_outputs=False,
                               keep_profile_metrics=True)
    end = interactions.loc[split_positions(interactions, "global") >= 0.85, "ts"].min()
    assert pd.Timestamp(result.data_window["interactions_to"]) < end
    per_profile = result.details["profile_metrics"]
    assert len(per_profile["ours"]["ndcg_at_10"]) == result.metrics["profiles_evaluated"]
    assert per_profile["ours"]["profile_id"] == per_profile["ease"]["profile_id"]  # paired across models
    assert np.mean(per_profile["ours"]["ndcg_at_10"]) == pytest.approx(result.metrics["ndcg_at_10"])


def test_blend_combines_two_generators_that_each_hold_half_the_signal():
    rng = np.random.default_rng(1)
    n_queries, per_query = 300, 40
    x = np.zeros((n_queries * per_query, len(FEATURES)), dtype=np.float32)
    first, second = rng.random(len(x)), rng.random(len(x))
    x[:, FEATURES.index("ease_score_rel")] = first
    x[:, FEATURES.index("itemknn_score_rel")] = second
    qid = np.repeat(np.arange(n_queries), per_query)
    y = np.zeros(len(x), dtype=np.float32)
    for q in range(n_queries):  # relevant: each query's top 3 by the sum of both
        rows = np.flatnonzero(qid == q)
        y[rows[np.argsort(-(first[rows] + second[rows]))[:3]]] = 1.0
    weights = fit_blend(x, y, qid)
    assert weights["ease"] > 0 and weights["itemknn"] > 0
    assert set(weights) == set(GENERATORS)
    blended = _mean_ndcg(blend_scores(x, weights), y, qid)
    assert blended > _mean_ndcg(first, y, qid) + 0.1
    assert blended > _mean_ndcg(second, y, qid) + 0.1


def test_a_learned_scorer_must_beat_the_best_generator_by_more_than_noise():
    rng = np.random.default_rng(2)
    ease = rng.random(200)
    noisy = {"ease": ease, "itemknn": ease - 0.1, "ranker": ease + rng.normal(0.005, 0.2, 200), "blend": ease}
    assert choose_scorer(noisy) == "ease"
    clear = noisy | {"ranker": ease + rng.normal(0.05, 0.2, 200)}
    assert choose_scorer(clear) == "ranker"
    assert choose_scorer(clear | {"blend": ease + 0.1}) == "blend"  # the larger clear gain wins


def test_test_labels_exclude_items_seen_before_the_cut():
    interactions = normalize(taste_interactions(n_profiles=30, n_items=40, seed=2))
    cut = interactions["ts"].quantile(0.7)
    before, after = interactions[interactions["ts"] < cut], interactions[interactions["ts"] >= cut]
    relevant = relevant_items(after, before)
    seen = set(zip(before["profile_id"], before["item_id"]))
    assert all((p, i) not in seen for p, items in relevant.items() for i in items)


def test_ranking_metrics_on_known_lists():
    assert ndcg_at(["a", "b"], {"a"}) == 1.0
    assert ndcg_at(["x", "a"], {"a"}) == pytest.approx(1 / np.log2(3))
    assert ndcg_at(["x", "a", "b"], {"a", "b"}) == pytest.approx((1 / np.log2(3) + 1 / np.log2(4)) / (1 + 1 / np.log2(3)))
    assert recall_at(["a", "x"], {"a", "b"}) == 0.5


def test_too_few_profiles_and_no_plays_are_skips_with_their_reason():
    interactions = normalize(taste_interactions(n_profiles=5, n_items=20))
    with pytest.raises(InsufficientData, match="at least 20 profiles with plays, found 5"):
        train_recommender(interactions, taste_catalog(n_items=20), FAST)
    with pytest.raises(NoTrainingData):
        train_recommender(interactions.assign(weight=0.0), taste_catalog(n_items=20), FAST)


def test_filters_never_return_unavailable_or_over_maturity_titles():
    rng = np.random.default_rng(0)
    catalog = taste_catalog(n_items=200, seed=4)
    titles = {r.title_id: {"kind": r.kind, "maturity_rating": r.maturity_rating,
                           "available_countries": r.available_countries} for r in catalog.itertuples()}
    ranked = [(t, float(s)) for t, s in zip(catalog["title_id"], rng.random(len(catalog)))] + [("unknown", 1.0)]
    completed = {"t0", "t1"}
    for country in ("US", "FR", None):
        for limit in ("all", "7+", "13+", "16+", "18+", None):
            kept = apply_filters(ranked, titles, country=country, max_maturity=limit, completed_movies=completed)
            for title_id, _ in kept:
                title = titles[title_id]
                assert "*" in title["available_countries"] or country in title["available_countries"]
                assert maturity_allows(title["maturity_rating"], limit)
                assert title_id not in completed
            assert len({t for t, _ in kept}) == len(kept)
    assert not maturity_allows("18+", "13+") and maturity_allows("7+", "13+")
    assert not maturity_allows(None, "16+")  # unrated titles need an 18+ profile
    assert apply_filters(["t2", "t2", "t3"], {"t2": titles["t2"] | {"available_countries": ["*"],
                                                                    "maturity_rating": "all"}},
                         country="US", max_maturity="all") == ["t2"]


def test_filters_module_imports_without_numpy_or_pandas():
    import subprocess
    import sys

    code = ("import sys; import streamloop.core.filters; "
            "assert 'pandas' not in sys.modules and 'numpy' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
