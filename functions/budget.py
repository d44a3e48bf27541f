"""A time budget for online store reads, so a slow or hung store cannot hold a page hostage.

A store that can enforce a deadline itself (SQLite: a progress handler interrupts the query) reads
inline, which is cheapest. Any other store (DynamoDB, wrappers) reads on a small thread pool and the
caller waits at most `timeout_s`; a read that overruns is abandoned (its thread finishes in the
background). Either way an overrun is a StoreError, on which pages fall back to cached popular titles.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from streamloop.core.store import OnlineStore, StoreError


class ReadBudget:
    def __init__(self, timeout_s: float, store_factory: Callable[[], OnlineStore], workers: int = 8):
        self.timeout_s = timeout_s
        self._store_factory = store_factory
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="store-read")

    def run(self, fn, *args):
        """fn(*args) within the budget; raises StoreError on timeout or on a store failure."""
        store = self._store_factory()
        if hasattr(type(store), "deadline"):
            with store.deadline(self.timeout_s):
                return fn(*args)
        future = self._pool.submit(fn, *args)
        try:
            return future.result(timeout=self.timeout_s)
        except FutureTimeout:
            future.cancel()
            raise StoreError(f"online store read exceeded its {self.timeout_s * 1000:.0f} ms budget") from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
