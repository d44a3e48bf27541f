"""GET /v1/titles/{title_id}/similar."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request

from functions.dependencies import get_services, require_api_key
from functions.responses import json_response
from functions.routers.params import path_id, query_country, query_int, query_text

router = APIRouter(prefix="/v1/titles", dependencies=[Depends(require_api_key)])


@router.get("/{title_id}/similar")
async def similar(request: Request):
    """Query: country, items (1-100, default 20), profile_id (apply this profile's maturity limit)."""
    title_id = path_id(request, "title_id")
    body = get_services(request).picks.similar(title_id, query_country(request), query_int(request, "items", 20, 1, 100),
                                              query_text(request, "profile_id"), request_id=request.state.request_id)
    if body is None:
        raise HTTPException(404, f"unknown title {title_id!r}")
    return json_response(body)
