"""Experiments: sticky hashed assignment, exposures in the lake, and the Thompson-sampling bandit."""
from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from datetime import UTC, datetime

import pytest
from support.functions import event, make_services

from functions.experiments import assign, decode_decision, load_experiments, uniform_hash
from streamloop.core import clock
from streamloop.core.errors import StreamloopError
from streamloop.core.settings import REPO_ROOT

NOW = datetime(2026, 12, 1, tzinfo=UTC)  # inside the repository experiments' windows (Sep 2025 – Mar 2027)


@pytest.fixture(autouse=True)
def _frozen_clock():
    """Experiment windows and exposure times read the clock: these tests do not depend on today's date."""
    with clock.frozen(NOW):
        yield


def test_repository_experiments_load():
    experiments = load_experiments(REPO_ROOT / "experiments")
    test = experiments.test_for("home.top_picks", NOW)
    bandit = experiments.bandit_for("home.row_order", NOW)
    assert test.id == "top_picks_ranker_vs_popularity" and {v.name for v in test.variants} == {"ranker", "popularity"}
    assert bandit.id == "home_row_order" and len(bandit.arms) >= 2
    assert experiments.test_for("home.top_picks", datetime(2030, 1, 1, tzinfo=UTC)) is None


def test_assignment_is_sticky_and_follows_the_weights(tmp_path):
    (tmp_path / "a.yml").write_text(
        "id: split\nsurface: s\nsalt: s1\nstart: 2026-01-01T00:00:00Z\nend: 2027-01-01T00:00:00Z\n"
        "primary_metric: m\nvariants:\n  - {name: a, weight: 80}\n  - {name: b, weight: 20}\n")
    test = load_experiments(tmp_path).tests[0]
    profiles = [f"p{i}" for i in range(4000)]
    first = [test.assign(p) for p in profiles]
    # THEN the same profile always gets the same variant, and shares follow the weights
    assert first == [test.assign(p) for p in profiles]
    assert Counter(first)["a"] / len(profiles) == pytest.approx(0.8, abs=0.03)
    # AND another salt reshuffles profiles independently
    other = load_experiments(tmp_path).tests[0].__class__(**{**test.__dict__, "salt": "s2"})
    agreement = sum(test.assign(p) == other.assign(p) for p in profiles) / len(profiles)
    assert agreement == pytest.approx(0.8 * 0.8 + 0.2 * 0.2, abs=0.04)


_HEAD = "id: x\nsurface: s\nsalt: s\nstart: 2026-01-01\nend: 2027-01-01\nprimary_metric: m\n"


@pytest.mark.parametrize("text, message", [
    ("id: x\nsurface: s\n", "bad.yml: salt: required"),
    (_HEAD.replace("id: x", "id: Bad.Id") + "variants: []", r"bad.yml: id: must match .* \(got 'Bad.Id'\)"),
    (_HEAD.replace("2026-01-01", "2028-01-01") + "variants: []", "bad.yml: end: must be after start"),
    (_HEAD.replace("start: 2026-01-01", "start: soon") + "variants: []", "bad.yml: start: not an ISO 8601"),
    (_HEAD + "variants: [{name: a}]", "bad.yml: variants: needs a list of at least two"),
    (_HEAD + "variants: [{name: a}, {weight: 3}]", r"bad.yml: variants\[1\].name: required"),
    (_HEAD + "variants: [{name: a, weight: -1}, {name: b}]", r"bad.yml: variants\[0\].weight: must be >= 0"),
    (_HEAD + "variants: [{name: a, weight: many}, {name: b}]", r"variants\[0\].weight: must be a number"),
    (_HEAD + "variants: [{name: a}, {name: a}]", "bad.yml: variants: variant names must be unique"),
    (_HEAD + "bandit: {}\narms:\n  - {name: a, order: [top_picks, sideways]}\n  - {name: b, order: [popular]}",
     r"bad.yml: arms\[0\].order: unknown row kinds \['sideways'\]"),
    (_HEAD + "bandit: {min_exploration: 2}\narms: [{name: a, order: [popular]}, {name: b, order: [trending]}]",
     "bad.yml: bandit.min_exploration: must be >= 0 and <= 1"),
    ("- just\n- a list\n", "bad.yml: must be a mapping"),
    ("id: [unclosed\n", "bad.yml: not valid YAML"),
])
def test_malformed_experiment_files_fail_naming_file_field_and_reason(tmp_path, text, message):
    (tmp_path / "bad.yml").write_text(text)
    with pytest.raises(StreamloopError, match=message):
        load_experiments(tmp_path)


