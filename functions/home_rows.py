"""Home rows: the page's title claims, and one builder per row kind (`BUILDERS`).

Every builder takes (rows, ctx, page) and returns the rows of its kind. Rows claim titles in a fixed
priority (home.CLAIM_PRIORITY) so a title (or, for episodes, its series) appears at most once per page.
Every title passes the shared business filters (streamloop.core.filters): available in the country,
within the profile's maturity rating, and not seen — the profile's finished titles, as published, plus
what the collector saw finished since (continue_watching alone shows a rewatch in progress).
"""
from __future__ import annotations

from collections.abc import Callable

from functions.catalog import ListsCache, TitleCache
from functions.experiments import Experiments
from functions.home_reads import CANDIDATES_READ, Context
from streamloop.core.constants import SURFACE_TOP_PICKS, genre_row_id
from streamloop.core.filters import is_allowed
from streamloop.core.store.values import served_model_version

MAX_GENRE_ROWS = 4
FALLBACK_REASON = "The most popular titles you have not seen"


class Page:
    """Items on one page: filters every title and claims it (episodes claim their series)."""

    def __init__(self, ctx: Context, titles: TitleCache, max_items: int):
        self.titles = titles
        self.country = ctx.country
        self.max_maturity = ctx.max_maturity
        self.seen = ctx.seen(titles)
        self.max_items = max_items
        self.claimed: set[str] = set()

    def allowed(self, title_id: str, seen: frozenset[str]) -> dict | None:
        title = self.titles.lookup(title_id)
        ok = is_allowed(title, country=self.country, max_maturity=self.max_maturity, title_id=title_id, seen=seen)
        return title if ok else None

    def take(self, ranked, reason, episodes: bool = False, seen: frozenset[str] | None = None) -> list[dict]:
        """Up to max_items of `ranked` that pass filters and are not on the page. Entries are
        (title_id, score) pairs, or (title_id, score, title) triples from ListsCache.view, which already
        passed the country and maturity filters. (The hot loop of a page: keep it lean.)"""
        items, claimed = [], self.claimed
        seen = self.seen if seen is None else seen
        for entry in ranked:
            title_id = entry[0]
            if title_id in claimed:
                continue
            if len(entry) == 3:
                title = entry[2]
                if title_id in seen:
                    continue
            else:
                title = self.allowed(title_id, seen)
                if title is None:
                    continue
            if not episodes and title.get("kind") == "episode":
                continue
            key = title.get("series_id") or title_id
            if key in claimed:
                continue
            claimed.add(key)
            claimed.add(title_id)
            items.append({"title_id": title_id, "score": entry[1], "reason": reason(title_id, title)})
            if len(items) >= self.max_items:
                break
        return items


def name_of(title: dict | None, title_id: str) -> str:
    return (title or {}).get("name") or title_id


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


