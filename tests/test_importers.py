"""MovieLens and Sparkify importers: ids, event counts and catalog on tiny generated fixtures, and on the
real public files in ../shared/data when they are present."""
from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import duckdb
import pytest

from streamloop.core.contract import validate_catalog_record, validate_event
from streamloop.core.errors import StreamloopError
from streamloop.core.importers import movielens
from streamloop.core.importers.movielens import import_movielens
from streamloop.core.importers.sparkify import import_sparkify, timezone_for, title_id_for
from streamloop.core.settings import get_settings

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMLOOP_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def landed(kind: str) -> list[dict]:
    root = Path(get_settings().lake_root)
    pattern = "catalog/*.parquet" if kind == "catalog" else f"{kind}/*/*.parquet"
    if not list(root.glob(pattern)):
        return []
    rows = duckdb.sql(f"select raw from read_parquet('{root}/{pattern}')").fetchall()
    return [json.loads(raw) for (raw,) in rows]


def rejected_reasons() -> list[tuple[str, str]]:
    root = Path(get_settings().lake_root)
    if not list(root.glob("rejected/*/*.parquet")):
        return []
    return duckdb.sql(f"select raw, reason from read_parquet('{root}/rejected/*/*.parquet')").fetchall()


def lake_files() -> list[str]:
    return sorted(str(p) for p in Path(get_settings().lake_root).rglob("*.parquet"))


def expected_value(rating: float) -> int:
    return 1 if rating >= movielens.LIKE_AT else -1 if rating <= movielens.DISLIKE_AT else 0


# -- MovieLens ---------------------------------------------------------------------------------------

# user 1 rates two films in one second, a third within one runtime, a fourth much later
RATINGS = [(1, 1, 5.0, 964982703), (1, 2, 3.0, 964981247), (1, 3, 4.0, 964981247), (1, 4, 2.0, 964982703 + 7000),
           (2, 1, 1.5, 1445714994)]


def ml_latest(tmp_path: Path) -> Path:
    root = tmp_path / "ml-latest-small"
    root.mkdir()
    (root / "movies.csv").write_text(
        "movieId,title,genres\r\n"
        "1,Toy Story (1995),Adventure|Animation|Children\r\n"
        '2,"American President, The (1995)",Comedy|Drama|Romance\r\n'
        "3,Babylon 5,(no genres listed)\r\n"
        "4,Heat (1995),Action|Crime|Thriller\r\n")
    (root / "ratings.csv").write_text("userId,movieId,rating,timestamp\r\n"
                                      + "".join(f"{u},{m},{r},{t}\r\n" for u, m, r, t in RATINGS))
    (root / "tags.csv").write_text("userId,movieId,tag,timestamp\r\n1,1,pixar,964982703\r\n")
    return root


def ml_100k(tmp_path: Path) -> Path:
    root = tmp_path / "ml-100k"
    root.mkdir()
    (root / "u.data").write_text("".join(f"{u}\t{m}\t{int(r)}\t{t}\n" for u, m, r, t in RATINGS if r == int(r)))
    flags = {1: [0, 0, 0, 1, 1, 1] + [0] * 13, 2: [0] * 8 + [1] + [0] * 10, 3: [1] + [0] * 18}
    lines = [
        f"1|Toy Story (1995)|01-Jan-1995||http://imdb/1|{'|'.join(map(str, flags[1]))}",
        f"2|Café Society (1995)|||http://imdb/2|{'|'.join(map(str, flags[2]))}",
        f"3|unknown|||http://imdb/3|{'|'.join(map(str, flags[3]))}",
    ]
    (root / "u.item").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return root


