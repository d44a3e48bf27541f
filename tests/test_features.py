"""Feature tables: the point-in-time rule, behaviourally, and the labels against a Python recount.

GIVEN a small hand-made history landed in a tmp lake and built into a warehouse,
WHEN events dated on or after a snapshot date d are appended and the warehouse is rebuilt,
THEN every feature row with snapshot_date <= d is unchanged (features only see events before d),
     while labels of those rows do change (they see events from d on) and match a recount in Python.
"""
from __future__ import annotations

import ast
import json
import random
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from streamloop.core.contract import validate_catalog_record, validate_event
from streamloop.core.lake import Lake
from streamloop.core.settings import get_settings

REPO = Path(__file__).resolve().parents[1]
FEATURES_DIR = REPO / "dbt_project" / "models" / "features"
FEATURE_TABLES = {
    "profile_features": ["profile_id", "snapshot_date"],
    "account_features": ["account_id", "snapshot_date"],
    "title_features": ["title_id", "snapshot_date"],
    "title_country_features": ["title_id", "country", "snapshot_date"],
}
LABELS = ["is_churned_30d", "revenue_next_90d_cents", "is_churn_label_complete", "is_ltv_label_complete"]
START = date(2026, 1, 5)            # a Monday; first day of data
FIRST_DAYS = 35                     # first build: days START .. START+34, so data ends (exclusive) at START+35
CUTOFF = START + timedelta(days=FIRST_DAYS)   # d: the latest snapshot of the first build
APPENDED_DAYS = 7                   # appended events fill [d, d+7): the snapshot grid keeps its dates
GRACE_DAYS = 14                     # var payment_grace_days (default)

PROFILES = {  # profile -> (account, device, timezone, country)
    "p1": ("a1", "d1", "America/New_York", "US"),
    "p2": ("a1", "d2", "America/New_York", "US"),
    "p3": ("a2", "d3", "Europe/Berlin", "DE"),
    "p4": ("a3", "d4", "Asia/Tokyo", "JP"),
}
ACCOUNTS = {"a1": "US", "a2": "DE", "a3": "JP"}
MOVIES = {"m1": ["Drama"], "m2": ["Comedy", "Drama"], "m3": ["Horror"]}
SERIES = {"s1": ["Sci-Fi"]}
EPISODES = [f"s1e{n}" for n in range(1, 6)]


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def occurred(event: dict) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


@dataclass
class History:
    """Hand-made events (contract §2 JSON objects), built in time order."""

    events: list[dict] = field(default_factory=list)
    counter: int = 0

    def add(self, event_type: str, when: datetime, profile: str | None, account: str | None, device: str,
            properties: dict | None = None, tz: str = "UTC", country: str = "US") -> None:
        self.counter += 1
        self.events.append({
            "event_id": f"ev{self.counter:06d}",
            "event_type": event_type,
            "occurred_at": when.isoformat().replace("+00:00", "Z"),
            "device_id": device,
            "profile_id": profile,
            "account_id": account,
            "context": {"country": country, "device_type": "tv" if device in ("d1", "d3") else "mobile",
                        "app_version": "1.0", "os": "test", "timezone": tz},
            "properties": properties or {},
            "schema_version": 1,
        })

    def viewer(self, profile: str, event_type: str, when: datetime, properties: dict | None = None) -> None:
        account, device, tz, country = PROFILES[profile]
        self.add(event_type, when, profile, account, device, properties, tz, country)

    def billing(self, account: str, event_type: str, when: datetime, properties: dict) -> None:
        self.add(event_type, when, None, account, f"server-{account}", properties, "UTC", ACCOUNTS[account])

    def play(self, profile: str, title: str, start: datetime, minutes: int, complete: bool) -> None:
        runtime = 1800
        self.viewer(profile, "play_start", start, {"title_id": title, "position_s": 0, "duration_s": runtime})
        for minute in range(5, minutes, 5):
            self.viewer(profile, "heartbeat", start + timedelta(minutes=minute),
                        {"title_id": title, "position_s": minute * 60})
        end_type = "play_complete" if complete else "play_stop"
        self.viewer(profile, end_type, start + timedelta(minutes=minutes),
                    {"title_id": title, "position_s": runtime if complete else minutes * 60})


