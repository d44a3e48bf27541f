"""The simulator: contract-valid events, realistic structure, learnable signals, faults at their rates, determinism."""
from __future__ import annotations

import gc
import hashlib
import itertools
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import streamloop.core.simulate.run as simulate_run
from streamloop.cli import main as cli
from streamloop.core import clock
from streamloop.core.constants import DEVICE_TYPES, HOME_ROW_KINDS, genre_of_row_id
from streamloop.core.contract import EVENT_TYPES, MATURITY_RATINGS, validate_catalog_record, validate_event
from streamloop.core.errors import StreamloopError
from streamloop.core.experiments import assign, load_experiments
from streamloop.core.settings import REPO_ROOT, get_settings
from streamloop.core.simulate import SimulationConfig, run_simulation
from streamloop.core.simulate.behaviour import _DEVICE_WEIGHT, _LOGOUT_P, HouseholdSimulator, trial_cancel_probability
from streamloop.core.simulate.catalog import GENRES

# a Monday; 60 days reach into the window of the product's Top Picks experiment (from 2025-09-01)
START = "2025-08-04"
MODERATE_DAYS = 60
EXPERIMENT_START = datetime(2025, 9, 1, tzinfo=UTC)


def _use_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    for name in ("STREAMLOOP_LAKE_URI", "STREAMLOOP_WAREHOUSE_PATH", "STREAMLOOP_REGISTRY_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STREAMLOOP_HOME", str(home))
    get_settings.cache_clear()


def _simulate(home: Path, **config):
    with pytest.MonkeyPatch.context() as monkeypatch:
        _use_home(monkeypatch, home)
        summary = run_simulation(SimulationConfig(**{"start_date": START, **config}))
    get_settings.cache_clear()
    return summary


def _lake_rows(home: Path, kind: str = "events") -> list[dict]:
    files = sorted((home / "lake" / kind).rglob("*.parquet"))
    rows = []
    for f in files:
        rows += pq.read_table(f, columns=["raw", "received_at"]).to_pylist()
    return rows


def _lake_digest(home: Path) -> str:
    digest = hashlib.sha256()
    for f in sorted((home / "lake").rglob("*.parquet")):
        table = pq.read_table(f)
        digest.update(str(f.relative_to(home)).encode())
        for column in ("raw", "received_at", "record_index"):
            digest.update(repr(table.column(column).to_pylist()).encode())
    return digest.hexdigest()


def _parse(rows: list[dict]) -> tuple[list[dict], int]:
    """Well-formed events (first delivery of each id, malformed records left out), and the count of
    records that are not even JSON."""
    events, seen, broken = [], set(), 0
    gc.disable()  # a million small dicts: collection passes would dominate the parse
    try:
        for row in rows:
            try:
                event = orjson.loads(row["raw"])
            except orjson.JSONDecodeError:
                broken += 1
                continue
            event_id, occurred = event.get("event_id"), event["occurred_at"]
            if (event_id is None or event_id in seen or event["event_type"] not in EVENT_TYPES
                    or event["schema_version"] != 1 or not occurred.endswith(("Z", ":00", ":30"))
                    or datetime.fromisoformat(occurred) > row["received_at"] + timedelta(days=1)):
                continue
            seen.add(event_id)
            event["_received_at"] = row["received_at"]
            events.append(event)
    finally:
        gc.enable()
    return events, broken


def _ts(event: dict) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    home = tmp_path_factory.mktemp("small")
    summary = _simulate(home, profiles=30, days=10, seed=5)
    return home, summary, _lake_rows(home)


@pytest.fixture(scope="module")
def moderate(tmp_path_factory):
    """A run large enough for every event type and for statistics (a few seconds)."""
    home = tmp_path_factory.mktemp("moderate")
    summary = _simulate(home, profiles=300, days=MODERATE_DAYS, seed=11)
    rows = _lake_rows(home)
    events, broken = _parse(rows)
    return home, summary, rows, events, broken


@pytest.fixture(scope="module")
def catalog(moderate):
    home = moderate[0]
    return {r["title_id"]: r for r in (orjson.loads(row["raw"]) for row in _lake_rows(home, "catalog"))}


