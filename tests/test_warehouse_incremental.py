"""An incremental build equals a full refresh (docs/architecture.md "Incremental builds that equal a
full refresh").

GIVEN events landed in two halves, the second holding late events, copies of first-half events, a
late login that changes retroactive stitching and an event that bridges two sessions, plus seeded
random activity of many devices
WHEN one warehouse is built incrementally after each half and another is built once, with
--full-refresh, from the same lake
THEN every table consumers read holds exactly the same rows in both (EXCEPT ALL, both directions).
"""
from __future__ import annotations

import random
import shutil
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from support.home import land_events, use_home

from streamloop.app.build import run_build

DAY1 = datetime(2026, 3, 1, tzinfo=UTC)
CONTEXT = {"country": "DE", "device_type": "tv", "app_version": "5.1", "os": "tizen", "timezone": "Europe/Berlin"}


def event(event_id, event_type, at, device, profile=None, account=None, **properties):
    return {
        "event_id": event_id, "event_type": event_type, "occurred_at": at.isoformat(), "device_id": device,
        "profile_id": profile, "account_id": account, "context": CONTEXT, "properties": properties,
        "schema_version": 1,
    }


def minutes(n: float) -> datetime:
    return DAY1 + timedelta(hours=10, minutes=n)


def crafted_halves() -> tuple[list[dict], list[dict]]:
    """The named edge cases: (first half, second half)."""
    first = [
        # d1: anonymous browsing, later (12:00) a login; in the second half a late login at 10:20
        event("d1-a", "app_open", minutes(0), "d1"),
        event("d1-b", "impression", minutes(5), "d1", title_id="t1", row_id="top", rank=1, request_id="r1"),
        event("d1-c", "app_open", minutes(40), "d1"),
        event("d1-login", "login", minutes(120), "d1", profile="p1", account="a1"),
        event("d1-d", "play_start", minutes(121), "d1", title_id="t1", position_s=0, duration_s=600),
        event("d1-e", "heartbeat", minutes(125), "d1", title_id="t1", position_s=240),
        # d3: two sessions 40 minutes apart; the second half adds an event bridging them
        event("d3-a", "app_open", minutes(0), "d3", profile="p3", account="a3"),
        event("d3-b", "app_open", minutes(40), "d3", profile="p3", account="a3"),
        # d4: a play whose stop arrives late
        event("d4-a", "play_start", minutes(0), "d4", profile="p4", account="a4", title_id="t2", position_s=0, duration_s=100),
        event("d4-b", "heartbeat", minutes(1), "d4", profile="p4", account="a4", title_id="t2", position_s=60),
        event("d4-c", "payment_succeeded", minutes(2), "d4", account="a4", amount_cents=999, currency="EUR"),
        # d5: a login, a logout an hour later, anonymous browsing; a late login (second half) after the
        # logout takes that browsing retroactively, the first session stays with p5
        event("d5-login", "login", minutes(0), "d5", profile="p5", account="a5"),
        event("d5-a", "app_open", minutes(5), "d5"),
        event("d5-logout", "logout", minutes(60), "d5", profile="p5", account="a5"),
        event("d5-b", "app_open", minutes(65), "d5"),
        # d6: an explicit event without an account, a session after the login of another profile;
        # a late login of its profile (second half) gives it that login's account
        event("d6-login", "login", minutes(0), "d6", profile="p6", account="a6"),
        event("d6-a", "app_open", minutes(60), "d6", profile="p7"),
    ]
    second = [
        event("d1-late-login", "login", minutes(20), "d1", profile="p2", account="a1"),
        event("d3-bridge", "heartbeat", minutes(20), "d3", profile="p3", account="a3", title_id="t9", position_s=5),
        event("d4-d", "play_stop", minutes(2), "d4", profile="p4", account="a4", title_id="t2", position_s=95),
        event("d5-late-login", "login", minutes(100), "d5", profile="p6", account="a5"),
        event("d6-late-login", "login", minutes(100), "d6", profile="p7", account="a6"),
        # copies of first-half events (a retried delivery keeps its id)
        event("d1-b", "impression", minutes(5), "d1", title_id="t1", row_id="top", rank=1, request_id="r1"),
        event("d4-c", "payment_succeeded", minutes(2), "d4", account="a4", amount_cents=999, currency="EUR"),
        # the next day
        event("d1-f", "app_open", minutes(24 * 60), "d1"),
        event("d4-e", "payment_failed", minutes(24 * 60), "d4", account="a4", amount_cents=999, currency="EUR"),
    ]
    return first, second


