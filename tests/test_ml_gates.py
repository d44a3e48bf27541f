"""Which candidate serves: floors, guards, the paired bootstrap and "a tie keeps the simpler model"."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ml.compare import paired_difference
from ml.gates import evaluate_gate, select_candidate
from ml.results import BASELINE, TrainingResult


def candidate(name: str, kind: str, complexity: int, y, output, **metrics) -> TrainingResult:
    return TrainingResult(name="churn", model=None, artifacts={}, metrics=metrics, baseline_metrics={}, features=[],
                          feature_hash="", data_window={}, kind=kind, model_name=name, complexity=complexity,
                          unit_labels=np.asarray(y, float), unit_outputs=np.asarray(output, float))


def churn_pair(learned_noise: float, baseline_noise: float, n: int = 2000, seed: int = 1, brier=(0.1, 0.1)):
    """Labels and two scores: the lower the noise, the better a score ranks churners."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.2
    signal = y + rng.normal(0, 1, n)
    ours = signal + rng.normal(0, learned_noise, n)
    theirs = signal + rng.normal(0, baseline_noise, n)
    learned = candidate("xgboost", "learned", 10, y, ours, auc=roc_auc_score(y, ours), brier=brier[0])
    baseline = candidate("logistic_recency_frequency", BASELINE, 0, y, theirs, auc=roc_auc_score(y, theirs),
                         brier=brier[1])
    return learned, baseline


def test_a_learned_model_that_loses_to_its_baseline_leaves_the_baseline_serving():
    learned, baseline = churn_pair(learned_noise=1.5, baseline_noise=0.0)
    assert learned.metrics["auc"] < baseline.metrics["auc"]
    selection = select_candidate("churn", [learned, baseline])
    assert (selection.chosen, selection.chosen_kind) == ("logistic_recency_frequency", "baseline")
    rows = {r["model_name"]: r for r in selection.candidates}
    assert rows["xgboost"]["verdict"].startswith("significantly worse")
    assert rows["xgboost"]["vs_best"]["high"] < 0
    assert selection.decision.startswith("logistic_recency_frequency (baseline) serves: auc=")


def test_a_tie_within_the_noise_keeps_the_simpler_model():
    learned, baseline = churn_pair(learned_noise=0.0, baseline_noise=0.0, n=300)
    learned.unit_outputs = learned.unit_outputs + np.random.default_rng(9).normal(0, 0.05, 300)  # a hair apart
    learned.metrics["auc"] = roc_auc_score(learned.unit_labels, learned.unit_outputs)
    baseline.metrics["auc"] = roc_auc_score(baseline.unit_labels, baseline.unit_outputs)
    selection = select_candidate("churn", [learned, baseline])
    assert selection.chosen == "logistic_recency_frequency"
    best = max((learned, baseline), key=lambda c: c.metrics["auc"])
    if best is learned:
        assert "tied with the best (xgboost" in selection.decision
    rows = {r["model_name"]: r for r in selection.candidates}
    assert any(r["verdict"].startswith("serves") for r in rows.values())


def test_a_learned_model_significantly_better_and_as_well_calibrated_serves():
    learned, baseline = churn_pair(learned_noise=0.0, baseline_noise=1.5)
    selection = select_candidate("churn", [baseline, learned])
    assert (selection.chosen, selection.chosen_kind) == ("xgboost", "learned")
    rows = {r["model_name"]: r for r in selection.candidates}
    assert rows["logistic_recency_frequency"]["vs_best"]["high"] < 0


def test_a_better_ranking_but_worse_calibrated_churn_model_does_not_serve():
    learned, baseline = churn_pair(learned_noise=0.0, baseline_noise=1.5, brier=(0.15, 0.1))
    selection = select_candidate("churn", [learned, baseline])
    assert selection.chosen == "logistic_recency_frequency"
    rows = {r["model_name"]: r for r in selection.candidates}
    assert rows["xgboost"]["verdict"] == "failed: vs baseline: brier 0.15 not ≤ 0.1"


def test_churn_is_never_promoted_with_a_lower_auc_than_its_baseline():
    for seed in range(5):
        learned, baseline = churn_pair(learned_noise=0.3, baseline_noise=0.25, n=400, seed=seed)
        selection = select_candidate("churn", [learned, baseline])
        if selection.chosen == "xgboost":
            assert learned.metrics["auc"] > baseline.metrics["auc"]


def test_no_candidate_above_the_floor_means_nothing_serves():
    learned, baseline = churn_pair(learned_noise=50, baseline_noise=50, n=500)
    assert max(learned.metrics["auc"], baseline.metrics["auc"]) < 0.6
    selection = select_candidate("churn", [learned, baseline])
    assert selection.chosen is None and selection.decision.startswith("no churn candidate passed its checks")
    gate = evaluate_gate("churn", learned.metrics, None, selection=selection, model_name="xgboost")
    assert not gate.passed and any(r.startswith("not selected") for r in gate.reasons)


def test_recommender_candidates_compare_per_profile_ndcg_and_prefer_the_simplest_tie():
    rng = np.random.default_rng(3)
    ease = rng.random(500)
    tie = np.clip(ease + rng.normal(0, 0.01, 500), 0, 1)
    popularity = ease * 0.5
    zeros = np.zeros(500)

    def rec(name, complexity, values, kind=BASELINE):
        c = candidate(name, kind, complexity, zeros, values, ndcg_at_10=float(values.mean()))
        c.name = "recommender"
        return c

    pool = [rec("ranker", 10, tie, "learned"), rec("popularity", 0, popularity), rec("ease", 3, ease)]
    selection = select_candidate("recommender", pool)
    assert selection.chosen in ("ease",)  # popularity is far worse; the learned ranker only ties EASE
    pool[0] = rec("ranker", 10, np.clip(ease + 0.1, 0, 1), "learned")
    assert select_candidate("recommender", pool).chosen == "ranker"


def test_paired_difference_of_identical_outputs_is_exactly_zero_and_of_a_shift_is_its_size():
    y = np.zeros(100)
    values = np.linspace(0, 1, 100)
    same = paired_difference("ndcg_at_10", y, values, values)
    assert (same.estimate, same.low, same.high, same.significant) == (0.0, 0.0, 0.0, False)
    shifted = paired_difference("ndcg_at_10", y, values + 0.1, values)
    assert shifted.estimate == pytest.approx(0.1) and shifted.low == pytest.approx(0.1)
    assert shifted.high == pytest.approx(0.1) and shifted.significant


def test_the_bootstrap_statistics_equal_sklearn_and_ml_evaluate_on_the_full_sample():
    from ml.compare import STATISTICS
    from ml.evaluate import normalized_gini

    rng = np.random.default_rng(4)
    y = (rng.random(300) < 0.3).astype(float)
    score = np.round(y + rng.normal(0, 1, 300), 1)  # rounded: ties must count half, as in sklearn
    assert STATISTICS["auc"](y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    revenue = rng.gamma(1.0, 100.0, 300) * (rng.random(300) < 0.7)
    assert STATISTICS["normalized_gini"](revenue, score) == pytest.approx(normalized_gini(revenue, score), abs=1e-12)
