"""`streamloop import movielens PATH`: GroupLens MovieLens ratings as streaming events (docs/importers.md).

Two layouts are read: ml-latest / ml-latest-small / ml-25m (`ratings.csv`, `movies.csv`) and ml-100k
(`u.data`, `u.item`). Ids follow CONTRACT §5: user u → profile `ml_u<u>`, account `ml_a<u>`,
device `ml_d<u>`; movie m → title `ml_m<m>`. Each rating becomes a completed play and, when it is
clearly positive or negative, a `rating` event; each user gets one `login` and one `profile_updated`.
MovieLens has no subscriptions, so churn and LTV cannot be trained on it.

Ratings are streamed in chunks (memory is bounded by the chunk plus one timestamp per user), and the
per-chunk work is vectorized with numpy; only the final event dicts are built per row.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from streamloop.errors import StreamloopError
from streamloop.importers.common import (
    ADULT_PROFILE,
    UNKNOWN_MATURITY,
    ImportRun,
    ImportSummary,
    fingerprint,
    iso_from_epoch_us,
    make_event,
)
from streamloop.lake import Lake
from streamloop.progress import step

RUNTIME_S = 6000          # MovieLens has no runtimes; 100 minutes is a typical feature film
LIKE_AT = 4.0             # rating >= 4 → rating event +1
DISLIKE_AT = 2.0          # rating <= 2 → rating event -1; ratings in between say nothing clear: no event
RATINGS_PER_BATCH = 50_000
CONTEXT = {"country": "US", "device_type": "web", "app_version": "movielens", "os": "web", "timezone": "UTC"}
# u.item's 19 genre flags, in order (ml-100k's u.genre); spelled as in ml-latest, "unknown" means none
ML100K_GENRES = ("unknown", "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary",
                 "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
                 "War", "Western")
NO_GENRES = {"(no genres listed)", "unknown"}
# the microseconds a movie id adds to its rating's second (see rating_events)
_OFFSET_SLOTS = 333_333
_TITLE_YEAR = r"^\s*(?P<name>.*?)\s*\((?P<year>\d{4})(?:[-–]\d{0,4})?\)\s*$"


@dataclass(frozen=True)
class Layout:
    name: str            # "ml-latest" or "ml-100k"
    ratings: Path
    movies: Path
    tags: Path | None


def detect_layout(root: Path) -> Layout:
    if (root / "ratings.csv").is_file() and (root / "movies.csv").is_file():
        tags = root / "tags.csv"
        return Layout("ml-latest", root / "ratings.csv", root / "movies.csv", tags if tags.is_file() else None)
    if (root / "u.data").is_file() and (root / "u.item").is_file():
        return Layout("ml-100k", root / "u.data", root / "u.item", None)
    raise StreamloopError(f"{root}: not a MovieLens folder (expected ratings.csv + movies.csv, or u.data + u.item)")


# -- catalog ---------------------------------------------------------------------------------------

def read_movies(layout: Layout) -> pd.DataFrame:
    """One row per movie: movie_id, name, genres (list), release_date (YYYY-MM-DD or None)."""
    if layout.name == "ml-latest":
        movies = pd.read_csv(layout.movies, dtype={"movieId": "int64", "title": str, "genres": str},
                             keep_default_na=False)
        genres = [[g for g in text.split("|") if g and g not in NO_GENRES] for text in movies["genres"]]
        released = pd.Series([None] * len(movies), dtype=object)
        movies = movies.rename(columns={"movieId": "movie_id"})
    else:
        columns = ["movie_id", "title", "release", "video_release", "imdb_url", *ML100K_GENRES]
        movies = pd.read_csv(layout.movies, sep="|", header=None, names=columns, encoding="latin-1",
                             keep_default_na=False, dtype={"title": str, "release": str})
        flags = movies[list(ML100K_GENRES)].to_numpy(dtype=bool)
        genres = [[g for g, on in zip(ML100K_GENRES, row) if on and g not in NO_GENRES] for row in flags]
        released = pd.to_datetime(movies["release"], format="%d-%b-%Y", errors="coerce").dt.strftime("%Y-%m-%d")
    parsed = movies["title"].str.extract(_TITLE_YEAR)
    name = parsed["name"].where(parsed["name"].fillna("").str.len() > 0, movies["title"].str.strip())
    from_title = (parsed["year"] + "-01-01").where(parsed["year"].notna(), None)
    release_date = released.where(released.notna(), from_title)
    return pd.DataFrame({
        "movie_id": movies["movie_id"].astype("int64"),
        "name": name.where(name.str.len() > 0, "untitled"),
        "genres": genres,
        "release_date": release_date.astype(object).where(release_date.notna(), None),
    })


def catalog_records(movies: pd.DataFrame) -> list[dict]:
    return [
        {"title_id": f"ml_m{movie_id}", "name": name, "kind": "movie", "genres": genres, "moods": [], "cast": [],
         "maturity_rating": UNKNOWN_MATURITY, "runtime_s": RUNTIME_S, "release_date": released,
         "available_countries": ["*"]}
        for movie_id, name, genres, released in zip(movies["movie_id"].tolist(), movies["name"].tolist(),
                                                    movies["genres"].tolist(), movies["release_date"].tolist())
    ]


# -- events ----------------------------------------------------------------------------------------

def rating_chunks(layout: Layout) -> Iterator[pd.DataFrame]:
    """Ratings as chunks with columns user_id, movie_id, rating, timestamp (epoch seconds)."""
    columns = ["user_id", "movie_id", "rating", "timestamp"]
    dtypes = {"user_id": "int64", "movie_id": "int64", "rating": "float64", "timestamp": "int64"}
    if layout.name == "ml-latest":
        reader = pd.read_csv(layout.ratings, header=0, names=columns, dtype=dtypes, chunksize=RATINGS_PER_BATCH)
    else:
        reader = pd.read_csv(layout.ratings, sep="\t", header=None, names=columns, dtype=dtypes,
                             chunksize=RATINGS_PER_BATCH)
    try:
        yield from reader
    except ValueError as exc:
        raise StreamloopError(f"{layout.ratings}: unexpected content ({exc})") from None


def rating_value(ratings: np.ndarray) -> np.ndarray:
    """+1 for a clear like, -1 for a clear dislike, 0 (no rating event) in between."""
    return np.where(ratings >= LIKE_AT, 1, np.where(ratings <= DISLIKE_AT, -1, 0))


def rating_events(chunk: pd.DataFrame) -> list[dict]:
    """play_start, play_complete and (if clear) rating for each rating row.

    All three happen at the rating's second. A movie-id-derived microsecond offset (3 µs per id) orders
    them, and keeps ratings a user gave within the same second from interleaving as plays.
    """
    users = chunk["user_id"].to_numpy()
    movies = chunk["movie_id"].to_numpy()
    base_us = chunk["timestamp"].to_numpy() * 1_000_000 + (movies % _OFFSET_SLOTS) * 3
    started = iso_from_epoch_us(base_us)
    completed = iso_from_epoch_us(base_us + 1)
    rated = iso_from_epoch_us(base_us + 2)
    values = rating_value(chunk["rating"].to_numpy()).tolist()
    events: list[dict] = []
    for u, m, start_at, complete_at, rated_at, value in zip(users.tolist(), movies.tolist(), started, completed,
                                                            rated, values):
        ids = (f"ml_d{u}", f"ml_u{u}", f"ml_a{u}")
        title = f"ml_m{m}"
        events.append(make_event(f"ml-{u}-{m}-play_start", "play_start", start_at, *ids, CONTEXT,
                                 {"title_id": title, "position_s": 0, "duration_s": RUNTIME_S}))
        events.append(make_event(f"ml-{u}-{m}-play_complete", "play_complete", complete_at, *ids, CONTEXT,
                                 {"title_id": title, "position_s": RUNTIME_S}))
        if value:
            events.append(make_event(f"ml-{u}-{m}-rating", "rating", rated_at, *ids, CONTEXT,
                                     {"title_id": title, "value": value}))
    return events


def identity_events(first_seen: dict[int, int]) -> list[dict]:
    """One login (2 s) and one profile_updated (1 s) before each user's first rating."""
    users = sorted(first_seen)
    first_us = np.array([first_seen[u] for u in users], dtype="int64") * 1_000_000
    logins = iso_from_epoch_us(first_us - 2_000_000)
    updates = iso_from_epoch_us(first_us - 1_000_000)
    events = []
    for u, login_at, updated_at in zip(users, logins, updates):
        ids = (f"ml_d{u}", f"ml_u{u}", f"ml_a{u}")
        events.append(make_event(f"ml-{u}-login", "login", login_at, *ids, CONTEXT, {}))
        events.append(make_event(f"ml-{u}-profile_updated", "profile_updated", updated_at, *ids, CONTEXT,
                                 {**ADULT_PROFILE, "timezone": "UTC"}))
    return events