def viewing_day(history: History, rand: random.Random, profile: str, day: date) -> None:
    """One evening of a profile: login, a few plays (sometimes an episode run), discovery events."""
    start = at(day, rand.randint(10, 19), rand.choice([0, 15, 30]))
    history.viewer(profile, "login", start)
    history.viewer(profile, "impression", start + timedelta(minutes=1),
                   {"title_id": "m1", "row_id": "popular", "rank": 1, "request_id": f"r-{profile}-{day}"})
    clock = start + timedelta(minutes=2)
    if rand.random() < 0.4:
        history.viewer(profile, "click", clock, {"title_id": "m1", "row_id": "popular", "rank": 1,
                                                 "request_id": f"r-{profile}-{day}"})
    titles = rand.sample(EPISODES, 3) if rand.random() < 0.3 else [rand.choice(list(MOVIES) + EPISODES)]
    for title in titles:
        minutes = rand.choice([10, 20, 30])
        history.play(profile, title, clock, minutes, complete=minutes == 30)
        clock += timedelta(minutes=minutes + 2)
    if rand.random() < 0.5:
        history.viewer(profile, "search", clock, {"query": "space", "results_count": 3})
    if rand.random() < 0.3:
        history.viewer(profile, "add_to_list", clock + timedelta(minutes=1), {"title_id": rand.choice(list(MOVIES))})
    if rand.random() < 0.3:
        history.viewer(profile, "rating", clock + timedelta(minutes=2),
                       {"title_id": rand.choice(list(MOVIES)), "value": rand.choice([-1, 1])})


def first_history() -> History:
    """35 days: three subscribed households; a2 cancels on day 20 and resubscribes on day 27."""
    rand = random.Random(11)
    history = History()
    plans = {"subscription_started": {"plan": "standard", "price_cents": 999, "currency": "USD", "is_trial": False}}
    for account in ACCOUNTS:
        history.billing(account, "subscription_started", at(START, 8), plans["subscription_started"])
        history.billing(account, "payment_succeeded", at(START, 8, 5), {"amount_cents": 999, "currency": "USD"})
    for profile, (account, device, tz, country) in PROFILES.items():
        history.viewer(profile, "profile_updated", at(START, 9),
                       {"is_kids": profile == "p2", "maturity_rating": "7+" if profile == "p2" else "18+"})
    for offset in range(FIRST_DAYS):
        day = START + timedelta(days=offset)
        for profile in PROFILES:
            if rand.random() < 0.6:
                viewing_day(history, rand, profile, day)
    history.billing("a2", "subscription_canceled", at(START + timedelta(days=20), 21), {"reason": "too_expensive"})
    history.billing("a2", "subscription_started", at(START + timedelta(days=27), 9),
                    {"plan": "basic", "price_cents": 599, "currency": "EUR", "is_trial": False})
    history.billing("a3", "payment_failed", at(START + timedelta(days=30), 6), {"amount_cents": 999, "currency": "USD"})
    history.billing("a1", "payment_succeeded", at(START + timedelta(days=30), 6), {"amount_cents": 999, "currency": "USD"})
    history.billing("a1", "plan_changed", at(START + timedelta(days=31), 6), {"plan": "premium", "price_cents": 1499})
    return history


def appended_history(history: History) -> None:
    """Events on and after d, touching the same profiles, titles and accounts (and d 00:00:00 exactly)."""
    rand = random.Random(5)
    history.viewer("p1", "search", at(CUTOFF, 0, 0, 0), {"query": "midnight", "results_count": 1})
    history.viewer("p2", "profile_updated", at(CUTOFF, 0, 0, 0), {"is_kids": False, "maturity_rating": "18+"})
    for offset in range(APPENDED_DAYS):
        day = CUTOFF + timedelta(days=offset)
        for profile in PROFILES:
            viewing_day(history, rand, profile, day)
    history.billing("a1", "subscription_canceled", at(CUTOFF + timedelta(days=3), 12), {"reason": "not_watching"})
    history.billing("a2", "payment_succeeded", at(CUTOFF + timedelta(days=2), 6), {"amount_cents": 599, "currency": "EUR"})
    # a3's failed payment on day 30 is never recovered: it lapses 14 days later, after d


def catalog_records() -> list[dict]:
    base = {"moods": ["tense"], "cast": ["someone"], "maturity_rating": "13+", "release_date": "2020-01-01",
            "available_countries": ["*"]}
    records = [dict(base, title_id=t, name=t, kind="movie", genres=g, runtime_s=1800) for t, g in MOVIES.items()]
    records += [dict(base, title_id=s, name=s, kind="series", genres=g, runtime_s=None) for s, g in SERIES.items()]
    records += [dict(base, title_id=e, name=e, kind="episode", series_id="s1", season=1, episode=n + 1,
                     genres=SERIES["s1"], runtime_s=1800) for n, e in enumerate(EPISODES)]
    return records


def land(lake: Lake, events: list[dict], batch: str) -> None:
    for event in events:
        assert validate_event(event, received_at=datetime(2030, 1, 1, tzinfo=UTC)) == [], event
    received = [occurred(e) + timedelta(seconds=5)
                for e in events]
    lake.write_records("events", [json.dumps(e) for e in events], source="test", received_at=received, batch_id=batch)


