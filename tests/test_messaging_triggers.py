"""Triggers end to end on a real DuckDB warehouse and a real SQLite ledger: a catalog update loaded with
`streamloop ingest --catalog` messages the series' bingers about a new episode (and nobody about back
catalog); a trigger is consumed only once the run has claimed its message, so a run that fails in between
leaves it to the next run, which sends it exactly once."""
from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from support.messaging import AT, campaign, not_in_control, profile_row, runner, write_warehouse

from messaging import rules, service
from messaging.audience import audience_columns
from messaging.campaigns import CampaignSet, load_campaigns
from messaging.delivery.in_app import InAppInbox
from messaging.ledger import Ledger
from messaging.triggers import TriggerIndex, TriggerQueue
from streamloop.cli import main
from streamloop.core.settings import get_settings

CAMPAIGNS = Path(__file__).resolve().parents[1] / "campaigns"
SHIPPED = "new_episode_binged_series"


def inbox(ledger_path: Path) -> list[tuple]:
    with sqlite3.connect(ledger_path) as con:
        return con.execute("select message_id, profile_id, subject from inbox order by 1").fetchall()


def trigger_statuses(ledger_path: Path) -> dict[str, int]:
    with sqlite3.connect(ledger_path) as con:
        return dict(con.execute("select status, count(*) from triggers group by 1").fetchall())


def episode(series_id: str, number: int, released: str) -> dict:
    return {"title_id": f"{series_id}-e{number:02d}", "name": f"Series {series_id} E{number}", "kind": "episode",
            "series_id": series_id, "season": 1, "episode": number, "genres": ["drama"], "moods": [], "cast": [],
            "maturity_rating": "13+", "runtime_s": 2700, "release_date": released, "available_countries": ["*"]}


def reachable(count: int) -> list[str]:
    """Profiles the shipped campaign messages: outside the default control group (5 %) and its holdout."""
    return [p for p in not_in_control(count * 2, percent=5.0) if not rules.in_holdout(SHIPPED, p, 10)][:count]


def test_a_new_episode_of_a_binged_series_messages_its_binger_once(streamloop_home, monkeypatch, tmp_path):
    monkeypatch.setenv("STREAMLOOP_NOW", AT.isoformat())  # the service's clock: ingest time and run time
    settings = get_settings()
    binger, sampler, other_binger = reachable(3)
    # GIVEN a warehouse where `binger` completed three episodes of s1, `sampler` one, `other_binger` all of s2
    write_warehouse(settings.warehouse_file, [profile_row(p, preferred_hour_local=AT.hour)
                                              for p in (binger, sampler, other_binger)])
    with duckdb.connect(str(settings.warehouse_file)) as con:
        con.executemany("insert into titles values (?, ?, 'episode')",
                        [[f"{s}-e{n:02d}", s] for s in ("s1", "s2") for n in (1, 2, 3)])
        con.executemany("insert into plays values (?, ?, true)",
                        [[binger, f"s1-e{n:02d}"] for n in (1, 2, 3)] + [[sampler, "s1-e01"]]
                        + [[other_binger, f"s2-e{n:02d}"] for n in (1, 2, 3)])
    # WHEN a catalog dump arrives: the back catalog, a fourth s1 episode out today and a fifth out in 3 days
    released = AT.date()
    records = [episode(s, n, "2025-06-01") for s in ("s1", "s2") for n in (1, 2, 3)]
    records += [episode("s1", 4, released.isoformat()), episode("s1", 5, (released + timedelta(days=3)).isoformat())]
    dump = tmp_path / "catalog.jsonl"
    dump.write_text("".join(json.dumps(r) + "\n" for r in records))
    ingested = CliRunner().invoke(main, ["ingest", "--catalog", str(dump)])
    assert ingested.exit_code == 0, ingested.output
    assert "new-episode triggers queued: 2" in ingested.output  # old episodes are not news
    # THEN the next run messages the binger, once, about the episode that is out; nobody else
    shipped = load_campaigns(CAMPAIGNS, audience_columns())
    only = CampaignSet(campaigns=[shipped.get(SHIPPED)], files={SHIPPED: shipped.files[SHIPPED]})
    first = service.build_runner(settings, only).run(AT)
    assert (first.campaigns[0].audience, first.campaigns[0].sent) == (1, 1)
    assert inbox(settings.outbox_file) == [
        (rules.message_id(SHIPPED, binger, "s1-e04"), binger, "New episode: Series s1 E4")]
    # the same dump again queues nothing, and later runs send nothing more until the next release
    again = CliRunner().invoke(main, ["ingest", "--catalog", str(dump)])
    assert again.exit_code == 0 and "new-episode triggers queued: 0" in again.output
    assert service.build_runner(settings, only).run(AT + timedelta(hours=1)).campaigns[0].sent == 0
    # the pre-announced episode goes out on its release day
    assert service.build_runner(settings, only).run(AT + timedelta(days=3)).campaigns[0].sent == 1
    assert [row[:2] for row in inbox(settings.outbox_file)] == sorted(
        (rules.message_id(SHIPPED, binger, f"s1-e{n:02d}"), binger) for n in (4, 5))
    assert trigger_statuses(settings.outbox_file) == {"done": 2}


