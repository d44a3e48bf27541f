"""Publication: what the warehouse and the production recommender computed, written to the online store.

Serving computes nothing of its own: genre affinity is `profile_features.genre_affinity`, popularity is
`title_features.unique_viewers_28d`, trending is `title_features.plays_7d` (ties by `trending_velocity`)
and new releases `title_features.days_since_release`, all at the latest snapshot (docs/serving.md,
"What publication writes"). Value shapes are `streamloop.core.store.values`; every value is validated
before it is written.

Publication is atomic per generation (`streamloop.core.store.generations`): `publish_warehouse` writes
profile/title/lists, `publish_candidates` writes one model version's candidates/similar, `publish_all`
both, each ending with one pointer flip. `publish_candidates` is what the registry calls when a model
(learned or a baseline that won its gate) is promoted or rolled back.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from ml.consent import personalization_decisions
from streamloop.core import clock
from streamloop.core.store import OnlineStore
from streamloop.core.store.generations import flip, new_generation, versioned
from streamloop.core.store.values import validate

LIST_LENGTH = 200
TOP_GENRES = 8          # genres of genre_affinity kept per profile (serving shows at most 4 genre rows)
CHUNK = 5000            # keys per put_many


@dataclass(frozen=True)
class ModelIdentity:
    """Which model produced a list: the registry's version string, learned or baseline, and its name."""
    model_version: str
    model_kind: str = "learned"
    model_name: str = "recommender"

    @classmethod
    def of(cls, ref) -> ModelIdentity:
        """From a registry ModelRef (or anything with `model_version`, optionally `model_kind`/`model_name`)."""
        if isinstance(ref, ModelIdentity):
            return ref
        name = getattr(ref, "model_name", None) or getattr(ref, "name", None) or "recommender"
        return cls(str(ref.model_version), getattr(ref, "model_kind", None) or "learned", str(name))


# -- reading the warehouse ---------------------------------------------------------------------------------
def _columns(con, table: str) -> set[str]:
    return {row[0] for row in con.execute(
        "select column_name from information_schema.columns where table_name = ?", [table]).fetchall()}


def _select(con, table: str, wanted: Iterable[str]) -> str:
    """`select` list of `wanted` columns, null for the ones the table lacks (the marts always have them;
    hand-built test warehouses may not)."""
    have = _columns(con, table)
    return ", ".join(f'"{c}"' if c in have else f'null as "{c}"' for c in wanted)


def _exists(con, table: str) -> bool:
    return bool(_columns(con, table))


def _latest(table: str) -> str:
    return f"(select * from {table} where snapshot_date = (select max(snapshot_date) from {table}))"


def _date(value) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _int(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _list(value) -> list:
    return [] if value is None or (not hasattr(value, "__len__") and pd.isna(value)) else [str(v) for v in value]


def _genre_keys(genres) -> list[str]:
    """Genre labels as the warehouse keys them (dbt macro `features_genre_key`: "Sci-Fi" -> sci_fi), so a
    title's genres match profile_features.genre_affinity's keys. Kept in step by tests/test_publish.py."""
    keys = (re.sub(r"[^a-z0-9]+", "_", str(g).strip().lower()).strip("_") for g in _list(genres))
    return list(dict.fromkeys(k for k in keys if k))


def finished_title_ids(con) -> dict[str, list[str]]:
    """Per profile, the movies it completed and the series whose last episode it completed (CONTRACT §2:
    an episode's plays count toward its series; a series is finished once its finale — highest season, then
    episode, in the catalog — was completed, so someone who skipped an episode still finished it)."""
    if not _exists(con, "plays") or not _exists(con, "titles"):
        return {}
    rows = con.execute(f"""
        with titles as (select {_select(con, 'titles', ['title_id', 'kind', 'series_id', 'season', 'episode'])}
                        from titles),
        completed as (
            select distinct plays.profile_id, plays.title_id, titles.kind
            from plays inner join titles on plays.title_id = titles.title_id
            where plays.is_completed and plays.profile_id is not null
        ),
        finales as (
            select series_id, title_id as finale_id from titles
            where kind = 'episode' and series_id is not null
            qualify row_number() over (partition by series_id
                                       order by season desc nulls last, episode desc nulls last, title_id desc) = 1
        )
        select profile_id, title_id from completed where kind = 'movie'
        union
        select completed.profile_id, finales.series_id
        from completed inner join finales on completed.title_id = finales.finale_id
        order by 1, 2
    """).fetchall()
    out: dict[str, list[str]] = {}
    for profile_id, title_id in rows:
        out.setdefault(str(profile_id), []).append(str(title_id))
    return out


def _genre_affinity(con) -> dict[str, dict[str, float]]:
    if "genre_affinity" not in _columns(con, "profile_features"):
        return {}
    out = {}
    for profile_id, text in con.execute(
            f"select profile_id, genre_affinity from {_latest('profile_features')} order by profile_id").fetchall():
        shares = json.loads(text) if text else {}
        top = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_GENRES]
        out[str(profile_id)] = {genre: float(share) for genre, share in top}
    return out


