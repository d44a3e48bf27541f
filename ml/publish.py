"""Publishing to the online store (docs/architecture.md, "Online store").

`build_online_payloads` turns batch outputs into {namespace: {key: JSON value}}; `publish` writes
them with `store.put_many(namespace, items)`. Values are plain JSON types only.
"""
from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

LIST_LENGTH = 200


def _plain(value):
    """numpy / pandas scalars and arrays → JSON-able Python values."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


def _ranked(frame: pd.DataFrame, key: str, item: str, limit: int | None = None) -> dict[str, list]:
    out: dict[str, list] = {}
    ordered = frame.sort_values([key, "rank"], kind="stable")
    for k, i, s in zip(ordered[key], ordered[item], ordered["score"]):
        bucket = out.setdefault(str(k), [])
        if limit is None or len(bucket) < limit:
            bucket.append([str(i), round(float(s), 6)])
    return out


def genre_affinity(interactions: pd.DataFrame, titles: pd.DataFrame, top: int = 8) -> dict[str, dict[str, float]]:
    """Per profile, its positive interactions' weight share by genre (top genres only)."""
    positive = interactions[interactions["weight"] > 0][["profile_id", "item_id", "weight"]]
    genres = titles[["title_id", "genres"]].explode("genres").dropna().rename(columns={"title_id": "item_id"})
    joined = positive.merge(genres, on="item_id", how="inner")
    if joined.empty:
        return {}
    totals = joined.groupby(["profile_id", "genres"])["weight"].sum().reset_index()
    totals["share"] = totals["weight"] / totals.groupby("profile_id")["weight"].transform("sum")
    totals = totals.sort_values(["profile_id", "share"], ascending=[True, False])
    out: dict[str, dict[str, float]] = {}
    for profile_id, genre, share in zip(totals["profile_id"], totals["genres"], totals["share"]):
        entry = out.setdefault(profile_id, {})
        if len(entry) < top:
            entry[genre] = round(float(share), 4)
    return out


def popularity_lists(interactions: pd.DataFrame, titles: pd.DataFrame, half_life_days: float = 7.0,
                     now: datetime | None = None) -> dict[str, dict]:
    """`trending` (decayed plays), `popular` (distinct profiles, last 90 days), `new_releases` (by release date)."""
    generated_at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    positive = interactions[interactions["weight"] > 0]
    end = positive["ts"].max() if len(positive) else pd.Timestamp.now()
    age = (end - positive["ts"]).dt.total_seconds() / 86400.0
    trending = (np.power(0.5, age / half_life_days)).groupby(positive["item_id"]).sum().nlargest(LIST_LENGTH)
    recent = positive[age <= 90]
    popular = recent.groupby("item_id")["profile_id"].nunique().nlargest(LIST_LENGTH)
    recommendable = titles[titles["kind"].isin(["movie", "series"])] if "kind" in titles else titles
    released = pd.to_datetime(recommendable.get("release_date"), errors="coerce")
    newest = recommendable.assign(released=released).dropna(subset=["released"]).nlargest(LIST_LENGTH, "released")
    new_scores = 1.0 / (1.0 + (end.normalize() - newest["released"]).dt.days.clip(lower=0))
    return {
        "trending": {"generated_at": generated_at, "items": [[k, round(float(v), 6)] for k, v in trending.items()]},
        "popular": {"generated_at": generated_at, "items": [[k, float(v)] for k, v in popular.items()]},
        "new_releases": {"generated_at": generated_at,
                         "items": [[t, round(float(s), 6)] for t, s in zip(newest["title_id"], new_scores)]},
    }


def build_online_payloads(*, profiles: pd.DataFrame, titles: pd.DataFrame, interactions: pd.DataFrame,
                          candidates: pd.DataFrame | None = None, similar: pd.DataFrame | None = None,
                          recommender_version: str | None = None, profile_scores: pd.DataFrame | None = None,
                          now: datetime | None = None) -> dict[str, dict[str, object]]:
    """{namespace: {key: value}} for the profile, candidates, title, similar and lists namespaces."""
    affinity = genre_affinity(interactions, titles)
    scores = profile_scores.set_index("profile_id") if profile_scores is not None and len(profile_scores) else None
    profile_payload = {}
    for row in profiles.itertuples(index=False):
        pid = str(row.profile_id)
        has_score = scores is not None and pid in scores.index
        profile_payload[pid] = {
            "account_id": _plain(getattr(row, "account_id", None)), "is_kids": bool(getattr(row, "is_kids", False)),
            "maturity_rating": _plain(getattr(row, "maturity_rating", None)),
            "country": _plain(getattr(row, "country", None)), "timezone": _plain(getattr(row, "timezone", None)),
            "genre_affinity": affinity.get(pid, {}),
            "churn_risk": round(float(scores.at[pid, "churn_risk"]), 6) if has_score else None,
            "segment": str(scores.at[pid, "segment"]) if has_score else None,
        }
    positive = interactions[interactions["weight"] > 0]
    popularity = positive.groupby("item_id")["profile_id"].nunique()
    title_payload = {}
    for row in titles.itertuples(index=False):
        tid = str(row.title_id)
        title_payload[tid] = {
            "name": _plain(getattr(row, "name", None)), "kind": _plain(getattr(row, "kind", None)),
            "genres": _plain(getattr(row, "genres", None)) or [],
            "maturity_rating": _plain(getattr(row, "maturity_rating", None)),
            "available_countries": _plain(getattr(row, "available_countries", None)) or [],
            "release_date": _plain(getattr(row, "release_date", None)),
            "series_id": _plain(getattr(row, "series_id", None)),
            "popularity": int(popularity.get(tid, 0)),
        }
    payloads: dict[str, dict[str, object]] = {"profile": profile_payload, "title": title_payload,
                                             "lists": popularity_lists(interactions, titles, now=now)}
    if candidates is not None:
        payloads["candidates"] = {pid: {"model_version": recommender_version, "items": items}
                                  for pid, items in _ranked(candidates, "profile_id", "content_id").items()}
    if similar is not None:
        payloads["similar"] = {tid: {"model_version": recommender_version, "items": items}
                               for tid, items in _ranked(similar, "title_id", "similar_title_id").items()}
    return payloads


def publish(store, payloads: dict[str, dict[str, object]], chunk: int = 5000) -> dict[str, int]:
    """Write every namespace with store.put_many, in chunks; returns keys written per namespace."""
    written = {}
    for namespace, items in payloads.items():
        keys = list(items)
        for start in range(0, len(keys), chunk):
            store.put_many(namespace, {k: items[k] for k in keys[start:start + chunk]})
        written[namespace] = len(keys)
    return written
