"""A deletion is complete only when every store that may hold the person was erased: Parquet snapshots on an
S3 lake are erased through the lake's S3 client (moto here), and a store this process cannot reach (the
warehouse and the model registry, seen from the API Lambda) is reported unreached, never complete."""
from __future__ import annotations

import base64
import io
import json

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws
from support.home import use_home
from support.lambda_events import LambdaContext, function_url_event

from streamloop.core.lake import Lake
from streamloop.core.privacy import erasers
from streamloop.core.privacy.erasers import ParquetFileEraser, registered_erasers
from streamloop.core.privacy.forget import forget
from streamloop.core.privacy.subjects import Subject
from streamloop.core.settings import get_settings

BUCKET = "lake"
SNAPSHOT = f"s3://{BUCKET}/prod/messaging/ledger.parquet"


@pytest.fixture
def s3(tmp_path, monkeypatch):
    """A moto S3 bucket holding the lake (s3://lake/prod) and a private HOME for everything local."""
    with mock_aws():
        use_home(monkeypatch, tmp_path / "home")
        monkeypatch.setenv("STREAMLOOP_AWS_REGION", "us-east-1")
        monkeypatch.setenv("STREAMLOOP_LAKE_URI", f"s3://{BUCKET}/prod")
        get_settings.cache_clear()
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
        get_settings.cache_clear()


def put_snapshot(client, profiles: list[str]) -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"message_id": [f"m{i}" for i in range(len(profiles))], "profile_id": profiles,
                             "campaign_id": ["welcome"] * len(profiles)}), buffer)
    client.put_object(Bucket=BUCKET, Key="prod/messaging/ledger.parquet", Body=buffer.getvalue())


def snapshot_profiles(client) -> list[str]:
    body = client.get_object(Bucket=BUCKET, Key="prod/messaging/ledger.parquet")["Body"].read()
    return pq.read_table(io.BytesIO(body)).column("profile_id").to_pylist()


def land_person(profile_id: str, event_id: str) -> None:
    record = {"event_id": event_id, "event_type": "app_open", "occurred_at": "2026-01-01T20:00:00Z",
              "device_id": "d1", "profile_id": profile_id, "account_id": "a1", "context": {}, "properties": {},
              "schema_version": 1}
    Lake(get_settings().lake_root).write_records("events", [json.dumps(record)], source="test")


def test_a_parquet_snapshot_on_an_s3_lake_is_erased(s3):
    put_snapshot(s3, ["p1", "p10", "p1", "p2"])
    eraser = ParquetFileEraser("messaging snapshot", SNAPSHOT)
    assert eraser.count(frozenset({"p1"})) == 2

    erasure = eraser.erase(frozenset({"p1"}), frozenset())

    assert erasure.rows == 2 and erasure.unreached is None
    assert eraser.count(frozenset({"p1"})) == 0
    assert snapshot_profiles(s3) == ["p10", "p2"]  # p10 is not p1


def test_an_absent_snapshot_has_nothing_to_erase(s3):
    erasure = ParquetFileEraser("messaging snapshot", SNAPSHOT).erase(frozenset({"p1"}), frozenset())
    assert (erasure.rows, erasure.unreached) == (0, None)


def test_a_snapshot_the_process_cannot_read_is_unreached_and_the_deletion_incomplete(s3):
    # GIVEN a snapshot in a bucket this process cannot reach (here: no such bucket)
    eraser = ParquetFileEraser("messaging snapshot", "s3://no-such-bucket/prod/messaging/ledger.parquet")
    # WHEN a person is forgotten
    report = forget(Subject("profile", "p1"), get_settings(), erasers=[eraser])
    # THEN the report says which store was not erased, and why, and is not complete
    assert not report.complete
    assert "NoSuchBucket" in report.unreached["messaging snapshot"]
    assert report.to_json()["complete"] is False and "messaging snapshot" not in report.remaining


def test_forget_on_an_s3_lake_erases_the_lake_and_the_snapshot(s3):
    import messaging.privacy  # noqa: F401  (registers the messaging ledger and snapshot erasers)

    put_snapshot(s3, ["p1", "p2"])
    land_person("p1", "e1")
    land_person("p2", "e2")

    report = forget(Subject("profile", "p1"), get_settings(),
                    erasers=[e for e in registered_erasers(get_settings()) if e.name != "model registry"])

    assert report.complete, report
    assert report.stores["raw lake"] == 1 and report.stores["messaging snapshot"] == 1
    assert snapshot_profiles(s3) == ["p2"]


def call_lambda(handler, method: str, path: str, body: dict, key: str) -> tuple[int, dict]:
    response = handler(function_url_event(method, path, body=body, headers={"x-api-key": key}), LambdaContext())
    text = response["body"]
    if response.get("isBase64Encoded"):
        text = base64.b64decode(text).decode()
    return response["statusCode"], json.loads(text)


def test_the_api_lambda_never_reports_complete_for_the_warehouse_and_registry_it_cannot_reach(s3, monkeypatch):
    import importlib

    # GIVEN the API function configured as Terraform configures it: AWS environment, S3 lake and registry, the
    # warehouse on the Dagster machine (no file here), and no ml package in the process (the Lambda ships without)
    monkeypatch.setenv("STREAMLOOP_ENVIRONMENT", "aws")
    monkeypatch.setenv("STREAMLOOP_REGISTRY_URI", f"s3://{BUCKET}/registry")
    monkeypatch.setenv("STREAMLOOP_API_KEYS", "app-key")
    monkeypatch.setenv("STREAMLOOP_ADMIN_KEYS", "admin-key")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "streamloop-api")  # what the Lambda runtime sets
    monkeypatch.setattr(erasers, "_REGISTRY", [(order, factory) for order, factory in erasers._REGISTRY
                                                if not factory.__module__.startswith("ml.")])
    get_settings.cache_clear()
    put_snapshot(s3, ["p1", "p2"])
    land_person("p1", "e1")
    import functions.api.handler as module

    handler = importlib.reload(module).handler

    # WHEN an admin asks the Lambda to forget p1
    status, body = call_lambda(handler, "POST", "/v1/admin/privacy/forget", {"profile_id": "p1"}, "admin-key")

    # THEN what it could reach is erased (lake and snapshot on S3), and the answer is not a success: it names
    # the stores it did not erase and why
    assert status == 500, body
    report = body["report"]
    assert report["complete"] is False
    # (messaging keeps its ledger in SQLite under each execution environment's /tmp on Lambda: this one's copy
    # is erased, the others are not reachable from here)
    assert set(report["unreached"]) == {"warehouse", "model registry", "messaging ledger"}
    assert "Dagster" in report["unreached"]["warehouse"] and "ml" in report["unreached"]["model registry"]
    assert report["stores"]["raw lake"] == 1 and report["stores"]["messaging snapshot"] == 1
    assert snapshot_profiles(s3) == ["p2"]
    assert "warehouse" in body["error"] and "model registry" in body["error"]


def test_streamloop_serve_registers_every_eraser_its_process_can_reach(tmp_path):
    # GIVEN a fresh process running `streamloop serve` (uvicorn replaced by a no-op so it returns)
    # THEN the model registry's eraser is registered: a local API forget is not "unreached" for it
    import subprocess
    import sys

    script = (
        "import sys, uvicorn\n"
        "uvicorn.run = lambda *a, **k: None\n"
        "from streamloop.cli import main\n"
        "try:\n"
        "    main(['serve'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('ml.privacy' in sys.modules)\n")
    env = {**__import__("os").environ, "STREAMLOOP_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "True", out.stderr[-2000:]
