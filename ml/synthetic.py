"""Synthetic data with planted signal, shaped like the warehouse tables, for tests and benchmarks.

Churn depends on a few named features (recency, failed payments, watch time) so a model that
learns must beat chance and the recency/frequency baseline; tastes are planted per profile so a
recommender that learns must beat popularity.
"""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd


def account_snapshots(n_accounts: int = 2000, n_snapshots: int = 8, n_noise_features: int = 10,
                      seed: int = 7, start: date = date(2026, 1, 5)) -> pd.DataFrame:
    """One row per account per weekly snapshot, `account_features`-shaped, with planted churn and revenue."""
    rng = np.random.default_rng(seed)
    rows = n_accounts * n_snapshots
    account = np.repeat(np.arange(n_accounts), n_snapshots)
    snapshot = np.tile(np.arange(n_snapshots), n_accounts)
    engagement = rng.normal(0, 1, n_accounts)[account] + rng.normal(0, 0.5, rows)  # latent, partly persistent
    failed = rng.poisson(0.5, rows)
    price = rng.choice([799, 1299, 1799], rows)
    days_since = np.clip(rng.exponential(5 * np.exp(-engagement)), 0, 90)
    frame = pd.DataFrame({
        "account_id": [f"a{a}" for a in account],
        "snapshot_date": [start + timedelta(days=7 * int(s)) for s in snapshot],
        "price_cents": price,
        "is_trial": rng.random(rows) < 0.1,
        "tenure_days": rng.integers(1, 700, rows),
        "failed_payments_90d": failed,
        "days_since_last_activity": days_since,
        "household_watch_seconds_28d": np.maximum(0, 20_000 * np.exp(engagement) + rng.normal(0, 2000, rows)),
        "household_plays_28d": rng.poisson(np.exp(1.5 + 0.6 * engagement)),
        "household_sessions_28d": rng.poisson(np.exp(1.2 + 0.5 * engagement)),
        "active_profiles_28d": rng.integers(1, 5, rows),
    })
    # a nonlinear effect the logistic baseline cannot fully capture: failed payments matter most for long-idle accounts
    logit = -2.4 - 0.8 * engagement + 1.5 * failed * (days_since > 5) + 0.4 * frame["is_trial"]
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
    frame["is_churned_30d"] = pd.array(churned, dtype="boolean")
    months = np.where(churned, rng.integers(0, 2, rows), 3)
    frame["revenue_next_90d_cents"] = (price * months).astype(float)
    for i in range(n_noise_features):
        frame[f"noise_{i}"] = rng.normal(0, 1, rows).astype("float32")
    # like the warehouse, immature snapshots keep a (partial) label value: only the flags say not to trust it
    frame["is_churn_label_complete"] = frame["snapshot_date"] < frame["snapshot_date"].max()
    frame["is_ltv_label_complete"] = frame["snapshot_date"] <= frame["snapshot_date"].max() - timedelta(days=21)
    return frame


def taste_catalog(n_items: int = 300, n_genres: int = 10, seed: int = 7) -> pd.DataFrame:
    """`titles`-shaped catalog: movies with one genre each, ratings and countries."""
    rng = np.random.default_rng(seed)
    ratings = np.array(["all", "7+", "13+", "16+", "18+"])
    return pd.DataFrame({
        "title_id": [f"t{i}" for i in range(n_items)],
        "name": [f"Title {i}" for i in range(n_items)],
        "kind": "movie",
        "series_id": None,
        "genres": [[f"g{i % n_genres}"] for i in range(n_items)],
        "maturity_rating": ratings[rng.integers(0, 5, n_items)],
        "available_countries": [["*"] if rng.random() < 0.7 else ["US"] for _ in range(n_items)],
        "release_date": [date(2020, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 2000, n_items)],
    })


def taste_interactions(n_profiles: int = 400, n_items: int = 300, n_genres: int = 10, days: int = 60,
                       per_profile: int = 30, taste_strength: float = 0.85, seed: int = 7) -> pd.DataFrame:
    """Interaction frame where each profile mostly plays one favourite genre (else popular items)."""
    rng = np.random.default_rng(seed)
    item_genre = np.arange(n_items) % n_genres
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    rng.shuffle(popularity)
    rows = []
    start = pd.Timestamp("2026-01-01")
    for p in range(n_profiles):
        favourite = rng.integers(n_genres)
        n = rng.integers(per_profile // 3, per_profile * 2)
        in_genre = rng.random(n) < taste_strength
        liked = popularity * (item_genre == favourite)
        picks = np.where(in_genre, rng.choice(n_items, n, p=liked / liked.sum()),
                         rng.choice(n_items, n, p=popularity / popularity.sum()))
        times = start + pd.to_timedelta(np.sort(rng.uniform(0, days, n)), unit="D")
        rows += [(f"p{p}", f"t{i}", t, 1.0 + (rng.random() < 0.5)) for i, t in zip(picks, times)]
    return pd.DataFrame(rows, columns=["profile_id", "item_id", "ts", "weight"])
