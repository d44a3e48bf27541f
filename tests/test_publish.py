"""The publication round trip (#8.2): a small warehouse built by dbt from hand-made events, published with
ml.publish, then served by the API's services from exactly what was published — profiles with what they
finished, titles with the fields readers need, the warehouse's own lists, and one model's lists behind an
atomic generation flip."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest
from conftest import land_events, use_home
from test_functions_support import make_services

from ml.publish import ModelIdentity, _genre_keys, publish_all, publish_candidates, publish_warehouse
from streamloop.app.build import run_build
from streamloop.core.settings import DBT_PROJECT_DIR, get_settings
from streamloop.core.store.generations import current
from streamloop.core.store.sqlite import SQLiteStore
from streamloop.core.store.values import validate

RECEIVED_AT = datetime(2026, 2, 21, 12, 0, tzinfo=UTC)
DAY = datetime(2026, 2, 18, 20, 0, tzinfo=UTC)
CATALOG = [
    {"title_id": "m1", "name": "One", "kind": "movie", "genres": ["Sci-Fi", "Drama"], "runtime_s": 1000,
     "release_date": "2025-06-01"},
    {"title_id": "m2", "name": "Two", "kind": "movie", "genres": ["Comedy"], "runtime_s": 1000,
     "release_date": "2025-07-01"},
    {"title_id": "m3", "name": "Three", "kind": "movie", "genres": ["Drama"], "runtime_s": 1000,
     "release_date": "2025-08-01"},
    {"title_id": "m4", "name": "Four", "kind": "movie", "genres": ["Comedy"], "runtime_s": 1000,
     "release_date": "2026-01-10"},
    {"title_id": "m5", "name": "Five", "kind": "movie", "genres": ["Action"], "runtime_s": 1000,
     "release_date": "2026-02-01"},
    {"title_id": "s1", "name": "Show", "kind": "series", "genres": ["Drama"], "release_date": "2025-01-01"},
    {"title_id": "s1e1", "name": "Show S1E1", "kind": "episode", "series_id": "s1", "season": 1, "episode": 1,
     "genres": ["Drama"], "runtime_s": 500, "release_date": "2025-01-01"},
    {"title_id": "s1e2", "name": "Show S1E2", "kind": "episode", "series_id": "s1", "season": 1, "episode": 2,
     "genres": ["Drama"], "runtime_s": 500, "release_date": "2025-01-01"},
]
# (profile, title, completed?) in viewing order, one play each
PLAYS = [("p1", "m1", True), ("p1", "s1e2", True), ("p1", "m2", False),
         ("p2", "m1", True), ("p2", "m3", True), ("p2", "s1e1", True),
         ("p3", "m2", False)]


def _event(event_id, event_type, profile, at, **properties):
    return {"event_id": event_id, "event_type": event_type, "occurred_at": at.isoformat(),
            "device_id": f"dev-{profile}", "profile_id": profile, "account_id": f"a-{profile}",
            "context": {"country": "US", "device_type": "tv", "app_version": "5.1", "os": "tizen",
                        "timezone": "America/New_York"},
            "properties": properties, "schema_version": 1}


def _events() -> list[dict]:
    runtime = {t["title_id"]: t.get("runtime_s") for t in CATALOG}
    events = []
    for n, (profile, title, completed) in enumerate(PLAYS):
        start = DAY + timedelta(hours=n)
        events.append(_event(f"e{n}a", "play_start", profile, start, title_id=title, position_s=0,
                             duration_s=runtime[title]))
        end = start + timedelta(seconds=runtime[title])
        if completed:
            events.append(_event(f"e{n}b", "play_complete", profile, end, title_id=title, position_s=runtime[title]))
        else:
            events.append(_event(f"e{n}b", "play_stop", profile, start + timedelta(seconds=100), title_id=title,
                                 position_s=100))
    return events


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    home = use_home(mp, tmp_path_factory.mktemp("publish") / "home")
    catalog = [{"moods": [], "cast": [], "maturity_rating": "all", "available_countries": ["*"], "series_id": None,
                "season": None, "episode": None, "runtime_s": None} | t for t in CATALOG]
    land_events(catalog, RECEIVED_AT, kind="catalog", batch_id="cat")
    land_events(_events(), RECEIVED_AT, batch_id="plays")
    run_build()
    yield {"home": home, "warehouse": get_settings().warehouse_file}
    mp.undo()
    get_settings.cache_clear()


def _frame(lists: dict[str, list[str]], key: str, item: str) -> pd.DataFrame:
    rows = [(k, t, 1.0 - r / 10, r) for k, ts in lists.items() for r, t in enumerate(ts)]
    return pd.DataFrame(rows, columns=[key, item, "score", "rank"])


CANDIDATES = {"p1": ["m1", "s1", "m3", "m4", "m5"], "p2": ["m1", "s1", "m4", "m2"]}
SIMILAR = {"m1": ["s1", "m2", "m3"], "m3": ["m1", "m4", "s1"]}


@pytest.fixture
def published(built, tmp_path):
    store = SQLiteStore(tmp_path / "online.sqlite")
    con = duckdb.connect(str(built["warehouse"]), read_only=True)
    try:
        written = publish_all(store, con, ModelIdentity("recommender-v2"), _frame(CANDIDATES, "profile_id", "content_id"),
                              _frame(SIMILAR, "title_id", "similar_title_id"))
    finally:
        con.close()
    services = make_services(tmp_path, store=store, experiments_dir=tmp_path / "no-experiments")
    yield SimpleNamespace(services=services, store=store, written=written, built=built)
    services.close()


def _warehouse(built, sql):
    con = duckdb.connect(str(built["warehouse"]), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _raw(store, namespace, key):
    """A published value, read the way serving does (under the current generation)."""
    pointer = current(store)
    generation = pointer["model"] if namespace in ("candidates", "similar") else pointer["warehouse"]
    return store.get(namespace, f"{generation}/{key}")


@pytest.mark.slow
def test_publication_writes_what_the_warehouse_computed(published):
    store, written, built = published.store, published.written, published.built
    assert written == {"profile": 3, "title": 8, "lists": 3, "candidates": 2, "similar": 2}
    p1, p2, p3 = (_raw(store, "profile", p) for p in ("p1", "p2", "p3"))
    # finished: movies completed, and a series once its finale (S1E2) was completed; p2 saw only S1E1
    assert p1["finished_title_ids"] == ["m1", "s1"]
    assert p2["finished_title_ids"] == ["m1", "m3"]
    assert p3["finished_title_ids"] == []
    # genre affinity is profile_features' own, at the latest snapshot
    (affinity,) = _warehouse(built, "select genre_affinity from profile_features where profile_id = 'p2' "
                                    "order by snapshot_date desc limit 1")[0]
    assert p2["genre_affinity"] == json.loads(affinity) and p2["genre_affinity"]
    assert p1["country"] == "US" and p1["timezone"] == "America/New_York" and p1["account_id"] == "a-p1"
    # titles carry the fields readers need; genres keyed as the warehouse keys them
    assert _raw(store, "title", "s1e2") | {} == {
        "name": "Show S1E2", "kind": "episode", "genres": ["drama"], "maturity_rating": "all",
        "available_countries": ["*"], "release_date": "2025-01-01", "series_id": "s1", "season": 1, "episode": 2,
        "runtime_s": 500, "popularity": 0}
    assert _raw(store, "title", "s1")["last_episode_id"] == "s1e2"
    assert _raw(store, "title", "m1")["genres"] == ["sci_fi", "drama"]
    for namespace, key in (("profile", "p1"), ("title", "s1"), ("candidates", "p1"), ("similar", "m1"),
                           ("lists", "popular")):
        validate(namespace, key, _raw(store, namespace, key))


@pytest.mark.slow
def test_lists_are_the_warehouse_title_features(published):
    store, built = published.store, published.built
    latest = "(select max(snapshot_date) from title_features)"
    popular = _warehouse(built, f"select title_id, unique_viewers_28d from title_features where snapshot_date = "
                                f"{latest} and unique_viewers_28d > 0 order by unique_viewers_28d desc, title_id")
    trending = _warehouse(built, f"select title_id, plays_7d from title_features where snapshot_date = {latest} "
                                 f"and plays_7d > 0 order by plays_7d desc, trending_velocity desc, title_id")
    assert _raw(store, "lists", "popular")["items"] == [[t, float(n)] for t, n in popular]
    assert _raw(store, "lists", "trending")["items"] == [[t, float(n)] for t, n in trending]
    # two viewers each of m1 (p1, p2), m2 (p1, p3) and the series s1 (episodes count toward it), one of m3
    assert popular == [("m1", 2), ("m2", 2), ("s1", 2), ("m3", 1)]
    assert _raw(store, "title", "m1")["popularity"] == 2
    # new releases: newest first, released before the snapshot
    assert [t for t, _ in _raw(store, "lists", "new_releases")["items"]][:3] == ["m5", "m4", "m3"]


@pytest.mark.slow
def test_pages_serve_exactly_what_was_published_and_never_a_finished_title(published):
    services = published.services
    recs = services.picks.recommendations("p1", "US", 10)
    assert recs["model_version"] == "recommender-v2"
    assert [i["title_id"] for i in recs["items"]] == ["m3", "m4", "m5"]  # m1 and s1 are finished
    assert [i["score"] for i in recs["items"]] == [0.8, 0.7, 0.6]
    page = services.home.home("p1", "US", "tv", 8, 10)
    assert page["personalized"] is True and page["model_version"] == "recommender-v2"
    rows = {row["row_id"]: [i["title_id"] for i in row["items"]] for row in page["rows"]}
    assert rows["top_picks"] == ["m3", "m4", "m5"]
    shown = [t for items in rows.values() for t in items]
    assert "m1" not in shown and "s1" not in shown and len(shown) == len(set(shown))
    assert [r for r in rows if r.startswith("genre:")]  # from the published genre affinity
    similar = services.picks.similar("m1", "US", 10, None)
    assert [i["title_id"] for i in similar["items"]] == ["s1", "m2", "m3"]
    assert similar["model_version"] == "recommender-v2"
    similar = services.picks.similar("m1", "US", 10, "p1")  # p1 finished s1
    assert [i["title_id"] for i in similar["items"]] == ["m2", "m3"]


@pytest.mark.slow
def test_a_baseline_republished_alone_is_seen_whole_and_old_generations_are_retired(published):
    services, store = published.services, published.store
    first = current(store)
    baseline = ModelIdentity("recommender-v3", "baseline", "ease")
    publish_candidates(store, baseline, _frame({"p1": ["m5", "m4"], "p2": ["m2"]}, "profile_id", "content_id"),
                       _frame({"m1": ["m4"]}, "title_id", "similar_title_id"))
    second = current(store)
    assert second["warehouse"] == first["warehouse"] and second["model"] != first["model"]
    assert second["model_version"] == "recommender-v3" and second["model_kind"] == "baseline"
    services.published.ttl_s = 0  # see the flip at once (serving re-reads the pointer every few seconds)
    recs = services.picks.recommendations("p1", "US", 10)
    assert recs["model_version"] == "recommender-v3:baseline:ease"
    assert [i["title_id"] for i in recs["items"]] == ["m5", "m4"]
    assert services.home.home("p1", "US", "tv", 8, 10)["model_version"] == "recommender-v3:baseline:ease"
    # the previous generation stays for readers holding the old pointer; the one before it is deleted
    assert store.get("candidates", f"{first['model']}/p1") is not None
    publish_candidates(store, baseline, _frame({"p1": ["m4"]}, "profile_id", "content_id"))
    assert store.get("candidates", f"{first['model']}/p1") is None
    assert store.get("similar", f"{first['model']}/m1") is None
    assert store.get("candidates", f"{second['model']}/p1") is not None
    assert store.get("profile", f"{first['warehouse']}/p1") is not None  # its family did not move


def test_genre_keys_match_the_warehouse_macro():
    labels = ["Sci-Fi", "Children's", " Film-Noir ", "drama", "War & Politics", "--x--"]
    macros = (DBT_PROJECT_DIR / "macros" / "features" / "feature_sql.sql").read_text()
    expression = re.search(r"macro default__features_genre_key\(genre_expr\) -%}(.*?){%- endmacro",
                           macros, re.DOTALL).group(1).strip().replace("{{ genre_expr }}", "g")
    sql = f"select list_transform(?, lambda g: {expression})"
    con = duckdb.connect()
    try:
        warehouse = con.execute(sql, [labels]).fetchone()[0]
    finally:
        con.close()
    assert _genre_keys(labels) == warehouse == ["sci_fi", "children_s", "film_noir", "drama", "war_politics", "x"]


def test_publish_candidates_takes_a_registry_ref_and_ranked_lists(tmp_path):
    # GIVEN a published catalog, and the registry promoting a baseline (a ModelRef-like object)
    from test_functions_support import catalog

    store = SQLiteStore(tmp_path / "online.sqlite")
    titles = {tid: {"season": None, "episode": None, "runtime_s": None} | value for tid, value in catalog().items()}
    publish_warehouse(store, {"title": titles, "profile": {}, "lists": {}})
    ref = SimpleNamespace(name="recommender", version=4, model_version="recommender:v4", model_kind="baseline",
                          model_name="ease")
    # WHEN its ranked lists are published
    written = publish_candidates(store, ref, {"adult": [("m4", 0.9), ("m2", 0.8), ("m3", 0.7)]})
    # THEN readers get exactly them, labelled with the model that produced them
    assert written == {"candidates": 1}
    assert current(store)["model_version"] == "recommender:v4" and current(store)["model_name"] == "ease"
    services = make_services(tmp_path, store=store, experiments_dir=tmp_path / "no-experiments")
    recs = services.picks.recommendations("adult", "US", 10)
    services.close()
    assert recs["model_version"] == "recommender:v4:baseline:ease"
    assert [(i["title_id"], i["score"]) for i in recs["items"]] == [("m2", 0.8)]  # m4 is 18+ for unknown, m3 DE
