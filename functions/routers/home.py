"""GET /v1/profiles/{profile_id}/home and /recommendations."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from functions.dependencies import get_services, require_api_key, require_profile_access
from functions.responses import describe, json_response, query
from functions.routers.params import DEVICE_TYPES, path_id, query_country, query_device_type, query_int

router = APIRouter(prefix="/v1/profiles", dependencies=[Depends(require_api_key), Depends(require_profile_access)])

PROFILE = {"name": "profile_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1,
                                                                             "maxLength": 128}}
COUNTRY = query("country", "ISO 3166-1 alpha-2; default the profile's country",
                {"type": "string", "pattern": "^[A-Za-z]{2}$"})


def _ints(name: str, default: int, low: int, high: int) -> dict:
    return query(name, f"{low} to {high}, default {default}",
                 {"type": "integer", "minimum": low, "maximum": high, "default": default})


@router.get("/{profile_id}/home", openapi_extra={"parameters": [PROFILE, COUNTRY, query("device_type", "The requesting device",
                                                                  {"type": "string", "enum": list(DEVICE_TYPES)}),
                                          _ints("rows", 8, 1, 20), _ints("items", 20, 1, 100)]})
async def home(request: Request):
    """The profile's home page: rows of titles, each with a reason."""
    services = get_services(request)
    page = await services.call(
        services.home.home, path_id(request, "profile_id"), query_country(request), query_device_type(request),
        query_int(request, "rows", 8, 1, 20), query_int(request, "items", 20, 1, 100),
        request_id=request.state.request_id)
    return json_response(page)


@router.get("/{profile_id}/recommendations", openapi_extra={"parameters": [PROFILE, COUNTRY, _ints("items", 50, 1, 500)]})
async def recommendations(request: Request):
    """The profile's ranked picks after the filters (country, maturity, seen)."""
    services = get_services(request)
    body = await services.call(
        services.picks.recommendations, path_id(request, "profile_id"), query_country(request),
        query_int(request, "items", 50, 1, 500), request_id=request.state.request_id)
    return json_response(body)


describe("/v1/profiles/{profile_id}/home", "get", "HomePage")
describe("/v1/profiles/{profile_id}/recommendations", "get", "Recommendations")
