"""Ingestion end to end (issue #9): odd events beside valid ones, crashes between every two collector steps
with the client's retry, the Segment Video Spec's own example lifecycle, mixed batches on every route —
then ONE warehouse build, which must succeed and hold every event exactly once, every reject once, the
ignored messages counted and the spec's play as one completed play. One build for the module (~1 min)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import pyarrow.parquet as pq
import pytest
from conftest import land_events, use_home
from test_functions_support import API_KEY, LiveServer, event, make_services

from functions.app import create_app
from streamloop.app.build import run_build
from streamloop.core.ingest import ingest_paths
from streamloop.core.lake import Lake
from streamloop.core.settings import get_settings

pytestmark = pytest.mark.slow

SPEC = json.loads((Path(__file__).parent / "data" / "segment_video_spec.json").read_text())
# seconds after the play began at which each lifecycle call is made (10 s heartbeats, a 21 s mid-roll ad)
LIFECYCLE_OFFSETS = [0, 1, 10, 20, 21, 25, 26, 36, 46, 47, 57, 386, 387, 397, 398, 399]
SPEC_TITLE = "0129370"
AUTH = {"x-api-key": API_KEY}


class Crash(BaseException):
    """The collector's process dying at this point (not an Exception: nothing may catch it)."""


def body_of(texts: list[str], key: str = "events") -> str:
    return f'{{"{key}": [{", ".join(texts)}]}}'


def post_text(base: str, path: str, text: str) -> httpx.Response:
    return httpx.post(base + path, content=text.encode(), headers={**AUTH, "content-type": "application/json"},
                      timeout=30)


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def segment_message(name: str, properties: dict, index: int, started: datetime) -> dict:
    """A lifecycle call as an analytics library sends it: the spec's event and properties, verbatim, in the
    envelope the library adds (message id, time, user, device context)."""
    return {"type": "track", "event": name, "properties": properties, "messageId": f"spec-{index}",
            "userId": "userId", "anonymousId": "anon-1",
            "timestamp": (started + timedelta(seconds=LIFECYCLE_OFFSETS[index])).isoformat(),
            "context": {"device": {"id": "ios-device-1", "type": "ios"}, "app": {"version": "3.1.0"},
                        "os": {"name": "iOS"}, "locale": "en-US", "timezone": "America/New_York",
                        "library": {"name": "analytics-ios", "version": "4.1.8"}}}


def odd_events() -> tuple[list[str], dict[int, str], set[int]]:
    """(record texts, index -> field a reject must name, indexes that must be accepted) for one batch."""
    valid = [event("app_open", event_id="odd-valid-1"), event("search", event_id="odd-valid-2", query="space",
                                                               results_count=3)]
    nul = event("search", event_id="odd-nul", query="a\u0000b", results_count=1)
    huge = event("app_open", event_id="odd-huge", note="x" * 200_000)
    deep_ok = event("app_open", event_id="odd-deep-ok", extra=nested(20))
    wide_int = event("impression", event_id="odd-int64", title_id="m1", row_id="trending", rank=3_000_000_000,
                     request_id="r1")
    texts = [json.dumps(e) for e in valid]
    texts.append(json.dumps(nul, indent=2))  # spaced oddly: its exact text is what must land
    texts += [json.dumps(huge), json.dumps(deep_ok), json.dumps(wide_int)]
    accepted = set(range(len(texts)))
    rejects = {
        "properties.extra": json.dumps(event("app_open", event_id="odd-deep", extra=nested(200))),
        "properties.extra.k": "{" + json.dumps(event("app_open", event_id="odd-deeper"))[1:-1]
        + ', "properties": {"extra": {"k": ' + "[" * 3000 + "]" * 3000 + "}}}",
        "properties.position_s": json.dumps(event("heartbeat", event_id="odd-bigint", title_id="m1",
                                                  position_s=2**70)),
        "properties.duration_s": json.dumps(event("play_start", event_id="odd-inf", title_id="m1", position_s=0,
                                                  duration_s=1)).replace('"duration_s": 1', '"duration_s": 1e400'),
        "device_id": json.dumps(event("app_open", event_id="odd-surrogate")).replace('"dev-1"', '"dev-\\ud800"'),
        "event": "42",
        "event_id": json.dumps(event("app_open") | {"event_id": 7}),
    }
    by_index = {}
    for field, text in rejects.items():
        by_index[len(texts)] = field
        texts.append(text)
    return texts, by_index, accepted


