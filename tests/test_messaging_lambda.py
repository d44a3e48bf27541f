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


def test_on_aws_the_lambda_runs_on_the_published_audience_and_the_dynamodb_state(home, monkeypatch):
    """No warehouse file in the function: the publication's audience snapshot in the S3 lake (moto) and the
    DynamoDB messaging table are all it has; a retried tick still sends nothing twice."""
    import boto3
    from support.aws import moto_dynamodb

    from functions.lifecycle.handler import handler
    from messaging.audience_snapshot import publish
    from messaging.dynamodb import DynamoLedger, create_table
    from streamloop.core.errors import StreamloopError
    from streamloop.core.lake import Lake

    monkeypatch.setattr("messaging.dynamodb.WRITE_CONCURRENCY", 1)  # moto: one call at a time (support.aws)
    for name, value in {"STREAMLOOP_MESSAGING_STORE": "dynamodb", "STREAMLOOP_MESSAGING_DYNAMODB_TABLE": "msgs",
                        "STREAMLOOP_AWS_REGION": "us-east-1", "STREAMLOOP_LAKE_URI": "s3://lake-bucket/lake"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with moto_dynamodb(monkeypatch, "msgs", create=create_table) as client:
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="lake-bucket")
        assert not get_settings().warehouse_file.exists()
        with pytest.raises(StreamloopError, match="no warehouse at .* and no published audience at s3://lake-bucket"):
            handler(copy.deepcopy(SCHEDULED_EVENT), LambdaContext())
        # GIVEN the publication job built the snapshot from the warehouse on the Dagster machine
        ids = not_in_control(12, percent=5.0)
        built = write_warehouse(home / "dagster" / "warehouse.duckdb", [profile_row(
            p, consent_email=None, consent_push=None, preferred_hour_local=18) for p in ids])
        assert publish(built, Lake("s3://lake-bucket/lake"))["messaging_profiles"] == 12
        # WHEN EventBridge invokes the function
        first = handler(copy.deepcopy(SCHEDULED_EVENT), LambdaContext())
        assert first["status"] == "ran" and first["errors"] == []
        by_id = {c["campaign_id"]: c for c in first["campaigns"]}
        assert by_id["winback_high_churn_risk"]["audience"] == 12
        new = sum(c["sent"] + c["held"] for c in first["campaigns"])
        ledger = DynamoLedger("msgs", "us-east-1", client=client)
        recorded = [m for m in ledger.snapshot() if m["status"] in ("sent", "queued")]
        assert new > 0 and len(recorded) == new and not (home / "outbox.sqlite").exists()
        keys = {o["Key"] for o in boto3.client("s3", region_name="us-east-1").list_objects_v2(
            Bucket="lake-bucket")["Contents"]}
        assert "lake/messaging/ledger.parquet" in keys  # the ledger snapshot for campaign_sends, in the S3 lake
        # AND a retried delivery of the same tick sends nothing new
        again = handler(copy.deepcopy(SCHEDULED_EVENT), LambdaContext())
        assert sum(c["sent"] + c["held"] for c in again["campaigns"]) == 0


def test_a_warehouse_without_the_audience_mart_publishes_nothing_and_fails_no_publication(tmp_path):
    """GIVEN a warehouse with plays and titles but no messaging_profiles (built before the mart existed)
    WHEN the publication step publishes the audience THEN nothing is written and no error is raised, so
    the Lambda keeps saying "no published audience" rather than the publication job failing."""
    import duckdb

    from messaging.audience_snapshot import materialize, publish
    from streamloop.core.lake import Lake

    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table titles as select 't1' as title_id, 's1' as series_id")
        con.execute("create table plays as select 'p1' as profile_id, 't1' as title_id, true as is_completed")
    lake = Lake(str(tmp_path / "lake"))
    assert publish(warehouse, lake) == {}
    assert materialize(lake, tmp_path / "snapshot.duckdb") is None
