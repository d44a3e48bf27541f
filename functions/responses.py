"""JSON responses serialized with orjson (fast, and the page dicts are already JSON-shaped)."""
from __future__ import annotations

import orjson
from fastapi import Response


def json_response(body, status_code: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json", headers=headers)


def error_response(status_code: int, message: str, request_id: str | None, headers: dict | None = None,
                   **extra) -> Response:
    return json_response({"error": message, "request_id": request_id, **extra}, status_code, headers)