def test_two_files_with_one_id_fail_naming_both(tmp_path):
    body = "surface: s\nsalt: s\nstart: 2026-01-01\nend: 2027-01-01\nprimary_metric: m\nvariants: [{name: a}, {name: b}]"
    (tmp_path / "a.yml").write_text("id: same\n" + body)
    (tmp_path / "b.yml").write_text("id: same\n" + body)
    with pytest.raises(StreamloopError, match=r"b.yml: id: 'same' is already defined in a.yml"):
        load_experiments(tmp_path)


def test_windows_follow_the_clock():
    experiments = load_experiments(REPO_ROOT / "experiments")
    assert experiments.test_for("home.top_picks").id == "top_picks_ranker_vs_popularity"  # clock frozen at NOW
    with clock.frozen(datetime(2025, 8, 31, 23, 59, 59, tzinfo=UTC)):
        assert experiments.test_for("home.top_picks") is None  # the day before start
    with clock.frozen(datetime(2027, 3, 1, tzinfo=UTC)):
        assert experiments.test_for("home.top_picks") is None  # end is exclusive


def test_assignment_is_pinned_to_sha256_of_salt_and_profile():
    # the hash is part of the product's contract with past data: changing it would reshuffle running experiments
    test = load_experiments(REPO_ROOT / "experiments").test("top_picks_ranker_vs_popularity")
    assert uniform_hash("top-picks-2026-11", "p0000000") == pytest.approx(
        int(hashlib.sha256(b"top-picks-2026-11:p0000000").hexdigest()[:16], 16) / 2 ** 64)
    assert [assign(f"p{i:07d}", test) for i in range(6)] == [
        "ranker" if uniform_hash(test.salt, f"p{i:07d}") < 0.5 else "popularity" for i in range(6)]


def _profile_with_variant(test, variant: str) -> str:
    return next(p for p in (f"viewer-{i}" for i in range(1000)) if test.assign(p) == variant)


def test_top_picks_variants_really_differ_and_exposures_are_logged(tmp_path):
    services = make_services(tmp_path)
    store = services.get_store()
    test = services.experiments.test_for("home.top_picks")
    ranker_profile = _profile_with_variant(test, "ranker")
    popularity_profile = _profile_with_variant(test, "popularity")
    personal = {"model_version": "ranker@7", "items": [["m22", 0.9], ["m17", 0.8], ["m12", 0.7]]}
    for pid in (ranker_profile, popularity_profile):
        store.put("profile", pid, {"account_id": "a9", "is_kids": False, "maturity_rating": "18+", "country": "US",
                                   "timezone": "UTC", "genre_affinity": {}, "churn_risk": 0.2, "segment": "new"})
        store.put("candidates", pid, personal)

    def top_picks(pid):
        page = services.home.home(pid, "US", "tv", 8, 3)
        row = next(r for r in page["rows"] if r["kind"] == "top_picks")
        variant = {e["experiment_id"]: e["variant"] for e in page["experiments"]}[test.id]
        return [i["title_id"] for i in row["items"]], variant, page["model_version"]

    # WHEN each profile asks twice
    ranked, variant, version = top_picks(ranker_profile)
    assert (variant, version) == ("ranker", "ranker@7") and ranked == ["m22", "m17", "m12"]
    assert top_picks(ranker_profile)[1] == "ranker"
    popular_ids, variant, version = top_picks(popularity_profile)
    # THEN the popularity variant serves the country's most popular titles, not the profile's candidates
    assert (variant, version) == ("popularity", "popularity")
    assert popular_ids == ["m0", "m1", "m2"]
    # AND every exposure lands in the lake as a valid experiment_exposure event
    services.exposures.flush()
    import pyarrow.parquet as pq

    from streamloop.core.lake import Lake

    raws = [json.loads(r["raw"]) for f in Lake(services.settings.lake_root).files("events")
            for r in pq.read_table(f).to_pylist()]
    exposures = Counter((e["profile_id"], e["properties"]["experiment_id"], e["properties"]["variant"])
                        for e in raws if e["event_type"] == "experiment_exposure")
    assert exposures[(ranker_profile, test.id, "ranker")] == 2
    assert exposures[(popularity_profile, test.id, "popularity")] == 1
    assert sum(n for (p, exp, _), n in exposures.items() if exp == "home_row_order") == 3  # 3 pages


