"""GET /v1/profiles/{profile_id}/home and /recommendations."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from functions.dependencies import get_services, require_api_key, require_profile_access
from functions.responses import json_response
from functions.routers.params import path_id, query_country, query_device_type, query_int

router = APIRouter(prefix="/v1/profiles", dependencies=[Depends(require_api_key), Depends(require_profile_access)])


@router.get("/{profile_id}/home")
async def home(request: Request):
    """Query: country (ISO alpha-2; default the profile's), device_type, rows (1-20, default 8),
    items (1-100, default 20)."""
    page = get_services(request).home.home(
        path_id(request, "profile_id"), query_country(request), query_device_type(request),
        query_int(request, "rows", 8, 1, 20), query_int(request, "items", 20, 1, 100),
        request_id=request.state.request_id)
    return json_response(page)


@router.get("/{profile_id}/recommendations")
async def recommendations(request: Request):
    """Query: country, items (1-500, default 50)."""
    body = get_services(request).home.recommendations(
        path_id(request, "profile_id"), query_country(request), query_int(request, "items", 50, 1, 500),
        request_id=request.state.request_id)
    return json_response(body)
