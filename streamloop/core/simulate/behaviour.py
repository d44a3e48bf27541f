"""How households behave, day by day: sessions, home pages, plays, subscriptions, messages.

A `HouseholdSimulator` owns a shard of accounts and walks them through the days in order, keeping
each device's login state, each profile's progress and each account's subscription. Decisions that
matter for learning are driven by latent traits:

- clicks follow taste × popularity × position; plays complete more often when the viewer likes the title;
- a household's engagement drifts (some fade) and its churn hazard rises as recent watch time falls,
  in interaction with what the household pays and how it got here (see `voluntary_churn_hazard`);
  trials convert or cancel on their last day, mostly by plan × engagement;
- payment methods fail at a per-account rate; the third failure in a row lapses the subscription,
  recorded as `subscription_canceled` with reason `payment_failed`.

What the warehouse's identity rules get to work on: a logged-out device browses anonymously
(profile_id and account_id null) before its `login`; a shared device shows "who's watching"
(`app_open` with the account but no profile) before a `profile_switch`; legacy app versions leave
profile_id out of heartbeats/pauses/resumes. Billing and messaging are server-side: they come from
one pseudo device per account, `srv-<account_id>`, never from a viewing device.

Cheap scalar choices use `random.Random` (fast per call); vector choices use numpy.
"""
from __future__ import annotations

import hashlib
import math
import random
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np

from streamloop.core.constants import SURFACE_TOP_PICKS, genre_of_row_id, genre_row_id
from streamloop.core.contract import MATURITY_RATINGS
from streamloop.core.experiments import Experiment, Experiments, assign
from streamloop.core.simulate.catalog import GENRES, Catalog
from streamloop.core.simulate.encode import DAY_MS, EventBuffer
from streamloop.core.simulate.population import (
    COUNTRIES,
    PLANS,
    TIMEZONES,
    TRIAL_DAYS,
    Population,
    day_of,
    utc_offset_seconds,
)

ROW_ITEMS = 6
_HOURS_WEEKDAY = (1, .5, .3, .2, .2, .3, .8, 1.2, 1.2, 1, 1, 1.2, 1.5, 1.3, 1.2, 1.3, 1.6, 2.2, 3.2, 4.5, 5.5, 5.5, 4, 2.2)
_HOURS_WEEKEND = (1.5, 1, .5, .3, .2, .3, .6, 1, 1.8, 2.5, 2.8, 3, 3.2, 3.2, 3.2, 3.3, 3.5, 3.8, 4.2, 5, 5.5, 5.2, 4, 2.5)
_HOURS_KIDS = (0, 0, 0, 0, 0, 0, .5, 1.5, 1.5, 1, 1, 1, 1.5, 1.5, 2, 3, 4, 4.5, 4, 3, 1.5, .5, 0, 0)
_HOURS_KIDS_WEEKEND = (0, 0, 0, 0, 0, 0, 1, 3, 4, 4, 3.5, 3, 2.5, 2.5, 2.5, 3, 3.5, 3.5, 3, 2, 1, .3, 0, 0)
_DEVICE_WEIGHT = {"tv": 3.0, "mobile": 2.0, "web": 1.0, "tablet": 1.0, "console": 0.8}
_LOGOUT_P = {"tv": 0.01, "mobile": 0.04, "web": 0.12, "tablet": 0.03, "console": 0.02}
# below how many minutes a day a household starts to wonder whether its plan is worth it (basic, standard,
# premium): a cheap plan is kept even when barely used, a premium one has to earn its price
_WORTH_IT_MINUTES = (2.0, 10.0, 30.0)
# and how readily an idle household then cancels: the dearer the plan, the sooner the money is missed
_PRICE_WEIGHT = (0.2, 1.0, 2.5)
_CANCEL_REASONS = ("too_expensive", "not_enough_content", "switching_service", "technical_issues", "other")
_SEARCH_WORDS = tuple(GENRES) + ("new movies", "comedy series", "kids", "documentary nature", "thriller 2024")


# how churn answers a price: the voluntary hazard scales with (price / list price) ** this. A default, not
# fitted: no warehouse the simulator has seen carries a price change to fit it from (docs/twin.md)
PRICE_ELASTICITY = 3.0
# what a clicked win-back does to the household's latent engagement (the simulator's own campaigns and the
# default for product messages in the twin loop)
WINBACK_CLICK_LIFT = 0.5
# the knobs the twin loop (streamloop/app/twin) turns; the defaults are the standalone simulator
HomeRows = Callable[[int, int, int], "list[tuple[str, list[int]]] | None"]  # (profile, account, day) -> rows


@dataclass
class Knobs:
    """What a closed-loop run changes about behaviour. Defaults reproduce `streamloop simulate` exactly.

    prices:          cents per plan index (basic, standard, premium); None = the list prices (PLANS)
    own_messages:    the simulator sends its own weekly/win-back messages (off when the product's runner does)
    home_rows:       the product's home page for (profile, account, day) as [(row_id, [item index…])], or
                     None to fall back to the simulator's own rows; None = always the simulator's rows
    message_lift:    latent-engagement lift of a clicked product message, by campaign id ("*" = any)
    price_elasticity: how the churn hazard answers a price away from the list price (PRICE_ELASTICITY)
    activity_shift:  added to every profile's daily watch logit (fitted engagement level; 0 = the default)
    hazard_scale:    voluntary churn hazard multiplier per plan (fitted churn by plan; 1 = the default)
    """

    prices: tuple[int, ...] | None = None
    own_messages: bool = True
    home_rows: HomeRows | None = None
    message_lift: dict[str, float] = field(default_factory=lambda: {"*": WINBACK_CLICK_LIFT})
    price_elasticity: float = PRICE_ELASTICITY
    activity_shift: float = 0.0
    hazard_scale: tuple[float, float, float] = (1.0, 1.0, 1.0)


