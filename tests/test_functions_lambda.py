"""The Lambda entry points called with real event JSON: Function URL payload 2.0 and EventBridge schedules."""
from __future__ import annotations

import base64
import json

import pytest
from support.functions import API_KEY, event
from support.lambda_events import LambdaContext, function_url_event

from streamloop.core.errors import StreamloopError


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
