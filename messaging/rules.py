"""The decision: who gets which campaign, when and on which channel — a pure function of
(profile state, campaign, clock, the profile's message history, policy). Tests replay it; the runner and
the vectorised benchmark path are checked against it.

Order (docs/messaging.md "Rules"): global control group → consent and contact (channel choice) → send
time (send-time optimization, then quiet hours) → per-campaign rolling cap → daily cap in the profile's
local calendar day → per-campaign holdout → send now or hold until the send time.
Holdout is drawn after eligibility and caps, so the holdout is comparable to the treated group.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from messaging.campaigns import Campaign

DEFAULT_TIMEZONE = "UTC"  # a profile without a (valid) time zone is treated as UTC (documented)
BUCKETS = 10_000


@dataclass(frozen=True)
class Policy:
    daily_cap: int = 2
    control_percent: float = 5.0
    default_consent: frozenset[str] = frozenset({"in_app"})
    population_hour: int = 20  # the population's most common viewing hour (local), the send-time fallback


@dataclass(frozen=True)
class ProfileState:
    profile_id: str
    timezone: str | None = None
    consent: Mapping[str, bool | None] = field(default_factory=dict)  # channel or purpose -> granted, None: no record
    contacts: frozenset[str] = frozenset()  # channels with a deliverable (not suppressed) address
    preferred_hour: int | None = None  # local hour the profile usually starts watching
    opens: Mapping[str, int] = field(default_factory=dict)  # channel -> messages opened
    sends: Mapping[str, int] = field(default_factory=dict)  # channel -> messages sent


@dataclass(frozen=True)
class PastMessage:
    campaign_id: str
    send_at: datetime


@dataclass(frozen=True)
class Decision:
    outcome: str  # send | held | holdout | control | suppressed
    reason: str = ""
    channel: str | None = None
    send_at: datetime | None = None

    @property
    def claims(self) -> bool:
        """Whether the decision is recorded in the ledger (suppressions are only counted)."""
        return self.outcome != "suppressed"

    @property
    def counts_toward_caps(self) -> bool:
        return self.outcome in ("send", "held")


def bucket(*parts: str) -> int:
    """A stable bucket in [0, 10000) from the parts (same input, same bucket, on every machine)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def in_control_group(profile_id: str, percent: float) -> bool:
    return bucket("control", profile_id) < percent * BUCKETS / 100


def in_holdout(campaign_id: str, profile_id: str, percent: float) -> bool:
    return bucket("holdout", campaign_id, profile_id) < percent * BUCKETS / 100


@lru_cache(maxsize=1024)
def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def allowed(profile: ProfileState, name: str, policy: Policy) -> bool:
    """Consent for a channel or purpose: the latest record, else the documented default."""
    granted = profile.consent.get(name)
    return name in policy.default_consent if granted is None else bool(granted)


def choose_channel(profile: ProfileState, campaign: Campaign, policy: Policy) -> tuple[str | None, str]:
    """The channel to use, or (None, reason). `best` ranks consented, reachable channels by the profile's
    own open rate (smoothed: (opens + 1) / (sends + 2)), ties broken by the campaign's order."""
    consented = [c for c in campaign.candidate_channels if allowed(profile, c, policy)]
    if not consented:
        return None, "no_consent"
    reachable = [c for c in consented if c == "in_app" or c in profile.contacts]
    if not reachable:
        return None, "no_contact"
    if len(reachable) == 1:
        return reachable[0], ""
    order = {c: i for i, c in enumerate(campaign.candidate_channels)}
    rate = {c: (profile.opens.get(c, 0) + 1) / (profile.sends.get(c, 0) + 2) for c in reachable}
    return min(reachable, key=lambda c: (-rate[c], order[c])), ""