def test_bandit_moves_toward_the_arm_that_earns_clicks(tmp_path):
    # GIVEN simulated viewers who click far more when trending comes first
    services = make_services(tmp_path)
    click_rate = {"personal_first": 0.05, "trending_first": 0.30, "fresh_first": 0.05}
    rng = random.Random(3)
    served: list[str] = []
    batch: list[dict] = []
    flushed = Counter()
    for round_ in range(600):
        page = services.home.home(f"viewer-{round_ % 50}", "US", "web", 4, 3)
        arm = next(e["variant"] for e in page["experiments"] if e["experiment_id"] == "home_row_order")
        assert decode_decision(page["request_id"]) == ("home_row_order", arm)
        propensity = page["rows"][0]["items"][0]["propensity"]
        assert 0 < propensity <= 1
        served.append(arm)
        first = page["rows"][0]["items"][0]
        props = {"title_id": first["title_id"], "row_id": page["rows"][0]["row_id"], "rank": 1,
                 "request_id": page["request_id"]}
        batch.append(event("impression", f"viewer-{round_ % 50}", propensity=propensity, **props))
        if rng.random() < click_rate[arm]:
            batch.append(event("click", f"viewer-{round_ % 50}", **props))
        if len(batch) >= 40:  # the client flushes its event buffer to the collector
            assert services.collector.ingest(batch).accepted == len(batch)
            flushed.update(e["event_type"] for e in batch)
            batch = []
    # THEN the better arm is served much more in the second half than a uniform policy would
    late = Counter(served[300:])
    assert late["trending_first"] / 300 > 0.6
    # AND the posteriors count exactly the impressions and clicks the collector accepted
    counts = services.get_store().get("bandit", "home_row_order")["arms"]
    assert sum(a["impressions"] for a in counts.values()) == flushed["impression"]
    assert sum(a["clicks"] for a in counts.values()) == flushed["click"]
    # AND exploration keeps every arm alive
    assert all(late[a] > 0 for a in click_rate)


def test_bandit_propensity_matches_observed_selection_frequency(tmp_path):
    services = make_services(tmp_path)
    bandit = services.experiments.bandit("home_row_order")
    counts = {"arms": {"personal_first": {"impressions": 200, "clicks": 20},
                       "trending_first": {"impressions": 200, "clicks": 26},
                       "fresh_first": {"impressions": 50, "clicks": 4}}}
    probabilities = bandit.thompson_probabilities(counts)
    rng = random.Random(11)
    picks = Counter()
    reported = {}
    for _ in range(6000):
        arm, propensity = bandit.choose(counts, rng, probabilities)
        picks[arm.name] += 1
        reported[arm.name] = propensity
    for name, p in reported.items():
        assert picks[name] / 6000 == pytest.approx(p, abs=0.03)


def test_demo_showcases_the_most_active_profile_the_recommender_is_shown_to():
    from streamloop.app.demo import _showcase

    test = load_experiments(REPO_ROOT / "experiments").test_for("home.top_picks")
    profiles = [(f"p{i:04d}", "US") for i in range(1, 40)]  # most active first; p0001 is in `popularity`
    assert [test.assign(p) for p, _ in profiles[:3]] == ["popularity", "popularity", "ranker"]
    # WHILE the experiment runs (clock frozen at NOW): the most active profile in the ranker variant
    assert _showcase(profiles) == ("p0003", "US")
    # AFTER it has ended: the most active profile
    with clock.frozen(datetime(2027, 6, 1, tzinfo=UTC)):
        assert _showcase(profiles) == profiles[0]


