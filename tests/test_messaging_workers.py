"""A campaign run split across worker processes by profile writes what one process writes."""
from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from support.messaging import AT, campaign, not_in_control, profile_row, runner, write_warehouse

from messaging import audience, rules
from messaging.triggers import TriggerIndex, TriggerQueue

ZONES = ["UTC", "America/New_York", "Asia/Tokyo", "Europe/Berlin", None]


def _campaigns():
    # two scheduled campaigns compete for a daily cap of 2 with an event campaign between them in priority,
    # so the low-priority one is capped for profiles the others reached; quiet hours hold some messages
    return [campaign(id="high", priority=80, audience="churn_risk >= 0.5", channel="best",
                     channels=["push", "email", "in_app"], holdout_percent=20,
                     quiet_hours={"start": "21:00", "end": "09:00"}),
            campaign(id="finish", priority=60, trigger={"event": "play_stop", "delay_minutes": 60},
                     audience="true", send_time="immediate"),
            campaign(id="low", priority=10, audience="true", channel="in_app", period="day",
                     quiet_hours={"start": "21:00", "end": "09:00"})]


def _setup(home: Path, ids: list[str]) -> None:
    write_warehouse(home / "warehouse.duckdb", [
        profile_row(p, timezone=ZONES[i % len(ZONES)], churn_risk=(i % 10) / 10,
                    consent_email=i % 3 == 0, consent_push=i % 2 == 0, preferred_hour_local=17 + i % 6)
        for i, p in enumerate(ids)])
    from messaging.ledger import Ledger

    ledger = Ledger(home / "outbox.sqlite")
    events = [{"event_type": "play_stop", "profile_id": p, "properties": {"title_id": "t1"},
               "occurred_at": (AT - timedelta(hours=3)).isoformat()} for p in ids[::3]]
    TriggerIndex(_campaigns()).on_events(events, TriggerQueue(ledger))
    ledger.close()


def _state(home: Path) -> dict:
    con = sqlite3.connect(home / "outbox.sqlite")
    try:
        return {
            "ledger": con.execute("select message_id, campaign_id, profile_id, period, status, grp, channel, reason, "
                                  "is_held, decided_at, send_at, sent_at, context from messages "
                                  "order by message_id").fetchall(),
            "local": con.execute("select message_id, channel, address, subject, body, headers from outbox union all "
                                 "select message_id, 'inbox', profile_id, subject, body, delivered_at from inbox "
                                 "order by 1").fetchall(),
            "events": con.execute("select event_id, body from message_events order by event_id").fetchall(),
            "triggers": con.execute("select trigger_id, status from triggers order by trigger_id").fetchall(),
        }
    finally:
        con.close()


def test_two_workers_write_the_same_ledger_as_one(tmp_path):
    ids = not_in_control(150)
    mine = audience.in_shard(duckdb.connect(), ids, (0, 2))
    assert 0 < len(mine) < len(ids)  # both workers get profiles
    one, two = tmp_path / "one", tmp_path / "two"
    policy = rules.Policy(daily_cap=2, control_percent=1.0, default_consent=frozenset({"in_app"}))
    for home in (one, two):
        _setup(home, ids)
    summaries = []
    for at in (AT, AT + timedelta(hours=16)):  # the second run delivers messages held for quiet hours
        single = runner(one, _campaigns(), policy=policy).run(at)
        split = runner(two, _campaigns(), policy=policy).run(at, workers=2)
        assert split.to_json() == single.to_json()
        assert _state(two) == _state(one)
        summaries.append(single)
    state = _state(one)
    statuses = {row[4] for row in state["ledger"]}
    assert {"sent", "holdout"} <= statuses
    by_campaign = {c: sum(1 for r in state["ledger"] if r[1] == c) for c in ("high", "finish", "low")}
    assert all(by_campaign.values())  # every campaign decided something, so caps and priority were exercised
    first = {c.campaign_id: c for c in summaries[0].campaigns}
    assert first["low"].suppressed["daily_cap"] > 0 and first["high"].held > 0
    assert sum(c.sent for c in summaries[1].campaigns) > 0
    assert {s for _, s in state["triggers"]} == {"done"}  # each trigger consumed by the worker owning its profile
    # a rerun of the same tick with two workers sends nothing again
    again = runner(two, _campaigns(), policy=policy).run(AT, workers=2)
    assert sum(c.sent for c in again.campaigns) == 0 and _state(two) == _state(one)


