"""The read side of a page: what one request knows about its profile, and the budgeted store reads.

A page makes at most two budgeted reads (profile/state/candidates, then similar titles and catalog
entries not cached yet) plus process-local caches of titles, lists and the publication pointer. Batch
namespaces are read under the current publication generation (catalog.Published), so one request never
mixes two publications. Any store failure marks the context degraded; pages then use cached lists.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from functions.budget import ReadBudget
from functions.catalog import ListsCache, Published, TitleCache
from streamloop.core.filters import profile_max_maturity, seen_title_ids
from streamloop.core.store import OnlineStore, StoreError
from streamloop.core.store.generations import get_versioned
from streamloop.core.store.values import CandidatesValue, ProfileValue, SimilarValue, StateValue

log = logging.getLogger("streamloop.home")

CANDIDATES_READ = 300            # ranked candidates considered per page
MAX_BECAUSE_ROWS = 2
DEGRADED = "Personalized rows are unavailable right now"


@dataclass
class Context:
    """What one request knows about its profile, after the reads, and what its rows decided."""
    profile_id: str
    country: str | None
    device_type: str | None
    now: datetime | None = None
    max_rows: int = 8
    profile: ProfileValue | None = None
    state: StateValue | None = None
    candidates: CandidatesValue | None = None
    similar: dict[str, SimilarValue] = field(default_factory=dict)
    degraded: str | None = None       # why the page could not be personalized, if it could not
    sources: list[str] = field(default_factory=list)  # finished titles because_you_watched rows are about
    experiments: list[dict] = field(default_factory=list)
    model_version: str = "popularity"  # what produced Top Picks (values.served_model_version)
    personalization_default: bool = True  # STREAMLOOP_PERSONALIZATION_DEFAULT: no consent decision recorded
    _seen: frozenset[str] | None = None

    @property
    def profiling_allowed(self) -> bool:
        """May rows be built from this profile's profile (top picks, because-you-watched, genre affinity)?

        The newest decision wins: the collector's real-time state (it counts from the next request on),
        then the published warehouse value, then the documented default (docs/privacy.md "Consent")."""
        if self.state and "personalization" in self.state:
            return bool(self.state["personalization"])
        published = (self.profile or {}).get("personalization")
        return self.personalization_default if published is None else bool(published)

    @property
    def known(self) -> bool:
        return self.degraded is None and bool(self.profile or self.state or self.candidates)

    @property
    def max_maturity(self) -> str:
        return profile_max_maturity(self.state, self.profile)

    @property
    def completed(self) -> list[dict]:
        return (self.state or {}).get("completed", [])

    def seen(self, titles: TitleCache) -> frozenset[str]:
        """Titles never offered to this profile again (streamloop.core.filters.seen_title_ids)."""
        if self._seen is None:
            self._seen = seen_title_ids((self.profile or {}).get("finished_title_ids"), self.completed,
                                        titles.lookup)
        return self._seen

    def fill_request_context(self) -> None:
        """Country and device the request did not give: the profile's latest device event's (real-time
        state), else the published profile's country."""
        if self.country is None:
            self.country = (self.state or {}).get("country") or (self.profile or {}).get("country")
        if self.device_type is None:
            self.device_type = (self.state or {}).get("device_type")


class Reads:
    """Budgeted reads of the online store into a Context."""

    def __init__(self, store_factory: Callable[[], OnlineStore], budget: ReadBudget, titles: TitleCache,
                 lists: ListsCache, published: Published):
        self._store_factory = store_factory
        self.budget = budget
        self.titles = titles
        self.lists = lists
        self.published = published
        self.personalization_default = True  # set from settings by functions/services.py

    @property
    def store(self) -> OnlineStore:
        return self._store_factory()

    def refresh_caches(self, store: OnlineStore) -> None:
        self.published.refresh(store.get_many)
        if self.lists.is_stale():
            self.lists.refresh(store.get_many)
            self.titles.load(store.get_many, self.lists.all_title_ids())

    def _batch(self, store: OnlineStore, namespace: str, key: str):
        return store.get(namespace, self.published.key(namespace, key))

    def profile(self, ctx: Context) -> None:
        """Profile, real-time state and candidates (first budgeted read)."""
        ctx.personalization_default = self.personalization_default
        def work():
            store = self.store
            self.refresh_caches(store)
            return (self._batch(store, "profile", ctx.profile_id), store.get("state", ctx.profile_id),
                    self._batch(store, "candidates", ctx.profile_id))
        try:
            ctx.profile, ctx.state, ctx.candidates = self.budget.run(work)
        except StoreError as exc:
            ctx.degraded = DEGRADED
            log.warning("page for %s falls back to cached lists: %s", ctx.profile_id, exc)
        ctx.fill_request_context()

    def details(self, ctx: Context, sources: list[str]) -> None:
        """Similar titles of the page's sources, and catalog entries not yet cached (second read)."""
        def work():
            store = self.store
            similar = self.similar_many(store, sources)
            ids = list((ctx.state or {}).get("in_progress", {})) + [c["title_id"] for c in ctx.completed]
            ids += [c["series_id"] for c in ctx.completed if c.get("series_id")]
            ids += [t for t, _ in (ctx.candidates or {}).get("items", [])[:CANDIDATES_READ]]
            ids += [t for s in similar.values() for t, _ in s.get("items", [])]
            self.titles.load(store.get_many, ids)
            return similar
        if ctx.degraded is not None:
            return
        try:
            ctx.similar = self.budget.run(work)
        except StoreError as exc:
            log.warning("page for %s uses cached titles only: %s", ctx.profile_id, exc)

    def similar_many(self, store: OnlineStore, title_ids: list[str]) -> dict[str, SimilarValue]:
        if not title_ids:
            return {}
        return get_versioned(store.get_many, "similar", self.published.prefix("similar"), title_ids)

    def similar_of(self, ctx: Context, title_id: str) -> SimilarValue | None:
        """A title's similar titles and, with a profile, its profile and state (one budgeted read)."""
        def work():
            store = self.store
            self.refresh_caches(store)
            self.titles.load(store.get_many, [title_id])
            similar = self._batch(store, "similar", title_id)
            self.titles.load(store.get_many, [t for t, _ in (similar or {}).get("items", [])])
            if ctx.profile_id:
                ctx.profile = self._batch(store, "profile", ctx.profile_id)
                ctx.state = store.get("state", ctx.profile_id)
                self.titles.load(store.get_many, [c["series_id"] for c in ctx.completed if c.get("series_id")])
            return similar
        try:
            return self.budget.run(work)
        except StoreError as exc:
            ctx.degraded = DEGRADED
            log.warning("similar titles for %s fall back to cached lists: %s", title_id, exc)
            return None