# -- contract ------------------------------------------------------------------------------------------------
def test_every_record_is_valid_except_the_malformed_ones(small):
    _home, summary, rows = small
    invalid = 0
    for row in rows:
        try:
            event = orjson.loads(row["raw"])
        except orjson.JSONDecodeError:
            invalid += 1
            continue
        if validate_event(event, received_at=row["received_at"]):
            invalid += 1
    assert summary.malformed > 0
    assert invalid == summary.malformed
    assert len(rows) == summary.events + summary.duplicates + summary.malformed


@pytest.mark.slow
def test_a_sample_of_a_moderate_run_is_valid(moderate):
    _, _summary, rows, _, _ = moderate
    sample = rows[:: max(1, len(rows) // 20_000)]
    failures = 0
    for row in sample:
        try:
            failures += bool(validate_event(orjson.loads(row["raw"]), received_at=row["received_at"]))
        except orjson.JSONDecodeError:
            failures += 1
    # only the injected malformed records fail (0.2% by default)
    assert failures <= max(10, 3 * len(sample) * 0.002)


@pytest.mark.slow
def test_catalog_records_follow_the_contract(catalog):
    assert all(validate_catalog_record(record) == [] for record in catalog.values())
    kinds = Counter(record["kind"] for record in catalog.values())
    assert kinds["movie"] and kinds["series"] and kinds["episode"] > kinds["series"]
    assert {r["maturity_rating"] for r in catalog.values()} == set(MATURITY_RATINGS)
    assert any(r["available_countries"] == ["*"] for r in catalog.values())
    assert any(r["available_countries"] != ["*"] for r in catalog.values())
    end = date.fromisoformat(START) + timedelta(days=MODERATE_DAYS)
    assert any(date.fromisoformat(r["release_date"]) >= end for r in catalog.values())  # coming soon


@pytest.mark.slow
def test_every_contract_event_type_appears(moderate):
    _, summary, _, events, _ = moderate
    assert set(summary.events_by_type) == set(EVENT_TYPES)
    assert {e["event_type"] for e in events if e["event_type"] in EVENT_TYPES} == set(EVENT_TYPES)


@pytest.mark.slow
def test_exposures_join_to_the_products_experiments_with_its_assignment(moderate):
    """Simulated exposures are the product's own: experiment and variant from experiments/*.yml, the variant
    the product's sticky assignment gives that profile, and only inside the experiment's window."""
    _, _, _, events, _ = moderate
    experiments = load_experiments(REPO_ROOT / "experiments")
    exposures = [e for e in events if e["event_type"] == "experiment_exposure"]
    assert len(exposures) > 1000
    for e in exposures:
        test = experiments.test(e["properties"]["experiment_id"])
        assert test is not None, e["properties"]
        assert test.start <= _ts(e) < test.end
        assert e["properties"]["variant"] == assign(e["profile_id"], test)
    assert {e["properties"]["variant"] for e in exposures} == {"ranker", "popularity"}
    sessions_before = [e for e in events if e["event_type"] == "app_open" and _ts(e) < EXPERIMENT_START]
    assert sessions_before and min(_ts(e) for e in exposures) >= EXPERIMENT_START


@pytest.mark.slow
def test_home_row_ids_are_the_products(moderate):
    _, _, _, events, _ = moderate
    row_ids = {e["properties"]["row_id"] for e in events if e["event_type"] in ("impression", "click")}
    genre_rows = {r for r in row_ids if genre_of_row_id(r) is not None}
    assert genre_rows and {genre_of_row_id(r) for r in genre_rows} <= set(GENRES)
    assert row_ids - genre_rows - {"search_results"} == set(HOME_ROW_KINDS) - {"because_you_watched", "genre"}


@pytest.mark.slow
def test_popularity_variant_sees_popular_top_picks_without_propensities(moderate):
    _, _, _, events, _ = moderate
    test = load_experiments(REPO_ROOT / "experiments").test("top_picks_ranker_vs_popularity")
    # sessions (at most 5 hours) that began before the window show the default ranker: leave a margin
    top_picks = [e for e in events if e["event_type"] == "impression" and e["properties"]["row_id"] == "top_picks"
                 and test.start + timedelta(hours=6) <= _ts(e) < test.end and e["profile_id"]]
    by_variant = defaultdict(list)
    for e in top_picks:
        by_variant[assign(e["profile_id"], test)].append(e)
    assert all("propensity" in e["properties"] for e in by_variant["ranker"])
    assert by_variant["popularity"] and not any("propensity" in e["properties"] for e in by_variant["popularity"])


def test_behaviour_covers_every_contract_device_type():
    assert set(_DEVICE_WEIGHT) == set(_LOGOUT_P) == set(DEVICE_TYPES)


@pytest.mark.slow
def test_timestamps_mix_local_offsets_and_utc(moderate):
    events = moderate[3][:50_000]
    suffixes = Counter("Z" if e["occurred_at"].endswith("Z") else e["occurred_at"][-6:] for e in events)
    assert suffixes["Z"] > 0 and len(suffixes) >= 4  # UTC plus several local offsets


# -- structure -------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_fault_rates_are_near_their_configured_rates(moderate):
    _, summary, rows, events, broken = moderate
    n = summary.events
    assert n > 300_000
    assert summary.late == pytest.approx(0.01 * n, rel=0.15)
    assert summary.duplicates == pytest.approx(0.005 * n, rel=0.15)
    assert summary.malformed == pytest.approx(0.002 * n, rel=0.2)
    # what is in the lake agrees: duplicate deliveries are byte-identical repeats
    with_ids = Counter(row["raw"] for row in rows if row["raw"].startswith('{"event_id":'))
    repeats = sum(count - 1 for count in with_ids.values())
    assert repeats == summary.duplicates
    start = datetime.fromisoformat(START).replace(tzinfo=UTC)
    late = sum(1 for e in events if _ts(e) >= start and e["_received_at"] - _ts(e) > timedelta(hours=1))
    assert late == pytest.approx(summary.late, rel=0.1)
    assert broken > 0


@pytest.mark.slow
def test_kids_profiles_never_play_titles_above_their_maturity(moderate, catalog):
    events = sorted((e for e in moderate[3] if e["event_type"] in ("profile_updated", "play_start")), key=_ts)
    allowed: dict[str, int] = {}
    kids_plays = 0
    for e in events:
        if e["event_type"] == "profile_updated":
            if e["properties"]["is_kids"]:
                allowed[e["profile_id"]] = MATURITY_RATINGS.index(e["properties"]["maturity_rating"])
        elif e["profile_id"] in allowed:
            kids_plays += 1
            title = catalog[e["properties"]["title_id"]]
            assert MATURITY_RATINGS.index(title["maturity_rating"]) <= allowed[e["profile_id"]], e
    assert kids_plays > 100


@pytest.mark.slow
def test_anonymous_browsing_happens_before_login_on_the_same_device(moderate):
    by_device = defaultdict(list)
    for e in moderate[3]:
        if e["event_type"] in ("app_open", "impression", "search", "login"):
            by_device[e["device_id"]].append(e)
    anonymous_then_login = 0
    for device_events in by_device.values():
        device_events.sort(key=_ts)
        for before, after in itertools.pairwise(device_events):
            if (before["profile_id"] is None and before["account_id"] is None and after["event_type"] == "login"
                    and _ts(after) - _ts(before) < timedelta(minutes=30)):
                anonymous_then_login += 1
                assert after["profile_id"] and after["account_id"]
    assert anonymous_then_login > 50


def test_plays_are_well_formed(small):
    events, _ = _parse(small[2])
    plays: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for e in sorted((e for e in events if e["event_type"].startswith(("play_", "heartbeat", "pause", "resume"))),
                    key=_ts):
        plays[(e["device_id"], e["properties"]["title_id"])].append(e)
    checked = 0
    for sequence in plays.values():
        duration = None
        last = -1
        for e in sequence:
            position = e["properties"]["position_s"]
            if e["event_type"] == "play_start":
                duration, last = e["properties"]["duration_s"], position
                continue
            assert position >= last, "forward progress only within a play"
            assert position <= duration
            last = position
            checked += 1
    assert checked > 1000


@pytest.mark.slow
def test_households_share_devices_and_switch_profiles(moderate):
    events = moderate[3]
    profiles_per_device = defaultdict(set)
    for e in events:
        if e.get("profile_id") and e["event_type"] == "play_start":
            profiles_per_device[e["device_id"]].add(e["profile_id"])
    assert sum(len(p) > 1 for p in profiles_per_device.values()) > 20
    types = Counter(e["event_type"] for e in events)
    assert types["profile_switch"] > 100 and types["logout"] > 10
    # legacy clients send playback heartbeats without profile_id, for the warehouse to stitch by device
    assert any(e["event_type"] == "heartbeat" and e["profile_id"] is None for e in events)


# -- learnable signals ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_churners_watch_less_before_canceling_than_those_who_stay(moderate):
    events = moderate[3]
    canceled: dict[str, datetime] = {}
    started: dict[str, datetime] = {}
    watched = defaultdict(list)  # account -> heartbeat times
    device_account = {}
    for e in events:
        if e["account_id"]:
            device_account[e["device_id"]] = e["account_id"]
    for e in events:
        kind = e["event_type"]
        if kind == "subscription_canceled" and e["properties"]["reason"] != "payment_failed":  # voluntary churn
            canceled.setdefault(e["account_id"], _ts(e))
        elif kind == "subscription_started":
            started[e["account_id"]] = _ts(e)
        elif kind == "heartbeat" and e["device_id"] in device_account:
            watched[device_account[e["device_id"]]].append(_ts(e))
    start = datetime.fromisoformat(START).replace(tzinfo=UTC)
    end = start + timedelta(days=MODERATE_DAYS)

    def minutes_in_two_weeks_before(account: str, moment: datetime) -> float:
        return sum(moment - timedelta(days=14) <= t < moment for t in watched[account])

    def observed_two_weeks_before(account: str, moment: datetime) -> bool:
        return moment - max(started[account], start) >= timedelta(days=14)

    churners = [minutes_in_two_weeks_before(a, t) for a, t in canceled.items() if observed_two_weeks_before(a, t)]
    stayers = sorted(minutes_in_two_weeks_before(a, end) for a in started
                     if a not in canceled and observed_two_weeks_before(a, end))
    assert len(churners) >= 8 and len(stayers) >= 50, (len(churners), len(stayers))
    churner_mean, stayer_mean = sum(churners) / len(churners), sum(stayers) / len(stayers)
    # not far below: a premium household watching half an hour a day is already a likely churner
    assert churner_mean < 0.65 * stayer_mean, (churner_mean, stayer_mean)
    stayer_median = stayers[len(stayers) // 2]
    assert sum(m < stayer_median for m in churners) >= 0.75 * len(churners)


def test_the_cancel_hazard_depends_on_plan_and_engagement_together():
    """Churn is not recency alone: at the same low engagement a premium household leaves far more readily
    than a basic one, while engaged households of either plan rarely leave."""
    config = SimulationConfig(profiles=40, days=30, seed=3, start_date=START)
    catalog, population = simulate_run.build_world(config)
    accounts = range(len(population.account_ids))
    simulator = HouseholdSimulator(catalog, population, date.fromisoformat(START), 3, 0, accounts)
    a, day = 0, 29
    hazard = {}
    for plan in (0, 2):
        simulator.state[a].plan = plan
        hazard[plan] = {minutes: simulator.voluntary_churn_hazard(a, day, minutes) for minutes in (2, 20, 120)}
    basic, premium = hazard[0], hazard[2]
    assert premium[20] > 10 * basic[20], hazard          # the interaction: idle at 20 min/day matters on premium only
    assert basic[2] > 5 * basic[120] and premium[2] > 5 * premium[120], hazard  # engagement matters on both
    assert max(basic[120], premium[120]) < 0.002, hazard  # engaged households rarely leave, whatever they pay
    assert 30 * basic[20] < 0.1 < 30 * premium[20], hazard  # a month: basic stays, idle premium is likely gone
    assert trial_cancel_probability(2, 20) > 3 * trial_cancel_probability(0, 20)
    assert trial_cancel_probability(2, 120) < 0.15


@pytest.mark.slow
def test_clicks_follow_taste_completed_titles_get_positive_ratings(moderate):
    events = moderate[3]
    ratings = Counter(e["properties"]["value"] for e in events if e["event_type"] == "rating")
    assert ratings[1] > ratings[-1] > 0
    impressions = Counter(e["properties"]["row_id"] for e in events if e["event_type"] == "impression")
    clicks = Counter(e["properties"]["row_id"] for e in events if e["event_type"] == "click")
    # taste-driven top picks are clicked more often per impression than the plain popularity row
    assert clicks["top_picks"] / impressions["top_picks"] > clicks["popular"] / impressions["popular"]
    assert any("propensity" in e["properties"] for e in events if e["event_type"] == "impression")


# -- determinism and configuration ---------------------------------------------------------------------------
def test_same_seed_gives_the_same_lake_whatever_the_number_of_workers(tmp_path, monkeypatch, small):
    monkeypatch.setattr(simulate_run, "ACCOUNTS_PER_SHARD", 4)  # several shards, so workers matter
    _simulate(tmp_path / "one", profiles=30, days=10, seed=5, workers=1)
    _simulate(tmp_path / "two", profiles=30, days=10, seed=5, workers=2)
    _simulate(tmp_path / "other", profiles=30, days=10, seed=6, workers=1)
    assert _lake_digest(tmp_path / "one") == _lake_digest(tmp_path / "two")
    assert _lake_digest(tmp_path / "one") != _lake_digest(tmp_path / "other")


def _event_ids(home: Path) -> set[str]:
    ids = set()
    for row in _lake_rows(home):
        try:
            event_id = orjson.loads(row["raw"]).get("event_id")
        except (orjson.JSONDecodeError, AttributeError):
            continue
        if isinstance(event_id, str):
            ids.add(event_id)
    return ids


def test_event_ids_depend_on_the_start_date_and_repeat_with_the_same_seed_and_start(tmp_path):
    # the same seed and start: identical ids (and lake); the same seed, another start: no id in common, so
    # both runs can land in one lake without breaking the warehouse's unique event_id
    first = _simulate(tmp_path / "a", profiles=12, days=3, seed=5)
    _simulate(tmp_path / "b", profiles=12, days=3, seed=5)
    shifted = _simulate(tmp_path / "c", profiles=12, days=3, seed=5, start_date=date.fromisoformat(START) + timedelta(days=30))
    ids_a, ids_c = _event_ids(tmp_path / "a"), _event_ids(tmp_path / "c")
    assert first.records > 0 and len(ids_a) > 0 and len(ids_c) > 0 and shifted.records > 0
    assert _event_ids(tmp_path / "b") == ids_a and _lake_digest(tmp_path / "b") == _lake_digest(tmp_path / "a")
    assert ids_a.isdisjoint(ids_c)
    # and in one lake, the second start's batches land beside the first's instead of replacing them
    both = tmp_path / "both"
    _simulate(both, profiles=12, days=3, seed=5)
    _simulate(both, profiles=12, days=3, seed=5, start_date=date.fromisoformat(START) + timedelta(days=30))
    assert _event_ids(both) == ids_a | ids_c


def test_rerunning_a_seed_overwrites_instead_of_duplicating(tmp_path):
    first = _simulate(tmp_path / "home", profiles=30, days=10, seed=5)
    files = sorted((tmp_path / "home" / "lake").rglob("*.parquet"))
    digest = _lake_digest(tmp_path / "home")
    _simulate(tmp_path / "home", profiles=30, days=10, seed=5)
    assert sorted((tmp_path / "home" / "lake").rglob("*.parquet")) == files
    assert _lake_digest(tmp_path / "home") == digest
    assert len(_lake_rows(tmp_path / "home")) == first.records


def test_config_defaults_and_errors():
    config = SimulationConfig(profiles=10, days=30)
    assert config.start_date == date(2025, 12, 2)  # a fixed calendar: the last simulated day is 2025-12-31
    with clock.frozen(datetime(2027, 3, 10, 15, 0, tzinfo=UTC)):  # "today" reads the one clock
        assert SimulationConfig(profiles=10, days=30, start_date="today").start_date == date(2027, 2, 8)
    assert SimulationConfig(start_date="2026-01-05").start_date == date(2026, 1, 5)
    with pytest.raises(StreamloopError, match="YYYY-MM-DD"):
        SimulationConfig(start_date="05/01/2026")
    with pytest.raises(StreamloopError, match="late-rate"):
        SimulationConfig(late_rate=2)
    with pytest.raises(StreamloopError, match="profiles"):
        SimulationConfig(profiles=0)


def test_cli_simulate_prints_a_summary(tmp_path, monkeypatch):
    _use_home(monkeypatch, tmp_path / "home")
    result = CliRunner().invoke(cli, ["simulate", "--profiles", "20", "--days", "3", "--start", START,
                                      "--malformed-rate", "0.01"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "20 profiles" in result.output and "heartbeat" in result.output and "malformed" in result.output
    assert list((tmp_path / "home" / "lake" / "events").rglob("*.parquet"))