def test_workers_refuse_external_channels(tmp_path):
    from messaging.delivery import Delivery
    from messaging.delivery.in_app import InAppInbox

    class Provider(Delivery):
        def deliver(self, message, con=None):
            raise AssertionError("never reached")

    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row("p1")])
    r = runner(tmp_path, [campaign()], deliveries={"push": Provider(), "in_app": InAppInbox()})
    with pytest.raises(ValueError, match="push"):
        r.run(AT, workers=2)
    with pytest.raises(ValueError):
        r.run(AT, workers=0)


def test_cli_workers_flag_runs_the_shipped_campaigns_like_one_process(tmp_path, monkeypatch):
    # the whole wiring: settings, shipped campaigns, the SQLite online store each worker reopens after fork
    import json

    from click.testing import CliRunner

    from streamloop.cli import main
    from streamloop.core.settings import get_settings

    ids = not_in_control(60)
    outputs = {}
    for name, extra in (("one", []), ("two", ["--workers", "2"])):
        home = tmp_path / name
        _setup(home, ids)
        for var in ("STREAMLOOP_WAREHOUSE_PATH", "STREAMLOOP_OUTBOX_PATH", "STREAMLOOP_ONLINE_STORE_PATH",
                    "STREAMLOOP_LAKE_URI", "STREAMLOOP_ONLINE_STORE", "STREAMLOOP_MESSAGING_STORE",
                    "STREAMLOOP_SES_SENDER", "STREAMLOOP_SNS_PLATFORM_APPLICATION_ARN"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("STREAMLOOP_HOME", str(home))
        get_settings.cache_clear()
        result = CliRunner().invoke(main, ["campaigns", "run", "--at", AT.isoformat(), "--json", *extra])
        get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        outputs[name] = (json.loads(result.output), _state(home))
    assert outputs["two"] == outputs["one"]
    summary = outputs["one"][0]
    assert sum(c["sent"] + c["held"] for c in summary["campaigns"]) > 0


def _lake_events(lake) -> list[tuple]:
    import orjson

    tables = [lake.read_table(path) for path in lake.files("events")]
    bodies = [raw for t in tables if t is not None for raw in t.column("raw").to_pylist()]
    return sorted((orjson.loads(b)["event_id"], b) for b in bodies)


def test_workers_export_their_own_events_and_the_parent_what_was_left(tmp_path):
    """Each worker lands the events it committed; the parent lands events an earlier run left unexported.
    The lake then holds exactly what one process lands: every event once, none left pending."""
    from messaging.ledger import Ledger
    from streamloop.core.lake import Lake

    ids = not_in_control(120)
    one, two = tmp_path / "one", tmp_path / "two"
    policy = rules.Policy(daily_cap=2, control_percent=1.0, default_consent=frozenset({"in_app"}))
    leftover = {"event_id": "m-left:sent", "event_type": "message_sent", "occurred_at": "2026-01-01T00:00:00Z",
                "device_id": "d-left", "profile_id": "p-left", "account_id": None,
                "context": {"country": "US", "device_type": "tv", "app_version": "1", "os": "tizen",
                            "timezone": "UTC"},
                "properties": {"campaign_id": "high", "message_id": "m-left", "channel": "in_app"},
                "schema_version": 1}
    for home in (one, two):
        _setup(home, ids)
        ledger = Ledger(home / "outbox.sqlite")
        ledger.add_events([leftover])  # written by a run that died before its export
        ledger.close()
    single = runner(one, _campaigns(), policy=policy, lake=Lake(one / "lake")).run(AT)
    split = runner(two, _campaigns(), policy=policy, lake=Lake(two / "lake")).run(AT, workers=2)
    assert split.exported_events == single.exported_events > 1
    assert len(Lake(two / "lake").files("events")) == 3  # one file per worker, one from the parent
    events = _lake_events(Lake(two / "lake"))
    assert events == _lake_events(Lake(one / "lake"))
    assert len({e for e, _ in events}) == len(events) == split.exported_events and "m-left:sent" in dict(events)
    con = sqlite3.connect(two / "outbox.sqlite")
    assert con.execute("select count(*) from message_events where exported = 0").fetchone()[0] == 0
    con.close()
