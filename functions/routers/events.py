"""POST /v1/events (contract events) and POST /v1/segment/batch (Segment batches), sharing one path."""
from __future__ import annotations

import asyncio
from functools import partial

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request

from functions.collector import LandingError
from functions.dependencies import get_services, require_api_key
from functions.responses import error_response, json_response
from functions.segment import map_batch
from streamloop.core.store import StoreError

MAX_BODY_BYTES = 1_000_000
MAX_EVENTS = 500

router = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)])


async def _json_body(request: Request, list_key: str):
    """The body's `list_key` list, enforcing the size limits (413) and shape (400)."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise HTTPException(400, "invalid Content-Length header")
        if int(length) > MAX_BODY_BYTES:
            raise HTTPException(413, f"body larger than {MAX_BODY_BYTES} bytes; split it into smaller batches")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HTTPException(413, f"body larger than {MAX_BODY_BYTES} bytes; split it into smaller batches")
        chunks.append(chunk)
    try:
        body = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise HTTPException(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get(list_key), list):
        raise HTTPException(400, f'body must be a JSON object with an "{list_key}" list')
    items = body[list_key]
    if len(items) > MAX_EVENTS:
        raise HTTPException(413, f"{len(items)} {list_key} in one request; at most {MAX_EVENTS} are accepted")
    return items


async def _ingest(request: Request, events: list, **kwargs):
    services = get_services(request)
    try:
        result = await asyncio.get_running_loop().run_in_executor(
            services.ingest_executor, partial(services.collector.ingest, events, **kwargs))
    except (LandingError, StoreError) as exc:
        return error_response(503, f"events not accepted, retry later: {exc}", request.state.request_id,
                              headers={"Retry-After": "1"})
    return json_response(result.to_json())


@router.post("/events")
async def post_events(request: Request):
    """Contract events: 200 with accepted/duplicates/rejected counts (received = their sum)."""
    return await _ingest(request, await _json_body(request, "events"), source="api")


@router.post("/segment/batch")
async def post_segment_batch(request: Request):
    """Segment `batch` payloads (identify + track, Video Spec playback events); see docs/segment.md."""
    messages = await _json_body(request, "batch")
    events, errors = map_batch(messages)
    return await _ingest(request, events, source="api:segment", raws=messages, mapping_errors=errors)