CRASH_POINTS = ["before landing", "after the rejects landed", "after the events landed", "after the claims",
                "after real-time state"]


def crash_at(point: str, services, mp: pytest.MonkeyPatch) -> None:
    lake, store, collector = services.collector.lake(), services.get_store(), services.collector
    writes = {"n": 0}
    real_write, real_claim, real_state = lake.write_records, store.add_many_if_absent, collector._update_state

    def write(*args, **kwargs):
        writes["n"] += 1
        if point == "before landing":
            raise Crash(point)
        paths = real_write(*args, **kwargs)
        if (point, writes["n"]) in (("after the rejects landed", 1), ("after the events landed", 2)):
            raise Crash(point)
        return paths

    def claim(*args, **kwargs):
        claimed = real_claim(*args, **kwargs)
        if point == "after the claims":
            raise Crash(point)
        return claimed

    def state(*args, **kwargs):
        real_state(*args, **kwargs)
        raise Crash(point)

    mp.setattr(lake, "write_records", write)
    mp.setattr(store, "add_many_if_absent", claim)
    if point == "after real-time state":
        mp.setattr(collector, "_update_state", state)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    home = use_home(mp, tmp_path_factory.mktemp("ingest_e2e") / "home")
    services = make_services(home)
    out = {"acknowledged": set(), "responses": {}}
    land_events([{"title_id": SPEC_TITLE, "name": "Interview with Tony Robbins", "kind": "movie", "genres": [],
                  "moods": [], "cast": [], "maturity_rating": "all", "runtime_s": 392, "release_date": None,
                  "available_countries": ["*"]}], datetime.now(UTC), kind="catalog", batch_id="spec-catalog")
    with LiveServer(create_app(services=services)) as server:
        # 1. odd events beside valid ones
        texts, rejects, accepted = odd_events()
        out["odd"] = (texts, rejects, accepted)
        out["responses"]["odd"] = post_text(server.url, "/v1/events", body_of(texts))
        # 2. a crash between every two steps, then the client's retry of the same request
        out["crashes"] = {}
        for n, point in enumerate(CRASH_POINTS):
            batch = [event("app_open", event_id=f"crash-{n}-a"), event("app_open", event_id=f"crash-{n}-b"),
                     event("app_open", event_id=f"crash-{n}-bad") | {"device_id": ""}]
            batch_texts = [json.dumps(e) for e in batch]
            crash_mp = pytest.MonkeyPatch()
            crash_at(point, services, crash_mp)
            with pytest.raises(Crash):
                services.collector.ingest(batch, source="api", raws=batch_texts)
            crash_mp.undo()
            out["crashes"][point] = post_text(server.url, "/v1/events", body_of(batch_texts)).json()
        # 3. the Video Spec's example lifecycle in three requests (the last one's title only the session knows),
        #    with a page view and two broken messages mixed in
        started = datetime.now(UTC) - timedelta(hours=1)
        messages = [segment_message(name, props, i, started) for i, (name, props) in enumerate(SPEC["lifecycle"])]
        extra = [{"type": "page", "name": "Home", "messageId": "spec-page", "userId": "userId",
                  "timestamp": started.isoformat()},
                 segment_message("search", {"results_count": 2}, 0, started) | {"messageId": "spec-bad-search"},
                 "not a message"]
        requests = [messages[:10] + extra, messages[10:15], messages[15:]]
        out["responses"]["segment"] = [
            post_text(server.url, "/v1/segment/batch", body_of([json.dumps(m) for m in batch], "batch")).json()
            for batch in requests]
        # 4. a file with odd records, through `streamloop ingest`
        path = home.parent / "mixed.json"
        path.write_text("[" + ", ".join([json.dumps(event("app_open", event_id="file-ok")), texts[-2],
                                         texts[-1]]) + "]")
        out["file"] = ingest_paths([str(path)])
    out["summary"] = run_build()
    out["warehouse"] = get_settings().warehouse_file
    out["services"] = services
    yield out
    mp.undo()
    get_settings.cache_clear()


