"""STREAMLOOP_MESSAGING_STORE=dynamodb end to end on moto: the collector fills contacts, consents and the
trigger queue in the table; a campaign run claims and delivers from it; the app hands in-app messages out
once from it; `streamloop privacy forget` leaves no item naming the person (the profile index) and keeps
another person's. The runner's exactly-once tests run on both backends in test_messaging_runner.py."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from support.aws import moto_dynamodb
from support.functions import event, make_services
from support.messaging import AT, campaign, not_in_control, profile_row, runner, write_warehouse

from messaging.dynamodb import DynamoLedger, MessagingStoreError, create_table, table_definition
from messaging.ledger import _SCHEMA
from messaging.records import MESSAGE_FIELDS
from messaging.state import opener
from streamloop.core.lake import Lake
from streamloop.core.settings import get_settings

TABLE = "streamloop-test-messaging"
TRIGGERED = "finish_what_you_started"  # a shipped campaign started by play_stop: the collector queues it


@pytest.fixture
def dynamo_home(streamloop_home, monkeypatch):
    monkeypatch.setenv("STREAMLOOP_MESSAGING_STORE", "dynamodb")
    monkeypatch.setenv("STREAMLOOP_MESSAGING_DYNAMODB_TABLE", TABLE)
    monkeypatch.setenv("STREAMLOOP_AWS_REGION", "us-east-1")
    monkeypatch.setenv("STREAMLOOP_API_KEYS", "app-key")
    # the code opens its own boto3 clients here: one call at a time, as moto needs (support.aws.AtomicCalls)
    monkeypatch.setattr("messaging.dynamodb.WRITE_CONCURRENCY", 1)
    get_settings.cache_clear()
    with moto_dynamodb(monkeypatch, TABLE, create=create_table) as client:
        yield client
    get_settings.cache_clear()


def _items(client) -> list[dict]:
    items, start = [], None
    while True:
        page = client.scan(TableName=TABLE, **({"ExclusiveStartKey": start} if start else {}))
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def mentions(client, identifier: str) -> dict[str, int]:
    """Per item kind (the pk prefix), items any attribute of which names `identifier` as a whole token."""
    pattern = re.compile(rf"(?<![\w\-]){re.escape(identifier)}(?![\w\-])")
    found: dict[str, int] = {}
    for item in _items(client):
        kind = item["pk"]["S"].split("#", 1)[0]
        if any(pattern.search(str(v.get("S", ""))) for v in item.values()):
            found[kind] = found.get(kind, 0) + 1
    return found


def test_collector_runner_app_and_forget_on_the_dynamodb_table(dynamo_home):
    from streamloop.cli import main

    client = dynamo_home
    settings = get_settings()
    forgotten = not_in_control(1, prefix="viewer")[0]
    kept = not_in_control(1, prefix=forgotten)[0]  # viewer0 and viewer00: an exact match must tell them apart
    services = make_services(settings.home_dir, experiments_dir=settings.home_dir / "no-experiments")
    try:
        batch = []
        for pid in (forgotten, kept):
            batch += [event("contact_updated", pid, channel="email", address=f"{pid}@example.com"),
                      event("consent_updated", pid, channel="email", granted=True),
                      event("play_stop", pid, title_id="m1", position_s=600)]
        assert services.collector.ingest(batch).accepted == len(batch)
    finally:
        services.close()
    ledger = opener(settings)()
    assert isinstance(ledger, DynamoLedger)
    assert len(ledger.due_triggers(TRIGGERED, AT + timedelta(days=400))) == 2
    assert ledger.contacts_for([forgotten, kept]) == {p: {"email": f"{p}@example.com"} for p in (forgotten, kept)}

    write_warehouse(settings.warehouse_file, [profile_row(p, preferred_hour_local=AT.hour) for p in (forgotten, kept)])
    mail = campaign(id="forget_mail", channel="email", send_time="immediate")
    note = campaign(id="forget_note", channel="in_app", send_time="immediate", priority=40)
    run = runner(settings.home_dir, [mail, note], lake=Lake(settings.lake_root), open_ledger=opener(settings))
    assert [c.sent for c in run.run(AT).campaigns] == [2, 2]
    assert not settings.outbox_file.exists()  # nothing went to a local SQLite file
    assert {r["profile_id"] for r in ledger.local_records("outbox")} == {forgotten, kept}
    assert ledger.pending_events() == []  # exported to the lake by the run

    # the app hands the in-app message out once, from the table, and records its delivery
    from functions.app import create_app

    app = TestClient(create_app(get_settings()))
    first = app.get(f"/v1/profiles/{kept}/messages", headers={"x-api-key": "app-key"}).json()["messages"]
    assert [m["campaign_id"] for m in first] == ["forget_note"]
    assert app.get(f"/v1/profiles/{kept}/messages", headers={"x-api-key": "app-key"}).json()["messages"] == []
    statuses = {(r["campaign_id"], r["profile_id"]): r["status"] for r in ledger.snapshot()}
    assert statuses[("forget_note", kept)] == "delivered" and statuses[("forget_note", forgotten)] == "sent"
    assert [b for _, b in ledger.pending_events() if "message_delivered" in b]

    # forget: every kind of item named the person before, none does after; the other person's stay
    before, kept_before = mentions(client, forgotten), mentions(client, kept)
    assert {"msg", "outbox", "inbox", "contact", "consent", "trigger", "event"} <= set(before), before
    result = CliRunner().invoke(main, ["privacy", "forget", "--profile", forgotten, "--json"])
    assert result.exit_code == 0, result.output
    assert mentions(client, forgotten) == {}
    assert mentions(client, f"{forgotten}@example.com") == {}
    assert mentions(client, kept) == kept_before
    ledger.close()


def test_a_read_only_view_refuses_every_write(dynamo_home):
    view = DynamoLedger(TABLE, "us-east-1", client=dynamo_home, read_only=True)
    assert view.snapshot() == [] and view.pending_events() == []
    with pytest.raises(MessagingStoreError, match="read-only"):
        view.suppress("h", "bounce", AT)


def test_one_definition_of_the_record_shapes():
    # the SQLite messages table has exactly the fields of messaging.records, in order
    columns = re.search(r"create table if not exists messages \((.*?)\n\);", _SCHEMA, re.DOTALL).group(1)
    names = [line.split()[0] for line in columns.strip().splitlines()]
    assert names == list(MESSAGE_FIELDS)
    # every DynamoDB index key is a declared string attribute
    definition = table_definition("t")
    declared = {a["AttributeName"] for a in definition["AttributeDefinitions"]}
    used = {k["AttributeName"] for i in definition["GlobalSecondaryIndexes"] for k in i["KeySchema"]}
    assert used | {"pk"} == declared


def test_both_backends_record_the_same_ledger(tmp_path, monkeypatch):
    # the same decisions (sent, held by quiet hours, holdout) leave the same rows in SQLite and DynamoDB,
    # but for the runner's lease and owner
    from support.aws import AtomicCalls
    from support.messaging import Backend

    ids = not_in_control(12)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p, timezone="Europe/Berlin" if i % 2 else "UTC")
                                                    for i, p in enumerate(ids)])
    c = campaign(holdout_percent=20, quiet_hours={"start": "21:00", "end": "09:00"})
    at = AT.replace(hour=20, minute=30)  # 21:30 in Berlin: held there, sent in UTC
    rows = {}
    with moto_dynamodb(monkeypatch, "messaging-test", create=create_table) as client:
        for backend in (Backend("sqlite", tmp_path), Backend("dynamodb", tmp_path, AtomicCalls(client))):
            summary = backend.runner([c]).run(at)
            assert summary.campaigns[0].sent > 0 and summary.campaigns[0].held > 0
            rows[backend.name] = sorted(({k: v for k, v in m.items() if k not in ("owner", "lease_until")}
                                         for m in backend.messages()), key=lambda m: m["message_id"])
    assert rows["sqlite"] == rows["dynamodb"]
    assert {m["status"] for m in rows["sqlite"]} == {"sent", "queued", "holdout"}
