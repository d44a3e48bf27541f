"""`streamloop loop`: the product and the simulator in one closed loop, advanced day by day.

Each simulated day:
1. households (the behavioural simulator, `streamloop.core.simulate.behaviour`) open the app; once the
   product has published models, the home rows they see come from the product's own `HomeService`
   (functions/home.py, in process, the code the API serves), else from the simulator's own rows;
   experiments are assigned by the product's `assign` (streamloop.core.experiments);
2. their events are delivered (late/duplicate/malformed faults included) and land in the raw lake, each
   record on the day it is received (late ones are held back, so an incremental build never sees the future);
3. on schedule (`Schedule`): the warehouse builds incrementally (`streamloop build`), models retrain and
   publish (`streamloop train`), and the campaign runner (messaging/service.py `build_runner`) runs the
   campaigns (18:00 UTC); from the first campaign run on, the runner's delivery sweeps run every simulated
   hour (`Runner.deliver`), so messages queued for a profile's optimal send time go out on time; every
   message it sent reaches the simulated household, which reacts with the rates and the engagement lift the
   simulator knows (`HouseholdSimulator.react_to_message`).

A warm-up (`warmup_days`) is history before the measured window: every arm lives it on the baseline's
behaviour, the product builds and trains once at its end, and outcomes count the window only.

What it measures comes from the simulator's side of the loop (the ground truth, not the warehouse): active
subscribers, watch minutes, plays, messages sent, unsubscribes and revenue per day (`DayMetrics`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from streamloop.core import clock
from streamloop.core.errors import StreamloopError
from streamloop.core.experiments import load_experiments
from streamloop.core.lake import Lake, new_batch_id
from streamloop.core.simulate.behaviour import HouseholdSimulator, Knobs
from streamloop.core.simulate.config import SimulationConfig
from streamloop.core.simulate.encode import DAY_MS, deliver
from streamloop.core.simulate.population import COUNTRIES
from streamloop.core.simulate.run import _start_ms, _table, build_world

HOME_ROWS, HOME_ITEMS = 6, 6
CHURN_TERM = "churn_risk >= 0.5"  # the win-back audience's threshold a `churn_top_percent` arm replaces


@dataclass(frozen=True)
class Schedule:
    """Every how many simulated days the product's batch work runs (0 = never). The first build waits for
    `build_every` days of data; training needs a built warehouse and campaigns need trained scores."""

    build_every: int = 7
    train_every: int = 14
    campaigns_every: int = 7


@dataclass
class DayMetrics:
    day: int
    date: str
    active_subscribers: int = 0
    subscribed_ever: int = 0
    watch_minutes: int = 0       # heartbeats: one per minute of playback progress
    plays: int = 0
    messages_sent: int = 0
    unsubscribes: int = 0
    revenue_cents: int = 0
    served_by_product: int = 0   # home pages the product's HomeService served today
    product: list[str] = field(default_factory=list)  # batch work done at the end of the day

    @property
    def retention(self) -> float:
        return self.active_subscribers / self.subscribed_ever if self.subscribed_ever else 1.0


@dataclass
class LoopResult:
    days: list[DayMetrics]
    seconds: float
    notes: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, float]:
        """The outcomes a what-if compares: end-of-run retention and sums over the run."""
        last = self.days[-1]
        return {
            "retention": last.retention,
            "watch_minutes": float(sum(d.watch_minutes for d in self.days)),
            "plays": float(sum(d.plays for d in self.days)),
            "messages_sent": float(sum(d.messages_sent for d in self.days)),
            "unsubscribes": float(sum(d.unsubscribes for d in self.days)),
            "revenue": sum(d.revenue_cents for d in self.days) / 100.0,
        }

    def to_json(self) -> dict:
        return {"seconds": round(self.seconds, 2), "notes": self.notes, "totals": self.totals(),
                "days": [dataclasses.asdict(d) | {"retention": d.retention} for d in self.days]}

    def render(self) -> str:
        t = self.totals()
        return "\n".join([
            f"closed loop: {len(self.days)} days in {self.seconds:.0f}s",
            (f"  retention {t['retention']:.1%}, watch {t['watch_minutes']:,.0f} min, plays {t['plays']:,.0f}, "
             f"messages {t['messages_sent']:,.0f}, unsubscribes {t['unsubscribes']:,.0f}, "
             f"revenue {t['revenue']:,.2f}"),
            *[f"  note: {n}" for n in self.notes],
        ])


class ProductHome:
    """The product's home page, in process, for the simulator: `HomeService.home` mapped to catalog indexes.
    One page per profile and day (a household sees today's page; the product republishes at most daily)."""

    def __init__(self, settings, catalog, population, experiments_dir: Path, row_order: list[str] | None,
                 seed: int = 0):
        from functions.services import Services

        self.services = Services(settings, experiments_dir=experiments_dir)
        self.services.home.exposures = None  # the simulator logs its exposures itself, by the same assignment
        self.population, self.row_order, self.seed = population, row_order, seed
        self.index = {title_id: i for i, title_id in enumerate(catalog.item_ids)}
        for item in np.flatnonzero(catalog.first_episode >= 0).tolist():  # an episode shows its series
            first = int(catalog.first_episode[item])
            for e in range(first, first + int(catalog.episode_count[item])):
                self.index[catalog.episode_ids[e]] = item
        self.pages: dict[tuple[int, int], list | None] = {}
        self.served = 0

    def __call__(self, p: int, a: int, day: int) -> list[tuple[str, list[int]]] | None:
        key = (p, day)
        if key not in self.pages:
            pop = self.population
            # a request id of the seed, profile and day: the row-order bandit's draw (seeded by it) repeats
            request_id = hashlib.sha1(f"twin:{self.seed}:{pop.profile_ids[p]}:{day}".encode()).hexdigest()[:32]
            page = self.services.home.home(pop.profile_ids[p], COUNTRIES[pop.account_country[a]].code, None,
                                           HOME_ROWS, HOME_ITEMS, request_id=request_id)
            rows = page.get("rows", [])
            if self.row_order:  # a serving-policy arm: the page's rows in this order of kinds
                rank = {kind: i for i, kind in enumerate(self.row_order)}
                rows = sorted(rows, key=lambda r: rank.get(r["kind"], len(rank)))
            out = [(r["row_id"], [self.index[i["title_id"]] for i in r["items"] if i["title_id"] in self.index])
                   for r in rows]
            self.pages[key] = out if any(items for _, items in out) else None
            self.pages.pop((p, day - 1), None)
        if self.pages[key] is not None:
            self.served += 1
        return self.pages[key]


def _withdraw(catalog, share: float, seed: int):
    """A copy of the catalog with `share` of its titles (seeded) available nowhere."""
    if share <= 0:
        return catalog
    rng = np.random.default_rng([seed, 41])
    gone = rng.random(len(catalog.item_ids)) < share
    available = catalog.available.copy()
    available[:, gone] = False
    gone_ids = {catalog.item_ids[i] for i in np.flatnonzero(gone).tolist()}
    records = [r for r in catalog.records
               if r.get("title_id") not in gone_ids and r.get("series_id") not in gone_ids]
    return dataclasses.replace(catalog, available=available, records=records)


class TwinLoop:
    """One closed-loop run in the current STREAMLOOP_HOME (give every arm and seed its own)."""

    def __init__(self, config: SimulationConfig, schedule: Schedule = Schedule(), knobs: Knobs | None = None,
                 experiments_dir: Path | None = None, campaigns_dir: Path | None = None,
                 campaign_audiences: dict[str, str] | None = None, churn_top_percent: dict[str, float] | None = None,
                 row_order: list[str] | None = None, withdraw_share: float = 0.0,
                 progress: Callable[[str], None] | None = None, warmup_days: int = 0,
                 warmup_knobs: Knobs | None = None, warmup_experiments_dir: Path | None = None):
        if not 0 <= warmup_days < config.days:
            raise StreamloopError(f"warm-up of {warmup_days} days must be shorter than the {config.days} simulated")
        self.config, self.schedule = config, schedule
        self.knobs = knobs or Knobs()
        self.knobs.own_messages = False if schedule.campaigns_every else self.knobs.own_messages
        # History before the measured window: every arm lives it alike (`warmup_knobs`, the baseline's
        # behaviour, and the same seeded days), then the product builds and trains once so its churn scores
        # and models exist when the window starts. Outcomes count the window's days only.
        self.warmup_days = warmup_days
        self.warmup_knobs = warmup_knobs or self.knobs
        self.warmup_knobs.own_messages = self.knobs.own_messages
        self.experiments_dir = experiments_dir or config.experiments_dir
        self.warmup_experiments_dir = warmup_experiments_dir or self.experiments_dir
        self.campaigns_dir, self.campaign_audiences = campaigns_dir, campaign_audiences or {}
        self.churn_top_percent, self.row_order = churn_top_percent or {}, row_order
        self.withdraw_share = withdraw_share
        self.progress = progress or (lambda _: None)

    def run(self) -> LoopResult:
        from streamloop.core.settings import get_settings

        began = time.perf_counter()
        get_settings.cache_clear()
        settings = get_settings()
        config = self.config
        catalog, population = build_world(config)
        catalog = _withdraw(catalog, self.withdraw_share, config.seed)
        lake = Lake(settings.lake_root)
        start_ms = _start_ms(config)
        lake.write_table("catalog", _table(new_batch_id("twin", str(config.seed), "catalog"),
                                           [json.dumps(r) for r in catalog.records], [start_ms] * len(catalog.records)))
        warmup = self.warmup_days
        sim = HouseholdSimulator(catalog, population, config.start_date, config.seed, 0,
                                 range(len(population.account_ids)),
                                 load_experiments(self.warmup_experiments_dir if warmup else self.experiments_dir),
                                 self.warmup_knobs if warmup else self.knobs)
        profile_index = {pid: i for i, pid in enumerate(population.profile_ids)}
        delivery_rng = np.random.default_rng([config.seed, 0, 29])
        held: list[tuple[int, str]] = []  # (received ms, raw) of records received on a later day
        result = LoopResult([], 0.0)
        built = trained = campaigns_started = False
        home: ProductHome | None = None
        reacted: set[str] = set()
        for day in range(config.days):
            day_end = start_ms + (day + 1) * DAY_MS
            clock.set_now(datetime.fromtimestamp(day_end / 1000, UTC))  # the product lives on the simulated calendar
            metrics = DayMetrics(day, str(config.start_date + timedelta(days=day)))
            if warmup and day == warmup:
                sim.knobs = self.knobs  # the window starts: this arm's behaviour and experiments from here on
                sim.use_experiments(load_experiments(self.experiments_dir))
            sim.simulate_day(day)
            self._count(sim, metrics)
            delivered = deliver(sim.buffer, delivery_rng, late_rate=config.late_rate,
                                duplicate_rate=config.duplicate_rate, malformed_rate=config.malformed_rate,
                                latest_receipt_ms=start_ms + config.days * DAY_MS)
            sim.buffer.clear()
            held += list(zip(delivered.received_ms, delivered.raws))
            today = [(ms, raw) for ms, raw in held if ms < day_end]
            held = [(ms, raw) for ms, raw in held if ms >= day_end]
            if today:  # one batch per day: batch ids never collide across days
                lake.write_table("events", _table(new_batch_id("twin", str(config.seed), f"day-{day}"),
                                                  [r for _, r in today], [ms for ms, _ in today]))
            # the product catches up at the warm-up's end, unless it does no batch work at all (behaviour only)
            warmup_ends = bool(warmup) and day == warmup - 1 and any(dataclasses.astuple(self.schedule))
            window_day = day - warmup  # the schedule counts the window's days
            if warmup_ends or (window_day >= 0 and _due(self.schedule.build_every, window_day)):
                from streamloop.app.build import run_build

                run_build()
                built = True
                metrics.product.append("build")
            if built and (warmup_ends or (window_day >= 0 and _due(self.schedule.train_every, window_day))):
                trained = self._train(result, day) or trained
                metrics.product.append("train")
                if trained:
                    home = ProductHome(settings, catalog, population, self.experiments_dir, self.row_order,
                                       config.seed)
                    self.knobs.home_rows = home
            if trained and window_day >= 0 and _due(self.schedule.campaigns_every, window_day):
                self._decide_campaigns(settings, day_end)
                campaigns_started = True
                metrics.product.append("campaigns")
            if campaigns_started:  # the runner's delivery sweeps, hourly, every day from the first campaign run
                metrics.messages_sent += self._deliver_and_react(lake, sim, profile_index, reacted,
                                                                 day_end)
            if home is not None:
                metrics.served_by_product, home.served = home.served, 0
            if window_day >= 0:
                result.days.append(metrics)
            self.progress(("warm-up " if window_day < 0 else "")
                          + f"day {day + 1}/{config.days} {metrics.date}: active {metrics.active_subscribers}, "
                          f"plays {metrics.plays}, sent {metrics.messages_sent}"
                          + (f" [{', '.join(metrics.product)}]" if metrics.product else ""))
        if held:  # received after the last day: landed with it, as the simulator does
            lake.write_table("events", _table(new_batch_id("twin", str(config.seed), "late"),
                                              [r for _, r in held], [ms for ms, _ in held]))
        clock.set_now(None)
        result.seconds = time.perf_counter() - began
        return result

    def _count(self, sim: HouseholdSimulator, m: DayMetrics) -> None:
        buf, pop = sim.buffer, sim.population
        for event_type, props in zip(buf.types, buf.properties):
            if event_type == "heartbeat":
                m.watch_minutes += 1
            elif event_type == "play_start":
                m.plays += 1
            elif event_type == "message_unsubscribed":
                m.unsubscribes += 1
            elif event_type == "message_sent":  # the simulator's own messages (when the product sends none)
                m.messages_sent += 1
            elif event_type == "payment_succeeded":
                m.revenue_cents += json.loads(props)["amount_cents"]
        for a, account in sim.state.items():
            if pop.signup_day[a] <= m.day:
                m.subscribed_ever += 1
                m.active_subscribers += account.alive

    def _train(self, result: LoopResult, day: int) -> bool:
        from streamloop.app.train import run_training

        try:
            summary = run_training(None)
        except StreamloopError as exc:  # a model that cannot train yet (too few labels) keeps the loop going
            result.notes.append(f"day {day + 1}: training did not finish: {str(exc).splitlines()[0]}")
            return False
        return bool(summary.published)

    def _campaign_set(self, settings):
        """The product's campaigns with this arm's audience changes (churn quantiles from the latest scores)."""
        import duckdb

        from messaging.service import campaigns

        campaign_set = campaigns(self.campaigns_dir)
        overrides = dict(self.campaign_audiences)
        if self.churn_top_percent:
            with duckdb.connect(str(settings.warehouse_file), read_only=True) as con:
                for campaign_id, percent in self.churn_top_percent.items():
                    cut = con.execute("select quantile_cont(churn_risk, ?) from messaging_profiles",
                                      [1 - percent / 100]).fetchone()[0]
                    base = overrides.get(campaign_id) or _audience(campaign_set, campaign_id)
                    if CHURN_TERM not in base:
                        raise StreamloopError(f"campaign {campaign_id}: churn_top_percent needs `{CHURN_TERM}` "
                                              f"in its audience to replace")
                    # no scores yet (no churn model): a NULL quantile, and nobody qualifies
                    overrides[campaign_id] = base.replace(CHURN_TERM, f"churn_risk >= {cut if cut is not None else 2}")
        return _with_audiences(campaign_set, overrides) if overrides else campaign_set

    def _decide_campaigns(self, settings, day_end: int) -> None:
        """The scheduled campaign run, at 18:00 UTC of the day: decides, claims and sends what is due now."""
        from messaging.service import build_runner

        self._runner = build_runner(settings, self._campaign_set(settings))
        self._runner.run(datetime.fromtimestamp(day_end / 1000, UTC) - timedelta(hours=6))

    def _deliver_and_react(self, lake: Lake, sim: HouseholdSimulator, profile_index: dict[str, int],
                           reacted: set[str], day_end: int) -> int:
        """Delivers what came due during the day (hourly sweeps) and lets each household react to what it
        was sent. Returns the messages sent that households had not seen yet."""
        import duckdb

        end = datetime.fromtimestamp(day_end / 1000, UTC)
        self._runner.deliver([end - timedelta(hours=h) for h in range(23, -1, -1)])
        snapshot = f"{lake.root}/messaging/ledger.parquet"
        if not Path(snapshot).exists():
            return 0
        with duckdb.connect() as con:
            rows = con.execute(f"select message_id, campaign_id, profile_id, channel, coalesce(sent_at, send_at) "
                               f"from read_parquet('{snapshot}') where status in ('sent', 'delivered') "
                               f"order by message_id").fetchall()
        sent = 0
        for message_id, campaign_id, profile_id, channel, at_text in rows:
            if message_id in reacted or profile_id not in profile_index:
                continue
            reacted.add(message_id)
            sent += 1
            at_ms = int(datetime.fromisoformat(str(at_text)).timestamp() * 1000)
            sim.react_to_message(profile_index[profile_id], campaign_id, message_id, channel, at_ms)
        return sent


def _due(every: int, day: int) -> bool:
    """Batch work runs at the end of every `every`-th day (never when 0)."""
    return bool(every) and (day + 1) % every == 0


def _audience(campaign_set, campaign_id: str) -> str:
    for c in campaign_set.campaigns:
        if c.id == campaign_id:
            return c.audience
    raise KeyError(f"no campaign {campaign_id!r} in campaigns/")


def _with_audiences(campaign_set, audiences: dict[str, str]):
    """The campaign set with some audiences replaced (validated by the campaign schema again)."""
    campaigns = [c.model_copy(update={"audience": audiences[c.id]}) if c.id in audiences else c
                 for c in campaign_set.campaigns]
    return dataclasses.replace(campaign_set, campaigns=campaigns)
