"""Home rows, recommendations and similar titles: the read side of serving (CONTRACT §6).

A page is assembled from at most two budgeted store reads (profile/state/candidates, then similar
titles and unseen catalog entries) plus process-local caches of titles and lists. Rows claim their
titles in a fixed priority (fresh signals first) so a title (or, for episodes, its series) appears at
most once per page, then are displayed in the order chosen by the row-order bandit (or the default). Every title passes the shared business
filters (ml/recommend/filters.py): available in the country, within the profile's maturity rating,
not a movie the profile finished. Any store failure degrades the page to cached lists, never to a 5xx.
"""
from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from functions.budget import ReadBudget
from functions.catalog import ListsCache, TitleCache
from functions.experiments import Bandit, Experiments, encode_decision
from functions.exposures import ExposureLog
from streamloop.core.filters import is_allowed
from streamloop.core.store import OnlineStore, StoreError

log = logging.getLogger("streamloop.home")

DEFAULT_ORDER = ("continue_watching", "because_you_watched", "top_picks", "genre", "trending", "new_releases",
                 "popular")
CLAIM_PRIORITY = ("continue_watching", "because_you_watched", "top_picks", "genre", "new_releases", "trending",
                  "popular")
CLAIM_PRIORITY_UNKNOWN = ("new_releases", "trending", "popular", "genre")  # genre rows are generic then
MAX_BECAUSE_ROWS = 2
MAX_GENRE_ROWS = 4
CANDIDATES_READ = 300            # ranked candidates considered per page
UNKNOWN_PROFILE_MATURITY = "13+"  # a profile we know nothing about gets a general-audience page
KIDS_DEFAULT_MATURITY = "7+"
DEGRADED = "Personalized rows are unavailable right now"


@dataclass
class Context:
    """What one request knows about its profile, after the reads."""
    profile_id: str
    country: str | None
    device_type: str | None
    profile: dict | None = None
    state: dict | None = None
    candidates: dict | None = None
    similar: dict = field(default_factory=dict)
    degraded: str | None = None       # why the page could not be personalized, if it could not

    @property
    def known(self) -> bool:
        return self.degraded is None and bool(self.profile or self.state or self.candidates)

    @property
    def max_maturity(self) -> str:
        for source in (self.state, self.profile):
            if source and source.get("maturity_rating"):
                return source["maturity_rating"]
        if any(source and source.get("is_kids") for source in (self.state, self.profile)):
            return KIDS_DEFAULT_MATURITY
        return UNKNOWN_PROFILE_MATURITY

    @property
    def completed(self) -> list[dict]:
        return (self.state or {}).get("completed", [])


class Page:
    """Items on one page: filters every title and claims it (episodes claim their series)."""

    def __init__(self, ctx: Context, titles: TitleCache, max_items: int):
        self.titles = titles
        self.country = ctx.country
        self.max_maturity = ctx.max_maturity
        self.completed_movies = frozenset(c["title_id"] for c in ctx.completed
                                          if (c.get("kind") or (titles.lookup(c["title_id"]) or {}).get("kind")) == "movie")
        self.max_items = max_items
        self.claimed: set[str] = set()

    def allowed(self, title_id: str, completed=None) -> dict | None:
        title = self.titles.lookup(title_id)
        ok = is_allowed(title, country=self.country, max_maturity=self.max_maturity, title_id=title_id,
                        completed_movies=self.completed_movies if completed is None else completed)
        return title if ok else None

    def take(self, ranked, reason, episodes: bool = False, completed=None) -> list[dict]:
        """Up to max_items of `ranked` that pass filters and are not on the page. Entries are
        (title_id, score) pairs, or (title_id, score, title) triples from ListsCache.view, which already
        passed the country and maturity filters. (The hot loop of a page: keep it lean.)"""
        items, claimed = [], self.claimed
        completed_movies = self.completed_movies if completed is None else completed
        for entry in ranked:
            title_id = entry[0]
            if title_id in claimed:
                continue
            if len(entry) == 3:
                title = entry[2]
                if title_id in completed_movies and title.get("kind") == "movie":
                    continue
            else:
                title = self.allowed(title_id, completed)
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


def _name(title: dict | None, title_id: str) -> str:
    return (title or {}).get("name") or title_id


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


