"""The runner on a real DuckDB warehouse and a real messaging state — the SQLite ledger and the DynamoDB table
(moto), through the `backend` fixture: exactly once under repeated, crashed and concurrent runs; dry runs write nothing; priorities win capped slots; held messages go out when due; event
triggers with exit conditions; message events land in the lake as valid contract events."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import duckdb
import pytest
from support.messaging import AT, campaign, not_in_control, profile_row, runner, write_warehouse

from messaging import rules
from messaging.triggers import TriggerIndex, TriggerQueue
from streamloop.core.lake import Lake

REPO = Path(__file__).resolve().parents[1]


def outbox_rows(tmp_path, table="inbox"):
    with sqlite3.connect(tmp_path / "outbox.sqlite") as con:
        return con.execute(f"select message_id, profile_id from {table} order by 1").fetchall()


def statuses(tmp_path):
    with sqlite3.connect(tmp_path / "outbox.sqlite") as con:
        return dict(con.execute("select status, count(*) from messages group by 1").fetchall())


def test_repeated_run_sends_once(tmp_path, backend):
    ids = not_in_control(30)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    c = campaign(holdout_percent=10)
    first = backend.runner([c]).run(AT)
    result = first.campaigns[0]
    holdouts = sum(rules.in_holdout(c.id, p, 10) for p in ids)
    assert (result.audience, result.sent, result.suppressed.get("campaign_holdout", 0)) == (30, 30 - holdouts,
                                                                                           holdouts)
    again = backend.runner([c]).run(AT + timedelta(hours=2))  # same ISO week: same period
    assert again.campaigns[0].sent == 0 and again.campaigns[0].suppressed["already_claimed"] == 30
    assert len(backend.records()) == 30 - holdouts
    assert backend.statuses() == {"sent": 30 - holdouts, "holdout": holdouts}


def test_every_due_message_goes_out_whatever_the_page_and_batch_sizes(tmp_path, backend):
    ids = not_in_control(30)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    summary = backend.runner([campaign()], page_size=7, local_batch=4).run(AT)
    assert summary.campaigns[0].sent == 30 and len(backend.records()) == 30


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


def test_held_messages_go_out_when_due_and_not_before(tmp_path, backend):
    ids = not_in_control(4)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p, timezone="Europe/Berlin") for p in ids])
    c = campaign(quiet_hours={"start": "21:00", "end": "09:00"})
    night = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # 23:00 in Berlin
    first = backend.runner([c]).run(night)
    assert (first.campaigns[0].sent, first.campaigns[0].held) == (0, 4)
    assert backend.records() == []
    early = backend.runner([c]).run(datetime(2026, 3, 3, 7, 59, tzinfo=UTC))  # 08:59 Berlin
    assert early.campaigns[0].sent == 0
    morning = backend.runner([c]).run(datetime(2026, 3, 3, 8, 0, tzinfo=UTC))  # 09:00 Berlin
    assert morning.campaigns[0].sent == 4 and len(backend.records()) == 4
    assert backend.runner([c]).run(datetime(2026, 3, 3, 9, 0, tzinfo=UTC)).campaigns[0].sent == 0


def test_delivery_sweeps_send_what_came_due_and_decide_nothing_new(tmp_path, backend):
    ids = not_in_control(4)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p, timezone="Europe/Berlin") for p in ids])
    c = campaign(quiet_hours={"start": "21:00", "end": "09:00"})
    backend.runner([c]).run(datetime(2026, 3, 2, 22, 0, tzinfo=UTC))  # 23:00 Berlin: all 4 held
    newcomers = [p for p in not_in_control(8) if p not in ids]
    assert newcomers
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids + newcomers])
    hours = [datetime(2026, 3, 3, h, 0, tzinfo=UTC) for h in range(5, 10)]  # 06:00 … 10:00 Berlin
    swept = backend.runner([c]).deliver(hours)
    assert swept.campaigns[0].sent == 4 and swept.at == hours[-1]
    assert backend.statuses() == {"sent": 4}, "the newcomers were not decided: only `run` decides"
    assert sorted(profile for _, profile in backend.records()) == sorted(ids)


def test_consent_from_the_store_overrides_the_mart(tmp_path, backend):
    from messaging.contacts import address_hash, record_contact, set_consent, suppress

    ids = not_in_control(4)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    ledger = backend.open()
    for p in ids:
        record_contact(ledger, p, "email", f"{p}@example.com", AT, "secret")
    record_contact(ledger, ids[1], "email", "stale@example.com", AT - timedelta(days=1), "secret")  # older: loses
    set_consent(ledger, ids[0], "email", False, AT)  # unsubscribed after the last build
    set_consent(ledger, ids[0], "email", True, AT - timedelta(hours=1))  # an older grant arriving late: ignored
    suppress(ledger, address_hash("secret", f"{ids[3]}@example.com"), "bounce", AT)  # hard bounce
    ledger.close()
    summary = backend.runner([campaign(channel="email")]).run(AT)
    assert summary.campaigns[0].sent == 2 and summary.campaigns[0].suppressed["no_consent"] == 1
    ledger = backend.open()
    rows = sorted((r["profile_id"], r["address"], r["headers"]) for r in ledger.local_records("outbox"))
    ledger.close()
    assert [r[0] for r in rows] == sorted(ids[1:3])
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


def test_event_trigger_with_delay_and_exit_condition(tmp_path, backend):
    finish = campaign(id="finish_test", trigger={"event": "play_stop", "delay_minutes": 1440,
                                                 "exit_events": ["play_start", "play_complete"]},
                      audience="true", send_time="immediate")
    resumed, abandoned = not_in_control(2)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(resumed), profile_row(abandoned)])
    ledger = backend.open()
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
    not_yet = backend.runner([finish]).run(t0 + timedelta(hours=23))
    assert not_yet.campaigns[0].sent == 0
    preview = backend.runner([finish]).run(AT, dry_run=True)  # reads the queue, takes nothing
    assert preview.campaigns[0].sent == 2
    summary = backend.runner([finish]).run(AT)
    assert summary.campaigns[0].sent == 2  # abandoned: t1 and t2 (two subjects, two messages); resumed: none
    assert backend.records() == sorted(
        (rules.message_id("finish_test", abandoned, t), abandoned) for t in ("t1", "t2"))
    # the same subject stopping again later is still one message per subject
    ledger = backend.open()
    index.on_events([ev("play_stop", abandoned, "t1", AT)], TriggerQueue(ledger))
    ledger.close()
    assert backend.runner([finish]).run(AT + timedelta(days=2)).campaigns[0].sent == 0


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


class Killed(BaseException):
    """An in-process stand-in for a kill (moto's table lives in this process): no handler catches it."""


def test_crash_mid_run_then_rerun_loses_nothing_and_sends_nothing_twice(tmp_path, backend):
    ids = not_in_control(40)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    if backend.name == "sqlite":  # a real kill of a child process
        crashed = _child(tmp_path, 15, AT)
        assert crashed.wait(timeout=120) == 3
    else:
        count = [0]

        def maybe_crash():
            count[0] += 1
            if count[0] == 15:
                raise Killed
        with pytest.raises(Killed):
            backend.runner([campaign()], fail_after=maybe_crash, local_batch=10).run(AT)
    # killed inside its second batch of 10: the first batch committed, the second not at all
    assert len(backend.records()) == 10
    assert backend.statuses() == {"sent": 10, "queued": 30}
    # a rerun while the dead runner's lease holds leaves its claims alone
    early = backend.runner([campaign()]).run(AT + timedelta(minutes=1))
    assert early.campaigns[0].sent == 0 and backend.statuses() == {"sent": 10, "queued": 30}
    # once the lease has expired, the next run takes them over
    backend.expire_leases()
    summary = backend.runner([campaign()]).run(AT + timedelta(minutes=10))
    assert summary.campaigns[0].sent == 30 and summary.campaigns[0].suppressed["already_claimed"] == 40
    assert sorted(p for _, p in backend.records()) == sorted(ids)
    assert backend.statuses() == {"sent": 40}


def test_crash_during_an_external_provider_call_is_never_resent(tmp_path, backend):
    from messaging.delivery import Delivery

    class Unknown(Delivery):
        """A provider that accepts; `die_on` kills the runner inside its call (the outcome is unknown)."""
        calls: ClassVar[list[str]] = []
        die_on = 1

        def deliver(self, message, con=None):
            Unknown.calls.append(message.message_id)
            if len(Unknown.calls) == Unknown.die_on:
                raise Killed

    ids = not_in_control(3)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    with pytest.raises(Killed):  # dies in the first provider call, after marking that message sending
        backend.runner([campaign()], deliveries={"in_app": Unknown()}).run(AT)
    assert backend.statuses() == {"sending": 1, "queued": 2}
    backend.runner([campaign()], deliveries={"in_app": Unknown()}).run(AT + timedelta(minutes=1))
    assert len(Unknown.calls) == 1  # the dead runner's lease still holds: nothing is touched
    backend.expire_leases(("queued", "sending"))
    backend.runner([campaign()], deliveries={"in_app": Unknown()}).run(AT + timedelta(minutes=10))
    assert len(Unknown.calls) == 3 and len(set(Unknown.calls)) == 3  # the other two once, the first never again
    assert backend.statuses() == {"sent": 2, "failed": 1}
    failed = [m for m in backend.messages() if m["status"] == "failed"]
    assert [m["message_id"] for m in failed] == Unknown.calls[:1]
    assert failed[0]["reason"].startswith("delivery outcome unknown")


def test_two_concurrent_runners_send_each_message_once(tmp_path, backend):
    # moto copies its table for every transaction, so the DynamoDB run is kept small (still 6 batches each)
    count = 300 if backend.name == "sqlite" else 60
    ids = not_in_control(count)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    if backend.name == "sqlite":  # two processes on one file
        children = [_child(tmp_path, 0, AT), _child(tmp_path, 0, AT)]
        assert [c.wait(timeout=180) for c in children] == [0, 0]
    else:  # two runners (own ledgers, own thread pools) on one table at once
        import threading
        from concurrent.futures import ThreadPoolExecutor

        barrier = threading.Barrier(2)

        def run():
            r = backend.runner([campaign()], local_batch=10)
            barrier.wait()
            return r.run(AT)
        with ThreadPoolExecutor(2) as pool:
            summaries = [f.result(timeout=180) for f in [pool.submit(run), pool.submit(run)]]
        assert sum(s.campaigns[0].sent for s in summaries) == count
    rows = backend.records()
    assert len(rows) == count and len({m for m, _ in rows}) == count
    assert backend.statuses() == {"sent": count}


def test_provider_failure_retries_then_records_failed_without_blocking_others(tmp_path, backend):
    from messaging.delivery import Delivery, DeliveryError

    class Down(Delivery):
        def deliver(self, message, con=None):
            raise DeliveryError("ServiceUnavailable: SES is down (after 4 attempts)", retryable=True)

    ids = not_in_control(3)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    email = campaign(id="email_one", channel="push", priority=80)
    in_app = campaign(id="in_app_one", channel="in_app", priority=10)
    r = backend.runner([email, in_app], policy=rules.Policy(daily_cap=5, control_percent=1.0,
                                                              default_consent=frozenset({"in_app", "push"})),
               deliveries={"push": Down(), "in_app": __import__("messaging.delivery.in_app").delivery.in_app.InAppInbox()})
    from messaging.contacts import record_contact
    ledger = backend.open()
    for p in ids:
        record_contact(ledger, p, "push", f"token-{p}", AT, "secret")
    ledger.close()
    summary = r.run(AT)
    by_id = {c.campaign_id: c for c in summary.campaigns}
    assert by_id["email_one"].failed == 3 and by_id["in_app_one"].sent == 3
    failed = [m for m in backend.messages() if m["status"] == "failed"]
    assert len(failed) == 3 and all(m["reason"].startswith("ServiceUnavailable") for m in failed)
    assert all(m["attempts"] == 1 for m in failed)


@pytest.mark.parametrize("at, due", [(datetime(2026, 3, 2, 18, tzinfo=UTC), True),
                                     (datetime(2026, 3, 2, 16, tzinfo=UTC), False)])
def test_scheduled_campaign_runs_once_its_cron_ticked_in_the_period(at, due):
    from messaging.runner import scheduled_period

    weekly = campaign(trigger={"schedule": "0 17 * * 1"}, period="week")  # Mondays 17:00 UTC
    assert (scheduled_period(weekly, at) is not None) == due
    assert scheduled_period(weekly, datetime(2026, 3, 8, 23, tzinfo=UTC)) == "2026-W10"  # Sunday, same week