def price(plan: int, knobs: Knobs | None = None) -> int:
    """What a plan costs (cents) in this run: the knobs' price, else the list price."""
    if knobs is not None and knobs.prices is not None:
        return int(knobs.prices[plan])
    return PLANS[plan][1]


def _lake_address(profile_id: str, channel: str) -> str:
    """A contact address as the lake holds it: the collector lands only a keyed hash of a real address
    (messaging/collector_hook.py); the simulator writes to the lake directly, so it writes that form."""
    return "hmac-sha256:" + hashlib.sha256(f"simulated:{channel}:{profile_id}".encode()).hexdigest()


def _cumulative(weights) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return [x / total for x in out]


_HOUR_CDFS = {(False, False): _cumulative(_HOURS_WEEKDAY), (False, True): _cumulative(_HOURS_WEEKEND),
              (True, False): _cumulative(_HOURS_KIDS), (True, True): _cumulative(_HOURS_KIDS_WEEKEND)}


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def idleness(plan: int, recent_minutes: float) -> float:
    """Near 0 for a household that clearly gets its plan's worth, near 1 well below the plan's threshold."""
    worth_it = _WORTH_IT_MINUTES[plan]
    return _sigmoid(max(-30.0, (worth_it - recent_minutes) / (0.1 * worth_it)))  # clamped: exp overflows


def trial_cancel_probability(plan: int, recent_minutes: float) -> float:
    """A trial converts or cancels on its last day: engaged trials mostly stay, idle ones on dear plans go."""
    return 0.08 + 0.75 * idleness(plan, recent_minutes)


class _Account:
    __slots__ = (
        "alive",
        "consent",
        "created_ms",
        "failures",
        "last_event_ms",
        "last_failed_day",
        "last_winback",
        "next_bill_day",
        "plan",
        "profile_last_day",
        "retry_day",
        "watch_ewma",
        "watch_slow",
        "watched_today",
    )

    def __init__(self, plan: int):
        self.alive = True
        self.created_ms = 0
        self.plan = plan
        self.next_bill_day = 0
        self.failures = 0
        self.retry_day = -1
        self.watch_ewma = 25.0          # minutes watched per day, smoothed: what churn reacts to
        self.watch_slow = 25.0          # the same over about a month: the level a decline is measured against
        self.watched_today = 0.0        # seconds
        self.last_failed_day = -10_000
        self.profile_last_day: dict[int, int] = {}  # profile -> last day it watched (household breadth)
        self.consent = {"email": False, "push": False, "in_app": False}
        self.last_winback = -10_000
        self.last_event_ms = 0


class _Profile:
    __slots__ = ("affinity", "completed", "in_progress", "maturity", "my_list", "series_next")

    def __init__(self, maturity: int, affinity: np.ndarray):
        self.in_progress: dict[int, tuple[int, int]] = {}  # item -> (episode offset or -1, position_s); last = latest
        self.series_next: dict[int, int] = {}
        self.completed: set[int] = set()
        self.my_list: list[int] = []
        self.maturity = maturity
        self.affinity = affinity