def build(full_refresh: bool) -> None:
    """`streamloop build`'s dbt step, in a child process so this process holds no DuckDB handle of dbt's."""
    args = ["build", "--select", "+path:models/features", "+daily_engagement", "--exclude", "resource_type:unit_test",
            "--indirect-selection", "cautious"]
    args += ["--full-refresh"] if full_refresh else []
    run_in_child(f"from orchestration.dbt_runner import run_dbt; run_dbt({args!r})")


def run_in_child(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def read_tables() -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(get_settings().warehouse_file), read_only=True) as con:
        return {name: con.execute(f"select * from {name}").df() for name in FEATURE_TABLES}


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Two warehouses of one history: as of the first 35 days, and after appending 7 more days."""
    home = tmp_path_factory.mktemp("streamloop_home")
    patch = pytest.MonkeyPatch()
    patch.setenv("STREAMLOOP_HOME", str(home))
    get_settings.cache_clear()
    try:
        lake = Lake(get_settings().lake_root)
        catalog = catalog_records()
        for record in catalog:
            assert validate_catalog_record(record) == [], record
        lake.write_records("catalog", [json.dumps(r) for r in catalog], source="test", batch_id="catalog")
        history = first_history()
        first_count = len(history.events)
        land(lake, history.events, "first")
        build(full_refresh=True)
        before = read_tables()
        appended_history(history)
        land(lake, history.events[first_count:], "appended")
        build(full_refresh=False)  # as a daily run would
        after = read_tables()
        yield before, after, history.events
    finally:
        patch.undo()
        get_settings.cache_clear()


def keyed(frame: pd.DataFrame, key: list[str], upto: date) -> pd.DataFrame:
    rows = frame[pd.to_datetime(frame["snapshot_date"]).dt.date <= upto]
    return rows.sort_values(key).reset_index(drop=True)


@pytest.mark.slow
def test_snapshot_grid_keeps_its_dates_and_moves_its_end(builds):
    before, after, _ = builds
    dates_before = set(pd.to_datetime(before["profile_features"]["snapshot_date"]).dt.date)
    dates_after = set(pd.to_datetime(after["profile_features"]["snapshot_date"]).dt.date)
    assert max(dates_before) == CUTOFF
    assert max(dates_after) == CUTOFF + timedelta(days=APPENDED_DAYS)
    assert dates_before < dates_after


@pytest.mark.slow
@pytest.mark.parametrize("table", list(FEATURE_TABLES))
def test_features_up_to_d_ignore_events_from_d_on(builds, table):
    before, after, _ = builds
    key = FEATURE_TABLES[table]
    features = [c for c in before[table].columns if c not in LABELS]
    old = keyed(before[table], key, CUTOFF)[features]
    new = keyed(after[table], key, CUTOFF)[features]
    assert len(old) > 0
    pd.testing.assert_frame_equal(old, new, check_exact=True)


@pytest.mark.slow
def test_labels_up_to_d_see_events_from_d_on(builds):
    before, after, _ = builds
    key = FEATURE_TABLES["account_features"]
    old = keyed(before["account_features"], key, CUTOFF).set_index(key)
    new = keyed(after["account_features"], key, CUTOFF).set_index(key)
    a1_at_d = ("a1", pd.Timestamp(CUTOFF))
    assert not old.loc[a1_at_d, "is_churned_30d"] and new.loc[a1_at_d, "is_churned_30d"]
    assert (old["revenue_next_90d_cents"] != new["revenue_next_90d_cents"]).any()


def python_labels(events: list[dict], account: str, snapshot: date) -> tuple[bool, int]:
    """is_churned_30d and revenue_next_90d_cents recounted from the raw events."""
    d = at(snapshot, 0)
    mine = sorted((occurred(e), e) for e in events
                  if e["account_id"] == account and e["profile_id"] is None)
    successes = [t for t, e in mine if e["event_type"] == "payment_succeeded"]
    canceled = any(d <= t < d + timedelta(days=30) for t, e in mine if e["event_type"] == "subscription_canceled")
    lapsed = False
    for t, e in mine:
        if e["event_type"] == "payment_failed":
            lapse = t + timedelta(days=GRACE_DAYS)
            recovered = any(t < s <= lapse for s in successes)
            lapsed |= not recovered and d <= lapse < d + timedelta(days=30)
    revenue = sum(e["properties"]["amount_cents"] for t, e in mine
                  if e["event_type"] == "payment_succeeded" and d <= t < d + timedelta(days=90))
    return canceled or lapsed, revenue


def python_is_active(events: list[dict], account: str, snapshot: date) -> bool:
    d = at(snapshot, 0)
    mine = sorted((occurred(e), e) for e in events
                  if e["account_id"] == account and e["profile_id"] is None)
    lifecycle = [(t, e) for t, e in mine if t < d and e["event_type"] in
                 ("subscription_started", "plan_changed", "subscription_canceled")]
    if not lifecycle or lifecycle[-1][1]["event_type"] == "subscription_canceled":
        return False
    started = max(t for t, e in lifecycle if e["event_type"] == "subscription_started")
    successes = [t for t, e in mine if e["event_type"] == "payment_succeeded"]
    for t, e in mine:
        lapse = t + timedelta(days=GRACE_DAYS)
        if e["event_type"] == "payment_failed" and t >= started and lapse < d and not any(t < s <= lapse
                                                                                          for s in successes):
            return False
    return True


@pytest.mark.slow
def test_labels_and_rows_match_a_python_recount(builds):
    _, after, events = builds
    accounts = after["account_features"]
    snapshots = sorted(set(pd.to_datetime(accounts["snapshot_date"]).dt.date))
    expected_rows = {(a, d) for a in ACCOUNTS for d in snapshots if python_is_active(events, a, d)}
    actual_rows = {(r.account_id, r.snapshot_date.date()) for r in accounts.itertuples()}
    assert actual_rows == expected_rows
    assert ("a2", START + timedelta(days=21)) not in actual_rows  # canceled on day 20, back on day 27
    for row in accounts.itertuples():
        churned, revenue = python_labels(events, row.account_id, row.snapshot_date.date())
        assert (bool(row.is_churned_30d), int(row.revenue_next_90d_cents)) == (churned, revenue), row


def count_since(timed_events: list[tuple[datetime, dict]], types: tuple[str, ...], since: datetime) -> int:
    return sum(1 for t, e in timed_events if e["event_type"] in types and t >= since)


@pytest.mark.slow
def test_profile_features_match_a_python_recount(builds):
    _, after, events = builds
    for row in after["profile_features"].itertuples():
        d = at(row.snapshot_date.date(), 0)
        mine = [(occurred(e), e) for e in events
                if e["profile_id"] == row.profile_id]
        before = [(t, e) for t, e in mine if t < d]

        assert row.searches_28d == count_since(before, ("search",), d - timedelta(days=28)), row
        assert row.list_adds_28d == count_since(before, ("add_to_list",), d - timedelta(days=28)), row
        # every hand-made play ends with play_stop or play_complete, so plays are counted by those
        assert row.plays_7d == count_since(before, ("play_stop", "play_complete"), d - timedelta(days=7)), row
        assert row.plays_90d == count_since(before, ("play_stop", "play_complete"), d - timedelta(days=90)), row
        updates = [e for t, e in sorted(before, key=lambda p: p[0]) if e["event_type"] == "profile_updated"]
        assert row.is_kids == (updates[-1]["properties"]["is_kids"] if updates else False), row


@pytest.mark.slow
def test_feature_unit_tests_pass(builds):
    """dbt unit tests of the feature layer (window edges, labels, binges), on the built warehouse's schemas."""
    selector = "test_type:unit,path:models/features test_type:unit,path:models/intermediate/features"
    # a selector that matched nothing would pass too: the child reports which unit tests ran and how
    output = run_in_child("from orchestration.dbt_runner import run_dbt; "
                          f"result = run_dbt(['test', '--select', *{selector.split()!r}]); "
                          "print(sorted((r.node.name, str(r.status)) for r in result.result.results "
                          "if str(r.node.resource_type) == 'unit_test'))")
    ran = dict(ast.literal_eval(output.strip().splitlines()[-1]))
    declared = {test["name"] for path in (FEATURES_DIR.glob("*.yml"))
                for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", [])}
    declared |= {test["name"] for path in (REPO / "dbt_project" / "models" / "intermediate" / "features").glob("*.yml")
                 for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", [])}
    assert declared and set(ran) == declared
    assert {status.lower().rsplit(".", 1)[-1] for status in ran.values()} == {"pass"}


def test_feature_dictionary_lists_every_contract_column():
    """docs/features.md lists every contract column with its type, ML role and definition, as in the YAML."""
    doc = (REPO / "docs" / "features.md").read_text()
    for table in FEATURE_TABLES:
        spec = yaml.safe_load((FEATURES_DIR / f"{table}.yml").read_text())
        model = spec["models"][0]
        assert model["config"]["contract"]["enforced"] is True
        section = doc.split(f"## `{table}`", 1)[1].split("\n## ", 1)[0]
        for column in model["columns"]:
            description = column["description"]
            definition = description.split("] ", 1)[1] if description.startswith("[") else description
            role = column["config"]["meta"]["feature_role"]
            assert f"| `{column['name']}` | {column['data_type']} | {role} |" in section, (table, column["name"])
            assert definition.replace("|", "\\|") in section, (table, column["name"])
