"""The HTTP API over real HTTP (uvicorn on 127.0.0.1): auth, limits, collector, fresh signals, filters."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pyarrow.parquet as pq
import pytest
from support.functions import API_KEY, LiveServer, catalog, event, make_services, page_title_ids, serve

from functions.app import create_app
from streamloop.core import clock
from streamloop.core.filters import MATURITY_ORDER

AUTH = {"x-api-key": API_KEY}


@pytest.fixture(autouse=True)
def service_day():
    """Pages and experiments read the service's clock: a fixed day inside the experiments' windows, so
    these tests do not change meaning when the calendar moves past them."""
    with clock.frozen(datetime(2026, 12, 1, 12, 0, tzinfo=UTC)):
        yield


@pytest.fixture
def live(tmp_path):
    with serve(tmp_path) as pair:
        yield pair


def get(base, path, **kwargs):
    return httpx.get(base + path, headers=kwargs.pop("headers", AUTH), timeout=10, **kwargs)


def post(base, path, body=None, content=None, headers=None):
    return httpx.post(base + path, headers=headers or AUTH, json=body, content=content, timeout=10)


def lake_rows(services, kind):
    from streamloop.core.lake import Lake

    files = Lake(services.settings.lake_root).files(kind)
    return [row for f in files for row in pq.read_table(f).to_pylist()]


# -- auth --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/v1/profiles/adult/home?country=US", "/v1/profiles/adult/recommendations",
                                  "/v1/titles/m1/similar"])
def test_v1_routes_need_a_valid_key(live, path):
    base, _ = live
    # WHEN called without a key, with a wrong key, and with a valid key
    missing = get(base, path, headers={})
    wrong = get(base, path, headers={"x-api-key": "nope"})
    valid = get(base, path)
    # THEN only the valid key passes, and 401s explain themselves without internals
    assert missing.status_code == wrong.status_code == 401
    assert "API key" in missing.json()["error"] and "Traceback" not in missing.text
    assert valid.status_code == 200
    assert post(base, "/v1/events", {"events": []}, headers={"x-api-key": "nope"}).status_code == 401


def test_healthz_is_open(live):
    base, _ = live
    r = httpx.get(base + "/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["store"] == "ok"


def test_server_without_keys_refuses_everything_unless_explicitly_open(tmp_path):
    # GIVEN a server with no API keys configured
    with LiveServer(create_app(services=make_services(tmp_path / "closed", api_keys=""))) as closed:
        r = get(closed.url, "/v1/profiles/adult/home", headers={"x-api-key": "anything"})
        # THEN it refuses and says it is not configured
        assert r.status_code == 401 and "no API keys configured" in r.json()["error"]
    # GIVEN the explicit opt-in to run open
    with LiveServer(create_app(services=make_services(tmp_path / "open", api_keys="", allow_open=True))) as open_:
        assert get(open_.url, "/v1/profiles/adult/home", headers={}).status_code == 200


# -- collector ---------------------------------------------------------------------------------------------
def test_collector_rejects_bodies_that_are_not_an_events_list(live):
    base, _ = live
    assert post(base, "/v1/events", content=b"{not json").status_code == 400
    assert post(base, "/v1/events", {"event": []}).status_code == 400
    assert post(base, "/v1/events", {"events": {"a": 1}}).status_code == 400
    assert post(base, "/v1/events", content=b"[1, 2]").status_code == 400


def test_collector_limits_request_size(live):
    base, _ = live
    # WHEN a request carries 501 events, or more than 1 MB
    too_many = post(base, "/v1/events", {"events": [event("app_open") for _ in range(501)]})
    padded = event("search", query="x" * 1_100_000, results_count=1)
    too_big = post(base, "/v1/events", {"events": [padded]})
    # THEN both are refused with 413 and nothing is landed
    assert too_many.status_code == 413 and "500" in too_many.json()["error"]
    assert too_big.status_code == 413
    assert post(base, "/v1/events", {"events": [event("app_open") for _ in range(500)]}).json()["accepted"] == 500


def test_collector_counts_reconcile_and_retries_are_duplicates(live):
    base, services = live
    # GIVEN two valid events, a repeat of one inside the batch, and two invalid ones
    good = [event("app_open"), event("search", query="space", results_count=3)]
    bad_type = event("app_open")
    bad_type["event_type"] = "teleport"
    no_title = event("play_start", position_s=0, duration_s=100)
    batch = good + [dict(good[0]), bad_type, no_title]
    # WHEN posted twice
    first = post(base, "/v1/events", {"events": batch}).json()
    second = post(base, "/v1/events", {"events": batch}).json()
    # THEN received = accepted + duplicates + rejected, and the retry accepts nothing new
    assert (first["accepted"], first["duplicates"], len(first["rejected"])) == (2, 1, 2)
    assert (second["accepted"], second["duplicates"], len(second["rejected"])) == (0, 3, 2)
    rejected = {r["index"]: r for r in first["rejected"]}
    assert rejected[3]["event_id"] == bad_type["event_id"] and "event_type" in rejected[3]["errors"][0]
    assert any("properties.title_id" in e for e in rejected[4]["errors"])
    # AND the lake holds each accepted event once and every rejected one with its reason
    landed = lake_rows(services, "events")
    assert sorted(json.loads(r["raw"])["event_id"] for r in landed) == sorted(e["event_id"] for e in good)
    assert all(r["source"] == "api" for r in landed)
    refused = lake_rows(services, "rejected")  # once: the retry rewrote the same batch files
    assert sorted(r["record_index"] for r in refused) == [3, 4] and all(r["reason"] for r in refused)


def test_segment_batches_map_onto_the_contract(live):
    base, services = live
    ctx = {"device": {"id": "roku-1", "type": "roku"}, "os": {"name": "roku"}, "app": {"version": "2.0"},
           "location": {"country": "US"}, "timezone": "America/Chicago", "traits": {"account_id": "a1"}}
    from datetime import datetime, timedelta

    ts = (datetime.now(UTC) - timedelta(seconds=30)).isoformat()
    batch = [
        {"type": "identify", "messageId": "seg-1", "userId": "adult", "timestamp": ts, "context": ctx},
        {"type": "track", "event": "Video Playback Started", "messageId": "seg-2", "userId": "adult",
         "timestamp": ts, "context": ctx, "properties": {"content_asset_id": "m5", "position": 0, "total_length": 6000}},
        {"type": "track", "event": "Video Content Playing", "messageId": "seg-3", "userId": "adult",
         "timestamp": ts, "context": ctx, "properties": {"asset_id": "m5", "position": 600}},
        {"type": "track", "event": "Video Ad Started", "messageId": "seg-4", "userId": "adult", "timestamp": ts,
         "context": ctx, "properties": {}},
        {"type": "page", "messageId": "seg-5", "userId": "adult", "timestamp": ts, "context": ctx},
    ]
    # WHEN posted the way Segment destinations authenticate (HTTP Basic, the key as user name)
    import base64

    basic = {"authorization": "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()}
    wrong = {"authorization": "Basic " + base64.b64encode(b"nope:").decode()}
    assert post(base, "/v1/segment/batch", {"batch": batch}, headers=wrong).status_code == 401
    result = post(base, "/v1/segment/batch", {"batch": batch}, headers=basic).json()
    # THEN identify + the two playback events are accepted; the ad and the page are acknowledged as ignored
    assert result["accepted"] == 3 and result["duplicates"] == 0 and result["rejected"] == []
    assert result["ignored"] == 2
    landed = {r["record_index"]: json.loads(r["raw"]) for r in lake_rows(services, "ignored")}
    assert {i: m["messageId"] for i, m in landed.items()} == {3: "seg-4", 4: "seg-5"}
    # AND the events lake holds the translated contract events, which the warehouse reads
    events = {r["record_index"]: json.loads(r["raw"]) for r in lake_rows(services, "events")}
    assert events[1]["event_type"] == "play_start" and events[1]["properties"]["title_id"] == "m5"
    # AND the mapped play shows up at once in continue watching
    page = get(base, "/v1/profiles/adult/home?country=US").json()
    cw = next(r for r in page["rows"] if r["kind"] == "continue_watching")
    assert cw["items"][0]["title_id"] == "m5"


# -- home page ---------------------------------------------------------------------------------------------
HOME_KEYS = {"request_id", "profile_id", "personalized", "model_version", "generated_at", "experiments", "rows"}


def test_home_page_shape_reasons_and_no_duplicates(live):
    base, _ = live
    page = get(base, "/v1/profiles/adult/home?country=US&device_type=tv&rows=8&items=5").json()
    assert set(page) == HOME_KEYS
    assert page["personalized"] is True and page["profile_id"] == "adult"
    assert page["generated_at"] == "2026-12-01T12:00:00.000Z"
    variants = {e["experiment_id"]: e["variant"] for e in page["experiments"]}
    assert set(variants) == {"home_row_order", "top_picks_ranker_vs_popularity"}
    # the ranker arm serves the published candidates' model; the popularity arm says so
    expected = "popularity" if variants["top_picks_ranker_vs_popularity"] == "popularity" else "ranker@7"
    assert page["model_version"] == expected
    assert 1 <= len(page["rows"]) <= 8
    for row in page["rows"]:
        assert {"row_id", "kind", "title", "reason", "items"} <= set(row) and row["reason"]
        assert 1 <= len(row["items"]) <= 5
        for item in row["items"]:
            assert {"title_id", "score", "reason"} <= set(item) and item["reason"]
    ids = page_title_ids(page)
    assert len(ids) == len(set(ids))
    assert len({r["row_id"] for r in page["rows"]}) == len(page["rows"])


@pytest.mark.parametrize(("rows", "items"), [(2, 1), (3, 2)])
def test_home_page_honours_the_requested_row_and_item_counts(live, rows, items):
    # GIVEN limits below the defaults (8 rows, 20 items), so an ignored parameter would show
    base, _ = live
    # WHEN the app asks for a smaller page
    page = get(base, f"/v1/profiles/adult/home?country=US&rows={rows}&items={items}").json()
    # THEN no more rows and items per row than asked for, and still a non-empty page
    assert 0 < len(page["rows"]) <= rows
    assert all(0 < len(row["items"]) <= items for row in page["rows"])
    bigger = get(base, "/v1/profiles/adult/home?country=US&rows=8&items=5").json()
    assert len(bigger["rows"]) > len(page["rows"])


@pytest.mark.parametrize("country", ["US", "DE", "FR"])
def test_titles_unavailable_in_the_country_never_appear(live, country):
    base, _ = live
    titles = catalog()
    for path in (f"/v1/profiles/adult/home?country={country}&items=50&rows=20",
                 f"/v1/profiles/stranger/home?country={country}&items=50&rows=20"):
        ids = page_title_ids(get(base, path).json())
        assert ids, path
        for tid in ids:
            countries = titles[tid]["available_countries"]
            assert "*" in countries or country in countries, (tid, country)
    recs = get(base, f"/v1/profiles/adult/recommendations?country={country}&items=50").json()
    assert all("*" in titles[i["title_id"]]["available_countries"] or
               country in titles[i["title_id"]]["available_countries"] for i in recs["items"])


def test_kids_profile_never_sees_titles_above_its_rating(live):
    base, _ = live
    titles = catalog()
    page = get(base, "/v1/profiles/kid/home?country=US&items=50&rows=20").json()
    recs = get(base, "/v1/profiles/kid/recommendations?country=US&items=50").json()
    ids = page_title_ids(page) + [i["title_id"] for i in recs["items"]]
    assert ids
    assert all(MATURITY_ORDER.index(titles[t]["maturity_rating"]) <= MATURITY_ORDER.index("7+") for t in ids)
    # the candidate ranked first for the kid is 18+ and must be gone
    assert "m4" not in ids


def test_unknown_profile_gets_a_non_personalized_page(live):
    base, _ = live
    r = get(base, "/v1/profiles/never-seen-before/home?country=US")
    page = r.json()
    assert r.status_code == 200 and page["personalized"] is False
    assert page["rows"] and {row["kind"] for row in page["rows"]} <= {"trending", "popular", "new_releases", "genre"}
    recs = get(base, "/v1/profiles/never-seen-before/recommendations?country=US&items=5").json()
    assert recs["model_version"] == "popularity" and len(recs["items"]) == 5


def test_invalid_parameters_are_4xx_with_messages(live):
    base, _ = live
    for path in ("/v1/profiles/adult/home?rows=0", "/v1/profiles/adult/home?items=1000",
                 "/v1/profiles/adult/home?country=USA", "/v1/profiles/adult/home?device_type=fridge",
                 "/v1/profiles/adult/home?items=%C2%B2", "/v1/profiles/adult/home?rows=--5"):  # "²": isdigit, not int
        r = get(base, path)
        assert r.status_code == 422 and r.json()["error"].startswith("invalid request"), path


# -- fresh signals (CONTRACT §6) ---------------------------------------------------------------------------
def test_play_start_shows_in_continue_watching_at_once(live):
    base, _ = live
    # GIVEN the adult has nothing in progress
    before = get(base, "/v1/profiles/adult/home?country=US").json()
    assert "continue_watching" not in {r["kind"] for r in before["rows"]}
    # WHEN the API accepts a play_start and a heartbeat of m8 (no batch run)
    events = [event("play_start", title_id="m8", position_s=0, duration_s=6000),
              event("heartbeat", title_id="m8", position_s=1200)]
    assert post(base, "/v1/events", {"events": events}).json()["accepted"] == 2
    # THEN the next page shows m8 first in continue watching, with its progress as score
    page = get(base, "/v1/profiles/adult/home?country=US").json()
    cw = page["rows"][0]
    assert cw["kind"] == "continue_watching" and cw["items"][0]["title_id"] == "m8"
    assert cw["items"][0]["score"] == pytest.approx(0.2)
    assert page_title_ids(page).count("m8") == 1


def test_play_complete_creates_because_you_watched(live):
    base, _ = live
    # WHEN m10 is started and completed
    post(base, "/v1/events", {"events": [event("play_start", title_id="m10", position_s=0, duration_s=6000),
                                         event("play_complete", title_id="m10", position_s=6000)]})
    page = get(base, "/v1/profiles/adult/home?country=US&items=50&rows=20").json()
    # THEN a because_you_watched row for m10 appears with m10's similar titles, and m10 is gone from the page
    row = next(r for r in page["rows"] if r["kind"] == "because_you_watched")
    assert row["source_title_id"] == "m10"
    assert [i["title_id"] for i in row["items"]][:2] == ["m20", "m25"]
    assert "m10" not in page_title_ids(page)
    assert "continue_watching" not in {r["kind"] for r in page["rows"]}


def test_completion_of_a_title_without_published_similars_still_explains_itself(live):
    base, _ = live
    post(base, "/v1/events", {"events": [event("play_complete", title_id="m12", position_s=6000)]})
    page = get(base, "/v1/profiles/adult/home?country=US").json()
    row = next(r for r in page["rows"] if r["kind"] == "because_you_watched")
    assert row["source_title_id"] == "m12" and "genres" in row["reason"]
    m12_genres = set(catalog()["m12"]["genres"])
    assert all(m12_genres & set(catalog()[i["title_id"]]["genres"]) for i in row["items"])


def test_episode_in_progress_is_shown_as_the_episode_and_hides_its_series(live):
    base, _ = live
    post(base, "/v1/events", {"events": [event("play_start", title_id="s1e2", position_s=60, duration_s=1800)]})
    page = get(base, "/v1/profiles/adult/home?country=US&items=50&rows=20").json()
    assert page["rows"][0]["items"][0]["title_id"] == "s1e2"
    assert "S1E2" in page["rows"][0]["items"][0]["reason"]
    assert "s1" not in page_title_ids(page)


def test_similar_titles_endpoint(live):
    base, _ = live
    body = get(base, "/v1/titles/m1/similar?country=US&items=10").json()
    # m3 is DE-only: filtered out for US
    assert [i["title_id"] for i in body["items"]] == ["m11", "m16", "m21"]
    assert body["model_version"] == "itemknn@7"
    kid = get(base, "/v1/titles/m1/similar?country=US&profile_id=kid").json()
    assert all(MATURITY_ORDER.index(catalog()[i["title_id"]]["maturity_rating"]) <= 1 for i in kid["items"])
    assert get(base, "/v1/titles/nope/similar?country=US").status_code == 404
