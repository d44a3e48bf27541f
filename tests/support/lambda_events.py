"""Real Lambda payloads for handler tests: a context object and Function URL (payload format 2.0) requests."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass
class LambdaContext:
    function_name: str = "streamloop-api"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:streamloop-api"
    aws_request_id: str = "5b2a9c1e-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


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