class Rows:
    """The row builders, over the process's caches and experiments."""

    def __init__(self, titles: TitleCache, lists: ListsCache, experiments: Experiments):
        self.titles = titles
        self.lists = lists
        self.experiments = experiments

    def view(self, name: str, ctx: Context, genre: str | None = None):
        return self.lists.view(name, self.titles, ctx.country, ctx.max_maturity, genre)

    def popular_fallback(self, ctx: Context, page: Page, reason: str) -> list[dict]:
        """Popular titles the profile has not seen: what a profile gets when no model can serve it."""
        return page.take(self.view("popular", ctx), lambda tid, t: reason)

    def continue_watching(self, ctx: Context, page: Page) -> list[dict]:
        if not ctx.known:
            return []
        in_progress = sorted(((ctx.state or {}).get("in_progress") or {}).items(), key=lambda kv: -kv[1]["at"])
        progress = {tid: entry for tid, entry in in_progress}

        def score(entry):
            duration = entry.get("duration_s") or 0
            return min(entry["position_s"] / duration, 1.0) if duration else 0.0

        def reason(tid, title):
            entry = progress[tid]
            where = f"Resume at {_clock(entry['position_s'])}"
            if title.get("kind") == "episode":
                series = self.titles.lookup(title.get("series_id") or "")
                where += f" — {name_of(series, title.get('series_id') or '')}"
                if title.get("season") and title.get("episode"):
                    where += f" S{title['season']}E{title['episode']}"
            return where
        # a rewatch of a finished title is in progress again, so the seen filter does not apply here
        items = page.take(((tid, score(e)) for tid, e in in_progress), reason, episodes=True, seen=frozenset())
        if not items:
            return []
        return [{"row_id": "continue_watching", "kind": "continue_watching", "title": "Continue watching",
                 "reason": "Titles you started and have not finished", "items": items}]

    def top_picks(self, ctx: Context, page: Page) -> list[dict]:
        """The serving model's candidates (learned or baseline); popular titles only when no model can serve
        this profile (no candidates published, or none left after the filters) or the experiment says so."""
        if not ctx.known:
            return []
        test = self.experiments.test_for(SURFACE_TOP_PICKS, ctx.now)
        variant = test.assign(ctx.profile_id) if test else None
        region = f"Popular in {ctx.country or 'your region'} right now"
        items, row_reason, model_version = [], FALLBACK_REASON, None
        if variant != "popularity":
            candidates = ctx.candidates or {}
            items = page.take(candidates.get("items", [])[:CANDIDATES_READ],
                              lambda tid, t: "Matches what you watch" + _genre_hint(ctx, t))
            if items:
                ctx.model_version = model_version = served_model_version(candidates) or "unknown"
                row_reason = "Ranked for you from your viewing history"
        if not items:
            items = self.popular_fallback(ctx, page, region)
        if not items:
            return []
        if test:
            ctx.experiments.append({"experiment_id": test.id, "variant": variant})
        row = {"row_id": "top_picks", "kind": "top_picks", "title": "Top picks for you", "reason": row_reason,
               "items": items}
        return [with_model_version(row, model_version)]

    def because_you_watched(self, ctx: Context, page: Page) -> list[dict]:
        if not ctx.known:
            return []
        rows = []
        for source in ctx.sources:
            title = self.titles.lookup(source)
            series_id = (title or {}).get("series_id")
            similar = ctx.similar.get(source) or (ctx.similar.get(series_id) if series_id else None)
            shown = name_of(self.titles.lookup(series_id) if series_id else title, series_id or source)
            reason = f"Similar to {shown}, which you finished"
            items = page.take((similar or {}).get("items", []), lambda tid, t, reason=reason: reason)
            model_version = served_model_version(similar) if items else None
            if not items:  # none published (no batch since) or none left after filters: share its genres
                reason = f"Shares genres with {shown}, which you finished"
                items = page.take(genre_neighbours(title, self.lists.get("popular"), self.titles),
                                  lambda tid, t, reason=reason: reason)
            if items:
                rows.append(with_model_version({
                    "row_id": f"because_you_watched:{source}", "kind": "because_you_watched",
                    "title": f"Because you watched {shown}", "reason": reason, "source_title_id": source,
                    "items": items}, model_version))
        return rows

    def genre(self, ctx: Context, page: Page) -> list[dict]:
        room = min(MAX_GENRE_ROWS, ctx.max_rows)
        weights: dict[str, float] = {}
        if ctx.known and ctx.profiling_allowed:
            for genre, w in ((ctx.profile or {}).get("genre_affinity") or {}).items():
                weights[genre] = weights.get(genre, 0.0) + float(w)
            recent = (ctx.state or {}).get("recent_genres") or {}
            total = sum(recent.values()) or 1.0
            for genre, w in recent.items():
                weights[genre] = weights.get(genre, 0.0) + float(w) / total
        personal = bool(weights)
        if not personal:  # the genres most present among popular titles
            for _, _, title in self.view("popular", ctx)[:200]:
                for genre in title.get("genres") or ():
                    weights[genre] = weights.get(genre, 0.0) + 1.0
        candidate_genres = [(t, s, (self.titles.lookup(t) or {}).get("genres") or ())
                            for t, s in (ctx.candidates or {}).get("items", [])[:CANDIDATES_READ]]
        rows = []
        for genre, _ in sorted(weights.items(), key=lambda kv: -kv[1]):
            if len(rows) >= room:
                break
            pool = [(t, s) for t, s, genres in candidate_genres if genre in genres]
            pool += self.view("popular", ctx, genre)
            label = genre.replace("_", " ").title()
            reason = f"You often watch {label}" if personal else f"Popular {label} titles"
            items = page.take(pool, lambda tid, t, reason=reason: reason)
            if items:
                rows.append({"row_id": genre_row_id(genre), "kind": "genre", "title": label, "reason": reason,
                             "items": items})
        return rows

    def _list_row(self, ctx: Context, page: Page, kind: str) -> list[dict]:
        country_name = ctx.country or "your region"
        texts = {
            "trending": (f"Trending in {country_name}", f"Watched the most in {country_name} over the last days"),
            "popular": (f"Popular in {country_name}", f"The most watched titles in {country_name}"),
            "new_releases": ("New releases", f"Recently released titles available in {country_name}"),
        }
        title, reason = texts[kind]
        if not ctx.known and not ctx.degraded:
            reason = f"{reason} (not personalized: we do not know this profile yet)"
        if kind == "new_releases":
            item_reason = lambda tid, t: f"Released {str(t['release_date'])[:10]}" if t.get("release_date") else "New"
        else:
            item_reason = lambda tid, t: title
        items = page.take(self.view(kind, ctx), item_reason)
        return [{"row_id": kind, "kind": kind, "title": title, "reason": reason, "items": items}] if items else []

    def trending(self, ctx: Context, page: Page) -> list[dict]:
        return self._list_row(ctx, page, "trending")

    def popular(self, ctx: Context, page: Page) -> list[dict]:
        return self._list_row(ctx, page, "popular")

    def new_releases(self, ctx: Context, page: Page) -> list[dict]:
        return self._list_row(ctx, page, "new_releases")


