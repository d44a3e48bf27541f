"""GET /v1/titles/{title_id}/similar."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request

from functions.dependencies import get_services, require_api_key, require_profile_access
from functions.responses import describe, json_response, query
from functions.routers.home import COUNTRY
from functions.routers.params import path_id, query_country, query_int, query_text

router = APIRouter(prefix="/v1/titles", dependencies=[Depends(require_api_key)])

TITLE = {"name": "title_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1,
                                                                         "maxLength": 128}}


@router.get("/{title_id}/similar", dependencies=[Depends(require_profile_access)], openapi_extra={"parameters": [
                TITLE, COUNTRY,
                query("items", "1 to 100, default 20", {"type": "integer", "minimum": 1, "maximum": 100,
                                                        "default": 20}),
                query("profile_id", "Apply this profile's maturity limit and seen titles",
                      {"type": "string", "minLength": 1, "maxLength": 128})]})
async def similar(request: Request):
    """Titles similar to this one, after the filters."""
    title_id = path_id(request, "title_id")
    services = get_services(request)
    body = await services.call(services.picks.similar, title_id, query_country(request),
                               query_int(request, "items", 20, 1, 100), query_text(request, "profile_id"),
                               request_id=request.state.request_id)
    if body is None:
        raise HTTPException(404, f"unknown title {title_id!r}")
    return json_response(body)


describe("/v1/titles/{title_id}/similar", "get", "SimilarTitles")
