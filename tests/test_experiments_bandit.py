"""Bandit readout on simulated pages whose arms' click-through and allocation are known."""
import numpy as np
import pandas as pd

from ml.experiments_bandit import BanditDesign, readout

DESIGN = BanditDesign("home_row_order", ("personal_first", "trending_first", "fresh_first"))
CTR = {"personal_first": 0.12, "trending_first": 0.08, "fresh_first": 0.05}


def _pages(rng, days=10, per_day=3000):
    frames, shares = [], []
    ctr = np.array([CTR[a] for a in DESIGN.arms])
    for day in range(days):
        # the logging policy moves traffic to the best arm over time (known propensities)
        best = min(0.34 + 0.05 * day, 0.8)
        probs = np.array([best, (1 - best) / 2, (1 - best) / 2])
        arms = rng.choice(len(probs), size=per_day, p=probs)
        frames.append(pd.DataFrame({
            "bandit_id": DESIGN.bandit_id, "arm": np.array(DESIGN.arms)[arms],
            "served_date": pd.Timestamp("2026-11-01") + pd.Timedelta(days=day), "propensity": probs[arms],
            "impressions": 10, "clicks": rng.binomial(10, ctr[arms])}))
        shares.append(best)
    return pd.concat(frames, ignore_index=True), shares


def test_posteriors_allocation_policy_values_and_gain_match_the_truth():
    pages, best_shares = _pages(np.random.default_rng(8))
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
    pages, _ = _pages(np.random.default_rng(1), days=1, per_day=20)
    result = readout(pages.assign(propensity=np.nan), DESIGN)
    assert result["note"].startswith("not enough data") and result["gain"] is None
    assert result["posteriors"]["pages"].sum() == 20
