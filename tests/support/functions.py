"""Shared helpers for the serving tests (no tests here): a hand-made catalog in the documented
online-store shapes, a seeded Services, a uvicorn server on a free loopback port, and event builders."""
from __future__ import annotations

import socket
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import uvicorn

from functions.app import create_app
from functions.services import Services
from streamloop.core.settings import REPO_ROOT, Settings
from streamloop.core.store.sqlite import SQLiteStore

API_KEY = "test-key-1"
ADMIN_KEY = "test-admin-key-1"  # given only where a test passes admin_keys=ADMIN_KEY
GENRES = ("drama", "comedy", "action", "documentary", "kids")
RATINGS = ("all", "7+", "13+", "16+", "18+")


def catalog() -> dict[str, dict]:
    """30 movies with varied genres, ratings and availability, one series with two episodes."""
    titles = {}
    for i in range(30):
        countries = ["DE"] if i % 10 == 3 else ["US", "CA"] if i % 10 == 7 else ["*"]
        titles[f"m{i}"] = {"name": f"Movie {i}", "kind": "movie", "genres": [GENRES[i % 5], GENRES[(i + 2) % 5]],
                           "maturity_rating": RATINGS[i % 5], "available_countries": countries,
                           "release_date": f"2026-{1 + i % 12:02d}-01", "series_id": None, "popularity": 100 - i,
                           "runtime_s": 6000}
    titles["s1"] = {"name": "Series One", "kind": "series", "genres": ["drama"], "maturity_rating": "all",
                    "available_countries": ["*"], "release_date": "2025-01-01", "series_id": None, "popularity": 90}
    for n in (1, 2):
        titles[f"s1e{n}"] = {"name": f"Series One S1E{n}", "kind": "episode", "genres": ["drama"],
                             "maturity_rating": "all", "available_countries": ["*"], "release_date": "2025-01-01",
                             "series_id": "s1", "season": 1, "episode": n, "popularity": 50, "runtime_s": 1800}
    return titles


def seed(store) -> dict[str, dict]:
    titles = catalog()
    store.put_many("title", titles)
    ranked = sorted((t for t, v in titles.items() if v["kind"] != "episode"), key=lambda t: -titles[t]["popularity"])
    now = datetime.now(UTC).isoformat()
    store.put_many("lists", {
        "popular": {"generated_at": now, "items": [[t, titles[t]["popularity"] / 100] for t in ranked]},
        "trending": {"generated_at": now, "items": [[t, 1 - k / 40] for k, t in enumerate(reversed(ranked))]},
        "new_releases": {"generated_at": now, "items": [[f"m{i}", 1 - i / 40] for i in (11, 23, 6, 18, 4)]},
    })
    store.put_many("profile", {
        "adult": {"account_id": "a1", "is_kids": False, "maturity_rating": "18+", "country": "US",
                  "timezone": "America/New_York", "genre_affinity": {"comedy": 0.6, "action": 0.3},
                  "churn_risk": 0.1, "segment": "regular"},
        "kid": {"account_id": "a1", "is_kids": True, "maturity_rating": "7+", "country": "US",
                "timezone": "America/New_York", "genre_affinity": {"kids": 0.9}, "churn_risk": 0.1,
                "segment": "regular"},
    })
    # candidates deliberately include titles the filters must remove (DE-only m3, 18+ m4, episodes)
    store.put_many("candidates", {
        "adult": {"model_version": "ranker@7", "items": [[t, round(1 - k / 50, 3)] for k, t in
                                                          enumerate(["m3", "m4", "m9", "m1", "m2", "s1", "m13", "m5",
                                                                     "m6", "m8", "m10", "m12", "m14", "m15"])]},
        "kid": {"model_version": "ranker@7", "items": [[t, 1 - k / 50] for k, t in
                                                        enumerate(["m4", "m9", "m0", "m1", "m5", "m6", "m10"])]},
    })
    store.put_many("similar", {
        "m1": {"model_version": "itemknn@7", "items": [["m3", 0.9], ["m11", 0.8], ["m16", 0.7], ["m21", 0.6]]},
        "m10": {"model_version": "itemknn@7", "items": [["m20", 0.9], ["m25", 0.8], ["m15", 0.7]]},
    })
    return titles


def make_services(tmp_path, *, store=None, api_keys: str = API_KEY, admin_keys: str = "", allow_open: bool = False,
                  **kwargs) -> Services:
    settings = Settings(home=tmp_path, api_keys=api_keys, admin_keys=admin_keys, allow_open=allow_open)
    if store is None:
        store = SQLiteStore(tmp_path / "online.sqlite")
        seed(store)
    kwargs.setdefault("experiments_dir", REPO_ROOT / "experiments")
    kwargs.setdefault("bandit_ttl_s", 0.0)
    return Services(settings, store=store, **kwargs)


def event(event_type: str, profile_id: str | None = "adult", *, event_id: str | None = None,
          occurred_at: datetime | None = None, country: str = "US", **properties) -> dict:
    occurred_at = occurred_at or datetime.now(UTC) - timedelta(seconds=5)
    return {
        "event_id": event_id or uuid.uuid4().hex,
        "event_type": event_type,
        "occurred_at": occurred_at.isoformat(),
        "device_id": "dev-1",
        "profile_id": profile_id,
        "account_id": "a1" if profile_id else None,
        "context": {"country": country, "device_type": "tv", "app_version": "5.1.0", "os": "tizen",
                    "timezone": "America/New_York"},
        "properties": properties,
        "schema_version": 1,
    }


def page_title_ids(page: dict) -> list[str]:
    return [item["title_id"] for row in page["rows"] for item in row["items"]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The app under uvicorn on 127.0.0.1, in a background thread."""

    def __init__(self, app):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


@contextmanager
def serve(tmp_path, **kwargs):
    """(base url, services) of a seeded app served over real HTTP."""
    services = make_services(tmp_path, **kwargs)
    with LiveServer(create_app(services=services)) as server:
        yield server.url, services
