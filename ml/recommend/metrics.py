"""Offline ranking metrics over full-catalog rankings (no sampled negatives).

- NDCG@10 with binary relevance (ideal DCG over min(|relevant|, 10) hits);
- Recall@20 = hits in the top 20 / min(|relevant|, 20), so a perfect ranking scores 1;
- coverage@20 = share of the catalog appearing in at least one profile's top 20;
- novelty@20 = mean self-information −log2(share of training profiles that interacted with the
  item) of recommended items, in bits: higher means less obvious recommendations.
"""
from __future__ import annotations

import numpy as np

ACTIVITY_BUCKETS = ((1, 4, "1-4"), (5, 19, "5-19"), (20, 99, "20-99"), (100, None, "100+"))


def activity_bucket(n_interactions: int) -> str:
    for low, high, label in ACTIVITY_BUCKETS:
        if n_interactions >= low and (high is None or n_interactions <= high):
            return label
    return "0"


def ndcg_at(ranked: list, relevant: set, k: int = 10) -> float:
    gains = [1.0 / np.log2(pos + 2) for pos, item in enumerate(ranked[:k]) if item in relevant]
    ideal = sum(1.0 / np.log2(pos + 2) for pos in range(min(len(relevant), k)))
    return float(sum(gains) / ideal)


def recall_at(ranked: list, relevant: set, k: int = 20) -> float:
    hits = len(set(ranked[:k]) & relevant)
    return hits / min(len(relevant), k)


def ranking_metrics(rankings: dict, relevant: dict, activity: dict, popularity_share: np.ndarray,
                    n_catalog: int) -> dict:
    """Metrics over profiles that have both a ranking and relevant items; `rankings` hold item positions."""
    users = sorted(u for u in rankings if relevant.get(u))  # one order for every model: metrics pair up
    if not users:
        return {"values": {}, "undefined": {"ndcg_at_10": "no profile has relevant items in the test period"},
                "by_bucket": {}}
    ndcg = np.array([ndcg_at(rankings[u], relevant[u], 10) for u in users])
    recall = np.array([recall_at(rankings[u], relevant[u], 20) for u in users])
    recommended = [item for u in users for item in rankings[u][:20]]
    share = np.clip(popularity_share[recommended], 1e-12, None) if recommended else np.array([])
    by_bucket: dict[str, list[float]] = {}
    for user, score in zip(users, ndcg):
        by_bucket.setdefault(activity_bucket(activity.get(user, 0)), []).append(score)
    values = {
        "ndcg_at_10": float(ndcg.mean()),
        "recall_at_20": float(recall.mean()),
        "coverage_at_20": len(set(recommended)) / n_catalog,
        "profiles_evaluated": float(len(users)),
    }
    if len(share):
        values["novelty_at_20"] = float(np.mean(-np.log2(share)))
    buckets = {label: {"ndcg_at_10": float(np.mean(v)), "profiles": len(v)} for label, v in by_bucket.items()}
    per_profile = {"users": users, "ndcg_at_10": ndcg, "recall_at_20": recall}  # for paired comparisons
    return {"values": values, "undefined": {}, "by_bucket": buckets, "per_profile": per_profile}
