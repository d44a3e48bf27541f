"""Fits two behaviour parameters to a real warehouse (`--fit-from WAREHOUSE`): how much households watch and
how often they cancel, by plan. Everything else stays a default (and the report says so).

Targets, from the warehouse's marts (any built streamloop warehouse: simulated, imported or real):
- engagement: watch minutes (`plays.watch_seconds`) per subscribed account-day (`accounts`: from
  `subscribed_at` to `canceled_at` or the last event);
- churn by plan: cancellations per subscribed account-day, by the account's plan (`accounts`).

The simulator is run alone (no product, seconds) with the current knobs, the same two statistics are
measured on its ground truth, and the knobs are moved by the ratio: `activity_shift` by log(target /
simulated) (for a profile that watches on a minority of days, a logit shift of x scales its days by
about e^x), `hazard_scale[plan]` by target / simulated. Three rounds; ratios clamped to [0.2, 5].
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from streamloop.core.errors import StreamloopError
from streamloop.core.simulate.behaviour import HouseholdSimulator, Knobs
from streamloop.core.simulate.config import SimulationConfig
from streamloop.core.simulate.population import PLANS
from streamloop.core.simulate.run import build_world

ROUNDS = 3


@dataclass(frozen=True)
class Rates:
    watch_minutes_per_day: float                # per subscribed account-day
    cancel_per_day: tuple[float, float, float]  # per subscribed account-day, by plan (nan: no such plan)


@dataclass(frozen=True)
class Fit:
    source: str
    target: Rates
    simulated_default: Rates
    simulated_fitted: Rates
    knobs: Knobs

    def describe(self) -> list[tuple[str, str, str]]:
        """(parameter, meaning, source) rows for the what-if report."""
        t, d, f = self.target, self.simulated_default, self.simulated_fitted
        rows = [("activity_shift", "logit shift of daily watching (engagement level)",
                 (f"fitted from {self.source}: {self.knobs.activity_shift:+.3f} (watch min/account-day: "
                 f"warehouse {t.watch_minutes_per_day:.1f}, default sim {d.watch_minutes_per_day:.1f}, "
                 f"fitted sim {f.watch_minutes_per_day:.1f})"))]
        for i, (plan, _) in enumerate(PLANS):
            rows.append((f"hazard_scale[{plan}]", f"churn hazard multiplier, {plan}",
                         (f"fitted from {self.source}: ×{self.knobs.hazard_scale[i]:.2f} (cancels per 1000 "
                         f"account-days: warehouse {1000 * t.cancel_per_day[i]:.2f}, default sim "
                         f"{1000 * d.cancel_per_day[i]:.2f}, fitted sim {1000 * f.cancel_per_day[i]:.2f})")))
        return rows


def warehouse_rates(path: str | Path) -> Rates:
    import duckdb

    path = Path(path)
    if not path.exists():
        raise StreamloopError(f"no warehouse at {path} to fit from")
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        if not {"plays", "accounts", "events"} <= tables:
            raise StreamloopError(f"{path} has no plays / accounts / events marts: run `streamloop build`")
        # subscribed account-days: from subscription to cancellation, or to the end of the data
        by_plan = {plan: (float(days or 0), int(cancels)) for plan, days, cancels in con.execute(
            "with data_end as (select max(occurred_at) as end_at from events) "
            "select plan, sum(epoch(coalesce(canceled_at, (select end_at from data_end)) - subscribed_at)) / 86400.0, "
            "count(canceled_at) from accounts where subscribed_at is not null group by plan").fetchall()}
        minutes = con.execute("select coalesce(sum(watch_seconds), 0) / 60.0 from plays").fetchone()[0]
    days = sum(d for d, _ in by_plan.values())
    if days <= 0:
        raise StreamloopError(f"{path} has no subscribed account-days to fit from")
    cancel = tuple((by_plan[name][1] / by_plan[name][0]) if by_plan.get(name, (0, 0))[0] > 0 else math.nan
                   for name, _ in PLANS)
    return Rates(float(minutes) / days, cancel)


def simulated_rates(config: SimulationConfig, knobs: Knobs) -> Rates:
    """The same statistics on the simulator's ground truth (alone: no product, no messages from it)."""
    catalog, population = build_world(config)
    sim = HouseholdSimulator(catalog, population, config.start_date, config.seed, 0,
                             range(len(population.account_ids)), None, knobs)
    minutes, account_days = 0, 0
    days_by_plan, cancels_by_plan = [0, 0, 0], [0, 0, 0]
    for day in range(config.days):
        plan_today = {a: s.plan for a, s in sim.state.items() if s.alive and population.signup_day[a] <= day}
        sim.simulate_day(day)
        minutes += sum(t == "heartbeat" for t in sim.buffer.types)
        sim.buffer.clear()
        for a, plan in plan_today.items():
            account_days += 1
            days_by_plan[plan] += 1
            cancels_by_plan[plan] += not sim.state[a].alive
    cancel = tuple(c / n if n else math.nan for c, n in zip(cancels_by_plan, days_by_plan))
    return Rates(minutes / max(1, account_days), cancel)


def fit_knobs(warehouse: str | Path, config: SimulationConfig, knobs: Knobs | None = None) -> Fit:
    knobs = knobs or Knobs()
    target = warehouse_rates(warehouse)
    default = current = simulated_rates(config, knobs)
    for _ in range(ROUNDS):
        shift = knobs.activity_shift + math.log(_ratio(target.watch_minutes_per_day, current.watch_minutes_per_day))
        scale = tuple(s * _ratio(t, c) for s, t, c in zip(knobs.hazard_scale, target.cancel_per_day,
                                                           current.cancel_per_day))
        knobs = replace(knobs, activity_shift=shift, hazard_scale=scale)
        current = simulated_rates(config, knobs)
    return Fit(str(warehouse), target, default, current, knobs)


def _ratio(target: float, simulated: float) -> float:
    if math.isnan(target) or math.isnan(simulated) or simulated <= 0 or target <= 0:
        return 1.0  # nothing to fit against: the default stands
    return min(5.0, max(0.2, target / simulated))