def _play_stop(profile_id: str, title_id: str, at) -> dict:
    return {"event_type": "play_stop", "profile_id": profile_id, "properties": {"title_id": title_id},
            "occurred_at": at.isoformat()}


def _trigger(tmp_path: Path, finish, profile_id: str) -> None:
    ledger = Ledger(tmp_path / "outbox.sqlite")
    TriggerIndex([finish]).on_events([_play_stop(profile_id, "t1", AT - timedelta(days=2))], TriggerQueue(ledger))
    ledger.close()


FINISH = {"id": "finish_test", "trigger": {"event": "play_stop", "delay_minutes": 1440}, "audience": "true",
          "send_time": "immediate"}


def test_a_run_that_fails_after_reading_its_triggers_leaves_them_to_the_next_run(tmp_path):
    finish = campaign(**FINISH)
    (profile,) = not_in_control(1)
    _trigger(tmp_path, finish, profile)
    # GIVEN a warehouse being rebuilt: the audience source is not there yet
    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()
    # WHEN a run reads the due trigger and then fails on the audience query
    with pytest.raises(duckdb.CatalogException):
        runner(tmp_path, [finish]).run(AT)
    assert inbox(tmp_path / "outbox.sqlite") == []
    # THEN the next run (the warehouse back) sends the message, and no later run sends it again
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(profile)])
    assert runner(tmp_path, [finish]).run(AT).campaigns[0].sent == 1
    later = runner(tmp_path, [finish]).run(AT + timedelta(hours=1)).campaigns[0]
    assert (later.audience, later.sent) == (0, 0)
    assert [row[:2] for row in inbox(tmp_path / "outbox.sqlite")] == [
        (rules.message_id("finish_test", profile, "t1"), profile)]
    assert trigger_statuses(tmp_path / "outbox.sqlite") == {"done": 1}


def test_a_run_that_stops_after_claiming_never_sends_twice(tmp_path):
    class BrokenInbox(InAppInbox):
        def record(self, message, written_at):
            raise OSError("inbox disk full")

    finish = campaign(**FINISH)
    (profile,) = not_in_control(1)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(profile)])
    _trigger(tmp_path, finish, profile)
    ledger_path = tmp_path / "outbox.sqlite"
    # a channel that raises after the claim: the message stays claimed (queued) and the trigger is done
    with pytest.raises(OSError):
        runner(tmp_path, [finish], deliveries={"in_app": BrokenInbox()}).run(AT)
    assert trigger_statuses(ledger_path) == {"done": 1} and inbox(ledger_path) == []
    # the state a crash between the claim and consuming the trigger leaves: claimed, trigger still pending
    with sqlite3.connect(ledger_path) as con:
        con.execute("update triggers set status = 'pending'")
        con.execute("update messages set lease_until = 0")  # the dead runner's lease has expired
    rerun = runner(tmp_path, [finish]).run(AT + timedelta(minutes=10)).campaigns[0]
    assert (rerun.sent, rerun.suppressed["already_claimed"]) == (1, 1)  # the claimed message, delivered once
    assert runner(tmp_path, [finish]).run(AT + timedelta(hours=1)).campaigns[0].sent == 0
    assert [row[:2] for row in inbox(ledger_path)] == [(rules.message_id("finish_test", profile, "t1"), profile)]
    assert trigger_statuses(ledger_path) == {"done": 1}
