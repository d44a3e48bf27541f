"""The runner on a real DuckDB warehouse and a real SQLite ledger: exactly once under repeated, crashed and
concurrent runs; dry runs write nothing; priorities win capped slots; held messages go out when due; event
triggers with exit conditions; message events land in the lake as valid contract events."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from support.messaging import AT, campaign, not_in_control, profile_row, runner, write_warehouse

from messaging import rules
from messaging.ledger import Ledger
from messaging.triggers import TriggerIndex, TriggerQueue
from streamloop.core.lake import Lake

REPO = Path(__file__).resolve().parents[1]


def outbox_rows(tmp_path, table="inbox"):
    with sqlite3.connect(tmp_path / "outbox.sqlite") as con:
        return con.execute(f"select message_id, profile_id from {table} order by 1").fetchall()


def statuses(tmp_path):
    with sqlite3.connect(tmp_path / "outbox.sqlite") as con:
        return dict(con.execute("select status, count(*) from messages group by 1").fetchall())


def test_repeated_run_sends_once(tmp_path):
    ids = not_in_control(30)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    c = campaign(holdout_percent=10)
    first = runner(tmp_path, [c]).run(AT)
    result = first.campaigns[0]
    holdouts = sum(rules.in_holdout(c.id, p, 10) for p in ids)
    assert (result.audience, result.sent, result.suppressed.get("campaign_holdout", 0)) == (30, 30 - holdouts,
                                                                                           holdouts)
    again = runner(tmp_path, [c]).run(AT + timedelta(hours=2))  # same ISO week: same period
    assert again.campaigns[0].sent == 0 and again.campaigns[0].suppressed["already_claimed"] == 30
    assert len(outbox_rows(tmp_path)) == 30 - holdouts
    assert statuses(tmp_path) == {"sent": 30 - holdouts, "holdout": holdouts}


def test_every_due_message_goes_out_whatever_the_page_and_batch_sizes(tmp_path):
    ids = not_in_control(30)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    summary = runner(tmp_path, [campaign()], page_size=7, local_batch=4).run(AT)
    assert summary.campaigns[0].sent == 30 and len(outbox_rows(tmp_path)) == 30


def test_dry_run_writes_nothing(tmp_path):
    ids = not_in_control(10)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    lake = Lake(tmp_path / "lake")
    dry = runner(tmp_path, [campaign()], lake=lake).run(AT, dry_run=True)
    assert dry.campaigns[0].sent == 10 and dry.dry_run
    assert not (tmp_path / "outbox.sqlite").exists() and not (tmp_path / "lake").exists()
    # with an existing ledger, a dry run leaves its bytes untouched and still sees what was claimed
    runner(tmp_path, [campaign()], lake=lake).run(AT)
    def files():  # SQLite's shared-memory index (-shm/-wal) appears for any reader of a WAL file: not data
        return {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and not p.name.endswith(("-shm", "-wal"))}
    before = files()
    again = runner(tmp_path, [campaign()], lake=lake).run(AT, dry_run=True)
    assert again.campaigns[0].sent == 0 and again.campaigns[0].suppressed["already_claimed"] == 10
    assert files() == before


def test_priority_decides_who_wins_the_capped_slot(tmp_path):
    ids = not_in_control(5)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    high = campaign(id="high_priority", priority=90)
    low = campaign(id="low_priority", priority=10)
    policy = rules.Policy(daily_cap=1, control_percent=1.0)
    summary = runner(tmp_path, [low, high], policy=policy).run(AT)
    by_id = {c.campaign_id: c for c in summary.campaigns}
    assert by_id["high_priority"].sent == 5
    assert by_id["low_priority"].sent == 0 and by_id["low_priority"].suppressed["daily_cap"] == 5


def test_held_messages_go_out_when_due_and_not_before(tmp_path):
    ids = not_in_control(4)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p, timezone="Europe/Berlin") for p in ids])
    c = campaign(quiet_hours={"start": "21:00", "end": "09:00"})
    night = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # 23:00 in Berlin
    first = runner(tmp_path, [c]).run(night)
    assert (first.campaigns[0].sent, first.campaigns[0].held) == (0, 4)
    assert outbox_rows(tmp_path) == []
    early = runner(tmp_path, [c]).run(datetime(2026, 3, 3, 7, 59, tzinfo=UTC))  # 08:59 Berlin
    assert early.campaigns[0].sent == 0
    morning = runner(tmp_path, [c]).run(datetime(2026, 3, 3, 8, 0, tzinfo=UTC))  # 09:00 Berlin
    assert morning.campaigns[0].sent == 4 and len(outbox_rows(tmp_path)) == 4


def test_consent_from_the_store_overrides_the_mart(tmp_path):
    from messaging.contacts import record_contact, set_consent

    ids = not_in_control(3)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    ledger = Ledger(tmp_path / "outbox.sqlite")
    for p in ids:
        record_contact(ledger, p, "email", f"{p}@example.com", AT, "secret")
    set_consent(ledger, ids[0], "email", False, AT)  # unsubscribed after the last build
    ledger.close()
    summary = runner(tmp_path, [campaign(channel="email")]).run(AT)
    assert summary.campaigns[0].sent == 2 and summary.campaigns[0].suppressed["no_consent"] == 1
    with sqlite3.connect(tmp_path / "outbox.sqlite") as con:
        rows = con.execute("select profile_id, address, headers from outbox order by 1").fetchall()
    assert [r[0] for r in rows] == sorted(ids[1:])
    assert all(r[1] == f"{r[0]}@example.com" for r in rows)
    headers = json.loads(rows[0][2])
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<http://localhost:8000/v1/unsubscribe/")


def test_message_events_land_in_the_lake_with_real_context(tmp_path):
    from streamloop.core.contract import validate_event

    ids = not_in_control(3)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p, country="DE", device_type="mobile",
                                                                timezone="Europe/Berlin") for p in ids])
    lake = Lake(tmp_path / "lake")
    summary = runner(tmp_path, [campaign()], lake=lake).run(AT)
    assert summary.exported_events == 3
    events = [json.loads(r[0]) for r in duckdb.sql(f"select raw from read_parquet('{lake.glob('events')}')").fetchall()]
    assert sorted(e["profile_id"] for e in events) == sorted(ids)
    for e in events:
        assert validate_event(e, received_at=AT) == []
        assert e["event_type"] == "message_sent" and e["device_id"] == f"d_{e['profile_id']}"
        assert e["context"] == {"country": "DE", "device_type": "mobile", "app_version": "5.1.0", "os": "tvos",
                                "timezone": "Europe/Berlin"}
    ledger_rows = duckdb.sql(f"select count(*) from read_parquet('{tmp_path}/lake/messaging/ledger.parquet')")
    assert ledger_rows.fetchall()[0][0] == 3


def test_a_campaign_whose_audience_names_a_missing_column_is_rejected_while_others_run(tmp_path):
    from messaging.audience import audience_columns
    from messaging.campaigns import load_campaigns

    directory = tmp_path / "campaigns"
    directory.mkdir()
    good = (REPO / "campaigns" / "reengage_lapsed.yml").read_text()
    (directory / "good.yml").write_text(good)
    (directory / "bad_column.yml").write_text(good.replace("reengage_lapsed", "bad_column").replace(
        "days_since_last_play >= 14", "days_since_last_plya >= 14"))
    (directory / "bad_field.yml").write_text(good.replace("reengage_lapsed", "bad_field").replace(
        "holdout_percent: 10", "holdout_percent: 80"))
    (directory / "bad_yaml.yml").write_text("id: [unclosed\n")
    result = load_campaigns(directory, audience_columns())
    assert [c.id for c in result.campaigns] == ["reengage_lapsed"]
    errors = {e.file: (e.field, e.reason) for e in result.errors}
    assert errors["bad_column.yml"] == ("audience", "column 'days_since_last_plya' is not in messaging_profiles")
    assert errors["bad_field.yml"][0] == "holdout_percent" and "50" in errors["bad_field.yml"][1]
    assert errors["bad_yaml.yml"][0] == "(file)"


def test_event_trigger_with_delay_and_exit_condition(tmp_path):
    finish = campaign(id="finish_test", trigger={"event": "play_stop", "delay_minutes": 1440,
                                                 "exit_events": ["play_start", "play_complete"]},
                      audience="true", send_time="immediate")
    resumed, abandoned = not_in_control(2)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(resumed), profile_row(abandoned)])
    ledger = Ledger(tmp_path / "outbox.sqlite")
    index = TriggerIndex([finish])
    t0 = AT - timedelta(days=2)

    def ev(kind, pid, title, at):
        return {"event_type": kind, "profile_id": pid, "properties": {"title_id": title},
                "occurred_at": at.isoformat()}
    queue = TriggerQueue(ledger)
    assert index.on_events([ev("play_stop", resumed, "t1", t0), ev("play_stop", abandoned, "t1", t0),
                            ev("play_stop", abandoned, "t2", t0), ev("app_open", abandoned, "t9", t0)], queue) == (3, 0)
    assert index.on_events([ev("play_start", resumed, "t1", t0 + timedelta(hours=3))], queue) == (0, 1)
    ledger.close()
    not_yet = runner(tmp_path, [finish]).run(t0 + timedelta(hours=23))
    assert not_yet.campaigns[0].sent == 0
    preview = runner(tmp_path, [finish]).run(AT, dry_run=True)  # reads the queue, takes nothing
    assert preview.campaigns[0].sent == 2
    summary = runner(tmp_path, [finish]).run(AT)
    assert summary.campaigns[0].sent == 2  # abandoned: t1 and t2 (two subjects, two messages); resumed: none
    assert sorted(outbox_rows(tmp_path)) == sorted(
        (rules.message_id("finish_test", abandoned, t), abandoned) for t in ("t1", "t2"))
    # the same subject stopping again later is still one message per subject
    ledger = Ledger(tmp_path / "outbox.sqlite")
    index.on_events([ev("play_stop", abandoned, "t1", AT)], TriggerQueue(ledger))
    ledger.close()
    assert runner(tmp_path, [finish]).run(AT + timedelta(days=2)).campaigns[0].sent == 0


_CHILD = textwrap.dedent("""
    import os, sys
    from datetime import datetime
    sys.path[:0] = [{tests!r}, {repo!r}]
    from support.messaging import campaign, runner
    from pathlib import Path
    crash_after = int(sys.argv[2])
    count = [0]
    def maybe_crash():
        count[0] += 1
        if count[0] == crash_after:
            os._exit(3)  # killed mid-run: no cleanup, no finally blocks
    r = runner(Path(sys.argv[1]), [campaign()], fail_after=maybe_crash if crash_after else None, local_batch=10)
    r.run(datetime.fromisoformat(sys.argv[3]))
