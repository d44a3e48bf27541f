"""The interaction frame every recommender step takes, and the sparse matrices built from it.

One row per (profile, content, moment): `profile_id, item_id, ts, weight`. Items are content ids
(an episode's play counts toward its series). weight > 0 is a positive signal (a play of at least
`min_watch_seconds`, a completed play weighs 2, a thumbs-up, an add to list); weight 0 marks a
title as seen without liking it (a thumbs-down, a bounce): excluded from recommendations, never a
positive label.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml import consent
from ml.errors import NoTrainingData
from ml.features import read_table, require_columns, table_exists

COLUMNS = ["profile_id", "item_id", "ts", "weight"]


def load_interactions(con, min_watch_seconds: int = 60, default: bool | None = None) -> pd.DataFrame:
    """Plays, ratings and list adds from the warehouse as one interaction frame, without the profiles
    whose personalization is not allowed (ml.consent; `default` overrides STREAMLOOP_PERSONALIZATION_DEFAULT)."""
    allowed = consent.profile_predicate(con, "profile_id", default)
    plays = read_table(con, "plays", where=allowed)
    if plays.empty:
        raise NoTrainingData("the warehouse has no plays of profiles that allow personalization: "
                             "nothing to learn tastes from" if allowed else
                             "the warehouse has no plays: nothing to learn tastes from")
    require_columns(plays, ["profile_id", "content_id", "started_at", "watch_seconds", "is_completed"], "plays")
    plays = plays[plays["profile_id"].notna()]
    watched = plays["watch_seconds"].fillna(0) >= min_watch_seconds
    frames = [pd.DataFrame({
        "profile_id": plays["profile_id"], "item_id": plays["content_id"], "ts": plays["started_at"],
        "weight": np.where(watched, 1.0 + plays["is_completed"].fillna(False).astype(float), 0.0),
    })]
    if table_exists(con, "events") and _has_columns(con, "events", ["rating_value", "event_type", "content_id"]):
        signals = con.execute(f"""
            select profile_id, content_id as item_id, occurred_at as ts,
                   case when event_type = 'rating' and rating_value < 0 then 0.0 else 1.0 end as weight
            from events
            where event_type in ('rating', 'add_to_list') and profile_id is not null and content_id is not null
                  {f"and {allowed}" if allowed else ""}
        """).df()
        frames.append(signals)
    frame = pd.concat(frames, ignore_index=True)
    return normalize(frame)


def _has_columns(con, table: str, columns: list[str]) -> bool:
    found = {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_name = ?", [table]).fetchall()}
    return set(columns) <= found


def normalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed, null-free interaction frame with timestamps as naive UTC datetimes, in one total order.

    Rows are sorted by every column, not by time alone: the warehouse returns rows that share a
    timestamp in no fixed order, and per-profile cuts, matrix positions (hence ALS's random start)
    and XGBoost's row order all follow the frame's order, so a rerun must see the same one.
    """
    require_columns(frame, COLUMNS, "interactions")
    frame = frame[COLUMNS].dropna(subset=["profile_id", "item_id", "ts"]).copy()
    ts = pd.to_datetime(frame["ts"], utc=True)
    frame["ts"] = ts.dt.tz_localize(None)
    frame["profile_id"] = frame["profile_id"].astype(str)
    frame["item_id"] = frame["item_id"].astype(str)
    frame["weight"] = frame["weight"].astype("float32")
    return frame.sort_values(["ts", "profile_id", "item_id", "weight"], kind="stable").reset_index(drop=True)


@dataclass
class Index:
    """Positions of profiles and items in matrices."""

    users: pd.Index
    items: pd.Index

    def user_pos(self, ids) -> np.ndarray:
        return self.users.get_indexer(ids)

    def item_pos(self, ids) -> np.ndarray:
        return self.items.get_indexer(ids)


def positive_matrix(frame: pd.DataFrame, index: Index, binary: bool = True) -> sp.csr_matrix:
    """users × items matrix of positive interactions (binary, or summed weights)."""
    positive = frame[frame["weight"] > 0]
    rows, cols = index.user_pos(positive["profile_id"]), index.item_pos(positive["item_id"])
    keep = (rows >= 0) & (cols >= 0)
    values = np.ones(keep.sum(), dtype=np.float32) if binary else positive["weight"].to_numpy()[keep]
    matrix = sp.csr_matrix((values, (rows[keep], cols[keep])), shape=(len(index.users), len(index.items)),
                           dtype=np.float32)
    matrix.sum_duplicates()
    if binary:
        matrix.data[:] = 1.0
    return matrix


def seen_matrix(frame: pd.DataFrame, index: Index) -> sp.csr_matrix:
    """users × items, 1 where the profile interacted at all (positive or not): excluded from its ranking."""
    rows, cols = index.user_pos(frame["profile_id"]), index.item_pos(frame["item_id"])
    keep = (rows >= 0) & (cols >= 0)
    matrix = sp.csr_matrix((np.ones(keep.sum(), dtype=np.float32), (rows[keep], cols[keep])),
                           shape=(len(index.users), len(index.items)))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def relevant_items(later: pd.DataFrame, seen: pd.DataFrame) -> dict[str, set[str]]:
    """Per profile, items positively interacted with in `later` and never seen in `seen` (the test labels)."""
    seen_pairs = set(zip(seen["profile_id"], seen["item_id"]))
    positive = later[later["weight"] > 0]
    out: dict[str, set[str]] = {}
    for profile_id, item_id in zip(positive["profile_id"], positive["item_id"]):
        if (profile_id, item_id) not in seen_pairs:
            out.setdefault(profile_id, set()).add(item_id)
    return out