def local_moment(day, at_time: time, tz: ZoneInfo) -> datetime:
    """`day` at `at_time` in `tz` as an aware UTC instant. A wall time skipped by a spring-forward
    gap moves forward by the gap (02:30 → 03:30); an ambiguous one takes its first occurrence."""
    naive = datetime.combine(day, at_time)
    first = naive.replace(tzinfo=tz, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != naive:  # inside a gap: fold=1 uses the offset after it
        instant = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
        instant = max(instant, first.astimezone(UTC))
    return instant


def send_moment(profile: ProfileState, campaign: Campaign, due: datetime, policy: Policy) -> datetime:
    """When to send a message that is due at `due`: the profile's usual hour (optimal send time), then
    moved out of quiet hours to the next allowed local moment. Never earlier than `due`."""
    tz = zone(profile.timezone)
    moment = due
    if campaign.send_time == "optimal":
        hour = profile.preferred_hour if profile.preferred_hour is not None else policy.population_hour
        local = due.astimezone(tz)
        candidate = local_moment(local.date(), time(hour % 24), tz)
        if candidate < due:
            candidate = local_moment(local.date() + timedelta(days=1), time(hour % 24), tz)
        moment = candidate
    quiet = campaign.quiet_hours
    if quiet is not None and quiet.contains(moment.astimezone(tz).time()):
        local = moment.astimezone(tz)
        end_day = local.date() if local.time() < quiet.end else local.date() + timedelta(days=1)
        moment = local_moment(end_day, quiet.end, tz)
    return moment


def decide(profile: ProfileState, campaign: Campaign, due: datetime, history: Sequence[PastMessage],
           policy: Policy, now: datetime | None = None) -> Decision:
    """The decision for one profile and one campaign whose message is due at `due` (the run time for a
    scheduled campaign, trigger time + delay for an event). `history` holds the profile's messages that
    count toward caps (sent or held), including those decided earlier in the same run. `now` (default
    `due`) separates sending now from holding. This is the reference; `Decider` must agree with it."""
    if in_control_group(profile.profile_id, policy.control_percent):
        return Decision("control", "global_control")
    decision = eligibility(profile, campaign, due, history, policy, now or due)
    if decision.outcome != "suppressed" and in_holdout(campaign.id, profile.profile_id, campaign.holdout_percent):
        return Decision("holdout", "campaign_holdout", decision.channel, decision.send_at)
    return decision


def eligibility(profile: ProfileState, campaign: Campaign, due: datetime, history: Sequence[PastMessage],
                policy: Policy, now: datetime) -> Decision:
    """Everything but the two random draws: channel and consent, send time, caps; send or held."""
    channel, reason = choose_channel(profile, campaign, policy)
    if channel is None:
        return Decision("suppressed", reason)
    send_at = send_moment(profile, campaign, due, policy)
    cap = campaign.frequency_cap
    if cap is not None:
        window_start = send_at - timedelta(days=cap.days)
        recent = sum(1 for m in history if m.campaign_id == campaign.id and window_start < m.send_at <= send_at)
        if recent >= cap.max_messages:
            return Decision("suppressed", "campaign_cap", channel, send_at)
    tz = zone(profile.timezone)
    day = send_at.astimezone(tz).date()
    if sum(1 for m in history if m.send_at.astimezone(tz).date() == day) >= policy.daily_cap:
        return Decision("suppressed", "daily_cap", channel, send_at)
    if send_at <= now:
        return Decision("send", "", channel, send_at)
    return Decision("held", "quiet_hours" if _quiet(campaign, profile, due) else "send_time", channel, send_at)


class Decider:
    """`decide` for one campaign and due time over many profiles. For a profile without cap history, the
    decision depends on the profile only through its time zone, viewing hour, consent, reachable channels and
    channel engagement (plus the two hash draws), so `eligibility` is computed once per distinct combination
    and reused: a scheduled run over a million profiles evaluates it a few thousand times. Profiles with
    history take the reference path. tests/test_messaging_rules.py checks it equals `decide`."""

    def __init__(self, campaign: Campaign, due: datetime, policy: Policy, now: datetime | None = None):
        self.campaign, self.due, self.policy, self.now = campaign, due, policy, now or due
        self._by_class: dict[tuple, Decision] = {}

    def __call__(self, profile: ProfileState, history: Sequence[PastMessage] = ()) -> Decision:
        if history:
            return decide(profile, self.campaign, self.due, history, self.policy, self.now)
        if in_control_group(profile.profile_id, self.policy.control_percent):
            return Decision("control", "global_control")
        key = (profile.timezone, profile.preferred_hour, tuple(sorted(profile.consent.items())), profile.contacts,
               tuple(sorted(profile.opens.items())), tuple(sorted(profile.sends.items())))
        decision = self._by_class.get(key)
        if decision is None:
            decision = self._by_class[key] = eligibility(profile, self.campaign, self.due, (), self.policy, self.now)
        if decision.outcome != "suppressed" and in_holdout(self.campaign.id, profile.profile_id,
                                                           self.campaign.holdout_percent):
            return Decision("holdout", "campaign_holdout", decision.channel, decision.send_at)
        return decision


def _quiet(campaign: Campaign, profile: ProfileState, due: datetime) -> bool:
    quiet = campaign.quiet_hours
    return quiet is not None and quiet.contains(due.astimezone(zone(profile.timezone)).time())


def period_key(campaign: Campaign, at: datetime) -> str:
    """The period a scheduled message belongs to (UTC calendar): once, a day, an ISO week or a month."""
    at = at.astimezone(UTC)
    if campaign.period == "once":
        return "once"
    if campaign.period == "day":
        return at.strftime("%Y-%m-%d")
    if campaign.period == "week":
        year, week, _ = at.isocalendar()
        return f"{year}-W{week:02d}"
    return at.strftime("%Y-%m")


def message_id(campaign_id: str, profile_id: str, period: str) -> str:
    """Deterministic message id of (campaign, profile, period): the ledger key claimed before any send.
    For event-triggered messages the period is the trigger's subject (a title or episode)."""
    digest = hashlib.sha256(f"{campaign_id}\x1f{profile_id}\x1f{period}".encode()).hexdigest()
    return f"m_{digest[:32]}"