def query(run, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(run["warehouse"]), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_odd_events_are_accepted_or_rejected_naming_the_field_and_neighbours_are_accepted(run):
    _, rejects, accepted = run["odd"]
    response = run["responses"]["odd"]
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == len(accepted) and body["duplicates"] == 0
    named = {r["index"]: r["errors"][0] for r in body["rejected"]}
    assert sorted(named) == sorted(rejects)
    for index, field in rejects.items():
        assert named[index].startswith(field), named[index]
    ids = {row[0] for row in query(run, "select event_id from events where event_id like 'odd-%'")}
    assert ids == {"odd-valid-1", "odd-valid-2", "odd-nul", "odd-huge", "odd-deep-ok", "odd-int64"}


def test_the_lake_keeps_each_record_exactly_as_sent(run):
    texts = run["odd"][0]
    lake = Lake(get_settings().lake_root)
    landed = [row["raw"] for kind in ("events", "rejected") for f in lake.files(kind)
              for row in pq.read_table(f).to_pylist() if row["source"] == "api"]
    for text in texts:
        assert landed.count(text) == 1, text[:80]


def test_a_crash_between_any_two_steps_then_a_retry_lands_every_event_exactly_once(run):
    for n, point in enumerate(CRASH_POINTS):
        retry = run["crashes"][point]
        claimed_before_crash = point in ("after the claims", "after real-time state")
        # the retry either collects the events or, when the crashed request had claimed them, counts them
        # as duplicates: either way they are in the warehouse once
        assert (retry["accepted"], retry["duplicates"]) == ((0, 2) if claimed_before_crash else (2, 0)), point
        assert [r["index"] for r in retry["rejected"]] == [2], point
        rows = query(run, "select event_id, count(*) from events where event_id like ? group by 1", [f"crash-{n}-%"])
        assert sorted(rows) == [(f"crash-{n}-a", 1), (f"crash-{n}-b", 1)], point
        rejected = query(run, "select count(*) from rejected_events where raw like ?", [f"%crash-{n}-bad%"])
        assert rejected == [(1,)], point


def test_the_video_spec_lifecycle_lands_as_one_completed_play(run):
    first, second, third = run["responses"]["segment"]
    assert (first["accepted"], first["ignored"], [r["index"] for r in first["rejected"]]) == (6, 5, [11, 12])
    assert "properties.query: required" in first["rejected"][0]["errors"]
    assert (second["accepted"], second["ignored"], second["rejected"]) == (2, 3, [])
    assert (third["accepted"], third["ignored"], third["rejected"]) == (1, 0, [])  # title from the session
    plays = query(run, "select profile_id, title_id, is_completed from plays where title_id = ?", [SPEC_TITLE])
    assert plays == [("userId", SPEC_TITLE, True)]


def test_ignored_messages_are_counted_in_the_reconciliation(run):
    (ignored,) = query(run, "select sum(ignored_count) from ingestion_reconciliation")[0]
    assert ignored == 8
    received, accepted, duplicates, rejected = query(
        run, "select sum(received_count), sum(accepted_count), sum(duplicate_count), sum(rejected_count) "
             "from ingestion_reconciliation")[0]
    assert received == accepted + duplicates + rejected + ignored


def test_every_route_lands_each_record_under_a_unique_key_and_the_build_succeeds(run):
    # the build ran every dbt test (uniqueness of rejected_events' keys included) without failing
    assert run["summary"].accepted > 0
    assert query(run, "select count(*) - count(distinct event_id) from events") == [(0,)]
    assert run["file"].total.line() == "received 3 · accepted 1 · duplicates 0 · rejected 2"
    acknowledged = (run["responses"]["odd"].json()["accepted"]
                    + sum(r["accepted"] for r in run["crashes"].values())
                    + sum(r["accepted"] for r in run["responses"]["segment"]))
    # acknowledged over HTTP = in the warehouse, counting the crashed requests' claims that the retry
    # reported as duplicates (2 events each at two crash points) and the file's one event
    (in_warehouse,) = query(run, "select count(*) from events where event_type <> 'experiment_exposure'")[0]
    assert in_warehouse == acknowledged + 2 * 2 + 1
