"""The twin: the product and the simulator in one closed loop (streamloop/app/twin, docs/twin.md).

- the loop end to end: simulated events → lake → warehouse build → training and publication → the product's
  HomeService serves the pages households see → the campaign runner's messages reach households, which
  react → their reactions land as events;
- what-if: a scenario with an injected known effect is recovered, an A/A arm's interval covers zero, and
  the same scenario run twice gives the same answer.
"""
from __future__ import annotations

import json
import math

import duckdb
import pytest
import yaml

from streamloop.app.twin.loop import Schedule, TwinLoop
from streamloop.app.twin.scenario import load_scenario
from streamloop.app.twin.whatif import run_whatif
from streamloop.core.errors import StreamloopError
from streamloop.core.lake import Lake
from streamloop.core.settings import REPO_ROOT, get_settings
from streamloop.core.simulate import SimulationConfig


def _scenario(tmp_path, body: dict):
    path = tmp_path / f"{body['name']}.yml"
    path.write_text(yaml.safe_dump(body))
    return load_scenario(path)


def test_whatif_recovers_an_injected_effect_and_covers_zero_for_an_aa_arm(tmp_path, streamloop_home):
    # every plan 10 % dearer with churn made deaf to price: behaviour is draw for draw the baseline's, so
    # revenue must move by exactly +10 %; an arm with no change is an A/A test: every interval covers 0;
    # doubling Premium with the default elasticity must cost retention
    scenario = _scenario(tmp_path, {
        "name": "known", "population": {"profiles": 80, "days": 24}, "seeds": [1, 2, 3],
        "arms": {
            "plus_10_percent_no_elasticity": {"prices": {"basic": 879, "standard": 1429, "premium": 2199},
                                              "behaviour": {"price_elasticity": 0}},
            "same": {},
            "premium_doubled": {"prices": {"premium": 3998}},
        }})
    report = run_whatif(scenario, tmp_path / "out")
    known = report.differences["plus_10_percent_no_elasticity"]
    revenue = known["revenue"]
    assert revenue.low <= revenue.estimate <= revenue.high
    assert revenue.relative == pytest.approx(0.10, abs=0.002), revenue  # cents round
    assert known["plays"].estimate == 0 and known["retention"].estimate == 0
    for outcome, d in report.differences["same"].items():
        assert d.low <= 0 <= d.high, (outcome, d)
    doubled = report.differences["premium_doubled"]
    assert doubled["retention"].estimate < 0, doubled["retention"]
    html = (tmp_path / "out" / "known.html").read_text()
    assert "<polyline" in html and "premium_doubled" in html and "none was fitted" in html

    again = run_whatif(scenario, tmp_path / "again")  # fresh homes, same seeds: the same answer
    assert json.dumps({k: v for k, v in again.to_json().items() if k != "report"}, sort_keys=True) == \
        json.dumps({k: v for k, v in report.to_json().items() if k != "report"}, sort_keys=True)


def test_fit_reads_engagement_and_churn_by_plan_from_a_warehouse_and_moves_the_knobs(tmp_path):
    from streamloop.app.twin.fit import fit_knobs, warehouse_rates

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:  # two basic accounts for 10 days each, one cancels; 400 min watched
        con.execute("create table events as select timestamptz '2025-01-11 00:00:00+00' as occurred_at")
        con.execute("create table accounts (account_id text, plan text, subscribed_at timestamptz, "
                    "canceled_at timestamptz)")
        con.execute("insert into accounts values ('a', 'basic', '2025-01-01 00:00:00+00', null), "
                    "('b', 'basic', '2025-01-01 00:00:00+00', '2025-01-11 00:00:00+00')")
        con.execute("create table plays as select 24000 as watch_seconds")
    rates = warehouse_rates(path)
    assert rates.watch_minutes_per_day == pytest.approx(400 / 20)
    assert rates.cancel_per_day[0] == pytest.approx(1 / 20) and math.isnan(rates.cancel_per_day[2])
    fit = fit_knobs(path, SimulationConfig(profiles=40, days=14, seed=1, workers=1))
    # the default simulator watches far more than 20 min per account-day; it cancels basic far less often
    # (raised, unless this small simulation saw no basic cancellation to scale); no premium data: untouched
    assert fit.knobs.activity_shift < 0 and fit.knobs.hazard_scale[0] >= 1 and fit.knobs.hazard_scale[2] == 1
    assert fit.simulated_fitted.watch_minutes_per_day < fit.simulated_default.watch_minutes_per_day
    assert any("fitted from" in source for _, _, source in fit.describe())


def test_shipped_scenarios_validate_and_a_bad_one_fails_in_one_line(tmp_path):
    for path in sorted((REPO_ROOT / "scenarios").glob("*.yml")):
        scenario = load_scenario(path)
        assert scenario.arms and scenario.seeds
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({"name": "bad", "arms": {"a": {"prices": {"platinum": 100}}}}))
    with pytest.raises(StreamloopError, match=r"bad.yml: arms.a.prices.platinum"):
        load_scenario(bad)


