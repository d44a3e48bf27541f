"""Business filters of CONTRACT §6, applied after ranking. Pure Python: serving imports this module.

A title is shown only if it is available in the request's country, is not above the profile's
maturity rating, and has not been seen (finished) by the profile. A title missing from the catalog is
never shown (its availability cannot be checked).

Seen means seen (docs/serving.md): a profile has seen the movies and series the warehouse knows it
finished (published with the profile as `finished_title_ids`) plus what the collector's real-time state
saw finished since: a movie completed, or a series whose last episode was completed.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

MATURITY_ORDER = ("all", "7+", "13+", "16+", "18+")
_RANK = {rating: i for i, rating in enumerate(MATURITY_ORDER)}


def maturity_allows(title_rating: str | None, profile_max: str | None) -> bool:
    """True if a title rated `title_rating` may be shown to a profile allowed up to `profile_max`.

    Unknown ratings are treated as the most restrictive: an unrated title needs an 18+ profile,
    and a profile without a known limit sees only `all` titles unless it is explicitly 18+.
    """
    title_rank = _RANK.get(title_rating or "", len(MATURITY_ORDER) - 1)
    profile_rank = _RANK.get(profile_max or "", 0)
    return title_rank <= profile_rank


def available_in(available_countries: Iterable[str] | None, country: str | None) -> bool:
    countries = list(available_countries or [])
    if "*" in countries:
        return True
    if country is None:  # without a country only worldwide titles are safe
        return False
    return country.upper() in {c.upper() for c in countries}


UNKNOWN_PROFILE_MATURITY = "13+"  # a profile we know nothing about gets general-audience titles
KIDS_DEFAULT_MATURITY = "7+"      # a kids profile without a rating of its own


def profile_max_maturity(*sources: Mapping | None) -> str:
    """The maturity limit of a profile from what is known of it, freshest source first (real-time
    state, then the published profile or mart row): the first rating set, else the kids or unknown default."""
    for source in sources:
        if source and source.get("maturity_rating"):
            return source["maturity_rating"]
    if any(source and source.get("is_kids") for source in sources):
        return KIDS_DEFAULT_MATURITY
    return UNKNOWN_PROFILE_MATURITY


def seen_title_ids(finished_title_ids: Iterable[str] | None, completed: Iterable[Mapping] | None,
                   lookup: Callable[[str], Mapping | None]) -> frozenset[str]:
    """Every title a profile must not be offered again: the warehouse's finished titles, plus from the
    real-time `completed` entries each movie, and each series whose last episode (the series title's
    `last_episode_id`) was completed. `lookup` gives catalog entries (for kinds the entries lack)."""
    seen = set(finished_title_ids or ())
    for entry in completed or ():
        title_id = entry["title_id"]
        kind = entry.get("kind") or (lookup(title_id) or {}).get("kind")
        if kind == "movie":
            seen.add(title_id)
        elif kind == "episode" and entry.get("series_id"):
            series = lookup(entry["series_id"]) or {}
            if series.get("last_episode_id") == title_id:
                seen.add(entry["series_id"])
    return frozenset(seen)


def is_allowed(title: Mapping | None, *, country: str | None, max_maturity: str | None,
               completed_movies: frozenset[str] | set[str] = frozenset(), title_id: str | None = None,
               seen: frozenset[str] | set[str] = frozenset()) -> bool:
    """`seen` (seen_title_ids) excludes titles of any kind; `completed_movies` only movies."""
    if title is None:
        return False
    if title_id is not None and (title_id in seen or (title_id in completed_movies and title.get("kind") == "movie")):
        return False
    return available_in(title.get("available_countries"), country) and maturity_allows(
        title.get("maturity_rating"), max_maturity
    )


def apply_filters(items: Iterable, titles: Mapping[str, Mapping], *, country: str | None, max_maturity: str | None,
                  completed_movies: Iterable[str] = (), limit: int | None = None,
                  exclude: Iterable[str] = (), seen: Iterable[str] = ()) -> list:
    """Keep ranked `items` ((title_id, score) pairs or title ids) that pass every filter, in order,
    each title at most once, up to `limit`."""
    completed = frozenset(completed_movies)
    seen = frozenset(seen)
    taken = set(exclude)  # excluded, or already kept: each title at most once
    kept = []
    for item in items:
        title_id = item if isinstance(item, str) else item[0]
        if title_id in taken:
            continue
        if is_allowed(titles.get(title_id), country=country, max_maturity=max_maturity,
                      completed_movies=completed, title_id=title_id, seen=seen):
            kept.append(item)
            taken.add(title_id)
            if limit is not None and len(kept) >= limit:
                break
    return kept
