"""Simulated pages of the home-row bandit whose arms' click-through and allocation are known."""
import numpy as np
import pandas as pd

from ml.experiments_bandit import BanditDesign

DESIGN = BanditDesign("home_row_order", ("personal_first", "trending_first", "fresh_first"))
CTR = {"personal_first": 0.12, "trending_first": 0.08, "fresh_first": 0.05}


def simulated_pages(rng, days=10, per_day=3000):
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
