"""GET /v1/profiles/{profile_id}/home and /recommendations."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from functions.dependencies import get_services, require_api_key
from functions.responses import json_response

router = APIRouter(prefix="/v1/profiles", dependencies=[Depends(require_api_key)])

ProfileId = Path(min_length=1, max_length=128)
Country = Query(None, pattern="^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2; default: the profile's country")


@router.get("/{profile_id}/home")
async def home(request: Request, profile_id: str = ProfileId, country: str | None = Country,
               device_type: Literal["tv", "mobile", "web", "tablet", "console"] | None = None,
               rows: int = Query(8, ge=1, le=20), items: int = Query(20, ge=1, le=100)):
    page = get_services(request).home.home(profile_id, country.upper() if country else None, device_type,
                                           rows, items, request_id=request.state.request_id)
    return json_response(page)


@router.get("/{profile_id}/recommendations")
async def recommendations(request: Request, profile_id: str = ProfileId, country: str | None = Country,
                          items: int = Query(50, ge=1, le=500)):
    body = get_services(request).home.recommendations(profile_id, country.upper() if country else None, items,
                                                      request_id=request.state.request_id)
    return json_response(body)
