"""Experiment marts and the experiment_results step on a small hand-made warehouse with known answers."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from conftest import land_events, use_home

from ml.experiments import METRICS
from streamloop.app.build import run_build
from streamloop.app.experiments import SEED_PATH, seed_text
from streamloop.core.settings import get_settings

EXPERIMENT = "top_picks_ranker_vs_popularity"  # experiments/top_picks_ranker_vs_popularity.yml
DAY = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
CONTEXT = {"country": "DE", "device_type": "tv", "app_version": "5.1", "os": "tizen", "timezone": "Europe/Berlin"}


def _event(event_id, event_type, at, profile, properties=None, device=None):
    return {"event_id": event_id, "event_type": event_type, "occurred_at": at.isoformat(),
            "device_id": device or f"dev-{profile}", "profile_id": profile, "account_id": f"a-{profile}" if profile else None,
            "context": dict(CONTEXT), "properties": properties or {}, "schema_version": 1}


def _exposure(event_id, at, profile, variant, experiment=EXPERIMENT, device=None):
    return _event(event_id, "experiment_exposure", at, profile, {"experiment_id": experiment, "variant": variant},
                  device=device)


def _play(prefix, at, profile, title="t1", seconds=95):
    return [_event(f"{prefix}-start", "play_start", at, profile, {"title_id": title, "position_s": 0, "duration_s": 100}),
            _event(f"{prefix}-done", "play_complete", at + timedelta(seconds=seconds), profile,
                   {"title_id": title, "position_s": seconds})]


def scenario() -> list[dict]:
    return [
        # p1: ranker (control), one play before exposure, two after (one 8 days later: retained)
        *_play("p1-pre", DAY - timedelta(days=5), "p1"),
        _exposure("x-p1", DAY, "p1", "ranker"),
        *_play("p1-a", DAY + timedelta(hours=1), "p1"),
        *_play("p1-b", DAY + timedelta(days=8), "p1", seconds=60),
        # p2: popularity, exposed twice, then also (wrongly) to ranker: kept in popularity, flagged
        _exposure("x-p2a", DAY, "p2", "popularity"),
        _exposure("x-p2b", DAY + timedelta(days=1), "p2", "popularity"),
        _exposure("x-p2c", DAY + timedelta(days=2), "p2", "ranker"),
        # not counted, each for its reason
        _exposure("x-p3", DAY, "p3", "bogus"),
        _exposure("x-p4", datetime(2027, 3, 5, tzinfo=UTC), "p4", "ranker"),
        _exposure("x-p5", DAY, "p5", "ranker", experiment="home_top_picks_v1"),
        _exposure("x-anon", DAY, None, "ranker", device="dev-anon"),
    ]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    home = use_home(mp, tmp_path_factory.mktemp("experiments") / "home")
    received = datetime(2027, 3, 6, tzinfo=UTC)
    land_events(scenario(), received, batch_id="main")
    land_events([{"title_id": "t1", "name": "One", "kind": "movie", "genres": [], "moods": [], "cast": [],
                  "maturity_rating": "all", "runtime_s": 100, "release_date": None, "available_countries": ["*"]}],
                received, kind="catalog", batch_id="cat")
    run_build()
    yield home
    mp.undo()
    get_settings.cache_clear()


def _query(sql):
    with duckdb.connect(str(get_settings().warehouse_file), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_committed_seed_equals_the_experiment_files():
    assert SEED_PATH.read_text() == seed_text(), "run `python -m streamloop.app.experiments`"


def test_every_exposure_is_counted_or_reported_with_its_reason(built):
    assert dict(_query("select event_id, exposure_status from experiment_exposures")) == {
        "x-p1": "counted", "x-p2a": "counted", "x-p2b": "counted", "x-p2c": "counted",
        "x-p3": "unknown_variant", "x-p4": "after_the_end", "x-p5": "unknown_experiment", "x-anon": "no_profile"}


def test_assignment_is_the_first_exposure_and_a_second_variant_is_flagged(built):
    rows = _query("select profile_id, variant, exposure_count, exposure_days, has_multiple_variants "
                  "from experiment_assignments order by profile_id")
    assert rows == [("p1", "ranker", 1, 1, False), ("p2", "popularity", 3, 3, True)]


def test_metrics_in_the_window_and_the_pre_period(built):
    rows = _query("select profile_id, plays, pre_plays, watch_minutes, pre_watch_minutes, completed_plays, "
                  "is_retained_7d, pre_is_retained_7d, is_converted from experiment_metrics order by profile_id")
    # a play_complete event completes a play whatever its position (CONTRACT §3)
    assert rows == [("p1", 2, 1, (95 + 60) / 60, 95 / 60, 2, 1, 1, 0), ("p2", 0, 0, 0.0, 0.0, 0, 0, 0, 0)]


def test_sufficient_statistics_are_sums_of_the_metrics_for_every_metric(built):
    assert {m for (m,) in _query("select distinct metric from experiment_sufficient_stats")} == set(METRICS)
    assert _query("select n, total, total_squares, pre_total, pre_total_squares, cross_total "
                  "from experiment_sufficient_stats where variant = 'ranker' and metric = 'plays'") == [
        (1, 2.0, 4.0, 1.0, 1.0, 2.0)]


def test_results_say_not_enough_data_with_one_unit_per_variant_and_a_report_is_written(built):
    rows = _query("select variant, metric, has_enough_data, note, srm_p_value from experiment_results "
                  f"where experiment_id = '{EXPERIMENT}'")
    assert {(v, m) for v, m, *_ in rows} == {("popularity", m) for m in METRICS}
    assert all(not enough and note.startswith("not enough data") for _, _, enough, note, _ in rows)
    report = built / "reports" / "experiments" / f"{EXPERIMENT}.html"
    assert "Not enough data" in report.read_text()