# -- the command -----------------------------------------------------------------------------------

def import_movielens(path: str | Path, lake: Lake | None = None) -> ImportSummary:
    """Maps a MovieLens folder to contract events and catalog records and lands them in the lake."""
    root = Path(path)
    if not root.is_dir():
        raise StreamloopError(f"{path}: not a folder (give the unzipped MovieLens folder)")
    layout = detect_layout(root)
    run = ImportRun("movielens", fingerprint([layout.ratings, layout.movies]), lake)

    with step(f"movielens catalog ({layout.name})"):
        movies = read_movies(layout)
        run.land_catalog(catalog_records(movies))

    first_seen: dict[int, int] = {}
    ratings = unclear = 0
    with step(f"movielens ratings ({layout.name})"):
        for chunk_no, chunk in enumerate(rating_chunks(layout)):
            ratings += len(chunk)
            unclear += int((rating_value(chunk["rating"].to_numpy()) == 0).sum())
            for user, first in chunk.groupby("user_id")["timestamp"].min().items():
                first_seen[user] = min(first, first_seen.get(user, first))
            run.land_events(rating_events(chunk), batch_key=f"ratings-{chunk_no}")

    with step("movielens logins and profiles"):
        identity = identity_events(first_seen)
        for start in range(0, len(identity), RATINGS_PER_BATCH):
            run.land_events(identity[start:start + RATINGS_PER_BATCH], batch_key=f"identity-{start}")

    notes = [
        f"ratings between {DISLIKE_AT:g} and {LIKE_AT:g} (exclusive) give no rating event: {unclear:,}",
        f"runtimes are unknown: every title gets {RUNTIME_S} s and every rating a completed play",
        "no subscriptions or payments: churn and LTV models cannot be trained on this data",
    ]
    if layout.tags is not None:
        notes.append("tags.csv is not imported: the contract has no event for free-text tags")
    facts = {"ratings": ratings, "users": len(first_seen), "movies": len(movies)}
    return run.summary(root, facts, notes)
