"""GET /v1/titles/{title_id}/similar."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from functions.dependencies import get_services, require_api_key
from functions.responses import json_response

router = APIRouter(prefix="/v1/titles", dependencies=[Depends(require_api_key)])


@router.get("/{title_id}/similar")
async def similar(request: Request, title_id: str = Path(min_length=1, max_length=128),
                  country: str | None = Query(None, pattern="^[A-Za-z]{2}$"),
                  items: int = Query(20, ge=1, le=100),
                  profile_id: str | None = Query(None, min_length=1, max_length=128,
                                                 description="apply this profile's maturity limit")):
    body = get_services(request).home.similar(title_id, country.upper() if country else None, items, profile_id,
                                              request_id=request.state.request_id)
    if body is None:
        raise HTTPException(404, f"unknown title {title_id!r}")
    return json_response(body)
