"""Process-local caches of catalog data read on every page: title metadata and the published lists.

Titles and lists change when the batch publishes (hours), while a page reads hundreds of titles, so
each process keeps them in memory with a TTL. The caches also keep serving their last good copy when
the store fails, which is what lets a page fall back to popular titles during an outage.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from streamloop.core.filters import is_allowed
from streamloop.core.store.generations import (
    POINTER_KEY,
    POINTER_NS,
    UNPUBLISHED,
    get_versioned,
    prefix_for,
    versioned,
)
from streamloop.core.store.values import Generations, ListValue, TitleValue

Reader = Callable[[str, list[str]], dict]   # (namespace, keys) -> {key: value}; may raise StoreError


class Published:
    """Which publication generation this process reads (streamloop.core.store.generations), re-read every
    `ttl_s`. Batch keys are read through `key()`; when the warehouse generation changes the title and list
    caches are dropped, so a page never mixes titles of two publications beyond one TTL."""

    def __init__(self, titles: TitleCache, lists: ListsCache, ttl_s: float = 5.0):
        self.ttl_s = ttl_s
        self.pointer: Generations = UNPUBLISHED
        self._titles, self._lists = titles, lists
        self._fetched_at = float("-inf")
        self._prefix: dict[str, str] = {}
        titles.before_load = self.refresh  # any title read (the collector's too) uses the current generation

    def refresh(self, read: Reader) -> None:
        """Re-reads the pointer if stale (raises what `read` raises)."""
        if time.monotonic() - self._fetched_at <= self.ttl_s:
            return
        pointer = read(POINTER_NS, [POINTER_KEY]).get(POINTER_KEY) or UNPUBLISHED
        if pointer.get("warehouse") != self.pointer.get("warehouse"):
            self._titles.invalidate()
            self._lists.invalidate()
        self.pointer = pointer
        self._prefix = {}
        self._fetched_at = time.monotonic()
        self._titles.prefix = self.prefix("title")
        self._lists.prefix = self.prefix("lists")

    def prefix(self, namespace: str) -> str:
        found = self._prefix.get(namespace)
        if found is None:
            found = self._prefix[namespace] = prefix_for(self.pointer, namespace)
        return found

    def key(self, namespace: str, key: str) -> str:
        return versioned(self.prefix(namespace), key)

LIST_NAMES = ("trending", "popular", "new_releases")


class TitleCache:
    """title_id -> `title` value (None for a title the store does not know), refreshed after `ttl_s`."""

    def __init__(self, ttl_s: float = 300.0, missing_ttl_s: float = 10.0):
        self.ttl_s = ttl_s
        self.missing_ttl_s = missing_ttl_s  # unknown titles are re-checked sooner: a publish may add them
        self._entries: dict[str, tuple[float, TitleValue | None]] = {}
        self.prefix = ""  # the publication generation's key prefix (set by Published)
        self.before_load: Callable[[Reader], None] | None = None

    def lookup(self, title_id: str) -> TitleValue | None:
        """The cached entry, fresh or stale, without reading the store."""
        entry = self._entries.get(title_id)
        return None if entry is None else entry[1]

    def cached(self, title_ids: Iterable[str]) -> dict[str, dict]:
        """What the cache holds for these ids, fresh or stale, without reading the store."""
        out = {}
        for tid in title_ids:
            entry = self._entries.get(tid)
            if entry is not None and entry[1] is not None:
                out[tid] = entry[1]
        return out

    def missing(self, title_ids: Iterable[str]) -> list[str]:
        """Ids absent from the cache or older than the TTL."""
        now = time.monotonic()
        return [tid for tid in dict.fromkeys(title_ids)
                if (entry := self._entries.get(tid)) is None
                or entry[0] < now - (self.ttl_s if entry[1] is not None else self.missing_ttl_s)]

    def load(self, read: Reader, title_ids: Iterable[str]) -> None:
        """Reads the missing/stale ids from the store into the cache (raises what `read` raises)."""
        if self.before_load is not None:
            self.before_load(read)
        todo = self.missing(title_ids)
        if not todo:
            return
        found = get_versioned(read, "title", self.prefix, todo)
        now = time.monotonic()
        for tid in todo:
            self._entries[tid] = (now, found.get(tid))

    def get_many(self, read: Reader, title_ids: Iterable[str]) -> dict[str, dict]:
        ids = list(title_ids)
        self.load(read, ids)
        return self.cached(ids)

    def invalidate(self) -> None:
        self._entries.clear()


class ListsCache:
    """The `lists` namespace (trending, popular, new_releases), re-read after `ttl_s`, stale on failure."""

    def __init__(self, ttl_s: float = 60.0):
        self.ttl_s = ttl_s
        self._lists: dict[str, list] = {}
        self._views: dict[tuple, list] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()
        self.prefix = ""  # the publication generation's key prefix (set by Published)

    def is_stale(self) -> bool:
        return time.monotonic() - self._fetched_at > self.ttl_s

    def invalidate(self) -> None:
        """Re-read on next use (a new publication); the current lists keep serving until then."""
        self._fetched_at = float("-inf")

    def refresh(self, read: Reader) -> None:
        with self._lock:
            found: dict[str, ListValue] = read("lists", [versioned(self.prefix, n) for n in LIST_NAMES])
            self._lists = {name: [(str(t), float(s)) for t, s in
                                  (found.get(versioned(self.prefix, name)) or {}).get("items", [])]
                           for name in LIST_NAMES}
            self._views = {}
            self._fetched_at = time.monotonic()

    def get(self, name: str) -> list[tuple[str, float]]:
        return self._lists.get(name, [])

    def view(self, name: str, titles: TitleCache, country: str | None, max_maturity: str | None,
             genre: str | None = None) -> list[tuple[str, float, dict]]:
        """The list's (title_id, score, title) entries that a (country, maturity) audience may see,
        optionally of one genre. Memoized until the next refresh: every page of that audience reuses it."""
        key = (name, genre, country, max_maturity)
        view = self._views.get(key)
        if view is None:
            view = []
            for title_id, score in self._lists.get(name, []):
                title = titles.lookup(title_id)
                if is_allowed(title, country=country, max_maturity=max_maturity) and \
                        (genre is None or genre in (title.get("genres") or ())):
                    view.append((title_id, score, title))
            if len(self._views) > 50_000:  # bounded: audiences x lists x genres
                self._views = {}
            self._views[key] = view
        return view

    def all_title_ids(self) -> list[str]:
        return [tid for name in LIST_NAMES for tid, _ in self._lists.get(name, [])]
