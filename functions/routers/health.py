"""GET /healthz (unauthenticated): the process is up; reports whether the online store answers."""
from __future__ import annotations

from fastapi import APIRouter, Request

from functions.dependencies import get_services
from functions.responses import json_response
from streamloop.core.store import StoreError

router = APIRouter()


@router.get("/healthz")
async def healthz(request: Request):
    services = get_services(request)
    try:
        # a point read of a key that need not exist: proves the store answers, costs microseconds
        services.budget.run(lambda: services.get_store().get("health", "probe"))
        store = "ok"
    except StoreError:
        store = "unavailable"
    return json_response({"status": "ok", "store": store, "store_backend": services.settings.online_store})