class HouseholdSimulator:
    """Simulates the accounts `accounts` (a range) of the population, one day at a time, into `buffer`."""

    def __init__(self, catalog: Catalog, population: Population, start: date, seed: int, shard: int, accounts: range,
                 experiments: Experiments | None = None, knobs: Knobs | None = None):
        self.catalog, self.population, self.start = catalog, population, start
        self.knobs = knobs or Knobs()
        self.use_experiments(experiments)
        self.accounts = accounts
        self.rand = random.Random(f"streamloop-simulate/{seed}/{shard}")
        self.rng = np.random.default_rng([seed, shard, 17])
        self.buffer = EventBuffer()
        self.start_ms = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp() * 1000)
        pop = population
        self.profiles = [p for a in accounts for p in pop.account_profiles[a]]
        self.state = {a: _Account(int(pop.plan[a])) for a in accounts}
        self.latent = {a: float(self.rng.normal(0, 0.3)) for a in accounts}
        self.logged_in: dict[int, int] = {}   # device -> profile signed in on it
        self.busy_until: dict[int, int] = {}  # device -> ms its last session ended
        self._profiles: dict[int, _Profile] = {}
        self._envelopes: dict[tuple[int, int, int], str] = {}
        self._day_lists: dict[tuple, list[int]] = {}
        self._lists_day = None
        self._planned: list[tuple[int, int, int, int]] = []  # today's sessions: (start ms, profile, account, device)

    def use_experiments(self, experiments: Experiments | None) -> None:
        """The product's Top Picks experiments (experiments/*.yml) households are assigned to from now on, with
        their windows in epoch ms (the twin switches from the baseline's to an arm's after a warm-up)."""
        self._top_picks_tests = [(int(e.start.timestamp() * 1000), int(e.end.timestamp() * 1000), e)
                                 for e in (experiments or Experiments()).tests if e.surface == SURFACE_TOP_PICKS]
        self._variants: dict[tuple[str, int], str] = {}

    # -- envelopes and small helpers -------------------------------------------------------------------
    def envelope(self, device: int, profile: int, account: int) -> str:
        """The envelope text for a device and (possibly absent, -1) profile and account."""
        key = (device, profile, account)
        text = self._envelopes.get(key)
        if text is None:
            pop = self.population
            profile_json = f'"{pop.profile_ids[profile]}"' if profile >= 0 else "null"
            account_json = f'"{pop.account_ids[account]}"' if account >= 0 else "null"
            text = (f'"device_id":"{pop.device_ids[device]}","profile_id":{profile_json},'
                    f'"account_id":{account_json},"context":{pop.device_context[device]}')
            self._envelopes[key] = text
        return text

    def server_envelope(self, account: int, profile: int = -1) -> str:
        """Billing and messaging happen server-side: one pseudo device per account, never a viewing device."""
        key = (-1 - account, profile, account)
        text = self._envelopes.get(key)
        if text is None:
            pop = self.population
            profile_json = f'"{pop.profile_ids[profile]}"' if profile >= 0 else "null"
            context = (f'{{"country":"{COUNTRIES[pop.account_country[account]].code}","device_type":"web",'
                       f'"app_version":"server","os":"server","timezone":"{TIMEZONES[pop.account_tz[account]]}"}}')
            text = (f'"device_id":"srv-{pop.account_ids[account]}","profile_id":{profile_json},'
                    f'"account_id":"{pop.account_ids[account]}","context":{context}')
            self._envelopes[key] = text
        return text

    def zone(self, device: int, account: int, day: int) -> int:
        if device >= 0 and self.population.device_uses_utc[device]:
            return self.buffer.zone(None)
        return self.buffer.zone(self.offset(account, day))

    def offset(self, account: int, day: int) -> int:
        return utc_offset_seconds(int(self.population.account_tz[account]), day_of(self.start, day))

    def local_ms(self, account: int, day: int, seconds_of_day: float) -> int:
        """UTC ms of a local time of day on a simulated day, in the account's time zone."""
        return self.start_ms + day * DAY_MS + int((seconds_of_day - self.offset(account, day)) * 1000)

    def top_picks_test(self, t: int) -> Experiment | None:
        """The Top Picks experiment running at `t` (epoch ms), as serving picks it (first match)."""
        return next((e for start, end, e in self._top_picks_tests if start <= t < end), None)

    def variant(self, test: Experiment, p: int) -> str:
        """The profile's variant, by the product's own sticky assignment (cached per profile)."""
        key = (test.id, p)
        name = self._variants.get(key)
        if name is None:
            name = self._variants[key] = assign(self.population.profile_ids[p], test)
        return name

    def request_id(self) -> str:
        return f"req-{self.rand.getrandbits(64):016x}"

    def profile(self, p: int) -> _Profile:
        state = self._profiles.get(p)
        if state is None:
            pop, cat = self.population, self.catalog
            affinity = (cat.factors @ pop.taste[p]) * 2.0 + 0.3 * cat.quality
            state = self._profiles[p] = _Profile(int(pop.maturity[p]), affinity.astype(np.float32))
        return state

    # -- per-day lists (what the service shows everyone) ---------------------------------------------------
    def day_list(self, kind: str, country: int, maturity: int, day: int) -> list[int]:
        if self._lists_day != day:
            self._day_lists.clear()
            self._lists_day = day
        key = (kind, country, maturity)
        items = self._day_lists.get(key)
        if items is None:
            cat = self.catalog
            mask = cat.available[country] & (cat.maturity <= maturity) & (cat.release_day <= day)
            age = day - cat.release_day
            if kind == "popular":
                score = cat.log_popularity
            elif kind == "trending":
                score = cat.log_popularity + 2.5 * np.exp(-np.maximum(age, 0) / 21.0)
            elif kind == "new_releases":
                score = -age.astype(float)
            else:  # a genre row, `genre:<name>`
                score = cat.log_popularity + 10.0 * cat.genre_matrix[:, GENRES.index(genre_of_row_id(kind))]
            candidates = np.flatnonzero(mask)
            order = candidates[np.argsort(-score[candidates], kind="stable")[:30]]
            items = self._day_lists[key] = order.tolist()
        return items

    def candidates(self, p: int, country: int, day: int) -> np.ndarray:
        """The profile's best 40 available titles by affinity (what a decent recommender would offer)."""
        cat, state = self.catalog, self.profile(p)
        mask = cat.available[country] & (cat.maturity <= state.maturity) & (cat.release_day <= day)
        if state.completed:
            mask[list(state.completed)] = False
        pool = np.flatnonzero(mask)
        if len(pool) > 40:
            pool = pool[np.argpartition(-state.affinity[pool], 40)[:40]]
        return pool

    # -- one day ------------------------------------------------------------------------------------------
    def simulate_day(self, day: int) -> None:
        pop, rand = self.population, self.rand
        weekday = day_of(self.start, day).weekday()
        weekend = weekday >= 5
        for a in self.accounts:
            if day == 0 and pop.signup_day[a] < 0:
                self.sign_up(a, int(pop.signup_day[a]))
            elif pop.signup_day[a] == day:
                self.sign_up(a, day)
            elif pop.signup_day[a] < day and self.state[a].alive:
                self.bill(a, day)  # early in the day, so a lapsed household watches no more
        draws = self.rng.random(len(self.profiles))
        for i, p in enumerate(self.profiles):
            a = int(pop.profile_account[p])
            if not self.state[a].alive or pop.created_day[p] > day or pop.signup_day[a] >= day:
                continue
            if pop.created_day[p] == day and day > 0:  # profiles of the first day come with the account
                self.create_profile(p, a, day)
            shift = self.knobs.activity_shift + (0.5 if weekend else 0.0)
            if draws[i] < _sigmoid(pop.activity[p] + self.latent[a] + shift):
                self.plan_sessions(p, a, day, weekend)
        self._run_sessions(day)
        for a in self.accounts:
            account = self.state[a]
            if not account.alive or pop.signup_day[a] > day:
                continue
            self.lifecycle(a, day, weekday)
            account.watch_ewma = 0.85 * account.watch_ewma + 0.15 * account.watched_today / 60.0
            account.watch_slow = 0.95 * account.watch_slow + 0.05 * account.watched_today / 60.0
            account.watched_today = 0.0
            self.latent[a] = min(2.0, max(-5.0, self.latent[a] + pop.engagement_drift[a] + rand.gauss(0, 0.05)))

    def plan_sessions(self, p: int, a: int, day: int, weekend: bool) -> None:
        pop, rand = self.population, self.rand
        self.state[a].profile_last_day[p] = day
        kids = bool(pop.is_kids[p])
        cdf = _HOUR_CDFS[(kids, weekend)]
        devices = [d for d in pop.account_devices[a] if pop.device_owner[d] in (-1, p)]
        weights = [_DEVICE_WEIGHT[pop.device_type[d]] * (2.0 if kids and pop.device_type[d] == "tablet" else 1.0)
                   for d in devices]
        for _ in range(1 + (rand.random() < 0.3) + (rand.random() < 0.08)):
            seconds = (bisect_right(cdf, rand.random()) + rand.random()) * 3600
            device = rand.choices(devices, weights)[0]
            self._planned.append((self.local_ms(a, day, seconds), p, a, device))

    def _run_sessions(self, day: int) -> None:
        planned, self._planned = self._planned, []
        planned.sort()
        for start_ms, p, a, device in planned:
            start_ms = max(start_ms, self.state[a].created_ms + 60_000)
            free_at = self.busy_until.get(device, 0)
            if start_ms < free_at + 60_000:  # the device is in use: this viewer waits for it
                start_ms = free_at + self.rand.randint(120_000, 1_200_000)
            self.busy_until[device] = self.session(p, a, device, start_ms, day)

    # -- sessions -----------------------------------------------------------------------------------------
    def session(self, p: int, a: int, device: int, t: int, day: int) -> int:
        pop, rand, buf = self.population, self.rand, self.buffer
        zone = self.zone(device, a, day)
        country = int(pop.account_country[a])
        env = self.envelope(device, p, a)
        # legacy clients leave profile_id out of playback events; the warehouse stitches them by device
        env_playback = self.envelope(device, -1, a) if pop.device_is_legacy[device] else env
        current = self.logged_in.get(device)
        if current is None:
            buf.add(t, zone, "app_open", self.envelope(device, -1, -1))
            t += rand.randint(2_000, 6_000)
            if rand.random() < 0.6:
                t = self.browse_anonymously(device, country, t, zone, day)
            buf.add(t, zone, "login", env)
            t += rand.randint(1_000, 3_000)
        elif current != p:
            buf.add(t, zone, "app_open", self.envelope(device, -1, a))
            t += rand.randint(2_000, 8_000)
            buf.add(t, zone, "profile_switch", env)
            t += rand.randint(1_000, 3_000)
        else:
            buf.add(t, zone, "app_open", env)
            t += rand.randint(1_000, 3_000)
        self.logged_in[device] = p
        # like the product: the Top Picks experiment running now assigns the profile and logs its exposure
        test = self.top_picks_test(t)
        variant = self.variant(test, p) if test is not None else None
        if test is not None:
            buf.add(t, zone, "experiment_exposure", env, f'{{"experiment_id":"{test.id}","variant":"{variant}"}}')

        minutes = rand.lognormvariate(math.log(55), 0.7) * math.exp(0.25 * self.latent[a])
        end = t + int(min(minutes * (0.7 if pop.is_kids[p] else 1.0), 300) * 60_000)
        candidates = self.candidates(p, country, day)
        state = self.profile(p)
        misses = 0
        while t < end and misses < 2 and len(candidates):
            if rand.random() < 0.1:
                t, item, row, rank, request = self.search(env, candidates, t, zone)
                if item < 0:
                    misses += 1
                    continue
            else:
                t, item, row, rank, request = self.home_page(p, state, env, candidates, country, t, zone, day,
                                                             variant)
                if item < 0:
                    misses += 1
                    t += rand.randint(5_000, 40_000)
                    continue
            misses = 0
            buf.add(t, zone, "click", env, f'{{"title_id":"{self.catalog.item_ids[item]}","row_id":"{row}",'
                                           f'"rank":{rank},"request_id":"{request}"}}')
            t = self.watch(a, state, item, t + rand.randint(1_000, 4_000), end, env, env_playback, zone)
        if rand.random() < _LOGOUT_P[pop.device_type[device]]:
            t += rand.randint(5_000, 60_000)
            buf.add(t, zone, "logout", env)
            self.logged_in.pop(device)
        self.state[a].last_event_ms = max(self.state[a].last_event_ms, t)
        return t

    def browse_anonymously(self, device: int, country: int, t: int, zone: int, day: int) -> int:
        """Before logging in, the app shows logged-out rows (and people search)."""
        env, request = self.envelope(device, -1, -1), self.request_id()
        props = []
        for row_pos, kind in enumerate(("popular", "trending")):
            for rank, item in enumerate(self.day_list(kind, country, 2, day)[:ROW_ITEMS], start=1):
                props.append(f'{{"title_id":"{self.catalog.item_ids[item]}","row_id":"{kind}","rank":{rank},'
                             f'"request_id":"{request}"}}')
        self.buffer.add_many([t + 120 * i for i in range(len(props))], zone, "impression", env, props)
        t += 120 * len(props) + self.rand.randint(3_000, 30_000)
        if self.rand.random() < 0.3:
            word = self.rand.choice(_SEARCH_WORDS)
            self.buffer.add(t, zone, "search", env, f'{{"query":"{word}","results_count":{self.rand.randint(0, 40)}}}')
            t += self.rand.randint(3_000, 20_000)
        return t

    def home_page(self, p: int, state: _Profile, env: str, candidates: np.ndarray, country: int, t: int, zone: int,
                  day: int, variant: str | None) -> tuple[int, int, str, int, str]:
        """Shows a home page (impressions) and returns the click, if any, as (t, item, row, rank, request)."""
        cat, rand, pop = self.catalog, self.rand, self.population
        request = self.request_id()
        shown: set[int] = set()
        rows: list[tuple[str, list[int], list[float] | None]] = []
        served = self.knobs.home_rows(p, int(pop.profile_account[p]), day) if self.knobs.home_rows else None
        if served is not None:  # the product's own page (the twin loop): the viewer reacts to what it serves
            rows = [(row_id, items[:ROW_ITEMS], None) for row_id, items in served if items]
        elif state.in_progress:
            items = list(reversed(state.in_progress))[:ROW_ITEMS]
            shown.update(items)
            rows.append(("continue_watching", items, None))
        if served is not None:
            pass
        elif variant == "popularity":
            # the experiment's control, as the product serves it: the country's popular titles, unpersonalized
            picks = [i for i in self.day_list("popular", country, state.maturity, day) if i not in shown][:ROW_ITEMS]
            shown.update(picks)
            rows.append(("top_picks", picks, None))
        else:
            rows.append(("top_picks", *self.ranked_picks(state, candidates, shown)))
        genre_row = genre_row_id(GENRES[pop.favourite_genre[p]])
        for kind in rand.sample(("trending", "popular", "new_releases", genre_row), 2) if served is None else ():
            items = [i for i in self.day_list(kind, country, state.maturity, day) if i not in shown][:ROW_ITEMS]
            shown.update(items)
            rows.append((kind, items, None))

        times, props, best, best_utility, best_row, best_rank = [], [], None, -1e9, "", 0
        affinity, popularity = state.affinity, cat.log_popularity
        for row_pos, (row_id, items, propensities) in enumerate(rows):
            for rank, item in enumerate(items, start=1):
                title_id = cat.item_ids[item]
                if propensities is None:
                    props.append(f'{{"title_id":"{title_id}","row_id":"{row_id}","rank":{rank},"request_id":"{request}"}}')
                else:
                    props.append(f'{{"title_id":"{title_id}","row_id":"{row_id}","rank":{rank},"request_id":"{request}",'
                                 f'"propensity":{propensities[rank - 1]:.5f}}}')
                times.append(t + row_pos * 1_500 + rank * 90)
                utility = (1.3 * affinity[item] + 0.35 * popularity[item] - 0.08 * rank - 0.15 * row_pos
                           + (0.8 if row_id == "continue_watching" else 0.0) - math.log(-math.log(rand.random())))
                if utility > best_utility:
                    best, best_utility, best_row, best_rank = item, utility, row_id, rank
        self.buffer.add_many(times, zone, "impression", env, props)
        t = times[-1] + rand.randint(2_000, 20_000) if times else t
        if rand.random() < 0.03 and best is not None and best not in state.my_list:
            state.my_list.append(best)
            self.buffer.add(t, zone, "add_to_list", env, f'{{"title_id":"{cat.item_ids[best]}"}}')
            t += rand.randint(1_000, 5_000)
        elif rand.random() < 0.01 and state.my_list:
            removed = state.my_list.pop(0)
            self.buffer.add(t, zone, "remove_from_list", env, f'{{"title_id":"{cat.item_ids[removed]}"}}')
            t += rand.randint(1_000, 5_000)
        if best is None or rand.random() >= _sigmoid(best_utility - 2.2):
            return t, -1, "", 0, request
        return t, best, best_row, best_rank, request

    def ranked_picks(self, state: _Profile, candidates: np.ndarray, shown: set[int]) -> tuple[list[int], list[float]]:
        """Top picks as the recommender serves them: a softmax sample over the candidates (temperature 0.5),
        with the propensity of each pick, which impressions log for off-policy evaluation."""
        logits = state.affinity[candidates] / 0.5
        keys = logits + self.rng.gumbel(size=len(candidates))
        order = np.argsort(-keys)[:ROW_ITEMS + 2]
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        picks, propensities, taken = [], [], 0.0
        for j in order.tolist():
            item = int(candidates[j])
            if item in shown:
                continue
            propensities.append(min(1.0, float(probs[j]) / max(1e-9, 1.0 - taken)))
            taken += float(probs[j])
            picks.append(item)
            shown.add(item)
            if len(picks) == ROW_ITEMS:
                break
        return picks, propensities

    def search(self, env: str, candidates: np.ndarray, t: int, zone: int) -> tuple[int, int, str, int, str]:
        rand, cat = self.rand, self.catalog
        item = int(candidates[rand.randrange(len(candidates))]) if rand.random() < 0.6 else -1
        if item >= 0:
            query = cat.names[item].lower().removeprefix("the ")[: rand.randint(3, 10)].strip()
            results = rand.randint(1, 25)
        else:
            query, results = rand.choice(_SEARCH_WORDS), rand.choice((0, 0, 3, 12, 40))
        self.buffer.add(t, zone, "search", env, f'{{"query":"{query}","results_count":{results}}}')
        t += rand.randint(4_000, 25_000)
        if item < 0:
            return t + rand.randint(3_000, 20_000), -1, "", 0, ""
        return t, item, "search_results", rand.randint(1, min(results, 5)), self.request_id()

    # -- playback -----------------------------------------------------------------------------------------
    def watch(self, a: int, state: _Profile, item: int, t: int, end: int, env: str, env_playback: str,
              zone: int) -> int:
        """Plays a movie, or a series from its next episode with autoplay (binge) while the viewer likes it."""
        cat, rand = self.catalog, self.rand
        affinity = float(state.affinity[item])
        resume_episode, resume_at = state.in_progress.pop(item, (-1, 0))
        if not cat.is_series[item]:
            t, position, done = self.play(cat.item_ids[item], int(cat.runtime_s[item]), resume_at, affinity, t, end,
                                          env, env_playback, zone, a)
            if done:
                state.completed.add(item)
            else:
                state.in_progress[item] = (-1, position)
            self.after_play(state, cat.item_ids[item], affinity, done, t, env, zone)
            return t
        episode = state.series_next.get(item, 0)
        if episode >= cat.episode_count[item]:
            episode = 0  # a rewatch from the start
        start_at = resume_at if resume_episode == episode else 0
        while True:
            index = cat.first_episode[item] + episode
            title_id = cat.episode_ids[index]
            t, position, done = self.play(title_id, int(cat.episode_runtime_s[index]), start_at, affinity, t, end,
                                          env, env_playback, zone, a)
            if not done:
                state.in_progress[item] = (episode, position)
                self.after_play(state, title_id, affinity, done, t, env, zone)
                return t
            episode += 1
            state.series_next[item] = episode
            if episode >= cat.episode_count[item] or t >= end or rand.random() > _sigmoid(affinity + 0.6):
                self.after_play(state, title_id, affinity, done, t, env, zone)
                return t
            t += rand.randint(5_000, 15_000)  # the autoplay countdown
            start_at = 0

    def play(self, title_id: str, runtime: int, start_at: int, affinity: float, t: int, end: int, env: str,
             env_playback: str, zone: int, a: int) -> tuple[int, int, bool]:
        """One play: start, heartbeats every 60 s of progress, pauses, then complete or stop."""
        rand, buf = self.rand, self.buffer
        start_at = min(start_at, max(runtime - 120, 0))
        buf.add(t, zone, "play_start", env,
                f'{{"title_id":"{title_id}","position_s":{start_at},"duration_s":{runtime}}}')
        done = rand.random() < _sigmoid(1.6 * affinity + 0.4)
        if done:
            # credits skipped, but never before where a resumed play started (events would run backwards)
            stop = max(start_at, runtime - int(rand.random() * min(180, 0.08 * runtime)))
        else:
            stop = start_at + int((runtime - start_at) * (0.05 + 0.8 * rand.random()))
        budget = start_at + max(0, (end - t) // 1000)
        if stop > budget:
            stop, done = max(start_at + 30, int(budget)), False
        stop = min(stop, runtime)
        pauses = []
        if rand.random() < min(0.7, (stop - start_at) / 4000):
            pauses.append((rand.randint(start_at, stop), rand.randint(20, 600)))
            if rand.random() < 0.3:
                pauses.append((rand.randint(start_at, stop), rand.randint(20, 900)))
            pauses.sort()
        t0 = t + rand.randint(0, 999)
        positions = range(start_at + 60, stop, 60)
        shift = 0
        first = 0
        for pause_at, seconds in pauses + [(stop, 0)]:
            last = bisect_right(positions, pause_at)
            segment = positions[first:last]
            if len(segment):
                buf.add_many([t0 + (x - start_at) * 1000 + shift for x in segment], zone, "heartbeat", env_playback,
                             [f'{{"title_id":"{title_id}","position_s":{x}}}' for x in segment])
            first = last
            if seconds:
                at = t0 + (pause_at - start_at) * 1000 + shift + 300
                buf.add(at, zone, "pause", env_playback, f'{{"title_id":"{title_id}","position_s":{pause_at}}}')
                shift += seconds * 1000
                buf.add(at + seconds * 1000, zone, "resume", env_playback,
                        f'{{"title_id":"{title_id}","position_s":{pause_at}}}')
        t_end = t0 + (stop - start_at) * 1000 + shift + 500
        buf.add(t_end, zone, "play_complete" if done else "play_stop", env,
                f'{{"title_id":"{title_id}","position_s":{stop}}}')
        self.state[a].watched_today += stop - start_at
        return t_end + rand.randint(1_000, 5_000), stop, done

    def after_play(self, state: _Profile, title_id: str, affinity: float, done: bool, t: int, env: str,
                   zone: int) -> None:
        rand = self.rand
        if rand.random() < (0.12 if done else 0.03):
            value = 1 if affinity + rand.gauss(0, 0.8) > (0.0 if done else 0.8) else -1
            self.buffer.add(t, zone, "rating", env, f'{{"title_id":"{title_id}","value":{value}}}')

    # -- accounts -----------------------------------------------------------------------------------------
    def primary_device(self, a: int) -> int:
        return self.population.account_devices[a][0]

    def owner(self, a: int) -> int:
        return self.population.account_profiles[a][0]

    def sign_up(self, a: int, day: int) -> None:
        """Subscription start: anonymous app open, subscribe, log in, set up profiles and consents.

        Households that subscribed before the window (`day` < 0) enter the event history at its first
        moment, the way a service's tracking starts: nothing is dated before the window, so the
        warehouse never sees months of subscription without the viewing and payments that went with it.
        """
        pop, rand, buf = self.population, self.rand, self.buffer
        account = self.state[a]
        device, owner = self.primary_device(a), self.owner(a)
        existing = day < 0
        zone = self.zone(device, a, max(day, 0))
        t = self.start_ms + rand.randint(0, 600_000) if existing else self.local_ms(a, day, rand.uniform(9, 22) * 3600)
        plan, price_cents = PLANS[account.plan][0], price(account.plan, self.knobs)
        currency = COUNTRIES[pop.account_country[a]].currency
        trial = bool(pop.is_trial[a])
        buf.add(t, zone, "app_open", self.envelope(device, -1, -1))
        t += rand.randint(30_000, 300_000)
        buf.add(t, zone, "subscription_started", self.envelope(device, -1, a),
                f'{{"plan":"{plan}","price_cents":{price_cents},"currency":"{currency}","is_trial":{"true" if trial else "false"}}}')
        t += rand.randint(2_000, 10_000)
        buf.add(t, zone, "login", self.envelope(device, owner, a))
        self.logged_in[device] = owner
        for p in pop.account_profiles[a]:
            if pop.created_day[p] <= max(day, 0):
                t += rand.randint(5_000, 60_000)
                self.profile_updated(p, a, device, t, zone)
        for channel, share in (("email", 0.7), ("push", 0.5), ("in_app", 0.9)):
            account.consent[channel] = rand.random() < share
            t += rand.randint(1_000, 5_000)
            buf.add(t, zone, "consent_updated", self.envelope(device, owner, a),
                    f'{{"channel":"{channel}","granted":{"true" if account.consent[channel] else "false"}}}')
            if account.consent[channel] and channel in ("email", "push"):
                t += rand.randint(500, 2_000)
                buf.add(t, zone, "contact_updated", self.envelope(device, owner, a),
                        f'{{"channel":"{channel}","address":"{_lake_address(pop.profile_ids[owner], channel)}"}}')
        account.last_event_ms = account.created_ms = t
        if existing:  # already paying: the monthly anniversary falls somewhere in the first month
            account.next_bill_day = 1 + (-day) % 30
            return
        if trial:
            account.next_bill_day = day + TRIAL_DAYS
            return
        buf.add(t + rand.randint(5_000, 60_000), self.buffer.zone(None), "payment_succeeded", self.server_envelope(a),
                f'{{"amount_cents":{price_cents},"currency":"{currency}"}}')
        account.next_bill_day = day + 30

    def create_profile(self, p: int, a: int, day: int) -> None:
        device = self.primary_device(a)
        t = self.local_ms(a, day, self.rand.uniform(8, 12) * 3600)
        self.profile_updated(p, a, device, t, self.zone(device, a, day))

    def profile_updated(self, p: int, a: int, device: int, t: int, zone: int) -> None:
        pop = self.population
        state = self.profile(p)
        language = COUNTRIES[pop.account_country[a]].language
        self.buffer.add(t, zone, "profile_updated", self.envelope(device, p, a),
                        f'{{"is_kids":{"true" if pop.is_kids[p] else "false"},'
                        f'"maturity_rating":"{MATURITY_RATINGS[state.maturity]}","language":"{language}",'
                        f'"timezone":"{TIMEZONES[pop.account_tz[a]]}"}}')

    def bill(self, a: int, day: int) -> None:
        """Monthly renewal; a failure is retried after 3 and 4 days; the third failure in a row lapses."""
        pop, rand, account = self.population, self.rand, self.state[a]
        due = day == account.next_bill_day or (account.failures and day == account.retry_day)
        if not due:
            return
        t = self.local_ms(a, day, rand.uniform(1, 5) * 3600)
        env, zone = self.server_envelope(a), self.buffer.zone(None)
        amount, currency = price(account.plan, self.knobs), COUNTRIES[pop.account_country[a]].currency
        props = f'{{"amount_cents":{amount},"currency":"{currency}"}}'
        if rand.random() >= pop.payment_fail_p[a]:
            self.buffer.add(t, zone, "payment_succeeded", env, props)
            if account.failures:
                account.failures = 0
            account.next_bill_day = day + 30 if day == account.next_bill_day else account.next_bill_day + 30
            return
        self.buffer.add(t, zone, "payment_failed", env, props)
        account.failures += 1
        account.last_failed_day = day
        if account.next_bill_day == day:
            account.next_bill_day = day + 30
        if account.failures >= 3:
            self.buffer.add(t + rand.randint(60_000, 600_000), zone, "subscription_canceled", env,
                            '{"reason":"payment_failed"}')
            account.alive = False
        else:
            account.retry_day = day + 2 + account.failures

    def lifecycle(self, a: int, day: int, weekday: int) -> None:
        """Voluntary churn (hazard rising as recent watch time falls), plan changes, consents, messages."""
        pop, rand, buf, account = self.population, self.rand, self.buffer, self.state[a]
        recent = 0.7 * account.watch_ewma + 0.3 * account.watched_today / 60.0
        if pop.is_trial[a] and day == pop.signup_day[a] + TRIAL_DAYS - 1:  # the evening before the first charge
            cancels = rand.random() < trial_cancel_probability(account.plan, recent)
        else:
            cancels = rand.random() < self.voluntary_churn_hazard(a, day, recent)
        device, owner = self.primary_device(a), self.owner(a)
        zone = self.zone(device, a, day)
        evening = max(account.last_event_ms, self.local_ms(a, day, rand.uniform(17, 23) * 3600))
        if cancels:
            reason = "not_watching_enough" if recent < 10 and rand.random() < 0.5 else rand.choice(_CANCEL_REASONS)
            buf.add(evening + rand.randint(60_000, 1_800_000), zone, "subscription_canceled",
                    self.envelope(device, owner, a), f'{{"reason":"{reason}"}}')
            account.alive = False
            return
        if rand.random() < 0.0025:
            new_plan = min(2, account.plan + 1) if rand.random() < 0.6 else max(0, account.plan - 1)
            if new_plan != account.plan:
                account.plan = new_plan
                plan, price_cents = PLANS[new_plan][0], price(new_plan, self.knobs)
                buf.add(evening + rand.randint(60_000, 600_000), zone, "plan_changed", self.envelope(device, owner, a),
                        f'{{"plan":"{plan}","price_cents":{price_cents}}}')
        if rand.random() < 0.002:
            channel = rand.choice(("email", "push", "in_app"))
            account.consent[channel] = not account.consent[channel]
            buf.add(evening + rand.randint(60_000, 600_000), zone, "consent_updated", self.envelope(device, owner, a),
                    f'{{"channel":"{channel}","granted":{"true" if account.consent[channel] else "false"}}}')
        if rand.random() < 0.003:
            kid = next((p for p in pop.account_profiles[a] if pop.is_kids[p] and self.profile(p).maturity == 0), None)
            if kid is not None:  # the child grew up a little
                self.profile(kid).maturity = 1
                self.profile_updated(kid, a, device, evening + rand.randint(60_000, 600_000), zone)
        elif rand.random() < 0.002:  # someone revisits their profile settings and saves them again
            profile = rand.choice([p for p in pop.account_profiles[a] if pop.created_day[p] <= day])
            self.profile_updated(profile, a, device, evening + rand.randint(60_000, 600_000), zone)
        if not self.knobs.own_messages:
            return
        if weekday == 3 and account.consent["email"]:
            self.message(a, owner, day, "weekly_new_releases", "email")
        elif recent < 8 and day - account.last_winback >= 14 and account.consent["push"]:
            account.last_winback = day
            if self.message(a, owner, day, "winback_we_miss_you", "push"):
                self.latent[a] += WINBACK_CLICK_LIFT  # a clicked win-back brings the household back a little

    def voluntary_churn_hazard(self, a: int, day: int, recent: float) -> float:
        """Daily probability that a paying household cancels.

        Watching little is what makes a household reconsider, but how much it matters depends on
        context a recency/frequency model cannot see: the plan (a premium household watching half an
        hour a day is on its way out, a basic one is content), a sharp drop against its own monthly habit,
        one active profile in a family household, a recent failed payment, a young subscription.
        """
        pop, account = self.population, self.state[a]
        hazard = 0.03 * _PRICE_WEIGHT[account.plan] * idleness(account.plan, recent)
        if self.knobs.prices is not None:  # dearer than the list price: the same idleness weighs more
            hazard *= (price(account.plan, self.knobs) / PLANS[account.plan][1]) ** self.knobs.price_elasticity
        if account.watch_slow > 10.0 and recent < 0.5 * account.watch_slow:
            hazard *= 2.0  # a sharp drop from its own habit
        profiles = [p for p in pop.account_profiles[a] if pop.created_day[p] <= day]
        if len(profiles) >= 3 and sum(day - account.profile_last_day.get(p, -10_000) < 28 for p in profiles) <= 1:
            hazard *= 3.0  # paying for a family, used by one
        if day - account.last_failed_day <= 30:
            hazard *= 4.0  # a failed charge makes the household look at the bill
        if day - pop.signup_day[a] < 60:
            hazard *= 1.5  # new subscribers are still deciding
        return (0.0004 + min(hazard, 0.2)) * self.knobs.hazard_scale[account.plan]

    def react_to_message(self, p: int, campaign: str, message_id: str, channel: str, at_ms: int) -> bool:
        """A message the product sent (the twin loop reads the runner's outbox): delivered, opened, clicked or
        unsubscribed from, with the simulator's own rates; a click lifts the household's engagement by the
        knobs' `message_lift` (the known effect a what-if can recover). The runner lands `message_sent`."""
        pop, buf = self.population, self.buffer
        a = int(pop.profile_account[p])
        if a not in self.state or not self.state[a].alive:
            return False
        env, zone = self.server_envelope(a, p), buf.zone(None)
        props = f'{{"campaign_id":"{campaign}","message_id":"{message_id}","channel":"{channel}"}}'
        if not self._message_outcome(a, at_ms, zone, env, props, channel):
            return False
        lift = self.knobs.message_lift
        self.latent[a] = min(2.0, self.latent[a] + lift.get(campaign, lift.get("*", 0.0)))
        return True

    def message(self, a: int, p: int, day: int, campaign: str, channel: str) -> bool:
        """A lifecycle message and what became of it; True when clicked."""
        rand, buf = self.rand, self.buffer
        env, zone = self.server_envelope(a, p), self.buffer.zone(None)
        t = self.local_ms(a, day, rand.uniform(10, 18) * 3600)
        props = f'{{"campaign_id":"{campaign}","message_id":"msg-{campaign}-{day}-{self.population.profile_ids[p]}",' \
                f'"channel":"{channel}"}}'
        buf.add(t, zone, "message_sent", env, props)
        return self._message_outcome(a, t, zone, env, props, channel)

    def _message_outcome(self, a: int, sent_ms: int, zone, env, props: str, channel: str) -> bool:
        """What became of a message sent at `sent_ms` (delivered, unsubscribed from, opened, clicked), with
        the simulator's rates, for its own messages and the product's alike; True when clicked."""
        rand, buf = self.rand, self.buffer
        if rand.random() < 0.04:
            return False
        t = sent_ms + rand.randint(1_000, 120_000)
        buf.add(t, zone, "message_delivered", env, props)
        if rand.random() < 0.006:
            buf.add(t + rand.randint(60_000, 7_200_000), zone, "message_unsubscribed", env, props)
            self.state[a].consent[channel] = False
            return False
        if rand.random() >= 0.15 + 0.3 * _sigmoid(self.latent[a]):
            return False
        t += rand.randint(60_000, 14_400_000)
        buf.add(t, zone, "message_opened", env, props)
        if rand.random() >= 0.3:
            return False
        buf.add(t + rand.randint(2_000, 60_000), zone, "message_clicked", env, props)
        return True