def profile_values(con) -> dict[str, dict]:
    affinity, finished = _genre_affinity(con), finished_title_ids(con)
    scores = {}
    if _exists(con, "profile_scores"):
        scores = {str(p): (r, s) for p, r, s in con.execute(
            "select profile_id, churn_risk, segment from profile_scores").fetchall()}
    consent = personalization_decisions(con)  # null: no decision, serving applies STREAMLOOP_PERSONALIZATION_DEFAULT
    columns = ["profile_id", "account_id", "is_kids", "maturity_rating", "country", "timezone"]
    out = {}
    for pid, account, kids, rating, country, tz in con.execute(
            f"select {_select(con, 'profiles', columns)} from profiles order by profile_id").fetchall():
        pid = str(pid)
        risk, segment = scores.get(pid, (None, None))
        out[pid] = {"account_id": account, "is_kids": bool(kids), "maturity_rating": rating, "country": country,
                    "timezone": tz, "genre_affinity": affinity.get(pid, {}),
                    "churn_risk": None if risk is None else round(float(risk), 6),
                    "segment": None if segment is None else str(segment),
                    "finished_title_ids": finished.get(pid, []),
                    "personalization": consent.get(pid)}
    return out


def _title_features(con) -> pd.DataFrame:
    wanted = ["title_id", "snapshot_date", "unique_viewers_28d", "plays_7d", "trending_velocity",
              "days_since_release"]
    if not _exists(con, "title_features"):
        return pd.DataFrame(columns=wanted)
    return con.execute(f"select {_select(con, 'title_features', wanted)} from {_latest('title_features')}").df()


def title_values(con, features: pd.DataFrame) -> dict[str, dict]:
    columns = ["title_id", "name", "kind", "genres", "maturity_rating", "available_countries", "release_date",
               "series_id", "season", "episode", "runtime_s"]
    titles = con.execute(f"select {_select(con, 'titles', columns)} from titles order by title_id").df()
    titles["genres"] = titles["genres"].map(_genre_keys)
    viewers = dict(zip(features["title_id"].astype(str), features["unique_viewers_28d"]))
    episodes = titles[(titles["kind"] == "episode") & titles["series_id"].notna()]
    finales = (episodes.sort_values(["series_id", "season", "episode", "title_id"], na_position="first")
               .groupby("series_id")["title_id"].last())
    out = {}
    for row in titles.itertuples(index=False):
        tid = str(row.title_id)
        value = {"name": row.name, "kind": row.kind, "genres": row.genres,
                 "maturity_rating": row.maturity_rating, "available_countries": _list(row.available_countries),
                 "release_date": _date(row.release_date), "series_id": row.series_id if row.series_id else None,
                 "season": _int(row.season), "episode": _int(row.episode), "runtime_s": _int(row.runtime_s),
                 "popularity": _int(viewers.get(tid)) or 0}
        if row.kind == "series":
            value["last_episode_id"] = finales.get(tid)
        out[tid] = value
    return out


def list_values(features: pd.DataFrame) -> dict[str, dict]:
    """trending, popular and new_releases from title_features at its latest snapshot."""
    generated_at = clock.now().isoformat(timespec="seconds")
    snapshot = _date(features["snapshot_date"].max()) if len(features) else None
    f = features.assign(title_id=features["title_id"].astype(str))

    def ranked(frame, score) -> list:
        return [[t, round(float(s), 6)] for t, s in zip(frame["title_id"], score(frame))][:LIST_LENGTH]

    trending = f[f["plays_7d"].fillna(0) > 0].sort_values(
        ["plays_7d", "trending_velocity", "title_id"], ascending=[False, False, True])
    popular = f[f["unique_viewers_28d"].fillna(0) > 0].sort_values(
        ["unique_viewers_28d", "title_id"], ascending=[False, True])
    new = f[f["days_since_release"].notna()].sort_values(["days_since_release", "title_id"])
    lists = {"trending": ranked(trending, lambda x: x["plays_7d"]),
             "popular": ranked(popular, lambda x: x["unique_viewers_28d"]),
             "new_releases": ranked(new, lambda x: 1.0 / (1.0 + x["days_since_release"].clip(lower=0)))}
    return {name: {"generated_at": generated_at, "snapshot_date": snapshot, "items": items}
            for name, items in lists.items()}


