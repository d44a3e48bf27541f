"""Shared fixtures of the messaging tests: a real DuckDB warehouse holding the messaging mart's columns."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from messaging import rules
from messaging.audience import mart_columns
from messaging.campaigns import Campaign, CampaignSet
from messaging.delivery.in_app import InAppInbox
from messaging.delivery.outbox import LocalOutbox
from messaging.runner import Runner

AT = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)  # a Monday


def profile_row(profile_id: str, **values) -> dict:
    row = {name: None for name in mart_columns()}
    row.update(profile_id=profile_id, account_id=f"a_{profile_id}", device_id=f"d_{profile_id}", country="US",
               timezone="UTC", device_type="tv", os="tvos", app_version="5.1.0", is_kids=False,
               maturity_rating="18+", subscription_status="active", plan="standard", is_trial=False,
               churn_risk=0.8, consent_email=True, consent_push=True, consent_in_app=True,
               last_active_at=datetime(2026, 2, 1), last_play_at=datetime(2026, 2, 1))
    for name in ("plays_total", "plays_completed", "email_sends", "email_opens", "push_sends", "push_opens",
                 "in_app_sends", "in_app_opens"):
        row[name] = 0
    row["watch_seconds_total"] = 0.0
    row.update(values)
    return row


def write_warehouse(path: Path, rows: list[dict]) -> Path:
    columns = mart_columns()
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("drop table if exists messaging_profiles")
        con.execute("create table messaging_profiles (" + ", ".join(f'"{n}" {t}' for n, t in columns.items()) + ")")
        if rows:
            names = list(columns)
            con.executemany(f"insert into messaging_profiles values ({', '.join('?' * len(names))})",
                            [[r.get(n) for n in names] for r in rows])
        con.execute("create table if not exists titles (title_id varchar, series_id varchar, kind varchar)")
        con.execute("create table if not exists plays (profile_id varchar, title_id varchar, is_completed boolean)")
    return path


def campaign(**overrides) -> Campaign:
    spec = {"id": "winback_test", "name": "test", "priority": 50, "trigger": {"schedule": "0 * * * *"},
            "audience": "churn_risk >= 0.5", "channel": "in_app", "period": "week", "holdout_percent": 0,
            "quiet_hours": None, "content": {"subject": "Hello", "body": "Come back", "recommendations": 0}}
    spec.update(overrides)
    return Campaign.model_validate(spec)


def runner(tmp_path: Path, campaigns: list[Campaign], policy: rules.Policy | None = None, **kwargs) -> Runner:
    outbox = LocalOutbox()
    deliveries = kwargs.pop("deliveries", None) or {"email": outbox, "push": outbox, "in_app": InAppInbox()}
    return Runner(CampaignSet(campaigns=sorted(campaigns, key=lambda c: -c.priority),
                              files={c.id: f"{c.id}.yml" for c in campaigns}),
                  tmp_path / "outbox.sqlite", tmp_path / "warehouse.duckdb",
                  policy or rules.Policy(daily_cap=2, control_percent=1.0), deliveries,
                  unsubscribe_secret="s", **kwargs)


def not_in_control(count: int, percent: float = 1.0, prefix: str = "p") -> list[str]:
    """Profile ids outside the global control group (so a test's expectation does not depend on hashing)."""
    ids, i = [], 0
    while len(ids) < count:
        pid = f"{prefix}{i}"
        if not rules.in_control_group(pid, percent):
            ids.append(pid)
        i += 1
    return ids


class Backend:
    """The messaging state a test runs against: the SQLite ledger file, or the DynamoDB table (moto).
    `open(read_only=False)` is what the runner gets; the rest inspects and pokes it the same way for both."""

    def __init__(self, name: str, tmp_path: Path, client=None, table: str = "messaging-test"):
        self.name = name
        self.tmp_path = tmp_path
        self.client = client
        self.table = table

    def open(self, read_only: bool = False):
        if self.name == "sqlite":
            from messaging.ledger import sqlite_opener

            return sqlite_opener(self.tmp_path / "outbox.sqlite")(read_only)
        from messaging.dynamodb import DynamoLedger

        return DynamoLedger(self.table, "us-east-1", client=self.client, read_only=read_only)

    def runner(self, campaigns: list[Campaign], policy: rules.Policy | None = None, **kwargs) -> Runner:
        return runner(self.tmp_path, campaigns, policy, open_ledger=self.open, **kwargs)

    def _read(self, fn):
        ledger = self.open(read_only=True)
        if ledger is None:
            return fn(None)
        try:
            return fn(ledger)
        finally:
            ledger.close()

    def messages(self) -> list[dict]:
        return self._read(lambda lg: lg.snapshot() if lg else [])

    def statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.messages():
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        return counts

    def records(self, kind: str = "inbox") -> list[tuple[str, str]]:
        """(message_id, profile_id) of what local deliveries wrote, sorted."""
        return sorted((r["message_id"], r["profile_id"]) for r in self._read(
            lambda lg: lg.local_records(kind) if lg else []))

    def expire_leases(self, statuses: tuple[str, ...] = ("queued",)) -> None:
        """What a dead runner leaves once its lease ran out: the lease of its messages in `statuses` expired."""
        if self.name == "sqlite":
            import sqlite3

            with sqlite3.connect(self.tmp_path / "outbox.sqlite") as con:
                con.execute(f"update messages set lease_until = 0 where status in ({','.join('?' * len(statuses))})",
                            statuses)
            return
        for row in self.messages():
            if row["status"] in statuses:
                self.client.update_item(TableName=self.table, Key={"pk": {"S": f"msg#{row['message_id']}"}},
                                        UpdateExpression="SET lease_until = :z",
                                        ExpressionAttributeValues={":z": {"N": "0"}})