@pytest.mark.slow  # one dbt build and one training: ~45 CPU-s; 1–7 min wall by load
@pytest.mark.timeout(900)
def test_the_closed_loop_runs_the_whole_product(tmp_path, streamloop_home):
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "hello.yml").write_text(yaml.safe_dump({
        "id": "twin_hello", "name": "Everyone active hears from us", "priority": 10,
        "trigger": {"schedule": "0 * * * *"}, "period": "week",
        "audience": "subscription_status = 'active' and not is_kids", "channel": "in_app",
        "send_time": "immediate", "holdout_percent": 0,
        "content": {"subject": "Hello", "body": "New this week."}}))
    config = SimulationConfig(profiles=60, days=12, seed=3, start_date="2025-11-01", workers=1)
    result = TwinLoop(config, Schedule(build_every=10, train_every=10, campaigns_every=10),
                      campaigns_dir=campaigns).run()
    settings = get_settings()
    days = result.days
    assert [d.product for d in days][9] == ["build", "train", "campaigns"], result.notes
    # pages: before publication the simulator serves its own rows; after it, the product's HomeService does
    assert all(d.served_by_product == 0 for d in days[:10])
    assert sum(d.served_by_product for d in days[10:]) > 0
    # messages: what the runner sent reached households, whose reactions landed as events in the lake
    assert days[9].messages_sent > 0
    lake = Lake(settings.lake_root)
    with duckdb.connect() as con:
        events = con.execute(
            f"select raw::json->>'event_type' as t, raw::json->>'properties' as p, "
            f"epoch((raw::json->>'occurred_at')::timestamptz) "
            f"from read_parquet('{lake.root}/events/**/*.parquet') where json_valid(raw)").fetchall()
    delivered = [json.loads(p) for t, p, _ in events if t == "message_delivered"]
    assert any(p["campaign_id"] == "twin_hello" for p in delivered)
    # the pages households saw: the simulator's own have at most 4 rows, the product's up to 6 (its
    # genre rows, trending, new releases, popular). Day 10 (2025-11-11 local, the first after publication)
    # starts at 2025-11-10T15:00Z in Tokyo; day 9's sessions end by 2025-11-11T18:00Z in Los Angeles
    early_until, late_from = 1762776000, 1762884000  # 2025-11-10T12:00Z, 2025-11-11T18:00Z
    rows_per_page: dict[str, set] = {}
    first_seen: dict[str, float] = {}
    for t, p, at in events:
        if t == "impression":
            props = json.loads(p)
            rows_per_page.setdefault(props["request_id"], set()).add(props["row_id"])
            first_seen[props["request_id"]] = min(at, first_seen.get(props["request_id"], at))
    early = [len(r) for q, r in rows_per_page.items() if first_seen[q] < early_until]
    late = [len(r) for q, r in rows_per_page.items() if first_seen[q] >= late_from]
    assert early and late and max(early) <= 4 < max(late), (max(early, default=0), max(late, default=0))
    # events → warehouse: the build saw the loop's first ten days
    with duckdb.connect(str(settings.warehouse_file), read_only=True) as con:
        assert con.execute("select count(*) from plays").fetchone()[0] > 0
    assert not math.isnan(result.totals()["retention"])
    # fitted to its own warehouse, the simulator's engagement level stays about where it was
    from streamloop.app.twin.fit import fit_knobs

    fit = fit_knobs(settings.warehouse_file, config)
    assert abs(fit.knobs.activity_shift) < 0.7, fit.describe()


def test_paired_difference_matches_scipy_paired_t_test():
    from scipy import stats

    from ml.stats import paired_difference

    arm, base = [10.0, 12.5, 9.0, 14.0], [9.0, 11.0, 9.5, 12.0]
    d = paired_difference(arm, base)
    reference = stats.ttest_rel(arm, base)
    low, high = reference.confidence_interval(0.95)
    assert d.estimate == pytest.approx(1.0) and d.p_value == pytest.approx(reference.pvalue)
    assert (d.low, d.high) == (pytest.approx(low), pytest.approx(high))
    assert d.relative == pytest.approx(1.0 / 10.375)
    assert not paired_difference([1.0], [2.0]).enough_data
    one = paired_difference([3.0], [2.0])  # one seed: the estimate, no interval
    assert one.estimate == 1.0 and math.isnan(one.low) and one.relative == 0.5


def test_a_warm_up_is_lived_alike_by_every_arm_and_outcomes_count_only_the_window(tmp_path, streamloop_home):
    # 10 warm-up days then a 6-day window; the arm doubles every price. The warm-up runs on the baseline's
    # behaviour in both arms, so its days are draw for draw the same; the window differs and is all
    # that the outcomes count.
    scenario = _scenario(tmp_path, {
        "name": "warm", "population": {"profiles": 60, "warmup_days": 10, "days": 6}, "seeds": [1],
        "arms": {"doubled": {"prices": {"basic": 1598, "standard": 2598, "premium": 3998}}}})
    lines: list[str] = []
    report = run_whatif(scenario, tmp_path / "out", progress=lines.append)
    base, doubled = report.arms["baseline"].runs[1], report.arms["doubled"].runs[1]
    assert [d.day for d in base.days] == list(range(10, 16)), "outcomes count the window's days only"
    assert base.days[0].date == "2025-12-26"  # the run ends 2025-12-31: warm-up 2025-12-16 … 2025-12-25

    def warm_up(arm: str) -> list[str]:
        return [line.split(": ", 1)[1] for line in lines if line.startswith(f"  {arm} seed 1: warm-up day")]

    assert len(warm_up("baseline")) == 10 and warm_up("baseline") == warm_up("doubled")
    assert doubled.totals()["revenue"] > base.totals()["revenue"]  # the window's payments are at the arm's prices
    with pytest.raises(StreamloopError, match="warm-up of 16 days must be shorter"):
        TwinLoop(SimulationConfig(profiles=20, days=16, seed=1, workers=1), warmup_days=16)
