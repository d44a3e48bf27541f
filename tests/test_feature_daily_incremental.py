"""The feature layer's daily aggregates (int_profile_daily, int_profile_genre_daily, int_title_viewer_daily,
int_title_daily) recompute only the days a build can change: from the earliest rebuild window's day on
(recomputed_from_date). Earlier days keep their rows untouched; later days follow late data, re-stitched
events included; the tables always equal a full refresh."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from support.home import land_events, use_home
from support.warehouse import compare_with_full_refresh

from orchestration.dbt_runner import run_dbt

DAY1 = datetime(2026, 5, 1, tzinfo=UTC)
CONTEXT = {"country": "DE", "device_type": "tv", "app_version": "5.1", "os": "tizen", "timezone": "UTC"}
DAILY = ["int_profile_daily", "int_profile_genre_daily", "int_title_viewer_daily", "int_title_daily"]
# the daily aggregates, daily_engagement, and the event chain whose success advances the build watermark, with
# their generic data tests (on changed rows: meta changed_rows); not the singular ones, which the marks below fail
SELECTION = ["--select", *(f"+{name}" for name in DAILY), "+daily_engagement", "+impression_funnel",
             "--exclude", "resource_type:unit_test", "test_type:singular", "--indirect-selection", "cautious"]
MARK = 1_000_000  # added to watch_seconds of every row: a row a build recomputes gets its true value back


def _event(event_id, event_type, at, device, profile=None, account=None, **properties):
    return {"event_id": event_id, "event_type": event_type, "occurred_at": at.isoformat(), "device_id": device,
            "profile_id": profile, "account_id": account, "context": dict(CONTEXT), "properties": properties,
            "schema_version": 1}


def _evening(device, day, title, profile=None, account=None):
    """A session on `day` (1-based) at 20:00: a search and a 20-minute play of `title`."""
    at = DAY1 + timedelta(days=day - 1, hours=20)
    key = f"{device}-{day}"
    return [_event(f"{key}-s", "search", at, device, profile, account, query="x", results_count=3),
            _event(f"{key}-p", "play_start", at + timedelta(minutes=1), device, profile, account, title_id=title,
                   position_s=0, duration_s=3000),
            _event(f"{key}-q", "play_stop", at + timedelta(minutes=21), device, profile, account, title_id=title,
                   position_s=1200)]


def _land(events, received_day: int, batch: str) -> None:
    land_events(events, DAY1 + timedelta(days=received_day - 1, hours=23), batch_id=batch)


def _split_by_mark(con, table: str, first_recomputed: str) -> dict[str, tuple[int, int]]:
    """(marked rows, unmarked rows) before and from the first recomputed day"""
    rows = con.execute(f"""
        select activity_date < date '{first_recomputed}' as is_before, watch_seconds >= {MARK} as is_marked, count(*)
        from {table} group by all""").fetchall()
    counts = {(before, marked): n for before, marked, n in rows}
    return {"before": (counts.get((True, True), 0), counts.get((True, False), 0)),
            "from": (counts.get((False, True), 0), counts.get((False, False), 0))}


@pytest.mark.slow  # three small dbt builds
def test_daily_aggregates_recompute_from_the_first_day_a_build_can_change(tmp_path, monkeypatch):
    home = use_home(monkeypatch, tmp_path / "home")
    # pA watches every evening of days 1-6 on dA; dB: pB logs in on day 1 and out on day 4 at 09:00,
    # then dB plays t2 anonymously (no profile yet: events after a logout take the next login)
    history = [e for day in range(1, 7) for e in _evening("dA", day, "t1", profile="pA", account="aA")]
    history += [_event("dB-login", "login", DAY1 + timedelta(hours=9), "dB", "pB", "aB"),
                *_evening("dB", 1, "t2"),
                _event("dB-logout", "logout", DAY1 + timedelta(days=3, hours=9), "dB"),
                _event("dB-anon-p", "play_start", DAY1 + timedelta(days=3, hours=9, minutes=10), "dB",
                       title_id="t2", position_s=0, duration_s=3000),
                _event("dB-anon-q", "play_stop", DAY1 + timedelta(days=3, hours=9, minutes=30), "dB",
                       title_id="t2", position_s=1200)]
    _land(history, 7, "b1")
    land_events([{"title_id": title, "name": title, "kind": "movie", "genres": ["drama"], "moods": [], "cast": [],
                  "maturity_rating": "13+", "runtime_s": 3000, "release_date": "2020-01-01",
                  "available_countries": ["*"]} for title in ("t1", "t2")], DAY1, kind="catalog", batch_id="catalog-1")
    run_dbt(["build", *SELECTION])
    warehouse = home / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("select count(*) from int_title_viewer_daily where viewer_id = 'device:dB'"
                           " and activity_date = date '2026-05-04'").fetchone()[0] == 1
        for table in DAILY:
            con.execute(f"update {table} set watch_seconds = watch_seconds + {MARK}")

    # nothing new: no day is recomputed
    run_dbt(["build", *SELECTION])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in DAILY:
            assert con.execute(f"select count(*) from {table} where watch_seconds < {MARK}").fetchone()[0] == 0, table

    # a late login of pC on dB (day 4, 10:00) takes the anonymous play after the logout (re-stitched from the
    # device to pC): dB's window starts at the logout's session, day 4; dA adds day 7
    _land([_event("dB-late-login", "login", DAY1 + timedelta(days=3, hours=10), "dB", "pC", "aB"),
           *_evening("dA", 7, "t1", profile="pA", account="aA")], 8, "b2")
    run_dbt(["build", *SELECTION])
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("select cast(min(rebuild_from) as date) from int_device_rebuild_windows"
                           ).fetchone()[0].isoformat() == "2026-05-04"
        for table in DAILY:
            split = _split_by_mark(con, table, "2026-05-04")
            # days 1-3 kept as they were (marked), days 4-7 recomputed (their true values)
            assert split["before"][0] > 0 and split["before"][1] == 0, (table, split)
            assert split["from"][0] == 0 and split["from"][1] > 0, (table, split)
        viewers = {r[0] for r in con.execute(
            "select viewer_id from int_title_viewer_daily where activity_date = date '2026-05-04'").fetchall()}
        assert viewers == {"pA", "pC"}  # the device's anonymous row is gone, pC has it
        # the true values back (daily_engagement copied the marks of the kept days), for the comparison below
        for table in [*DAILY, "daily_engagement"]:
            con.execute(f"update {table} set watch_seconds = watch_seconds - {MARK} where watch_seconds >= {MARK}")

    # the same lake in one full refresh gives the same rows
    compared = compare_with_full_refresh(monkeypatch, home, tmp_path / "full", SELECTION, [*DAILY, "daily_engagement"])
    assert {table: (only_incremental, only_full) for table, (only_incremental, only_full, _) in compared.items()} \
        == {table: (0, 0) for table in compared}
    assert all(rows > 0 for _, _, rows in compared.values()), compared
