"""recommendation_impressions recomputes only the impressions a build can change (delete_recomputed_days, update_kept_impression_retention):
retention flags fill in as later days arrive, a late event re-decides an old impression's retention, and
everything else keeps its rows; the table always equals a full refresh."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from support.home import land_events, use_home
from support.warehouse import compare_with_full_refresh

from orchestration.dbt_runner import run_dbt

DAY = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
CONTEXT = {"country": "DE", "device_type": "tv", "app_version": "5.1", "os": "tizen", "timezone": "UTC"}
# the models this test needs, and the event chain whose success advances the build watermark
SELECTION = ["--select", "+recommendation_impressions", "+sessions", "--exclude", "resource_type:test",
             "resource_type:unit_test"]


def _event(event_id, event_type, at, profile, properties=None):
    return {"event_id": event_id, "event_type": event_type, "occurred_at": at.isoformat(), "device_id": f"dev-{profile}",
            "profile_id": profile, "account_id": f"a-{profile}", "context": dict(CONTEXT),
            "properties": properties or {}, "schema_version": 1}


def _impression(event_id, at, profile, title="t1"):
    return _event(event_id, "impression", at, profile,
                  {"title_id": title, "row_id": "top_picks", "rank": 1, "request_id": f"rq-{event_id}"})


def _active(event_id, at, profile):
    return _event(event_id, "search", at, profile, {"query": "x", "results_count": 1})


def _land(events, days_after: int, batch: str) -> None:
    land_events(events, DAY + timedelta(days=days_after, hours=1), batch_id=batch)


def _rows(path) -> dict[str, tuple]:
    """impression → (watch seconds, retained 7d, retained 30d)"""
    with duckdb.connect(str(path), read_only=True) as con:
        return {r[0]: r[1:] for r in con.execute(
            "select impression_event_id, watch_seconds, is_retained_7d, is_retained_30d from recommendation_impressions"
        ).fetchall()}


def _mark(path, watch_seconds: int) -> None:
    """Overwrites every row's watch_seconds: a row a build recomputes gets its true value (0) back."""
    with duckdb.connect(str(path)) as con:
        con.execute("update recommendation_impressions set watch_seconds = ?", [watch_seconds])


@pytest.mark.slow  # six small dbt builds
def test_impressions_are_recomputed_from_the_first_day_a_build_can_change(tmp_path, monkeypatch):
    home = use_home(monkeypatch, tmp_path / "home")
    # p0's impression is long past: both retention windows observed (active 8 and 31 days later)
    _land([_impression("i-old", DAY - timedelta(days=80), "p0"), _active("a0-7", DAY - timedelta(days=72), "p0"),
           _active("a0-30", DAY - timedelta(days=49), "p0"),
           # p1's impression today, active 8 days later; the data end 10 days after it
           _impression("i-new", DAY, "p1"), _active("a1-7", DAY + timedelta(days=8), "p1"),
           _active("a2-10", DAY + timedelta(days=10), "p2")], 10, "b1")
    run_dbt(["build", *SELECTION])
    warehouse = home / "warehouse.duckdb"
    first = _rows(warehouse)
    assert first == {"i-old": (0, True, True), "i-new": (0, None, None)}  # i-new: neither window observed yet
    _mark(warehouse, -1)
    # nothing new: no row can change, none is recomputed (i-new's windows are as unobserved as before)
    run_dbt(["build", *SELECTION])
    assert _rows(warehouse) == {"i-old": (-1, True, True), "i-new": (-1, None, None)}

    # four more days: i-new's 7-day window (days 7–13) is now observed, its 30-day one is not
    _land([_active("a2-14", DAY + timedelta(days=14), "p2")], 14, "b2")
    run_dbt(["build", *SELECTION])
    # i-new's retention flag was refreshed in place (the post_hook: its funnel row cannot change outside a
    # rebuild window, so the row is kept, marked); i-old could not change at all
    assert _rows(warehouse) == {"i-old": (-1, True, True), "i-new": (-1, True, None)}

    # a late event: p1 was active 31 days after i-new, delivered with day 40's data with an impression of
    # p2 on day 40; i-p2 is shown, then a late click and a play of it arrive
    _land([_active("a1-31", DAY + timedelta(days=31), "p1"), _active("a2-40", DAY + timedelta(days=40), "p2"),
           _impression("i-p2", DAY + timedelta(days=40), "p2")], 40, "b3")
    run_dbt(["build", *SELECTION])
    # the late activity re-decided i-new's 30-day retention (its active days changed within 36 days after it)
    assert _rows(warehouse) == {"i-old": (-1, True, True), "i-new": (-1, True, True), "i-p2": (0, None, None)}
    _mark(warehouse, -1)
    click_at = DAY + timedelta(days=40, minutes=1)
    _land([_event("c-p2", "click", click_at, "p2", {"title_id": "t1", "row_id": "top_picks", "rank": 1,
                                                   "request_id": "rq-i-p2"}),
           _event("ps-p2", "play_start", click_at + timedelta(minutes=1), "p2",
                  {"title_id": "t1", "position_s": 0, "duration_s": 1000}),
           _event("pq-p2", "play_stop", click_at + timedelta(minutes=6), "p2", {"title_id": "t1", "position_s": 300})],
          41, "b4")
    run_dbt(["build", *SELECTION])
    # i-p2's session is p2's rebuild window: its row was recomputed (clicked, played 300 s); the others kept
    rows = _rows(warehouse)
    assert rows["i-old"] == (-1, True, True) and rows["i-new"] == (-1, True, True)
    assert rows["i-p2"] == (300, None, None)
    with duckdb.connect(str(warehouse)) as con:  # the true value back (no play: 0), for the comparison below
        con.execute("update recommendation_impressions set watch_seconds = 0 where watch_seconds = -1")

    # the same lake in one full refresh gives the same rows
    compared = compare_with_full_refresh(monkeypatch, home, tmp_path / "full", SELECTION, ["recommendation_impressions"])
    assert compared == {"recommendation_impressions": (0, 0, 3)}
