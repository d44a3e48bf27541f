"""Bandit readout on simulated pages whose arms' click-through and allocation are known."""
import numpy as np
from support.bandit_pages import CTR, DESIGN, simulated_pages

from ml.experiments_bandit import readout


def test_posteriors_allocation_policy_values_and_gain_match_the_truth():
    pages, best_shares = simulated_pages(np.random.default_rng(8))
    result = readout(pages, DESIGN)
    post = result["posteriors"].set_index("arm")
    for arm, ctr in CTR.items():
        assert post.loc[arm, "low"] <= ctr <= post.loc[arm, "high"]
    assert post["probability_best"].idxmax() == "personal_first" and post["probability_best"].max() > 0.99
    first_day = result["allocation"].query("served_date == served_date.min() and arm == 'personal_first'")
    assert abs(first_day["share"].iloc[0] - best_shares[0]) < 0.03

    values = result["policy_values"].set_index(["policy", "method"])
    truths = {"uniform": np.mean(list(CTR.values())), **{f"always_{a}": c for a, c in CTR.items()}}
    for (policy, method), row in values.iterrows():
        assert abs(row["estimate"] - truths[policy]) <= 3 * row["std_error"], (policy, method)

    logged_truth = np.mean([s * 0.12 + (1 - s) / 2 * (0.08 + 0.05) for s in best_shares])
    gain = result["gain"]
    assert gain["low"] <= logged_truth - truths["uniform"] <= gain["high"] and gain["gain"] > 0


def test_pages_without_propensities_read_not_enough_data():
    pages, _ = simulated_pages(np.random.default_rng(1), days=1, per_day=20)
    result = readout(pages.assign(propensity=np.nan), DESIGN)
    assert result["note"].startswith("not enough data") and result["gain"] is None
    assert result["posteriors"]["pages"].sum() == 20
