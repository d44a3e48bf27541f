"""Continues a simulation from the product's own outbox: profiles react to the messages the campaign runner
decided, with an effect size this module knows, so a test can check that `campaign_performance` recovers it.

Input: the runner's ledger snapshot in the lake (`<lake>/messaging/ledger.parquet`: treated, holdout and
control rows) and the warehouse's `messaging_profiles` (each profile's real latest device and context).
Output: contract events in the lake (source `simulator`) over the 35 days after each message:
- a sent message is delivered, opened, clicked or unsubscribed from with the `MessageReaction` rates;
- every profile comes back to watch (1–3 plays of an available title, within 30 days of the message's
  reference time) with probability `base_return`, plus `uplift` when it was messaged — the known effect;
- about half of the profiles open the app between day 31 and 35, so the warehouse's data reaches past
  every message's 30-day window (the window is then "mature") without inventing plays.
Every draw is seeded by (seed, message id): the same outbox always gives the same reaction.
"""
from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from streamloop.core.lake import Lake, new_batch_id

SOURCE = "simulator"


@dataclass(frozen=True)
class MessageReaction:
    base_return: float = 0.35  # P(plays within 30 days) without a message
    uplift: float = 0.15  # added to it by a sent message: the effect campaign_performance must recover
    delivered: float = 0.97
    opened: float = 0.35  # of delivered
    clicked: float = 0.30  # of opened
    unsubscribed: float = 0.01  # of delivered
    seed: int = 11


@dataclass
class ReactionSummary:
    messages: int
    events: Counter

    def render(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.events.items()))
        return f"reacted to {self.messages} messages: {kinds}"


def react_to_messages(lake_root: str, warehouse_path: Path, reaction: MessageReaction = MessageReaction()
                      ) -> ReactionSummary:
    lake = Lake(lake_root)
    ledger_file = f"{lake.root}/messaging/ledger.parquet"
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        messages = con.execute(
            f"select message_id, campaign_id, profile_id, grp, channel, status, coalesce(sent_at, send_at) "
            f"from read_parquet('{ledger_file}') where status in ('sent', 'delivered', 'holdout', 'control') "
            f"order by message_id").fetchall()
        profiles = {r[0]: r[1:] for r in con.execute(
            "select profile_id, account_id, device_id, country, device_type, app_version, os, timezone "
            "from messaging_profiles where device_id is not null").fetchall()}
        titles = con.execute("select title_id, runtime_s from titles where kind in ('movie', 'episode') "
                             "and runtime_s > 0 and list_contains(available_countries, '*') order by title_id"
                             ).fetchall()
    if not titles:
        raise ValueError("the warehouse has no titles available everywhere to react with")
    events: list[dict] = []
    for message_id, campaign_id, profile_id, grp, channel, status, reference in messages:
        if profile_id not in profiles:
            continue
        rng = random.Random(f"{reaction.seed}:{message_id}")
        at = datetime.fromisoformat(reference).astimezone(UTC)
        envelope = _envelope(profile_id, profiles[profile_id])
        treated = grp == "treated"
        if treated:
            events += _funnel(rng, envelope, at, reaction, {"campaign_id": campaign_id, "message_id": message_id,
                                                            "channel": channel})
        if rng.random() < reaction.base_return + (reaction.uplift if treated else 0.0):
            start = at + timedelta(seconds=rng.uniform(3600, 29 * 86400))
            for _ in range(rng.randint(1, 3)):
                title_id, runtime = titles[rng.randrange(len(titles))]
                events.append(_event(envelope, "play_start", start, {"title_id": title_id, "position_s": 0,
                                                                     "duration_s": runtime}))
                start += timedelta(seconds=runtime)
                events.append(_event(envelope, "play_complete", start, {"title_id": title_id,
                                                                        "position_s": runtime}))
                start += timedelta(seconds=rng.uniform(60, 3600))
        if rng.random() < 0.5:
            events.append(_event(envelope, "app_open", at + timedelta(days=rng.uniform(31, 35)), {}))
    for i, event in enumerate(events):
        event["event_id"] = f"reaction-{reaction.seed}-{i}-{event['event_type']}-{event['profile_id']}"
    if events:
        lake.write_records("events", [json.dumps(e) for e in events], SOURCE,
                           batch_id=new_batch_id("message-reaction", str(reaction.seed), ledger_file))
    return ReactionSummary(len(messages), Counter(e["event_type"] for e in events))


def _funnel(rng: random.Random, envelope: dict, at: datetime, reaction: MessageReaction, props: dict) -> list[dict]:
    out = []
    if rng.random() >= reaction.delivered:
        return out
    at += timedelta(seconds=rng.uniform(1, 120))
    out.append(_event(envelope, "message_delivered", at, props))
    if rng.random() < reaction.unsubscribed:
        out.append(_event(envelope, "message_unsubscribed", at + timedelta(minutes=rng.uniform(1, 120)), props))
        return out
    if rng.random() < reaction.opened:
        at += timedelta(minutes=rng.uniform(1, 240))
        out.append(_event(envelope, "message_opened", at, props))
        if rng.random() < reaction.clicked:
            out.append(_event(envelope, "message_clicked", at + timedelta(seconds=rng.uniform(2, 60)), props))
    return out


def _envelope(profile_id: str, profile: tuple) -> dict:
    account_id, device_id, country, device_type, app_version, os_name, timezone = profile
    return {"device_id": device_id, "profile_id": profile_id, "account_id": account_id,
            "context": {"country": country, "device_type": device_type, "app_version": app_version,
                        "os": os_name, "timezone": timezone}}


def _event(envelope: dict, event_type: str, at: datetime, properties: dict) -> dict:
    return {"event_id": "", "event_type": event_type,
            "occurred_at": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            **envelope, "properties": dict(properties), "schema_version": 1}