# row kind -> builder; home.py decides the claim and display orders
BUILDERS: dict[str, Callable[[Rows, Context, Page], list[dict]]] = {
    "continue_watching": Rows.continue_watching,
    "because_you_watched": Rows.because_you_watched,
    "top_picks": Rows.top_picks,
    "genre": Rows.genre,
    "trending": Rows.trending,
    "popular": Rows.popular,
    "new_releases": Rows.new_releases,
}


def with_model_version(row: dict, model_version: str | None) -> dict:
    """A row ranked by a model names it (values.served_model_version): apps copy it into the row's
    impressions, so attribution can be per model version; rows of fixed lists carry none."""
    if model_version:
        row["model_version"] = model_version
    return row


def _genre_hint(ctx: Context, title: dict) -> str:
    affinity = (ctx.profile or {}).get("genre_affinity") or {}
    best = max((g for g in title.get("genres") or () if g in affinity), key=lambda g: affinity[g], default=None)
    return f" (you like {best.replace('_', ' ')})" if best else ""


def genre_neighbours(title: dict | None, popular: list, titles: TitleCache) -> list[tuple[str, float]]:
    """Popular titles ranked by how many genres they share with `title` (a similarity needing no model)."""
    genres = set((title or {}).get("genres") or ())
    if not genres:
        return []
    scored = []
    for rank, (tid, _) in enumerate(popular):
        shared = len(genres & set((titles.lookup(tid) or {}).get("genres") or ()))
        if shared:
            scored.append((tid, shared / len(genres) / (1 + rank / 100)))
    return sorted(scored, key=lambda pair: -pair[1])