def test_movielens_latest_maps_ids_events_and_catalog(tmp_path):
    summary = import_movielens(ml_latest(tmp_path))

    events = landed("events")
    assert all(validate_event(e) == [] for e in events)
    by_type = Counter(e["event_type"] for e in events)
    clear_ratings = sum(expected_value(r) != 0 for _, _, r, _ in RATINGS)
    beats = len(range(movielens.HEARTBEAT_EVERY_S, movielens.RUNTIME_S, movielens.HEARTBEAT_EVERY_S))
    assert by_type == {"play_start": len(RATINGS), "heartbeat": beats * len(RATINGS), "play_complete": len(RATINGS),
                       "rating": clear_ratings, "login": 2, "profile_updated": 2}
    assert summary.events.accepted == len(events) and summary.events.rejected == 0
    for u, m, r, t in RATINGS:
        play = sorted((e for e in events if e["event_id"].startswith(f"ml-{u}-{m}-")), key=lambda e: e["occurred_at"])
        start, complete = play[0], next(e for e in play if e["event_type"] == "play_complete")
        assert start["event_type"] == "play_start" and start["event_id"] == f"ml-{u}-{m}-play_start"
        assert (start["profile_id"], start["account_id"]) == (f"ml_u{u}", f"ml_a{u}")
        assert start["device_id"].startswith(f"ml_d{u}") and {e["device_id"] for e in play} == {start["device_id"]}
        assert {e["properties"]["title_id"] for e in play} == {f"ml_m{m}"}
        # watched to the end just before the rating, with no 30-minute silence inside the play
        assert complete["occurred_at"].startswith(f"{datetime.fromtimestamp(t, UTC):%Y-%m-%dT%H:%M:%S}")
        assert start["occurred_at"].startswith(
            f"{datetime.fromtimestamp(t - start['properties']['duration_s'], UTC):%Y-%m-%dT%H:%M:%S}")
        times = [datetime.fromisoformat(e["occurred_at"]) for e in play if e["event_type"] != "rating"]
        assert max(b - a for a, b in pairwise(times)) < timedelta(minutes=30)
        assert complete["properties"]["position_s"] == start["properties"]["duration_s"]
        ratings = [e for e in play if e["event_type"] == "rating"]
        assert [e["properties"]["value"] for e in ratings] == ([expected_value(r)] if expected_value(r) else [])
    for u in (1, 2):
        login = next(e for e in events if e["event_id"] == f"ml-{u}-login")
        assert login["device_id"] == f"ml_d{u}"
        first_play = min(e["occurred_at"] for e in events if e["profile_id"] == f"ml_u{u}" and e["event_type"] == "play_start")
        assert login["occurred_at"] < first_play
    # plays never interleave on a device (a new play_start would end the previous play) ...
    for device in {e["device_id"] for e in events}:
        kinds = [e["event_type"] for e in sorted(events, key=lambda e: e["occurred_at"])
                 if e["device_id"] == device and e["event_type"] in ("play_start", "play_complete")]
        assert kinds == ["play_start", "play_complete"] * (len(kinds) // 2), device
    # ... and a user has as many screens as they had overlapping plays at most
    windows = [(t - movielens.RUNTIME_S, t) for u, _, _, t in RATINGS if u == 1]
    most_overlapping = max(sum(other_start <= start <= other_end for other_start, other_end in windows)
                           for start, _ in windows)
    assert len({e["device_id"] for e in events if e["profile_id"] == "ml_u1"}) == most_overlapping

    catalog = {r["title_id"]: r for r in landed("catalog")}
    assert set(catalog) == {"ml_m1", "ml_m2", "ml_m3", "ml_m4"}
    assert all(validate_catalog_record(r) == [] for r in catalog.values())
    assert catalog["ml_m1"]["genres"] == ["Adventure", "Animation", "Children"]
    assert catalog["ml_m1"]["release_date"] == "1995-01-01" and catalog["ml_m1"]["name"] == "Toy Story"
    assert catalog["ml_m2"]["name"] == "American President, The"
    assert catalog["ml_m3"]["genres"] == [] and catalog["ml_m3"]["release_date"] is None
    assert "tags.csv is not imported" in summary.render()


def test_movielens_100k_format(tmp_path):
    summary = import_movielens(ml_100k(tmp_path))

    catalog = {r["title_id"]: r for r in landed("catalog")}
    assert catalog["ml_m1"]["genres"] == ["Animation", "Children", "Comedy"]
    assert catalog["ml_m1"]["release_date"] == "1995-01-01"
    assert catalog["ml_m2"]["name"] == "Café Society" and catalog["ml_m2"]["genres"] == ["Drama"]
    assert catalog["ml_m2"]["release_date"] == "1995-01-01"  # no release field: year from the title
    assert catalog["ml_m3"]["genres"] == []
    rows = [r for r in RATINGS if r[2] == int(r[2])]
    assert summary.event_types["play_start"] == len(rows)
    assert summary.event_types["rating"] == sum(expected_value(r) != 0 for _, _, r, _ in rows)
    assert all(validate_event(e) == [] for e in landed("events"))


def test_movielens_reimport_is_idempotent_and_chunking_does_not_change_events(tmp_path, monkeypatch):
    root = ml_latest(tmp_path)
    import_movielens(root)
    files = lake_files()
    whole = sorted(json.dumps(e, sort_keys=True) for e in landed("events"))

    again = import_movielens(root)
    assert lake_files() == files and again.files_written == []

    monkeypatch.setenv("STREAMLOOP_HOME", str(tmp_path / "chunked-home"))
    get_settings.cache_clear()
    monkeypatch.setattr(movielens, "RATINGS_PER_BATCH", 1)
    import_movielens(root)
    assert sorted(json.dumps(e, sort_keys=True) for e in landed("events")) == whole


def test_movielens_refuses_bad_folders(tmp_path, monkeypatch):
    with pytest.raises(StreamloopError, match="not a MovieLens folder"):
        import_movielens(tmp_path)
    # plays of one user are laid out together, so a user's ratings must not be spread over the file
    root = ml_latest(tmp_path)
    rows = RATINGS + [RATINGS[0]]
    (root / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + "".join(f"{u},{m},{r},{t}\n" for u, m, r, t in rows))
    monkeypatch.setattr(movielens, "RATINGS_PER_BATCH", 2)
    with pytest.raises(StreamloopError, match="not grouped by userId"):
        import_movielens(root)


# -- Sparkify ----------------------------------------------------------------------------------------

IPHONE = '"Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 Mobile/11D257"'
MAC = '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 Chrome/36.0.1985.143 Safari/537.36"'


def page_view(page, ts_s, item, user="7", session=500, level="paid", **extra):
    return {"artist": None, "auth": "Logged In" if user else "Logged Out", "firstName": "A", "gender": "F",
            "itemInSession": item, "lastName": "B", "length": None, "level": level,
            "location": "Phoenix-Mesa-Scottsdale, AZ", "method": "PUT", "page": page, "registration": 1.5e12,
            "sessionId": session, "song": None, "status": 200, "ts": 1541106106796 + ts_s * 1000,
            "userAgent": IPHONE, "userId": user, **extra}


def song(ts_s, item, name, length, **extra):
    return page_view("NextSong", ts_s, item, artist="Band", song=name, length=length, **extra)


def sparkify_logs(tmp_path: Path) -> Path:
    folder = tmp_path / "sparkify"
    folder.mkdir()
    day1 = [
        page_view("Home", 0, 0, user=""),                       # before logging in: anonymous, same device
        page_view("Login", 5, 1, user=""),
        page_view("Home", 10, 2),
        song(20, 3, "First", 200.0),                            # heard to the end
        song(220, 4, "Second", 300.0),                          # skipped after 10 s
        page_view("Thumbs Up", 230, 5),
        page_view("Add to Playlist", 240, 6),
        song(250, 7, "Third", 100.0),
        page_view("Settings", 360, 8),                          # no contract event: dropped, counted
        page_view("Submit Downgrade", 370, 9),
        page_view("Logout", 380, 10, level="free"),
    ]
    day2 = [
        page_view("Thumbs Down", 90_000, 0, user="8", session=600, level="free", userAgent=MAC,
                  location="Boston-Cambridge-Newton, MA-NH"),     # no song in this session yet: rejected
        page_view("Home", 90_010, 1, user="8", session=600, level="free", userAgent=MAC,
                  location="Boston-Cambridge-Newton, MA-NH"),
        song(90_020, 2, "Long Mix", 2000.0, user="8", session=600, level="free"),  # longer than a session gap
        page_view("Home", 92_100, 3, user="8", session=600, level="free"),
    ]
    (folder / "2018-11-01-events.json").write_text("\n".join(json.dumps(r) for r in day1))  # no final newline
    (folder / "2018-11-02-events.json").write_text("\n".join([json.dumps(r) for r in day2] + ["{broken"]))
    return folder


def test_sparkify_mapping(tmp_path):
    summary = import_sparkify(sparkify_logs(tmp_path))

    events = {e["event_id"]: e for e in landed("events")}
    assert all(validate_event(e) == [] for e in events.values())
    by_type = Counter(e["event_type"] for e in events.values())
    assert by_type == {"app_open": 4, "login": 1, "logout": 1, "play_start": 4, "play_complete": 3, "play_stop": 1,
                       "heartbeat": 1, "rating": 1, "add_to_list": 1, "plan_changed": 1, "profile_updated": 2,
                       "subscription_started": 1}
    long_play = sorted((e for e in events.values() if e["event_id"].startswith("sp-8-600-2-")),
                       key=lambda e: e["occurred_at"])
    assert [e["event_type"] for e in long_play] == ["play_start", "heartbeat", "play_complete"]
    times = [datetime.fromisoformat(e["occurred_at"]) for e in long_play]
    assert max(b - a for a, b in pairwise(times)) < timedelta(minutes=30)
    anonymous_home = events["sp-anon-500-0-app_open"]
    assert anonymous_home["profile_id"] is None and anonymous_home["device_id"] == "sp_d7"
    login = events["sp-anon-500-1-login"]
    assert (login["profile_id"], login["account_id"], login["device_id"]) == ("sp_u7", "sp_a7", "sp_d7")
    assert events["sp-7-500-4-play_stop"]["properties"]["position_s"] == pytest.approx(10.0, abs=0.01)
    assert events["sp-7-500-3-play_complete"]["properties"]["position_s"] == pytest.approx(200.0, abs=0.01)
    second = title_id_for("Band", "Second")
    assert events["sp-7-500-5-rating"]["properties"] == {"title_id": second, "value": 1}
    assert events["sp-7-500-6-add_to_list"]["properties"] == {"title_id": second}
    assert events["sp-7-500-9-plan_changed"]["properties"]["plan"] == "free"
    assert events["sp-7-first-subscription_started"]["properties"]["plan"] == "paid"
    context = events["sp-7-500-2-app_open"]["context"]
    assert context == {"country": "US", "device_type": "mobile", "app_version": "sparkify", "os": "iOS",
                       "timezone": "America/Phoenix"}
    assert events["sp-8-600-1-app_open"]["context"]["timezone"] == "America/New_York"
    assert events["sp-8-600-1-app_open"]["context"]["os"] == "macOS"
    assert "sp-8-first-subscription_started" not in events  # user 8 is first seen on the free level

    rejected = rejected_reasons()
    assert len(rejected) == 2
    assert any("properties.title_id: required" in reason for _, reason in rejected)
    assert any(raw == "{broken" and "not valid JSON" in reason for raw, reason in rejected)
    assert summary.events.received == summary.events.accepted + summary.events.duplicates + summary.events.rejected
    assert summary.events.rejected == 2
    assert "Settings 1" in summary.render() and "top rejection reasons" in summary.render()

    catalog = {r["title_id"]: r for r in landed("catalog")}
    assert set(catalog) == {title_id_for("Band", n) for n in ("First", "Second", "Third", "Long Mix")}
    assert catalog[second]["runtime_s"] == 300 and catalog[second]["genres"] == ["music"]

    files = lake_files()
    again = import_sparkify(tmp_path / "sparkify")
    assert again.files_written == [] and lake_files() == files


def test_timezone_from_metro_area():
    assert timezone_for("Chicago-Naperville-Elgin, IL-IN-WI") == "America/Chicago"
    assert timezone_for("San Francisco-Oakland-Hayward, CA") == "America/Los_Angeles"
    assert timezone_for(None) == "UTC" and timezone_for("Somewhere, ZZ") == "UTC"


# -- the real public files ---------------------------------------------------------------------------

needs_shared_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"public data not found at {SHARED_DATA}")


