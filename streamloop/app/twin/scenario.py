"""What-if scenarios (`scenarios/*.yml`): one schema for a baseline and arms, each a set of changes, run over
the same population and seeds by `streamloop whatif`. An arm's changes are applied on top of the baseline's."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from streamloop.core.errors import StreamloopError
from streamloop.core.simulate.population import PLANS

PLAN_NAMES = tuple(name for name, _ in PLANS)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Population(_Strict):
    profiles: int = Field(200, ge=10, description="simulated viewer profiles")
    days: int = Field(42, ge=1, description="simulated days the outcomes are measured over (the window)")
    warmup_days: int = Field(0, ge=0, description="history simulated before the window, alike in every arm (the "
                                                  "baseline's behaviour); the product builds and trains once at "
                                                  "its end (if the schedule has batch work), so its models and "
                                                  "churn scores exist when the window starts")
    start: date | None = Field(None, description="first day of the warm-up (or of the window without one); "
                                                 "default: the simulator's (the run ends 2025-12-31)")


class ScheduleSpec(_Strict):
    build_every: int = Field(0, ge=0, description="days between incremental warehouse builds (0 = never)")
    train_every: int = Field(0, ge=0, description="days between retrain + publish (needs builds)")
    campaigns_every: int = Field(0, ge=0, description="days between campaign runs (needs trained scores)")


class Campaigns(_Strict):
    audience: dict[str, str] = Field(default_factory=dict, description="campaign id -> replacement audience")
    churn_top_percent: dict[str, float] = Field(
        default_factory=dict, description="campaign id -> send to the top N % of churn_risk (replaces its "
                                          "`churn_risk >= 0.5` term with that quantile of the latest scores)")
    message_lift: dict[str, float] = Field(
        default_factory=dict, description="campaign id (or '*') -> latent-engagement lift of a clicked message: "
                                          "the behaviour the simulator assumes (an injected known effect)")


class Serving(_Strict):
    allocation: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="experiment id -> variant -> weight (replaces experiments/<id>.yml's)")
    row_order: list[str] | None = Field(None, description="home row kinds in the order served (turns the row-order "
                                                          "bandit off); applies once the product serves pages")


class Behaviour(_Strict):
    """Behaviour parameters a scenario may set (a sensitivity check, or an injected known effect)."""

    price_elasticity: float | None = Field(None, ge=0, description="churn hazard × (price / list) ** this")


class Changes(_Strict):
    prices: dict[Literal["basic", "standard", "premium"], int] = Field(
        default_factory=dict, description="plan -> monthly price in cents")
    withdraw_share: float = Field(0.0, ge=0, le=0.9, description="share of titles made unavailable everywhere")
    campaigns: Campaigns = Field(default_factory=Campaigns)
    serving: Serving = Field(default_factory=Serving)
    behaviour: Behaviour = Field(default_factory=Behaviour)

    def over(self, base: Changes) -> Changes:
        """These changes on top of `base` (dicts merge, this side wins)."""
        return Changes(
            prices={**base.prices, **self.prices},
            withdraw_share=self.withdraw_share or base.withdraw_share,
            campaigns=Campaigns(audience={**base.campaigns.audience, **self.campaigns.audience},
                                churn_top_percent={**base.campaigns.churn_top_percent,
                                                   **self.campaigns.churn_top_percent},
                                message_lift={**base.campaigns.message_lift, **self.campaigns.message_lift}),
            serving=Serving(allocation={**base.serving.allocation, **self.serving.allocation},
                            row_order=self.serving.row_order or base.serving.row_order),
            behaviour=Behaviour(price_elasticity=self.behaviour.price_elasticity
                                if self.behaviour.price_elasticity is not None else base.behaviour.price_elasticity))

    def price_tuple(self) -> tuple[int, ...] | None:
        if not self.prices:
            return None
        return tuple(self.prices.get(name, cents) for name, cents in PLANS)


class Scenario(_Strict):
    name: str
    description: str = ""
    population: Population = Field(default_factory=Population)
    seeds: list[int] = Field(default_factory=lambda: [1, 2, 3], min_length=1)
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec)
    baseline: Changes = Field(default_factory=Changes)
    arms: dict[str, Changes] = Field(min_length=1)

    def arm(self, name: str) -> Changes:
        if name == "baseline":
            return self.baseline
        return self.arms[name].over(self.baseline)


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    if not path.exists():
        raise StreamloopError(f"no scenario file {path}")
    try:
        scenario = Scenario.model_validate(yaml.safe_load(path.read_text()))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise StreamloopError(f"{path}: {where}: {first['msg']}") from None
    if "baseline" in scenario.arms:
        raise StreamloopError(f"{path}: an arm may not be called 'baseline'")
    return scenario
