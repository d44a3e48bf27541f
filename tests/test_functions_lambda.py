"""The Lambda entry points called with real event JSON: Function URL payload 2.0 and EventBridge schedules."""
from __future__ import annotations

import base64
import importlib
import json
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from test_functions_support import API_KEY, event, seed

from streamloop.core.errors import StreamloopError
from streamloop.core.settings import get_settings
from streamloop.core.store.sqlite import SQLiteStore


@dataclass
class LambdaContext:
    function_name: str = "streamloop-api"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:streamloop-api"
    aws_request_id: str = "5b2a9c1e-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context():
    return LambdaContext()


@pytest.fixture
def api(tmp_path, monkeypatch):
    """The API Lambda module, configured through the environment like on AWS, over a seeded store."""
    monkeypatch.setenv("STREAMLOOP_HOME", str(tmp_path))
    monkeypatch.setenv("STREAMLOOP_API_KEYS", f"other-key,{API_KEY}")
    get_settings.cache_clear()
    store = SQLiteStore(tmp_path / "online.sqlite")
    seed(store)
    store.close()
    import functions.api.handler as module

    yield importlib.reload(module)
    get_settings.cache_clear()


def function_url_event(method: str, path: str, query: dict | None = None, body=None, headers: dict | None = None,
                       base64_body: bool = False) -> dict:
    """A Lambda Function URL request, payload format 2.0 (as documented by AWS)."""
    raw_body = None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
    if isinstance(raw_body, bytes) or (base64_body and raw_body is not None):
        raw_body = base64.b64encode(raw_body if isinstance(raw_body, bytes) else raw_body.encode()).decode()
        base64_body = True
    headers = {"host": "abcdefg.lambda-url.us-east-1.on.aws", "user-agent": "pytest",
               "content-type": "application/json", **(headers or {})}
    if raw_body is not None:
        headers["content-length"] = str(len(base64.b64decode(raw_body)) if base64_body else len(raw_body.encode()))
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": headers,
        "queryStringParameters": {k: str(v) for k, v in (query or {}).items()} or None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdefg",
            "domainName": "abcdefg.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefg",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7",
                     "userAgent": "pytest"},
            "requestId": "c2d7f6a1-1111-4222-8333-444455556666",
            "routeKey": "$default",
            "stage": "$default",
            "time": "28/Nov/2026:06:40:00 +0000",
            "timeEpoch": 1795848000000,
        },
        "body": raw_body,
        "isBase64Encoded": base64_body,
    }


def call(api, lambda_context, *args, **kwargs):
    response = api.handler(function_url_event(*args, **kwargs), lambda_context)
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return response["statusCode"], json.loads(body) if body else None


KEY = {"x-api-key": API_KEY}


def test_function_url_requests_need_a_key(api, lambda_context):
    assert call(api, lambda_context, "GET", "/v1/profiles/adult/home", {"country": "US"})[0] == 401
    assert call(api, lambda_context, "GET", "/v1/profiles/adult/home", {"country": "US"},
                headers={"x-api-key": "wrong"})[0] == 401
    assert call(api, lambda_context, "GET", "/healthz")[0] == 200


def test_function_url_collector_limits_and_counts(api, lambda_context):
    status, body = call(api, lambda_context, "POST", "/v1/events", body="not json", headers=KEY)
    assert status == 400 and "JSON" in body["error"]
    status, _ = call(api, lambda_context, "POST", "/v1/events", body={"events": [event("app_open")] * 501},
                     headers=KEY)
    assert status == 413
    events = [event("app_open"), event("app_open")]
    status, body = call(api, lambda_context, "POST", "/v1/events", body={"events": events}, headers=KEY,
                        base64_body=True)
    assert status == 200 and body == {"accepted": 2, "duplicates": 0, "rejected": []}
    status, body = call(api, lambda_context, "POST", "/v1/events", body={"events": events}, headers=KEY)
    assert body == {"accepted": 0, "duplicates": 2, "rejected": []}


def test_function_url_fresh_signals_and_home_shape(api, lambda_context):
    # GIVEN a play_start of m2 and a completion of m1 accepted through the Lambda
    events = [event("play_start", title_id="m2", position_s=30, duration_s=6000),
              event("play_complete", title_id="m1", position_s=6000)]
    assert call(api, lambda_context, "POST", "/v1/events", body={"events": events}, headers=KEY)[1]["accepted"] == 2
    # WHEN the home page is requested through the Lambda
    status, page = call(api, lambda_context, "GET", "/v1/profiles/adult/home",
                        {"country": "US", "device_type": "tv", "rows": 8, "items": 20}, headers=KEY)
    # THEN it has the contract shape and both fresh signals
    assert status == 200
    assert {"request_id", "profile_id", "personalized", "model_version", "generated_at", "experiments",
            "rows"} == set(page)
    kinds = {r["kind"]: r for r in page["rows"]}
    assert kinds["continue_watching"]["items"][0]["title_id"] == "m2"
    assert kinds["because_you_watched"]["source_title_id"] == "m1"
    status, recs = call(api, lambda_context, "GET", "/v1/profiles/adult/recommendations",
                        {"country": "US", "items": 3}, headers=KEY)
    assert status == 200 and recs["model_version"] == "ranker@7" and len(recs["items"]) == 3


def test_function_url_unknown_route_is_a_json_404(api, lambda_context):
    status, body = call(api, lambda_context, "GET", "/v1/nothing", headers=KEY)
    assert status == 404 and "error" in body


SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-28T06:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/streamloop-lifecycle"],
    "detail": {},
}


def test_lifecycle_handler_reports_a_tick_without_campaigns(lambda_context, tmp_path):
    from functions.lifecycle.handler import handler
    from functions.lifecycle.scheduled import run_scheduled

    result = run_scheduled(SCHEDULED_EVENT, campaigns_dir=tmp_path)
    assert result["status"] == "no_campaigns_configured"
    assert result["rule"].endswith("rule/streamloop-lifecycle")
    (tmp_path / "winback.yml").write_text("id: winback\n")  # broken files are reported, never run
    errors = run_scheduled(SCHEDULED_EVENT, campaigns_dir=tmp_path)["errors"]
    assert [(e["file"], e["field"]) for e in errors] == [("winback.yml", "name")]
    with pytest.raises(StreamloopError, match="Scheduled Event"):
        handler({"detail-type": "Something Else"}, lambda_context)


def test_lambda_logs_carry_the_request_id_and_the_cold_start(api, lambda_context):
    import io
    import logging

    from functions.logs import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("streamloop")
    logger.addHandler(handler)
    try:
        call(api, lambda_context, "GET", "/v1/profiles/adult/home", {"country": "US"}, headers=KEY)
        second = LambdaContext(aws_request_id="5b2a9c1e-0000-4000-8000-000000000001")
        call(api, second, "GET", "/v1/profiles/adult/home", {"country": "US"}, headers=KEY)
    finally:
        logger.removeHandler(handler)
    access = [json.loads(line) for line in stream.getvalue().splitlines()
              if json.loads(line)["message"] == "request"]
    assert [(e["aws_request_id"], e["cold_start"]) for e in access] == [
        ("5b2a9c1e-0000-4000-8000-000000000000", True), ("5b2a9c1e-0000-4000-8000-000000000001", False)]
    assert all(len(e["request_id"]) == 32 and e["status"] == 200 for e in access)
