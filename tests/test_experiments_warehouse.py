"""Experiment marts and the experiment_results step on a small hand-made warehouse with known answers."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import pytest
from support.home import land_events, use_home

from ml.experiments import METRICS
from streamloop.app.build import run_build
from streamloop.app.experiments import SEED_PATH, seed_text
from streamloop.core.settings import get_settings

EXPERIMENT = "top_picks_ranker_vs_popularity"  # experiments/top_picks_ranker_vs_popularity.yml
DAY = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
MODEL = "recommender-v3"  # the model that ranked p1's Top Picks row
CONTEXT = {"country": "DE", "device_type": "tv", "app_version": "5.1", "os": "tizen", "timezone": "Europe/Berlin"}


def _event(event_id, event_type, at, profile, properties=None, device=None):
    return {"event_id": event_id, "event_type": event_type, "occurred_at": at.isoformat(),
            "device_id": device or f"dev-{profile}", "profile_id": profile, "account_id": f"a-{profile}" if profile else None,
            "context": dict(CONTEXT), "properties": properties or {}, "schema_version": 1}


def _exposure(event_id, at, profile, variant, experiment=EXPERIMENT, device=None, model_version=None):
    properties = {"experiment_id": experiment, "variant": variant}
    if model_version:
        properties["model_version"] = model_version
    return _event(event_id, "experiment_exposure", at, profile, properties, device=device)


def _play(prefix, at, profile, title="t1", seconds=95):
    return [_event(f"{prefix}-start", "play_start", at, profile, {"title_id": title, "position_s": 0, "duration_s": 100}),
            _event(f"{prefix}-done", "play_complete", at + timedelta(seconds=seconds), profile,
                   {"title_id": title, "position_s": seconds})]


def scenario() -> list[dict]:
    return [
        # p1: ranker (control), one play before exposure, two after (one 8 days later: retained)
        *_play("p1-pre", DAY - timedelta(days=5), "p1"),
        _exposure("x-p1", DAY, "p1", "ranker", model_version=MODEL),
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
        # home pages: two under the row-order bandit's decisions, one without; p1 clicks and plays t1
        _impression("i1", DAY + timedelta(hours=2), "p1", "rq1.home_row_order.personal_first", "top_picks", 1, "t1", 0.5,
                    model_version=MODEL),
        _impression("i2", DAY + timedelta(hours=2), "p1", "rq1.home_row_order.personal_first", "genre:drama", 2, "t2", 0.5),
        _event("c1", "click", DAY + timedelta(hours=2, seconds=10), "p1",
               {"title_id": "t1", "row_id": "top_picks", "rank": 1, "request_id": "rq1.home_row_order.personal_first"}),
        *_play("p1-c", DAY + timedelta(hours=2, seconds=20), "p1"),
        _impression("i3", DAY + timedelta(hours=3), "p2", "rq2.home_row_order.trending_first", "trending", 1, "t1", 0.25),
        _impression("i4", DAY + timedelta(hours=3), "p2", "plain-request", "popular", 1, "t1", None),
    ]


def _impression(event_id, at, profile, request_id, row_id, rank, title, propensity, model_version=None):
    properties = {"title_id": title, "row_id": row_id, "rank": rank, "request_id": request_id}
    if propensity is not None:
        properties["propensity"] = propensity
    if model_version:  # the home API's row.model_version, copied by the app
        properties["model_version"] = model_version
    return _event(event_id, "impression", at, profile, properties)


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


@pytest.mark.slow  # builds a whole warehouse (module fixture, ~1-2 min)
def test_every_exposure_is_counted_or_reported_with_its_reason(built):
    assert dict(_query("select event_id, exposure_status from experiment_exposures")) == {
        "x-p1": "counted", "x-p2a": "counted", "x-p2b": "counted", "x-p2c": "counted",
        "x-p3": "unknown_variant", "x-p4": "after_the_end", "x-p5": "unknown_experiment", "x-anon": "no_profile"}


@pytest.mark.slow  # builds a whole warehouse (module fixture, ~1-2 min)
def test_assignment_is_the_first_exposure_and_a_second_variant_is_flagged(built):
    rows = _query("select profile_id, variant, exposure_count, exposure_days, has_multiple_variants "
                  "from experiment_assignments order by profile_id")
    assert rows == [("p1", "ranker", 1, 1, False), ("p2", "popularity", 3, 3, True)]


@pytest.mark.slow  # builds a whole warehouse (module fixture, ~1-2 min)
def test_metrics_in_the_window_and_the_pre_period(built):
    rows = _query("select profile_id, plays, pre_plays, watch_minutes, pre_watch_minutes, completed_plays, "
                  "is_retained_7d, pre_is_retained_7d, is_converted from experiment_metrics order by profile_id")
    # a play_complete event completes a play whatever its position (CONTRACT §3)
    assert rows == [("p1", 3, 1, (95 + 95 + 60) / 60, 95 / 60, 3, 1, 1, 0), ("p2", 0, 0, 0.0, 0.0, 0, 0, 0, 0)]


@pytest.mark.slow  # builds a whole warehouse (module fixture, ~1-2 min)
def test_sufficient_statistics_are_sums_of_the_metrics_for_every_metric(built):
    assert {m for (m,) in _query("select distinct metric from experiment_sufficient_stats")} == set(METRICS)
    assert _query("select n, total, total_squares, pre_total, pre_total_squares, cross_total "
                  "from experiment_sufficient_stats where variant = 'ranker' and metric = 'plays'") == [
        (1, 3.0, 9.0, 1.0, 1.0, 3.0)]


@pytest.mark.slow  # builds a whole warehouse (module fixture, ~1-2 min)
def test_overlaps_count_profiles_shared_between_experiments(built):
    # one A/B test in the scenario: nothing shared (the bandit assigns pages, not profiles)
    assert _query("select count(*) from experiment_overlaps") == [(0,)]


@pytest.mark.slow  # builds a whole warehouse (module fixture, ~1-2 min)
def test_results_say_not_enough_data_with_one_unit_per_variant_and_a_report_is_written(built):
    rows = _query("select variant, metric, has_enough_data, note, srm_p_value from experiment_results "
                  f"where experiment_id = '{EXPERIMENT}'")
    assert {(v, m) for v, m, *_ in rows} == {("popularity", m) for m in METRICS}
    assert all(not enough and note.startswith("not enough data") for _, _, enough, note, _ in rows)
    report = built / "reports" / "experiments" / f"{EXPERIMENT}.html"
    assert "Not enough data" in report.read_text()


@pytest.mark.slow  # builds a whole warehouse (module fixture, ~1-2 min)
def test_bandit_pages_and_the_bandit_readout(built):
    assert _query("select request_id, arm, impressions, clicks, plays, propensity from bandit_pages order by 1") == [
        ("rq1.home_row_order.personal_first", "personal_first", 2, 1, 1, 0.5),
        ("rq2.home_row_order.trending_first", "trending_first", 1, 0, 0, 0.25)]
    arms = _query("select arm, pages, impressions, clicks, alpha, beta from bandit_arms order by arm")
    assert arms == [("fresh_first", 0, 0, 0, 1.0, 1.0), ("personal_first", 1, 2, 1, 2.0, 2.0),
                    ("trending_first", 1, 1, 0, 1.0, 2.0)]


@pytest.mark.slow  # builds a whole warehouse (module fixture, ~1-2 min)
def test_recommendation_impressions_follow_through_to_watch_time_and_retention(built):
    rows = _query("select impression_event_id, row_kind, model_version, bandit_arm, is_clicked, is_played, "
                  "watch_seconds, is_retained_7d, is_retained_30d from recommendation_impressions order by 1")
    assert rows == [("i1", "top_picks", MODEL, "personal_first", True, True, 95.0, True, False),
                    ("i2", "genre", "(none)", "personal_first", False, False, 0.0, True, False),
                    ("i3", "trending", "(none)", "trending_first", False, False, 0.0, False, False),
                    ("i4", "popular", "(none)", None, False, False, 0.0, False, False)]
    performance = _query("select experiment_id, variant, row_kind, model_version, impressions, clicks, plays, "
                         "click_through_rate, play_through_rate, watch_minutes_per_impression "
                         "from recommendation_performance where row_kind = 'top_picks' order by 1, 2")
    assert performance == [("(none)", "(none)", "top_picks", MODEL, 1, 1, 1, 1.0, 1.0, 95 / 60),
                           ("home_row_order", "personal_first", "top_picks", MODEL, 1, 1, 1, 1.0, 1.0, 95 / 60),
                           (EXPERIMENT, "ranker", "top_picks", MODEL, 1, 1, 1, 1.0, 1.0, 95 / 60)]
    # the impression's and the exposure's model versions are columns of the events mart
    assert _query("select event_id, model_version from events where model_version is not null order by 1") == [
        ("i1", MODEL), ("x-p1", MODEL)]


def test_readout_assets_follow_their_marts_in_the_warehouse_build_job():
    from orchestration.definitions import defs

    definitions = defs()
    graph = definitions.resolve_asset_graph()
    parents = {key: {p.to_user_string() for p in graph.get(dg.AssetKey(key)).parent_keys}
               for key in ("experiment_results", "bandit_readout")}
    assert parents["experiment_results"] == {"experiment_sufficient_stats", "experiment_assignments",
                                             "experiment_exposures", "experiment_overlaps"}
    assert parents["bandit_readout"] == {"bandit_pages"}
    job = definitions.resolve_job_def("warehouse_build")
    assert {"experiment_results", "bandit_readout", "experiment_metrics"} <= {
        k.to_user_string() for k in job.asset_layer.selected_asset_keys}