def test_exposures_of_a_longest_allowed_profile_id_are_valid_events(tmp_path):
    # GIVEN a profile id at the contract's 128-character limit ("api:" + it would exceed the device id's)
    from streamloop.core.contract import validate_event

    services = make_services(tmp_path)
    profile_id = "p" * 128
    services.home.home(profile_id, "US", "tv", 8, 3)
    services.exposures.flush()
    import pyarrow.parquet as pq

    from streamloop.core.lake import Lake

    lake = Lake(services.settings.lake_root)
    raws = [json.loads(r["raw"]) for f in lake.files("events") for r in pq.read_table(f).to_pylist()]
    # THEN its exposures land as valid events, none in rejected/
    exposures = [e for e in raws if e["event_type"] == "experiment_exposure" and e["profile_id"] == profile_id]
    assert exposures and all(validate_event(e) == [] for e in exposures)
    assert lake.files("rejected") == []


def _landed_exposures(services, profile_id: str) -> list[dict]:
    import pyarrow.parquet as pq

    from streamloop.core.lake import Lake

    services.exposures.flush()
    raws = [json.loads(r["raw"]) for f in Lake(services.settings.lake_root).files("events")
            for r in pq.read_table(f).to_pylist()]
    return [e for e in raws if e["event_type"] == "experiment_exposure" and e["profile_id"] == profile_id]


def test_rows_and_exposures_name_the_model_that_ranked_them(tmp_path):
    # GIVEN a profile whose Top Picks come from the published ranker, and a finished title with similar titles
    from streamloop.core.contract import validate_event

    services = make_services(tmp_path)
    test = services.experiments.test_for("home.top_picks")
    profile_id = _profile_with_variant(test, "ranker")
    store = services.get_store()
    store.put("profile", profile_id, {"account_id": "a9", "is_kids": False, "maturity_rating": "18+", "country": "US",
                                      "timezone": "UTC", "genre_affinity": {}, "churn_risk": 0.2, "segment": "new"})
    store.put("candidates", profile_id, {"model_version": "ranker@7", "items": [["m22", 0.9], ["m17", 0.8]]})
    services.collector.ingest([event("play_complete", profile_id, title_id="m1", position_s=5000)])
    page = services.home.home(profile_id, "US", "tv", 8, 3)
    rows = {r["row_id"]: r for r in page["rows"]}
    # THEN each model-ranked row names its model (the app copies it into the row's impressions) …
    assert rows["top_picks"]["model_version"] == "ranker@7" == page["model_version"]
    assert rows["because_you_watched:m1"]["model_version"] == "itemknn@7"
    assert all("model_version" not in r for r in page["rows"] if r["kind"] in ("popular", "trending", "genre"))
    # … and the page's exposures carry the page's model version, as valid contract events
    exposures = _landed_exposures(services, profile_id)
    assert exposures and {e["properties"]["model_version"] for e in exposures} == {"ranker@7"}
    assert all(validate_event(e) == [] for e in exposures)


def test_exposures_carry_the_requests_country_and_device_else_the_profiles_latest(tmp_path):
    services = make_services(tmp_path)
    # a request that names them
    services.home.home("asks", "FR", "mobile", 8, 3)
    # a request that does not: the profile's latest device event says (event() sends country US, device tv)
    services.collector.ingest([event("play_start", "played", title_id="m1", position_s=0, duration_s=5400,
                                     country="DE")])
    services.home.home("played", None, None, 8, 3)
    # nobody knows: the documented fallback (functions/exposures.py)
    services.home.home("stranger", None, None, 8, 3)
    contexts = {pid: {(e["context"]["country"], e["context"]["device_type"]) for e in _landed_exposures(services, pid)}
                for pid in ("asks", "played", "stranger")}
    assert contexts == {"asks": {("FR", "mobile")}, "played": {("DE", "tv")}, "stranger": {("ZZ", "web")}}