@pytest.mark.shared_data
@needs_shared_data
def test_real_movielens_latest_small():
    source = SHARED_DATA / "movielens-latest-small"
    with open(source / "ratings.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    with open(source / "movies.csv", newline="") as f:
        movie_count = sum(1 for _ in csv.DictReader(f))

    summary = import_movielens(source)

    tally = summary.events
    assert tally.received == tally.accepted + tally.duplicates + tally.rejected
    assert summary.event_types["play_start"] == len(rows)
    assert summary.event_types["rating"] == sum(expected_value(float(r["rating"])) != 0 for r in rows)
    assert summary.event_types["login"] == len({r["userId"] for r in rows})
    assert summary.catalog.accepted == movie_count
    events = landed("events")
    assert len(events) == tally.accepted
    assert not [e["event_id"] for e in events if validate_event(e)]


@pytest.mark.shared_data
@needs_shared_data
def test_real_sparkify_days(tmp_path):
    days = tmp_path / "days"
    days.mkdir()
    for name in ("2018-11-04-events.json", "2018-11-05-events.json"):
        shutil.copy(SHARED_DATA / "sparkify-log-data" / name, days / name)
    songs_played = sum(line.count('"page":"NextSong"') for name in days.iterdir() for line in name.open())

    summary = import_sparkify(days)

    tally = summary.events
    assert tally.received == tally.accepted + tally.duplicates + tally.rejected
    assert summary.event_types["play_start"] == songs_played
    assert summary.event_types["play_complete"] + summary.event_types["play_stop"] == songs_played
    events = landed("events")
    assert len(events) == tally.accepted
    assert not [e["event_id"] for e in events if validate_event(e)]
    assert not [e for e in events if {"ip", "user_agent"} & set(e["context"])]


# -- privacy: the suppression list -------------------------------------------------------------------

def forget_ids(*ids: str) -> None:
    """Puts ids on the suppression list, as `streamloop privacy forget` does first."""
    from streamloop.core.privacy.subjects import privacy_salt
    from streamloop.core.privacy.suppression import SuppressionList
    from streamloop.core.store import get_store

    settings = get_settings()
    store = get_store(settings)
    try:
        SuppressionList(store, privacy_salt(settings)).add(ids, "deletion-1")
    finally:
        store.close()


def test_importers_do_not_land_a_forgotten_persons_events(tmp_path):
    # GIVEN MovieLens user 1 (by profile) and Sparkify user 8 (by account) were forgotten
    forget_ids("ml_u1", "sp_a8")
    # WHEN both datasets are imported
    ml = import_movielens(ml_latest(tmp_path))
    sp = import_sparkify(sparkify_logs(tmp_path))
    # THEN none of their events land, each is counted as suppressed, and the counts reconcile
    events = landed("events")
    assert not [e for e in events if e["profile_id"] == "ml_u1" or e["account_id"] == "sp_a8"]
    assert any(e["profile_id"] == "ml_u2" for e in events) and any(e["profile_id"] == "sp_u7" for e in events)
    beats = len(range(movielens.HEARTBEAT_EVERY_S, movielens.RUNTIME_S, movielens.HEARTBEAT_EVERY_S))
    per_play = [2 + beats + (expected_value(r) != 0) for u, _, r, _ in RATINGS if u == 1]  # start, complete
    assert ml.events.suppressed == 2 + sum(per_play)  # login, profile_updated and every play of user 1
    assert sp.events.suppressed > 0 and "suppressed" in sp.render()
    for summary in (ml, sp):
        tally = summary.events
        assert tally.received == tally.accepted + tally.duplicates + tally.rejected + tally.suppressed
    assert not [raw for raw, _ in rejected_reasons() if "sp_a8" in raw or '"userId": "8"' in raw]
