"""The pure decision (messaging.rules): consent, caps, quiet hours across DST, control group, holdout."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from support.messaging import campaign

from messaging import rules
from messaging.rules import Decision, PastMessage, Policy, ProfileState, decide

POLICY = Policy(daily_cap=2, control_percent=1.0, default_consent=frozenset({"in_app"}), population_hour=20)


def profile(pid="p_rules", **kw) -> ProfileState:
    base = {"profile_id": pid, "timezone": "America/New_York", "consent": {"email": True, "push": True, "in_app": True},
                "contacts": frozenset({"email", "push"})}
    base.update(kw)
    return ProfileState(**base)


def treated_id(campaign_id="winback_test", percent=1.0):
    return next(f"p{i}" for i in range(10_000) if not rules.in_control_group(f"p{i}", percent)
                and not rules.in_holdout(campaign_id, f"p{i}", 10))


def test_consent_default_and_contact():
    # GIVEN a profile with no consent record for email, and email-only campaign
    email = campaign(channel="email")
    pid = treated_id()
    # THEN no record means no email (opt-in), a refusal is a refusal, and a grant without an address is no_contact
    assert decide(profile(pid, consent={}), email, datetime(2026, 3, 2, 15, tzinfo=UTC), [], POLICY).reason \
        == "no_consent"
    assert decide(profile(pid, consent={"email": False}), email, datetime(2026, 3, 2, 15, tzinfo=UTC), [],
                  POLICY).reason == "no_consent"
    assert decide(profile(pid, contacts=frozenset()), email, datetime(2026, 3, 2, 15, tzinfo=UTC), [],
                  POLICY).reason == "no_contact"
    # in-app needs no record by default
    in_app = campaign(channel="in_app")
    assert decide(profile(pid, consent={}), in_app, datetime(2026, 3, 2, 15, tzinfo=UTC), [], POLICY).outcome == "send"


def test_best_channel_follows_engagement_history():
    best = campaign(channel="best", channels=["email", "push"])
    pid = treated_id()
    at = datetime(2026, 3, 2, 15, tzinfo=UTC)
    assert decide(profile(pid), best, at, [], POLICY).channel == "email"  # tie: the campaign's order
    engaged_push = profile(pid, opens={"push": 8, "email": 0}, sends={"push": 10, "email": 10})
    assert decide(engaged_push, best, at, [], POLICY).channel == "push"
    no_push_consent = profile(pid, opens={"push": 8}, sends={"push": 10}, consent={"email": True, "push": False})
    assert decide(no_push_consent, best, at, [], POLICY).channel == "email"


def test_control_group_is_stable_and_sized():
    ids = [f"user{i}" for i in range(20_000)]
    members = {p for p in ids if rules.in_control_group(p, 5.0)}
    assert 0.045 < len(members) / len(ids) < 0.055
    assert members == {p for p in ids if rules.in_control_group(p, 5.0)}
    # a control profile is never messaged, by any campaign
    pid = next(iter(sorted(members)))
    for c in (campaign(), campaign(id="other_campaign", channel="email")):
        assert decide(profile(pid), c, datetime(2026, 3, 2, 15, tzinfo=UTC), [],
                      Policy(control_percent=5.0)).outcome == "control"


def test_holdout_is_per_campaign_and_recorded():
    c = campaign(holdout_percent=20)
    ids = [f"h{i}" for i in range(5000) if not rules.in_control_group(f"h{i}", 1.0)]
    outcomes = [decide(profile(p), c, datetime(2026, 3, 2, 15, tzinfo=UTC), [], POLICY).outcome for p in ids]
    share = outcomes.count("holdout") / len(ids)
    assert 0.18 < share < 0.22
    other = campaign(id="another_one", holdout_percent=20)
    held_here = {p for p, o in zip(ids, outcomes) if o == "holdout"}
    held_there = {p for p in ids if decide(profile(p), other, datetime(2026, 3, 2, 15, tzinfo=UTC), [],
                                           POLICY).outcome == "holdout"}
    assert held_here != held_there  # independent draws per campaign


def test_daily_cap_counts_the_local_calendar_day():
    pid = treated_id()
    c = campaign()
    tokyo = profile(pid, timezone="Asia/Tokyo")
    # two messages already on 2026-03-03 in Tokyo (one at 23:30 UTC on the 2nd = 08:30 on the 3rd)
    history = [PastMessage("a", datetime(2026, 3, 2, 23, 30, tzinfo=UTC)),
               PastMessage("b", datetime(2026, 3, 3, 2, 0, tzinfo=UTC))]
    assert decide(tokyo, c, datetime(2026, 3, 3, 5, tzinfo=UTC), history, POLICY).reason == "daily_cap"
    # the same UTC history does not fill New York's 2026-03-03 (it was the 2nd there for the first message)
    ny = profile(pid, timezone="America/New_York")
    assert decide(ny, c, datetime(2026, 3, 3, 18, tzinfo=UTC), history, POLICY).outcome == "send"


def test_campaign_cap_rolling_window_and_priority_is_first_come():
    pid = treated_id()
    capped = campaign(frequency_cap={"max_messages": 1, "days": 7})
    at = datetime(2026, 3, 10, 15, tzinfo=UTC)
    assert decide(profile(pid), capped, at, [PastMessage("winback_test", at - timedelta(days=6))],
                  POLICY).reason == "campaign_cap"
    assert decide(profile(pid), capped, at, [PastMessage("winback_test", at - timedelta(days=8))],
                  POLICY).outcome == "send"
    assert decide(profile(pid), capped, at, [PastMessage("other", at - timedelta(hours=1))], POLICY).outcome == "send"


@pytest.mark.parametrize("due, expected_local", [
    # spring forward in New York: 2026-03-08 02:00 → 03:00. 23:00 local on the 7th is held to 09:00 EDT on the 8th
    (datetime(2026, 3, 8, 4, 0, tzinfo=UTC), datetime(2026, 3, 8, 9, 0)),
    # fall back: 2026-11-01 02:00 → 01:00. 01:30 (first occurrence, EDT) is held to 09:00 EST
    (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 9, 0)),
    # outside quiet hours: sent at once
    (datetime(2026, 3, 8, 15, 0, tzinfo=UTC), datetime(2026, 3, 8, 11, 0)),
])
def test_quiet_hours_hold_to_the_next_allowed_local_moment_across_dst(due, expected_local):
    pid = treated_id()
    c = campaign(quiet_hours={"start": "21:00", "end": "09:00"})
    decision = decide(profile(pid), c, due, [], POLICY)
    local = decision.send_at.astimezone(rules.zone("America/New_York"))
    assert local.replace(tzinfo=None) == expected_local
    assert decision.outcome == ("send" if decision.send_at == due else "held")
    if decision.outcome == "held":
        assert decision.reason == "quiet_hours"


def test_quiet_hours_ending_inside_the_spring_forward_gap():
    # quiet hours end at 02:30, which does not exist on 2026-03-08 in New York: the moment is 03:30 EDT
    pid = treated_id()
    c = campaign(quiet_hours={"start": "22:00", "end": "02:30"})
    decision = decide(profile(pid), c, datetime(2026, 3, 8, 4, 0, tzinfo=UTC), [], POLICY)
    assert decision.send_at == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert not c.quiet_hours.contains(decision.send_at.astimezone(rules.zone("America/New_York")).time())


def test_daily_cap_across_the_fall_back_day_is_one_25_hour_day():
    pid = treated_id()
    c = campaign()
    ny = profile(pid)
    # 2026-11-01 is 25 hours long in New York: 04:00 UTC (00:00 EDT) to 05:00 UTC on the 2nd (00:00 EST)
    history = [PastMessage("a", datetime(2026, 11, 1, 4, 30, tzinfo=UTC)),
               PastMessage("b", datetime(2026, 11, 2, 4, 30, tzinfo=UTC))]  # 23:30 EST, still the 1st
    assert decide(ny, c, datetime(2026, 11, 2, 4, 45, tzinfo=UTC), history, POLICY).reason == "daily_cap"
    assert decide(ny, c, datetime(2026, 11, 2, 5, 30, tzinfo=UTC), history, POLICY).outcome == "send"


def test_send_time_optimization_uses_own_hour_else_population():
    pid = treated_id()
    c = campaign(send_time="optimal")
    at = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 07:00 in New York
    own = decide(profile(pid, preferred_hour=19), c, at, [], POLICY)
    assert own.outcome == "held" and own.reason == "send_time"
    assert own.send_at.astimezone(rules.zone("America/New_York")).time() == time(19, 0)
    fallback = decide(profile(pid), c, at, [], POLICY)
    assert fallback.send_at.astimezone(rules.zone("America/New_York")).time() == time(20, 0)


def test_missing_or_invalid_time_zone_is_utc():
    pid = treated_id()
    c = campaign(quiet_hours={"start": "21:00", "end": "09:00"})
    for tz in (None, "Not/AZone"):
        d = decide(profile(pid, timezone=tz), c, datetime(2026, 3, 2, 22, tzinfo=UTC), [], POLICY)
        assert d.send_at == datetime(2026, 3, 3, 9, tzinfo=UTC)


def test_message_id_is_deterministic_per_campaign_profile_period():
    c = campaign(period="week")
    monday, sunday = datetime(2026, 3, 2, 1, tzinfo=UTC), datetime(2026, 3, 8, 23, tzinfo=UTC)
    assert rules.period_key(c, monday) == rules.period_key(c, sunday) == "2026-W10"
    assert rules.message_id("c", "p", "2026-W10") == rules.message_id("c", "p", "2026-W10")
    assert rules.message_id("c", "p", "2026-W10") != rules.message_id("c", "p", "2026-W11")
    assert Decision("suppressed").claims is False


def test_the_class_memoized_decider_agrees_with_the_reference():
    import random

    from messaging.rules import Decider

    rng = random.Random(7)
    zones = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "Australia/Lord_Howe", None, "Bad/Zone"]
    campaigns = [campaign(channel="best", channels=["push", "email", "in_app"], send_time="optimal",
                          holdout_percent=15, quiet_hours={"start": "21:00", "end": "09:00"},
                          frequency_cap={"max_messages": 1, "days": 7}),
                 campaign(id="plain_email", channel="email", quiet_hours={"start": "22:00", "end": "02:30"})]
    # both DST transitions of New York and Berlin, and an ordinary day
    dues = [datetime(2026, 3, 8, 6, 30, tzinfo=UTC), datetime(2026, 11, 1, 5, 45, tzinfo=UTC),
            datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 6, 1, 12, 0, tzinfo=UTC)]
    policy = Policy(daily_cap=1, control_percent=5.0)
    compared = 0
    for c in campaigns:
        for due in dues:
            decider = Decider(c, due, policy)
            for i in range(600):
                tri = [True, False, None]
                state = ProfileState(
                    profile_id=f"x{i}", timezone=rng.choice(zones),
                    consent={ch: rng.choice(tri) for ch in ("email", "push", "in_app")},
                    contacts=frozenset(ch for ch in ("email", "push") if rng.random() < 0.6),
                    preferred_hour=rng.choice([None, 0, 2, 8, 19, 23]),
                    opens={"push": rng.randint(0, 3)}, sends={"push": rng.randint(0, 5), "email": rng.randint(0, 2)})
                history = [] if rng.random() < 0.7 else [PastMessage(rng.choice([c.id, "other"]),
                                                                     due - timedelta(hours=rng.randint(0, 200)))]
                assert decider(state, history) == decide(state, c, due, history, policy), (state, due, c.id)
                compared += 1
    assert compared == 4800 and len({d for d in decider._by_class}) < 600  # classes were reused