""")


def _child(tmp_path, crash_after: int, at: datetime) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(tests=str(REPO / "tests"), repo=str(REPO)))
    return subprocess.Popen([sys.executable, str(script), str(tmp_path), str(crash_after), at.isoformat()])


def test_crash_mid_run_then_rerun_loses_nothing_and_sends_nothing_twice(tmp_path):
    ids = not_in_control(40)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    crashed = _child(tmp_path, 15, AT)
    assert crashed.wait(timeout=120) == 3
    # killed inside its second batch of 10: the first batch committed, the second rolled back entirely
    assert len(outbox_rows(tmp_path)) == 10
    assert statuses(tmp_path) == {"sent": 10, "queued": 30}
    # the dead runner's claims are leased; once the lease has expired, the next run takes them over
    with sqlite3.connect(tmp_path / "outbox.sqlite") as con:
        con.execute("update messages set lease_until = 0 where status = 'queued'")
    summary = runner(tmp_path, [campaign()]).run(AT + timedelta(minutes=10))
    assert summary.campaigns[0].sent == 30 and summary.campaigns[0].suppressed["already_claimed"] == 40
    assert sorted(p for _, p in outbox_rows(tmp_path)) == sorted(ids)
    assert statuses(tmp_path) == {"sent": 40}


def test_crash_during_an_external_provider_call_is_never_resent(tmp_path):
    from messaging.delivery import Delivery

    class Unknown(Delivery):
        calls = 0

        def deliver(self, message, con=None):
            Unknown.calls += 1

    ids = not_in_control(3)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    ledger = Ledger(tmp_path / "outbox.sqlite")
    r = runner(tmp_path, [campaign()], deliveries={"in_app": Unknown(), "email": Unknown(), "push": Unknown()})
    r.run(AT)
    assert Unknown.calls == 3
    # simulate a runner that died after marking one message sending (before the provider answered)
    with ledger.transaction() as con:
        con.execute("update messages set status = 'sending', lease_until = 0 where message_id = "
                    "(select min(message_id) from messages)")
    runner(tmp_path, [campaign()], deliveries={"in_app": Unknown()}).run(AT + timedelta(minutes=10))
    assert Unknown.calls == 3
    assert statuses(tmp_path) == {"sent": 2, "failed": 1}
    reason = ledger.count("select count(*) from messages where reason like 'delivery outcome unknown%'")
    assert reason == 1


def test_two_concurrent_runners_send_each_message_once(tmp_path):
    ids = not_in_control(300)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    children = [_child(tmp_path, 0, AT), _child(tmp_path, 0, AT)]
    assert [c.wait(timeout=180) for c in children] == [0, 0]
    rows = outbox_rows(tmp_path)
    assert len(rows) == 300 and len({m for m, _ in rows}) == 300
    assert statuses(tmp_path) == {"sent": 300}


def test_provider_failure_retries_then_records_failed_without_blocking_others(tmp_path):
    from messaging.delivery import Delivery, DeliveryError

    class Down(Delivery):
        def deliver(self, message, con=None):
            raise DeliveryError("ServiceUnavailable: SES is down (after 4 attempts)", retryable=True)

    ids = not_in_control(3)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    email = campaign(id="email_one", channel="push", priority=80)
    in_app = campaign(id="in_app_one", channel="in_app", priority=10)
    r = runner(tmp_path, [email, in_app], policy=rules.Policy(daily_cap=5, control_percent=1.0,
                                                              default_consent=frozenset({"in_app", "push"})),
               deliveries={"push": Down(), "in_app": __import__("messaging.delivery.in_app").delivery.in_app.InAppInbox()})
    from messaging.contacts import record_contact
    ledger = Ledger(tmp_path / "outbox.sqlite")
    for p in ids:
        record_contact(ledger, p, "push", f"token-{p}", AT, "secret")
    summary = r.run(AT)
    by_id = {c.campaign_id: c for c in summary.campaigns}
    assert by_id["email_one"].failed == 3 and by_id["in_app_one"].sent == 3
    assert ledger.count("select count(*) from messages where status = 'failed' and reason like 'ServiceUnavailable%'") == 3


@pytest.mark.parametrize("at, due", [(datetime(2026, 3, 2, 18, tzinfo=UTC), True),
                                     (datetime(2026, 3, 2, 16, tzinfo=UTC), False)])
def test_scheduled_campaign_runs_once_its_cron_ticked_in_the_period(at, due):
    from messaging.runner import scheduled_period

    weekly = campaign(trigger={"schedule": "0 17 * * 1"}, period="week")  # Mondays 17:00 UTC
    assert (scheduled_period(weekly, at) is not None) == due
    assert scheduled_period(weekly, datetime(2026, 3, 8, 23, tzinfo=UTC)) == "2026-W10"  # Sunday, same week
