"""The lifecycle Lambda called with a real EventBridge scheduled event and a Lambda context."""
from __future__ import annotations

import copy
import sqlite3
from dataclasses import dataclass

import pytest
from support.messaging import not_in_control, profile_row, write_warehouse

from streamloop.core.settings import get_settings

# as EventBridge delivers it (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-scheduled.html)
SCHEDULED_EVENT = {
    "version": "0",
    "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-28T17:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/streamloop-lifecycle-hourly"],
    "detail": {},
}


@dataclass
class LambdaContext:
    function_name: str = "streamloop-lifecycle"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:streamloop-lifecycle"
    aws_request_id: str = "0f1e2d3c-0000-4000-8000-000000000001"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMLOOP_HOME", str(tmp_path))
    monkeypatch.setenv("STREAMLOOP_ONLINE_STORE_PATH", str(tmp_path / "online.sqlite"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_scheduled_event_runs_the_shipped_campaigns_once(home):
    from functions.lifecycle.handler import handler

    # GIVEN lapsed, high-risk profiles in the warehouse (only in-app is allowed without a consent record)
    ids = not_in_control(12, percent=5.0)
    write_warehouse(home / "warehouse.duckdb", [profile_row(p, consent_email=None, consent_push=None,
                                                            preferred_hour_local=18) for p in ids])
    # WHEN EventBridge invokes the function
    first = handler(copy.deepcopy(SCHEDULED_EVENT), LambdaContext())
    # THEN it ran as of the event's time, and every decision is in the ledger
    assert first["status"] == "ran" and first["at"] == "2026-11-28T17:00:00Z" and first["errors"] == []
    by_id = {c["campaign_id"]: c for c in first["campaigns"]}
    assert by_id["winback_high_churn_risk"]["audience"] == 12 and by_id["reengage_lapsed"]["audience"] == 12
    with sqlite3.connect(home / "outbox.sqlite") as con:
        recorded = dict(con.execute("select status, count(*) from messages group by 1").fetchall())
        channels = {r[0] for r in con.execute("select channel from messages where grp = 'treated'")}
    new = sum(c["sent"] + c["held"] for c in first["campaigns"])
    assert new > 0 and recorded.get("sent", 0) + recorded.get("queued", 0) == new
    assert channels == {"in_app"}
    # AND a retried delivery of the same tick sends nothing new
    again = handler(copy.deepcopy(SCHEDULED_EVENT), LambdaContext())
    assert sum(c["sent"] + c["held"] for c in again["campaigns"]) == 0


def test_a_non_scheduled_event_is_refused(home):
    from functions.lifecycle.handler import handler
    from streamloop.core.errors import StreamloopError

    with pytest.raises(StreamloopError, match="Scheduled Event"):
        handler({"detail-type": "Object Created"}, LambdaContext())