def warehouse_values(con) -> dict[str, dict[str, dict]]:
    """{namespace: {key: value}} for profile, title and lists, read from a warehouse connection."""
    features = _title_features(con)
    return {"profile": profile_values(con), "title": title_values(con, features), "lists": list_values(features)}


def model_values(model: ModelIdentity, candidates: pd.DataFrame | Mapping | None,
                 similar: pd.DataFrame | Mapping | None = None) -> dict[str, dict[str, dict]]:
    """Candidates and similar titles as {namespace: {key: value}}, labelled with the model that produced them.
    Each is a frame (profile_id, content_id, score, rank) / (title_id, similar_title_id, score, rank), as the
    recommender's batch outputs, or a mapping {key: [(title_id, score), ...]} already ranked."""
    label = {"model_version": model.model_version, "model_kind": model.model_kind, "model_name": model.model_name}
    out: dict[str, dict[str, dict]] = {}
    for namespace, lists, key, item in (("candidates", candidates, "profile_id", "content_id"),
                                        ("similar", similar, "title_id", "similar_title_id")):
        if lists is not None:
            ranked = _ranked(lists, key, item) if isinstance(lists, pd.DataFrame) else {
                str(k): [[str(t), round(float(s), 6)] for t, s in v] for k, v in lists.items()}
            out[namespace] = {k: {**label, "items": v} for k, v in ranked.items()}
    return out


def _ranked(frame: pd.DataFrame, key: str, item: str) -> dict[str, list]:
    out: dict[str, list] = {}
    ordered = frame.sort_values([key, "rank"], kind="stable")
    for k, i, s in zip(ordered[key], ordered[item], ordered["score"]):
        out.setdefault(str(k), []).append([str(i), round(float(s), 6)])
    return out


# -- writing ----------------------------------------------------------------------------------------------
def _write(store: OnlineStore, generation: str, values: Mapping[str, Mapping[str, dict]]) -> dict[str, int]:
    written = {}
    for namespace, items in values.items():
        keys = list(items)
        for key in keys:
            validate(namespace, key, items[key])
        for start in range(0, len(keys), CHUNK):
            store.put_many(namespace, {versioned(generation, k): items[k] for k in keys[start:start + CHUNK]})
        written[namespace] = len(keys)
    return written


def _model_pointer(model: ModelIdentity | None, generation: str | None) -> dict:
    return {"model": generation, "model_version": model and model.model_version,
            "model_kind": model and model.model_kind, "model_name": model and model.model_name}


def publish_warehouse(store: OnlineStore, values: Mapping[str, Mapping[str, dict]]) -> dict[str, int]:
    generation = new_generation()
    written = _write(store, generation, values)
    flip(store, warehouse=generation)
    return written


def publish_candidates(store: OnlineStore, model_ref, candidates: pd.DataFrame | Mapping,
                       similar: pd.DataFrame | Mapping | None = None) -> dict[str, int]:
    """Publishes one model version's lists (learned or baseline; `model_ref` a registry ModelRef or a
    ModelIdentity) and points readers at them atomically; profiles, titles and lists stay as published."""
    model = ModelIdentity.of(model_ref)
    generation = new_generation()
    written = _write(store, generation, model_values(model, candidates, similar))
    flip(store, **_model_pointer(model, generation))
    return written


def publish_all(store: OnlineStore, con, model_ref=None, candidates: pd.DataFrame | None = None,
                similar: pd.DataFrame | None = None) -> dict[str, int]:
    """Warehouse values and (when given) one model's lists, behind one flip. Without a model, readers stop
    seeing the previous model's lists (they would be for another warehouse's profiles)."""
    generation = new_generation()
    model = ModelIdentity.of(model_ref) if model_ref is not None else None
    values = dict(warehouse_values(con))
    if model is not None:
        values |= model_values(model, candidates, similar)
    written = _write(store, generation, values)
    flip(store, warehouse=generation, **_model_pointer(model, generation if model else None))
    return written