def random_activity(seed: int, devices: int = 40) -> list[tuple[dict, datetime]]:
    """Seeded sessions of many devices over two days: (event, occurred_at)."""
    rng = random.Random(seed)
    out = []
    for d in range(devices):
        device, account = f"rd{d}", f"ra{d // 2}"
        profiles = [f"rp{d // 2}-{k}" for k in range(2)]
        at = DAY1 + timedelta(minutes=rng.randint(0, 600))
        n = 0
        while at < DAY1 + timedelta(days=2):
            profile = None
            for _ in range(rng.randint(2, 12)):
                n += 1
                eid = f"{device}-{n}"
                roll = rng.random()
                if roll < 0.12:
                    profile = rng.choice(profiles)
                    e = event(eid, rng.choice(["login", "profile_switch"]), at, device, profile=profile, account=account)
                elif roll < 0.17:
                    e = event(eid, "logout", at, device)
                elif roll < 0.35:
                    e = event(eid, "impression", at, device, title_id=f"t{rng.randint(1, 6)}", row_id="top",
                              rank=rng.randint(1, 5), request_id=f"{eid}-r")
                elif roll < 0.45:
                    e = event(eid, "click", at, device, title_id=f"t{rng.randint(1, 6)}", row_id="top", rank=1,
                              request_id=f"{device}-{n - 1}-r")
                elif roll < 0.6:
                    e = event(eid, "play_start", at, device, title_id=f"t{rng.randint(1, 6)}",
                              position_s=rng.choice([0, 30]), duration_s=rng.choice([300, 1200]))
                elif roll < 0.85:
                    e = event(eid, rng.choice(["heartbeat", "heartbeat", "pause", "play_stop", "play_complete"]), at,
                              device, title_id=f"t{rng.randint(1, 6)}", position_s=rng.randint(0, 1200))
                elif roll < 0.9:
                    e = event(eid, "payment_succeeded", at, device, account=account, amount_cents=799, currency="EUR")
                else:
                    e = event(eid, "app_open", at, device)
                out.append((e, at))
                at += timedelta(minutes=rng.choice([1, 2, 5, 29, 31]))
            at += timedelta(minutes=rng.randint(31, 600))
    return out


def land_halves(home, seed: int = 11) -> None:
    """Lands the first half (received on day 2) and the second half (received on day 3)."""
    first, second = crafted_halves()
    rng = random.Random(seed)
    day2, day3 = DAY1 + timedelta(days=1, hours=1), DAY1 + timedelta(days=2, hours=1)
    for e, at in random_activity(seed):
        if at >= DAY1 + timedelta(days=1):
            second.append(e)                     # the next day's activity
        elif rng.random() < 0.15:
            second.append(e)                     # a late delivery of day-1 activity
        else:
            first.append(e)
            if rng.random() < 0.05:
                second.append(e)                 # and a duplicate delivery of it later
    bad = ['{"event_id": "broken"', '{"event_id": "x1", "event_type": "teleport"}']
    land_events(first + bad[:1], day2, home=home, batch_id="half-1")
    land_events(second + bad[1:], day3, home=home, batch_id="half-2")
    catalog = [{"title_id": f"t{i}", "name": f"Title {i}", "kind": "movie", "genres": ["drama"], "moods": [],
                "cast": [], "maturity_rating": "13+", "runtime_s": 1200, "release_date": "2020-01-01",
                "available_countries": ["*"]} for i in range(1, 6)]
    land_events(catalog, DAY1, home=home, kind="catalog", batch_id="catalog-1")


