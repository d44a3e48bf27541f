"""Seen means seen (#10.2): every list a profile gets — model candidates, the popularity fallback, genre rows,
trending, because-you-watched, /recommendations and /similar — excludes what the warehouse published as
finished and what the collector saw finished since (a movie, or a series' last episode)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from test_functions_support import catalog, event, make_services

from ml.publish import publish_warehouse
from streamloop.core.filters import seen_title_ids
from streamloop.core.store.sqlite import SQLiteStore

FINISHED = ["m0", "m1", "m5", "m10"]  # published with the profile: m0/m1 top the popular list, m5 a candidate


@pytest.fixture
def services(tmp_path):
    services = make_services(tmp_path, experiments_dir=tmp_path / "no-experiments")
    store = services.get_store()
    store.put("title", "s1", store.get("title", "s1") | {"last_episode_id": "s1e2"})
    store.put("profile", "viewer", {
        "account_id": "a9", "is_kids": False, "maturity_rating": "18+", "country": "US", "timezone": "UTC",
        "genre_affinity": {"drama": 0.7, "comedy": 0.3}, "churn_risk": None, "segment": None,
        "finished_title_ids": FINISHED})
    store.put("candidates", "viewer", {"model_version": "recommender-v4", "model_kind": "baseline",
                                       "model_name": "ease",
                                       "items": [[t, 1 - k / 10] for k, t in enumerate(["m5", "m0", "m2", "m6", "s1",
                                                                                        "m8"])]})
    store.put("similar", "m12", {"model_version": "recommender-v4", "items": [["m0", 0.9], ["m1", 0.8],
                                                                             ["m2", 0.7], ["m14", 0.6]]})
    yield services
    services.close()


def _ids(items):
    return [i["title_id"] for i in items]


def _rows(page):
    return {row["row_id"]: _ids(row["items"]) for row in page["rows"]}


def test_model_candidates_skip_published_finished_titles(services):
    recs = services.picks.recommendations("viewer", "US", 10)
    assert _ids(recs["items"]) == ["m2", "m6", "s1", "m8"]
    assert recs["model_version"] == "recommender-v4:baseline:ease"  # a baseline that won its gate serves
    page = services.home.home("viewer", "US", "tv", 8, 10)
    assert page["model_version"] == "recommender-v4:baseline:ease"
    assert _rows(page)["top_picks"] == ["m2", "m6", "s1", "m8"]


def test_every_home_row_and_the_fallback_skip_finished_titles(services):
    page = services.home.home("viewer", "US", "tv", 20, 30)
    rows = _rows(page)
    assert {"top_picks", "trending", "genre:drama", "genre:comedy"} <= set(rows)
    for row_id, ids in rows.items():
        assert not set(ids) & set(FINISHED), row_id
    services.get_store().delete("candidates", "viewer")  # no model can serve: the popularity fallback
    recs = services.picks.recommendations("viewer", "US", 3)
    assert recs["model_version"] == "popularity" and _ids(recs["items"]) == ["m2", "m4", "m6"]
    page = services.home.home("viewer", "US", "tv", 8, 3)
    assert page["model_version"] == "popularity" and _rows(page)["top_picks"] == ["m2", "m4", "m6"]


def test_what_the_collector_saw_finished_is_seen_at_once(services):
    now = datetime.now(UTC)
    result = services.collector.ingest([
        event("play_complete", "viewer", title_id="m12", position_s=6000, occurred_at=now - timedelta(seconds=5)),
        event("play_complete", "viewer", title_id="m2", position_s=6000, occurred_at=now - timedelta(seconds=50)),
        # the finale: the series s1 is finished
        event("play_complete", "viewer", title_id="s1e2", position_s=1800, occurred_at=now - timedelta(seconds=60)),
    ])
    assert result.accepted == 3
    recs = services.picks.recommendations("viewer", "US", 10)
    assert _ids(recs["items"]) == ["m6", "m8"]  # m2 and the series s1 are gone too
    rows = _rows(services.home.home("viewer", "US", "tv", 20, 30))
    # because_you_watched m12: its similar titles minus everything seen (m0, m1 published; m2 just now)
    assert rows["because_you_watched:m12"] == ["m14"]
    seen = set(FINISHED) | {"m12", "m2", "s1"}
    for row_id, ids in rows.items():
        assert not set(ids) & seen, row_id
    assert _ids(services.picks.similar("m12", "US", 10, "viewer")["items"]) == ["m14"]
    assert _ids(services.picks.similar("m12", "US", 10, None)["items"]) == ["m0", "m1", "m2", "m14"]


def test_an_episode_short_of_the_finale_does_not_finish_its_series(services):
    services.collector.ingest([event("play_complete", "viewer", title_id="s1e1", position_s=1800)])
    assert "s1" in _ids(services.picks.recommendations("viewer", "US", 10)["items"])


def test_seen_title_ids_rules():
    titles = {"s1": {"kind": "series", "last_episode_id": "s1e2"}, "m1": {"kind": "movie"},
              "s1e1": {"kind": "episode", "series_id": "s1"}}
    completed = [{"title_id": "m1", "series_id": None, "kind": None, "at": 3},   # kind from the catalog
                 {"title_id": "s1e1", "series_id": "s1", "kind": "episode", "at": 2},
                 {"title_id": "x9", "series_id": None, "kind": None, "at": 1}]   # unknown title: not a movie
    assert seen_title_ids(["m7"], completed, titles.get) == {"m7", "m1"}
    completed.append({"title_id": "s1e2", "series_id": "s1", "kind": "episode", "at": 4})
    assert seen_title_ids(None, completed, titles.get) == {"m1", "s1"}


def test_the_collector_reads_titles_of_the_current_publication(tmp_path):
    # GIVEN a catalog published as a generation (keys `<generation>/<title_id>`) and a process that has
    # served no page yet
    store = SQLiteStore(tmp_path / "online.sqlite")
    titles = catalog()
    titles["s1"]["last_episode_id"] = "s1e2"
    for value in titles.values():
        value.setdefault("season", None)
        value.setdefault("episode", None)
        value.setdefault("runtime_s", None)
    popular = {"generated_at": "2026-12-01T00:00:00+00:00", "items": [["s1", 9.0], ["m0", 8.0]]}
    publish_warehouse(store, {"title": titles, "profile": {}, "lists": {"popular": popular}})
    services = make_services(tmp_path, store=store, experiments_dir=tmp_path / "no-experiments")
    # WHEN the collector takes the finale's completion
    services.collector.ingest([event("play_complete", "viewer", title_id="s1e2", position_s=1800)])
    # THEN the real-time state knows it was an episode of s1 (from the published title), so s1 is seen
    completed = store.get("state", "viewer")["completed"]
    assert completed[0] | {"at": 0} == {"title_id": "s1e2", "series_id": "s1", "kind": "episode", "at": 0}
    assert _ids(services.picks.recommendations("viewer", "US", 50)["items"]) == ["m0"]
    services.close()
