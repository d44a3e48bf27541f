"""What the OpenAPI document says about the ingestion routes and the API's errors (CONTRACT §6).

Documentation only: the hot routes read their bodies by hand and answer with orjson (see
functions/routers/events.py), so nothing here runs per request. The models are what a generated client
sees; tests/test_openapi_fuzz.py has schemathesis check real responses against them.
"""
from __future__ import annotations

import re

from pydantic import BaseModel, Field

from streamloop.core.contract import EVENT_SCHEMA

MAX_RECORDS = 500  # per request, like functions/routers/events.MAX_EVENTS (kept in step by a test)


class ErrorResponse(BaseModel):
    """Every error the API answers with: one line saying what is wrong, and the request's id."""

    error: str = Field(description="What went wrong, in one line (names the field or limit).")
    request_id: str | None = Field(description="Quote it when reporting a problem; also in x-request-id.")


class RejectedRecord(BaseModel):
    index: int = Field(description="Position of the record in the request's list.")
    event_id: str | None = Field(description="The record's event_id (Segment: messageId) when it had a string one.")
    errors: list[str] = Field(description="Why, each naming the field, e.g. 'properties.title_id: required'.")


class IngestResponse(BaseModel):
    """received = accepted + duplicates + len(rejected) (+ suppressed)."""

    accepted: int = Field(description="Events newly collected (durable in the lake).")
    duplicates: int = Field(description="Events whose event_id was already collected (retries); counted once.")
    rejected: list[RejectedRecord] = Field(description="Records that break the contract, kept with their reasons.")
    suppressed: int | None = Field(None, description="Events of people who asked to be forgotten, dropped.")
    warnings: list[str] | None = Field(None, description="Real-time state could not be updated (events are safe).")


class SegmentIngestResponse(IngestResponse):
    """received = accepted + duplicates + len(rejected) + ignored."""

    ignored: int = Field(description="Messages acknowledged but not collected (ads, buffering, page, screen…).")


def _error(description: str) -> dict:
    return {"model": ErrorResponse, "description": description}


AUTH_ERRORS = {
    401: _error("No API key, a wrong one, or the server has no keys configured."),
    403: _error("The key may not use this route (admin routes need an admin key)."),
}
READ_ERRORS = {**AUTH_ERRORS, 422: _error("A path or query parameter is invalid (the message names it).")}
INGEST_ERRORS = {
    400: _error("The body is not JSON, not UTF-8, or has no list under the expected key."),
    **AUTH_ERRORS,
    413: _error(f"The body is over 1 MB or holds more than {MAX_RECORDS} records: split it."),
    503: {"model": ErrorResponse, "description": "The lake or the online store failed; nothing was acknowledged. "
          "Retry after Retry-After seconds: retries are counted once.",
          "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}},
}


def _event_schema() -> dict:
    """The contract's event envelope as an OpenAPI schema (per-type rules stay in the contract file)."""
    schema = {k: v for k, v in EVENT_SCHEMA.items() if k not in ("$schema", "$id", "allOf")
              and not k.startswith("x-")}
    schema["description"] = ("A contract event (CONTRACT §2; streamloop/core/contract/event.schema.json has the "
                             "per-type rules). A record that breaks it is reported in `rejected`; it never "
                             "fails the request.")
    return schema


def _body(key: str, items: dict, description: str, example: dict) -> dict:
    return {"requestBody": {"required": True, "description": description, "content": {"application/json": {
        "schema": {"type": "object", "required": [key], "properties": {
            key: {"type": "array", "maxItems": MAX_RECORDS, "items": items}}},
        "example": example}}}}


_EXAMPLE_EVENT = {
    "event_id": "8f14e45f-ceea-467a-9575-5b1f8a1c3e01", "event_type": "play_start",
    "occurred_at": "2026-12-04T20:15:00+01:00", "device_id": "tv-42", "profile_id": "p1", "account_id": "a1",
    "context": {"country": "DE", "device_type": "tv", "app_version": "5.2.0", "os": "tizen",
                "timezone": "Europe/Berlin"},
    "properties": {"title_id": "t123", "position_s": 0, "duration_s": 5400}, "schema_version": 1,
}
_EXAMPLE_SEGMENT = {
    "type": "track", "event": "Video Playback Started", "messageId": "ajs-1", "userId": "p1",
    "timestamp": "2026-12-04T20:15:00.000Z",
    "context": {"device": {"id": "tv-42", "type": "tv"}, "app": {"version": "5.2.0"}, "os": {"name": "tizen"},
                "locale": "de-DE", "timezone": "Europe/Berlin"},
    "properties": {"session_id": "s1", "content_asset_ids": ["t123"], "position": 0, "total_length": 5400},
}

EVENTS_OPENAPI = _body("events", _event_schema(), f"At most {MAX_RECORDS} events and 1 MB.",
                       {"events": [_EXAMPLE_EVENT]})
SEGMENT_OPENAPI = _body(
    "batch", {"type": "object", "description": "A Segment message (identify, track, page, screen, group, alias); "
              "see docs/segment.md for the mapping."},
    f"A Segment HTTP Tracking API batch: at most {MAX_RECORDS} messages and 1 MB.", {"batch": [_EXAMPLE_SEGMENT]})


SECURITY_SCHEMES = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key",
               "description": "A key from STREAMLOOP_API_KEYS (admin routes: STREAMLOOP_ADMIN_KEYS)."},
    "SegmentBasic": {"type": "http", "scheme": "basic",
                     "description": "HTTP Basic with the API key as the user name, as Segment destinations send."},
}


def document_security_and_errors(openapi: dict) -> dict:
    """Adds what the routes enforce by hand to the generated document: API-key security on every route
    but /healthz, and the shared error responses (ErrorResponse) on routes that do not list them yet."""
    openapi.setdefault("components", {}).setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    schemas = openapi["components"].setdefault("schemas", {})
    schemas.setdefault("ErrorResponse", ErrorResponse.model_json_schema())
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    for path, operations in openapi.get("paths", {}).items():
        if path == "/healthz":
            continue
        for method, operation in operations.items():
            segment = path.startswith("/v1/segment/")
            operation.setdefault("security", [{"ApiKey": []}, {"SegmentBasic": []}] if segment else [{"ApiKey": []}])
            declared = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
            for name in re.findall(r"{(\w+)}", path):  # read by hand (routers/params.py): 1-128 characters
                if name not in declared:
                    operation.setdefault("parameters", []).append({
                        "name": name, "in": "path", "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 128}})
            responses = operation.setdefault("responses", {})
            errors = READ_ERRORS if method == "get" else INGEST_ERRORS
            if method == "get" and "{title_id}" in path:
                errors = {**errors, 404: _error("No such title in the catalog.")}
            for code, spec in errors.items():
                responses.setdefault(str(code), {"description": spec["description"], "content": error_ref})
    return openapi
