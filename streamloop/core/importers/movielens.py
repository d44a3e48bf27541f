"""`streamloop import movielens PATH`: GroupLens MovieLens ratings as streaming events (docs/importers.md).

Two layouts are read: ml-latest / ml-latest-small / ml-25m (`ratings.csv`, `movies.csv`) and ml-100k
(`u.data`, `u.item`). Ids follow CONTRACT §5: user u → profile `ml_u<u>`, account `ml_a<u>`,
device `ml_d<u>`; movie m → title `ml_m<m>`. Each rating becomes a play watched to the end just before
it and, when the rating is clearly positive or negative, a `rating` event; each user gets one `login`
and one `profile_updated`. MovieLens has no subscriptions, so churn and LTV cannot be trained on it.

A play must look like one to the warehouse: its watch time is forward progress capped by wall-clock
time, and a session ends after 30 quiet minutes, so a play spans the runtime before the rating with a
heartbeat every 25 minutes. MovieLens users often rate dozens of films within one runtime; those plays
overlap, and a new play_start on a device ends the previous play, so overlapping plays go to extra
screens of the same user (`ml_d<u>_<n>`), the first free one reused.

Ratings are streamed in chunks that never split a user (memory is bounded by the chunk), and the
per-chunk work is vectorized with numpy; only the final event dicts are built per row.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from streamloop.core.errors import StreamloopError
from streamloop.core.importers.common import (
    ADULT_PROFILE,
    HEARTBEAT_EVERY_S,
    UNKNOWN_MATURITY,
    ImportRun,
    ImportSummary,
    fingerprint,
    iso_from_epoch_us,
    make_event,
)
from streamloop.core.lake import Lake
from streamloop.core.progress import step
from streamloop.core.store.base import OnlineStore

RUNTIME_S = 6000          # MovieLens has no runtimes; 100 minutes is a typical feature film
LIKE_AT = 4.0             # rating >= 4 → rating event +1
DISLIKE_AT = 2.0          # rating <= 2 → rating event -1; ratings in between say nothing clear: no event
RATINGS_PER_BATCH = 25_000
CONTEXT = {"country": "US", "device_type": "web", "app_version": "movielens", "os": "web", "timezone": "UTC"}
# u.item's 19 genre flags, in order (ml-100k's u.genre); spelled as in ml-latest, "unknown" means none
ML100K_GENRES = ("unknown", "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary",
                 "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
                 "War", "Western")
NO_GENRES = {"(no genres listed)", "unknown"}
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
    """Ratings (user_id, movie_id, rating, timestamp in epoch seconds) in chunks that never split a user.

    ml-latest files are sorted by user, so a chunk's last user is carried into the next chunk; ml-100k's
    u.data is not sorted, and small, so it is one chunk.
    """
    columns = ["user_id", "movie_id", "rating", "timestamp"]
    dtypes = {"user_id": "int64", "movie_id": "int64", "rating": "float64", "timestamp": "int64"}
    try:
        if layout.name == "ml-100k":
            yield pd.read_csv(layout.ratings, sep="\t", header=None, names=columns, dtype=dtypes)
            return
        done: set[int] = set()
        carried = None
        for chunk in pd.read_csv(layout.ratings, header=0, names=columns, dtype=dtypes, chunksize=RATINGS_PER_BATCH):
            if carried is not None:
                chunk = pd.concat([carried, chunk], ignore_index=True)
            users_in_order = chunk["user_id"].to_numpy()
            others = np.flatnonzero(users_in_order != users_in_order[-1])
            last_run_start = others[-1] + 1 if len(others) else 0  # the last user's rows may go on in the next chunk
            carried, chunk = chunk.iloc[last_run_start:], chunk.iloc[:last_run_start]
            users = set(chunk["user_id"].unique().tolist())
            if users & done:
                raise StreamloopError(f"{layout.ratings}: ratings are not grouped by userId (sort the file by userId)")
            done |= users
            if len(chunk):
                yield chunk
        if carried is not None and len(carried):
            if int(carried["user_id"].iloc[0]) in done:
                raise StreamloopError(f"{layout.ratings}: ratings are not grouped by userId (sort the file by userId)")
            yield carried
    except ValueError as exc:
        raise StreamloopError(f"{layout.ratings}: unexpected content ({exc})") from None


def rating_value(ratings: np.ndarray) -> np.ndarray:
    """+1 for a clear like, -1 for a clear dislike, 0 (no rating event) in between."""
    return np.where(ratings >= LIKE_AT, 1, np.where(ratings <= DISLIKE_AT, -1, 0))


def assign_screens(users: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The screen of each play, for plays sorted by user then end time; a play occupies the RUNTIME_S
    before its end. A play goes to the user's screen that became free first, or to a new screen
    when all are busy (greedy interval colouring: the fewest screens)."""
    screens = np.empty(len(users), dtype=np.int64)
    busy_until: list[tuple[int, int]] = []  # heap of (end of the screen's last play, screen)
    current = None
    for i, (user, end) in enumerate(zip(users.tolist(), ends.tolist())):
        if user != current:
            current, busy_until = user, []
        if busy_until and busy_until[0][0] < end - RUNTIME_S:
            screen = busy_until[0][1]
            heapq.heapreplace(busy_until, (end, screen))
        else:
            screen = len(busy_until)
            heapq.heappush(busy_until, (end, screen))
        screens[i] = screen
    return screens


