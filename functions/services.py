"""Everything a request needs, built once per process: settings, the store, caches, experiments, collector.

The store is opened on first use (and re-opened after a failed attempt), so a process whose store is
unreachable still starts and serves degraded pages instead of crashing at import.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from functions.budget import ReadBudget
from functions.catalog import ListsCache, Published, TitleCache
from functions.collector import Collector
from functions.experiments import load_experiments
from functions.exposures import ExposureLog
from functions.home import HomeService
from functions.home_reads import Reads
from functions.home_rows import Rows
from functions.picks import PicksService
from messaging.collector_hook import MessagingHook
from messaging.state import opener as messaging_opener
from streamloop.core.landing import BufferedLanding, landing_for
from streamloop.core.privacy.edge import EdgePrivacy
from streamloop.core.settings import REPO_ROOT, Settings
from streamloop.core.store import OnlineStore, get_store

READ_BUDGET_S = 0.05  # per budgeted read step; a page makes at most three
GROUP_COMMIT_WORKERS = 32  # requests that can wait for one flush together


class Services:
    def __init__(self, settings: Settings, store: OnlineStore | None = None, experiments_dir: Path | None = None,
                 read_budget_s: float = READ_BUDGET_S, bandit_ttl_s: float = 1.0,
                 exposure_batch: int = 500, exposure_max_age_s: float = 5.0):
        self.settings = settings
        self.inline_reads = True  # benchmarks/serving.py --threadpool measures the alternative
        self._store = store
        self._store_lock = threading.Lock()
        self.titles = TitleCache()
        self.lists = ListsCache()
        self.experiments = load_experiments(experiments_dir or REPO_ROOT / "experiments")
        self.budget = ReadBudget(read_budget_s, self.get_store)
        self.landing = None if settings.landing == "direct" else landing_for(settings)
        self.collector = Collector(self.get_store, settings.lake_root, self.titles, self.experiments,
                                   messaging=MessagingHook(settings.outbox_file, REPO_ROOT / "campaigns",
                                                           settings.messaging_contact_secret,
                                                           open_ledger=messaging_opener(settings)),
                                   landing=self.landing, privacy=EdgePrivacy.from_settings(settings))
        # one ingest at a time per process, off the event loop: validation is CPU-bound Python (more
        # threads would only contend for the GIL) and SQLite takes one writer at a time anyway
        # …except under group commit, where a request spends its time waiting for the flush: one worker
        # would let only one request into each flush (streamloop/core/landing.py)
        workers = GROUP_COMMIT_WORKERS if isinstance(self.landing, BufferedLanding) else 1
        self.ingest_executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest")
        self.exposures = ExposureLog(self.collector, exposure_batch, exposure_max_age_s)
        self.published = Published(self.titles, self.lists)
        reads = Reads(self.get_store, self.budget, self.titles, self.lists, self.published)
        reads.personalization_default = settings.personalization_default
        rows = Rows(self.titles, self.lists, self.experiments)
        self.home = HomeService(reads, rows, self.experiments, self.exposures, bandit_ttl_s=bandit_ttl_s)
        self.picks = PicksService(reads, rows)

    async def call(self, fn, *args, **kwargs):
        """Runs a read route's work without blocking the event loop on the store: inline when the store reads
        in-process under its own deadline (SQLite: µs reads, interrupted at the budget), else on the
        threadpool (DynamoDB: network reads), so one slow read never serializes the server."""
        if self.reads_inline:
            return fn(*args, **kwargs)
        return await run_in_threadpool(fn, *args, **kwargs)

    @property
    def reads_inline(self) -> bool:
        if not self.inline_reads:
            return False
        if self._store is None:  # not opened yet (first request): decide by the configured backend
            return self.settings.online_store != "dynamodb"
        return hasattr(type(self._store), "deadline")

    def get_store(self) -> OnlineStore:
        """The online store, opened on first use; raises StoreError while it cannot be opened."""
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    self._store = get_store(self.settings)
        return self._store

    def close(self) -> None:
        self.ingest_executor.shutdown(wait=True)
        self.exposures.close()
        if hasattr(self.landing, "close"):  # the group-commit buffer flushes what it holds
            self.landing.close()
        self.budget.close()
        if self._store is not None:
            self._store.close()
