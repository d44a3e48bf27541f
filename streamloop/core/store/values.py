"""The shape of every online-store value, per namespace: the one agreement between writers and readers.

Writers: publication (`ml/publish.py`: profile, title, candidates, similar, lists, publication) and the
collector's real-time updates (`functions/realtime.py`: state; `functions/collector.py`: bandit, seen).
Readers: serving (`functions/home_*.py`, `functions/catalog.py`).

Why TypedDicts (and not model classes): a home page reads a profile, a state, up to 300 candidates and
hundreds of titles; values come out of orjson as dicts and are read as dicts, so typing them costs nothing
at read time (a pydantic `model_validate` per value would add tens of µs to a ~300 µs page). Writers
validate what they write with `validate()` (pydantic TypeAdapters built from these same TypedDicts), so a
field a reader needs but no writer writes fails publication, not a page. New namespaces (messaging) add
their TypedDict here and an entry in `SHAPES`.
"""
from __future__ import annotations

from functools import cache
from typing import Literal, NotRequired

import orjson
from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic needs this TypedDict on Python < 3.12

from streamloop.core.errors import StreamloopError

Ranked = list[tuple[str, float]]  # [[title_id, score], ...] best first (JSON has no tuples: lists of two)
ModelKind = Literal["learned", "baseline", "popularity"]


class ProfileValue(TypedDict):
    """`profile/<profile_id>`: the batch view of a profile, from the warehouse's latest snapshot."""
    account_id: str | None
    is_kids: bool
    maturity_rating: str | None
    country: str | None
    timezone: str | None
    genre_affinity: dict[str, float]   # profile_features.genre_affinity (90-day watch-time shares), top genres
    churn_risk: float | None
    segment: str | None
    # movies and series the warehouse knows the profile finished (docs/serving.md, "Seen means seen"):
    # a movie with a completed play; a series whose last episode (highest season, then episode) was completed
    finished_title_ids: list[str]
    personalization: NotRequired[bool | None]  # consent slot (privacy issue); None/absent = the default


class TitleValue(TypedDict):
    """`title/<title_id>`: catalog fields readers need, written by publication from the `titles` mart."""
    name: str | None
    kind: str | None                   # movie, series, episode
    genres: list[str]
    maturity_rating: str | None
    available_countries: list[str]
    release_date: str | None
    series_id: str | None
    season: int | None
    episode: int | None
    runtime_s: int | None
    popularity: int                    # title_features.unique_viewers_28d at the latest snapshot
    last_episode_id: NotRequired[str | None]  # series only: finishing it finishes the series


class CandidatesValue(TypedDict):
    """`candidates/<profile_id>`: the serving model's ranked list, before the request-time filters."""
    model_version: str                 # the registry's version string, e.g. "recommender-v3"
    model_kind: ModelKind              # learned model, or a baseline that won its gate
    model_name: str                    # e.g. "recommender", "ease"
    items: Ranked


class SimilarValue(TypedDict):
    """`similar/<title_id>`: the serving model's most similar titles."""
    model_version: str
    model_kind: NotRequired[ModelKind]
    model_name: NotRequired[str]
    items: Ranked


class ListValue(TypedDict):
    """`lists/<trending|popular|new_releases>`: warehouse lists (title_features at the latest snapshot)."""
    generated_at: str
    snapshot_date: NotRequired[str | None]
    items: Ranked


class InProgress(TypedDict):
    position_s: float
    duration_s: float | None
    series_id: str | None
    at: float                          # epoch seconds of the newest event's occurred_at


class Completed(TypedDict):
    title_id: str
    series_id: str | None
    kind: str | None
    at: float


class StateValue(TypedDict):
    """`state/<profile_id>`: real-time state, updated by the collector as events arrive (realtime.py)."""
    in_progress: dict[str, InProgress]
    completed: list[Completed]         # newest first, bounded
    recent_genres: dict[str, float]
    updated_at: NotRequired[float]
    country: NotRequired[str | None]
    device_type: NotRequired[str | None]    # context.device_type of the profile's latest device event
    is_kids: NotRequired[bool]
    maturity_rating: NotRequired[str | None]
    profile_at: NotRequired[float]          # when the kids/maturity settings above occurred
    personalization: NotRequired[bool]      # the latest consent_updated for purpose personalization …
    personalization_at: NotRequired[float]  # … and when it occurred (a late, older decision never wins)


class ArmCounts(TypedDict):
    impressions: int
    clicks: int


class BanditValue(TypedDict):
    """`bandit/<bandit_id>`: impressions and clicks per arm, from the collector."""
    arms: dict[str, ArmCounts]
    updated_at: float


class Generations(TypedDict):
    """`publication/current`: which generation of each family readers use (generations.py)."""
    warehouse: str                     # prefix of profile, title and lists keys
    model: str | None                  # prefix of candidates and similar keys; None: no model published
    model_version: str | None
    model_kind: ModelKind | None
    model_name: str | None
    published_at: str
    retired: NotRequired[list[tuple[str, str]]]  # [family, generation] to delete at the next flip


SHAPES: dict[str, type] = {
    "profile": ProfileValue, "title": TitleValue, "candidates": CandidatesValue, "similar": SimilarValue,
    "lists": ListValue, "state": StateValue, "bandit": BanditValue, "publication": Generations,
    "seen": int,             # the collector's idempotency marker: epoch seconds the event id was claimed
    "video_session": str,    # a Segment playback session's title_id (functions/segment.py)
}


def served_model_version(value: CandidatesValue | SimilarValue | None) -> str | None:
    """The `model_version` clients see for a list: the registry's version, marked when a baseline (that won
    its gate) produced it — "recommender-v4:baseline:ease" — so pages and exposures say which kind served."""
    if not value:
        return None
    version = value.get("model_version")
    if value.get("model_kind") == "baseline":
        return f"{version}:baseline:{value.get('model_name') or 'unknown'}"
    return version


class StoreValueError(StreamloopError):
    """A value does not have its namespace's shape."""


@cache
def _adapter(namespace: str) -> TypeAdapter:
    return TypeAdapter(SHAPES[namespace])


def validate(namespace: str, key: str, value) -> None:
    """Raises StoreValueError naming the namespace, key and field when `value` does not fit its shape."""
    if namespace not in SHAPES:
        raise StoreValueError(f"online store namespace {namespace!r} has no declared shape in "
                              "streamloop/core/store/values.py")
    try:
        # validated as the JSON readers get back (arrays, not tuples), which also proves it serializes
        _adapter(namespace).validate_json(orjson.dumps(value), strict=True)  # no silent coercion
    except orjson.JSONEncodeError as exc:
        raise StoreValueError(f"online store value {namespace}/{key} is not JSON: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise StoreValueError(f"online store value {namespace}/{key}: {where}: {first['msg']}") from None
