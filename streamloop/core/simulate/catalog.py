"""The simulated catalog: movies and series with episodes, each with latent factors viewers have taste for.

Genres have latent vectors; a title's factors are its genres' mean plus noise, so a viewer's taste for
genres carries over to titles (what the recommender must learn). Maturity follows genre (kids genres
are rated all/7+). Most titles are old, some are released during the simulated window and a few only
after it ("coming soon"), so new-release rows and the release-date filter have something to do.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from streamloop.core.contract import MATURITY_RATINGS

FACTORS = 8
GENRES = ("action", "adventure", "animation", "comedy", "crime", "documentary", "drama", "family",
          "fantasy", "horror", "romance", "sci-fi", "thriller", "reality")
KIDS_GENRES = ("animation", "family")
MOODS = ("dark", "feel-good", "exciting", "thoughtful", "funny", "romantic", "suspenseful", "heartwarming")
_ADJECTIVES = ("Silent", "Broken", "Golden", "Hidden", "Last", "Crimson", "Frozen", "Wild", "Electric", "Lost",
               "Midnight", "Secret", "Burning", "Endless", "Hollow", "Northern", "Paper", "Quiet", "Savage", "Velvet",
               "Distant", "Little", "Brave", "Iron", "Lucky", "Restless", "Shining", "Sunken", "Tiny", "Wandering")
_NOUNS = ("Harbor", "Kingdom", "Signal", "Garden", "River", "Empire", "Witness", "Orbit", "Summer", "Detective",
          "Island", "Machine", "Promise", "Circus", "Frontier", "Dragon", "Letters", "Heist", "Valley", "Forest",
          "Station", "Crown", "Storm", "Shadow", "Village", "Robot", "Planet", "Family", "Journey", "Academy")
_FIRST = ("Ana", "Ben", "Chloe", "Diego", "Emma", "Farid", "Grace", "Hiro", "Isla", "Jonas", "Kemi", "Liam",
          "Maya", "Noah", "Olga", "Priya", "Quinn", "Rafael", "Sofia", "Tariq", "Uma", "Victor", "Wen", "Yara", "Zoe")
_LAST = ("Adams", "Berg", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen", "Khan",
         "Lopez", "Martin", "Nakamura", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Urban", "Varga", "Weber",
         "Xu", "Young", "Zimmer")


@dataclass
class Catalog:
    """Recommendable items (movies and series) as arrays; episodes hang off their series."""

    item_ids: list[str]
    names: list[str]
    is_series: np.ndarray          # bool per item
    genres: list[tuple[int, ...]]  # genre indexes per item
    genre_matrix: np.ndarray       # (items, genres) bool
    maturity: np.ndarray           # index into MATURITY_RATINGS per item
    release_day: np.ndarray        # day relative to the window start (negative: before it)
    factors: np.ndarray            # (items, FACTORS) unit vectors
    quality: np.ndarray            # drives popularity and affinity
    log_popularity: np.ndarray
    available: np.ndarray          # (countries, items) bool
    runtime_s: np.ndarray          # movie runtime, or the series' episode runtime
    first_episode: np.ndarray      # per item: index of its first episode, -1 for movies
    episode_count: np.ndarray      # per item: episodes, 0 for movies
    episode_ids: list[str]
    episode_runtime_s: np.ndarray
    genre_factors: np.ndarray      # (genres, FACTORS), for building viewers' tastes
    records: list[dict]            # catalog records (CONTRACT §2) for the lake

    @property
    def title_count(self) -> int:
        return len(self.records)


def catalog_size(profiles: int) -> tuple[int, int]:
    """Movies and series for a population: grows with it, within bounds that keep a small run learnable."""
    movies = int(np.clip(profiles // 6, 120, 1500))
    return movies, max(movies // 4, 20)


def build_catalog(profiles: int, days: int, start: date, countries: tuple[str, ...], rng: np.random.Generator) -> Catalog:
    n_movies, n_series = catalog_size(profiles)
    n = n_movies + n_series
    is_series = np.zeros(n, dtype=bool)
    is_series[n_movies:] = True
    item_ids = [f"mov-{i:05d}" for i in range(n_movies)] + [f"ser-{i:04d}" for i in range(n_series)]

    genre_factors = rng.normal(size=(len(GENRES), FACTORS))
    genre_factors /= np.linalg.norm(genre_factors, axis=1, keepdims=True)
    genre_weights = np.array([8, 5, 4, 9, 6, 3, 10, 4, 4, 4, 5, 5, 7, 2], dtype=float)
    genre_weights /= genre_weights.sum()
    kids = np.array([GENRES.index(g) for g in KIDS_GENRES])

    genres: list[tuple[int, ...]] = []
    genre_matrix = np.zeros((n, len(GENRES)), dtype=bool)
    for i in range(n):
        k = 1 + int(rng.random() < 0.6) + int(rng.random() < 0.2)
        chosen = tuple(sorted(rng.choice(len(GENRES), size=k, replace=False, p=genre_weights).tolist()))
        genres.append(chosen)
        genre_matrix[i, list(chosen)] = True
    factors = genre_factors.T @ genre_matrix.T.astype(float)
    factors = factors.T / genre_matrix.sum(axis=1, keepdims=True) + rng.normal(scale=0.45, size=(n, FACTORS))
    factors /= np.linalg.norm(factors, axis=1, keepdims=True)
    quality = rng.normal(size=n)

    is_kids_title = genre_matrix[:, kids].any(axis=1) & ~genre_matrix[:, GENRES.index("horror")]
    maturity = np.where(
        is_kids_title,
        rng.choice(3, size=n, p=[0.5, 0.4, 0.1]),
        rng.choice(5, size=n, p=[0.0, 0.05, 0.35, 0.35, 0.25]),
    ).astype(np.int8)

    # release: mostly the back catalogue, ~8% during the window, ~4% after it
    phase = rng.random(n)
    release_day = np.where(
        phase < 0.88, -rng.integers(30, 30 * 365, size=n),
        np.where(phase < 0.96, rng.integers(0, days, size=n), rng.integers(days, days + 120, size=n)),
    )
    log_popularity = 0.9 * quality + rng.normal(scale=0.5, size=n)

    available = np.ones((len(countries), n), dtype=bool)
    restricted = rng.random(n) < 0.25
    for i in np.flatnonzero(restricted):
        keep = rng.random(len(countries)) < 0.5
        keep[rng.integers(len(countries))] = True
        available[:, i] = keep

    runtime_s = np.where(is_series, rng.choice([22, 30, 45, 55], size=n) * 60,
                         np.clip(rng.normal(105, 20, size=n), 70, 170).astype(int) * 60 + rng.integers(0, 60, size=n))
    cast_pool = [f"{f} {last}" for f in _FIRST for last in _LAST]

    first_episode = np.full(n, -1)
    episode_count = np.zeros(n, dtype=int)
    episode_ids: list[str] = []
    episode_runtime: list[int] = []
    records: list[dict] = []
    names: list[str] = []
    for i in range(n):
        name = f"{'The ' if rng.random() < 0.4 else ''}{_ADJECTIVES[rng.integers(len(_ADJECTIVES))]} " \
               f"{_NOUNS[rng.integers(len(_NOUNS))]}"
        names.append(name)
        moods = sorted({MOODS[m] for m in rng.integers(len(MOODS), size=2)})
        cast = [cast_pool[c] for c in rng.choice(len(cast_pool), size=int(rng.integers(2, 6)), replace=False)]
        countries_field = ["*"] if not restricted[i] else [c for c, ok in zip(countries, available[:, i]) if ok]
        base = {
            "title_id": item_ids[i], "name": name, "kind": "series" if is_series[i] else "movie",
            "series_id": None, "season": None, "episode": None,
            "genres": [GENRES[g] for g in genres[i]], "moods": moods, "cast": cast,
            "maturity_rating": MATURITY_RATINGS[maturity[i]], "runtime_s": int(runtime_s[i]),
            "release_date": (start + timedelta(days=int(release_day[i]))).isoformat(),
            "available_countries": countries_field,
        }
        records.append(base)
        if is_series[i]:
            first_episode[i] = len(episode_ids)
            for season in range(1, int(rng.integers(1, 5)) + 1):
                for episode in range(1, int(rng.integers(6, 11)) + 1):
                    episode_id = f"{item_ids[i]}-s{season:02d}e{episode:02d}"
                    runtime = int(runtime_s[i] + rng.integers(-180, 180))
                    episode_ids.append(episode_id)
                    episode_runtime.append(runtime)
                    records.append(dict(base, title_id=episode_id, name=f"{name} S{season}E{episode}", kind="episode",
                                        series_id=item_ids[i], season=season, episode=episode, runtime_s=runtime))
            episode_count[i] = len(episode_ids) - first_episode[i]

    return Catalog(
        item_ids=item_ids, names=names, is_series=is_series, genres=genres, genre_matrix=genre_matrix,
        maturity=maturity, release_day=release_day, factors=factors, quality=quality,
        log_popularity=log_popularity, available=available, runtime_s=runtime_s,
        first_episode=first_episode, episode_count=episode_count, episode_ids=episode_ids,
        episode_runtime_s=np.array(episode_runtime, dtype=int), genre_factors=genre_factors, records=records,
    )
