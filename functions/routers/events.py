"""POST /v1/events (contract events) and POST /v1/segment/batch (Segment batches), sharing one path.

The body is read by hand rather than declared as a pydantic model: each record's exact text is what
lands (streamloop.core.records), and model validation would cost more than the whole collector's budget.
The OpenAPI document still describes both bodies and every response (functions/openapi_models.py).
"""
from __future__ import annotations

import asyncio
from functools import partial

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request

from functions.collector import IngestResult, LandingError
from functions.dependencies import get_services, require_api_key
from functions.openapi_models import EVENTS_OPENAPI, SEGMENT_OPENAPI
from functions.responses import error_response, json_response
from functions.segment import SESSION_NAMESPACE, map_batch
from streamloop.core.records import BodyError, RawRecord, split_list
from streamloop.core.store import StoreError

MAX_BODY_BYTES = 1_000_000
MAX_EVENTS = 500

router = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)], tags=["events"])


async def _body_text(request: Request) -> str:
    """The body as text, enforcing the size limit (413) and UTF-8 (400)."""
    too_large = f"body larger than {MAX_BODY_BYTES} bytes; split it into smaller batches"
    length = request.headers.get("content-length")
    if length is not None:
        if not (length.isascii() and length.isdigit()):  # "²".isdigit() is True, int("²") fails
            raise HTTPException(400, "invalid Content-Length header")
        if int(length) > MAX_BODY_BYTES:
            raise HTTPException(413, too_large)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HTTPException(413, too_large)
        chunks.append(chunk)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"body is not valid JSON: not UTF-8 at byte {exc.start}") from None


def _records(text: str, list_key: str) -> list[RawRecord]:
    try:
        records = split_list(text, list_key)
    except BodyError as exc:
        raise HTTPException(400, str(exc)) from None
    if len(records) > MAX_EVENTS:
        raise HTTPException(413, f"{len(records)} {list_key} in one request; at most {MAX_EVENTS} are accepted")
    return records


async def _run(request: Request, work):
    """Runs `work` (text -> IngestResult) on the ingest thread; 503 with Retry-After when the lake or
    the store failed (nothing was acknowledged, so the client's retry is safe)."""
    text = await _body_text(request)
    services = get_services(request)
    try:
        result = await asyncio.get_running_loop().run_in_executor(services.ingest_executor, partial(work, text))
    except (LandingError, StoreError) as exc:
        return error_response(503, f"events not accepted, retry later: {exc}", request.state.request_id,
                              headers={"Retry-After": "1"})
    return json_response(result.to_json())


def _ingest_events(services, text: str) -> IngestResult:
    records = _records(text, "events")
    return services.collector.ingest(
        [r.value for r in records], source="api", raws=[r.text for r in records],
        mapping_errors={i: r.errors for i, r in enumerate(records) if r.errors})


def _ingest_segment(services, text: str) -> IngestResult:
    records = _records(text, "batch")
    store = services.get_store()
    mapped = map_batch([r.value for r in records], recall=lambda ids: store.get_many(SESSION_NAMESPACE, ids),
                       usable=[not r.errors for r in records])
    errors = {i: r.errors for i, r in enumerate(records) if r.errors} | mapped.errors
    # the lake keeps the translated event for an accepted message (the warehouse reads contract events)
    # and the message as sent for a rejected or ignored one; a usable record always serializes
    landed = [orjson.dumps(e).decode() if e is not None else r.text for e, r in zip(mapped.events, records,
                                                                                     strict=True)]
    result = services.collector.ingest(mapped.events, source="api:segment", raws=[r.text for r in records],
                                       mapping_errors=errors, ignored=mapped.ignored, landed=landed)
    if mapped.sessions:
        try:
            store.put_many(SESSION_NAMESPACE, mapped.sessions)
        except StoreError:
            result.warnings.append("playback sessions not remembered: the online store failed")
    return result


# responses are added to the document when it is built (openapi_models.document_security_and_errors): a model in
# `responses=` here would make FastAPI import pydantic.v1 at import time, ~150 ms of a Lambda cold start
@router.post("/events", summary="Send contract events", openapi_extra=EVENTS_OPENAPI)
async def post_events(request: Request):
    """Contract events (CONTRACT §2): 200 with accepted/duplicates/rejected (received = their sum).
    Safe to retry: a retried event keeps its id and is counted once."""
    services = get_services(request)
    return await _run(request, partial(_ingest_events, services))


@router.post("/segment/batch", summary="Send a Segment batch", openapi_extra=SEGMENT_OPENAPI)
async def post_segment_batch(request: Request):
    """Segment HTTP Tracking API batches (identify, track with the Video Spec); see docs/segment.md.
    Messages the product does not use are acknowledged and counted as `ignored`."""
    services = get_services(request)
    return await _run(request, partial(_ingest_segment, services))