class HomeService:
    def __init__(self, store_factory, budget: ReadBudget, titles: TitleCache, lists: ListsCache,
                 experiments: Experiments, exposures: ExposureLog | None, bandit_ttl_s: float = 1.0):
        self._store_factory = store_factory
        self.budget = budget
        self.titles = titles
        self.lists = lists
        self.experiments = experiments
        self.exposures = exposures
        self.bandit_ttl_s = bandit_ttl_s
        self._bandit_counts: dict[str, tuple[float, dict]] = {}
        self._probabilities: dict[str, tuple[bytes, list[float]]] = {}

    @property
    def store(self) -> OnlineStore:
        return self._store_factory()

    # -- reads -----------------------------------------------------------------------------------------
    def _refresh_lists(self, store: OnlineStore) -> None:
        if self.lists.is_stale():
            self.lists.refresh(store.get_many)
            self.titles.load(store.get_many, self.lists.all_title_ids())

    def _read_profile(self, ctx: Context) -> None:
        def work():
            store = self.store
            self._refresh_lists(store)
            profile, state = store.get("profile", ctx.profile_id), store.get("state", ctx.profile_id)
            return profile, state, store.get("candidates", ctx.profile_id)
        try:
            ctx.profile, ctx.state, ctx.candidates = self.budget.run(work)
        except StoreError as exc:
            ctx.degraded = DEGRADED
            log.warning("page for %s falls back to cached lists: %s", ctx.profile_id, exc)

    def _read_details(self, ctx: Context, sources: list[str]) -> None:
        """Similar titles of the page's sources, and catalog entries not yet cached."""
        def work():
            store = self.store
            similar = store.get_many("similar", sources) if sources else {}
            ids = list((ctx.state or {}).get("in_progress", {})) + [c["title_id"] for c in ctx.completed]
            ids += [t for t, _ in (ctx.candidates or {}).get("items", [])[:CANDIDATES_READ]]
            ids += [t for s in similar.values() for t, _ in s.get("items", [])]
            self.titles.load(store.get_many, ids)
            return similar
        try:
            ctx.similar = self.budget.run(work)
        except StoreError as exc:
            log.warning("page for %s uses cached titles only: %s", ctx.profile_id, exc)

    def _bandit_counts_for(self, bandit: Bandit) -> dict:
        cached = self._bandit_counts.get(bandit.id)
        if cached and time.monotonic() - cached[0] < self.bandit_ttl_s:
            return cached[1]
        try:
            counts = self.budget.run(lambda: self.store.get("bandit", bandit.id)) or {}
        except StoreError as exc:
            log.warning("bandit %s uses its last known counts: %s", bandit.id, exc)
            counts = cached[1] if cached else {}
        self._bandit_counts[bandit.id] = (time.monotonic(), counts)
        return counts

    def _choose_arm(self, bandit: Bandit, request_id: str):
        counts = self._bandit_counts_for(bandit)
        key = orjson.dumps(counts.get("arms", {}), option=orjson.OPT_SORT_KEYS)
        cached = self._probabilities.get(bandit.id)
        if cached is None or cached[0] != key:
            cached = (key, bandit.thompson_probabilities(counts))
            self._probabilities[bandit.id] = cached
        return bandit.choose(counts, random.Random(request_id), cached[1])

    def _view(self, name: str, ctx: Context, genre: str | None = None):
        return self.lists.view(name, self.titles, ctx.country, ctx.max_maturity, genre)

    # -- home ------------------------------------------------------------------------------------------
    def home(self, profile_id: str, country: str | None, device_type: str | None, rows: int, items: int,
             request_id: str | None = None) -> dict:
        now = datetime.now(UTC)
        request_id = request_id or uuid.uuid4().hex
        ctx = Context(profile_id, country, device_type)
        self._read_profile(ctx)
        if ctx.country is None:
            ctx.country = (ctx.state or {}).get("country") or (ctx.profile or {}).get("country")
        completed_sources = []
        for c in ctx.completed:
            if c["title_id"] not in completed_sources:
                completed_sources.append(c["title_id"])
        sources = completed_sources[:MAX_BECAUSE_ROWS]
        if ctx.degraded is None:
            self._read_details(ctx, sources + [c.get("series_id") for c in ctx.completed[:MAX_BECAUSE_ROWS]
                                               if c.get("series_id")])
        page = Page(ctx, self.titles, items)
        experiments, model_version = [], "popularity"

        order, propensity = DEFAULT_ORDER, None
        bandit = self.experiments.bandit_for("home.row_order", now)
        if bandit is not None:
            arm, propensity = self._choose_arm(bandit, request_id)
            order = arm.order
            request_id = encode_decision(request_id, bandit, arm)
            experiments.append({"experiment_id": bandit.id, "variant": arm.name, "propensity": round(propensity, 4)})

        # Rows claim titles in priority order (fresh and personal signals first, so the rows the contract
        # promises are never emptied by a generic row), then are displayed in the chosen order.
        country_name = ctx.country or "your region"
        by_kind: dict[str, list[dict]] = {}
        for kind in CLAIM_PRIORITY if ctx.known else CLAIM_PRIORITY_UNKNOWN:
            if kind == "continue_watching" and ctx.known:
                by_kind[kind] = self._continue_watching(ctx, page)
            elif kind == "because_you_watched" and ctx.known:
                by_kind[kind] = self._because_you_watched(ctx, page, sources)
            elif kind == "top_picks" and ctx.known:
                row, variant, version = self._top_picks(ctx, page, now)
                if row:
                    by_kind[kind] = [row]
                    model_version = version or model_version
                    if variant:
                        experiments.append(variant)
            elif kind == "genre":
                by_kind[kind] = self._genre_rows(ctx, page, min(MAX_GENRE_ROWS, rows))
            elif kind in ("trending", "popular", "new_releases"):
                by_kind[kind] = self._list_row(ctx, page, kind, country_name)
        built = [row for kind in order for row in by_kind.get(kind, [])]
        built = built[:rows]
        if ctx.degraded:
            for row in built:
                row["reason"] = f"{row['reason']}. {ctx.degraded}."
        if propensity is not None:
            propensity = round(propensity, 4)
            for row in built:
                for item in row["items"]:
                    item["propensity"] = propensity
        self._log_exposures(ctx, experiments)
        return {
            "request_id": request_id,
            "profile_id": profile_id,
            "personalized": ctx.known,
            "model_version": model_version,
            "generated_at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "experiments": [{"experiment_id": e["experiment_id"], "variant": e["variant"]} for e in experiments],
            "rows": built,
        }

    def _log_exposures(self, ctx: Context, experiments: list[dict]) -> None:
        if self.exposures is None:
            return
        source = ctx.state or ctx.profile or {}
        for e in experiments:
            self.exposures.record(profile_id=ctx.profile_id, account_id=(ctx.profile or {}).get("account_id"),
                                  experiment_id=e["experiment_id"], variant=e["variant"], country=ctx.country,
                                  device_type=ctx.device_type, timezone_name=source.get("timezone"))

    def _continue_watching(self, ctx: Context, page: Page) -> list[dict]:
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
                where += f" — {_name(series, title.get('series_id') or '')}"
                if title.get("season") and title.get("episode"):
                    where += f" S{title['season']}E{title['episode']}"
            return where
        # a rewatch of a finished movie is in progress again, so the completed filter does not apply here
        items = page.take(((tid, score(e)) for tid, e in in_progress), reason, episodes=True, completed=frozenset())
        if not items:
            return []
        return [{"row_id": "continue_watching", "kind": "continue_watching", "title": "Continue watching",
                 "reason": "Titles you started and have not finished", "items": items}]

    def _top_picks(self, ctx: Context, page: Page, now: datetime):
        test = self.experiments.test_for("home.top_picks", now)
        variant = test.assign(ctx.profile_id) if test else None
        if variant == "popularity":
            items = page.take(self._view("popular", ctx),
                              lambda tid, t: f"Popular in {ctx.country or 'your region'} right now")
            version = "popularity"
            row_reason = "The most popular titles you have not seen"
        else:
            candidates = ctx.candidates or {}
            version = candidates.get("model_version")
            items = page.take(candidates.get("items", [])[:CANDIDATES_READ],
                              lambda tid, t: "Matches what you watch" + _genre_hint(ctx, t))
            row_reason = "Ranked for you from your viewing history"
        if not items:
            return None, None, None
        row = {"row_id": "top_picks", "kind": "top_picks", "title": "Top picks for you", "reason": row_reason,
               "items": items}
        return row, ({"experiment_id": test.id, "variant": variant} if test else None), version

    def _because_you_watched(self, ctx: Context, page: Page, sources: list[str]) -> list[dict]:
        rows = []
        for source in sources:
            title = self.titles.lookup(source)
            series_id = (title or {}).get("series_id")
            similar = ctx.similar.get(source) or (ctx.similar.get(series_id) if series_id else None)
            shown = _name(self.titles.lookup(series_id) if series_id else title, series_id or source)
            reason = f"Similar to {shown}, which you finished"
            items = page.take((similar or {}).get("items", []), lambda tid, t, reason=reason: reason)
            if not items:  # none published (no batch since) or none left after filters: share its genres
                reason = f"Shares genres with {shown}, which you finished"
                items = page.take(_genre_neighbours(title, self.lists.get("popular"), self.titles),
                                  lambda tid, t, reason=reason: reason)
            if items:
                rows.append({"row_id": f"because_you_watched:{source}", "kind": "because_you_watched",
                             "title": f"Because you watched {shown}", "reason": reason,
                             "source_title_id": source, "items": items})
        return rows

    def _genre_rows(self, ctx: Context, page: Page, room: int) -> list[dict]:
        if room <= 0:
            return []
        weights: dict[str, float] = {}
        if ctx.known:
            for genre, w in ((ctx.profile or {}).get("genre_affinity") or {}).items():
                weights[genre] = weights.get(genre, 0.0) + float(w)
            recent = (ctx.state or {}).get("recent_genres") or {}
            total = sum(recent.values()) or 1.0
            for genre, w in recent.items():
                weights[genre] = weights.get(genre, 0.0) + float(w) / total
        personal = bool(weights)
        if not personal:  # the genres most present among popular titles
            for _, _, title in self._view("popular", ctx)[:200]:
                for genre in title.get("genres") or ():
                    weights[genre] = weights.get(genre, 0.0) + 1.0
        candidate_genres = [(t, s, (self.titles.lookup(t) or {}).get("genres") or ())
                            for t, s in (ctx.candidates or {}).get("items", [])[:CANDIDATES_READ]]
        rows = []
        for genre, _ in sorted(weights.items(), key=lambda kv: -kv[1]):
            if len(rows) >= room:
                break
            pool = [(t, s) for t, s, genres in candidate_genres if genre in genres]
            pool += self._view("popular", ctx, genre)
            label = genre.replace("_", " ").title()
            reason = f"You often watch {label}" if personal else f"Popular {label} titles"
            items = page.take(pool, lambda tid, t, reason=reason: reason)
            if items:
                rows.append({"row_id": f"genre:{genre}", "kind": "genre", "title": label, "reason": reason,
                             "items": items})
        return rows

    def _list_row(self, ctx: Context, page: Page, kind: str, country_name: str) -> list[dict]:
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
        items = page.take(self._view(kind, ctx), item_reason)
        return [{"row_id": kind, "kind": kind, "title": title, "reason": reason, "items": items}] if items else []

    # -- recommendations and similar ------------------------------------------------------------------
    def recommendations(self, profile_id: str, country: str | None, items: int, request_id: str | None = None) -> dict:
        ctx = Context(profile_id, country, None)
        self._read_profile(ctx)
        if ctx.country is None:
            ctx.country = (ctx.state or {}).get("country") or (ctx.profile or {}).get("country")
        if ctx.degraded is None:
            self._read_details(ctx, [])
        page = Page(ctx, self.titles, items)
        candidates = ctx.candidates or {}
        picked = page.take(candidates.get("items", []), lambda tid, t: "")
        model_version = candidates.get("model_version")
        if not picked:
            picked = page.take(self._view("popular", ctx), lambda tid, t: "")
            model_version = "popularity"
        return {"request_id": request_id or uuid.uuid4().hex, "profile_id": profile_id, "model_version": model_version,
                "items": [{"title_id": i["title_id"], "score": i["score"]} for i in picked]}

    def similar(self, title_id: str, country: str | None, items: int, profile_id: str | None,
                request_id: str | None = None) -> dict | None:
        """Similar titles, or None when the title is unknown (and the store answered)."""
        ctx = Context(profile_id or "", country, None)
        degraded = False
        try:
            def work():
                store = self.store
                self._refresh_lists(store)
                self.titles.load(store.get_many, [title_id])
                similar = store.get("similar", title_id)
                self.titles.load(store.get_many, [t for t, _ in (similar or {}).get("items", [])])
                profile = store.get("profile", profile_id) if profile_id else None
                state = store.get("state", profile_id) if profile_id else None
                return similar, profile, state
            similar, ctx.profile, ctx.state = self.budget.run(work)
        except StoreError as exc:
            log.warning("similar titles for %s fall back to cached lists: %s", title_id, exc)
            similar, degraded = None, True
        source = self.titles.lookup(title_id)
        if source is None and not degraded:
            return None
        if not profile_id:  # no profile: no maturity limit beyond the catalog's own
            ctx.state = {"maturity_rating": "18+"}
        page = Page(ctx, self.titles, items)
        page.claimed.add((source or {}).get("series_id") or title_id)
        if similar and similar.get("items"):
            picked, model_version = page.take(similar["items"], lambda tid, t: ""), similar.get("model_version")
        else:
            picked = page.take(_genre_neighbours(source, self.lists.get("popular"), self.titles), lambda tid, t: "")
            model_version = "genre_popularity"
        return {"request_id": request_id or uuid.uuid4().hex, "title_id": title_id, "model_version": model_version,
                "items": [{"title_id": i["title_id"], "score": i["score"]} for i in picked]}


def _genre_hint(ctx: Context, title: dict) -> str:
    affinity = (ctx.profile or {}).get("genre_affinity") or {}
    best = max((g for g in title.get("genres") or () if g in affinity), key=lambda g: affinity[g], default=None)
    return f" (you like {best.replace('_', ' ')})" if best else ""


def _genre_neighbours(title: dict | None, popular: list, titles: TitleCache) -> list[tuple[str, float]]:
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