def rating_events(chunk: pd.DataFrame) -> list[dict]:
    """For each user of the chunk: login and profile_updated before the first play; for each rating at
    second t: play_start at t - runtime, heartbeats every HEARTBEAT_EVERY_S, play_complete at t, and
    (if clear) the rating at t."""
    chunk = chunk.sort_values(["user_id", "timestamp", "movie_id"], kind="stable")
    users = chunk["user_id"].to_numpy()
    movies = chunk["movie_id"].to_numpy()
    ends = chunk["timestamp"].to_numpy()
    screens = assign_screens(users, ends).tolist()
    end_us = ends * 1_000_000
    start_us = end_us - RUNTIME_S * 1_000_000
    started, completed = iso_from_epoch_us(start_us), iso_from_epoch_us(end_us)
    beat_offsets = range(HEARTBEAT_EVERY_S, RUNTIME_S, HEARTBEAT_EVERY_S)
    beats = [iso_from_epoch_us(start_us + offset * 1_000_000) for offset in beat_offsets]
    values = rating_value(chunk["rating"].to_numpy()).tolist()
    first_of_user = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if len(users) else np.array([], int)
    logins = iso_from_epoch_us(start_us[first_of_user] - 2_000_000)
    updates = iso_from_epoch_us(start_us[first_of_user] - 1_000_000)

    events: list[dict] = []
    for u, login_at, updated_at in zip(users[first_of_user].tolist(), logins, updates):
        ids = (f"ml_d{u}", f"ml_u{u}", f"ml_a{u}")
        events.append(make_event(f"ml-{u}-login", "login", login_at, *ids, CONTEXT, {}))
        events.append(make_event(f"ml-{u}-profile_updated", "profile_updated", updated_at, *ids, CONTEXT,
                                 {**ADULT_PROFILE, "timezone": "UTC"}))
    for i, (u, m, screen, value) in enumerate(zip(users.tolist(), movies.tolist(), screens, values)):
        ids = (f"ml_d{u}" if screen == 0 else f"ml_d{u}_{screen}", f"ml_u{u}", f"ml_a{u}")
        title, prefix = f"ml_m{m}", f"ml-{u}-{m}"
        events.append(make_event(f"{prefix}-play_start", "play_start", started[i], *ids, CONTEXT,
                                 {"title_id": title, "position_s": 0, "duration_s": RUNTIME_S}))
        for n, (offset, beat) in enumerate(zip(beat_offsets, beats), 1):
            events.append(make_event(f"{prefix}-heartbeat-{n}", "heartbeat", beat[i], *ids, CONTEXT,
                                     {"title_id": title, "position_s": offset}))
        events.append(make_event(f"{prefix}-play_complete", "play_complete", completed[i], *ids, CONTEXT,
                                 {"title_id": title, "position_s": RUNTIME_S}))
        if value:
            events.append(make_event(f"{prefix}-rating", "rating", completed[i], *ids, CONTEXT,
                                     {"title_id": title, "value": value}))
    return events


# -- the command -----------------------------------------------------------------------------------

def import_movielens(path: str | Path, lake: Lake | None = None, store: OnlineStore | None = None) -> ImportSummary:
    """Maps a MovieLens folder to contract events and catalog records and lands them in the lake."""
    root = Path(path)
    if not root.is_dir():
        raise StreamloopError(f"{path}: not a folder (give the unzipped MovieLens folder)")
    layout = detect_layout(root)
    with ImportRun("movielens", fingerprint([layout.ratings, layout.movies]), lake, store) as run:

        with step(f"movielens catalog ({layout.name})"):
            movies = read_movies(layout)
            run.land_catalog(catalog_records(movies))

        ratings = unclear = users = 0
        with step(f"movielens ratings ({layout.name})"):
            for chunk_no, chunk in enumerate(rating_chunks(layout)):
                ratings += len(chunk)
                users += chunk["user_id"].nunique()
                unclear += int((rating_value(chunk["rating"].to_numpy()) == 0).sum())
                run.land_events(rating_events(chunk), batch_key=f"ratings-{chunk_no}")

        notes = [
            f"ratings between {DISLIKE_AT:g} and {LIKE_AT:g} (exclusive) give no rating event: {unclear:,}",
            f"runtimes are unknown: every title gets {RUNTIME_S} s; each rating follows a play watched to the end",
            "no subscriptions or payments: churn and LTV models cannot be trained on this data",
        ]
        if layout.tags is not None:
            notes.append("tags.csv is not imported: the contract has no event for free-text tags")
        facts = {"ratings": ratings, "users": users, "movies": len(movies)}
        return run.summary(root, facts, notes)