def consumer_tables(path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_type = 'BASE TABLE'").fetchall()]
    internal = ("int_", "stg_", "_", "contract_")
    return sorted(n for n in names if not n.startswith(internal))


def rows_only_in(con, left: str, right: str, table: str, columns: str = "*") -> int:
    return con.execute(
        f'select count(*) from (select {columns} from {left}."{table}" except all select {columns} from {right}."{table}")'
    ).fetchone()[0]


@pytest.fixture(scope="module")
def two_warehouses(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    incremental_home = tmp_path_factory.mktemp("incremental") / "home"
    full_home = tmp_path_factory.mktemp("full") / "home"
    try:
        # the incremental warehouse sees the halves one build at a time
        use_home(mp, incremental_home)
        land_halves(full_home)  # the complete lake, written once
        shutil.copytree(full_home / "lake" / "catalog", incremental_home / "lake" / "catalog")
        shutil.copytree(full_home / "lake" / "events" / "received_date=2026-03-02",
                        incremental_home / "lake" / "events" / "received_date=2026-03-02")
        run_build()
        shutil.copytree(full_home / "lake" / "events" / "received_date=2026-03-03",
                        incremental_home / "lake" / "events" / "received_date=2026-03-03")
        second_summary = run_build()
        # the full-refresh warehouse builds everything at once
        use_home(mp, full_home)
        full_summary = run_build(full_refresh=True)
        yield incremental_home / "warehouse.duckdb", full_home / "warehouse.duckdb", second_summary, full_summary
    finally:
        mp.undo()


@pytest.mark.slow
def test_incremental_build_equals_full_refresh_table_by_table(two_warehouses):
    incremental, full, _, _ = two_warehouses
    tables = consumer_tables(full)
    assert {"events", "sessions", "plays", "impression_funnel", "profiles", "accounts"} <= set(tables)
    assert consumer_tables(incremental) == tables
    con = attach_both(incremental, full)
    assert differing_tables(con, tables) == {}
    assert con.execute("select count(*) from full_refresh.events").fetchone()[0] > 500


def attach_both(incremental, full) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"attach '{incremental}' as incremental (read_only)")
    con.execute(f"attach '{full}' as full_refresh (read_only)")
    return con


def differing_tables(con, tables, columns_of=lambda table: "*") -> dict[str, tuple[int, int]]:
    """Table -> (rows only in the incremental build, rows only in the full refresh), for tables that differ.
    `columns_of(table)`: the select list compared (benchmarks/build.py rounds doubles at 10M rows)."""
    differences = {
        table: (rows_only_in(con, "incremental", "full_refresh", table, columns_of(table)),
                rows_only_in(con, "full_refresh", "incremental", table, columns_of(table)))
        for table in tables
    }
    return {t: d for t, d in differences.items() if d != (0, 0)}


# the feature layer's daily aggregates (internal tables): feature snapshots and daily_engagement are
# windowed sums of them, so an incremental version of any of them must equal the full refresh too
FEATURE_DAILY = ["int_profile_daily", "int_account_daily", "int_profile_genre_daily", "int_title_daily",
                 "int_title_viewer_daily"]


@pytest.mark.slow
def test_feature_daily_aggregates_equal_full_refresh(two_warehouses):
    incremental, full, _, _ = two_warehouses
    con = attach_both(incremental, full)
    assert differing_tables(con, FEATURE_DAILY) == {}
    # the comparison means something only if the late half changed rows of every aggregate
    for table in FEATURE_DAILY:
        assert con.execute(f'select count(*) from full_refresh."{table}"').fetchone()[0] > 0, table
    # late plays and re-stitched events land on the first day: its profile rows must reflect the second half
    assert con.execute("select count(*) from full_refresh.int_profile_daily where profile_id in ('p2', 'p6', 'p7')"
                       " and activity_date = date '2026-03-01'").fetchone()[0] >= 2


@pytest.mark.slow
def test_the_edge_cases_took_effect(two_warehouses):
    # the comparison above only means something if the late data really changed earlier results
    incremental, _, _, _ = two_warehouses
    with duckdb.connect(str(incremental), read_only=True) as con:
        rules = dict(con.execute(
            "select event_id, identity_rule || ':' || coalesce(profile_id, '-') || ':' || coalesce(account_id, '-')"
            " from events where device_id in ('d1', 'd5', 'd6')"
        ).fetchall())
        d3_sessions = con.execute("select count(distinct session_id) from events where device_id = 'd3'").fetchone()[0]
        d4_play = con.execute("select end_reason, is_completed from plays where device_id = 'd4'").fetchall()
        duplicates = con.execute("select sum(duplicate_count) from ingestion_reconciliation").fetchone()[0]
        # the second build recomputed windows, not everything
        full_rebuilds = con.execute(
            "select count(*) from int_device_rebuild_windows where rebuild_from = '-infinity'").fetchone()[0]
        recomputed, total = con.execute(
            "select (select count(*) from int_events_sessionized), (select count(*) from events)").fetchone()
    assert full_rebuilds == 0 and 0 < recomputed < total
    # before the late login, d1's anonymous events resolved retroactively to p1 (the 12:00 login)
    assert rules["d1-a"] == "device_retroactive:p2:a1" and rules["d1-b"] == "device_retroactive:p2:a1"
    assert rules["d1-c"] == "device_forward:p2:a1"
    assert rules["d1-f"] == "device_forward:p1:a1"
    # a late login re-resolves events after a logout and account-less explicit events, not the
    # events resolved forward to the login before them
    assert rules["d5-a"] == "device_forward:p5:a5" and rules["d5-b"] == "device_retroactive:p6:a5"
    assert rules["d6-a"] == "explicit:p7:a6"
    assert d3_sessions == 1
    assert d4_play == [("play_stop", True)]
    assert duplicates >= 2


@pytest.mark.slow
def test_second_incremental_build_summarizes_everything_received(two_warehouses):
    _, _, incremental_summary, full_summary = two_warehouses
    for summary in (incremental_summary, full_summary):
        assert summary.received == summary.accepted + summary.duplicates + summary.rejected
    assert (incremental_summary.received, incremental_summary.accepted, incremental_summary.duplicates,
            incremental_summary.rejected) == (full_summary.received, full_summary.accepted,
                                              full_summary.duplicates, full_summary.rejected)
    assert incremental_summary.rejected == 2
