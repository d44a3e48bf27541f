"""Blocking store reads do not serialize the async server: a store whose reads take 150 ms (a network
store such as DynamoDB) serves concurrent pages in parallel, and /healthz answers meanwhile."""
from __future__ import annotations

import asyncio
import time

import httpx
from test_functions_support import API_KEY, LiveServer, make_services, seed

from functions.app import create_app
from streamloop.core.store import OnlineStore
from streamloop.core.store.sqlite import SQLiteStore

READ_S = 0.15


class SlowStore(OnlineStore):
    """SQLite behind a network-like delay on every read; no in-process deadline (like DynamoDB)."""

    def __init__(self, inner: SQLiteStore):
        self.inner = inner

    def get(self, ns, key):
        time.sleep(READ_S)
        return self.inner.get(ns, key)

    def get_many(self, ns, keys):
        time.sleep(READ_S)
        return self.inner.get_many(ns, keys)

    def put_many(self, ns, items):
        self.inner.put_many(ns, items)

    def add_if_absent(self, ns, key, value):
        return self.inner.add_if_absent(ns, key, value)

    def update(self, ns, key, fn):
        return self.inner.update(ns, key, fn)

    def delete(self, ns, key):
        self.inner.delete(ns, key)

    def delete_prefix(self, ns, prefix):
        return self.inner.delete_prefix(ns, prefix)


def test_slow_store_reads_run_concurrently_off_the_event_loop(tmp_path):
    inner = SQLiteStore(tmp_path / "online.sqlite")
    seed(inner)
    services = make_services(tmp_path, store=SlowStore(inner), read_budget_s=5.0,
                             experiments_dir=tmp_path / "no-experiments")
    services.published.ttl_s = services.lists.ttl_s = 3600  # only the page's own reads are slow
    assert not services.reads_inline
    with LiveServer(create_app(services=services)) as server:
        httpx.get(f"{server.url}/v1/profiles/adult/home", headers={"x-api-key": API_KEY}, timeout=30)  # warm

        async def load():
            async with httpx.AsyncClient(base_url=server.url, headers={"x-api-key": API_KEY}, timeout=30) as client:
                start = time.perf_counter()
                pages = [asyncio.create_task(client.get(f"/v1/profiles/adult/home?items={n}")) for n in range(1, 7)]
                await asyncio.sleep(0.05)
                health = await client.get("/healthz")
                health_s = time.perf_counter() - start
                responses = await asyncio.gather(*pages)
                return health, health_s, responses, time.perf_counter() - start
        health, health_s, responses, total_s = asyncio.run(load())
    assert health.status_code == 200 and health_s < 1.0  # not queued behind six pages' reads
    assert all(r.status_code == 200 and r.json()["personalized"] for r in responses)
    one_page_s = 4 * READ_S  # profile, state, candidates, then similar+titles
    assert total_s < 3 * one_page_s  # six pages in series would take 6x
