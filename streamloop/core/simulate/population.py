"""The simulated population: households (accounts) with profiles, devices, plans and latent traits.

Latent traits the warehouse never sees directly but that shape behaviour: each profile's taste vector
(recommendations), its activity level, the account's engagement drift (some households fade, and
fading raises the churn hazard) and the reliability of its payment method (failed payments, lapses).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np

from streamloop.core.simulate.catalog import FACTORS, GENRES, KIDS_GENRES, Catalog


@dataclass(frozen=True)
class Country:
    code: str
    weight: float
    timezones: tuple[str, ...]
    currency: str  # prices are one list in cents; GB pays in GBP, DE in EUR, the rest in USD
    language: str


COUNTRIES = (
    Country("US", 0.40, ("America/New_York", "America/Chicago", "America/Los_Angeles"), "USD", "en-US"),
    Country("GB", 0.12, ("Europe/London",), "GBP", "en-GB"),
    Country("DE", 0.12, ("Europe/Berlin",), "EUR", "de-DE"),
    Country("BR", 0.14, ("America/Sao_Paulo",), "USD", "pt-BR"),
    Country("IN", 0.12, ("Asia/Kolkata",), "USD", "hi-IN"),
    Country("JP", 0.10, ("Asia/Tokyo",), "USD", "ja-JP"),
)
COUNTRY_CODES = tuple(c.code for c in COUNTRIES)
TIMEZONES = tuple(tz for c in COUNTRIES for tz in c.timezones)

PLANS = (("basic", 799), ("standard", 1299), ("premium", 1999))
TRIAL_DAYS = 7

_OS = {
    "tv": ("tvOS 17", "Android TV 12", "Tizen 7", "webOS 6"),
    "mobile": ("iOS 17.5", "iOS 18.1", "Android 14", "Android 13"),
    "web": ("Windows 11", "macOS 14", "ChromeOS 124"),
    "tablet": ("iPadOS 17", "Android 13"),
    "console": ("PlayStation 5", "Xbox Series"),
}
_APP_VERSIONS = ("5.12.0", "5.12.3", "5.13.1", "5.14.0", "4.9.8")
LEGACY_APP_VERSION = "4.9.8"  # old clients leave profile_id out of playback heartbeats (device_forward resolves them)


@dataclass
class Population:
    # accounts
    account_ids: list[str]
    account_country: np.ndarray     # index into COUNTRIES
    account_tz: np.ndarray          # index into TIMEZONES
    signup_day: np.ndarray          # relative to the window start; negative = subscribed before it
    is_trial: np.ndarray
    plan: np.ndarray                # index into PLANS
    payment_fail_p: np.ndarray
    engagement_drift: np.ndarray    # per-day drift of the household's latent engagement
    account_profiles: list[list[int]]
    account_devices: list[list[int]]
    # profiles
    profile_ids: list[str]
    profile_account: np.ndarray
    is_kids: np.ndarray
    maturity: np.ndarray            # index into MATURITY_RATINGS
    taste: np.ndarray               # (profiles, FACTORS)
    activity: np.ndarray            # logit of the daily probability of watching
    created_day: np.ndarray
    favourite_genre: np.ndarray
    # devices
    device_ids: list[str]
    device_account: np.ndarray
    device_type: list[str]
    device_owner: np.ndarray        # profile index for personal devices (mobile), -1 when shared
    device_context: list[str]       # the event's `context` object as JSON text
    device_uses_utc: np.ndarray     # the client writes occurred_at in UTC ("Z") rather than local offset
    device_is_legacy: np.ndarray


def build_population(profiles: int, days: int, catalog: Catalog, rng: np.random.Generator) -> Population:
    sizes: list[int] = []
    while sum(sizes) < profiles:
        sizes.append(int(rng.choice([1, 2, 3, 4, 5], p=[0.25, 0.30, 0.22, 0.15, 0.08])))
    sizes[-1] -= sum(sizes) - profiles
    n_accounts = len(sizes)

    country = rng.choice(len(COUNTRIES), size=n_accounts, p=[c.weight for c in COUNTRIES])
    tz_offset = np.cumsum([0] + [len(c.timezones) for c in COUNTRIES])[:-1]
    account_tz = np.array([tz_offset[c] + rng.integers(len(COUNTRIES[c].timezones)) for c in country])
    existing = rng.random(n_accounts) < 0.65
    signup_day = np.where(existing, -rng.integers(1, 400, size=n_accounts), rng.integers(0, days, size=n_accounts))
    is_trial = (~existing) & (rng.random(n_accounts) < 0.4)
    plan = rng.choice(len(PLANS), size=n_accounts, p=[0.35, 0.45, 0.20])
    payment_fail_p = np.where(rng.random(n_accounts) < 0.12, 0.35, 0.02)
    fading = rng.random(n_accounts) < 0.3
    engagement_drift = np.where(fading, rng.normal(-0.035, 0.012, n_accounts), rng.normal(0.0, 0.005, n_accounts))

    kids_genres = [GENRES.index(g) for g in KIDS_GENRES]
    profile_account, is_kids, maturity, created_day = [], [], [], []
    account_profiles: list[list[int]] = []
    for a, size in enumerate(sizes):
        first = len(profile_account)
        account_profiles.append(list(range(first, first + size)))
        for k in range(size):
            kid = k >= 2 and rng.random() < 0.45
            profile_account.append(a)
            is_kids.append(kid)
            maturity.append(int(rng.integers(0, 2)) if kid else 4)
            later = k > 0 and rng.random() < 0.2
            created_day.append(int(signup_day[a] + (rng.integers(1, 60) if later else 0)))
    n_profiles = len(profile_account)
    is_kids = np.array(is_kids)

    # taste: a mix of 1–3 liked genres (kids lean to kids genres), plus individual noise
    taste = rng.normal(scale=0.35, size=(n_profiles, FACTORS))
    favourite = np.empty(n_profiles, dtype=int)
    for p in range(n_profiles):
        liked = rng.choice(kids_genres, size=1) if is_kids[p] else rng.choice(len(GENRES), size=int(rng.integers(1, 4)),
                                                                               replace=False)
        favourite[p] = liked[0]
        taste[p] += catalog.genre_factors[liked].sum(axis=0)
    taste /= np.linalg.norm(taste, axis=1, keepdims=True)
    activity = rng.normal(-0.5, 0.9, n_profiles) + np.where(is_kids, -0.3, 0.0)

    profile_ids = [f"p{p:07d}" for p in range(n_profiles)]

    device_account, device_type, device_owner, contexts, uses_utc, legacy = [], [], [], [], [], []
    account_devices: list[list[int]] = []
    for a in range(n_accounts):
        kinds: list[tuple[str, int]] = []
        if rng.random() < 0.9:
            kinds.append(("tv", -1))
        for p in account_profiles[a]:
            if not is_kids[p] and rng.random() < 0.7:
                kinds.append(("mobile", p))
        for kind, share in (("web", 0.35), ("tablet", 0.25), ("console", 0.15)):
            if rng.random() < share:
                kinds.append((kind, -1))
        if all(owner >= 0 for _, owner in kinds):  # every profile needs a device it may use
            kinds.append(("web", -1))
        account_devices.append(list(range(len(device_account), len(device_account) + len(kinds))))
        tz = TIMEZONES[account_tz[a]]
        for kind, owner in kinds:
            os_name = _OS[kind][rng.integers(len(_OS[kind]))]
            app_version = _APP_VERSIONS[rng.integers(len(_APP_VERSIONS))]
            context = (f'{{"country":"{COUNTRIES[country[a]].code}","device_type":"{kind}",'
                       f'"app_version":"{app_version}","os":"{os_name}","timezone":"{tz}"')
            if kind == "web":
                context += (f',"ip":"203.0.113.{rng.integers(1, 255)}",'
                            f'"user_agent":"Mozilla/5.0 ({os_name}) streamloop-web/{app_version}"')
            device_account.append(a)
            device_type.append(kind)
            device_owner.append(owner)
            contexts.append(context + "}")
            uses_utc.append(kind == "web" or rng.random() < 0.15)
            legacy.append(app_version == LEGACY_APP_VERSION)

    return Population(
        account_ids=[f"a{a:06d}" for a in range(n_accounts)], account_country=country, account_tz=account_tz,
        signup_day=signup_day, is_trial=is_trial, plan=plan, payment_fail_p=payment_fail_p,
        engagement_drift=engagement_drift, account_profiles=account_profiles, account_devices=account_devices,
        profile_ids=profile_ids, profile_account=np.array(profile_account), is_kids=is_kids,
        maturity=np.array(maturity, dtype=np.int8), taste=taste, activity=activity,
        created_day=np.array(created_day), favourite_genre=favourite,
        device_ids=[f"d{d:07d}" for d in range(len(device_account))], device_account=np.array(device_account),
        device_type=device_type, device_owner=np.array(device_owner), device_context=contexts,
        device_uses_utc=np.array(uses_utc), device_is_legacy=np.array(legacy),
    )


@cache
def utc_offset_seconds(tz_index: int, day: date) -> int:
    """The timezone's UTC offset on that local day (taken at noon; DST switches happen at night)."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return int(noon.astimezone(ZoneInfo(TIMEZONES[tz_index])).utcoffset().total_seconds())


def offset_suffix(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def day_of(start: date, day: int) -> date:
    return start + timedelta(days=day)
