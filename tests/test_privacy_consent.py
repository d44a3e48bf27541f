"""Consent decides personalization from the next request on (issue 13 part 2): a profile that declines gets
no rows built from profiling, keeps continue-watching, and gets the popular list on /recommendations."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from test_functions_support import event, make_services

PROFILING = {"top_picks", "because_you_watched"}


@pytest.fixture
def services(tmp_path):
    services = make_services(tmp_path, experiments_dir=tmp_path / "no-experiments")
    store = services.get_store()
    store.put("profile", "viewer", {
        "account_id": "a1", "is_kids": False, "maturity_rating": "18+", "country": "US", "timezone": "UTC",
        "genre_affinity": {"drama": 0.7}, "churn_risk": None, "segment": None, "finished_title_ids": []})
    store.put("candidates", "viewer", {"model_version": "recommender-v2", "model_kind": "learned",
                                       "model_name": "ranker", "items": [["m6", 0.9], ["m11", 0.8], ["m16", 0.7]]})
    yield services
    services.close()


def _kinds(page) -> set[str]:
    return {row["kind"] for row in page["rows"]}


def _consent(granted: bool, minutes_ago: int) -> dict:
    return event("consent_updated", "viewer", occurred_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
                 purpose="personalization", granted=granted)


def test_declining_personalization_counts_from_the_next_request(services):
    # GIVEN a profile watching m3 and finishing m4, personalized by its model
    now = datetime.now(UTC)
    services.collector.ingest([event("play_start", "viewer", occurred_at=now - timedelta(minutes=30), title_id="m2",
                                     position_s=0, duration_s=6000),
                               event("play_complete", "viewer", occurred_at=now - timedelta(minutes=20),
                                     title_id="m4", position_s=6000)])
    before = services.home.home("viewer", "US", "tv", 8, 10)
    assert PROFILING | {"continue_watching"} <= _kinds(before) and before["personalized"], _kinds(before)
    assert [i["title_id"] for i in services.picks.recommendations("viewer", "US", 3)["items"]] == ["m6", "m11", "m16"]

    # WHEN it declines personalization THEN the very next page has no profiling rows, keeps continue watching
    assert services.collector.ingest([_consent(False, minutes_ago=10)]).accepted == 1
    after = services.home.home("viewer", "US", "tv", 8, 10)
    assert not _kinds(after) & PROFILING and not after["personalized"]
    assert "continue_watching" in _kinds(after)
    genre_rows = [row for row in after["rows"] if row["kind"] == "genre"]
    assert all(row["reason"].startswith("Popular") for row in genre_rows)  # generic, not its affinity
    recs = services.picks.recommendations("viewer", "US", 3)
    assert recs["model_version"] == "popularity" and "m6" not in [i["title_id"] for i in recs["items"]]

    # AND a late, older "granted" does not undo the newer decline; a newer one restores personalization
    services.collector.ingest([_consent(True, minutes_ago=15)])
    assert not services.home.home("viewer", "US", "tv", 8, 10)["personalized"]
    services.collector.ingest([_consent(True, minutes_ago=1)])
    assert PROFILING <= _kinds(services.home.home("viewer", "US", "tv", 8, 10))


def test_published_decision_and_the_default_apply_without_real_time_state(services, tmp_path):
    store = services.get_store()
    store.put("profile", "viewer", store.get("profile", "viewer") | {"personalization": False})
    page = services.home.home("viewer", "US", "tv", 8, 10)
    assert not (_kinds(page) & PROFILING)
    # a profile with no decision follows STREAMLOOP_PERSONALIZATION_DEFAULT
    store.put("profile", "viewer", store.get("profile", "viewer") | {"personalization": None})
    services.home.reads.personalization_default = False
    assert not (_kinds(services.home.home("viewer", "US", "tv", 8, 10)) & PROFILING)
    services.home.reads.personalization_default = True
    assert PROFILING & _kinds(services.home.home("viewer", "US", "tv", 8, 10))
